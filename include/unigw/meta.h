/* The metadata state machine: users, access keys, buckets, policies, tags (and
 * later uploads, parts, members) in one LMDB environment on local disk.
 *
 * Every change is a command, encoded by the meta_cmd_* functions below into a
 * versioned little-endian record (meta/cmd.c owns the wire format), handed to a
 * struct meta_proposer and applied on every replica by meta_apply().  Apply is
 * deterministic: it reads only the command and the store; timestamps, request
 * ids and nonces come from the proposer.  Queries (meta_user_get,
 * meta_key_lookup, meta_bucket_list, ...) read the local replica under a short
 * LMDB read transaction and may run on the loop thread.
 *
 * Threads: one writer (the thread that calls meta_apply / meta_restore); any
 * number of readers on any thread.  Errors are GW_ERR_* only: no MDB_* value
 * leaves this module. */
#ifndef UNIGW_INCLUDE_META_H
#define UNIGW_INCLUDE_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "unigw/buf.h"
#include "unigw/str.h"

/* Limits checked by the decoder and by apply. */
#define META_NAME_MAX 255          /* user, access key, bucket, owner, region, header user */
#define META_OBJKEY_MAX 1024       /* an S3 object key */
#define META_SECRET_MAX 128        /* an access key's secret, in clear */
#define META_VALUE_MAX (1u << 20)  /* policy documents, tag sets, object ids */
#define META_REQ_ID_LEN 16         /* request id for the dedup of retries */
#define META_NONCE_LEN 12          /* AES-GCM nonce */
#define META_TAG_LEN 16            /* AES-GCM tag */
#define META_CLUSTER_KEY_LEN 32    /* AES-256 */
#define META_SEALED_MAX (META_NONCE_LEN + META_SECRET_MAX + META_TAG_LEN)
#define META_MAP_SIZE_DEFAULT (1ull << 30)

struct meta;

/* --- Store lifecycle -------------------------------------------------------------------- */

/* Open (creating if needed) the LMDB environment in directory @dir, which must
 * exist and be on local disk.  @cluster_key (copied) seals and unseals access
 * key secrets.  @map_size is the LMDB map size in bytes (0: 1 GiB).
 * The environment runs with MDB_NOSYNC: durability comes from the Raft log.
 * Returns GW_OK and *@out, GW_ERR_TOO_NEW when the stored format is newer than
 * this code understands, GW_ERR_CORRUPT, GW_ERR_IO or GW_ERR_NO_SPACE. */
int meta_open(const char *dir, const uint8_t cluster_key[META_CLUSTER_KEY_LEN], uint64_t map_size,
              struct meta **out);
/* Flush (mdb_env_sync) and close; no transaction may be open.  NULL is a no-op. */
void meta_close(struct meta *m);
/* The index of the last command meta_apply() applied (0 on a fresh store). */
int meta_applied_index(struct meta *m, uint64_t *out);

/* --- Commands ------------------------------------------------------------------------- */

enum meta_cmd_type {
    META_CMD_USER_CREATE = 1,
    META_CMD_USER_SET_DISABLED = 2,
    META_CMD_USER_DELETE = 3,
    META_CMD_KEY_CREATE = 4,
    META_CMD_KEY_DELETE = 5,
    META_CMD_BUCKET_CREATE = 6,
    META_CMD_BUCKET_DELETE = 7,
    META_CMD_BUCKET_SET_OWNER = 8,
    META_CMD_POLICY_PUT = 9,
    META_CMD_POLICY_DELETE = 10,
    META_CMD_TAGS_PUT = 11,
    META_CMD_TAGS_DELETE = 12,
    META_CMD_UPLOAD_CREATE = 13,
    META_CMD_PART_PUT = 14,
    META_CMD_UPLOAD_CLAIM = 15,
    META_CMD_UPLOAD_FINISH = 16,
    META_CMD_UPLOAD_ABORT = 17,
    META_CMD_BUCKET_TAGS_PUT = 18,
    META_CMD_BUCKET_TAGS_DELETE = 19,
    META_CMD_NOOP = 20, /* changes nothing: a leader's barrier (see raft/core.c) */
    META_CMD_TAGS_DROP = 21,
    META_CMD_MEMBER_REGISTER = 22,
    META_CMD_CLUSTER_FINALIZE = 23,
    META_CMD__MAX = 23,
};

