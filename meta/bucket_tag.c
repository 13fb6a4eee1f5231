/* Bucket tag sets: apply of bucket_tags_put / bucket_tags_delete, and the
 * lookup.
 *
 * They live in db "tags" under "bucket\0" (meta__key_make of the bucket and
 * an empty name), a key no object can have since object keys are never
 * empty; so deleting a bucket drops them with its object tags.  The record
 * has the object tag record's layout with an empty key and object id:
 *   u8 record version (1) | bytes "" | bytes "" | bytes tag set
 * Outcomes: NO_SUCH_BUCKET (no bucket record).  Deleting absent tags is GW_OK. */
#include <string.h>

#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define BTAG_REC_VERSION 1

static void btag_lkey(struct gw_buf *b, struct gw_str bucket)
{
    gw_buf_append_str(b, bucket);
    gw_buf_append_byte(b, '\0');
}

static int btag_apply_put(struct meta *m, MDB_txn *txn, const struct meta_cmd *c)
{
    struct gw_buf lkey = GW_BUF_INIT, rec = GW_BUF_INIT;
    int rv;

    btag_lkey(&lkey, c->u.bucket_tags_put.bucket);
    gw_buf_put_u8(&rec, BTAG_REC_VERSION);
    gw_buf_put_bytes(&rec, GW_STR(""));
    gw_buf_put_bytes(&rec, GW_STR(""));
    gw_buf_put_bytes(&rec, c->u.bucket_tags_put.tags);
    rv = meta__put(m, txn, META_DB_TAGS, gw_buf_str(&lkey), gw_buf_str(&rec));
    gw_buf_free(&lkey);
    gw_buf_free(&rec);
    return rv;
}

static int btag_apply_delete(struct meta *m, MDB_txn *txn, const struct meta_cmd *c)
{
    struct gw_buf lkey = GW_BUF_INIT;
    int rv;

    btag_lkey(&lkey, c->u.bucket_tags_delete.bucket);
    rv = meta__del(m, txn, META_DB_TAGS, gw_buf_str(&lkey));
    gw_buf_free(&lkey);
    return rv == GW_ERR_NOT_FOUND ? GW_OK : rv;
}

int meta__bucket_tag_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    /* Both commands name the bucket first: the union members share the layout. */
    struct gw_str bucket = c->type == META_CMD_BUCKET_TAGS_PUT ? c->u.bucket_tags_put.bucket
                                                               : c->u.bucket_tags_delete.bucket;
    struct gw_str v = GW_STR_NULL;
    int rv;

    rv = meta__name_ok(bucket) ? meta__get(m, txn, META_DB_BUCKETS, bucket, &v)
                               : GW_ERR_NOT_FOUND;
    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_NO_SUCH_BUCKET;
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    switch (c->type) {
    case META_CMD_BUCKET_TAGS_PUT:
        return btag_apply_put(m, txn, c);
    case META_CMD_BUCKET_TAGS_DELETE:
        return btag_apply_delete(m, txn, c);
    default:
        return GW_ERR_INTERNAL;
    }
}

int meta_bucket_tags_get(struct meta *m, struct gw_str bucket, struct gw_buf *out)
{
    struct gw_buf lkey = GW_BUF_INIT;
    MDB_txn *txn = NULL;
    struct gw_reader r;
    struct gw_str v, k, id, tags;
    uint8_t ver = 0;
    int rv;

    if (!meta__name_ok(bucket)) {
        return GW_ERR_NO_SUCH_TAG_SET;
    }
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    btag_lkey(&lkey, bucket);
    rv = meta__get(m, txn, META_DB_TAGS, gw_buf_str(&lkey), &v);
    if (rv == 0) {
        r = gw_reader_make(v.p, v.len);
        if (!gw_reader_u8(&r, &ver) || !gw_reader_bytes(&r, &k) || !gw_reader_bytes(&r, &id) ||
            !gw_reader_bytes(&r, &tags) || r.len != 0 || ver != BTAG_REC_VERSION) {
            rv = GW_ERR_CORRUPT;
        } else {
            gw_buf_append_str(out, tags);
        }
    }
    mdb_txn_abort(txn);
    gw_buf_free(&lkey);
    return rv == GW_ERR_NOT_FOUND ? GW_ERR_NO_SUCH_TAG_SET : rv;
}
