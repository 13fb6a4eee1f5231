/* Unit tests for meta/fsm.c: the index guard, dedup of retries, undecodable
 * and too-new commands, atomicity of refused commands, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"
#include "meta_test.h"

static void bucket_cmd(struct gw_buf *b, uint8_t id, const char *name, const char *owner)
{
    struct meta_cmd_hdr h = mt_hdr(id, 5);

    assert_int_equal(meta_cmd_bucket_create(b, &h, gw_str_c(name), gw_str_c(owner), GW_STR("")),
                     0);
}

/* An entry at or below the last applied index changes nothing. */
static void fsm_replay_is_skipped(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct meta_bucket bk;
    struct mt t;
    int result = -1;
    uint64_t idx = 0;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0); /* index 1 */
    bucket_cmd(&b, 0, "b1", "alice");
    assert_int_equal(meta_apply(t.m, 5, b.data, b.len, &result), 0);
    assert_int_equal(result, GW_OK);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 5);
    gw_buf_reset(&b);

    /* A different command replayed at index 5 or 3 is not applied. */
    bucket_cmd(&b, 0, "b2", "alice");
    assert_int_equal(meta_apply(t.m, 5, b.data, b.len, &result), 0);
    assert_int_equal(result, GW_OK);
    assert_int_equal(meta_apply(t.m, 3, b.data, b.len, &result), 0);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("b2"), &bk), GW_ERR_NO_SUCH_BUCKET);

    /* The index survives a reopen, and the guard with it. */
    mt_reopen(&t);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 5);
    assert_int_equal(meta_apply(t.m, 4, b.data, b.len, &result), 0);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("b2"), &bk), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(meta_apply(t.m, 6, b.data, b.len, &result), 0);
    assert_int_equal(result, GW_OK);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("b2"), &bk), 0);
    gw_buf_free(&b);
    mt_close(&t);
}

/* A retry with the same request id returns the original result, even though
 * running it again would give another one; a new id runs again. */
