/* Unit tests for meta/snapshot.c: dump, restore, verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meta_test.h"

/* A store with some of everything. */
static void populate(struct mt *t)
{
    struct meta_cmd_hdr h = mt_hdr(0x33, 9);
    static char longkey[META_OBJKEY_MAX];
    struct gw_buf b = GW_BUF_INIT;

    memset(longkey, 'L', sizeof longkey);
    assert_int_equal(mt_user(t, "alice", true), 0);
    assert_int_equal(mt_user(t, "bob", false), 0);
    assert_int_equal(mt_key_create(t, "AK1", "bob", "bobsecret"), 0);
    assert_int_equal(mt_bucket(t, "b1", "bob"), 0);
    assert_int_equal(mt_bucket(t, "a0", "alice"), 0);
    assert_int_equal(meta_cmd_policy_put(&b, &h, GW_STR("b1"), GW_STR("{\"p\":1}")), 0);
    assert_int_equal(mt_apply(t, &b), 0); /* with a request id: a dedup entry too */
    h.req_id[0] = 0x34;
    assert_int_equal(meta_cmd_tags_put(&b, &h, GW_STR("b1"), gw_str_make(longkey, sizeof longkey),
                                       GW_STR("oid"), GW_STR("t=1")),
                     0);
    assert_int_equal(mt_apply(t, &b), 0);
    gw_buf_free(&b);
}

/* What the queries see, as one comparable string. */
static void observe(struct meta *m, struct gw_buf *out, bool with_index)
{
    static char longkey[META_OBJKEY_MAX];
    struct meta_bucket *bks = NULL;
    struct meta_user *us = NULL;
    struct meta_key_info ki;
    size_t n = 0;
    uint64_t idx = 0;

    memset(longkey, 'L', sizeof longkey);
    assert_int_equal(meta_user_list(m, GW_STR_NULL, 10, &us, &n), 0);
    for (size_t i = 0; i < n; i++) {
        gw_buf_printf(out, "u:%s:%d:%d:%llu;", us[i].name, us[i].is_admin, us[i].is_disabled,
                      (unsigned long long)us[i].created_ms);
    }
    gw_free(us);
    assert_int_equal(meta_bucket_list(m, GW_STR_NULL, GW_STR_NULL, 10, &bks, &n), 0);
    for (size_t i = 0; i < n; i++) {
        gw_buf_printf(out, "b:%s:%s:%s:%llu;", bks[i].name, bks[i].owner, bks[i].region,
                      (unsigned long long)bks[i].created_ms);
    }
    gw_free(bks);
    assert_int_equal(meta_key_lookup(m, GW_STR("AK1"), &ki), 0);
    gw_buf_printf(out, "k:%s:%s;", ki.user, ki.secret);
    gw_buf_append_c(out, "p:");
    assert_int_equal(meta_policy_get(m, GW_STR("b1"), out), 0);
    gw_buf_append_c(out, ";t:");
    assert_int_equal(meta_tags_get(m, GW_STR("b1"), gw_str_make(longkey, sizeof longkey),
                                   GW_STR("oid"), out),
                     0);
    assert_int_equal(meta_applied_index(m, &idx), 0);
    if (with_index) {
        gw_buf_printf(out, ";i:%llu", (unsigned long long)idx);
    }
}

static void snapshot_restore_identical(void **state)
{
    struct gw_buf snap = GW_BUF_INIT, snap2 = GW_BUF_INIT, o1 = GW_BUF_INIT, o2 = GW_BUF_INIT;
    struct mt a, b;
    uint64_t idx = 0;

    (void)state;
    mt_open(&a);
    populate(&a);
    assert_int_equal(meta_snapshot(a.m, &snap), 0);
    assert_int_equal(meta_snapshot_index(snap.data, snap.len, &idx), 0);
    assert_int_equal(idx, a.index);

    mt_open(&b);
    assert_int_equal(meta_restore(b.m, snap.data, snap.len), 0);
    observe(a.m, &o1, true);
    observe(b.m, &o2, true);
    assert_string_equal(o1.data, o2.data);
    assert_int_equal(meta_snapshot(b.m, &snap2), 0);
    assert_int_equal(snap.len, snap2.len);
    assert_memory_equal(snap.data, snap2.data, snap.len);

    /* The dedup table came along: a retried command returns its result. */
    {
        struct meta_cmd_hdr h = mt_hdr(0x33, 9);
        struct gw_buf c = GW_BUF_INIT;
        b.index = idx;
        assert_int_equal(meta_cmd_policy_put(&c, &h, GW_STR("nope"), GW_STR("{}")), 0);
        assert_int_equal(mt_apply(&b, &c), GW_OK); /* not NO_SUCH_BUCKET */
        gw_buf_free(&c);
    }
    /* And the restored store survives a reopen (one index further now). */
    mt_reopen(&b);
    gw_buf_reset(&o1);
    gw_buf_reset(&o2);
    observe(a.m, &o1, false);
    observe(b.m, &o2, false);
    assert_string_equal(o1.data, o2.data);
    gw_buf_free(&snap);
    gw_buf_free(&snap2);
    gw_buf_free(&o1);
    gw_buf_free(&o2);
    mt_close(&a);
    mt_close(&b);
}

