/* Object tag sets: apply of tags_put / tags_delete, and the lookup.
 *
 * db "tags": meta__key_make(bucket, key) -> record
 *   u8 record version (1) | bytes object key | bytes object id | bytes tag set
 * Object keys reach 1,024 bytes, so long ones are stored under a hash; the
 * record carries the full key, and a lookup whose full key differs is a miss.
 * The object id ties a tag set to one version of the object: after the object
 * is overwritten (a new id), the old tags read as absent (stale).
 * Outcomes: NO_SUCH_BUCKET, INVALID_ARGUMENT (empty key or object id),
 * CONDITIONAL_CONFLICT (the slot holds another key: a hash collision).
 * Deleting absent tags is GW_OK (DeleteObjectTagging is idempotent).
 * tags_drop removes the record only while it names the object id that went
 * away, and is GW_OK in every case: it is housekeeping after a delete or an
 * overwrite, and must never touch the tags of the object now at the key. */
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define TAG_REC_VERSION 1

struct tag_rec {
    struct gw_str key;
    struct gw_str object_id;
    struct gw_str tags;
};

static int tag_rec_decode(struct gw_str v, struct tag_rec *out)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    uint8_t ver = 0;

    if (!gw_reader_u8(&r, &ver) || !gw_reader_bytes(&r, &out->key) ||
        !gw_reader_bytes(&r, &out->object_id) || !gw_reader_bytes(&r, &out->tags) ||
        ver != TAG_REC_VERSION || r.len != 0) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

/* Read the record of @bucket/@key in @txn: GW_OK, GW_ERR_NOT_FOUND,
 * GW_ERR_EXISTS (the slot belongs to another key) or a fault. */
static int tag_read(struct meta *m, MDB_txn *txn, struct gw_str lkey, struct gw_str key,
                    struct tag_rec *out)
{
    struct gw_str v = GW_STR_NULL;
    int rv;

    rv = meta__get(m, txn, META_DB_TAGS, lkey, &v);
    if (rv == 0) {
        rv = tag_rec_decode(v, out);
    }
    if (rv == 0 && !gw_str_eq(out->key, key)) {
        rv = GW_ERR_EXISTS;
    }
    return rv;
}

static int bucket_check(struct meta *m, MDB_txn *txn, struct gw_str bucket, int *result)
{
    struct gw_str v = GW_STR_NULL;
    int rv = meta__get(m, txn, META_DB_BUCKETS, bucket, &v);

    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_NO_SUCH_BUCKET;
        return GW_OK;
    }
    return rv;
}

static int apply_put(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_buf lkey = GW_BUF_INIT, rec = GW_BUF_INIT;
    struct tag_rec old;
    int rv;

    rv = bucket_check(m, txn, c->u.tags_put.bucket, result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    if (c->u.tags_put.key.len == 0 || c->u.tags_put.object_id.len == 0) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    meta__key_make(&lkey, c->u.tags_put.bucket, c->u.tags_put.key);
    rv = tag_read(m, txn, gw_buf_str(&lkey), c->u.tags_put.key, &old);
    if (rv == GW_ERR_EXISTS) {
        *result = GW_ERR_CONDITIONAL_CONFLICT;
        rv = GW_OK;
    } else if (rv == 0 || rv == GW_ERR_NOT_FOUND) {
        gw_buf_put_u8(&rec, TAG_REC_VERSION);
        gw_buf_put_bytes(&rec, c->u.tags_put.key);
        gw_buf_put_bytes(&rec, c->u.tags_put.object_id);
        gw_buf_put_bytes(&rec, c->u.tags_put.tags);
        rv = meta__put(m, txn, META_DB_TAGS, gw_buf_str(&lkey), gw_buf_str(&rec));
    }
    gw_buf_free(&lkey);
    gw_buf_free(&rec);
    return rv;
}

static int apply_delete(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_buf lkey = GW_BUF_INIT;
    struct tag_rec old;
    int rv;

    rv = bucket_check(m, txn, c->u.tags_delete.bucket, result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    if (c->u.tags_delete.key.len == 0) {
        return GW_OK; /* no object has it; "bucket\0" is the bucket's own tag set */
    }
    meta__key_make(&lkey, c->u.tags_delete.bucket, c->u.tags_delete.key);
    rv = tag_read(m, txn, gw_buf_str(&lkey), c->u.tags_delete.key, &old);
    if (rv == 0) {
        rv = meta__del(m, txn, META_DB_TAGS, gw_buf_str(&lkey));
    } else if (rv == GW_ERR_NOT_FOUND || rv == GW_ERR_EXISTS) {
        rv = GW_OK; /* nothing of this key to delete */
    }
    gw_buf_free(&lkey);
    return rv;
}

static int apply_drop(struct meta *m, MDB_txn *txn, const struct meta_cmd *c)
{
    struct gw_buf lkey = GW_BUF_INIT;
    struct tag_rec old;
    int rv;

    if (!meta__name_ok(c->u.tags_drop.bucket) || c->u.tags_drop.key.len == 0) {
        return GW_OK; /* no such record can exist */
    }
    meta__key_make(&lkey, c->u.tags_drop.bucket, c->u.tags_drop.key);
    rv = tag_read(m, txn, gw_buf_str(&lkey), c->u.tags_drop.key, &old);
    if (rv == 0 && gw_str_eq(old.object_id, c->u.tags_drop.object_id)) {
        rv = meta__del(m, txn, META_DB_TAGS, gw_buf_str(&lkey));
    } else if (rv == 0 || rv == GW_ERR_NOT_FOUND || rv == GW_ERR_EXISTS) {
        rv = GW_OK; /* another object's tags, or none */
    }
    gw_buf_free(&lkey);
    return rv;
}

int meta__tag_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_TAGS_PUT:
        return apply_put(m, txn, c, result);
    case META_CMD_TAGS_DELETE:
        return apply_delete(m, txn, c, result);
    case META_CMD_TAGS_DROP:
        return apply_drop(m, txn, c);
    default:
        return GW_ERR_INTERNAL;
    }
}

