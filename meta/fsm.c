/* meta_apply: the deterministic state machine.
 *
 * One write transaction per log entry:
 *   1. index guard: an entry at or below the recorded last index was applied
 *      before (a replay after restart) and is skipped without side effects;
 *   2. decode; a command from a newer binary stops this replica (TOO_NEW), a
 *      malformed one is rejected with result CORRUPT on every replica alike;
 *   3. dedup: a request id seen within META_DEDUP_WINDOW indexes returns its
 *      original result without running again (a client retry after a lost
 *      reply or a leader change);
 *   4. run the handler in a nested transaction, dropped if the outcome is a
 *      business error, so a refused command changes nothing;
 *   5. record the dedup entry, prune entries older than the window (by index,
 *      never by time), record the index, commit.
 * Apply reads nothing but the command and the store: no clock, randomness,
 * configuration or files. */
#include <string.h>

#include "unigw/err.h"
#include "unigw/log.h"

#include "env.h"
#include "fsm.h"

static void be64_put(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)v;
        v >>= 8;
    }
}

static uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static bool req_id_is_set(const struct meta_cmd_hdr *h)
{
    static const uint8_t zero[META_REQ_ID_LEN];

    return memcmp(h->req_id, zero, META_REQ_ID_LEN) != 0;
}

static struct gw_str req_id_str(const struct meta_cmd_hdr *h)
{
    return gw_str_make((const char *)h->req_id, META_REQ_ID_LEN);
}

