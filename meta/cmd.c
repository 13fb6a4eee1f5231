/* The command codec: the only code that knows the wire format of a metadata
 * command.
 *
 *   u16 type | u16 version | u8 req_id[16] | u64 ts_ms | bytes user | fields...
 *
 * All integers are little-endian; "bytes" is a u32 length then the bytes; a
 * bool is one byte, 0 or 1; u32 and u64 fields are fixed-width.  The fields of each (type, version) are listed in
 * one table, so encoding and decoding cannot drift apart, and a new command
 * type is one table row plus one union member in meta.h.  Decoding checks
 * every length against its limit, rejects trailing bytes and non-canonical
 * bools (so decode(encode(x)) == x and encode(decode(b)) == b), and reports a
 * type or version from a newer binary as GW_ERR_TOO_NEW, not as corruption.
 *
 * Versioning: a change to a command's fields adds a version and keeps the old
 * rows decodable forever (commands live in the Raft log and in snapshots). */
#include <stddef.h>
#include <string.h>

#include <openssl/rand.h>

#include "unigw/err.h"
#include "unigw/meta.h"

enum field_kind { F_STR, F_BOOL, F_U32, F_U64 };

struct field {
    enum field_kind kind;
    size_t off; /* offset in struct meta_cmd */
    size_t max; /* for F_STR: maximum length */
};

struct cmd_desc {
    uint16_t version; /* the newest version; the only one so far for every type */
    size_t n_fields;
    struct field fields[8];
};

#define STR(member, lim) {F_STR, offsetof(struct meta_cmd, u.member), (lim)}
#define BOOL(member) {F_BOOL, offsetof(struct meta_cmd, u.member), 0}
#define U32(member) {F_U32, offsetof(struct meta_cmd, u.member), 0}
#define U64(member) {F_U64, offsetof(struct meta_cmd, u.member), 0}

