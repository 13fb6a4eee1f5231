/* Buckets: apply of bucket_create / bucket_delete / bucket_set_owner, queries.
 *
 * Record (db "buckets", key = bucket name):
 *   u8 record version (1) | bytes owner | u64 created_ms | bytes region
 * Outcomes: INVALID_ARGUMENT (empty name, or an owner that is not a user),
 * BUCKET_EXISTS / BUCKET_OWNED_BY_YOU (create of an existing bucket, by
 * another owner / by the same one), NO_SUCH_BUCKET (delete, set_owner).
 * Whether a bucket still holds objects is a question for the shared mount:
 * the proposer checks it before proposing a delete.  Deleting a bucket drops
 * its policy, its tag sets (its own and its objects') and its multipart
 * uploads with their parts in the same transaction, so a bucket created
 * again under the name starts empty (the cleanup task then removes staged
 * files that no upload names any more). */
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define BUCKET_REC_VERSION 1

static void bucket_rec_encode(struct gw_buf *b, const struct meta_bucket *bk)
{
    gw_buf_put_u8(b, BUCKET_REC_VERSION);
    gw_buf_put_bytes(b, gw_str_make(bk->owner, bk->owner_len));
    gw_buf_put_u64(b, bk->created_ms);
    gw_buf_put_bytes(b, gw_str_make(bk->region, bk->region_len));
}

static int bucket_rec_decode(struct gw_str name, struct gw_str v, struct meta_bucket *out)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    struct gw_str owner, region;
    uint8_t ver = 0;

    memset(out, 0, sizeof *out);
    if (!gw_reader_u8(&r, &ver) || !gw_reader_bytes(&r, &owner) ||
        !gw_reader_u64(&r, &out->created_ms) || !gw_reader_bytes(&r, &region) ||
        ver != BUCKET_REC_VERSION || r.len != 0) {
        return GW_ERR_CORRUPT;
    }
    if (!meta__str_copy(out->name, sizeof out->name, &out->name_len, name) ||
        !meta__str_copy(out->owner, sizeof out->owner, &out->owner_len, owner) ||
        !meta__str_copy(out->region, sizeof out->region, &out->region_len, region)) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

/* Read bucket @name in @txn: GW_OK, GW_ERR_NO_SUCH_BUCKET or a fault. */
static int bucket_read(struct meta *m, MDB_txn *txn, struct gw_str name, struct meta_bucket *out)
{
    struct gw_str v = GW_STR_NULL;
    int rv;

    rv = meta__get(m, txn, META_DB_BUCKETS, name, &v);
    if (rv == GW_ERR_NOT_FOUND) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    if (rv != 0) {
        return rv;
    }
    return bucket_rec_decode(name, v, out);
}

static int bucket_write(struct meta *m, MDB_txn *txn, const struct meta_bucket *bk)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    bucket_rec_encode(&b, bk);
    rv = meta__put(m, txn, META_DB_BUCKETS, gw_str_make(bk->name, bk->name_len), gw_buf_str(&b));
    gw_buf_free(&b);
    return rv;
}

/* Whether @owner names an existing user: GW_OK with *@ok, or a fault. */
static int owner_exists(struct meta *m, MDB_txn *txn, struct gw_str owner, bool *ok)
{
    struct meta_user u;
    int rv;

    *ok = false;
    if (!meta__name_ok(owner)) {
        return GW_OK;
    }
    rv = meta__user_read(m, txn, owner, &u);
    *ok = rv == 0;
    return rv == GW_ERR_NOT_FOUND ? GW_OK : rv;
}

static int apply_create(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct meta_bucket bk;
    bool ok = false;
    int rv;

    rv = owner_exists(m, txn, c->u.bucket_create.owner, &ok);
    if (rv != 0 || !ok || !meta__name_ok(c->u.bucket_create.name)) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return rv;
    }
    rv = bucket_read(m, txn, c->u.bucket_create.name, &bk);
    if (rv == 0) {
        bool mine = gw_str_eq(gw_str_make(bk.owner, bk.owner_len), c->u.bucket_create.owner);
        *result = mine ? GW_ERR_BUCKET_OWNED_BY_YOU : GW_ERR_BUCKET_EXISTS;
        return GW_OK;
    }
    if (rv != GW_ERR_NO_SUCH_BUCKET) {
        return rv;
    }
    memset(&bk, 0, sizeof bk);
    meta__str_copy(bk.name, sizeof bk.name, &bk.name_len, c->u.bucket_create.name);
    meta__str_copy(bk.owner, sizeof bk.owner, &bk.owner_len, c->u.bucket_create.owner);
    meta__str_copy(bk.region, sizeof bk.region, &bk.region_len, c->u.bucket_create.region);
    bk.created_ms = c->hdr.ts_ms;
    return bucket_write(m, txn, &bk);
}

