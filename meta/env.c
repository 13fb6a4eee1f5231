/* The LMDB environment of the metadata store.
 *
 * meta_open creates the environment (MDB_NOSYNC | MDB_NOTLS: the Raft log is
 * the durable copy, and read transactions may cross threads), opens every
 * named database and checks the store's format marker in the cluster db: a
 * fresh store gets META_STORE_FORMAT, a store written by a newer binary is
 * refused with GW_ERR_TOO_NEW before anything in it is changed.
 *
 * Everything that talks to LMDB goes through the helpers here, so MDB_* codes
 * are translated in exactly one place (meta__err_from_mdb). */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "env.h"

const char *const meta__db_names[META_DB__COUNT] = {
    [META_DB_USERS] = "users",         [META_DB_KEYS] = "keys",
    [META_DB_BUCKETS] = "buckets",     [META_DB_POLICIES] = "policies",
    [META_DB_UPLOADS] = "uploads",     [META_DB_PARTS] = "parts",
    [META_DB_TAGS] = "tags",           [META_DB_MEMBERS] = "members",
    [META_DB_CLUSTER] = "cluster",     [META_DB_DEDUP] = "dedup",
    [META_DB_DEDUP_IDX] = "dedup_idx",
};

int meta__err_from_mdb(int mdb_rv)
{
    switch (mdb_rv) {
    case MDB_SUCCESS:
        return GW_OK;
    case MDB_NOTFOUND:
        return GW_ERR_NOT_FOUND;
    case MDB_KEYEXIST:
        return GW_ERR_EXISTS;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_PAGE_FULL:
        return GW_ERR_NO_SPACE;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
        return GW_ERR_CORRUPT;
    /* Conditions of this node's environment, not of the command: apply must
     * stop on them (meta/fsm.c), never skip the entry as the other replicas'
     * deterministic failure, or this replica would diverge. */
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case MDB_MAP_RESIZED:
    case MDB_BAD_RSLOT:
    case MDB_BAD_TXN:
    case MDB_BAD_DBI:
    case MDB_TLS_FULL:
    case MDB_CURSOR_FULL:
        return GW_ERR_IO;
    case MDB_BAD_VALSIZE:
        return GW_ERR_INVALID_ARGUMENT;
    default:
        break;
    }
    if (mdb_rv > 0) {
        return gw_err_from_errno(mdb_rv);
    }
    return GW_ERR_IO; /* an LMDB code this build does not know: not the command's fault */
}

bool meta__str_copy(char *dst, size_t cap, size_t *len, struct gw_str s)
{
    if (s.len >= cap) {
        return false;
    }
    if (s.len > 0) {
        memcpy(dst, s.p, s.len);
    }
    dst[s.len] = '\0';
    if (len != NULL) {
        *len = s.len;
    }
    return true;
}

static MDB_val mval(struct gw_str s)
{
    return (MDB_val){s.len, (void *)s.p};
}

int meta__txn_ro(struct meta *m, MDB_txn **txn)
{
    return meta__err_from_mdb(mdb_txn_begin(m->env, NULL, MDB_RDONLY, txn));
}

int meta__txn_rw(struct meta *m, MDB_txn **txn)
{
    return meta__err_from_mdb(mdb_txn_begin(m->env, NULL, 0, txn));
}

int meta__txn_commit(MDB_txn *txn)
{
    return meta__err_from_mdb(mdb_txn_commit(txn));
}

int meta__get(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str key,
              struct gw_str *val)
{
    MDB_val k = mval(key);
    MDB_val v;
    int rv;

    if (key.len == 0 || key.len > META_LMDB_KEY_MAX) {
        return GW_ERR_NOT_FOUND; /* such a key can never have been stored */
    }
    rv = mdb_get(txn, m->dbi[db], &k, &v);
    if (rv != 0) {
        return meta__err_from_mdb(rv);
    }
    *val = gw_str_make(v.mv_data, v.mv_size);
    return GW_OK;
}

int meta__put(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str key,
              struct gw_str val)
{
    MDB_val k = mval(key);
    MDB_val v = mval(val);

    return meta__err_from_mdb(mdb_put(txn, m->dbi[db], &k, &v, 0));
}

int meta__del(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str key)
{
    MDB_val k = mval(key);

    if (key.len == 0 || key.len > META_LMDB_KEY_MAX) {
        return GW_ERR_NOT_FOUND;
    }
    return meta__err_from_mdb(mdb_del(txn, m->dbi[db], &k, NULL));
}