static const struct cmd_desc descs[META_CMD__MAX + 1] = {
    [META_CMD_USER_CREATE] = {1, 2, {STR(user_create.name, META_NAME_MAX),
                                     BOOL(user_create.is_admin)}},
    [META_CMD_USER_SET_DISABLED] = {1, 2, {STR(user_set_disabled.name, META_NAME_MAX),
                                           BOOL(user_set_disabled.is_disabled)}},
    [META_CMD_USER_DELETE] = {1, 1, {STR(user_delete.name, META_NAME_MAX)}},
    [META_CMD_KEY_CREATE] = {1, 3, {STR(key_create.access_key, META_NAME_MAX),
                                    STR(key_create.user, META_NAME_MAX),
                                    STR(key_create.sealed, META_SEALED_MAX)}},
    [META_CMD_KEY_DELETE] = {1, 1, {STR(key_delete.access_key, META_NAME_MAX)}},
    [META_CMD_BUCKET_CREATE] = {1, 3, {STR(bucket_create.name, META_NAME_MAX),
                                       STR(bucket_create.owner, META_NAME_MAX),
                                       STR(bucket_create.region, META_NAME_MAX)}},
    [META_CMD_BUCKET_DELETE] = {1, 1, {STR(bucket_delete.name, META_NAME_MAX)}},
    [META_CMD_BUCKET_SET_OWNER] = {1, 2, {STR(bucket_set_owner.name, META_NAME_MAX),
                                          STR(bucket_set_owner.owner, META_NAME_MAX)}},
    [META_CMD_POLICY_PUT] = {1, 2, {STR(policy_put.bucket, META_NAME_MAX),
                                    STR(policy_put.policy, META_VALUE_MAX)}},
    [META_CMD_POLICY_DELETE] = {1, 1, {STR(policy_delete.bucket, META_NAME_MAX)}},
    [META_CMD_TAGS_PUT] = {1, 4, {STR(tags_put.bucket, META_NAME_MAX),
                                  STR(tags_put.key, META_OBJKEY_MAX),
                                  STR(tags_put.object_id, META_NAME_MAX),
                                  STR(tags_put.tags, META_VALUE_MAX)}},
    [META_CMD_TAGS_DELETE] = {1, 2, {STR(tags_delete.bucket, META_NAME_MAX),
                                     STR(tags_delete.key, META_OBJKEY_MAX)}},
    [META_CMD_UPLOAD_CREATE] = {1, 4, {STR(upload_create.bucket, META_NAME_MAX),
                                       STR(upload_create.key, META_OBJKEY_MAX),
                                       STR(upload_create.upload_id, META_UPLOAD_ID_MAX),
                                       STR(upload_create.info, META_VALUE_MAX)}},
    [META_CMD_PART_PUT] = {1, 7, {STR(part_put.bucket, META_NAME_MAX),
                                  STR(part_put.upload_id, META_UPLOAD_ID_MAX),
                                  U32(part_put.number), U64(part_put.size),
                                  STR(part_put.md5, META_MD5_LEN),
                                  STR(part_put.cksum, META_CKSUM_MAX),
                                  STR(part_put.file, META_NAME_MAX)}},
    [META_CMD_UPLOAD_CLAIM] = {1, 3, {STR(upload_claim.bucket, META_NAME_MAX),
                                      STR(upload_claim.upload_id, META_UPLOAD_ID_MAX),
                                      STR(upload_claim.claim, META_CLAIM_MAX)}},
    [META_CMD_UPLOAD_FINISH] = {1, 4, {STR(upload_finish.bucket, META_NAME_MAX),
                                       STR(upload_finish.upload_id, META_UPLOAD_ID_MAX),
                                       STR(upload_finish.etag, META_ETAG_MAX),
                                       U64(upload_finish.size)}},
    [META_CMD_UPLOAD_ABORT] = {1, 2, {STR(upload_abort.bucket, META_NAME_MAX),
                                      STR(upload_abort.upload_id, META_UPLOAD_ID_MAX)}},
    [META_CMD_BUCKET_TAGS_PUT] = {1, 2, {STR(bucket_tags_put.bucket, META_NAME_MAX),
                                         STR(bucket_tags_put.tags, META_VALUE_MAX)}},
    [META_CMD_BUCKET_TAGS_DELETE] = {1, 1, {STR(bucket_tags_delete.bucket, META_NAME_MAX)}},
    [META_CMD_NOOP] = {1, 0, {{0}}},
    [META_CMD_TAGS_DROP] = {1, 3, {STR(tags_drop.bucket, META_NAME_MAX),
                                   STR(tags_drop.key, META_OBJKEY_MAX),
                                   STR(tags_drop.object_id, META_NAME_MAX)}},
    [META_CMD_MEMBER_REGISTER] = {1, 4, {U64(member_register.node_id),
                                         U32(member_register.min_level),
                                         U32(member_register.max_level),
                                         STR(member_register.version, META_VERSION_MAX)}},
    [META_CMD_CLUSTER_FINALIZE] = {1, 1, {STR(cluster_finalize.voters,
                                              8 * META_VOTERS_MAX)}},
};

/* The feature level each command type needs.  Every type so far shipped in
 * the first release, level 1 (tags_drop, member_register and cluster_finalize
 * included).  A type or version added later gets the level that introduces it
 * (a new version of a type: a per-version row), and the proposer refuses it
 * until the cluster is finalized at that level. */
