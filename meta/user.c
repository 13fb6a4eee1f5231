/* Users: apply of user_create / user_set_disabled / user_delete, and queries.
 *
 * Record (db "users", key = user name):
 *   v1: u8 1 | u8 is_admin | u8 is_disabled | u64 created_ms
 *   v2: u8 2 | u8 is_admin | u8 is_disabled | u64 created_ms | u64 seq
 * created_ms is the proposer's timestamp from the command header.
 *
 * Every user has an immutable id (what AWS calls the unique id, "AIDA..."),
 * so that a policy naming a user does not grant to a later user of the same
 * name.  A v2 record's id is "AIDA" + 16 hex digits of @seq, a counter in the
 * cluster db that apply increments (the same on every replica).  A v1 record,
 * written before ids existed, gets "AIDL" + the first 16 hex digits of
 * SHA-256(name "|" created_ms): stable, and distinct from any v2 id.  New
 * writes of an old user (disable) keep it v1 so its id never changes.
 * Outcomes: INVALID_ARGUMENT (empty name), EXISTS (create), NOT_FOUND,
 * INVALID_REQUEST (delete while the user still owns buckets).  Deleting a user
 * deletes its access keys in the same transaction. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define USER_REC_V1 1
#define USER_REC_V2 2
#define USER_SEQ_KEY GW_STR("user_seq")

static void user_rec_encode(struct gw_buf *b, const struct meta_user *u)
{
    gw_buf_put_u8(b, u->seq != 0 ? USER_REC_V2 : USER_REC_V1);
    gw_buf_put_u8(b, u->is_admin ? 1 : 0);
    gw_buf_put_u8(b, u->is_disabled ? 1 : 0);
    gw_buf_put_u64(b, u->created_ms);
    if (u->seq != 0) {
        gw_buf_put_u64(b, u->seq);
    }
}

/* The id of @u from its seq (v2) or its name and creation time (v1). */
static void user_id_make(struct meta_user *u)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char in[META_NAME_MAX + 32];
    int n;

    if (u->seq != 0) {
        snprintf(u->id, sizeof u->id, "AIDA%016" PRIX64, u->seq);
        return;
    }
    n = snprintf(in, sizeof in, "%.*s|%" PRIu64, (int)u->name_len, u->name, u->created_ms);
    SHA256((const unsigned char *)in, (size_t)n, md);
    memcpy(u->id, "AIDL", 4);
    for (int i = 0; i < 8; i++) {
        snprintf(u->id + 4 + 2 * i, 3, "%02X", md[i]);
    }
}

/* Decode a stored user record of @name into @out. */
static int user_rec_decode(struct gw_str name, struct gw_str v, struct meta_user *out)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    uint8_t ver = 0, adm = 0, dis = 0;

    memset(out, 0, sizeof *out);
    if (!gw_reader_u8(&r, &ver) || !gw_reader_u8(&r, &adm) || !gw_reader_u8(&r, &dis) ||
        !gw_reader_u64(&r, &out->created_ms) || (ver != USER_REC_V1 && ver != USER_REC_V2)) {
        return GW_ERR_CORRUPT;
    }
    if (ver == USER_REC_V2 && (!gw_reader_u64(&r, &out->seq) || out->seq == 0)) {
        return GW_ERR_CORRUPT;
    }
    if (r.len != 0 || !meta__str_copy(out->name, sizeof out->name, &out->name_len, name)) {
        return GW_ERR_CORRUPT;
    }
    out->is_admin = adm != 0;
    out->is_disabled = dis != 0;
    user_id_make(out);
    return GW_OK;
}

int meta__user_read(struct meta *m, MDB_txn *txn, struct gw_str name, struct meta_user *out)
{
    struct gw_str v = GW_STR_NULL;
    int rv;

    rv = meta__get(m, txn, META_DB_USERS, name, &v);
    if (rv != 0) {
        return rv;
    }
    return user_rec_decode(name, v, out);
}

static int user_write(struct meta *m, MDB_txn *txn, const struct meta_user *u)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    user_rec_encode(&b, u);
    rv = meta__put(m, txn, META_DB_USERS, gw_str_make(u->name, u->name_len), gw_buf_str(&b));
    gw_buf_free(&b);
    return rv;
}

/* Read the user a command names, mapping "missing" to a result. */
static int user_need(struct meta *m, MDB_txn *txn, struct gw_str name, struct meta_user *u,
                     int *result)
{
    int rv = meta__user_read(m, txn, name, u);

    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_NOT_FOUND;
        return GW_OK;
    }
    return rv;
}

