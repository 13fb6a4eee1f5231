/* Unit tests for meta/env.c: open/close, the format marker, error
 * translation, long-name keys and the scan helper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "env.h"
#include "meta_test.h"

/* A fresh store has applied index 0 and every named db. */
static void env_open_fresh(void **state)
{
    struct mt t;
    uint64_t idx = 99;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;

    (void)state;
    mt_open(&t);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 0);
    assert_int_equal(mdb_txn_begin(t.m->env, NULL, MDB_RDONLY, &txn), 0);
    for (int i = 0; i < META_DB__COUNT; i++) {
        assert_int_equal(mdb_dbi_open(txn, meta__db_names[i], 0, &dbi), 0);
    }
    mdb_txn_abort(txn);
    mt_close(&t);
}

static void env_open_missing_dir(void **state)
{
    struct meta *m = NULL;

    (void)state;
    assert_int_equal(meta_open("/nonexistent/unigw-meta", mt_key, 0, &m), GW_ERR_NOT_FOUND);
    assert_null(m);
    meta_close(NULL);
}

/* Overwrite the format marker with the first @len bytes of @v (as a newer
 * binary, or a damaged disk, would). */
static void format_set(struct meta *m, uint32_t v, size_t len)
{
    MDB_txn *txn = NULL;
    struct gw_buf b = GW_BUF_INIT;

    gw_buf_put_u32(&b, v);
    assert_int_equal(meta__txn_rw(m, &txn), 0);
    assert_int_equal(meta__put(m, txn, META_DB_CLUSTER, META_CLUSTER_FORMAT,
                               gw_str_make(b.data, len)),
                     0);
    assert_int_equal(meta__txn_commit(txn), 0);
    gw_buf_free(&b);
}

/* A store written by a newer format is refused, every time (nothing changed). */
static void env_refuses_newer_format(void **state)
{
    struct mt t;
    struct meta *m = NULL;

    (void)state;
    mt_open(&t);
    format_set(t.m, META_STORE_FORMAT + 1, 4);
    meta_close(t.m);
    t.m = NULL;
    assert_int_equal(meta_open(t.dir, mt_key, 0, &m), GW_ERR_TOO_NEW);
    assert_null(m);
    assert_int_equal(meta_open(t.dir, mt_key, 0, &m), GW_ERR_TOO_NEW);
    assert_null(m);
    mt_close(&t);
}

static void env_refuses_garbled_format(void **state)
{
    struct mt t;
    struct meta *m = NULL;

    (void)state;
    mt_open(&t);
    format_set(t.m, 1, 3);
    meta_close(t.m);
    t.m = NULL;
    assert_int_equal(meta_open(t.dir, mt_key, 0, &m), GW_ERR_CORRUPT);
    mt_close(&t);
}

/* The same version and a reopen are fine; data survives. */
static void env_reopen_keeps_data(void **state)
{
    struct mt t;
    struct meta_user u;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    mt_reopen(&t);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), 0);
    mt_close(&t);
}

static void env_err_from_mdb(void **state)
{
    (void)state;
    assert_int_equal(meta__err_from_mdb(0), GW_OK);
    assert_int_equal(meta__err_from_mdb(MDB_NOTFOUND), GW_ERR_NOT_FOUND);
    assert_int_equal(meta__err_from_mdb(MDB_KEYEXIST), GW_ERR_EXISTS);
    assert_int_equal(meta__err_from_mdb(MDB_MAP_FULL), GW_ERR_NO_SPACE);
    assert_int_equal(meta__err_from_mdb(MDB_CORRUPTED), GW_ERR_CORRUPT);
    assert_int_equal(meta__err_from_mdb(MDB_VERSION_MISMATCH), GW_ERR_CORRUPT);
    assert_int_equal(meta__err_from_mdb(MDB_READERS_FULL), GW_ERR_IO); /* the node's, not the command's */
    assert_int_equal(meta__err_from_mdb(MDB_BAD_VALSIZE), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta__err_from_mdb(ENOENT), GW_ERR_NOT_FOUND);
    assert_int_equal(meta__err_from_mdb(-12345), GW_ERR_IO);
}

