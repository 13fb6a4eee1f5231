/* The reference model of the metadata state machine, for test_model.c.
 *
 * Every name a generated command can carry comes from a small pool, so that
 * random sequences collide often (the same bucket created twice, a part for
 * an upload just aborted, a user deleted while it owns a bucket).  A pool's
 * last slot is the invalid value (an empty name, a bad sealed blob, part
 * number 0): generated rarely, and it must be refused the way meta documents.
 * The model holds the state as plain arrays indexed by pool slot and applies
 * a command in a few lines per type, written from the outcomes documented in
 * include/unigw/meta.h and the meta/ file headers, not from meta's code.
 *
 * Bucket names sort "b" < "b0" < "bb" < "c" and the object keys include two
 * 1,024-byte keys that differ in their last byte (stored under a hash), so
 * the prefix and hashing edges are hit on every run. */
#ifndef UNIGW_TESTS_UNIT_META_MODEL_H
#define UNIGW_TESTS_UNIT_META_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "unigw/err.h"
#include "unigw/meta.h"

#define N_USERS 3
#define N_AKS 4
#define N_BUCKETS 4
#define N_OKEYS 4
#define N_OIDS 2
#define N_IDS 3
#define N_NUMS 3 /* valid part numbers; NUMS[3], NUMS[4] are invalid */
#define N_WHO 3  /* proposing users; WHO[3] is "" */

static const char *const USERS[N_USERS + 1] = {"u0", "u1", "u2", ""};
static const char *const AKS[N_AKS + 1] = {"AK0", "AK1", "AK2", "AK3", ""};
static const char *const BUCKETS[N_BUCKETS + 1] = {"b", "b0", "bb", "c", ""};
static const char *const OIDS[N_OIDS + 1] = {"o1", "o2", ""};
static const char *const IDS[N_IDS + 1] = {"v1-a", "v1-b", "v1-c", ""};
static const char *const WHO[N_WHO + 1] = {"u0", "u1", "admin", ""};
static const uint32_t NUMS[N_NUMS + 2] = {1, 2, 3, 0, 10001};
static const char *const SECRETS[3] = {"s1", "secret-two", NULL}; /* NULL: bad sealed blob */
static const char *const REGIONS[3] = {"us-east-1", "eu-west-1", ""};
static const char *const POLICIES[3] = {"{}", "{\"V\":1}", ""}; /* "": MALFORMED_POLICY */
static const char *const TAGSETS[3] = {"k=v", "a=b&c=d", ""};
static const char *const INFOS[2] = {"i1", ""};
static const char *const CLAIMS[3] = {"c1", "c2", ""};
static const char *const ETAGS[2] = {"e-1", "e-2"};
static const char *const MD5S[3] = {"AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB", "short"};
static const char *const CKSUMS[2] = {"", "crc"};
static const char *const FILES[3] = {"1-x", "2-y", ""};

static char model_long_keys[2][META_OBJKEY_MAX];

/* Object key @i (N_OKEYS: the empty key). */
static inline struct gw_str model_okey(int i)
{
    if (i == 2 || i == 3) {
        memset(model_long_keys[i - 2], 'x', META_OBJKEY_MAX);
        model_long_keys[i - 2][META_OBJKEY_MAX - 1] = i == 2 ? 'x' : 'y';
        return gw_str_make(model_long_keys[i - 2], META_OBJKEY_MAX);
    }
    return gw_str_c(i == 0 ? "a" : i == 1 ? "a/b" : "");
}

/* One generated command: its type and the pool slot of each field it has. */
struct gcmd {
    uint16_t type;
    uint8_t req_id[META_REQ_ID_LEN]; /* all zero: no dedup */
    uint64_t ts;
    int who;
    int user, ak, secret, bucket, owner, region, policy, okey, oid, tagset;
    int id, info, num, md5, cksum, file, claim, etag;
    bool flag;
    uint64_t size;
};

