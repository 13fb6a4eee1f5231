/* Tests of tests/bench/hist.c: the log-linear latency histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "bench.h"

static struct bench_hist *hist_new(void)
{
    struct bench_hist *h = malloc(sizeof *h);

    assert_non_null(h);
    bench_hist_init(h);
    return h;
}

/* If buckets are walked in order, then their ranges tile 0..UINT64_MAX without gaps, each
 * no wider than 1/128 of its low end above the exact range. */
static void buckets_tile(void **state)
{
    uint64_t next = 0;

    (void)state;
    for (size_t i = 0; i < BENCH_HIST_N; i++) {
        uint64_t lo, hi;

        bench__hist_range(i, &lo, &hi);
        assert_true(lo == next);
        assert_true(hi >= lo);
        if (lo >= 256) {
            assert_true(hi - lo + 1 <= lo / 128);
        }
        next = hi + 1;
        if (i == BENCH_HIST_N - 1) {
            assert_true(hi == UINT64_MAX);
        }
    }
}

/* If a value is recorded, then it lands in the bucket whose range holds it. */
static void index_in_range(void **state)
{
    uint64_t rng = 3;

    (void)state;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = bench_rand(&rng) >> (bench_rand(&rng) % 64), lo, hi;
        size_t k = bench__hist_index(v);

        assert_true(k < BENCH_HIST_N);
        bench__hist_range(k, &lo, &hi);
        assert_true(v >= lo && v <= hi);
    }
    assert_true(bench__hist_index(0) == 0);
    assert_true(bench__hist_index(255) == 255);
    assert_true(bench__hist_index(UINT64_MAX) == BENCH_HIST_N - 1);
}

/* If 1..100000 are recorded, then each percentile is within the bucket resolution. */
static void quantiles_uniform(void **state)
{
    struct bench_hist *h = hist_new();
    static const double qs[] = {0.5, 0.9, 0.99, 0.999};

    (void)state;
    for (uint64_t v = 1; v <= 100000; v++) {
        bench_hist_record(h, v);
    }
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = qs[i] * 100000, got = (double)bench_hist_quantile(h, qs[i]);

        assert_true(got >= want && got <= want * (1 + 1.0 / 128));
    }
    assert_true(bench_hist_quantile(h, 0) == 1);
    assert_true(bench_hist_quantile(h, 1) == 100000);
    assert_true(h->n == 100000 && h->min == 1 && h->max == 100000);
    assert_true(h->sum == 100000ULL * 100001 / 2);
    free(h);
}

/* If a tail is rare, then p99.9 finds it and p50 does not. */
static void quantiles_tail(void **state)
{
    struct bench_hist *h = hist_new();

    (void)state;
    for (int i = 0; i < 9990; i++) {
        bench_hist_record(h, 1000000); /* 1 ms */
    }
    for (int i = 0; i < 10; i++) {
        bench_hist_record(h, 50000000); /* 50 ms */
    }
    assert_true(bench_hist_quantile(h, 0.5) <= 1000000 * (1 + 1.0 / 128));
    assert_true(bench_hist_quantile(h, 0.99) <= 1000000 * (1 + 1.0 / 128));
    assert_true(bench_hist_quantile(h, 0.9991) == 50000000);
    free(h);
}

/* If two histograms are merged, then the result is the histogram of all values. */
static void merge(void **state)
{
    struct bench_hist *a = hist_new(), *b = hist_new(), *all = hist_new(), *empty = hist_new();

    (void)state;
    for (uint64_t v = 0; v < 5000; v++) {
        bench_hist_record(v % 2 ? a : b, v * 977);
        bench_hist_record(all, v * 977);
    }
    bench_hist_merge(a, b);
    bench_hist_merge(a, empty);
    assert_true(a->n == all->n && a->sum == all->sum);
    assert_true(a->min == all->min && a->max == all->max);
    assert_memory_equal(a->counts, all->counts, sizeof a->counts);
    assert_true(bench_hist_quantile(empty, 0.5) == 0);
    free(a);
    free(b);
    free(all);
    free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_tile),      cmocka_unit_test(index_in_range),
        cmocka_unit_test(quantiles_uniform), cmocka_unit_test(quantiles_tail),
        cmocka_unit_test(merge),
    };
    return cmocka_run_group_tests_name("bench/hist", tests, NULL, NULL);
}