/* Feature levels (meta/member.c).  A level names a set of command types and
 * versions, RPC message versions and record versions; a node supports the
 * range [META_LEVEL_MIN, META_LEVEL_MAX] and the cluster runs at one active
 * level, a replicated value (a store without it runs at level 1).  A node
 * never proposes a command whose level is above the active one, so an older
 * replica never meets a command it cannot decode. */
#define META_LEVEL_MIN 1u
#define META_LEVEL_MAX 1u /* the highest level this binary supports */
#define META_VERSION_MAX 64 /* a member's version string */
#define META_VOTERS_MAX 64  /* node ids a cluster_finalize names */

/* Multipart limits checked by apply. */
#define META_UPLOAD_ID_MAX 128
#define META_PART_NUMBER_MAX 10000
#define META_MD5_LEN 16
#define META_CKSUM_MAX 32 /* the largest flexible checksum (SHA-256) */
#define META_CLAIM_MAX 32 /* digest of a CompleteMultipartUpload part list */
#define META_ETAG_MAX 64

/* Every command carries this header.  @req_id identifies one logical request
 * across retries (all zero: no dedup); @ts_ms is the proposer's clock in ms
 * since the epoch (apply never reads a clock); @user is the proposing user
 * (empty for system commands), at most META_NAME_MAX bytes. */
struct meta_cmd_hdr {
    uint8_t req_id[META_REQ_ID_LEN];
    uint64_t ts_ms;
    struct gw_str user;
};

/* A decoded command.  Every view points into the buffer it was decoded from. */
struct meta_cmd {
    uint16_t type;    /* enum meta_cmd_type */
    uint16_t version; /* per-type format version */
    struct meta_cmd_hdr hdr;
    union {
        struct { struct gw_str name; bool is_admin; } user_create;
        struct { struct gw_str name; bool is_disabled; } user_set_disabled;
        struct { struct gw_str name; } user_delete;
        struct { struct gw_str access_key, user, sealed; } key_create;
        struct { struct gw_str access_key; } key_delete;
        struct { struct gw_str name, owner, region; } bucket_create;
        struct { struct gw_str name; } bucket_delete;
        struct { struct gw_str name, owner; } bucket_set_owner;
        struct { struct gw_str bucket, policy; } policy_put;
        struct { struct gw_str bucket; } policy_delete;
        struct { struct gw_str bucket, key, object_id, tags; } tags_put;
        struct { struct gw_str bucket, key; } tags_delete;
        struct { struct gw_str bucket, key, object_id; } tags_drop;
        /* @info is opaque here: what s3 stores for the object (headers, metadata, tags). */
        struct { struct gw_str bucket, key, upload_id, info; } upload_create;
        struct {
            struct gw_str bucket, upload_id, md5, cksum, file;
            uint32_t number;
            uint64_t size;
        } part_put;
        struct { struct gw_str bucket, upload_id, claim; } upload_claim;
        struct { struct gw_str bucket, upload_id, etag; uint64_t size; } upload_finish;
        struct { struct gw_str bucket, upload_id; } upload_abort;
        struct { struct gw_str bucket, tags; } bucket_tags_put;
        struct { struct gw_str bucket; } bucket_tags_delete;
        struct {
            uint64_t node_id;
            uint32_t min_level, max_level;
            struct gw_str version;
        } member_register;
        /* @voters: the voters' node ids, each a little-endian u64 (the proposer
         * reads them from the Raft configuration, so apply stays deterministic). */
        struct { struct gw_str voters; } cluster_finalize;
    } u;
};

