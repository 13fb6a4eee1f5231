/* Bucket policy parser: parse + validate (jansson) a policy document into
 * the compiled form of s3/policy_doc.h, held in one arena, and count its
 * references.  Evaluation is in s3/policy_eval.c, the cache of compiled
 * forms in s3/policy_cache.c.
 *
 * Parsing walks the JSON tree once; every error is the first problem found,
 * phrased as AWS phrases it where AWS has a phrase ("Policy has invalid
 * resource"), followed by the offending value, and the document is rejected
 * as GW_ERR_MALFORMED_POLICY.  The compiled form holds no jansson objects:
 * strings are copied into the policy's arena, condition values are
 * pre-parsed (numbers, dates, CIDR blocks), so evaluation never fails and
 * allocates at most one resource string.  The value scanners here also read
 * request values for the evaluator. */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy.h"
#include "policy_doc.h"
#include "unigw/alloc.h"
#include "unigw/arena.h"
#include "unigw/err.h"

#define ARN_IAM "arn:aws:iam::"

/* ---- Vocabulary --------------------------------------------------------------------------- */

static const struct cond_op cond_ops[] = {
    {"StringEquals", K_STR, C_EQ, false},
    {"StringNotEquals", K_STR, C_EQ, true},
    {"StringEqualsIgnoreCase", K_STR_CI, C_EQ, false},
    {"StringNotEqualsIgnoreCase", K_STR_CI, C_EQ, true},
    {"StringLike", K_LIKE, C_EQ, false},
    {"StringNotLike", K_LIKE, C_EQ, true},
    {"NumericEquals", K_NUM, C_EQ, false},
    {"NumericNotEquals", K_NUM, C_EQ, true},
    {"NumericLessThan", K_NUM, C_LT, false},
    {"NumericLessThanEquals", K_NUM, C_LE, false},
    {"NumericGreaterThan", K_NUM, C_GT, false},
    {"NumericGreaterThanEquals", K_NUM, C_GE, false},
    {"DateEquals", K_DATE, C_EQ, false},
    {"DateNotEquals", K_DATE, C_EQ, true},
    {"DateLessThan", K_DATE, C_LT, false},
    {"DateLessThanEquals", K_DATE, C_LE, false},
    {"DateGreaterThan", K_DATE, C_GT, false},
    {"DateGreaterThanEquals", K_DATE, C_GE, false},
    {"Bool", K_BOOL, C_EQ, false},
    {"IpAddress", K_IP, C_EQ, false},
    {"NotIpAddress", K_IP, C_EQ, true},
    {"Null", K_NULL, C_EQ, false},
};

/* The condition keys a request can supply (ExistingObjectTag/ aside). */
static const char *const cond_keys[] = {
    "aws:SourceIp",  "aws:SecureTransport", "aws:CurrentTime", "aws:EpochTime",
    "aws:username",  "aws:userid",          "aws:PrincipalType", "aws:Referer",
    "aws:UserAgent", "s3:prefix",           "s3:delimiter",      "s3:max-keys",
};

/* The S3 actions a policy may name (the IAM service authorization
 * reference); every action unigw routes is among them (a unit test checks). */
