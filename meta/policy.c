/* Bucket policies: apply of policy_put / policy_delete, and the lookup.
 *
 * db "policies": bucket name -> the policy document, opaque here (s3 parses
 * and validates the JSON before proposing).  Outcomes: NO_SUCH_BUCKET,
 * MALFORMED_POLICY (empty document).  Deleting a missing policy is GW_OK, as
 * DeleteBucketPolicy is idempotent. */
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

/* GW_OK with *@exists, or a fault. */
static int bucket_exists(struct meta *m, MDB_txn *txn, struct gw_str bucket, bool *exists)
{
    struct gw_str v = GW_STR_NULL;
    int rv = meta__get(m, txn, META_DB_BUCKETS, bucket, &v);

    *exists = rv == 0;
    return rv == GW_ERR_NOT_FOUND ? GW_OK : rv;
}

static int apply_put(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    bool exists = false;
    int rv;

    rv = bucket_exists(m, txn, c->u.policy_put.bucket, &exists);
    if (rv != 0 || !exists) {
        *result = GW_ERR_NO_SUCH_BUCKET;
        return rv;
    }
    if (c->u.policy_put.policy.len == 0) {
        *result = GW_ERR_MALFORMED_POLICY;
        return GW_OK;
    }
    return meta__put(m, txn, META_DB_POLICIES, c->u.policy_put.bucket, c->u.policy_put.policy);
}

static int apply_delete(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    bool exists = false;
    int rv;

    rv = bucket_exists(m, txn, c->u.policy_delete.bucket, &exists);
    if (rv != 0 || !exists) {
        *result = GW_ERR_NO_SUCH_BUCKET;
        return rv;
    }
    rv = meta__del(m, txn, META_DB_POLICIES, c->u.policy_delete.bucket);
    return rv == GW_ERR_NOT_FOUND ? GW_OK : rv;
}

int meta__policy_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_POLICY_PUT:
        return apply_put(m, txn, c, result);
    case META_CMD_POLICY_DELETE:
        return apply_delete(m, txn, c, result);
    default:
        return GW_ERR_INTERNAL;
    }
}

int meta_policy_get(struct meta *m, struct gw_str bucket, struct gw_buf *out)
{
    MDB_txn *txn = NULL;
    struct gw_str v = GW_STR_NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__get(m, txn, META_DB_POLICIES, bucket, &v);
    if (rv == 0) {
        gw_buf_append_str(out, v);
    } else if (rv == GW_ERR_NOT_FOUND) {
        rv = GW_ERR_NO_SUCH_POLICY;
    }
    mdb_txn_abort(txn);
    return rv;
}
