/* AWS Signature Version 2 (S3 "Signing and authenticating REST requests").
 *
 * Happy path: s3_sigv2_parse() finds "Authorization: AWS AKID:sig" or the
 * AWSAccessKeyId / Signature / Expires query, decodes the base64 signature
 * and reads the time (Date, or x-amz-date which then empties the Date line,
 * or Expires).  s3_sigv2_verify() checks the clock, rebuilds the
 * StringToSign and compares HMAC-SHA1 digests in constant time.
 *
 * Canonicalisation follows S3 and botocore's HmacV1Auth (the reference we
 * test against): x-amz-* headers lower-cased, values trimmed, sorted by
 * name (stable), repeats joined with ','; the resource is the raw path as
 * sent ("/" + bucket first for virtual-hosted requests) plus the listed
 * sub-resources, sorted by name, with percent-decoded values.  Presigned
 * URLs from botocore carry x-amz-* (and Content-Type / Content-MD5) as
 * query parameters; those count as headers, as S3 treats them.
 *
 * Failure modes: no SigV2 at all -> UNSUPPORTED_AUTH; a malformed header
 * -> INVALID_ARGUMENT; an incomplete query or unreadable date ->
 * ACCESS_DENIED; the clock -> EXPIRED or TIME_SKEWED; a wrong or
 * undecodable signature -> BAD_SIGNATURE.  Nothing here logs secrets or
 * signatures. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "router.h"
#include "sigv2.h"
#include "sigv4.h"
#include "unigw/buf.h"
#include "unigw/err.h"
#include "unigw/log.h"
#include "xml_out.h"

/* Query parameters that are part of the CanonicalizedResource: the S3
 * documentation's list and botocore's (a superset of it and of s3cmd's). */
static const char *const sub_resources[] = {
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory",
    "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "partNumber",
    "policy", "replication", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "select", "select-type",
    "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website",
};

/* One "name:value" (or "name=value") item to sort. */
struct kv {
    struct gw_str name;
    struct gw_str value;
    bool has_value;
    size_t order; /* position in the request: keeps the sort stable */
};