struct m_user {
    bool on, is_admin, is_disabled;
    uint64_t created;
    uint64_t seq; /* its id is AIDA + 16 hex digits of seq (meta/user.c) */
};

struct m_key {
    bool on;
    int user, secret;
};

struct m_bucket {
    bool on;
    int owner, region;
    uint64_t created;
    int policy, btags; /* -1: none */
};

struct m_tag {
    bool on;
    int oid, tagset;
};

struct m_upload {
    bool on;
    int okey, who, info, claim, etag; /* claim, etag: -1 until set */
    enum meta_upload_state state;
    uint64_t initiated, done, size;
};

struct m_part {
    bool on;
    int md5, cksum, file;
    uint64_t size, ts;
};

/* Everything one command can change: copied before a command, restored when
 * it is refused, so a refusal changes nothing, as in meta. */
struct m_state {
    struct m_user users[N_USERS];
    struct m_key keys[N_AKS];
    struct m_bucket buckets[N_BUCKETS];
    struct m_tag tags[N_BUCKETS][N_OKEYS];
    struct m_upload ups[N_BUCKETS][N_IDS];
    struct m_part parts[N_BUCKETS][N_IDS][N_NUMS];
    uint64_t user_seq; /* users ever created: ids are never reused */
};

static int m_user_create(struct m_state *s, const struct gcmd *g)
{
    if (g->user == N_USERS) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (s->users[g->user].on) {
        return GW_ERR_EXISTS;
    }
    s->users[g->user] = (struct m_user){true, g->flag, false, g->ts, ++s->user_seq};
    return GW_OK;
}

static int m_user_set_disabled(struct m_state *s, const struct gcmd *g)
{
    if (g->user == N_USERS || !s->users[g->user].on) {
        return GW_ERR_NOT_FOUND;
    }
    s->users[g->user].is_disabled = g->flag;
    return GW_OK;
}

static int m_user_delete(struct m_state *s, const struct gcmd *g)
{
    if (g->user == N_USERS || !s->users[g->user].on) {
        return GW_ERR_NOT_FOUND;
    }
    for (int b = 0; b < N_BUCKETS; b++) {
        if (s->buckets[b].on && s->buckets[b].owner == g->user) {
            return GW_ERR_INVALID_REQUEST; /* still owns a bucket */
        }
    }
    for (int k = 0; k < N_AKS; k++) {
        if (s->keys[k].on && s->keys[k].user == g->user) {
            s->keys[k].on = false;
        }
    }
    s->users[g->user].on = false;
    return GW_OK;
}

static int m_key_create(struct m_state *s, const struct gcmd *g)
{
    if (g->ak == N_AKS || g->user == N_USERS || SECRETS[g->secret] == NULL ||
        !s->users[g->user].on) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (s->keys[g->ak].on) {
        return GW_ERR_EXISTS;
    }
    s->keys[g->ak] = (struct m_key){true, g->user, g->secret};
    return GW_OK;
}

static int m_key_delete(struct m_state *s, const struct gcmd *g)
{
    if (g->ak == N_AKS || !s->keys[g->ak].on) {
        return GW_ERR_NOT_FOUND;
    }
    s->keys[g->ak].on = false;
    return GW_OK;
}

static int m_bucket_create(struct m_state *s, const struct gcmd *g)
{
    struct m_bucket *b = &s->buckets[g->bucket < N_BUCKETS ? g->bucket : 0];

    if (g->owner == N_USERS || !s->users[g->owner].on || g->bucket == N_BUCKETS) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (b->on) {
        return b->owner == g->owner ? GW_ERR_BUCKET_OWNED_BY_YOU : GW_ERR_BUCKET_EXISTS;
    }
    *b = (struct m_bucket){true, g->owner, g->region, g->ts, -1, -1};
    return GW_OK;
}