/* Short names are kept verbatim under "bucket\0"; long ones are hashed to a
 * fixed size under the same prefix, distinct names to distinct keys. */
static void env_key_make(void **state)
{
    static char name[META_OBJKEY_MAX];
    char bk[META_NAME_MAX];
    struct gw_buf a = GW_BUF_INIT, b = GW_BUF_INIT;
    struct gw_str bucket = GW_STR("bkt");
    size_t fit = META_LMDB_KEY_MAX - bucket.len - 1;

    (void)state;
    memset(name, 'x', sizeof name);
    meta__key_make(&a, bucket, GW_STR("a/b.txt"));
    assert_int_equal(a.len, 3 + 1 + 7);
    assert_memory_equal(a.data, "bkt\0a/b.txt", a.len);
    gw_buf_reset(&a);

    /* The boundary: exactly 511 bytes stays verbatim, 512 is hashed. */
    assert_false(meta__key_is_hashed(bucket, gw_str_make(name, fit)));
    meta__key_make(&a, bucket, gw_str_make(name, fit));
    assert_int_equal(a.len, META_LMDB_KEY_MAX);
    gw_buf_reset(&a);
    assert_true(meta__key_is_hashed(bucket, gw_str_make(name, fit + 1)));
    meta__key_make(&a, bucket, gw_str_make(name, fit + 1));
    assert_int_equal(a.len, 3 + 1 + 1 + 32);
    assert_memory_equal(a.data, "bkt\0\xff", 5);

    /* Two long names differing in the last byte get different keys. */
    name[sizeof name - 1] = 'y';
    meta__key_make(&b, bucket, gw_str_make(name, sizeof name));
    name[sizeof name - 1] = 'z';
    gw_buf_reset(&a);
    meta__key_make(&a, bucket, gw_str_make(name, sizeof name));
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.data, b.data, a.len);
    /* The longest bucket with the longest key still fits LMDB. */
    memset(bk, 'b', sizeof bk);
    gw_buf_reset(&a);
    meta__key_make(&a, gw_str_make(bk, sizeof bk), gw_str_make(name, sizeof name));
    assert_true(a.len <= META_LMDB_KEY_MAX);
    gw_buf_free(&a);
    gw_buf_free(&b);
}

static int collect_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct gw_buf *b = arg;

    (void)val;
    gw_buf_append_str(b, key);
    gw_buf_append_byte(b, ',');
    return GW_OK;
}

static int stop_cb(void *arg, struct gw_str key, struct gw_str val)
{
    int *n = arg;

    (void)key;
    (void)val;
    return ++*n == 2 ? META_SCAN_STOP : GW_OK;
}