static int kv_cmp(const void *pa, const void *pb)
{
    const struct kv *x = pa;
    const struct kv *y = pb;
    int c = gw_str_cmp(x->name, y->name);

    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Percent-decode @raw into the arena; '+' stays '+' (botocore's unquote). */
static bool raw_decode(struct gw_str raw, struct gw_arena *a, struct gw_str *out)
{
    char *p = gw_arena_alloc(a, raw.len + 1);
    size_t n = 0;

    if (!gw_url_decode(raw, p, &n, false)) {
        return false;
    }
    p[n] = '\0';
    *out = gw_str_make(p, n);
    return true;
}

static struct gw_str lower_dup(struct gw_str s, struct gw_arena *a)
{
    char *p = gw_arena_alloc(a, s.len + 1);

    for (size_t i = 0; i < s.len; i++) {
        p[i] = (char)((s.p[i] >= 'A' && s.p[i] <= 'Z') ? s.p[i] | 0x20 : s.p[i]);
    }
    p[s.len] = '\0';
    return gw_str_make(p, s.len);
}

/* The query of the request target (after the first '?'); empty when none. */
static struct gw_str target_query(struct gw_str target)
{
    ptrdiff_t q = gw_str_chr(target, '?');

    return q < 0 ? gw_str_make(target.p + target.len, 0)
                 : gw_str_make(target.p + q + 1, target.len - (size_t)q - 1);
}

static struct gw_str target_path(struct gw_str target)
{
    ptrdiff_t q = gw_str_chr(target, '?');

    return q < 0 ? target : gw_str_make(target.p, (size_t)q);
}

/* The first parameter of @params whose raw name is @name, or NULL. */
static const struct s3_param *param_find(const struct s3_param *params, size_t n,
                                         const char *name, bool ignore_case)
{
    struct gw_str want = gw_str_c(name);

    for (size_t i = 0; i < n; i++) {
        if (ignore_case ? gw_str_caseeq(params[i].raw_name, want)
                        : gw_str_eq(params[i].raw_name, want)) {
            return &params[i];
        }
    }
    return NULL;
}

/* Decode a base64 signature; a signature that is not 20 bytes of base64
 * simply never matches (S3 answers SignatureDoesNotMatch). */
static void signature_read(struct gw_str sig, struct s3_sigv2 *out)
{
    size_t n = 0;

    out->has_signature = gw_base64_decode(sig, out->signature, sizeof out->signature, &n) &&
                         n == sizeof out->signature;
}

/* The offset from UTC of a zone "UTC", "UT", "Z" or "+hhmm" / "-hhmm". */
static bool zone_offset(struct gw_str z, int64_t *off)
{
    int h;
    int m;

    if (gw_str_eq_c(z, "UTC") || gw_str_eq_c(z, "UT") || gw_str_eq_c(z, "Z")) {
        *off = 0;
        return true;
    }
    if (z.len != 5 || (z.p[0] != '+' && z.p[0] != '-')) {
        return false;
    }
    for (size_t i = 1; i < 5; i++) {
        if (z.p[i] < '0' || z.p[i] > '9') {
            return false;
        }
    }
    h = (z.p[1] - '0') * 10 + (z.p[2] - '0');
    m = (z.p[3] - '0') * 10 + (z.p[4] - '0');
    if (h > 23 || m > 59) {
        return false;
    }
    *off = (int64_t)(h * 3600 + m * 60) * (z.p[0] == '-' ? -1 : 1);
    return true;
}

/* An RFC 1123 date whose zone is not "GMT" (the S3 documentation writes
 * "+0000"): parse the rest as GMT and apply the offset. */
static bool parse_zoned_date(struct gw_str v, int64_t *out)
{
    char buf[64];
    size_t sp = v.len;
    int64_t off = 0;
    int64_t t = 0;

    while (sp > 0 && v.p[sp - 1] != ' ') {
        sp--;
    }
    if (sp == 0 || sp + 3 > sizeof buf ||
        !zone_offset(gw_str_make(v.p + sp, v.len - sp), &off)) {
        return false;
    }
    memcpy(buf, v.p, sp);
    memcpy(buf + sp, "GMT", 3);
    if (s3_http_date_parse(gw_str_make(buf, sp + 3), &t) != 0) {
        return false;
    }
    *out = t - off;
    return true;
}

bool s3__sigv2_parse_date(struct gw_str v, int64_t *out)
{
    v = gw_str_trim(v);
    if (v.len == 0) {
        return false;
    }
    if (s3_http_date_parse(v, out) == 0 || s3__sigv4_parse_time(v, out)) {
        return true;
    }
    return parse_zoned_date(v, out);
}

/* "Authorization: AWS AKID:signature".  The access key may hold any byte
 * but ':'-free base64 ends the value, so the last ':' splits them. */
static int parse_header_auth(const struct s3_http_request *r, struct gw_str value,
                             struct s3_sigv2 *out)
{
    struct gw_str creds = gw_str_trim(gw_str_make(value.p + 4, value.len - 4));
    struct gw_str xdate = s3_header_get(r, "x-amz-date");
    struct gw_str date = s3_header_get(r, "date");
    ptrdiff_t colon = -1;

    for (size_t i = 0; i < creds.len; i++) {
        colon = creds.p[i] == ':' ? (ptrdiff_t)i : colon;
    }
    if (colon <= 0 || (size_t)colon + 1 == creds.len) {
        return GW_ERR_INVALID_ARGUMENT; /* "Expected AwsAccessKeyId:signature" */
    }
    out->access_key = gw_str_make(creds.p, (size_t)colon);
    signature_read(gw_str_make(creds.p + colon + 1, creds.len - (size_t)colon - 1), out);
    /* With x-amz-date present, S3 ignores Date and signs an empty line. */
    out->date_line = xdate.p != NULL ? GW_STR("") : date;
    if (xdate.p != NULL) {
        date = xdate;
    }
    if (date.p == NULL || !s3__sigv2_parse_date(date, &out->time)) {
        return GW_ERR_ACCESS_DENIED; /* "requires a valid Date or x-amz-date header" */
    }
    return GW_OK;
}

/* Expires: epoch seconds, digits only. */
static bool parse_expires(struct gw_str v, int64_t *out)
{
    uint64_t n = 0;

    if (v.len == 0 || v.len > 18) {
        return false;
    }
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            return false;
        }
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = (int64_t)n;
    return true;
}

/* "?AWSAccessKeyId=..&Expires=..&Signature=.." (any order). */
static int parse_query_auth(struct gw_str query, struct gw_arena *a, struct s3_sigv2 *out)
{
    struct s3_param *params = NULL;
    size_t n = 0;
    const struct s3_param *ak;
    const struct s3_param *sig;
    const struct s3_param *exp;
    struct gw_str v;

    if (s3_router_parse_query(query, a, &params, &n) != 0) {
        return GW_ERR_BAD_REQUEST;
    }
    ak = param_find(params, n, "AWSAccessKeyId", false);
    sig = param_find(params, n, "Signature", false);
    exp = param_find(params, n, "Expires", false);
    if (ak == NULL || sig == NULL || exp == NULL) {
        return GW_ERR_ACCESS_DENIED; /* "requires the Signature, Expires and AWSAccessKeyId" */
    }
    out->is_presigned = true;
    if (!raw_decode(ak->raw_value, a, &out->access_key) || out->access_key.len == 0 ||
        !raw_decode(exp->raw_value, a, &out->date_line) ||
        !parse_expires(out->date_line, &out->expires)) {
        return GW_ERR_ACCESS_DENIED;
    }
    if (!raw_decode(sig->raw_value, a, &v)) {
        return GW_ERR_BAD_REQUEST;
    }
    signature_read(v, out);
    return GW_OK;
}

int s3_sigv2_parse(const struct s3_http_request *r, struct gw_arena *a, struct s3_sigv2 *out)
{
    struct gw_str header = s3_header_get(r, "authorization");
    struct gw_str query = target_query(r->target);
    bool has_query = s3__query_has(query, "AWSAccessKeyId") || s3__query_has(query, "Signature");
    bool is_v2_header = header.p != NULL && gw_str_has_prefix(header, GW_STR("AWS "));

    memset(out, 0, sizeof *out);
    if (header.p != NULL && !is_v2_header) {
        return GW_ERR_UNSUPPORTED_AUTH;
    }
    if (is_v2_header && has_query) {
        return GW_ERR_INVALID_ARGUMENT; /* "Only one auth mechanism allowed" */
    }
    if (is_v2_header) {
        return parse_header_auth(r, header, out);
    }
    if (has_query) {
        return parse_query_auth(query, a, out);
    }
    return GW_ERR_UNSUPPORTED_AUTH;
}

/* Content-MD5 or Content-Type (@name lower-case): the header, or for a
 * presigned URL the query parameter botocore moves it into. */
static struct gw_str positional(const struct s3_http_request *r, const struct s3_sigv2 *auth,
                                const struct s3_param *params, size_t n, const char *name,
                                struct gw_arena *a)
{
    struct gw_str v = s3_header_get(r, name);
    const struct s3_param *p;

    if (v.p != NULL || !auth->is_presigned) {
        return v.p != NULL ? gw_str_trim(v) : GW_STR("");
    }
    p = param_find(params, n, name, true);
    if (p == NULL || !raw_decode(p->raw_value, a, &v)) {
        return GW_STR("");
    }
    return gw_str_trim(v);
}

/* The x-amz-* headers (and, for presigned URLs, the x-amz-* query
 * parameters no header of the same name overrides) as sorted items with
 * lower-case names and trimmed values. */
static struct kv *amz_collect(const struct s3_http_request *r, const struct s3_sigv2 *auth,
                              const struct s3_param *params, size_t n_params,
                              struct gw_arena *a, size_t *n_out)
{
    struct kv *items = gw_arena_alloc(a, (r->n_headers + n_params + 1) * sizeof *items);
    size_t n = 0;

    for (size_t i = 0; i < r->n_headers; i++) {
        struct gw_str name = lower_dup(r->headers[i].name, a);

        if (gw_str_has_prefix(name, GW_STR("x-amz-"))) {
            items[n] = (struct kv){name, gw_str_trim(r->headers[i].value), true, n};
            n++;
        }
    }
    for (size_t i = 0; auth->is_presigned && i < n_params; i++) {
        struct gw_str name = lower_dup(params[i].raw_name, a);
        struct gw_str value;

        if (gw_str_has_prefix(name, GW_STR("x-amz-")) && s3_header_get(r, name.p).p == NULL &&
            raw_decode(params[i].raw_value, a, &value)) {
            items[n] = (struct kv){name, gw_str_trim(value), true, n};
            n++;
        }
    }
    qsort(items, n, sizeof *items, kv_cmp);
    *n_out = n;
    return items;
}

/* CanonicalizedAmzHeaders: "name:v1,v2\n" per distinct name. */
static void amz_append(struct gw_buf *b, const struct kv *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool is_repeat = i > 0 && gw_str_eq(items[i].name, items[i - 1].name);

        if (is_repeat) {
            gw_buf_append_byte(b, ',');
        } else {
            if (i > 0) {
                gw_buf_append_byte(b, '\n');
            }
            gw_buf_append_str(b, items[i].name);
            gw_buf_append_byte(b, ':');
        }
        gw_buf_append_str(b, items[i].value);
    }
    if (n > 0) {
        gw_buf_append_byte(b, '\n');
    }
}

