/* Per-request arena: every allocation a request makes comes from here and is
 * released at once when the request ends.  Cleanups registered with
 * gw_arena_defer (close an fd, unlink a temp file) run in reverse order at
 * release, so error paths never leak (nginx pool cleanups). */
#ifndef UNIGW_INCLUDE_ARENA_H
#define UNIGW_INCLUDE_ARENA_H

#include <stddef.h>

#include "unigw/str.h"

struct gw_arena_block;
struct gw_arena_defer;

struct gw_arena {
    struct gw_arena_block *blocks;
    struct gw_arena_defer *defers;
};

typedef void (*gw_arena_defer_cb)(void *arg);

void gw_arena_init(struct gw_arena *a);
/* Run the deferred cleanups (last registered first) and free every block.
 * The arena can be used again afterwards. */
void gw_arena_release(struct gw_arena *a);

/* @n bytes aligned for any type; aborts on OOM. */
void *gw_arena_alloc(struct gw_arena *a, size_t n);
void *gw_arena_zalloc(struct gw_arena *a, size_t n);
char *gw_arena_strndup(struct gw_arena *a, const char *s, size_t n);
/* NUL-terminated copy of a view. */
char *gw_arena_cstr(struct gw_arena *a, struct gw_str s);
struct gw_str gw_arena_str(struct gw_arena *a, struct gw_str s);
char *gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Register @fn(@arg) to run at release.  Returns a handle that
 * gw_arena_undefer can use to cancel it (for instance once a temp file was
 * renamed into place). */
struct gw_arena_defer *gw_arena_defer(struct gw_arena *a, gw_arena_defer_cb fn, void *arg);
void gw_arena_undefer(struct gw_arena_defer *d);

#endif