static bool mval_has_prefix(MDB_val k, struct gw_str prefix)
{
    return k.mv_size >= prefix.len &&
           (prefix.len == 0 || memcmp(k.mv_data, prefix.p, prefix.len) == 0);
}

/* Each round seeks again from @prefix instead of stepping from the deleted
 * record: once mdb_cursor_del has removed the last record of the db, the
 * cursor is no longer positioned and MDB_GET_CURRENT / MDB_NEXT fail with
 * EINVAL (issue 7: a DeleteBucket whose tag records were the last keys of
 * the tags db stopped every replica).  A seek costs O(log n), as the delete
 * does, so k deletions stay O(k log n). */
int meta__del_prefix(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str prefix)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rv;

    if (prefix.len > META_LMDB_KEY_MAX) {
        return GW_OK; /* no stored key is that long */
    }
    rv = mdb_cursor_open(txn, m->dbi[db], &cur);
    if (rv != 0) {
        return meta__err_from_mdb(rv);
    }
    for (;;) {
        k = mval(prefix);
        rv = mdb_cursor_get(cur, &k, &v, prefix.len > 0 ? MDB_SET_RANGE : MDB_FIRST);
        if (rv != 0 || !mval_has_prefix(k, prefix)) {
            break;
        }
        rv = mdb_cursor_del(cur, 0);
        if (rv != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rv == 0 || rv == MDB_NOTFOUND ? GW_OK : meta__err_from_mdb(rv);
}

/* Position @cur on the first key >= max(@prefix, key after @after). */
static int cursor_start(MDB_cursor *cur, struct gw_str prefix, struct gw_str after, MDB_val *k,
                        MDB_val *v)
{
    int rv;

    if (after.len == 0 || gw_str_cmp(after, prefix) < 0) {
        if (prefix.len == 0) {
            return mdb_cursor_get(cur, k, v, MDB_FIRST);
        }
        *k = mval(prefix);
        return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    }
    *k = mval(after);
    rv = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rv == 0 && k->mv_size == after.len && memcmp(k->mv_data, after.p, after.len) == 0) {
        rv = mdb_cursor_get(cur, k, v, MDB_NEXT);
    }
    return rv;
}

int meta__scan(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str prefix,
               struct gw_str after, meta__scan_fn fn, void *arg)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int mrv;
    int rv = GW_OK;

    if (after.len > META_LMDB_KEY_MAX || prefix.len > META_LMDB_KEY_MAX) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    mrv = mdb_cursor_open(txn, m->dbi[db], &cur);
    if (mrv != 0) {
        return meta__err_from_mdb(mrv);
    }
    for (mrv = cursor_start(cur, prefix, after, &k, &v); mrv == 0;
         mrv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (prefix.len > 0 &&
            (k.mv_size < prefix.len || memcmp(k.mv_data, prefix.p, prefix.len) != 0)) {
            break;
        }
        rv = fn(arg, gw_str_make(k.mv_data, k.mv_size), gw_str_make(v.mv_data, v.mv_size));
        if (rv != GW_OK) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rv == META_SCAN_STOP) {
        return GW_OK;
    }
    if (rv != GW_OK) {
        return rv;
    }
    return mrv == 0 || mrv == MDB_NOTFOUND ? GW_OK : meta__err_from_mdb(mrv);
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

int meta__applied_get(struct meta *m, MDB_txn *txn, uint64_t *out)
{
    struct gw_str v = GW_STR_NULL;
    int rv;

    rv = meta__get(m, txn, META_DB_CLUSTER, META_CLUSTER_APPLIED, &v);
    if (rv == GW_ERR_NOT_FOUND) {
        *out = 0;
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    if (v.len != 8) {
        return GW_ERR_CORRUPT;
    }
    *out = get_le64((const unsigned char *)v.p);
    return GW_OK;
}

int meta__applied_put(struct meta *m, MDB_txn *txn, uint64_t index)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    gw_buf_put_u64(&b, index);
    rv = meta__put(m, txn, META_DB_CLUSTER, META_CLUSTER_APPLIED, gw_buf_str(&b));
    gw_buf_free(&b);
    return rv;
}

bool meta__key_is_hashed(struct gw_str bucket, struct gw_str name)
{
    return bucket.len + 1 + name.len > META_LMDB_KEY_MAX;
}