/* Is @name (decoded) signed as part of the CanonicalizedResource?  The
 * documented list, and every parameter the router chooses an operation by:
 * otherwise a signed ListObjects plus an unsigned "&policyStatus" would be
 * GetBucketPolicyStatus (botocore, which signs the operation's own query
 * as part of the path, still verifies through the literal form). */
static bool is_sub_resource(struct gw_str name)
{
    for (size_t i = 0; i < sizeof sub_resources / sizeof sub_resources[0]; i++) {
        if (gw_str_eq_c(name, sub_resources[i])) {
            return true;
        }
    }
    return s3_router_is_selector(name);
}

/* The bucket a virtual-hosted request names in Host ("<bucket>.<domain>"
 * with an optional port), the router's rule; a NULL view for path style. */
static struct gw_str host_bucket(const struct s3_http_request *r, struct gw_str domain)
{
    struct gw_str host = s3_header_get(r, "host");
    ptrdiff_t colon;

    if (host.p == NULL || domain.len == 0) {
        return GW_STR_NULL;
    }
    colon = host.len > 0 && host.p[0] != '[' ? gw_str_chr(host, ':') : -1;
    if (colon >= 0) {
        host.len = (size_t)colon;
    }
    if (host.len <= domain.len + 1 ||
        !gw_str_caseeq(gw_str_make(host.p + host.len - domain.len, domain.len), domain) ||
        host.p[host.len - domain.len - 1] != '.') {
        return GW_STR_NULL;
    }
    return gw_str_make(host.p, host.len - domain.len - 1);
}

