/* Tests of tests/bench/dist.c: byte counts, durations and size distributions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "unigw/err.h"
#include "bench.h"

/* If a size has a binary or decimal suffix, then it is scaled by it. */
static void size_suffixes(void **state)
{
    static const struct {
        const char *in;
        uint64_t out;
    } cases[] = {
        {"0", 0},          {"512", 512},         {"512B", 512},       {"4K", 4096},
        {"4k", 4096},      {"4KiB", 4096},       {"4kB", 4000},       {"4KB", 4000},
        {"1M", 1 << 20},   {"1MiB", 1 << 20},    {"1MB", 1000000},    {"1G", 1ULL << 30},
        {"1GiB", 1ULL << 30}, {"2GB", 2000000000ULL},
    };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(bench_size_parse(cases[i].in, &v), GW_OK);
        assert_true(v == cases[i].out);
    }
}

/* If a size is malformed or overflows, then it is refused. */
static void size_bad(void **state)
{
    static const char *const bad[] = {"", "K", "-1", "4 KiB", "4KiBx", "4Q", "1.5M",
                                      "18446744073709551616", "17179869184G"};
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(bench_size_parse(bad[i], &v), GW_ERR_INVALID_ARGUMENT);
    }
}

/* If a duration has a unit, then it is in it; plain digits are seconds. */
static void durations(void **state)
{
    uint64_t ms;

    (void)state;
    assert_int_equal(bench_duration_parse("10", &ms), GW_OK);
    assert_true(ms == 10000);
    assert_int_equal(bench_duration_parse("250ms", &ms), GW_OK);
    assert_true(ms == 250);
    assert_int_equal(bench_duration_parse("2s", &ms), GW_OK);
    assert_true(ms == 2000);
    assert_int_equal(bench_duration_parse("3m", &ms), GW_OK);
    assert_true(ms == 180000);
    assert_int_equal(bench_duration_parse("1h", &ms), GW_OK);
    assert_true(ms == 3600000);
    assert_int_equal(bench_duration_parse("1d", &ms), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bench_duration_parse("s", &ms), GW_ERR_INVALID_ARGUMENT);
}

/* If a fixed size is given, then every sample is that size. */
static void dist_fixed(void **state)
{
    struct bench_dist d;

    (void)state;
    assert_int_equal(bench_dist_parse("64KiB", &d), GW_OK);
    assert_int_equal(d.kind, BENCH_DIST_FIXED);
    for (uint64_t r = 0; r < 1000; r += 7) {
        assert_true(bench_dist_sample(&d, r * 0x9E3779B97F4A7C15ULL) == 65536);
    }
    assert_true(bench_dist_max(&d) == 65536);
}

/* If a range is given, then samples stay inside it and reach both ends. */
static void dist_uniform(void **state)
{
    struct bench_dist d;
    uint64_t rng = 42, lo = UINT64_MAX, hi = 0;

    (void)state;
    assert_int_equal(bench_dist_parse("10-20", &d), GW_OK);
    assert_int_equal(d.kind, BENCH_DIST_UNIFORM);
    for (int i = 0; i < 10000; i++) {
        uint64_t v = bench_dist_sample(&d, bench_rand(&rng));

        assert_true(v >= 10 && v <= 20);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(lo == 10 && hi == 20);
    assert_true(bench_dist_max(&d) == 20);
    assert_int_equal(bench_dist_parse("4KiB-4KiB", &d), GW_OK);
    assert_int_equal(d.kind, BENCH_DIST_FIXED);
    assert_int_equal(bench_dist_parse("2MiB-1MiB", &d), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bench_dist_parse("-1MiB", &d), GW_ERR_INVALID_ARGUMENT);
}

/* If a list has weights, then its sizes come up in proportion to them. */
static void dist_list_weights(void **state)
{
    struct bench_dist d;
    uint64_t rng = 7, n_small = 0, n_big = 0, n_mid = 0;

    (void)state;
    assert_int_equal(bench_dist_parse("1KiB:3,1MiB,64KiB:0", &d), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bench_dist_parse("1KiB:3,1MiB,64KiB:4", &d), GW_OK);
    assert_int_equal(d.kind, BENCH_DIST_LIST);
    assert_int_equal(d.n_sizes, 3);
    assert_int_equal(d.total_weight, 8);
    for (int i = 0; i < 80000; i++) {
        uint64_t v = bench_dist_sample(&d, bench_rand(&rng));

        n_small += v == 1024;
        n_big += v == 1048576;
        n_mid += v == 65536;
    }
    assert_true(n_small + n_big + n_mid == 80000);
    assert_true(n_small > 28000 && n_small < 32000); /* 3/8 */
    assert_true(n_big > 8500 && n_big < 11500);      /* 1/8 */
    assert_true(n_mid > 38000 && n_mid < 42000);     /* 4/8 */
    assert_true(bench_dist_max(&d) == 1048576);
}

/* If a list is malformed, then nothing is accepted. */
static void dist_list_bad(void **state)
{
    struct bench_dist d;
    char many[BENCH_DIST_MAX * 3 + 8] = "";

    (void)state;
    assert_int_equal(bench_dist_parse("1KiB,,2KiB", &d), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bench_dist_parse("1KiB,", &d), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bench_dist_parse("1KiB:x", &d), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bench_dist_parse("1KiB-2KiB,4KiB", &d), GW_ERR_INVALID_ARGUMENT);
    for (int i = 0; i <= BENCH_DIST_MAX; i++) {
        strcat(many, i > 0 ? ",1" : "1");
    }
    assert_int_equal(bench_dist_parse(many, &d), GW_ERR_INVALID_ARGUMENT);
}

/* If sizes are described, then they read the way the table prints them. */
static void describe(void **state)
{
    struct bench_dist d;
    char out[128];

    (void)state;
    bench_size_format(4096, out, sizeof out);
    assert_string_equal(out, "4 KiB");
    bench_size_format(1536 * 1024, out, sizeof out);
    assert_string_equal(out, "1.5 MiB");
    bench_dist_parse("1KiB-1MiB", &d);
    bench_dist_describe(&d, out, sizeof out);
    assert_string_equal(out, "uniform 1 KiB - 1 MiB");
    bench_dist_parse("4KiB,1GiB:2", &d);
    bench_dist_describe(&d, out, sizeof out);
    assert_string_equal(out, "4 KiB:1, 1 GiB:2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(size_suffixes), cmocka_unit_test(size_bad),
        cmocka_unit_test(durations),     cmocka_unit_test(dist_fixed),
        cmocka_unit_test(dist_uniform),  cmocka_unit_test(dist_list_weights),
        cmocka_unit_test(dist_list_bad), cmocka_unit_test(describe),
    };
    return cmocka_run_group_tests_name("bench/dist", tests, NULL, NULL);
}
