/* Per-request arena: bump allocation in chained blocks, plus deferred
 * cleanups run in reverse order at release. */
#include <stdarg.h>
#include <stdio.h>

#include "unigw/alloc.h"
#include "unigw/arena.h"

#define ARENA_BLOCK_SIZE 8192
#define ARENA_ALIGN 16

struct gw_arena_block {
    struct gw_arena_block *next;
    size_t used;
    size_t cap;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct gw_arena_defer {
    struct gw_arena_defer *next;
    gw_arena_defer_cb fn;
    void *arg;
};

void gw_arena_init(struct gw_arena *a)
{
    a->blocks = NULL;
    a->defers = NULL;
}

void gw_arena_release(struct gw_arena *a)
{
    /* Cleanups may still read arena memory, so they run before any block goes. */
    for (struct gw_arena_defer *d = a->defers; d != NULL; d = d->next) {
        if (d->fn != NULL) {
            d->fn(d->arg);
        }
    }
    a->defers = NULL;
    while (a->blocks != NULL) {
        struct gw_arena_block *next = a->blocks->next;
        gw_free(a->blocks);
        a->blocks = next;
    }
}

void *gw_arena_alloc(struct gw_arena *a, size_t n)
{
    struct gw_arena_block *b = a->blocks;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > ARENA_BLOCK_SIZE / 2 ? need : ARENA_BLOCK_SIZE;
        struct gw_arena_block *nb = gw_malloc(sizeof *nb + cap);
        nb->used = 0;
        nb->cap = cap;
        if (b != NULL && need > ARENA_BLOCK_SIZE / 2) {
            /* A big one-off goes behind the current block, which keeps its free room. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->blocks = nb;
        }
        b = nb;
    }
    p = b->data + b->used;
    b->used += need;
    return p;
}

void *gw_arena_zalloc(struct gw_arena *a, size_t n)
{
    void *p = gw_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *gw_arena_strndup(struct gw_arena *a, const char *s, size_t n)
{
    char *p = gw_arena_alloc(a, n + 1);
    if (n > 0) {
        memcpy(p, s, n);
    }
    p[n] = '\0';
    return p;
}

char *gw_arena_cstr(struct gw_arena *a, struct gw_str s)
{
    return gw_arena_strndup(a, s.p, s.len);
}

struct gw_str gw_arena_str(struct gw_arena *a, struct gw_str s)
{
    return gw_str_make(gw_arena_strndup(a, s.p, s.len), s.len);
}

char *gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    p = gw_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

struct gw_arena_defer *gw_arena_defer(struct gw_arena *a, gw_arena_defer_cb fn, void *arg)
{
    struct gw_arena_defer *d = gw_arena_alloc(a, sizeof *d);

    d->fn = fn;
    d->arg = arg;
    d->next = a->defers; /* newest first: release runs them in reverse order */
    a->defers = d;
    return d;
}

void gw_arena_undefer(struct gw_arena_defer *d)
{
    d->fn = NULL;
}
