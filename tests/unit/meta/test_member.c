/* Unit tests for meta/member.c: member registration, the feature level,
 * cluster_finalize and the proposer's level check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"
#include "meta_test.h"

static int reg(struct mt *t, uint64_t id, uint32_t lo, uint32_t hi, const char *version)
{
    struct meta_cmd_hdr h = mt_hdr(0, 5000 + id);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_member_register(&b, &h, id, lo, hi, gw_str_c(version)), GW_OK);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int finalize(struct mt *t, const uint64_t *voters, size_t n)
{
    struct meta_cmd_hdr h = mt_hdr(0, 9000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_cluster_finalize(&b, &h, voters, n), GW_OK);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static uint32_t level(struct mt *t)
{
    uint32_t lv = 0;

    assert_int_equal(meta_level_active(t->m, &lv), GW_OK);
    return lv;
}

/* The level of a store written before levels existed is 1. */
static void member_fresh_store_is_level_1(void **state)
{
    struct meta_member *arr = NULL;
    size_t n = 9;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(level(&t), 1);
    assert_int_equal(meta_member_list(t.m, &arr, &n), GW_OK);
    assert_int_equal(n, 0);
    assert_null(arr);
    mt_close(&t);
}

/* A register records the range and version; a second one replaces it. */
static void member_register_records_and_replaces(void **state)
{
    struct meta_member mb, *arr = NULL;
    size_t n = 0;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(reg(&t, 2, 1, 1, "0.1.0"), GW_OK);
    assert_int_equal(reg(&t, 1, 1, 1, "0.1.0"), GW_OK);
    assert_int_equal(reg(&t, 2, 1, 2, "0.2.0"), GW_OK);
    assert_int_equal(meta_member_get(t.m, 2, &mb), GW_OK);
    assert_int_equal(mb.min_level, 1);
    assert_int_equal(mb.max_level, 2);
    assert_string_equal(mb.version, "0.2.0");
    assert_int_equal(mb.registered_ms, 5002);
    assert_int_equal(meta_member_get(t.m, 3, &mb), GW_ERR_NOT_FOUND);
    assert_int_equal(meta_member_list(t.m, &arr, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(arr[0].node_id, 1);
    assert_int_equal(arr[1].node_id, 2);
    assert_string_equal(arr[1].version, "0.2.0");
    gw_free(arr);
    mt_close(&t);
}

static void member_register_invalid(void **state)
{
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(reg(&t, 0, 1, 1, "x"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(reg(&t, 1, 0, 1, "x"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(reg(&t, 1, 3, 2, "x"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_member_get(t.m, 1, &(struct meta_member){0}), GW_ERR_NOT_FOUND);
    mt_close(&t);
}

/* Refused while a voter has not registered; then raised to the highest level
 * every voter supports; never lowered by a voter that cannot run it. */
static void member_finalize_refused_and_accepted(void **state)
{
    const uint64_t voters[] = {1, 2, 3};
    const uint64_t four[] = {1, 2, 3, 4};
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(reg(&t, 1, 1, 2, "new"), GW_OK);
    assert_int_equal(reg(&t, 2, 1, 2, "new"), GW_OK);
    assert_int_equal(finalize(&t, voters, 3), GW_ERR_PRECONDITION_FAILED);
    assert_int_equal(level(&t), 1);
    assert_int_equal(reg(&t, 3, 1, 1, "old"), GW_OK);
    assert_int_equal(finalize(&t, voters, 3), GW_OK); /* 3 only speaks 1 */
    assert_int_equal(level(&t), 1);
    assert_int_equal(reg(&t, 3, 1, 3, "new"), GW_OK);
    assert_int_equal(finalize(&t, voters, 3), GW_OK);
    assert_int_equal(level(&t), 2);
    assert_int_equal(reg(&t, 4, 1, 1, "old"), GW_OK);
    assert_int_equal(finalize(&t, four, 4), GW_ERR_PRECONDITION_FAILED);
    assert_int_equal(level(&t), 2);
    assert_int_equal(finalize(&t, NULL, 0), GW_ERR_INVALID_ARGUMENT);
    mt_close(&t);
}

/* Disjoint ranges have no common level. */
static void member_finalize_disjoint_refused(void **state)
{
    const uint64_t voters[] = {1, 2};
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(reg(&t, 1, 1, 1, "a"), GW_OK);
    assert_int_equal(reg(&t, 2, 2, 2, "b"), GW_OK);
    assert_int_equal(finalize(&t, voters, 2), GW_ERR_PRECONDITION_FAILED);
    assert_int_equal(level(&t), 1);
    mt_close(&t);
}

/* A snapshot carries the members and the level to another store. */
static void member_snapshot_restore_keeps_them(void **state)
{
    const uint64_t voters[] = {7};
    struct gw_buf snap = GW_BUF_INIT;
    struct meta_member mb;
    struct mt a, b;

    (void)state;
    mt_open(&a);
    mt_open(&b);
    assert_int_equal(reg(&a, 7, 1, 2, "0.2.0"), GW_OK);
    assert_int_equal(finalize(&a, voters, 1), GW_OK);
    assert_int_equal(meta_snapshot(a.m, &snap), GW_OK);
    assert_int_equal(meta_restore(b.m, snap.data, snap.len), GW_OK);
    assert_int_equal(level(&b), 2);
    assert_int_equal(meta_member_get(b.m, 7, &mb), GW_OK);
    assert_int_equal(mb.max_level, 2);
    assert_string_equal(mb.version, "0.2.0");
    gw_buf_free(&snap);
    mt_close(&a);
    mt_close(&b);
}

/* Every known type is allowed at level 1; a type this binary does not know
 * is refused before it could reach the log (where it would stop every
 * replica with TOO_NEW). */
static void member_level_check(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    for (uint16_t type = 1; type <= META_CMD__MAX; type++) {
        assert_int_equal(meta_cmd_min_level(type), 1);
    }
    assert_int_equal(meta_cmd_min_level(META_CMD__MAX + 1), 0);
    assert_int_equal(meta_cmd_tags_drop(&b, &h, GW_STR("b"), GW_STR("k"), GW_STR("o")), GW_OK);
    assert_int_equal(meta_cmd_level_check(t.m, b.data, b.len), GW_OK);
    b.data[0] = META_CMD__MAX + 1;
    assert_int_equal(meta_cmd_level_check(t.m, b.data, b.len), GW_ERR_NOT_IMPLEMENTED);
    assert_int_equal(meta_cmd_level_check(t.m, b.data, 1), GW_ERR_CORRUPT);
    gw_buf_free(&b);
    mt_close(&t);
}

static void done_cb(void *arg, int rv, int result)
{
    (void)arg;
    (void)rv;
    (void)result;
    fail_msg("a refused proposal must not complete");
}

/* The local proposer refuses such a command at once: nothing is applied. */
static void member_local_proposer_refuses_unknown_type(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct meta_local_proposer lp;
    struct gw_buf b = GW_BUF_INIT;
    uv_loop_t loop;
    uint64_t idx = 9;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(meta_local_proposer_init(&lp, &loop, t.m), GW_OK);
    assert_int_equal(meta_cmd_noop(&b, &h), GW_OK);
    b.data[0] = META_CMD__MAX + 1;
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, NULL), GW_ERR_NOT_IMPLEMENTED);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(meta_applied_index(t.m, &idx), GW_OK);
    assert_int_equal(idx, 0);
    meta_local_proposer_close(&lp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    gw_buf_free(&b);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(member_fresh_store_is_level_1),
        cmocka_unit_test(member_register_records_and_replaces),
        cmocka_unit_test(member_register_invalid),
        cmocka_unit_test(member_finalize_refused_and_accepted),
        cmocka_unit_test(member_finalize_disjoint_refused),
        cmocka_unit_test(member_snapshot_restore_keeps_them),
        cmocka_unit_test(member_level_check),
        cmocka_unit_test(member_local_proposer_refuses_unknown_type),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
