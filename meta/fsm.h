/* Private to meta/: the apply handlers meta/fsm.c dispatches to.
 *
 * Each handler runs inside the entry's (nested) write transaction, checks the
 * command's preconditions against the store, and puts the business outcome in
 * *@result.  It returns non-zero only for an LMDB fault.  When *@result is not
 * GW_OK the caller discards whatever the handler wrote, so a handler may write
 * before it finds a failed precondition. */
#ifndef UNIGW_META_FSM_H
#define UNIGW_META_FSM_H

#include <lmdb.h>

#include "unigw/meta.h"

struct meta;

int meta__user_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__key_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__bucket_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__policy_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__tag_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__mpu_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__bucket_tag_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);
int meta__member_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result);

/* Used by user deletion: drop every access key of @user. */
int meta__key_delete_user(struct meta *m, MDB_txn *txn, struct gw_str user);
/* Used by bucket deletion: drop every tag set of @bucket. */
int meta__tag_delete_bucket(struct meta *m, MDB_txn *txn, struct gw_str bucket);
/* Used by bucket deletion: drop every upload of @bucket and their parts. */
int meta__mpu_delete_bucket(struct meta *m, MDB_txn *txn, struct gw_str bucket);
/* Whether @user owns at least one bucket. */
int meta__bucket_owned_by(struct meta *m, MDB_txn *txn, struct gw_str user, bool *has);

/* Read user @name inside @txn: GW_OK, GW_ERR_NOT_FOUND, GW_ERR_CORRUPT or a fault. */
int meta__user_read(struct meta *m, MDB_txn *txn, struct gw_str name, struct meta_user *out);

/* Names given to apply must be non-empty and within META_NAME_MAX. */
static inline bool meta__name_ok(struct gw_str s)
{
    return s.len > 0 && s.len <= META_NAME_MAX;
}

#endif