static const uint32_t min_levels[META_CMD__MAX + 1] = {
    [META_CMD_USER_CREATE] = 1,       [META_CMD_USER_SET_DISABLED] = 1,
    [META_CMD_USER_DELETE] = 1,       [META_CMD_KEY_CREATE] = 1,
    [META_CMD_KEY_DELETE] = 1,        [META_CMD_BUCKET_CREATE] = 1,
    [META_CMD_BUCKET_DELETE] = 1,     [META_CMD_BUCKET_SET_OWNER] = 1,
    [META_CMD_POLICY_PUT] = 1,        [META_CMD_POLICY_DELETE] = 1,
    [META_CMD_TAGS_PUT] = 1,          [META_CMD_TAGS_DELETE] = 1,
    [META_CMD_UPLOAD_CREATE] = 1,     [META_CMD_PART_PUT] = 1,
    [META_CMD_UPLOAD_CLAIM] = 1,      [META_CMD_UPLOAD_FINISH] = 1,
    [META_CMD_UPLOAD_ABORT] = 1,      [META_CMD_BUCKET_TAGS_PUT] = 1,
    [META_CMD_BUCKET_TAGS_DELETE] = 1, [META_CMD_NOOP] = 1,
    [META_CMD_TAGS_DROP] = 1,         [META_CMD_MEMBER_REGISTER] = 1,
    [META_CMD_CLUSTER_FINALIZE] = 1,
};

uint32_t meta_cmd_min_level(uint16_t type)
{
    return type <= META_CMD__MAX ? min_levels[type] : 0;
}

#undef STR
#undef BOOL
#undef U32
#undef U64

static const char *const type_names[META_CMD__MAX + 1] = {
    [META_CMD_USER_CREATE] = "user_create",
    [META_CMD_USER_SET_DISABLED] = "user_set_disabled",
    [META_CMD_USER_DELETE] = "user_delete",
    [META_CMD_KEY_CREATE] = "key_create",
    [META_CMD_KEY_DELETE] = "key_delete",
    [META_CMD_BUCKET_CREATE] = "bucket_create",
    [META_CMD_BUCKET_DELETE] = "bucket_delete",
    [META_CMD_BUCKET_SET_OWNER] = "bucket_set_owner",
    [META_CMD_POLICY_PUT] = "policy_put",
    [META_CMD_POLICY_DELETE] = "policy_delete",
    [META_CMD_TAGS_PUT] = "tags_put",
    [META_CMD_TAGS_DELETE] = "tags_delete",
    [META_CMD_UPLOAD_CREATE] = "upload_create",
    [META_CMD_PART_PUT] = "part_put",
    [META_CMD_UPLOAD_CLAIM] = "upload_claim",
    [META_CMD_UPLOAD_FINISH] = "upload_finish",
    [META_CMD_UPLOAD_ABORT] = "upload_abort",
    [META_CMD_BUCKET_TAGS_PUT] = "bucket_tags_put",
    [META_CMD_BUCKET_TAGS_DELETE] = "bucket_tags_delete",
    [META_CMD_NOOP] = "noop",
    [META_CMD_TAGS_DROP] = "tags_drop",
    [META_CMD_MEMBER_REGISTER] = "member_register",
    [META_CMD_CLUSTER_FINALIZE] = "cluster_finalize",
};

const char *meta_cmd_type_name(uint16_t type)
{
    if (type > META_CMD__MAX || type_names[type] == NULL) {
        return "unknown";
    }
    return type_names[type];
}

static const struct cmd_desc *desc_of(uint16_t type)
{
    if (type == 0 || type > META_CMD__MAX || descs[type].version == 0) {
        return NULL;
    }
    return &descs[type];
}

static struct gw_str *field_str(struct meta_cmd *c, const struct field *f)
{
    return (struct gw_str *)(void *)((char *)c + f->off);
}

static bool *field_bool(struct meta_cmd *c, const struct field *f)
{
    return (bool *)(void *)((char *)c + f->off);
}

static uint32_t *field_u32(struct meta_cmd *c, const struct field *f)
{
    return (uint32_t *)(void *)((char *)c + f->off);
}

static uint64_t *field_u64(struct meta_cmd *c, const struct field *f)
{
    return (uint64_t *)(void *)((char *)c + f->off);
}

/* Whether every field of @c is within its limit (so encoding cannot fail midway). */
static bool cmd_fits(const struct meta_cmd *c, const struct cmd_desc *d)
{
    struct meta_cmd *cc = (struct meta_cmd *)c; /* field_str only computes addresses */

    if (c->hdr.user.len > META_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        const struct field *f = &d->fields[i];
        if (f->kind == F_STR && field_str(cc, f)->len > f->max) {
            return false;
        }
    }
    return true;
}