/* Decode @len bytes at @p.  Views in *@out point into @p.  Checks every length
 * and limit; trailing bytes are an error.  Returns GW_OK, GW_ERR_CORRUPT on a
 * malformed record, or GW_ERR_TOO_NEW for a type or version this code does not
 * know (a newer binary proposed it). */
int meta_cmd_decode(const void *p, size_t len, struct meta_cmd *out);
/* Append the encoding of @c (its type, at the newest version) to @out.
 * Returns GW_OK or GW_ERR_INVALID_ARGUMENT when a field is over its limit or
 * the type is unknown (nothing is appended then). */
int meta_cmd_encode(struct gw_buf *out, const struct meta_cmd *c);

/* Typed encoders for the S3 and admin layers: append one command to @out.
 * Return GW_OK or GW_ERR_INVALID_ARGUMENT (field over its limit). */
/* A command that changes nothing; the Raft wrapper commits it as a barrier. */
int meta_cmd_noop(struct gw_buf *out, const struct meta_cmd_hdr *h);
int meta_cmd_user_create(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name,
                         bool is_admin);
int meta_cmd_user_set_disabled(struct gw_buf *out, const struct meta_cmd_hdr *h,
                               struct gw_str name, bool is_disabled);
int meta_cmd_user_delete(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name);
/* @sealed comes from meta_secret_seal() / meta_key_seal(). */
int meta_cmd_key_create(struct gw_buf *out, const struct meta_cmd_hdr *h,
                        struct gw_str access_key, struct gw_str user, struct gw_str sealed);
int meta_cmd_key_delete(struct gw_buf *out, const struct meta_cmd_hdr *h,
                        struct gw_str access_key);
int meta_cmd_bucket_create(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name,
                           struct gw_str owner, struct gw_str region);
int meta_cmd_bucket_delete(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name);
int meta_cmd_bucket_set_owner(struct gw_buf *out, const struct meta_cmd_hdr *h,
                              struct gw_str name, struct gw_str owner);
/* @policy is opaque here (the JSON document, validated by s3 before proposing). */
int meta_cmd_policy_put(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                        struct gw_str policy);
int meta_cmd_policy_delete(struct gw_buf *out, const struct meta_cmd_hdr *h,
                           struct gw_str bucket);
/* @tags is an opaque encoded tag set; @object_id names the object version the
 * tags belong to (meta_tags_get treats other ids as stale). */
int meta_cmd_tags_put(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                      struct gw_str key, struct gw_str object_id, struct gw_str tags);
int meta_cmd_tags_delete(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                         struct gw_str key);
/* The object @object_id of @bucket/@key went away (deleted or replaced):
 * drop its tag set, if the stored one belongs to that id.  A tag set of any
 * other id stays (a newer object's tags, committed before its publish), so a
 * drop that races a tagged PUT never loses the new tags.  Always GW_OK. */
int meta_cmd_tags_drop(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                       struct gw_str key, struct gw_str object_id);

/* Multipart uploads (meta/mpu.c).  The proposing user (@h->user) becomes the
 * upload's owner and @h->ts_ms its initiation time.  Outcomes of apply:
 * upload_create: INVALID_ARGUMENT (empty or oversize id, empty key),
 *   CONDITIONAL_CONFLICT (the id exists);
 * part_put: NO_SUCH_UPLOAD (unknown, or completed), CONDITIONAL_CONFLICT (a
 *   Complete claimed the upload), INVALID_ARGUMENT (number outside
 *   1..META_PART_NUMBER_MAX, MD5 not 16 bytes, empty file name); an existing
 *   part of that number is replaced;
 * upload_claim: NO_SUCH_UPLOAD (unknown; or completed with another part
 *   list), CONDITIONAL_CONFLICT (claimed with another part list); GW_OK when
 *   open (now claimed), or claimed / completed with the same @claim;
 * upload_finish: NO_SUCH_UPLOAD unless claimed or completed; marks it
 *   completed with @etag and @size and drops its part records;
 * upload_abort: NO_SUCH_UPLOAD when unknown; drops the upload (in any state)
 *   and its parts. */