static const char *const s3_actions[] = {
    "AbortMultipartUpload", "BypassGovernanceRetention", "CreateAccessPoint", "CreateBucket",
    "CreateJob", "DeleteAccessPoint", "DeleteAccessPointPolicy", "DeleteBucket",
    "DeleteBucketOwnershipControls", "DeleteBucketPolicy", "DeleteBucketWebsite",
    "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionTagging",
    "GetAccelerateConfiguration", "GetAccessPoint", "GetAccessPointPolicy",
    "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation",
    "GetBucketLogging", "GetBucketNotification", "GetBucketObjectLockConfiguration",
    "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus",
    "GetBucketPublicAccessBlock", "GetBucketRequestPayment", "GetBucketTagging",
    "GetBucketVersioning", "GetBucketWebsite", "GetEncryptionConfiguration",
    "GetIntelligentTieringConfiguration", "GetInventoryConfiguration",
    "GetLifecycleConfiguration", "GetMetricsConfiguration", "GetObject", "GetObjectAcl",
    "GetObjectAttributes", "GetObjectLegalHold", "GetObjectRetention", "GetObjectTagging",
    "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl", "GetObjectVersionAttributes",
    "GetObjectVersionForReplication", "GetObjectVersionTagging", "GetObjectVersionTorrent",
    "GetReplicationConfiguration", "ListAccessPoints", "ListAllMyBuckets", "ListBucket",
    "ListBucketMultipartUploads", "ListBucketVersions", "ListMultipartUploadParts",
    "PutAccelerateConfiguration", "PutAccessPointPolicy", "PutAnalyticsConfiguration",
    "PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification",
    "PutBucketObjectLockConfiguration", "PutBucketOwnershipControls", "PutBucketPolicy",
    "PutBucketPublicAccessBlock", "PutBucketRequestPayment", "PutBucketTagging",
    "PutBucketVersioning", "PutBucketWebsite", "PutEncryptionConfiguration",
    "PutIntelligentTieringConfiguration", "PutInventoryConfiguration",
    "PutLifecycleConfiguration", "PutMetricsConfiguration", "PutObject", "PutObjectAcl",
    "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl",
    "PutObjectVersionTagging", "PutReplicationConfiguration", "ReplicateDelete",
    "ReplicateObject", "ReplicateTags", "RestoreObject",
};

/* ---- Value scanners ----------------------------------------------------------------------- */

static bool has_wildcard(struct gw_str s)
{
    return memchr(s.p, '*', s.len) != NULL || memchr(s.p, '?', s.len) != NULL;
}

/* A strict decimal number ([+-]digits[.digits][e[+-]digits]); no hex, inf or nan. */
bool s3__policy_parse_number(struct gw_str s, double *out)
{
    char tmp[64];
    char *end = NULL;

    if (s.len == 0 || s.len >= sizeof tmp) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '\0' || strchr("0123456789+-.eE", s.p[i]) == NULL) {
            return false;
        }
    }
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    *out = strtod(tmp, &end);
    return end == tmp + s.len && isfinite(*out);
}

static bool take_digits(struct gw_str *s, size_t n, int *out)
{
    *out = 0;
    if (s->len < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->p[i] < '0' || s->p[i] > '9') {
            return false;
        }
        *out = *out * 10 + (s->p[i] - '0');
    }
    s->p += n;
    s->len -= n;
    return true;
}

static bool take_char(struct gw_str *s, char c)
{
    if (s->len == 0 || s->p[0] != c) {
        return false;
    }
    s->p++;
    s->len--;
    return true;
}

/* Time of day and zone after the date: [THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM]. */
static bool parse_time_zone(struct gw_str s, struct tm *tm, double *frac, int *off_s)
{
    int zh = 0, zm = 0;
    char sign;

    if (take_char(&s, 'T')) {
        if (!take_digits(&s, 2, &tm->tm_hour) || !take_char(&s, ':') ||
            !take_digits(&s, 2, &tm->tm_min)) {
            return false;
        }
        if (take_char(&s, ':') && !take_digits(&s, 2, &tm->tm_sec)) {
            return false;
        }
        if (take_char(&s, '.')) {
            double scale = 0.1;
            if (s.len == 0 || s.p[0] < '0' || s.p[0] > '9') {
                return false;
            }
            while (s.len > 0 && s.p[0] >= '0' && s.p[0] <= '9') {
                *frac += (s.p[0] - '0') * scale;
                scale /= 10;
                s.p++;
                s.len--;
            }
        }
    }
    if (s.len == 0 || take_char(&s, 'Z')) {
        return s.len == 0;
    }
    sign = s.p[0];
    if ((sign != '+' && sign != '-') || (s.p++, s.len--, !take_digits(&s, 2, &zh)) ||
        !take_char(&s, ':') || !take_digits(&s, 2, &zm) || s.len != 0 || zh > 23 || zm > 59) {
        return false;
    }
    *off_s = (sign == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
    return true;
}

/* ISO 8601 ("2024-05-01", "2024-05-01T12:00:00Z", offsets, fractions) or
 * an integer of seconds since the epoch, to seconds since the epoch. */
bool s3__policy_parse_date(struct gw_str s, double *out)
{
    struct tm tm = {0};
    double frac = 0;
    int off_s = 0;

    uint64_t epoch;

    if (s.len > 0 && memchr(s.p, '-', s.len) == NULL) {
        if (!gw_str_to_u64(s, &epoch) || epoch > (1ull << 53)) {
            return false;
        }
        *out = (double)epoch;
        return true;
    }
    if (!take_digits(&s, 4, &tm.tm_year) || !take_char(&s, '-') ||
        !take_digits(&s, 2, &tm.tm_mon) || !take_char(&s, '-') ||
        !take_digits(&s, 2, &tm.tm_mday) || !parse_time_zone(s, &tm, &frac, &off_s)) {
        return false;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (double)timegm(&tm) - off_s + frac;
    return true;
}

/* An address, as itself, with IPv4-mapped IPv6 addresses turned to IPv4. */
bool s3__policy_parse_addr(const char *s, struct pol_ip *ip)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, s, ip->addr) == 1) {
        ip->family = AF_INET;
        ip->bits = 32;
        return true;
    }
    if (inet_pton(AF_INET6, s, ip->addr) != 1) {
        return false;
    }
    ip->family = AF_INET6;
    ip->bits = 128;
    if (memcmp(ip->addr, mapped, sizeof mapped) == 0) {
        memmove(ip->addr, ip->addr + 12, 4);
        memset(ip->addr + 4, 0, 12);
        ip->family = AF_INET;
        ip->bits = 32;
    }
    return true;
}