static int apply_delete(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_str name = c->u.bucket_delete.name;
    int rv;

    rv = meta__del(m, txn, META_DB_BUCKETS, name);
    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_NO_SUCH_BUCKET;
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    rv = meta__del(m, txn, META_DB_POLICIES, name);
    if (rv != 0 && rv != GW_ERR_NOT_FOUND) {
        return rv;
    }
    rv = meta__tag_delete_bucket(m, txn, name);
    if (rv == 0) {
        rv = meta__mpu_delete_bucket(m, txn, name);
    }
    return rv;
}

static int apply_set_owner(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct meta_bucket bk;
    bool ok = false;
    int rv;

    rv = bucket_read(m, txn, c->u.bucket_set_owner.name, &bk);
    if (rv == GW_ERR_NO_SUCH_BUCKET) {
        *result = rv;
        return GW_OK;
    }
    if (rv == 0) {
        rv = owner_exists(m, txn, c->u.bucket_set_owner.owner, &ok);
    }
    if (rv != 0 || !ok) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return rv;
    }
    meta__str_copy(bk.owner, sizeof bk.owner, &bk.owner_len, c->u.bucket_set_owner.owner);
    return bucket_write(m, txn, &bk);
}

int meta__bucket_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_BUCKET_CREATE:
        return apply_create(m, txn, c, result);
    case META_CMD_BUCKET_DELETE:
        return apply_delete(m, txn, c, result);
    case META_CMD_BUCKET_SET_OWNER:
        return apply_set_owner(m, txn, c, result);
    default:
        return GW_ERR_INTERNAL;
    }
}

/* Scan state shared by meta_bucket_list and meta__bucket_owned_by. */
struct list_ctx {
    struct gw_str owner; /* empty: every owner */
    struct meta_bucket *arr;
    size_t n, max;
};

static int list_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct list_ctx *ctx = arg;
    struct meta_bucket bk;
    int rv;

    if (ctx->n == ctx->max) {
        return META_SCAN_STOP;
    }
    rv = bucket_rec_decode(key, val, &bk);
    if (rv != 0) {
        return rv;
    }
    if (ctx->owner.len > 0 && !gw_str_eq(ctx->owner, gw_str_make(bk.owner, bk.owner_len))) {
        return GW_OK;
    }
    if (ctx->arr != NULL) {
        ctx->arr[ctx->n] = bk;
    }
    ctx->n++;
    return GW_OK;
}

int meta__bucket_owned_by(struct meta *m, MDB_txn *txn, struct gw_str user, bool *has)
{
    struct list_ctx ctx = {user, NULL, 0, 1};
    int rv;

    rv = meta__scan(m, txn, META_DB_BUCKETS, GW_STR_NULL, GW_STR_NULL, list_cb, &ctx);
    *has = ctx.n > 0;
    return rv;
}

int meta_bucket_get(struct meta *m, struct gw_str name, struct meta_bucket *out)
{
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = bucket_read(m, txn, name, out);
    mdb_txn_abort(txn);
    return rv;
}

int meta_bucket_list(struct meta *m, struct gw_str owner, struct gw_str after, size_t max,
                     struct meta_bucket **out, size_t *n_out)
{
    struct list_ctx ctx = {owner, NULL, 0, max};
    MDB_txn *txn = NULL;
    int rv;

    *out = NULL;
    *n_out = 0;
    if (max == 0) {
        return GW_OK;
    }
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    ctx.arr = gw_calloc(max, sizeof *ctx.arr);
    rv = meta__scan(m, txn, META_DB_BUCKETS, GW_STR_NULL, after, list_cb, &ctx);
    mdb_txn_abort(txn);
    if (rv != 0 || ctx.n == 0) {
        gw_free(ctx.arr);
        return rv;
    }
    *out = ctx.arr;
    *n_out = ctx.n;
    return GW_OK;
}