/* A bucket goes with its policy, its tags, its objects' tags and its uploads. */
static int m_bucket_delete(struct m_state *s, const struct gcmd *g)
{
    int b = g->bucket;

    if (b == N_BUCKETS || !s->buckets[b].on) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    memset(&s->buckets[b], 0, sizeof s->buckets[b]);
    memset(s->tags[b], 0, sizeof s->tags[b]);
    memset(s->ups[b], 0, sizeof s->ups[b]);
    memset(s->parts[b], 0, sizeof s->parts[b]);
    return GW_OK;
}

static int m_bucket_set_owner(struct m_state *s, const struct gcmd *g)
{
    if (g->bucket == N_BUCKETS || !s->buckets[g->bucket].on) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    if (g->owner == N_USERS || !s->users[g->owner].on) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    s->buckets[g->bucket].owner = g->owner;
    return GW_OK;
}

static bool m_has_bucket(const struct m_state *s, int b)
{
    return b < N_BUCKETS && s->buckets[b].on;
}

static int m_policy(struct m_state *s, const struct gcmd *g)
{
    if (!m_has_bucket(s, g->bucket)) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    if (g->type == META_CMD_POLICY_DELETE) {
        s->buckets[g->bucket].policy = -1;
        return GW_OK;
    }
    if (POLICIES[g->policy][0] == '\0') {
        return GW_ERR_MALFORMED_POLICY;
    }
    s->buckets[g->bucket].policy = g->policy;
    return GW_OK;
}

static int m_tags(struct m_state *s, const struct gcmd *g)
{
    bool valid = g->bucket < N_BUCKETS && g->okey < N_OKEYS;
    struct m_tag *t = valid ? &s->tags[g->bucket][g->okey] : NULL;

    if (g->type == META_CMD_TAGS_DROP) {
        if (t != NULL && t->on && t->oid == g->oid) {
            t->on = false;
        }
        return GW_OK; /* housekeeping: never refused */
    }
    if (!m_has_bucket(s, g->bucket)) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    if (g->type == META_CMD_TAGS_DELETE) {
        if (t != NULL) {
            t->on = false; /* an empty key names no object: nothing to delete */
        }
        return GW_OK;
    }
    if (t == NULL || g->oid == N_OIDS) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    *t = (struct m_tag){true, g->oid, g->tagset};
    return GW_OK;
}

static int m_bucket_tags(struct m_state *s, const struct gcmd *g)
{
    if (!m_has_bucket(s, g->bucket)) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    s->buckets[g->bucket].btags = g->type == META_CMD_BUCKET_TAGS_PUT ? g->tagset : -1;
    return GW_OK;
}

static int m_upload_create(struct m_state *s, const struct gcmd *g)
{
    if (g->bucket == N_BUCKETS || g->okey == N_OKEYS || g->id == N_IDS || g->who == N_WHO) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (s->ups[g->bucket][g->id].on) {
        return GW_ERR_CONDITIONAL_CONFLICT;
    }
    /* Apply does not require a bucket record: POSIX-made buckets have none. */
    s->ups[g->bucket][g->id] = (struct m_upload){true,  g->okey, g->who, g->info, -1, -1,
                                                 META_UPLOAD_OPEN, g->ts, 0, 0};
    return GW_OK;
}

/* The upload a command names, or NULL (NO_SUCH_UPLOAD). */
static struct m_upload *m_upload_of(struct m_state *s, const struct gcmd *g)
{
    if (g->bucket == N_BUCKETS || g->id == N_IDS || !s->ups[g->bucket][g->id].on) {
        return NULL;
    }
    return &s->ups[g->bucket][g->id];
}

static int m_part_put(struct m_state *s, const struct gcmd *g)
{
    struct m_upload *u = m_upload_of(s, g);

    if (u == NULL || u->state == META_UPLOAD_COMPLETED) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    if (u->state == META_UPLOAD_CLAIMED) {
        return GW_ERR_CONDITIONAL_CONFLICT;
    }
    if (g->num >= N_NUMS || strlen(MD5S[g->md5]) != META_MD5_LEN || FILES[g->file][0] == '\0') {
        return GW_ERR_INVALID_ARGUMENT;
    }
    s->parts[g->bucket][g->id][g->num] =
        (struct m_part){true, g->md5, g->cksum, g->file, g->size, g->ts};
    return GW_OK;
}