int meta_cmd_upload_create(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                           struct gw_str key, struct gw_str upload_id, struct gw_str info);
int meta_cmd_part_put(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                      struct gw_str upload_id, uint32_t number, uint64_t size, struct gw_str md5,
                      struct gw_str cksum, struct gw_str file);
int meta_cmd_upload_claim(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                          struct gw_str upload_id, struct gw_str claim);
int meta_cmd_upload_finish(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                           struct gw_str upload_id, struct gw_str etag, uint64_t size);
int meta_cmd_upload_abort(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                          struct gw_str upload_id);
/* Bucket tag sets (meta/bucket_tag.c): NO_SUCH_BUCKET when the bucket has no
 * record; deleting absent tags is GW_OK. */
int meta_cmd_bucket_tags_put(struct gw_buf *out, const struct meta_cmd_hdr *h,
                             struct gw_str bucket, struct gw_str tags);
int meta_cmd_bucket_tags_delete(struct gw_buf *out, const struct meta_cmd_hdr *h,
                                struct gw_str bucket);

/* Members and the feature level (meta/member.c).  member_register records
 * (or replaces) node @node_id's supported range and version string:
 * INVALID_ARGUMENT when @node_id is 0, @min_level is 0 or above @max_level.
 * cluster_finalize raises the active level to the highest level every voter
 * in @voters supports: PRECONDITION_FAILED (nothing changes) when a voter has
 * not registered, or when no level at or above the active one is supported
 * by every voter; INVALID_ARGUMENT when @voters is empty or not a list of
 * u64.  An active level that is already the highest common one is GW_OK. */
int meta_cmd_member_register(struct gw_buf *out, const struct meta_cmd_hdr *h, uint64_t node_id,
                             uint32_t min_level, uint32_t max_level, struct gw_str version);
int meta_cmd_cluster_finalize(struct gw_buf *out, const struct meta_cmd_hdr *h,
                              const uint64_t *voters, size_t n_voters);

/* The feature level that command type @type needs (0: unknown type). */
uint32_t meta_cmd_min_level(uint16_t type);
/* Whether the encoded command @cmd/@len may be proposed at @m's active level:
 * GW_OK, GW_ERR_NOT_IMPLEMENTED (its type needs a higher level, or is unknown
 * to this binary), GW_ERR_CORRUPT (too short), or an LMDB fault.  Every
 * proposer calls it before a command enters the log. */
int meta_cmd_level_check(struct meta *m, const void *cmd, size_t len);

/* Proposer-side helpers (never called by apply): fill @h with a random request
 * id, @now_ms and @user (a view the caller keeps alive while encoding), and
 * make a random AES-GCM nonce.  Return GW_OK or GW_ERR_INTERNAL (no entropy). */
int meta_cmd_hdr_init(struct meta_cmd_hdr *h, uint64_t now_ms, struct gw_str user);
int meta_nonce_make(uint8_t nonce[META_NONCE_LEN]);

/* --- Apply ---------------------------------------------------------------------------- */