/* "a.b.c.d", "a.b.c.d/n", "v6", "v6/n". */
static bool parse_cidr(struct gw_str s, struct pol_ip *ip)
{
    char tmp[64];
    char *slash;
    uint64_t bits;

    if (s.len == 0 || s.len >= sizeof tmp || memchr(s.p, '\0', s.len) != NULL) {
        return false;
    }
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    slash = strchr(tmp, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    if (!s3__policy_parse_addr(tmp, ip)) {
        return false;
    }
    if (slash == NULL) {
        return true;
    }
    if (!gw_str_to_u64(gw_str_c(slash + 1), &bits) || bits > ip->bits) {
        return false;
    }
    ip->bits = (unsigned)bits;
    return true;
}

/* ---- Parsing ------------------------------------------------------------------------------ */

struct pol_parser {
    struct s3_policy *p;
    struct gw_str bucket;
    char *err;
    size_t err_len;
};

static int fail(struct pol_parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct pol_parser *ps, const char *fmt, ...)
{
    va_list ap;

    if (ps->err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->err_len, fmt, ap);
        va_end(ap);
    }
    return GW_ERR_MALFORMED_POLICY;
}

static struct gw_str arena_str(struct pol_parser *ps, const char *s, size_t len)
{
    return gw_str_make(gw_arena_strndup(&ps->p->arena, s, len), len);
}

/* One scalar as text: strings as they are, numbers and booleans spelled out
 * (condition values such as "aws:SecureTransport": false). */
static bool scalar_text(struct pol_parser *ps, json_t *v, bool any_scalar, struct gw_str *out)
{
    char tmp[64];

    if (json_is_string(v)) {
        *out = arena_str(ps, json_string_value(v), json_string_length(v));
        return true;
    }
    if (!any_scalar) {
        return false;
    }
    if (json_is_integer(v)) {
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(tmp, sizeof tmp, "%s", json_is_true(v) ? "true" : "false");
    } else {
        return false;
    }
    *out = arena_str(ps, tmp, strlen(tmp));
    return true;
}

/* A string or a non-empty array of strings (or scalars when @any_scalar). */
static int parse_list(struct pol_parser *ps, json_t *v, const char *field, bool any_scalar,
                      struct pol_list *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;

    if (json_is_array(v) && n == 0) {
        return fail(ps, "%s must not be an empty list", field);
    }
    out->v = gw_arena_zalloc(&ps->p->arena, n * sizeof *out->v);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!scalar_text(ps, e, any_scalar, &out->v[i])) {
            return fail(ps, "%s must be a string or a list of strings", field);
        }
    }
    return GW_OK;
}

static bool known_action(struct gw_str name)
{
    for (size_t i = 0; i < sizeof s3_actions / sizeof s3_actions[0]; i++) {
        if (s3__policy_glob_match(name, gw_str_c(s3_actions[i]), true)) {
            return true;
        }
    }
    return false;
}