static void fsm_dedup_returns_original(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;
    int result = -1;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    bucket_cmd(&b, 0x11, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    bucket_cmd(&b, 0x11, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_OK); /* deduped */
    bucket_cmd(&b, 0x12, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_ERR_BUCKET_OWNED_BY_YOU);
    bucket_cmd(&b, 0x12, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_ERR_BUCKET_OWNED_BY_YOU); /* original failure */
    /* A replayed entry reports the recorded result of its request id. */
    bucket_cmd(&b, 0x12, "b1", "alice");
    assert_int_equal(meta_apply(t.m, 1, b.data, b.len, &result), 0);
    assert_int_equal(result, GW_ERR_BUCKET_OWNED_BY_YOU);
    gw_buf_reset(&b);
    /* Without a request id there is no dedup. */
    bucket_cmd(&b, 0, "b2", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    bucket_cmd(&b, 0, "b2", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_ERR_BUCKET_OWNED_BY_YOU);
    gw_buf_free(&b);
    mt_close(&t);
}

/* Dedup entries older than the window are pruned by index distance. */
static void fsm_dedup_pruned_by_index(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    bucket_cmd(&b, 0x21, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_OK); /* index 2 */
    t.index += META_DEDUP_WINDOW - 1;          /* next: 2 + WINDOW, still inside */
    bucket_cmd(&b, 0x21, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    t.index += 1; /* next: 2 + WINDOW + 2: index 2 falls out of the window */
    bucket_cmd(&b, 0x22, "b9", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    bucket_cmd(&b, 0x21, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_ERR_BUCKET_OWNED_BY_YOU); /* ran again */
    gw_buf_free(&b);
    mt_close(&t);
}

static size_t db_entries(struct mt *t, enum meta_db db)
{
    MDB_txn *txn = NULL;
    MDB_stat st;

    assert_int_equal(meta__txn_ro(t->m, &txn), 0);
    assert_int_equal(mdb_stat(txn, t->m->dbi[db], &st), 0);
    mdb_txn_abort(txn);
    return st.ms_entries;
}

/* Pruning that removes every dedup record, the last one included, leaves
 * both dedup dbs empty and apply going (the cursor trap of issue 7). */
static void fsm_dedup_prune_empties_db(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    for (uint8_t id = 0x31; id < 0x34; id++) {
        char name[8] = {'b', (char)id, 0};
        bucket_cmd(&b, id, name, "alice");
        assert_int_equal(mt_apply(&t, &b), GW_OK);
    }
    assert_int_equal(db_entries(&t, META_DB_DEDUP), 3);
    t.index += 3 * META_DEDUP_WINDOW;
    bucket_cmd(&b, 0, "b9", "alice"); /* no request id: adds no record */
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    assert_int_equal(db_entries(&t, META_DB_DEDUP), 0);
    assert_int_equal(db_entries(&t, META_DB_DEDUP_IDX), 0);
    bucket_cmd(&b, 0x31, "b1", "alice");
    assert_int_equal(mt_apply(&t, &b), GW_ERR_BUCKET_OWNED_BY_YOU); /* forgotten: ran again */
    gw_buf_free(&b);
    mt_close(&t);
}

/* Garbage is refused as CORRUPT on every replica and still takes its index;
 * a command from a newer binary stops apply and takes nothing. */
static void fsm_corrupt_and_too_new(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;
    int result = -1;
    uint64_t idx = 0;

    (void)state;
    mt_open(&t);
    assert_int_equal(meta_apply(t.m, 1, "\x01\x00\x01\x00zz", 6, &result), 0);
    assert_int_equal(result, GW_ERR_CORRUPT);
    assert_int_equal(meta_apply(t.m, 2, "", 0, &result), 0);
    assert_int_equal(result, GW_ERR_CORRUPT);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 2);

    bucket_cmd(&b, 0, "b1", "alice");
    b.data[2] = 9; /* version 9 */
    assert_int_equal(meta_apply(t.m, 3, b.data, b.len, &result), GW_ERR_TOO_NEW);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 2);
    gw_buf_free(&b);
    mt_close(&t);
}

/* A refused command leaves no partial write: deleting a user that still owns
 * a bucket keeps the user and its keys. */
static void fsm_refused_command_is_atomic(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct meta_key_info ki;
    struct meta_user u;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_key_create(&t, "AK1", "alice", "s3cr3t"), 0);
    assert_int_equal(mt_bucket(&t, "b1", "alice"), 0);
    assert_int_equal(meta_cmd_user_delete(&b, &h, GW_STR("alice")), 0);
    assert_int_equal(mt_apply(&t, &b), GW_ERR_INVALID_REQUEST);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), 0);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AK1"), &ki), 0);
    gw_buf_free(&b);
    mt_close(&t);
}

/* The same command stream applied to two stores gives identical snapshots. */
static void fsm_deterministic(void **state)
{
    struct gw_buf s1 = GW_BUF_INIT, s2 = GW_BUF_INIT;
    struct mt t[2];

    (void)state;
    for (int i = 0; i < 2; i++) {
        mt_open(&t[i]);
        assert_int_equal(mt_user(&t[i], "alice", true), 0);
        assert_int_equal(mt_user(&t[i], "bob", false), 0);
        assert_int_equal(mt_key_create(&t[i], "AK1", "bob", "pw"), 0);
        assert_int_equal(mt_bucket(&t[i], "b1", "bob"), 0);
        assert_int_equal(mt_bucket(&t[i], "b1", "alice"), GW_ERR_BUCKET_EXISTS);
    }
    assert_int_equal(meta_snapshot(t[0].m, &s1), 0);
    assert_int_equal(meta_snapshot(t[1].m, &s2), 0);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);
    gw_buf_free(&s1);
    gw_buf_free(&s2);
    mt_close(&t[0]);
    mt_close(&t[1]);
}

/* Fault seam: fail commands of type @type with @rv, after the handler wrote. */
struct fault {
    uint16_t type;
    int rv;
    int n_calls;
};

