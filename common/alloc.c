/* Allocation that never returns NULL: out of memory is logged and aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/alloc.h"

static void *oom(size_t n)
{
    fprintf(stderr, "level=error mod=alloc msg=\"out of memory allocating %zu bytes\"\n", n);
    abort();
}

void *gw_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *gw_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *gw_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *gw_strdup(const char *s)
{
    return gw_strndup(s, strlen(s));
}

char *gw_strndup(const char *s, size_t n)
{
    char *p = gw_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void gw_free(void *p)
{
    free(p);
}