void meta__key_make(struct gw_buf *out, struct gw_str bucket, struct gw_str name)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    gw_buf_append_str(out, bucket);
    gw_buf_append_byte(out, '\0');
    if (!meta__key_is_hashed(bucket, name)) {
        gw_buf_append_str(out, name);
        return;
    }
    SHA256((const unsigned char *)name.p, name.len, md);
    gw_buf_append_byte(out, (char)0xff); /* never a byte of UTF-8 */
    gw_buf_append(out, md, sizeof md);
}

/* Read the format marker in @txn and write ours when there is none.  A newer
 * marker is GW_ERR_TOO_NEW; the caller then aborts @txn, changing nothing. */
static int check_format(struct meta *m, MDB_txn *txn)
{
    struct gw_buf b = GW_BUF_INIT;
    struct gw_reader r;
    struct gw_str v = GW_STR_NULL;
    uint32_t format = 0;
    int rv;

    rv = meta__get(m, txn, META_DB_CLUSTER, META_CLUSTER_FORMAT, &v);
    if (rv == GW_ERR_NOT_FOUND) {
        gw_buf_put_u32(&b, META_STORE_FORMAT);
        rv = meta__put(m, txn, META_DB_CLUSTER, META_CLUSTER_FORMAT, gw_buf_str(&b));
        gw_buf_free(&b);
        return rv;
    }
    if (rv != 0) {
        return rv;
    }
    r = gw_reader_make(v.p, v.len);
    if (!gw_reader_u32(&r, &format) || r.len != 0 || format == 0) {
        return GW_ERR_CORRUPT;
    }
    if (format > META_STORE_FORMAT) {
        GW_LOG(GW_LOG_ERROR, "meta", "store format %u is newer than %u", (unsigned)format,
               (unsigned)META_STORE_FORMAT);
        return GW_ERR_TOO_NEW;
    }
    return GW_OK;
}

/* Open the cluster db first and check the format, then every other db. */
static int open_dbs(struct meta *m)
{
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_rw(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__err_from_mdb(mdb_dbi_open(txn, meta__db_names[META_DB_CLUSTER], MDB_CREATE,
                                         &m->dbi[META_DB_CLUSTER]));
    if (rv == 0) {
        rv = check_format(m, txn);
    }
    for (int i = 0; rv == 0 && i < META_DB__COUNT; i++) {
        rv = meta__err_from_mdb(mdb_dbi_open(txn, meta__db_names[i], MDB_CREATE, &m->dbi[i]));
    }
    if (rv != 0) {
        mdb_txn_abort(txn);
        return rv;
    }
    return meta__txn_commit(txn);
}

int meta_open(const char *dir, const uint8_t cluster_key[META_CLUSTER_KEY_LEN], uint64_t map_size,
              struct meta **out)
{
    struct meta *m = gw_calloc(1, sizeof *m);
    int rv;

    memcpy(m->cluster_key, cluster_key, META_CLUSTER_KEY_LEN);
    rv = meta__err_from_mdb(mdb_env_create(&m->env));
    if (rv != 0) {
        goto err;
    }
    rv = meta__err_from_mdb(mdb_env_set_maxdbs(m->env, 32));
    if (rv == 0) {
        rv = meta__err_from_mdb(mdb_env_set_maxreaders(m->env, 256));
    }
    if (rv == 0) {
        size_t sz = map_size != 0 ? (size_t)map_size : (size_t)META_MAP_SIZE_DEFAULT;
        rv = meta__err_from_mdb(mdb_env_set_mapsize(m->env, sz));
    }
    if (rv == 0) {
        rv = meta__err_from_mdb(mdb_env_open(m->env, dir, MDB_NOSYNC | MDB_NOTLS, 0600));
    }
    if (rv == 0) {
        int dead = 0;
        mdb_reader_check(m->env, &dead); /* clear slots of crashed processes */
        rv = open_dbs(m);
    }
    if (rv != 0) {
        goto err_after_create;
    }
    *out = m;
    return GW_OK;

err_after_create:
    mdb_env_close(m->env);
err:
    OPENSSL_cleanse(m->cluster_key, sizeof m->cluster_key);
    gw_free(m);
    return rv;
}

void meta_close(struct meta *m)
{
    if (m == NULL) {
        return;
    }
    mdb_env_sync(m->env, 1);
    mdb_env_close(m->env);
    OPENSSL_cleanse(m->cluster_key, sizeof m->cluster_key);
    gw_free(m);
}

int meta_applied_index(struct meta *m, uint64_t *out)
{
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__applied_get(m, txn, out);
    mdb_txn_abort(txn);
    return rv;
}