/* Take the next user sequence number from the cluster db (first: 1). */
static int user_seq_next(struct meta *m, MDB_txn *txn, uint64_t *seq)
{
    struct gw_str v = GW_STR_NULL;
    struct gw_buf b = GW_BUF_INIT;
    struct gw_reader r;
    int rv;

    *seq = 0;
    rv = meta__get(m, txn, META_DB_CLUSTER, USER_SEQ_KEY, &v);
    if (rv != 0 && rv != GW_ERR_NOT_FOUND) {
        return rv;
    }
    if (rv == 0) {
        r = gw_reader_make(v.p, v.len);
        if (!gw_reader_u64(&r, seq) || r.len != 0) {
            return GW_ERR_CORRUPT;
        }
    }
    (*seq)++;
    gw_buf_put_u64(&b, *seq);
    rv = meta__put(m, txn, META_DB_CLUSTER, USER_SEQ_KEY, gw_buf_str(&b));
    gw_buf_free(&b);
    return rv;
}

static int apply_create(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct meta_user u;
    struct gw_str name = c->u.user_create.name;
    int rv;

    if (!meta__name_ok(name)) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    rv = meta__user_read(m, txn, name, &u);
    if (rv == 0) {
        *result = GW_ERR_EXISTS;
        return GW_OK;
    }
    if (rv != GW_ERR_NOT_FOUND) {
        return rv;
    }
    memset(&u, 0, sizeof u);
    meta__str_copy(u.name, sizeof u.name, &u.name_len, name);
    u.is_admin = c->u.user_create.is_admin;
    u.created_ms = c->hdr.ts_ms;
    rv = user_seq_next(m, txn, &u.seq);
    if (rv != 0) {
        return rv;
    }
    return user_write(m, txn, &u);
}

static int apply_set_disabled(struct meta *m, MDB_txn *txn, const struct meta_cmd *c,
                              int *result)
{
    struct meta_user u;
    int rv;

    rv = user_need(m, txn, c->u.user_set_disabled.name, &u, result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    u.is_disabled = c->u.user_set_disabled.is_disabled;
    return user_write(m, txn, &u);
}

static int apply_delete(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_str name = c->u.user_delete.name;
    struct meta_user u;
    bool has = false;
    int rv;

    rv = user_need(m, txn, name, &u, result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    rv = meta__bucket_owned_by(m, txn, name, &has);
    if (rv != 0 || has) {
        *result = has ? GW_ERR_INVALID_REQUEST : GW_OK;
        return rv;
    }
    rv = meta__key_delete_user(m, txn, name);
    if (rv != 0) {
        return rv;
    }
    return meta__del(m, txn, META_DB_USERS, name);
}

int meta__user_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_USER_CREATE:
        return apply_create(m, txn, c, result);
    case META_CMD_USER_SET_DISABLED:
        return apply_set_disabled(m, txn, c, result);
    case META_CMD_USER_DELETE:
        return apply_delete(m, txn, c, result);
    default:
        return GW_ERR_INTERNAL;
    }
}

int meta_user_get(struct meta *m, struct gw_str name, struct meta_user *out)
{
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__user_read(m, txn, name, out);
    mdb_txn_abort(txn);
    return rv;
}

struct by_id_ctx {
    struct gw_str id;
    struct meta_user *out;
    bool found;
};

static int by_id_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct by_id_ctx *ctx = arg;
    int rv = user_rec_decode(key, val, ctx->out);

    if (rv != 0) {
        return rv;
    }
    if (gw_str_eq_c(ctx->id, ctx->out->id)) {
        ctx->found = true;
        return META_SCAN_STOP;
    }
    return GW_OK;
}

/* A scan: the users db is small, and this serves only GetBucketPolicy and
 * the admin API, never a request's authorization. */
int meta_user_get_by_id(struct meta *m, struct gw_str id, struct meta_user *out)
{
    struct by_id_ctx ctx = {id, out, false};
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__scan(m, txn, META_DB_USERS, GW_STR_NULL, GW_STR_NULL, by_id_cb, &ctx);
    mdb_txn_abort(txn);
    if (rv == 0 && !ctx.found) {
        memset(out, 0, sizeof *out);
        rv = GW_ERR_NOT_FOUND;
    }
    return rv;
}

struct list_ctx {
    struct meta_user *arr;
    size_t n, max;
};

static int list_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct list_ctx *ctx = arg;
    int rv;

    if (ctx->n == ctx->max) {
        return META_SCAN_STOP;
    }
    rv = user_rec_decode(key, val, &ctx->arr[ctx->n]);
    if (rv == 0) {
        ctx->n++;
    }
    return rv;
}

int meta_user_list(struct meta *m, struct gw_str after, size_t max, struct meta_user **out,
                   size_t *n_out)
{
    struct list_ctx ctx = {NULL, 0, max};
    MDB_txn *txn = NULL;
    int rv;

    *out = NULL;
    *n_out = 0;
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    ctx.arr = max > 0 ? gw_calloc(max, sizeof *ctx.arr) : NULL;
    rv = meta__scan(m, txn, META_DB_USERS, GW_STR_NULL, after, list_cb, &ctx);
    mdb_txn_abort(txn);
    if (rv != 0 || ctx.n == 0) {
        gw_free(ctx.arr);
        return rv;
    }
    *out = ctx.arr;
    *n_out = ctx.n;
    return GW_OK;
}