/* Find the stored result of request @h->req_id: GW_OK with *@found. */
static int dedup_find(struct meta *m, MDB_txn *txn, const struct meta_cmd_hdr *h, bool *found,
                      int *result)
{
    struct gw_reader r;
    struct gw_str v = GW_STR_NULL;
    uint64_t idx = 0;
    uint32_t res = 0;
    int rv;

    *found = false;
    if (!req_id_is_set(h)) {
        return GW_OK;
    }
    rv = meta__get(m, txn, META_DB_DEDUP, req_id_str(h), &v);
    if (rv == GW_ERR_NOT_FOUND) {
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    r = gw_reader_make(v.p, v.len);
    if (!gw_reader_u64(&r, &idx) || !gw_reader_u32(&r, &res) || r.len != 0) {
        return GW_ERR_CORRUPT;
    }
    *found = true;
    *result = (int)res;
    return GW_OK;
}

static int dedup_put(struct meta *m, MDB_txn *txn, const struct meta_cmd_hdr *h, uint64_t index,
                     int result)
{
    struct gw_buf v = GW_BUF_INIT;
    unsigned char k[8];
    int rv;

    gw_buf_put_u64(&v, index);
    gw_buf_put_u32(&v, (uint32_t)result);
    rv = meta__put(m, txn, META_DB_DEDUP, req_id_str(h), gw_buf_str(&v));
    gw_buf_free(&v);
    if (rv != 0) {
        return rv;
    }
    be64_put(k, index);
    return meta__put(m, txn, META_DB_DEDUP_IDX, gw_str_make((const char *)k, 8), req_id_str(h));
}

/* Drop dedup entries recorded more than META_DEDUP_WINDOW indexes before @index. */
static int dedup_prune(struct meta *m, MDB_txn *txn, uint64_t index)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rv;

    if (index <= META_DEDUP_WINDOW) {
        return GW_OK;
    }
    rv = mdb_cursor_open(txn, m->dbi[META_DB_DEDUP_IDX], &cur);
    if (rv != 0) {
        return meta__err_from_mdb(rv);
    }
    while ((rv = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size != 8 || be64_get(k.mv_data) >= index - META_DEDUP_WINDOW) {
            break;
        }
        rv = mdb_del(txn, m->dbi[META_DB_DEDUP], &v, NULL);
        if (rv != 0 && rv != MDB_NOTFOUND) {
            break;
        }
        rv = mdb_cursor_del(cur, 0);
        if (rv != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rv == MDB_NOTFOUND ? GW_OK : meta__err_from_mdb(rv);
}

static int dispatch(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_USER_CREATE:
    case META_CMD_USER_SET_DISABLED:
    case META_CMD_USER_DELETE:
        return meta__user_apply(m, txn, c, result);
    case META_CMD_KEY_CREATE:
    case META_CMD_KEY_DELETE:
        return meta__key_apply(m, txn, c, result);
    case META_CMD_BUCKET_CREATE:
    case META_CMD_BUCKET_DELETE:
    case META_CMD_BUCKET_SET_OWNER:
        return meta__bucket_apply(m, txn, c, result);
    case META_CMD_POLICY_PUT:
    case META_CMD_POLICY_DELETE:
        return meta__policy_apply(m, txn, c, result);
    case META_CMD_TAGS_PUT:
    case META_CMD_TAGS_DELETE:
    case META_CMD_TAGS_DROP:
        return meta__tag_apply(m, txn, c, result);
    case META_CMD_UPLOAD_CREATE:
    case META_CMD_PART_PUT:
    case META_CMD_UPLOAD_CLAIM:
    case META_CMD_UPLOAD_FINISH:
    case META_CMD_UPLOAD_ABORT:
        return meta__mpu_apply(m, txn, c, result);
    case META_CMD_BUCKET_TAGS_PUT:
    case META_CMD_BUCKET_TAGS_DELETE:
        return meta__bucket_tag_apply(m, txn, c, result);
    case META_CMD_NOOP:
        *result = GW_OK;
        return GW_OK;
    default:
        return GW_ERR_TOO_NEW; /* decode only accepts known types */
    }
}

/* Run the handler in a child transaction, kept only when the outcome is GW_OK. */
static int execute(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    MDB_txn *child = NULL;
    int rv;

    rv = meta__err_from_mdb(mdb_txn_begin(m->env, txn, 0, &child));
    if (rv != 0) {
        return rv;
    }
    *result = GW_OK;
    rv = dispatch(m, child, c, result);
    if (rv != 0 || *result != GW_OK) {
        mdb_txn_abort(child);
        return rv;
    }
    return meta__txn_commit(child);
}

/* Steps 2-4 for an entry that was not applied yet. */
static int apply_new(struct meta *m, MDB_txn *txn, uint64_t index, const void *cmd, size_t len,
                     int *result)
{
    struct meta_cmd c;
    bool found = false;
    int rv;

    rv = meta_cmd_decode(cmd, len, &c);
    if (rv == GW_ERR_TOO_NEW) {
        GW_LOG(GW_LOG_ERROR, "meta", "entry %llu: command from a newer version",
               (unsigned long long)index);
        return rv;
    }
    if (rv != 0) {
        *result = GW_ERR_CORRUPT;
        return GW_OK;
    }
    rv = dedup_find(m, txn, &c.hdr, &found, result);
    if (rv != 0 || found) {
        return rv;
    }
    rv = execute(m, txn, &c, result);
    if (rv == 0 && req_id_is_set(&c.hdr)) {
        rv = dedup_put(m, txn, &c.hdr, index, *result);
    }
    return rv;
}

/* An entry at or below the last index: report its recorded result if any. */
static int replayed_result(struct meta *m, MDB_txn *txn, const void *cmd, size_t len,
                           int *result)
{
    struct meta_cmd c;
    bool found = false;

    *result = GW_OK;
    if (meta_cmd_decode(cmd, len, &c) != 0) {
        return GW_OK;
    }
    return dedup_find(m, txn, &c.hdr, &found, result);
}

int meta_apply(struct meta *m, uint64_t index, const void *cmd, size_t len, int *result)
{
    MDB_txn *txn = NULL;
    uint64_t applied = 0;
    int rv;

    *result = GW_OK;
    rv = meta__txn_rw(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__applied_get(m, txn, &applied);
    if (rv == 0 && index <= applied) {
        rv = replayed_result(m, txn, cmd, len, result);
        mdb_txn_abort(txn);
        return rv;
    }
    if (rv == 0) {
        rv = apply_new(m, txn, index, cmd, len, result);
    }
    if (rv == 0) {
        rv = dedup_prune(m, txn, index);
    }
    if (rv == 0) {
        rv = meta__applied_put(m, txn, index);
    }
    if (rv != 0) {
        mdb_txn_abort(txn);
        *result = GW_OK;
        return rv;
    }
    return meta__txn_commit(txn);
}
