/* Unit tests for common/arena.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unigw/arena.h"

static int order[4];
static int n_order;

static void record_cb(void *arg)
{
    order[n_order++] = (int)(intptr_t)arg;
}

/* Deferred cleanups run newest first, and an undeferred one does not run. */
static void defers_run_in_reverse(void **state)
{
    struct gw_arena a;
    struct gw_arena_defer *d;

    (void)state;
    n_order = 0;
    gw_arena_init(&a);
    gw_arena_defer(&a, record_cb, (void *)1);
    d = gw_arena_defer(&a, record_cb, (void *)2);
    gw_arena_defer(&a, record_cb, (void *)3);
    gw_arena_undefer(d);
    gw_arena_release(&a);
    assert_int_equal(n_order, 2);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 1);
}

/* Small and big allocations are aligned and independent. */
static void alloc_sizes(void **state)
{
    struct gw_arena a;
    char *big;
    char *s;

    (void)state;
    gw_arena_init(&a);
    for (int i = 0; i < 1000; i++) {
        void *p = gw_arena_alloc(&a, (size_t)i % 37 + 1);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    big = gw_arena_alloc(&a, 100000);
    memset(big, 'x', 100000);
    s = gw_arena_printf(&a, "%s-%d", "k", 42);
    assert_string_equal(s, "k-42");
    gw_arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defers_run_in_reverse),
        cmocka_unit_test(alloc_sizes),
    };
    return cmocka_run_group_tests_name("common/arena", tests, NULL, NULL);
}