/* "*", or "s3:" and a known action or a pattern matching at least one. */
static int check_action(struct pol_parser *ps, struct gw_str a)
{
    struct gw_str name;

    if (gw_str_eq_c(a, "*")) {
        return GW_OK;
    }
    if (a.len < 3 || !gw_str_caseeq(gw_str_make(a.p, 3), GW_STR("s3:"))) {
        return fail(ps, "Policy has invalid action: '%.*s' is not an s3 action", (int)a.len,
                    a.p);
    }
    name = gw_str_make(a.p + 3, a.len - 3);
    if (name.len == 0 || !known_action(name)) {
        return fail(ps, "Policy has invalid action: %.*s", (int)a.len, a.p);
    }
    return GW_OK;
}

/* "*" or an s3 ARN whose bucket part matches this bucket. */
static int check_resource(struct pol_parser *ps, struct gw_str r)
{
    struct gw_str rest, bucket_pat;

    if (gw_str_eq_c(r, "*")) {
        return GW_OK;
    }
    if (!gw_str_has_prefix(r, GW_STR(ARN_S3)) || r.len == strlen(ARN_S3)) {
        return fail(ps, "Policy has invalid resource: '%.*s' is not an arn:aws:s3::: ARN",
                    (int)r.len, r.p);
    }
    rest = gw_str_make(r.p + strlen(ARN_S3), r.len - strlen(ARN_S3));
    bucket_pat = rest;
    gw_str_split(&rest, '/', &bucket_pat);
    /* A star in the bucket part may run over the '/' into keys. */
    if (!s3__policy_glob_match(bucket_pat, ps->bucket, false) &&
        !s3__policy_glob_match(gw_str_make(r.p + strlen(ARN_S3), r.len - strlen(ARN_S3)),
                               ps->bucket, false)) {
        return fail(ps, "Policy has invalid resource: %.*s is not in bucket %.*s", (int)r.len,
                    r.p, (int)ps->bucket.len, ps->bucket.p);
    }
    return GW_OK;
}

/* One "AWS" principal: "*", "arn:aws:iam::ACCOUNT:user/[path/]NAME",
 * "arn:aws:iam::ACCOUNT:root" (every user) or a bare user name. */
static int parse_principal_entry(struct pol_parser *ps, struct pol_stmt *st, struct gw_str e,
                                 struct gw_str *name)
{
    struct gw_str rest = e, account;

    *name = GW_STR_NULL;
    if (gw_str_eq_c(e, "*")) {
        st->principal_any = true;
        return GW_OK;
    }
    if (!gw_str_has_prefix(e, GW_STR(ARN_IAM))) {
        if (e.len == 0 || e.len > 255 || has_wildcard(e) || gw_str_chr(e, ':') >= 0 ||
            gw_str_chr(e, '/') >= 0) {
            return fail(ps, "Invalid principal in policy: %.*s", (int)e.len, e.p);
        }
        *name = e;
        return GW_OK;
    }
    rest = gw_str_make(e.p + strlen(ARN_IAM), e.len - strlen(ARN_IAM));
    if (!gw_str_split(&rest, ':', &account) || gw_str_chr(account, '/') >= 0) {
        return fail(ps, "Invalid principal in policy: %.*s", (int)e.len, e.p);
    }
    if (gw_str_eq_c(rest, "root")) {
        st->principal_account = true;
        return GW_OK;
    }
    if (!gw_str_has_prefix(rest, GW_STR("user/")) || has_wildcard(rest)) {
        return fail(ps, "Invalid principal in policy: %.*s", (int)e.len, e.p);
    }
    while (gw_str_chr(rest, '/') >= 0) {
        struct gw_str seg;
        gw_str_split(&rest, '/', &seg);
    }
    if (rest.len == 0 || rest.len > 255) {
        return fail(ps, "Invalid principal in policy: %.*s", (int)e.len, e.p);
    }
    *name = rest;
    return GW_OK;
}