int meta_cmd_encode(struct gw_buf *out, const struct meta_cmd *c)
{
    const struct cmd_desc *d = desc_of(c->type);
    struct meta_cmd *cc = (struct meta_cmd *)c;

    if (d == NULL || !cmd_fits(c, d)) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    gw_buf_put_u16(out, c->type);
    gw_buf_put_u16(out, d->version);
    gw_buf_append(out, c->hdr.req_id, META_REQ_ID_LEN);
    gw_buf_put_u64(out, c->hdr.ts_ms);
    gw_buf_put_bytes(out, c->hdr.user);
    for (size_t i = 0; i < d->n_fields; i++) {
        const struct field *f = &d->fields[i];
        if (f->kind == F_STR) {
            gw_buf_put_bytes(out, *field_str(cc, f));
        } else if (f->kind == F_U32) {
            gw_buf_put_u32(out, *field_u32(cc, f));
        } else if (f->kind == F_U64) {
            gw_buf_put_u64(out, *field_u64(cc, f));
        } else {
            gw_buf_put_u8(out, *field_bool(cc, f) ? 1 : 0);
        }
    }
    return GW_OK;
}

static bool read_field(struct gw_reader *r, struct meta_cmd *c, const struct field *f)
{
    uint8_t b = 0;

    if (f->kind == F_U32) {
        return gw_reader_u32(r, field_u32(c, f));
    }
    if (f->kind == F_U64) {
        return gw_reader_u64(r, field_u64(c, f));
    }
    if (f->kind == F_BOOL) {
        if (!gw_reader_u8(r, &b) || b > 1) {
            return false;
        }
        *field_bool(c, f) = b == 1;
        return true;
    }
    return gw_reader_bytes(r, field_str(c, f)) && field_str(c, f)->len <= f->max;
}

static bool read_hdr(struct gw_reader *r, struct meta_cmd_hdr *h)
{
    for (size_t i = 0; i < META_REQ_ID_LEN; i++) {
        if (!gw_reader_u8(r, &h->req_id[i])) {
            return false;
        }
    }
    return gw_reader_u64(r, &h->ts_ms) && gw_reader_bytes(r, &h->user) &&
           h->user.len <= META_NAME_MAX;
}

int meta_cmd_decode(const void *p, size_t len, struct meta_cmd *out)
{
    struct gw_reader r = gw_reader_make(p, len);
    const struct cmd_desc *d;

    memset(out, 0, sizeof *out);
    if (!gw_reader_u16(&r, &out->type) || !gw_reader_u16(&r, &out->version)) {
        return GW_ERR_CORRUPT;
    }
    if (out->type == 0 || out->version == 0) {
        return GW_ERR_CORRUPT;
    }
    d = desc_of(out->type);
    if (d == NULL || out->version > d->version) {
        return GW_ERR_TOO_NEW;
    }
    if (!read_hdr(&r, &out->hdr)) {
        return GW_ERR_CORRUPT;
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        if (!read_field(&r, out, &d->fields[i])) {
            return GW_ERR_CORRUPT;
        }
    }
    return r.len == 0 ? GW_OK : GW_ERR_CORRUPT;
}

/* The typed encoders: fill a struct meta_cmd and encode it. */

static struct meta_cmd cmd_make(uint16_t type, const struct meta_cmd_hdr *h)
{
    struct meta_cmd c;

    memset(&c, 0, sizeof c);
    c.type = type;
    c.hdr = *h;
    return c;
}

int meta_cmd_noop(struct gw_buf *out, const struct meta_cmd_hdr *h)
{
    struct meta_cmd c = cmd_make(META_CMD_NOOP, h);

    return meta_cmd_encode(out, &c);
}