/* meta__scan honours prefix, after and stop; meta__del_prefix only its prefix. */
static void env_scan(void **state)
{
    const char *keys[] = {"a", "b\0x", "b\0y", "b\0z", "c"};
    const size_t lens[] = {1, 3, 3, 3, 1};
    struct gw_buf out = GW_BUF_INIT;
    MDB_txn *txn = NULL;
    struct mt t;
    int n = 0;

    (void)state;
    mt_open(&t);
    assert_int_equal(meta__txn_rw(t.m, &txn), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(meta__put(t.m, txn, META_DB_MEMBERS, gw_str_make(keys[i], lens[i]),
                                   GW_STR("v")),
                         0);
    }
    assert_int_equal(meta__scan(t.m, txn, META_DB_MEMBERS, gw_str_make("b\0", 2), GW_STR_NULL,
                                collect_cb, &out),
                     0);
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.data, "b\0x,b\0y,b\0z,", 12);
    gw_buf_reset(&out);
    assert_int_equal(meta__scan(t.m, txn, META_DB_MEMBERS, gw_str_make("b\0", 2),
                                gw_str_make("b\0x", 3), collect_cb, &out),
                     0);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.data, "b\0y,b\0z,", 8);
    gw_buf_reset(&out);
    assert_int_equal(meta__scan(t.m, txn, META_DB_MEMBERS, GW_STR_NULL, GW_STR("b"), collect_cb,
                                &out),
                     0);
    assert_int_equal(out.len, 14);
    assert_int_equal(meta__scan(t.m, txn, META_DB_MEMBERS, GW_STR_NULL, GW_STR_NULL, stop_cb, &n),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(meta__del_prefix(t.m, txn, META_DB_MEMBERS, gw_str_make("b\0", 2)), 0);
    gw_buf_reset(&out);
    assert_int_equal(meta__scan(t.m, txn, META_DB_MEMBERS, GW_STR_NULL, GW_STR_NULL, collect_cb,
                                &out),
                     0);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "a,c,", 4);
    mdb_txn_abort(txn);
    gw_buf_free(&out);
    mt_close(&t);
}

/* One meta__del_prefix case: the keys stored (NUL-separated names of
 * explicit length), the prefix, and which keys must remain. */
struct dp_case {
    const char *what;
    const char *keys[5];
    size_t lens[5];
    size_t n;
    const char *prefix;
    size_t prefix_len;
    unsigned keep; /* bit i: keys[i] survives */
};

static const struct dp_case dp_cases[] = {
    {"first", {"a\0x", "a\0y", "b\0x", "c\0x"}, {3, 3, 3, 3}, 4, "a\0", 2, 0xc},
    {"middle", {"a\0x", "b\0x", "b\0y", "c\0x"}, {3, 3, 3, 3}, 4, "b\0", 2, 0x9},
    {"last", {"a\0x", "b\0x", "c\0x", "c\0y"}, {3, 3, 3, 3}, 4, "c\0", 2, 0x3},
    {"only keys", {"b\0x", "b\0y"}, {3, 3}, 2, "b\0", 2, 0x0},
    {"only key", {"b\0x"}, {3}, 1, "b\0", 2, 0x0},
    {"empty db", {0}, {0}, 0, "b\0", 2, 0x0},
    {"none, between", {"a\0x", "c\0x"}, {3, 3}, 2, "b\0", 2, 0x3},
    {"none, after all", {"a\0x"}, {3}, 1, "z\0", 2, 0x1},
    /* "b\0" itself (a bucket's own tag record) goes; "b" and "ba" stay. */
    {"prefix is a key", {"b", "b\0", "b\0k", "ba"}, {1, 2, 3, 2}, 4, "b\0", 2, 0x9},
    {"whole db", {"a", "b\0k"}, {1, 3}, 2, "", 0, 0x0},
};

/* Count the records of @db in @txn. */
static size_t db_count(struct mt *t, MDB_txn *txn, enum meta_db db)
{
    MDB_stat st;

    assert_int_equal(mdb_stat(txn, t->m->dbi[db], &st), 0);
    return st.ms_entries;
}

static void dp_run(struct mt *t, enum meta_db db, const struct dp_case *c)
{
    struct gw_str v;
    MDB_txn *txn = NULL;
    size_t n_kept = 0;

    assert_int_equal(meta__txn_rw(t->m, &txn), 0);
    assert_int_equal(mdb_drop(txn, t->m->dbi[db], 0), 0); /* the case's keys alone */
    for (size_t i = 0; i < c->n; i++) {
        assert_int_equal(meta__put(t->m, txn, db, gw_str_make(c->keys[i], c->lens[i]),
                                   GW_STR("v")),
                         0);
    }
    if (meta__del_prefix(t->m, txn, db, gw_str_make(c->prefix, c->prefix_len)) != GW_OK) {
        fail_msg("del_prefix %s in db %s failed", c->what, meta__db_names[db]);
    }
    for (size_t i = 0; i < c->n; i++) {
        bool kept = (c->keep >> i & 1) != 0;
        int rv = meta__get(t->m, txn, db, gw_str_make(c->keys[i], c->lens[i]), &v);
        if (rv != (kept ? GW_OK : GW_ERR_NOT_FOUND)) {
            fail_msg("%s in db %s: key %zu %s", c->what, meta__db_names[db], i,
                     kept ? "lost" : "kept");
        }
        n_kept += kept;
    }
    assert_int_equal(db_count(t, txn, db), n_kept);
    mdb_txn_abort(txn);
}