/* Apply the encoded command @cmd of @len bytes as log entry @index, in one LMDB
 * write transaction that also records @index as the last applied one.
 *
 * *@result gets the business outcome (GW_OK, GW_ERR_BUCKET_EXISTS,
 * GW_ERR_NO_SUCH_BUCKET, ...; GW_ERR_CORRUPT for an undecodable command, which
 * every replica rejects alike).  An entry at or below the last applied index is
 * skipped with *@result = GW_OK.  A retried command (same non-zero request id
 * applied within the last META_DEDUP_WINDOW indexes) is not executed again:
 * *@result is the original outcome.
 *
 * A command whose handler fails deterministically (a code path that yields
 * INVALID, INTERNAL, NOT_FOUND, ... instead of a business result) changes
 * nothing, still takes its index, and gets *@result = GW_ERR_INTERNAL (500 to
 * its client); it is logged and counted (meta_apply_failures).  Every replica
 * does the same, so none stops (meta/fsm.c has the full rule).
 *
 * Returns non-zero only when this replica cannot apply: a local fault of its
 * store (GW_ERR_IO, GW_ERR_NO_SPACE when the disk or the map is full,
 * GW_ERR_NOMEM, GW_ERR_CORRUPT) or GW_ERR_TOO_NEW for a command from a newer
 * binary.  Nothing is written then, and a line naming the index, the command
 * and what to do is logged; the Raft wrapper must stop (retrying forever or
 * skipping would diverge), and the restart after the fix applies it again. */
#define META_DEDUP_WINDOW 100000
int meta_apply(struct meta *m, uint64_t index, const void *cmd, size_t len, int *result);
/* How many entries of command type @type failed deterministically in apply
 * on this store since it was opened (0 for unknown types). */
uint64_t meta_apply_failures(struct meta *m, uint16_t type);
/* "bucket_delete", "tags_put", ...: the name of a command type for logs and
 * metrics labels ("unknown" for a type this binary does not know). */
const char *meta_cmd_type_name(uint16_t type);

/* --- Snapshots ------------------------------------------------------------------------ */

/* Append a logical dump of every database, taken under one read transaction,
 * to @out (format: magic, version, applied index, records, SHA-256 trailer).
 * Returns GW_OK or an LMDB fault. */
int meta_snapshot(struct meta *m, struct gw_buf *out);
/* Read the applied index recorded in the snapshot @p/@len without loading it.
 * Returns GW_OK, GW_ERR_CORRUPT or GW_ERR_TOO_NEW. */
int meta_snapshot_index(const void *p, size_t len, uint64_t *index);
/* Replace the whole store by the snapshot @p/@len in one write transaction
 * (readers see the old state or the new one).  The snapshot is fully verified
 * first.  Returns GW_OK, GW_ERR_CORRUPT (bad checksum or record; the store is
 * unchanged), GW_ERR_TOO_NEW, or an LMDB fault. */
int meta_restore(struct meta *m, const void *p, size_t len);

/* --- Queries on the local replica ----------------------------------------------------- */

#define META_USER_ID_LEN 20 /* "AIDA" / "AIDL" + 16 upper-case hex digits */

struct meta_user {
    char name[META_NAME_MAX + 1]; /* NUL-terminated */
    size_t name_len;
    char id[META_USER_ID_LEN + 1]; /* immutable unique id, NUL-terminated (meta/user.c) */
    uint64_t seq;                  /* its sequence number; 0 for users made before ids */
    bool is_admin;
    bool is_disabled;
    uint64_t created_ms;
};

/* GW_OK, GW_ERR_NOT_FOUND, GW_ERR_CORRUPT or an LMDB fault. */
int meta_user_get(struct meta *m, struct gw_str name, struct meta_user *out);
/* The user whose id is @id: GW_OK, GW_ERR_NOT_FOUND, GW_ERR_CORRUPT or an LMDB fault. */
int meta_user_get_by_id(struct meta *m, struct gw_str id, struct meta_user *out);
/* Up to @max users whose names sort after @after (empty: from the start), in
 * byte order, into a gw_malloc'ed array *@out (caller gw_frees; NULL when
 * *@n_out is 0).  Paginate for long lists: every call is one short read txn. */
int meta_user_list(struct meta *m, struct gw_str after, size_t max, struct meta_user **out,
                   size_t *n_out);

struct meta_key_info {
    char user[META_NAME_MAX + 1]; /* NUL-terminated owner name */
    size_t user_len;
    char user_id[META_USER_ID_LEN + 1]; /* the owner's immutable id */
    char secret[META_SECRET_MAX + 1]; /* the unsealed secret, NUL-terminated */
    size_t secret_len;
    bool is_admin;    /* of the user */
    bool is_disabled; /* of the user */
};