/* Is @r a path-style request naming only a bucket ("/bucket", no '/'
 * after it)?  S3 signs those as "/bucket/", the resource a virtual-hosted
 * request for the same bucket has (botocore and s3cmd sign that form). */
static bool is_bare_bucket(const struct s3_http_request *r, struct gw_str vhost_domain)
{
    struct gw_str path = target_path(r->target);

    return host_bucket(r, vhost_domain).p == NULL && path.len > 1 && path.p[0] == '/' &&
           gw_str_chr(gw_str_make(path.p + 1, path.len - 1), '/') < 0;
}

/* CanonicalizedResource: ["/" bucket] raw-path ["?" sorted sub-resources];
 * a bare path-style bucket gets its '/' unless @is_literal. */
static int resource_append(struct gw_buf *b, const struct s3_http_request *r,
                           struct gw_str vhost_domain, bool is_literal,
                           const struct s3_param *params, size_t n, struct gw_arena *a)
{
    struct gw_str bucket = host_bucket(r, vhost_domain);
    struct kv *items = gw_arena_alloc(a, (n + 1) * sizeof *items);
    size_t k = 0;

    if (bucket.p != NULL) {
        gw_buf_append_byte(b, '/');
        gw_buf_append_str(b, bucket);
    }
    gw_buf_append_str(b, target_path(r->target));
    if (!is_literal && is_bare_bucket(r, vhost_domain)) {
        gw_buf_append_byte(b, '/');
    }
    for (size_t i = 0; i < n; i++) {
        /* The decoded name, as the router matches it: "?%61cl" is "acl". */
        if (!is_sub_resource(params[i].name)) {
            continue;
        }
        items[k] = (struct kv){params[i].name, GW_STR(""), params[i].has_value, k};
        if (!raw_decode(params[i].raw_value, a, &items[k].value)) {
            return GW_ERR_BAD_REQUEST;
        }
        k++;
    }
    qsort(items, k, sizeof *items, kv_cmp);
    for (size_t i = 0; i < k; i++) {
        gw_buf_append_byte(b, i == 0 ? '?' : '&');
        gw_buf_append_str(b, items[i].name);
        if (items[i].has_value) {
            gw_buf_append_byte(b, '=');
            gw_buf_append_str(b, items[i].value);
        }
    }
    return GW_OK;
}

