/* Allocation wrappers: on out-of-memory they log and abort(), so callers never
 * check for NULL (h2o, redis).  Sizes that come from clients are checked
 * against configured limits before anything is allocated. */
#ifndef UNIGW_INCLUDE_ALLOC_H
#define UNIGW_INCLUDE_ALLOC_H

#include <stddef.h>

void *gw_malloc(size_t n);
void *gw_calloc(size_t n, size_t size);
void *gw_realloc(void *p, size_t n);
char *gw_strdup(const char *s);
char *gw_strndup(const char *s, size_t n);
void gw_free(void *p);

#endif
