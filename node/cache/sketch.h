/* node/cache/sketch: the admission filter's frequency sketch (room-private).
 *
 * A count-min sketch of 8-bit counters (one array, four probes per key,
 * conservative update: only the smallest counters grow) with TinyLFU's aging:
 * after @window additions every counter is halved, so a key's estimate counts
 * its recent reads and old popularity fades.  "Read admit_after times within a
 * window" means: within roughly the last @window reads the node saw.  The
 * estimate never undercounts a key's reads since the last aging (count-min
 * only overcounts, on collisions).
 *
 * The admission test is absolute ("at least admit_after reads"), not
 * TinyLFU's comparison with a victim, so a key read once must rarely look
 * read twice.  A key read once has all four of its counters at 1; it looks
 * read twice only if other keys raised all four, about (1 - e^(-4N/W))^4 for
 * N distinct keys added to W counters: 2.4 % at N = W/8, hence the default
 * window of W/8 additions (the cache passes its own, see cache.c).
 *
 * Aging walks the whole array (16 MiB for a 4 GiB cache: a few ms) once per
 * window, inside the lookup that ends the window.
 *
 * Not thread-safe: the cache calls it under its mutex. */
#ifndef UNIGW_NODE_CACHE_SKETCH_H
#define UNIGW_NODE_CACHE_SKETCH_H

#include <stddef.h>
#include <stdint.h>

struct node_cache_sketch {
    uint8_t *counters;
    size_t mask;     /* width - 1; the width is a power of two */
    uint64_t window; /* additions between two halvings */
    uint64_t n_adds; /* additions since the last halving (halved too) */
    uint64_t n_agings;
};

/* Set up a sketch of at least @width counters (rounded up to a power of two,
 * at least 64) aging every @window additions (0: width / 8).  Allocates with
 * gw_calloc (aborts on OOM: done once at start). */
void node_cache__sketch_init(struct node_cache_sketch *s, size_t width, uint64_t window);
/* Bytes the sketch holds (for the cache's memory accounting). */
size_t node_cache__sketch_bytes(const struct node_cache_sketch *s);
/* Count one read of the key hashed to @h. */
void node_cache__sketch_add(struct node_cache_sketch *s, uint64_t h);
/* The estimated reads of @h in the current window (0..255). */
unsigned node_cache__sketch_estimate(const struct node_cache_sketch *s, uint64_t h);
/* Zero every counter (drop-all). */
void node_cache__sketch_clear(struct node_cache_sketch *s);
void node_cache__sketch_free(struct node_cache_sketch *s);

#endif
