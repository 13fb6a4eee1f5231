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
 * configuration or files.
 *
 * What apply does when a handler fails (issue 7: one bad DeleteBucket must
 * not stop every replica, forever, at every replay):
 *
 *   outcome of the handler             apply does                  node
 *   ---------------------------------  --------------------------  -------------
 *   GW_OK, or a business result        keep / drop the nested txn, serves
 *   (NO_SUCH_BUCKET, NO_SUCH_UPLOAD,   record the index, return
 *   CONDITIONAL_CONFLICT, ...)         the result as today
 *   a deterministic failure: any       drop the nested txn, record serves
 *   other code (INVALID, INTERNAL,     the index, *result =
 *   NOT_FOUND, EXISTS, a bad LMDB      INTERNAL (500 to the client
 *   argument ...)                      that proposed it), log it,
 *                                      count it per command type
 *   an environmental failure: IO,      write nothing, return it    stops: Raft
 *   NO_SPACE (disk or LMDB map full),  (the Raft wrapper must not  wrapper
 *   NOMEM, CORRUPT (the store itself), skip an entry the other     aborts
 *   TOO_NEW (binary too old)           replicas applied)
 *
 * A deterministic failure is one that every replica meets alike, because
 * it depends only on the command and the replicated state: skipping it the
 * same way everywhere keeps the replicas equal.  An environmental failure
 * belongs to this node's disk or memory; the others applied the entry, so
 * this node stops with a message that says what to fix, and since a node
 * that stopped uncleanly rebuilds its store from the Raft log, the restart
 * after the fix applies the entry again.  The log names the entry index and
 * the command in both cases, during replay too. */
#include <stdatomic.h>
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
    case META_CMD_MEMBER_REGISTER:
    case META_CMD_CLUSTER_FINALIZE:
        return meta__member_apply(m, txn, c, result);
    case META_CMD_NOOP:
        *result = GW_OK;
        return GW_OK;
    default:
        return GW_ERR_TOO_NEW; /* decode only accepts known types */
    }
}

/* Whether @rv from a handler belongs to this node rather than to the command. */
static bool is_environmental(int rv)
{
    return rv == GW_ERR_IO || rv == GW_ERR_NO_SPACE || rv == GW_ERR_NOMEM ||
           rv == GW_ERR_CORRUPT || rv == GW_ERR_TOO_NEW;
}

/* What the operator can do about an environmental failure. */
static const char *stop_hint(int rv)
{
    switch (rv) {
    case GW_ERR_NO_SPACE:
        return "the metadata store is full: free space on the data_dir filesystem or raise "
               "node.meta_map_size, then restart (the entry is applied again)";
    case GW_ERR_CORRUPT:
        return "the metadata store is damaged: stop the node, remove <data_dir>/meta and "
               "restart (it is rebuilt from the Raft log and snapshot)";
    case GW_ERR_TOO_NEW:
        return "a newer version proposed this command: upgrade this node, then restart";
    case GW_ERR_NOMEM:
        return "out of memory: give the process more memory, then restart";
    default:
        return "I/O error on the metadata store: check the disk of data_dir, then restart "
               "(the entry is applied again)";
    }
}

static void log_stop(uint64_t index, uint16_t type, int rv)
{
    GW_LOG(GW_LOG_ERROR, "meta", "msg=\"apply stops this node\" index=%llu command=%s err=%s "
           "todo=\"%s\"", (unsigned long long)index, meta_cmd_type_name(type), gw_err_name(rv),
           stop_hint(rv));
}

/* A deterministic failure: every replica drops the command alike and goes on. */
static void note_failure(struct meta *m, uint64_t index, uint16_t type, int rv)
{
    GW_LOG(GW_LOG_ERROR, "meta", "msg=\"apply failed; entry skipped on every replica, client "
           "gets InternalError\" index=%llu command=%s err=%s", (unsigned long long)index,
           meta_cmd_type_name(type), gw_err_name(rv));
    atomic_fetch_add_explicit(&m->apply_failures[type <= META_CMD__MAX ? type : 0], 1,
                              memory_order_relaxed);
}

/* Run the handler in a child transaction, kept only when the outcome is GW_OK.
 * A deterministic failure becomes the result GW_ERR_INTERNAL (see the table
 * in the file header); only an environmental one is returned. */
static int execute(struct meta *m, MDB_txn *txn, uint64_t index, const struct meta_cmd *c,
                   int *result)
{
    MDB_txn *child = NULL;
    int rv;

    rv = meta__err_from_mdb(mdb_txn_begin(m->env, txn, 0, &child));
    if (rv != 0) {
        return rv;
    }
    *result = GW_OK;
    rv = dispatch(m, child, c, result);
    if (rv == 0 && *result == GW_OK && m->fault != NULL) {
        rv = m->fault(m->fault_arg, c); /* tests: fail after the handler wrote */
    }
    if (rv == 0 && *result == GW_OK) {
        rv = meta__txn_commit(child);
    } else {
        mdb_txn_abort(child);
    }
    if (rv == 0 || is_environmental(rv)) {
        return rv;
    }
    note_failure(m, index, c->type, rv);
    *result = GW_ERR_INTERNAL;
    return GW_OK;
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
    rv = execute(m, txn, index, &c, result);
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

/* The type field of an encoded command, for logs (0 when too short). */
static uint16_t peek_type(const void *cmd, size_t len)
{
    const unsigned char *p = cmd;

    return len >= 2 ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

/* Everything of meta_apply but the log line of a stop. */
static int apply_entry(struct meta *m, uint64_t index, const void *cmd, size_t len, int *result)
{
    MDB_txn *txn = NULL;
    uint64_t applied = 0;
    int rv;

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
        return rv;
    }
    return meta__txn_commit(txn);
}

int meta_apply(struct meta *m, uint64_t index, const void *cmd, size_t len, int *result)
{
    int rv;

    *result = GW_OK;
    rv = apply_entry(m, index, cmd, len, result);
    if (rv != 0) {
        log_stop(index, peek_type(cmd, len), rv);
        *result = GW_OK;
    }
    return rv;
}

uint64_t meta_apply_failures(struct meta *m, uint16_t type)
{
    if (type > META_CMD__MAX) {
        return 0;
    }
    return atomic_load_explicit(&m->apply_failures[type], memory_order_relaxed);
}