static int m_claim(struct m_state *s, const struct gcmd *g)
{
    struct m_upload *u = m_upload_of(s, g);

    if (u == NULL) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    if (u->state == META_UPLOAD_COMPLETED) {
        return u->claim == g->claim ? GW_OK : GW_ERR_NO_SUCH_UPLOAD;
    }
    if (u->state == META_UPLOAD_CLAIMED) {
        return u->claim == g->claim ? GW_OK : GW_ERR_CONDITIONAL_CONFLICT;
    }
    if (CLAIMS[g->claim][0] == '\0') {
        return GW_ERR_INVALID_ARGUMENT;
    }
    u->state = META_UPLOAD_CLAIMED;
    u->claim = g->claim;
    u->done = g->ts;
    return GW_OK;
}

static int m_finish(struct m_state *s, const struct gcmd *g)
{
    struct m_upload *u = m_upload_of(s, g);

    if (u == NULL || u->state == META_UPLOAD_OPEN) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    u->state = META_UPLOAD_COMPLETED;
    u->done = g->ts;
    u->etag = g->etag;
    u->size = g->size;
    memset(s->parts[g->bucket][g->id], 0, sizeof s->parts[g->bucket][g->id]);
    return GW_OK;
}

static int m_abort(struct m_state *s, const struct gcmd *g)
{
    struct m_upload *u = m_upload_of(s, g);

    if (u == NULL) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    memset(u, 0, sizeof *u);
    memset(s->parts[g->bucket][g->id], 0, sizeof s->parts[g->bucket][g->id]);
    return GW_OK;
}

/* Run @g on @s: the business result; @s is garbage when it is not GW_OK. */
static int m_run(struct m_state *s, const struct gcmd *g)
{
    switch (g->type) {
    case META_CMD_USER_CREATE:
        return m_user_create(s, g);
    case META_CMD_USER_SET_DISABLED:
        return m_user_set_disabled(s, g);
    case META_CMD_USER_DELETE:
        return m_user_delete(s, g);
    case META_CMD_KEY_CREATE:
        return m_key_create(s, g);
    case META_CMD_KEY_DELETE:
        return m_key_delete(s, g);
    case META_CMD_BUCKET_CREATE:
        return m_bucket_create(s, g);
    case META_CMD_BUCKET_DELETE:
        return m_bucket_delete(s, g);
    case META_CMD_BUCKET_SET_OWNER:
        return m_bucket_set_owner(s, g);
    case META_CMD_POLICY_PUT:
    case META_CMD_POLICY_DELETE:
        return m_policy(s, g);
    case META_CMD_TAGS_PUT:
    case META_CMD_TAGS_DELETE:
    case META_CMD_TAGS_DROP:
        return m_tags(s, g);
    case META_CMD_BUCKET_TAGS_PUT:
    case META_CMD_BUCKET_TAGS_DELETE:
        return m_bucket_tags(s, g);
    case META_CMD_UPLOAD_CREATE:
        return m_upload_create(s, g);
    case META_CMD_PART_PUT:
        return m_part_put(s, g);
    case META_CMD_UPLOAD_CLAIM:
        return m_claim(s, g);
    case META_CMD_UPLOAD_FINISH:
        return m_finish(s, g);
    case META_CMD_UPLOAD_ABORT:
        return m_abort(s, g);
    default:
        return GW_OK; /* noop */
    }
}

/* The deterministic fault the test injects through meta's seam: a pure
 * function of the command, so every replica meets it alike. */
static inline bool model_fault_due(uint64_t ts)
{
    return ts % 29 == 0;
}

#endif