int s3__sigv2_string_to_sign(const struct s3_sigv2 *auth, const struct s3_http_request *r,
                             struct gw_str vhost_domain, bool is_literal, struct gw_arena *a,
                             struct gw_str *out)
{
    struct gw_buf b = {0};
    struct s3_param *params = NULL;
    size_t n_params = 0;
    struct kv *amz;
    size_t n_amz = 0;
    int rv;

    if (s3_router_parse_query(target_query(r->target), a, &params, &n_params) != 0) {
        return GW_ERR_BAD_REQUEST;
    }
    amz = amz_collect(r, auth, params, n_params, a, &n_amz);
    gw_buf_append_str(&b, r->method);
    gw_buf_append_byte(&b, '\n');
    gw_buf_append_str(&b, positional(r, auth, params, n_params, "content-md5", a));
    gw_buf_append_byte(&b, '\n');
    gw_buf_append_str(&b, positional(r, auth, params, n_params, "content-type", a));
    gw_buf_append_byte(&b, '\n');
    gw_buf_append_str(&b, auth->date_line);
    gw_buf_append_byte(&b, '\n');
    amz_append(&b, amz, n_amz);
    rv = resource_append(&b, r, vhost_domain, is_literal, params, n_params, a);
    if (rv == 0) {
        *out = gw_arena_str(a, gw_buf_str(&b));
    }
    gw_buf_free(&b);
    return rv;
}

/* HMAC-SHA1(@secret, @sts). */
static void mac_compute(struct gw_str secret, struct gw_str sts, unsigned char mac[GW_SHA1_LEN])
{
    static const unsigned char empty;
    unsigned int len = GW_SHA1_LEN;

    /* HMAC() treats a NULL key as "reuse"; give it a real pointer. */
    if (HMAC(EVP_sha1(), secret.len ? (const void *)secret.p : &empty, (int)secret.len,
             sts.len ? (const unsigned char *)sts.p : &empty, sts.len, mac, &len) == NULL) {
        GW_LOG(GW_LOG_ERROR, "s3", "msg=\"sigv2: HMAC failed\"");
        abort();
    }
}

void s3__sigv2_sign(struct gw_str secret, struct gw_str sts, char out[29])
{
    unsigned char mac[GW_SHA1_LEN];

    mac_compute(secret, sts, mac);
    gw_base64_encode(mac, sizeof mac, out);
    out[28] = '\0';
}

/* Does the StringToSign of @r (@is_literal: see resource_append) signed
 * with @secret give @auth's signature?  GW_OK or GW_ERR_BAD_SIGNATURE. */
static int signature_check(const struct s3_sigv2 *auth, struct gw_str secret,
                           const struct s3_http_request *r, struct gw_str vhost_domain,
                           bool is_literal, struct gw_arena *a)
{
    unsigned char mac[GW_SHA1_LEN];
    struct gw_str sts;
    int rv = s3__sigv2_string_to_sign(auth, r, vhost_domain, is_literal, a, &sts);

    if (rv != 0) {
        return rv;
    }
    mac_compute(secret, sts, mac);
    rv = auth->has_signature && CRYPTO_memcmp(mac, auth->signature, sizeof mac) == 0
             ? GW_OK
             : GW_ERR_BAD_SIGNATURE;
    OPENSSL_cleanse(mac, sizeof mac);
    return rv;
}

int s3_sigv2_verify(const struct s3_sigv2 *auth, struct gw_str secret,
                    const struct s3_http_request *r, struct gw_str vhost_domain,
                    struct gw_arena *a, int64_t now, unsigned skew_s)
{
    int rv;

    if (auth->is_presigned && now > auth->expires) {
        return GW_ERR_EXPIRED;
    }
    if (!auth->is_presigned &&
        (auth->time > now + (int64_t)skew_s || auth->time < now - (int64_t)skew_s)) {
        return GW_ERR_TIME_SKEWED;
    }
    rv = signature_check(auth, secret, r, vhost_domain, false, a);
    /* "/bucket" signed literally, as the documentation's rule reads, is
     * accepted too. */
    if (rv == GW_ERR_BAD_SIGNATURE && is_bare_bucket(r, vhost_domain)) {
        rv = signature_check(auth, secret, r, vhost_domain, true, a);
    }
    return rv;
}
