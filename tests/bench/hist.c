/* The latency histogram: HdrHistogram's log-linear bucket layout, fixed precision.
 *
 * With S = BENCH_HIST_SUB_BITS, values below 2^S have a bucket each.  A larger value v
 * whose highest set bit is e is shifted right by e - S + 1, leaving its S top bits m
 * (2^(S-1) <= m < 2^S); every shift has 2^(S-1) buckets, one per m.  A bucket is then
 * never wider than 1/2^(S-1) of its lower bound: reported percentiles are within 0.8 %
 * for S = 8, over the whole 64-bit range, in a fixed array (no allocation, merging is a
 * sum).  Recording is a count increment; a quantile is a walk over the counts. */
#include <string.h>

#include "bench.h"

#define HALF (1u << (BENCH_HIST_SUB_BITS - 1))
#define FULL (1u << BENCH_HIST_SUB_BITS)

size_t bench__hist_index(uint64_t v)
{
    unsigned e, shift;

    if (v < FULL) {
        return (size_t)v;
    }
    e = 63u - (unsigned)__builtin_clzll(v);
    shift = e - BENCH_HIST_SUB_BITS + 1;
    return FULL + (size_t)(shift - 1) * HALF + (size_t)((v >> shift) - HALF);
}

void bench__hist_range(size_t i, uint64_t *lo, uint64_t *hi)
{
    size_t shift, m;

    if (i < FULL) {
        *lo = *hi = i;
        return;
    }
    shift = (i - FULL) / HALF + 1;
    m = (i - FULL) % HALF + HALF;
    *lo = (uint64_t)m << shift;
    /* the top bucket's end is UINT64_MAX: (m + 1) << shift would wrap to 0 */
    *hi = *lo + ((1ULL << shift) - 1);
}

void bench_hist_init(struct bench_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void bench_hist_record(struct bench_hist *h, uint64_t v)
{
    h->counts[bench__hist_index(v)]++;
    h->n++;
    h->sum += v;
    h->min = v < h->min ? v : h->min;
    h->max = v > h->max ? v : h->max;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    if (src->n == 0) {
        return;
    }
    for (size_t i = 0; i < BENCH_HIST_N; i++) {
        dst->counts[i] += src->counts[i];
    }
    dst->n += src->n;
    dst->sum += src->sum;
    dst->min = src->min < dst->min ? src->min : dst->min;
    dst->max = src->max > dst->max ? src->max : dst->max;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->n == 0) {
        return 0;
    }
    q = q < 0 ? 0 : (q > 1 ? 1 : q);
    rank = (uint64_t)(q * (double)h->n + 0.999999999);
    rank = rank == 0 ? 1 : (rank > h->n ? h->n : rank);
    for (size_t i = 0; i < BENCH_HIST_N; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;

            bench__hist_range(i, &lo, &hi);
            hi = hi > h->max ? h->max : hi;
            return hi < h->min ? h->min : hi;
        }
    }
    return h->max;
}