/* Restore replaces: what the target held before is gone. */
static void snapshot_restore_clears(void **state)
{
    struct gw_buf snap = GW_BUF_INIT;
    struct meta_user u;
    struct mt a, b;

    (void)state;
    mt_open(&a);
    assert_int_equal(mt_user(&a, "alice", false), 0);
    assert_int_equal(meta_snapshot(a.m, &snap), 0);
    mt_open(&b);
    assert_int_equal(mt_user(&b, "zed", false), 0);
    assert_int_equal(mt_user(&b, "zoe", false), 0);
    assert_int_equal(meta_restore(b.m, snap.data, snap.len), 0);
    assert_int_equal(meta_user_get(b.m, GW_STR("zed"), &u), GW_ERR_NOT_FOUND);
    assert_int_equal(meta_user_get(b.m, GW_STR("alice"), &u), 0);
    gw_buf_free(&snap);
    mt_close(&a);
    mt_close(&b);
}

/* Any flipped byte or truncation is refused, and the store is unchanged. */
static void snapshot_damaged_refused(void **state)
{
    struct gw_buf snap = GW_BUF_INIT;
    struct meta_user u;
    struct mt a, b;
    uint64_t idx = 0;

    (void)state;
    mt_open(&a);
    populate(&a);
    assert_int_equal(meta_snapshot(a.m, &snap), 0);
    mt_open(&b);
    assert_int_equal(mt_user(&b, "keep", false), 0);
    for (size_t i = 0; i < snap.len; i += 7) {
        snap.data[i] ^= 0x01;
        assert_int_not_equal(meta_restore(b.m, snap.data, snap.len), 0);
        snap.data[i] ^= 0x01;
    }
    for (size_t n = 0; n < snap.len; n += 5) {
        char *copy = gw_malloc(n + 1);
        memcpy(copy, snap.data, n);
        assert_int_equal(meta_restore(b.m, copy, n), GW_ERR_CORRUPT);
        assert_int_not_equal(meta_snapshot_index(copy, n, &idx), 0);
        gw_free(copy);
    }
    assert_int_equal(meta_user_get(b.m, GW_STR("keep"), &u), 0);
    assert_int_equal(meta_applied_index(b.m, &idx), 0);
    assert_int_equal(idx, 1);
    gw_buf_free(&snap);
    mt_close(&a);
    mt_close(&b);
}

/* A snapshot in a newer format is TOO_NEW (checked before the checksum). */
static void snapshot_newer_format(void **state)
{
    struct gw_buf snap = GW_BUF_INIT;
    struct mt a;
    uint64_t idx = 0;

    (void)state;
    mt_open(&a);
    assert_int_equal(meta_snapshot(a.m, &snap), 0);
    snap.data[8] = 2; /* format, right after the 8-byte magic */
    assert_int_equal(meta_restore(a.m, snap.data, snap.len), GW_ERR_TOO_NEW);
    assert_int_equal(meta_snapshot_index(snap.data, snap.len, &idx), GW_ERR_TOO_NEW);
    gw_buf_free(&snap);
    mt_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_restore_identical),
        cmocka_unit_test(snapshot_restore_clears),
        cmocka_unit_test(snapshot_damaged_refused),
        cmocka_unit_test(snapshot_newer_format),
    };
    return cmocka_run_group_tests_name("meta/snapshot", tests, NULL, NULL);
}
