/* node/cache/sketch: count-min frequency sketch with aging (see sketch.h).
 *
 * The four probe positions come from double hashing of the key's 64-bit hash
 * (h1 + i * h2, h2 odd), so one hash gives independent-enough slots.  Counters
 * saturate at 255; with halving every window they stay far below in practice. */
#include <string.h>

#include "unigw/alloc.h"

#include "hash.h"
#include "sketch.h"

#define SKETCH_PROBES 4
#define SKETCH_MIN_WIDTH 64

void node_cache__sketch_init(struct node_cache_sketch *s, size_t width, uint64_t window)
{
    size_t w = SKETCH_MIN_WIDTH;

    while (w < width) {
        w <<= 1;
    }
    memset(s, 0, sizeof *s);
    s->counters = gw_calloc(w, 1);
    s->mask = w - 1;
    s->window = window != 0 ? window : w / 8;
}

size_t node_cache__sketch_bytes(const struct node_cache_sketch *s)
{
    return s->mask + 1;
}

/* The @i-th counter slot of @h. */
static size_t probe(const struct node_cache_sketch *s, uint64_t h, unsigned i)
{
    uint64_t h2 = node_cache_mix64(h ^ 0x9e3779b97f4a7c15ULL) | 1;

    return (size_t)((h + i * h2) & s->mask);
}

unsigned node_cache__sketch_estimate(const struct node_cache_sketch *s, uint64_t h)
{
    unsigned min = 255;

    for (unsigned i = 0; i < SKETCH_PROBES; i++) {
        unsigned v = s->counters[probe(s, h, i)];

        min = v < min ? v : min;
    }
    return min;
}

/* Halve every counter and the addition count (TinyLFU's reset). */
static void sketch_age(struct node_cache_sketch *s)
{
    for (size_t i = 0; i <= s->mask; i++) {
        s->counters[i] >>= 1;
    }
    s->n_adds /= 2;
    s->n_agings++;
}

void node_cache__sketch_add(struct node_cache_sketch *s, uint64_t h)
{
    unsigned min = node_cache__sketch_estimate(s, h);

    if (min < 255) {
        for (unsigned i = 0; i < SKETCH_PROBES; i++) {
            uint8_t *c = &s->counters[probe(s, h, i)];

            if (*c == min) {
                (*c)++; /* conservative update: only the counters at the minimum */
            }
        }
    }
    if (++s->n_adds >= s->window) {
        sketch_age(s);
    }
}

void node_cache__sketch_clear(struct node_cache_sketch *s)
{
    memset(s->counters, 0, s->mask + 1);
    s->n_adds = 0;
}

void node_cache__sketch_free(struct node_cache_sketch *s)
{
    gw_free(s->counters);
    s->counters = NULL;
}