static int parse_principal(struct pol_parser *ps, struct pol_stmt *st, json_t *v,
                           const char *field)
{
    struct pol_list l = {0};
    json_t *aws;
    int rv;

    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0) {
            return fail(ps, "Invalid principal in policy: %s must be \"*\" or an object",
                        field);
        }
        st->principal_any = true;
        return GW_OK;
    }
    aws = json_object_get(v, "AWS");
    if (!json_is_object(v) || aws == NULL || json_object_size(v) != 1) {
        return fail(ps, "Invalid principal in policy: %s supports \"*\" and {\"AWS\": ...} only",
                    field);
    }
    rv = parse_list(ps, aws, field, false, &l);
    if (rv != 0) {
        return rv;
    }
    st->users.v = gw_arena_zalloc(&ps->p->arena, l.n * sizeof *st->users.v);
    for (size_t i = 0; rv == 0 && i < l.n; i++) {
        struct gw_str name;
        rv = parse_principal_entry(ps, st, l.v[i], &name);
        if (rv == 0 && name.p != NULL) {
            st->users.v[st->users.n++] = name;
        }
    }
    return rv;
}

static const struct cond_op *find_op(const char *name, bool *if_exists)
{
    size_t len = strlen(name);
    size_t sfx = strlen("IfExists");

    *if_exists = len > sfx && strcmp(name + len - sfx, "IfExists") == 0;
    if (*if_exists) {
        len -= sfx;
    }
    for (size_t i = 0; i < sizeof cond_ops / sizeof cond_ops[0]; i++) {
        if (strlen(cond_ops[i].name) == len && strncmp(cond_ops[i].name, name, len) == 0) {
            return &cond_ops[i];
        }
    }
    return NULL;
}

/* The canonical spelling of a supported condition key (keys are
 * case-insensitive; the tag key after ExistingObjectTag/ is not). */
static bool check_key(struct pol_parser *ps, const char *key, struct gw_str *out)
{
    struct gw_str k = gw_str_c(key);
    size_t tp = strlen(TAG_KEY_PREFIX);

    for (size_t i = 0; i < sizeof cond_keys / sizeof cond_keys[0]; i++) {
        if (gw_str_caseeq_c(k, cond_keys[i])) {
            *out = gw_str_c(cond_keys[i]);
            return true;
        }
    }
    if (k.len > tp && gw_str_caseeq(gw_str_make(k.p, tp), GW_STR(TAG_KEY_PREFIX))) {
        char *s = gw_arena_strndup(&ps->p->arena, key, k.len);
        memcpy(s, TAG_KEY_PREFIX, tp);
        *out = gw_str_make(s, k.len);
        return true;
    }
    return false;
}

/* Pre-parse one value for its operator. */
static int parse_cond_value(struct pol_parser *ps, const struct pol_cond *c, struct pol_val *v)
{
    bool ok = true;

    switch (c->op->kind) {
    case K_NUM:
        ok = s3__policy_parse_number(v->s, &v->num);
        break;
    case K_DATE:
        ok = s3__policy_parse_date(v->s, &v->num);
        break;
    case K_IP:
        ok = parse_cidr(v->s, &v->ip);
        break;
    case K_BOOL:
    case K_NULL:
        ok = gw_str_caseeq_c(v->s, "true") || gw_str_caseeq_c(v->s, "false");
        v->is_true = gw_str_caseeq_c(v->s, "true");
        break;
    default:
        break;
    }
    if (!ok) {
        return fail(ps, "Invalid value '%.*s' for %s on %.*s", (int)v->s.len, v->s.p,
                    c->op->name, (int)c->key.len, c->key.p);
    }
    return GW_OK;
}

static int parse_cond(struct pol_parser *ps, const char *op_name, const char *key, json_t *vals,
                      struct pol_cond *c)
{
    struct pol_list l = {0};
    int rv;

    c->op = find_op(op_name, &c->if_exists);
    if (c->op == NULL || (c->if_exists && c->op->kind == K_NULL)) {
        return fail(ps, "Invalid Condition type : %s", op_name);
    }
    if (!check_key(ps, key, &c->key)) {
        return fail(ps, "Policy has an invalid condition key: %s", key);
    }
    if (c->op->kind == K_IP && !gw_str_eq_c(c->key, "aws:SourceIp")) {
        return fail(ps, "%s applies to aws:SourceIp only, not %s", op_name, key);
    }
    rv = parse_list(ps, vals, op_name, true, &l);
    if (rv != 0) {
        return rv;
    }
    c->vals = gw_arena_zalloc(&ps->p->arena, l.n * sizeof *c->vals);
    c->n_vals = l.n;
    for (size_t i = 0; rv == 0 && i < l.n; i++) {
        c->vals[i].s = l.v[i];
        rv = parse_cond_value(ps, c, &c->vals[i]);
    }
    return rv;
}