/* Look up @access_key for SigV4.  The caller must wipe out->secret when done.
 * Returns GW_OK, GW_ERR_INVALID_ACCESS_KEY (unknown key, or its user is gone),
 * GW_ERR_CORRUPT (the secret does not unseal under this node's cluster key),
 * or an LMDB fault.  A disabled user is GW_OK with is_disabled set. */
int meta_key_lookup(struct meta *m, struct gw_str access_key, struct meta_key_info *out);
/* Access keys of @user, sorted, as one gw_malloc'ed array of
 * META_NAME_MAX + 1 byte NUL-terminated names (caller gw_frees). */
int meta_key_list(struct meta *m, struct gw_str user, char (**out)[META_NAME_MAX + 1],
                  size_t *n_out);

/* Seal @secret (at most META_SECRET_MAX bytes) with AES-256-GCM under @key and
 * @nonce (the proposer's, from meta_nonce_make), appending nonce|ciphertext|tag
 * to @out.  Returns GW_OK, GW_ERR_INVALID_ARGUMENT or GW_ERR_INTERNAL. */
int meta_secret_seal(const uint8_t key[META_CLUSTER_KEY_LEN], struct gw_str secret,
                     const uint8_t nonce[META_NONCE_LEN], struct gw_buf *out);
/* Open a sealed blob into @out (@cap bytes, NUL-terminated when room remains).
 * Returns GW_OK, GW_ERR_CORRUPT (wrong key, tampered or malformed blob) or
 * GW_ERR_INVALID_ARGUMENT (@cap too small). */
int meta_secret_unseal(const uint8_t key[META_CLUSTER_KEY_LEN], struct gw_str sealed, char *out,
                       size_t cap, size_t *out_len);
/* Seal @secret under @m's cluster key with a fresh random nonce (proposer side). */
int meta_key_seal(struct meta *m, struct gw_str secret, struct gw_buf *out);

struct meta_bucket {
    char name[META_NAME_MAX + 1];  /* NUL-terminated */
    size_t name_len;
    char owner[META_NAME_MAX + 1]; /* NUL-terminated */
    size_t owner_len;
    char region[META_NAME_MAX + 1]; /* NUL-terminated, may be empty */
    size_t region_len;
    uint64_t created_ms;
};

/* GW_OK, GW_ERR_NO_SUCH_BUCKET, GW_ERR_CORRUPT or an LMDB fault. */
int meta_bucket_get(struct meta *m, struct gw_str name, struct meta_bucket *out);
/* Up to @max buckets sorted by name after @after (empty: from the start),
 * only those owned by @owner unless it is empty; gw_malloc'ed array as in
 * meta_user_list. */
int meta_bucket_list(struct meta *m, struct gw_str owner, struct gw_str after, size_t max,
                     struct meta_bucket **out, size_t *n_out);

/* Copy the policy document of @bucket into @out (appended).  Returns GW_OK,
 * GW_ERR_NO_SUCH_POLICY or an LMDB fault. */
int meta_policy_get(struct meta *m, struct gw_str bucket, struct gw_buf *out);
/* Copy the tag set of @bucket/@key into @out (appended) if it belongs to
 * @object_id.  Returns GW_OK, GW_ERR_NO_SUCH_TAG_SET (none, or stale: another
 * object id) or an LMDB fault. */
int meta_tags_get(struct meta *m, struct gw_str bucket, struct gw_str key, struct gw_str object_id,
                  struct gw_buf *out);

/* Append to @out the object id the stored tag set of @bucket/@key belongs to
 * (stale or not): lets a delete decide, before it removes the object, whether
 * a tags_drop is due.  GW_OK, GW_ERR_NO_SUCH_TAG_SET or an LMDB fault. */
