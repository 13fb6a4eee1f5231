/* Bucket policies: the AWS JSON policy language, parsed and validated once
 * into an immutable compiled form, then evaluated per request.
 *
 * Pure: no I/O and no clock (the request carries the time).  Parsing checks
 * what AWS checks for a bucket policy (known fields, Effect, exactly one of
 * Principal/NotPrincipal, Action/NotAction and Resource/NotResource, known
 * s3 actions, resources inside this bucket, condition operators and keys and
 * the syntax of their values) and reports the first problem as a sentence.
 *
 * Evaluation follows AWS: a statement applies when its principal, action,
 * resource and every condition match; an applying Deny wins over any Allow,
 * and nothing applying is an implicit deny.  The caller combines that with
 * ownership (s3/service.c authorize()). */
#ifndef UNIGW_S3_POLICY_H
#define UNIGW_S3_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/str.h"

#define S3_POLICY_MAX_LEN (20 * 1024) /* AWS's limit for a bucket policy */
#define S3_POLICY_CACHE_CAP 64

struct s3_policy;
struct s3_policy_cache;

enum s3_policy_decision {
    S3_POLICY_NONE = 0, /* no statement applies: implicit deny */
    S3_POLICY_ALLOW,
    S3_POLICY_DENY,
};

/* Look up the tag @key of the object the request names.  Return true with
 * *@value (valid for the rest of the evaluation) when the object has it. */
typedef bool (*s3_policy_tag_cb)(void *arg, struct gw_str key, struct gw_str *value);

/* The request as the policy sees it.  A NULL view (p == NULL) is a condition
 * key absent from the request; an empty view is present and empty. */
struct s3_policy_request {
    const char *action;  /* "s3:GetObject" (s3_op_action) */
    struct gw_str bucket;
    struct gw_str key;   /* empty for bucket-level requests */
    bool is_anonymous;
    struct gw_str user;  /* the authenticated user's name (aws:username) */
    struct gw_str user_id; /* and immutable id (aws:userid, what stored principals name) */
    const char *source_ip; /* textual IPv4 or IPv6, NULL when unknown */
    bool is_secure;      /* aws:SecureTransport */
    int64_t now;         /* aws:CurrentTime, seconds since the epoch */
    struct gw_str referer;    /* aws:Referer */
    struct gw_str user_agent; /* aws:UserAgent */
    struct gw_str prefix;     /* s3:prefix */
    struct gw_str delimiter;  /* s3:delimiter */
    struct gw_str max_keys;   /* s3:max-keys */
    s3_policy_tag_cb tag_get; /* s3:ExistingObjectTag/<key>; NULL: no tags known */
    void *tag_arg;
};

/* Whether @s has the form of a user id ("AIDA" or "AIDL" and 16 upper-case
 * hex digits, meta/user.c); a principal of that form matches by id. */
bool s3_policy_is_user_id(struct gw_str s);

/* Parse and validate the policy document @doc for bucket @bucket.  Returns
 * GW_OK with *@out (reference count 1; release with s3_policy_unref), or
 * GW_ERR_MALFORMED_POLICY with a sentence in @err (@err_len bytes, always
 * NUL-terminated when @err_len > 0). */
int s3_policy_parse(struct gw_str doc, struct gw_str bucket, struct s3_policy **out, char *err,
                    size_t err_len);
/* Take and drop a reference (thread-safe).  unref(NULL) is a no-op. */
struct s3_policy *s3_policy_ref(struct s3_policy *p);
void s3_policy_unref(struct s3_policy *p);

/* Evaluate @r against @p: S3_POLICY_DENY when a Deny statement applies,
 * else S3_POLICY_ALLOW when an Allow statement does, else S3_POLICY_NONE. */
enum s3_policy_decision s3_policy_eval(const struct s3_policy *p,
                                       const struct s3_policy_request *r);

/* Whether @p grants anything to everyone: an Allow statement whose principal
 * is "*" (or a NotPrincipal) and whose conditions do not pin the caller
 * (aws:SourceIp ranges, aws:userid / aws:username values), as AWS's
 * GetBucketPolicyStatus defines it. */
bool s3_policy_is_public(const struct s3_policy *p);

/* A bounded cache of compiled policies keyed by (bucket, exact document), so
 * that a request does not parse a document it has seen before.  Thread-safe.
 * @cap entries (0: S3_POLICY_CACHE_CAP); the least recently used goes first. */
struct s3_policy_cache *s3_policy_cache_create(size_t cap);
void s3_policy_cache_destroy(struct s3_policy_cache *c);
/* Return the compiled form of @doc for @bucket as a new reference, parsing it
 * when it is not cached.  Errors as s3_policy_parse (failures are not cached). */
int s3_policy_cache_get(struct s3_policy_cache *c, struct gw_str bucket, struct gw_str doc,
                        struct s3_policy **out, char *err, size_t err_len);

#endif
