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
 * Deleting absent tags is GW_OK (DeleteObjectTagging is idempotent). */
#include <string.h>

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

int meta__tag_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_TAGS_PUT:
        return apply_put(m, txn, c, result);
    case META_CMD_TAGS_DELETE:
        return apply_delete(m, txn, c, result);
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

int meta_tags_get(struct meta *m, struct gw_str bucket, struct gw_str key, struct gw_str object_id,
                  struct gw_buf *out)
{
    struct gw_buf lkey = GW_BUF_INIT;
    MDB_txn *txn = NULL;
    struct tag_rec rec;
    int rv;

    if (bucket.len > META_NAME_MAX) {
        return GW_ERR_NO_SUCH_TAG_SET;
    }
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    meta__key_make(&lkey, bucket, key);
    rv = tag_read(m, txn, gw_buf_str(&lkey), key, &rec);
    if (rv == 0 && !gw_str_eq(rec.object_id, object_id)) {
        rv = GW_ERR_NOT_FOUND; /* stale: the object was replaced */
    }
    if (rv == 0) {
        gw_buf_append_str(out, rec.tags);
    } else if (rv == GW_ERR_NOT_FOUND || rv == GW_ERR_EXISTS) {
        rv = GW_ERR_NO_SUCH_TAG_SET;
    }
    mdb_txn_abort(txn);
    gw_buf_free(&lkey);
    return rv;
}
