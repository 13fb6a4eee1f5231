/* Tests of node/cache/sketch: the admission filter's count-min sketch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hash.h"
#include "sketch.h"

/* Each read counts: a key read n times estimates at least n (count-min never
 * undercounts), and an unread key in a roomy sketch estimates 0. */
static void counts_reads(void **state)
{
    struct node_cache_sketch s;
    uint64_t a = node_cache_mix64(1);
    uint64_t b = node_cache_mix64(2);

    (void)state;
    node_cache__sketch_init(&s, 4096, 0);
    assert_int_equal(node_cache__sketch_estimate(&s, a), 0);
    for (int i = 0; i < 5; i++) {
        node_cache__sketch_add(&s, a);
    }
    node_cache__sketch_add(&s, b);
    assert_int_equal(node_cache__sketch_estimate(&s, a), 5);
    assert_int_equal(node_cache__sketch_estimate(&s, b), 1);
    assert_int_equal(node_cache__sketch_estimate(&s, node_cache_mix64(3)), 0);
    node_cache__sketch_clear(&s);
    assert_int_equal(node_cache__sketch_estimate(&s, a), 0);
    node_cache__sketch_free(&s);
}

/* The width is rounded up to a power of two, 64 at least. */
static void width_rounded(void **state)
{
    struct node_cache_sketch s;

    (void)state;
    node_cache__sketch_init(&s, 1000, 0);
    assert_int_equal(node_cache__sketch_bytes(&s), 1024);
    assert_int_equal(s.window, 128);
    node_cache__sketch_free(&s);
    node_cache__sketch_init(&s, 3, 7);
    assert_int_equal(node_cache__sketch_bytes(&s), 64);
    assert_int_equal(s.window, 7);
    node_cache__sketch_free(&s);
}

/* After a window of other reads a key's old count is halved: popularity fades. */
static void ages(void **state)
{
    struct node_cache_sketch s;
    uint64_t hot = node_cache_mix64(42);

    (void)state;
    node_cache__sketch_init(&s, 1 << 16, 100);
    for (int i = 0; i < 8; i++) {
        node_cache__sketch_add(&s, hot);
    }
    assert_int_equal(node_cache__sketch_estimate(&s, hot), 8);
    for (uint64_t i = 0; i < 92; i++) {
        node_cache__sketch_add(&s, node_cache_mix64(1000 + i));
    }
    assert_int_equal(s.n_agings, 1);
    assert_int_equal(node_cache__sketch_estimate(&s, hot), 4);
    node_cache__sketch_free(&s);
}

/* Counters saturate instead of wrapping. */
static void saturates(void **state)
{
    struct node_cache_sketch s;
    uint64_t k = node_cache_mix64(9);

    (void)state;
    node_cache__sketch_init(&s, 64, 1000000);
    for (int i = 0; i < 300; i++) {
        node_cache__sketch_add(&s, k);
    }
    assert_int_equal(node_cache__sketch_estimate(&s, k), 255);
    node_cache__sketch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_reads), cmocka_unit_test(width_rounded),
        cmocka_unit_test(ages),         cmocka_unit_test(saturates),
    };
    return cmocka_run_group_tests_name("node/cache/sketch", tests, NULL, NULL);
}