/* Condition: {operator: {key: value(s), ...}, ...}. */
static int parse_conditions(struct pol_parser *ps, struct pol_stmt *st, json_t *v)
{
    const char *op_name, *key;
    json_t *keys, *vals;
    size_t n = 0;
    int rv = GW_OK;

    if (!json_is_object(v)) {
        return fail(ps, "Condition must be an object");
    }
    json_object_foreach(v, op_name, keys) {
        if (!json_is_object(keys) || json_object_size(keys) == 0) {
            return fail(ps, "Condition %s must be a non-empty object of keys", op_name);
        }
        n += json_object_size(keys);
    }
    st->conds = gw_arena_zalloc(&ps->p->arena, (n > 0 ? n : 1) * sizeof *st->conds);
    json_object_foreach(v, op_name, keys) {
        json_object_foreach(keys, key, vals) {
            rv = parse_cond(ps, op_name, key, vals, &st->conds[st->n_conds++]);
            if (rv != 0) {
                return rv;
            }
        }
    }
    return rv;
}

/* Exactly one of @a and @b; *@is_not tells which. */
static int one_of(struct pol_parser *ps, json_t *obj, const char *a, const char *b, json_t **out,
                  bool *is_not)
{
    json_t *va = json_object_get(obj, a), *vb = json_object_get(obj, b);

    if (va != NULL && vb != NULL) {
        return fail(ps, "A statement cannot have both %s and %s", a, b);
    }
    if (va == NULL && vb == NULL) {
        return fail(ps, "Missing required field %s", a);
    }
    *out = va != NULL ? va : vb;
    *is_not = va == NULL;
    return GW_OK;
}

static int check_fields(struct pol_parser *ps, json_t *obj, const char *const *allowed,
                        const char *where)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], k) != 0) {
            i++;
        }
        if (allowed[i] == NULL) {
            return fail(ps, "Unknown field %s in %s", k, where);
        }
    }
    return GW_OK;
}

static int parse_effect(struct pol_parser *ps, struct pol_stmt *st, json_t *s)
{
    json_t *e = json_object_get(s, "Effect");
    json_t *sid = json_object_get(s, "Sid");

    if (sid != NULL && !json_is_string(sid)) {
        return fail(ps, "Sid must be a string");
    }
    if (sid != NULL) {
        st->sid = arena_str(ps, json_string_value(sid), json_string_length(sid));
    }
    if (e == NULL) {
        return fail(ps, "Missing required field Effect");
    }
    if (!json_is_string(e) ||
        (strcmp(json_string_value(e), "Allow") != 0 && strcmp(json_string_value(e), "Deny"))) {
        return fail(ps, "Invalid effect: %s", json_is_string(e) ? json_string_value(e) : "?");
    }
    st->is_deny = strcmp(json_string_value(e), "Deny") == 0;
    return GW_OK;
}

static int parse_actions_resources(struct pol_parser *ps, struct pol_stmt *st, json_t *s)
{
    json_t *v;
    int rv = one_of(ps, s, "Action", "NotAction", &v, &st->is_not_action);

    if (rv == 0) {
        rv = parse_list(ps, v, "Action", false, &st->actions);
    }
    for (size_t i = 0; rv == 0 && i < st->actions.n; i++) {
        rv = check_action(ps, st->actions.v[i]);
    }
    if (rv == 0) {
        rv = one_of(ps, s, "Resource", "NotResource", &v, &st->is_not_resource);
    }
    if (rv == 0) {
        rv = parse_list(ps, v, "Resource", false, &st->resources);
    }
    for (size_t i = 0; rv == 0 && i < st->resources.n; i++) {
        rv = check_resource(ps, st->resources.v[i]);
    }
    return rv;
}