int meta_tags_object_id(struct meta *m, struct gw_str bucket, struct gw_str key,
                        struct gw_buf *out);

#define META_TAG_KEY_MAX 1024 /* S3's object key limit */

/* One object tag record, as the tag sweep sees it (NUL-terminated copies). */
struct meta_tag_ref {
    char bucket[META_NAME_MAX + 1];
    size_t bucket_len;
    char key[META_TAG_KEY_MAX + 1];
    size_t key_len;
    char object_id[META_NAME_MAX + 1];
    size_t object_id_len;
};

/* Up to @max object tag records (bucket tag sets are skipped) in store order,
 * starting after the position @after (empty: from the start), into a
 * gw_malloc'ed array *@out (caller gw_frees; NULL when *@n_out is 0).  @next
 * receives the position to pass as @after for the next batch, empty when the
 * scan reached the end.  One short read txn per call.  GW_OK or an LMDB fault. */
int meta_tags_scan(struct meta *m, struct gw_str after, size_t max, struct meta_tag_ref **out,
                   size_t *n_out, struct gw_buf *next);

/* Copy the tag set of @bucket itself into @out (appended).  GW_OK,
 * GW_ERR_NO_SUCH_TAG_SET or an LMDB fault. */
int meta_bucket_tags_get(struct meta *m, struct gw_str bucket, struct gw_buf *out);

enum meta_upload_state {
    META_UPLOAD_OPEN = 0,
    META_UPLOAD_CLAIMED = 1,   /* a Complete is assembling it */
    META_UPLOAD_COMPLETED = 2, /* kept so a retried Complete gets the same answer */
};

struct meta_upload {
    char bucket[META_NAME_MAX + 1]; /* every string NUL-terminated */
    size_t bucket_len;
    char key[META_OBJKEY_MAX + 1];
    size_t key_len;
    char upload_id[META_UPLOAD_ID_MAX + 1];
    size_t upload_id_len;
    char owner[META_NAME_MAX + 1];
    size_t owner_len;
    uint64_t initiated_ms;
    enum meta_upload_state state;
    uint8_t claim[META_CLAIM_MAX]; /* when claimed or completed */
    size_t claim_len;
    uint64_t done_ms; /* claim or completion time */
    char etag[META_ETAG_MAX + 1]; /* when completed */
    size_t etag_len;
    uint64_t size; /* when completed */
};

struct meta_part {
    uint32_t number;
    uint64_t size;
    uint8_t md5[META_MD5_LEN];
    uint8_t cksum[META_CKSUM_MAX]; /* raw bytes of the upload's checksum, if sent */
    size_t cksum_len;
    char file[META_NAME_MAX + 1]; /* staged file name inside the upload's directory */
    size_t file_len;
    uint64_t ts_ms;
};

/* Upload @upload_id of @bucket into *@out, and its opaque info appended to
 * @info (may be NULL).  GW_OK, GW_ERR_NO_SUCH_UPLOAD, GW_ERR_CORRUPT or an
 * LMDB fault. */
int meta_upload_get(struct meta *m, struct gw_str bucket, struct gw_str upload_id,
                    struct meta_upload *out, struct gw_buf *info);
/* Uploads of @bucket (empty: of every bucket, for the cleanup task) whose key
 * starts with @prefix and sorts after (@key_marker, @upload_id_marker) as
 * ListMultipartUploads orders them (by key, then upload id; an empty
 * @upload_id_marker skips every upload of @key_marker), in every state, into
 * a gw_malloc'ed array *@out (caller gw_frees; NULL when *@n_out is 0).
 * At most @max (0: no limit). */
int meta_upload_list(struct meta *m, struct gw_str bucket, struct gw_str prefix,
                     struct gw_str key_marker, struct gw_str upload_id_marker, size_t max,
                     struct meta_upload **out, size_t *n_out);
