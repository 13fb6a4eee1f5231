/* Private to meta/: the LMDB environment, its named databases, transaction and
 * record helpers, and the one place MDB_* codes become GW_ERR_* codes. */
#ifndef UNIGW_META_ENV_H
#define UNIGW_META_ENV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/str.h"

/* The format of the local store (key layout, value records).  Bump it when the
 * layout changes; meta_open refuses a store with a larger number. */
#define META_STORE_FORMAT 1u

/* LMDB's default maximum key size. */
#define META_LMDB_KEY_MAX 511

/* The named databases.  The numbers are also the db ids in snapshots: append,
 * never renumber. */
enum meta_db {
    META_DB_USERS,     /* user name -> user record */
    META_DB_KEYS,      /* access key -> key record (user, sealed secret) */
    META_DB_BUCKETS,   /* bucket name -> bucket record */
    META_DB_POLICIES,  /* bucket name -> policy document */
    META_DB_UPLOADS,   /* "bucket\0upload_id" -> upload record (meta/mpu.c) */
    META_DB_PARTS,     /* "bucket\0upload_id\0" + be32 number -> part record */
    META_DB_TAGS,      /* meta__key_make(bucket, key) -> tag record */
    META_DB_MEMBERS,   /* reserved: cluster members */
    META_DB_CLUSTER,   /* "format", "applied" and cluster settings */
    META_DB_DEDUP,     /* request id -> u64 index | u32 result */
    META_DB_DEDUP_IDX, /* big-endian u64 index -> request id (for pruning) */
    META_DB__COUNT
};

struct meta {
    MDB_env *env;
    MDB_dbi dbi[META_DB__COUNT];
    uint8_t cluster_key[META_CLUSTER_KEY_LEN];
    /* Deterministic apply failures by command type (meta/fsm.c); 0: unknown.
     * Written by the applying thread, read by /metrics from any thread. */
    _Atomic uint64_t apply_failures[META_CMD__MAX + 1];
    /* Test seam (NULL in production): called after each handler that
     * succeeded, with the decoded command; a non-zero return stands for that
     * handler failing with the code after it wrote, so tests reach every row
     * of fsm.c's failure table. */
    int (*fault)(void *arg, const struct meta_cmd *c);
    void *fault_arg;
};

/* Keys of the cluster db. */
#define META_CLUSTER_FORMAT GW_STR("format")
#define META_CLUSTER_APPLIED GW_STR("applied")

extern const char *const meta__db_names[META_DB__COUNT];

/* Translate an mdb_* return value (0, MDB_* or an errno) to GW_OK / GW_ERR_*. */
int meta__err_from_mdb(int mdb_rv);

/* Begin a read-only / read-write transaction.  GW_OK or a translated fault. */
int meta__txn_ro(struct meta *m, MDB_txn **txn);
int meta__txn_rw(struct meta *m, MDB_txn **txn);
/* Commit @txn (always consumed).  GW_OK or a translated fault. */
int meta__txn_commit(MDB_txn *txn);

/* Point lookups and updates in db @db.  meta__get's view lives until the txn
 * ends.  Missing keys are GW_ERR_NOT_FOUND for get and del. */
int meta__get(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str key,
              struct gw_str *val);
int meta__put(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str key,
              struct gw_str val);
int meta__del(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str key);
/* Delete every key of @db starting with @prefix (empty: every key), wherever
 * they sit in the db (first, last, all of it).  GW_OK or a translated fault. */
int meta__del_prefix(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str prefix);

/* Visit, in key order, the entries of @db whose key starts with @prefix and
 * sorts strictly after @after (empty: no lower bound).  @fn returns GW_OK to
 * go on, or anything else to stop (META_SCAN_STOP stops without an error).
 * Views passed to @fn live until the txn ends. */
#define META_SCAN_STOP (-1)
typedef int (*meta__scan_fn)(void *arg, struct gw_str key, struct gw_str val);
int meta__scan(struct meta *m, MDB_txn *txn, enum meta_db db, struct gw_str prefix,
               struct gw_str after, meta__scan_fn fn, void *arg);

/* The last applied index recorded in @txn (0 when none). */
int meta__applied_get(struct meta *m, MDB_txn *txn, uint64_t *out);
int meta__applied_put(struct meta *m, MDB_txn *txn, uint64_t index);

/* Append the LMDB key for name @name inside @bucket to @out: "bucket\0name"
 * when that fits META_LMDB_KEY_MAX, otherwise "bucket\0\xff" followed by the
 * SHA-256 of @name (33 bytes after the NUL).  The key keeps every name of a
 * bucket under the "bucket\0" prefix.  Records stored under such keys carry
 * the full name so a lookup can tell a hash collision (or a short name that
 * happens to look like a hash) from a hit: see meta__key_is_hashed.
 * @bucket must be at most META_NAME_MAX bytes. */
void meta__key_make(struct gw_buf *out, struct gw_str bucket, struct gw_str name);
/* Whether meta__key_make(bucket, name) hashes @name. */
bool meta__key_is_hashed(struct gw_str bucket, struct gw_str name);

/* Copy the view @s into the fixed array @dst of @cap bytes (NUL-terminated);
 * false when it does not fit. */
bool meta__str_copy(char *dst, size_t cap, size_t *len, struct gw_str s);

#endif