static int parse_statement(struct pol_parser *ps, json_t *s, struct pol_stmt *st)
{
    static const char *const fields[] = {"Sid",       "Effect",   "Principal",   "NotPrincipal",
                                         "Action",    "NotAction", "Resource",   "NotResource",
                                         "Condition", NULL};
    json_t *v;
    int rv;

    if (!json_is_object(s)) {
        return fail(ps, "Each Statement must be an object");
    }
    rv = check_fields(ps, s, fields, "Statement");
    if (rv == 0) {
        rv = parse_effect(ps, st, s);
    }
    if (rv == 0) {
        rv = one_of(ps, s, "Principal", "NotPrincipal", &v, &st->is_not_principal);
    }
    if (rv == 0) {
        rv = parse_principal(ps, st, v, st->is_not_principal ? "NotPrincipal" : "Principal");
    }
    if (rv == 0) {
        rv = parse_actions_resources(ps, st, s);
    }
    v = json_object_get(s, "Condition");
    if (rv == 0 && v != NULL) {
        rv = parse_conditions(ps, st, v);
    }
    return rv;
}

static int parse_statements(struct pol_parser *ps, json_t *v)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    int rv = GW_OK;

    if (v == NULL) {
        return fail(ps, "Missing required field Statement");
    }
    if (!json_is_array(v) && !json_is_object(v)) {
        return fail(ps, "Statement must be an object or a list of objects");
    }
    if (n == 0) {
        return fail(ps, "Statement must not be empty");
    }
    ps->p->stmts = gw_arena_zalloc(&ps->p->arena, n * sizeof *ps->p->stmts);
    ps->p->n_stmts = n;
    for (size_t i = 0; rv == 0 && i < n; i++) {
        struct pol_stmt *st = &ps->p->stmts[i];
        rv = parse_statement(ps, json_is_array(v) ? json_array_get(v, i) : v, st);
        for (size_t j = 0; rv == 0 && st->sid.len > 0 && j < i; j++) {
            if (gw_str_eq(ps->p->stmts[j].sid, st->sid)) {
                rv = fail(ps, "Statement IDs (SID) must be unique: %.*s", (int)st->sid.len,
                          st->sid.p);
            }
        }
    }
    return rv;
}

static int parse_root(struct pol_parser *ps, json_t *root)
{
    static const char *const fields[] = {"Version", "Id", "Statement", NULL};
    json_t *ver = json_object_get(root, "Version");
    json_t *id = json_object_get(root, "Id");
    int rv;

    if (!json_is_object(root)) {
        return fail(ps, "The policy must be a JSON object");
    }
    rv = check_fields(ps, root, fields, "the policy");
    if (rv != 0) {
        return rv;
    }
    if (ver != NULL && (!json_is_string(ver) || (strcmp(json_string_value(ver), "2012-10-17") &&
                                                 strcmp(json_string_value(ver), "2008-10-17")))) {
        return fail(ps, "The policy document version is not supported (2012-10-17 or "
                        "2008-10-17)");
    }
    if (id != NULL && !json_is_string(id)) {
        return fail(ps, "Id must be a string");
    }
    return parse_statements(ps, json_object_get(root, "Statement"));
}

int s3_policy_parse(struct gw_str doc, struct gw_str bucket, struct s3_policy **out, char *err,
                    size_t err_len)
{
    struct pol_parser ps = {.bucket = bucket, .err = err, .err_len = err_len};
    json_error_t je;
    json_t *root;
    int rv;

    *out = NULL;
    if (err_len > 0) {
        err[0] = '\0';
    }
    if (doc.len > S3_POLICY_MAX_LEN) {
        return fail(&ps, "The policy is larger than %d bytes", S3_POLICY_MAX_LEN);
    }
    root = json_loadb(doc.p, doc.len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        return fail(&ps, "Policies must be valid JSON: line %d column %d: %s", je.line,
                    je.column, je.text);
    }
    ps.p = gw_calloc(1, sizeof *ps.p);
    gw_arena_init(&ps.p->arena);
    atomic_init(&ps.p->refs, 1);
    rv = parse_root(&ps, root);
    json_decref(root);
    if (rv != 0) {
        s3_policy_unref(ps.p);
        return rv;
    }
    *out = ps.p;
    return GW_OK;
}

struct s3_policy *s3_policy_ref(struct s3_policy *p)
{
    atomic_fetch_add(&p->refs, 1);
    return p;
}

void s3_policy_unref(struct s3_policy *p)
{
    if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1) {
        return;
    }
    gw_arena_release(&p->arena);
    gw_free(p);
}