int meta__tag_delete_bucket(struct meta *m, MDB_txn *txn, struct gw_str bucket)
{
    struct gw_buf prefix = GW_BUF_INIT;
    int rv;

    gw_buf_append_str(&prefix, bucket);
    gw_buf_append_byte(&prefix, '\0');
    rv = meta__del_prefix(m, txn, META_DB_TAGS, gw_buf_str(&prefix));
    gw_buf_free(&prefix);
    return rv;
}

/* Read the record of @bucket/@key under a read txn and hand it to @fn. */
static int tag_lookup(struct meta *m, struct gw_str bucket, struct gw_str key,
                      int (*fn)(const struct tag_rec *rec, void *arg), void *arg)
{
    struct gw_buf lkey = GW_BUF_INIT;
    MDB_txn *txn = NULL;
    struct tag_rec rec;
    int rv;

    if (!meta__name_ok(bucket) || key.len == 0) {
        return GW_ERR_NO_SUCH_TAG_SET;
    }
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    meta__key_make(&lkey, bucket, key);
    rv = tag_read(m, txn, gw_buf_str(&lkey), key, &rec);
    if (rv == 0) {
        rv = fn(&rec, arg);
    }
    if (rv == GW_ERR_NOT_FOUND || rv == GW_ERR_EXISTS) {
        rv = GW_ERR_NO_SUCH_TAG_SET;
    }
    mdb_txn_abort(txn);
    gw_buf_free(&lkey);
    return rv;
}

struct tags_want {
    struct gw_str object_id;
    struct gw_buf *out;
};

static int copy_tags(const struct tag_rec *rec, void *arg)
{
    struct tags_want *w = arg;

    if (!gw_str_eq(rec->object_id, w->object_id)) {
        return GW_ERR_NOT_FOUND; /* stale: the object was replaced */
    }
    gw_buf_append_str(w->out, rec->tags);
    return GW_OK;
}

int meta_tags_get(struct meta *m, struct gw_str bucket, struct gw_str key, struct gw_str object_id,
                  struct gw_buf *out)
{
    struct tags_want w = {object_id, out};

    return tag_lookup(m, bucket, key, copy_tags, &w);
}

static int copy_object_id(const struct tag_rec *rec, void *arg)
{
    gw_buf_append_str(arg, rec->object_id);
    return GW_OK;
}

int meta_tags_object_id(struct meta *m, struct gw_str bucket, struct gw_str key,
                        struct gw_buf *out)
{
    return tag_lookup(m, bucket, key, copy_object_id, out);
}

struct scan_ctx {
    struct meta_tag_ref *arr;
    size_t n, max;
    struct gw_buf *next;
};

static int scan_cb(void *arg, struct gw_str lkey, struct gw_str val)
{
    struct scan_ctx *ctx = arg;
    struct meta_tag_ref *t;
    struct tag_rec rec;
    ssize_t nul = gw_str_chr(lkey, '\0');

    if (ctx->n == ctx->max) {
        return META_SCAN_STOP;
    }
    gw_buf_reset(ctx->next);
    gw_buf_append_str(ctx->next, lkey);
    /* Bucket tag sets (empty key) and records that do not decode are no
     * object's: the sweep leaves them alone. */
    if (nul <= 0 || tag_rec_decode(val, &rec) != 0 || rec.key.len == 0 ||
        rec.object_id.len == 0 || (size_t)nul > META_NAME_MAX ||
        rec.key.len > META_TAG_KEY_MAX || rec.object_id.len > META_NAME_MAX) {
        return GW_OK;
    }
    t = &ctx->arr[ctx->n++];
    memcpy(t->bucket, lkey.p, (size_t)nul);
    t->bucket[nul] = '\0';
    t->bucket_len = (size_t)nul;
    memcpy(t->key, rec.key.p, rec.key.len);
    t->key[rec.key.len] = '\0';
    t->key_len = rec.key.len;
    memcpy(t->object_id, rec.object_id.p, rec.object_id.len);
    t->object_id[rec.object_id.len] = '\0';
    t->object_id_len = rec.object_id.len;
    return GW_OK;
}

int meta_tags_scan(struct meta *m, struct gw_str after, size_t max, struct meta_tag_ref **out,
                   size_t *n_out, struct gw_buf *next)
{
    struct scan_ctx ctx = {NULL, 0, max, next};
    MDB_txn *txn = NULL;
    int rv;

    *out = NULL;
    *n_out = 0;
    gw_buf_reset(next);
    if (max == 0) {
        return GW_OK;
    }
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    ctx.arr = gw_calloc(max, sizeof *ctx.arr);
    rv = meta__scan(m, txn, META_DB_TAGS, GW_STR_NULL, after, scan_cb, &ctx);
    mdb_txn_abort(txn);
    if (rv == 0 && ctx.n < max) {
        gw_buf_reset(next); /* the db ended before @max records */
    }
    if (rv != 0 || ctx.n == 0) {
        gw_free(ctx.arr);
        ctx.n = 0;
        ctx.arr = NULL;
    }
    *out = ctx.arr;
    *n_out = ctx.n;
    return rv;
}