/* Parts of the upload with numbers above @after, ascending, at most @max
 * (0: all), gw_malloc'ed as above.  An unknown upload has no parts. */
int meta_part_list(struct meta *m, struct gw_str bucket, struct gw_str upload_id, uint32_t after,
                   size_t max, struct meta_part **out, size_t *n_out);

/* One registered member (meta_member_list). */
struct meta_member {
    uint64_t node_id;
    uint32_t min_level, max_level;
    char version[META_VERSION_MAX + 1]; /* NUL-terminated */
    size_t version_len;
    uint64_t registered_ms;
};

/* Every registered member, by node id ascending, into a gw_malloc'ed array
 * (caller gw_frees; NULL when *@n_out is 0).  GW_OK, GW_ERR_CORRUPT or a fault. */
int meta_member_list(struct meta *m, struct meta_member **out, size_t *n_out);
/* Member @node_id: GW_OK, GW_ERR_NOT_FOUND, GW_ERR_CORRUPT or a fault. */
int meta_member_get(struct meta *m, uint64_t node_id, struct meta_member *out);
/* The cluster's active feature level (1 when the store has none).  GW_OK,
 * GW_ERR_CORRUPT or a fault. */
int meta_level_active(struct meta *m, uint32_t *out);

/* --- Proposers ------------------------------------------------------------------------ */

/* @rv: replication or local fault (GW_ERR_CANCELED at shutdown, GW_ERR_NOT_LEADER,
 * ...), in which case @result is meaningless; otherwise @result is the apply
 * outcome (see meta_apply). */
typedef void (*meta_propose_cb)(void *arg, int rv, int result);

/* What the S3 layer submits commands through; it cannot tell whether Raft or a
 * local apply is behind it. */
struct meta_proposer {
    /* Replicate and apply @cmd (ownership of the buffer stays with the caller;
     * it is copied).  On 0, @cb fires exactly once, later, on the loop thread,
     * never inside the call.  On non-zero, @cb never fires. */
    int (*propose)(struct meta_proposer *p, const struct gw_buf *cmd, meta_propose_cb cb,
                   void *arg);
    /* A linearizable read barrier: @cb(@arg, GW_OK) fires once this replica
     * holds every write committed before the call (reads that S3 promises to
     * be strongly consistent wait for it).  NULL when every write is local
     * (the single-node proposer): reads may go ahead at once.  Same callback
     * contract as propose; the result argument is always GW_OK. */
    int (*barrier)(struct meta_proposer *p, meta_propose_cb cb, void *arg);
    void *data;
};

/* Submit through @p (a shorthand for p->propose(p, ...)). */
int meta_propose(struct meta_proposer *p, const struct gw_buf *cmd, meta_propose_cb cb, void *arg);

struct meta_local_op;
struct meta_local_proposer;
typedef void (*meta_local_close_cb)(struct meta_local_proposer *lp);

/* A proposer for a single node without Raft, and for tests: each command is
 * applied with the next index (continuing from the stored last index) on a
 * later loop iteration, and its callback then fires.  Embed it; fields are
 * private to meta/proposer.c.  Hand &lp->base to the S3 layer. */
struct meta_local_proposer {
    struct meta_proposer base;
    uv_loop_t *loop;
    struct meta *m;
    uv_idle_t idle;
    struct meta_local_op *head, *tail;
    uint64_t next_index;
    bool closing;
    meta_local_close_cb close_cb;
};

/* Returns GW_OK or an LMDB fault reading the last applied index. */
int meta_local_proposer_init(struct meta_local_proposer *lp, uv_loop_t *loop, struct meta *m);
/* Close: proposals still queued complete with rv = GW_ERR_CANCELED, then @cb
 * (may be NULL) fires once the idle handle is closed.  Later proposals fail
 * with GW_ERR_CANCELED.  @m stays open (the caller closes it afterwards). */
void meta_local_proposer_close(struct meta_local_proposer *lp, meta_local_close_cb cb);

#endif