int meta_cmd_user_create(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name,
                         bool is_admin)
{
    struct meta_cmd c = cmd_make(META_CMD_USER_CREATE, h);

    c.u.user_create.name = name;
    c.u.user_create.is_admin = is_admin;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_user_set_disabled(struct gw_buf *out, const struct meta_cmd_hdr *h,
                               struct gw_str name, bool is_disabled)
{
    struct meta_cmd c = cmd_make(META_CMD_USER_SET_DISABLED, h);

    c.u.user_set_disabled.name = name;
    c.u.user_set_disabled.is_disabled = is_disabled;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_user_delete(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name)
{
    struct meta_cmd c = cmd_make(META_CMD_USER_DELETE, h);

    c.u.user_delete.name = name;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_key_create(struct gw_buf *out, const struct meta_cmd_hdr *h,
                        struct gw_str access_key, struct gw_str user, struct gw_str sealed)
{
    struct meta_cmd c = cmd_make(META_CMD_KEY_CREATE, h);

    c.u.key_create.access_key = access_key;
    c.u.key_create.user = user;
    c.u.key_create.sealed = sealed;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_key_delete(struct gw_buf *out, const struct meta_cmd_hdr *h,
                        struct gw_str access_key)
{
    struct meta_cmd c = cmd_make(META_CMD_KEY_DELETE, h);

    c.u.key_delete.access_key = access_key;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_bucket_create(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name,
                           struct gw_str owner, struct gw_str region)
{
    struct meta_cmd c = cmd_make(META_CMD_BUCKET_CREATE, h);

    c.u.bucket_create.name = name;
    c.u.bucket_create.owner = owner;
    c.u.bucket_create.region = region;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_bucket_delete(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str name)
{
    struct meta_cmd c = cmd_make(META_CMD_BUCKET_DELETE, h);

    c.u.bucket_delete.name = name;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_bucket_set_owner(struct gw_buf *out, const struct meta_cmd_hdr *h,
                              struct gw_str name, struct gw_str owner)
{
    struct meta_cmd c = cmd_make(META_CMD_BUCKET_SET_OWNER, h);

    c.u.bucket_set_owner.name = name;
    c.u.bucket_set_owner.owner = owner;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_policy_put(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                        struct gw_str policy)
{
    struct meta_cmd c = cmd_make(META_CMD_POLICY_PUT, h);

    c.u.policy_put.bucket = bucket;
    c.u.policy_put.policy = policy;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_policy_delete(struct gw_buf *out, const struct meta_cmd_hdr *h,
                           struct gw_str bucket)
{
    struct meta_cmd c = cmd_make(META_CMD_POLICY_DELETE, h);

    c.u.policy_delete.bucket = bucket;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_tags_put(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                      struct gw_str key, struct gw_str object_id, struct gw_str tags)
{
    struct meta_cmd c = cmd_make(META_CMD_TAGS_PUT, h);

    c.u.tags_put.bucket = bucket;
    c.u.tags_put.key = key;
    c.u.tags_put.object_id = object_id;
    c.u.tags_put.tags = tags;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_tags_delete(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                         struct gw_str key)
{
    struct meta_cmd c = cmd_make(META_CMD_TAGS_DELETE, h);

    c.u.tags_delete.bucket = bucket;
    c.u.tags_delete.key = key;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_tags_drop(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                       struct gw_str key, struct gw_str object_id)
{
    struct meta_cmd c = cmd_make(META_CMD_TAGS_DROP, h);

    c.u.tags_drop.bucket = bucket;
    c.u.tags_drop.key = key;
    c.u.tags_drop.object_id = object_id;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_upload_create(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                           struct gw_str key, struct gw_str upload_id, struct gw_str info)
{
    struct meta_cmd c = cmd_make(META_CMD_UPLOAD_CREATE, h);

    c.u.upload_create.bucket = bucket;
    c.u.upload_create.key = key;
    c.u.upload_create.upload_id = upload_id;
    c.u.upload_create.info = info;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_part_put(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                      struct gw_str upload_id, uint32_t number, uint64_t size, struct gw_str md5,
                      struct gw_str cksum, struct gw_str file)
{
    struct meta_cmd c = cmd_make(META_CMD_PART_PUT, h);

    c.u.part_put.bucket = bucket;
    c.u.part_put.upload_id = upload_id;
    c.u.part_put.number = number;
    c.u.part_put.size = size;
    c.u.part_put.md5 = md5;
    c.u.part_put.cksum = cksum;
    c.u.part_put.file = file;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_upload_claim(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                          struct gw_str upload_id, struct gw_str claim)
{
    struct meta_cmd c = cmd_make(META_CMD_UPLOAD_CLAIM, h);

    c.u.upload_claim.bucket = bucket;
    c.u.upload_claim.upload_id = upload_id;
    c.u.upload_claim.claim = claim;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_upload_finish(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                           struct gw_str upload_id, struct gw_str etag, uint64_t size)
{
    struct meta_cmd c = cmd_make(META_CMD_UPLOAD_FINISH, h);

    c.u.upload_finish.bucket = bucket;
    c.u.upload_finish.upload_id = upload_id;
    c.u.upload_finish.etag = etag;
    c.u.upload_finish.size = size;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_upload_abort(struct gw_buf *out, const struct meta_cmd_hdr *h, struct gw_str bucket,
                          struct gw_str upload_id)
{
    struct meta_cmd c = cmd_make(META_CMD_UPLOAD_ABORT, h);

    c.u.upload_abort.bucket = bucket;
    c.u.upload_abort.upload_id = upload_id;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_bucket_tags_put(struct gw_buf *out, const struct meta_cmd_hdr *h,
                             struct gw_str bucket, struct gw_str tags)
{
    struct meta_cmd c = cmd_make(META_CMD_BUCKET_TAGS_PUT, h);

    c.u.bucket_tags_put.bucket = bucket;
    c.u.bucket_tags_put.tags = tags;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_bucket_tags_delete(struct gw_buf *out, const struct meta_cmd_hdr *h,
                                struct gw_str bucket)
{
    struct meta_cmd c = cmd_make(META_CMD_BUCKET_TAGS_DELETE, h);

    c.u.bucket_tags_delete.bucket = bucket;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_hdr_init(struct meta_cmd_hdr *h, uint64_t now_ms, struct gw_str user)
{
    memset(h, 0, sizeof *h);
    if (RAND_bytes(h->req_id, META_REQ_ID_LEN) != 1) {
        return GW_ERR_INTERNAL;
    }
    h->ts_ms = now_ms;
    h->user = user;
    return GW_OK;
}

int meta_nonce_make(uint8_t nonce[META_NONCE_LEN])
{
    return RAND_bytes(nonce, META_NONCE_LEN) == 1 ? GW_OK : GW_ERR_INTERNAL;
}

int meta_cmd_member_register(struct gw_buf *out, const struct meta_cmd_hdr *h, uint64_t node_id,
                             uint32_t min_level, uint32_t max_level, struct gw_str version)
{
    struct meta_cmd c = cmd_make(META_CMD_MEMBER_REGISTER, h);

    c.u.member_register.node_id = node_id;
    c.u.member_register.min_level = min_level;
    c.u.member_register.max_level = max_level;
    c.u.member_register.version = version;
    return meta_cmd_encode(out, &c);
}

int meta_cmd_cluster_finalize(struct gw_buf *out, const struct meta_cmd_hdr *h,
                              const uint64_t *voters, size_t n_voters)
{
    struct meta_cmd c = cmd_make(META_CMD_CLUSTER_FINALIZE, h);
    struct gw_buf ids = GW_BUF_INIT;
    int rv;

    if (n_voters > META_VOTERS_MAX) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n_voters; i++) {
        gw_buf_put_u64(&ids, voters[i]);
    }
    c.u.cluster_finalize.voters = gw_buf_str(&ids);
    rv = meta_cmd_encode(out, &c);
    gw_buf_free(&ids);
    return rv;
}
