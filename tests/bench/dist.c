/* Sizes, durations and object-size distributions of unigw-bench.
 *
 * Happy path: "4KiB" is a fixed size, "1KiB-1MiB" a uniform range (every byte count in it
 * equally likely), "4KiB,64KiB:2,1MiB" a list whose entries carry optional integer
 * weights (1 when absent).  Sampling maps one 64-bit random number to a size, so a worker
 * draws from its own generator without locks.
 *
 * Failure modes: anything that is not exactly such a string (empty parts, unknown
 * suffixes, overflow, a range whose low end is above its high end, a zero total weight,
 * more than BENCH_DIST_MAX entries) is GW_ERR_INVALID_ARGUMENT, with nothing half-set that
 * the caller would use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/err.h"
#include "bench.h"

struct unit {
    const char *suffix;
    uint64_t factor;
};

/* Longest suffixes first where one is the prefix of another does not matter: the whole
 * rest of the string must match. */
static const struct unit size_units[] = {
    {"", 1},           {"B", 1},           {"K", 1ULL << 10},   {"k", 1ULL << 10},
    {"KiB", 1ULL << 10}, {"M", 1ULL << 20}, {"MiB", 1ULL << 20}, {"G", 1ULL << 30},
    {"GiB", 1ULL << 30}, {"kB", 1000},      {"KB", 1000},        {"MB", 1000000},
    {"GB", 1000000000},
};

static const struct unit time_units[] = {
    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
};

/* Digits then one of @units (the whole remaining string). */
static int parse_scaled(const char *s, const struct unit *units, size_t n_units,
                        uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9') {
        return GW_ERR_INVALID_ARGUMENT;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    for (size_t i = 0; i < n_units; i++) {
        if (strcmp(p, units[i].suffix) != 0) {
            continue;
        }
        if (v != 0 && units[i].factor > UINT64_MAX / v) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        *out = v * units[i].factor;
        return GW_OK;
    }
    return GW_ERR_INVALID_ARGUMENT;
}

int bench_size_parse(const char *s, uint64_t *out)
{
    return parse_scaled(s, size_units, sizeof size_units / sizeof size_units[0], out);
}

int bench_duration_parse(const char *s, uint64_t *out_ms)
{
    return parse_scaled(s, time_units, sizeof time_units / sizeof time_units[0], out_ms);
}

/* Copy [@p, @p + @n) into @tmp as a C string; false when it does not fit or is empty. */
static bool take(const char *p, size_t n, char *tmp, size_t cap)
{
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return true;
}

/* "SIZE" or "SIZE:WEIGHT" of a list. */
static int parse_entry(const char *p, size_t n, uint64_t *size, unsigned *weight)
{
    char tmp[64];
    char *colon;
    uint64_t w = 1;

    if (!take(p, n, tmp, sizeof tmp)) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    colon = strchr(tmp, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (parse_scaled(colon + 1, size_units, 1, &w) != 0 || w == 0 || w > 1000000) {
            return GW_ERR_INVALID_ARGUMENT;
        }
    }
    *weight = (unsigned)w;
    return bench_size_parse(tmp, size);
}

static int parse_list(const char *s, struct bench_dist *d)
{
    const char *p = s;

    d->kind = BENCH_DIST_LIST;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        int rv;

        if (d->n_sizes == BENCH_DIST_MAX) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        rv = parse_entry(p, n, &d->sizes[d->n_sizes], &d->weights[d->n_sizes]);
        if (rv != 0) {
            return rv;
        }
        d->total_weight += d->weights[d->n_sizes];
        d->n_sizes++;
        if (comma == NULL) {
            return GW_OK;
        }
        p = comma + 1;
    }
}

static int parse_range(const char *s, const char *dash, struct bench_dist *d)
{
    char lo[64];

    if (!take(s, (size_t)(dash - s), lo, sizeof lo) || bench_size_parse(lo, &d->lo) != 0 ||
        bench_size_parse(dash + 1, &d->hi) != 0 || d->lo > d->hi) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    d->kind = d->lo == d->hi ? BENCH_DIST_FIXED : BENCH_DIST_UNIFORM;
    return GW_OK;
}

int bench_dist_parse(const char *s, struct bench_dist *out)
{
    struct bench_dist d;
    const char *dash = strchr(s, '-');
    int rv;

    memset(&d, 0, sizeof d);
    if (strchr(s, ',') != NULL || strchr(s, ':') != NULL) {
        rv = dash != NULL ? GW_ERR_INVALID_ARGUMENT : parse_list(s, &d);
    } else if (dash != NULL) {
        rv = parse_range(s, dash, &d);
    } else {
        d.kind = BENCH_DIST_FIXED;
        rv = bench_size_parse(s, &d.lo);
        d.hi = d.lo;
    }
    if (rv != 0) {
        return rv;
    }
    *out = d;
    return GW_OK;
}

uint64_t bench_dist_sample(const struct bench_dist *d, uint64_t r)
{
    switch (d->kind) {
    case BENCH_DIST_UNIFORM: {
        uint64_t span = d->hi - d->lo;

        /* span + 1 overflows only for 0..UINT64_MAX, which no size reaches */
        return d->lo + r % (span + 1);
    }
    case BENCH_DIST_LIST: {
        unsigned pick = (unsigned)(r % d->total_weight);

        for (size_t i = 0; i < d->n_sizes; i++) {
            if (pick < d->weights[i]) {
                return d->sizes[i];
            }
            pick -= d->weights[i];
        }
        return d->sizes[d->n_sizes - 1];
    }
    case BENCH_DIST_FIXED:
    default:
        return d->lo;
    }
}

uint64_t bench_dist_max(const struct bench_dist *d)
{
    uint64_t m = d->hi;

    if (d->kind == BENCH_DIST_LIST) {
        m = 0;
        for (size_t i = 0; i < d->n_sizes; i++) {
            m = d->sizes[i] > m ? d->sizes[i] : m;
        }
    }
    return m;
}

void bench_size_format(uint64_t n, char *out, size_t cap)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof names / sizeof names[0]) {
        v /= 1024;
        u++;
    }
    if (v == (double)(uint64_t)v) {
        snprintf(out, cap, "%llu %s", (unsigned long long)v, names[u]);
    } else {
        snprintf(out, cap, "%.1f %s", v, names[u]);
    }
}

void bench_dist_describe(const struct bench_dist *d, char *out, size_t cap)
{
    char a[32], b[32];
    size_t used = 0;

    switch (d->kind) {
    case BENCH_DIST_UNIFORM:
        bench_size_format(d->lo, a, sizeof a);
        bench_size_format(d->hi, b, sizeof b);
        snprintf(out, cap, "uniform %s - %s", a, b);
        return;
    case BENCH_DIST_LIST:
        out[0] = '\0';
        for (size_t i = 0; i < d->n_sizes && used < cap; i++) {
            bench_size_format(d->sizes[i], a, sizeof a);
            used += (size_t)snprintf(out + used, cap - used, "%s%s:%u", i > 0 ? ", " : "", a,
                                     d->weights[i]);
        }
        return;
    case BENCH_DIST_FIXED:
    default:
        bench_size_format(d->lo, out, cap);
        return;
    }
}
