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
    assert_int_equal(meta__err_from_mdb(MDB_READERS_FULL), GW_ERR_INTERNAL);
    assert_int_equal(meta__err_from_mdb(MDB_BAD_VALSIZE), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta__err_from_mdb(ENOENT), GW_ERR_NOT_FOUND);
    assert_int_equal(meta__err_from_mdb(-12345), GW_ERR_INTERNAL);
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
    };
    return cmocka_run_group_tests_name("meta/env", tests, NULL, NULL);
}