static int fault_cb(void *arg, const struct meta_cmd *c)
{
    struct fault *f = arg;

    if (c->type != f->type) {
        return GW_OK;
    }
    f->n_calls++;
    return f->rv;
}

static void policy_cmd(struct gw_buf *b, uint8_t id, const char *bucket, size_t doc_len)
{
    struct meta_cmd_hdr h = mt_hdr(id, 5);
    char *doc = gw_malloc(doc_len);

    memset(doc, 'p', doc_len);
    gw_buf_reset(b);
    assert_int_equal(meta_cmd_policy_put(b, &h, gw_str_c(bucket), gw_str_make(doc, doc_len)), 0);
    gw_free(doc);
}

/* A deterministic failure inside a handler (each code apply can meet that is
 * not a business result) drops what the handler wrote, takes its index,
 * answers INTERNAL, is counted, and the next entry applies as usual. */
static void fsm_deterministic_failure_is_skipped(void **state)
{
    static const int codes[] = {GW_ERR_INVALID, GW_ERR_INTERNAL, GW_ERR_NOT_FOUND,
                                GW_ERR_EXISTS, GW_ERR_INVALID_ARGUMENT, GW_ERR_KEY_TOO_LONG};
    struct fault f = {META_CMD_POLICY_PUT, 0, 0};
    struct gw_buf b = GW_BUF_INIT, out = GW_BUF_INIT;
    struct mt t;
    uint64_t idx = 0;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b1", "alice"), 0);
    t.m->fault = fault_cb;
    t.m->fault_arg = &f;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        f.rv = codes[i];
        policy_cmd(&b, (uint8_t)(0x40 + i), "b1", 10);
        assert_int_equal(mt_apply(&t, &b), GW_ERR_INTERNAL); /* meta_apply returned GW_OK */
        assert_int_equal(meta_applied_index(t.m, &idx), 0);
        assert_int_equal(idx, t.index);
        assert_int_equal(meta_policy_get(t.m, GW_STR("b1"), &out), GW_ERR_NO_SUCH_POLICY);
        assert_int_equal(meta_apply_failures(t.m, META_CMD_POLICY_PUT), i + 1);
    }
    assert_int_equal(meta_apply_failures(t.m, META_CMD_BUCKET_CREATE), 0);
    /* A retry of the failed request gets the same answer without running. */
    policy_cmd(&b, 0x40, "b1", 10);
    assert_int_equal(mt_apply(&t, &b), GW_ERR_INTERNAL);
    assert_int_equal(f.n_calls, (int)(sizeof codes / sizeof codes[0]));
    /* Business results are untouched by the rule, and other commands go on. */
    policy_cmd(&b, 0, "nope", 10);
    assert_int_equal(mt_apply(&t, &b), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(mt_bucket(&t, "b2", "alice"), 0);
    t.m->fault = NULL;
    policy_cmd(&b, 0, "b1", 10);
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b1"), &out), GW_OK);
    gw_buf_free(&b);
    gw_buf_free(&out);
    mt_close(&t);
}

/* Two replicas that meet the same deterministic failure stay equal. */
static void fsm_failure_keeps_replicas_equal(void **state)
{
    struct fault f = {META_CMD_BUCKET_DELETE, GW_ERR_INVALID, 0};
    struct gw_buf s[2] = {GW_BUF_INIT, GW_BUF_INIT}, b = GW_BUF_INIT;
    struct meta_cmd_hdr h = mt_hdr(0x51, 9);
    struct mt t[2];

    (void)state;
    for (int i = 0; i < 2; i++) {
        mt_open(&t[i]);
        t[i].m->fault = fault_cb;
        t[i].m->fault_arg = &f;
        assert_int_equal(mt_user(&t[i], "alice", false), 0);
        assert_int_equal(mt_bucket(&t[i], "b1", "alice"), 0);
        assert_int_equal(meta_cmd_bucket_delete(&b, &h, GW_STR("b1")), 0);
        assert_int_equal(mt_apply(&t[i], &b), GW_ERR_INTERNAL);
        assert_int_equal(mt_bucket(&t[i], "b2", "alice"), 0);
        assert_int_equal(meta_snapshot(t[i].m, &s[i]), 0);
    }
    assert_int_equal(s[0].len, s[1].len);
    assert_memory_equal(s[0].data, s[1].data, s[0].len);
    for (int i = 0; i < 2; i++) {
        gw_buf_free(&s[i]);
        mt_close(&t[i]);
    }
    gw_buf_free(&b);
}

