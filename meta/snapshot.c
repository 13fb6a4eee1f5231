/* Snapshots: a logical dump of the whole store, and its restore.
 *
 *   "UNIGWSNP" | u32 format (1) | u64 applied index | u64 n_records
 *   n_records x { u8 db | u32 key_len | u32 val_len | key | val }
 *   SHA-256 of everything before it (32 bytes)
 *
 * meta_snapshot walks every database under one read transaction, so the dump
 * is exact at the applied index it records.  The dump is independent of the
 * LMDB page format and of this node's store format marker (which is not
 * dumped).  meta_restore verifies the checksum and every record before it
 * touches the store, then empties every database and loads the records in one
 * write transaction: readers see the old store or the new one, and a bad
 * snapshot leaves the store unchanged.  Raft decides when to restore (e.g.
 * skips a snapshot older than meta_applied_index); meta does not. */
#include <string.h>

#include <openssl/sha.h>

#include "unigw/err.h"

#include "env.h"

#define SNAP_MAGIC "UNIGWSNP"
#define SNAP_MAGIC_LEN 8
#define SNAP_FORMAT 1u
#define SNAP_HDR_LEN (SNAP_MAGIC_LEN + 4 + 8 + 8)

static bool is_format_key(enum meta_db db, MDB_val k)
{
    return db == META_DB_CLUSTER && k.mv_size == META_CLUSTER_FORMAT.len &&
           memcmp(k.mv_data, META_CLUSTER_FORMAT.p, k.mv_size) == 0;
}

/* Append the records of @db to @out, counting them in *@n. */
static int dump_db(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_buf *out,
                   uint64_t *n)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rv;

    rv = mdb_cursor_open(txn, m->dbi[db], &cur);
    if (rv != 0) {
        return meta__err_from_mdb(rv);
    }
    for (rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rv == 0;
         rv = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (is_format_key(db, k)) {
            continue;
        }
        gw_buf_put_u8(out, (uint8_t)db);
        gw_buf_put_u32(out, (uint32_t)k.mv_size);
        gw_buf_put_u32(out, (uint32_t)v.mv_size);
        gw_buf_append(out, k.mv_data, k.mv_size);
        gw_buf_append(out, v.mv_data, v.mv_size);
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? GW_OK : meta__err_from_mdb(rv);
}

static void patch_le64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (char)(v >> (8 * i));
    }
}

int meta_snapshot(struct meta *m, struct gw_buf *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    MDB_txn *txn = NULL;
    size_t start = out->len;
    uint64_t applied = 0, n = 0;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__applied_get(m, txn, &applied);
    gw_buf_append(out, SNAP_MAGIC, SNAP_MAGIC_LEN);
    gw_buf_put_u32(out, SNAP_FORMAT);
    gw_buf_put_u64(out, applied);
    gw_buf_put_u64(out, 0); /* n_records, patched below */
    for (int db = 0; rv == 0 && db < META_DB__COUNT; db++) {
        rv = dump_db(m, txn, (enum meta_db)db, out, &n);
    }
    mdb_txn_abort(txn);
    if (rv != 0) {
        out->len = start;
        return rv;
    }
    patch_le64(out->data + start + SNAP_MAGIC_LEN + 4 + 8, n);
    SHA256((const unsigned char *)out->data + start, out->len - start, md);
    gw_buf_append(out, md, sizeof md);
    return GW_OK;
}

/* Check magic, format and checksum; on GW_OK @r is positioned on the first
 * record and bounded to exclude the trailer. */
static int snap_open(const void *p, size_t len, struct gw_reader *r, uint64_t *applied,
                     uint64_t *n)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    uint32_t format = 0;

    if (len < SNAP_HDR_LEN + SHA256_DIGEST_LENGTH || memcmp(p, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0) {
        return GW_ERR_CORRUPT;
    }
    *r = gw_reader_make((const char *)p + SNAP_MAGIC_LEN, len - SNAP_MAGIC_LEN - sizeof md);
    if (!gw_reader_u32(r, &format) || format == 0) {
        return GW_ERR_CORRUPT;
    }
    if (format > SNAP_FORMAT) {
        return GW_ERR_TOO_NEW;
    }
    SHA256(p, len - sizeof md, md);
    if (memcmp(md, (const char *)p + len - sizeof md, sizeof md) != 0) {
        return GW_ERR_CORRUPT;
    }
    if (!gw_reader_u64(r, applied) || !gw_reader_u64(r, n)) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

int meta_snapshot_index(const void *p, size_t len, uint64_t *index)
{
    struct gw_reader r;
    uint64_t n = 0;

    return snap_open(p, len, &r, index, &n);
}

struct snap_rec {
    uint8_t db;
    struct gw_str key, val;
};

static bool rec_next(struct gw_reader *r, struct snap_rec *rec)
{
    uint32_t klen = 0, vlen = 0;

    if (!gw_reader_u8(r, &rec->db) || !gw_reader_u32(r, &klen) || !gw_reader_u32(r, &vlen)) {
        return false;
    }
    if (rec->db >= META_DB__COUNT || klen == 0 || klen > META_LMDB_KEY_MAX || r->len < klen ||
        r->len - klen < vlen) {
        return false;
    }
    rec->key = gw_str_make((const char *)r->p, klen);
    rec->val = gw_str_make((const char *)r->p + klen, vlen);
    r->p += (size_t)klen + vlen;
    r->len -= (size_t)klen + vlen;
    return true;
}

/* Walk every record of @r (a copy); with @txn NULL only validate. */
static int load_records(struct meta *m, MDB_txn *txn, struct gw_reader r, uint64_t n)
{
    struct snap_rec rec;
    int rv;

    for (uint64_t i = 0; i < n; i++) {
        if (!rec_next(&r, &rec)) {
            return GW_ERR_CORRUPT;
        }
        if (txn != NULL) {
            rv = meta__put(m, txn, (enum meta_db)rec.db, rec.key, rec.val);
            if (rv != 0) {
                return rv;
            }
        }
    }
    return r.len == 0 ? GW_OK : GW_ERR_CORRUPT;
}

/* Empty every db, then write our format marker back. */
static int clear_all(struct meta *m, MDB_txn *txn)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv = GW_OK;

    for (int db = 0; rv == 0 && db < META_DB__COUNT; db++) {
        rv = meta__err_from_mdb(mdb_drop(txn, m->dbi[db], 0));
    }
    if (rv == 0) {
        gw_buf_put_u32(&b, META_STORE_FORMAT);
        rv = meta__put(m, txn, META_DB_CLUSTER, META_CLUSTER_FORMAT, gw_buf_str(&b));
        gw_buf_free(&b);
    }
    return rv;
}

int meta_restore(struct meta *m, const void *p, size_t len)
{
    struct gw_reader r;
    MDB_txn *txn = NULL;
    uint64_t applied = 0, n = 0;
    int rv;

    rv = snap_open(p, len, &r, &applied, &n);
    if (rv == 0) {
        rv = load_records(m, NULL, r, n);
    }
    if (rv != 0) {
        return rv;
    }
    rv = meta__txn_rw(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = clear_all(m, txn);
    if (rv == 0) {
        rv = load_records(m, txn, r, n);
    }
    if (rv == 0) {
        rv = meta__applied_put(m, txn, applied);
    }
    if (rv != 0) {
        mdb_txn_abort(txn);
        return rv;
    }
    return meta__txn_commit(txn);
}