/* Prefix deletion works in every db, for the first, middle and last keys,
 * the only keys, an empty db and a prefix that matches nothing. */
static void env_del_prefix_positions(void **state)
{
    struct mt t;

    (void)state;
    mt_open(&t);
    for (int db = 0; db < META_DB__COUNT; db++) {
        for (size_t i = 0; i < sizeof dp_cases / sizeof dp_cases[0]; i++) {
            dp_run(&t, (enum meta_db)db, &dp_cases[i]);
        }
    }
    mt_close(&t);
}

/* Many records over many pages: the tail, the head, then everything. */
static void env_del_prefix_many(void **state)
{
    MDB_txn *txn = NULL;
    struct mt t;
    char k[16];

    (void)state;
    mt_open(&t);
    assert_int_equal(meta__txn_rw(t.m, &txn), 0);
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(k, sizeof k, "%c%c%05d", i < 1500 ? 'a' : 'm', '\0', i);
        assert_int_equal(meta__put(t.m, txn, META_DB_TAGS, gw_str_make(k, (size_t)n),
                                   GW_STR("value-value-value-value")),
                         0);
    }
    assert_int_equal(meta__del_prefix(t.m, txn, META_DB_TAGS, gw_str_make("m\0", 2)), 0);
    assert_int_equal(db_count(&t, txn, META_DB_TAGS), 1500);
    assert_int_equal(meta__del_prefix(t.m, txn, META_DB_TAGS, gw_str_make("a\0", 2)), 0);
    assert_int_equal(db_count(&t, txn, META_DB_TAGS), 0);
    assert_int_equal(meta__txn_commit(txn), 0);
    mt_close(&t);
}

/* A small map fills up with NO_SPACE, not a crash. */
static void env_map_full(void **state)
{
    char *dir = tl_tmpdir();
    struct meta *m = NULL;
    MDB_txn *txn = NULL;
    char val[4096];
    int rv = 0;

    (void)state;
    memset(val, 'v', sizeof val);
    assert_int_equal(meta_open(dir, mt_key, 256 * 1024, &m), 0);
    assert_int_equal(meta__txn_rw(m, &txn), 0);
    for (uint32_t i = 0; i < 1000 && rv == 0; i++) {
        char k[16];
        snprintf(k, sizeof k, "%08u", (unsigned)i);
        rv = meta__put(m, txn, META_DB_MEMBERS, gw_str_c(k), gw_str_make(val, sizeof val));
    }
    assert_int_equal(rv, GW_ERR_NO_SPACE);
    mdb_txn_abort(txn);
    meta_close(m);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_open_fresh),
        cmocka_unit_test(env_open_missing_dir),
        cmocka_unit_test(env_refuses_newer_format),
        cmocka_unit_test(env_refuses_garbled_format),
        cmocka_unit_test(env_reopen_keeps_data),
        cmocka_unit_test(env_err_from_mdb),
        cmocka_unit_test(env_key_make),
        cmocka_unit_test(env_scan),
        cmocka_unit_test(env_map_full),
        cmocka_unit_test(env_del_prefix_positions),
        cmocka_unit_test(env_del_prefix_many),
    };
    return cmocka_run_group_tests_name("meta/env", tests, NULL, NULL);
}