/* An environmental failure (the node's store, not the command) writes
 * nothing and is returned, so the Raft wrapper stops; once the cause is
 * gone the same entry applies at the same index. */
static void fsm_environmental_failure_stops(void **state)
{
    static const int codes[] = {GW_ERR_IO, GW_ERR_NO_SPACE, GW_ERR_NOMEM, GW_ERR_CORRUPT,
                                GW_ERR_TOO_NEW};
    struct fault f = {META_CMD_POLICY_PUT, 0, 0};
    struct gw_buf b = GW_BUF_INIT, out = GW_BUF_INIT;
    struct mt t;
    uint64_t idx = 0;
    int result = -1;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b1", "alice"), 0);
    t.m->fault = fault_cb;
    t.m->fault_arg = &f;
    policy_cmd(&b, 0x61, "b1", 10);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        f.rv = codes[i];
        assert_int_equal(meta_apply(t.m, t.index + 1, b.data, b.len, &result), codes[i]);
        assert_int_equal(result, GW_OK);
        assert_int_equal(meta_applied_index(t.m, &idx), 0);
        assert_int_equal(idx, t.index);
    }
    assert_int_equal(meta_apply_failures(t.m, META_CMD_POLICY_PUT), 0);
    t.m->fault = NULL; /* the operator fixed it; the replay applies the entry */
    assert_int_equal(mt_apply(&t, &b), GW_OK);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b1"), &out), GW_OK);
    gw_buf_free(&b);
    gw_buf_free(&out);
    mt_close(&t);
}

/* A real MDB_MAP_FULL: the store is too small for the entry.  Apply stops
 * with NO_SPACE and writes nothing; reopened with a larger map (what the
 * operator's fix does) the very same entry applies. */
static void fsm_map_full_stops_then_applies(void **state)
{
    struct gw_buf b = GW_BUF_INIT, out = GW_BUF_INIT;
    struct mt t;
    uint64_t idx = 0;
    int result = -1;

    (void)state;
    memset(&t, 0, sizeof t);
    t.dir = tl_tmpdir();
    assert_int_equal(meta_open(t.dir, mt_key, 256 * 1024, &t.m), GW_OK);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b1", "alice"), 0);
    policy_cmd(&b, 0x71, "b1", 512 * 1024);
    assert_int_equal(meta_apply(t.m, 3, b.data, b.len, &result), GW_ERR_NO_SPACE);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 2);
    meta_close(t.m);
    assert_int_equal(meta_open(t.dir, mt_key, 8 * 1024 * 1024, &t.m), GW_OK);
    assert_int_equal(meta_apply(t.m, 3, b.data, b.len, &result), GW_OK);
    assert_int_equal(result, GW_OK);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b1"), &out), GW_OK);
    assert_int_equal(out.len, 512 * 1024);
    gw_buf_free(&b);
    gw_buf_free(&out);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fsm_replay_is_skipped),
        cmocka_unit_test(fsm_dedup_returns_original),
        cmocka_unit_test(fsm_dedup_pruned_by_index),
        cmocka_unit_test(fsm_dedup_prune_empties_db),
        cmocka_unit_test(fsm_corrupt_and_too_new),
        cmocka_unit_test(fsm_refused_command_is_atomic),
        cmocka_unit_test(fsm_deterministic),
        cmocka_unit_test(fsm_deterministic_failure_is_skipped),
        cmocka_unit_test(fsm_failure_keeps_replicas_equal),
        cmocka_unit_test(fsm_environmental_failure_stops),
        cmocka_unit_test(fsm_map_full_stops_then_applies),
    };
    return cmocka_run_group_tests_name("meta/fsm", tests, NULL, NULL);
}
