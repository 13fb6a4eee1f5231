/* AWS Signature Version 4 for S3: parse, canonicalise and verify (signing,
 * which shares the canonicalisation, is in s3/sigv4_sign.c).
 *
 * Happy path of a request with an Authorization header:
 *   s3_sigv4_parse: "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/
 *   aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>" is split
 *   (s3cmd's form without spaces after the commas works too), the scope is
 *   checked against X-Amz-Date (or Date), x-amz-content-sha256 becomes a
 *   payload mode.  The caller looks up the secret.  s3_sigv4_verify checks
 *   the clock, rebuilds the canonical request exactly as S3 does (path
 *   decoded once and re-encoded with '/' kept and no dot-segment
 *   normalisation; query sorted by encoded key then value; signed headers
 *   trimmed with inner blanks collapsed and repeats joined by ','), derives
 *   the signing key (cached per thread), and compares in constant time.
 * A presigned URL carries the same fields as X-Amz-* query parameters and
 * signs every other query parameter except X-Amz-Signature.
 *
 * Failure modes: malformed input maps to AUTH_MALFORMED (header) or
 * AUTH_QUERY_MALFORMED (query); SigV2 and other algorithms to
 * UNSUPPORTED_AUTH; the clock to TIME_SKEWED or EXPIRED; a wrong signature to
 * BAD_SIGNATURE.  Nothing here logs secrets or signatures. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "sigv4.h"
#include "xml_out.h"

/* First header named @name (lower-case) or a NULL view. */
static struct gw_str hdr_get(const struct s3_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (gw_str_eq_c(r->headers[i].name, name)) {
            return r->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

/* Split the request target into its path and query (without '?'). */
static void target_split(struct gw_str target, struct gw_str *path, struct gw_str *query)
{
    ptrdiff_t q = gw_str_chr(target, '?');

    if (q < 0) {
        *path = target;
        *query = gw_str_make(target.p + target.len, 0);
        return;
    }
    *path = gw_str_make(target.p, (size_t)q);
    *query = gw_str_make(target.p + q + 1, target.len - (size_t)q - 1);
}

/* Percent-decode @in into the arena; false on a malformed escape. */
static bool decode_dup(struct gw_arena *a, struct gw_str in, bool plus_is_space, struct gw_str *out)
{
    char *p = gw_arena_alloc(a, in.len + 1);
    size_t n = 0;

    if (!gw_url_decode(in, p, &n, plus_is_space)) {
        return false;
    }
    p[n] = '\0';
    *out = gw_str_make(p, n);
    return true;
}

struct gw_str s3__sigv4_encode_dup(struct gw_arena *a, struct gw_str in, bool keep_slash)
{
    char *p = gw_arena_alloc(a, 3 * in.len + 1);
    size_t n = gw_url_encode(in, p, keep_slash);

    return gw_str_make(p, n);
}

/* Parse @n decimal digits at @p; false on a non-digit. */
static bool digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

/* Epoch seconds of a broken-down UTC time, with range checks. */
static bool civil_to_epoch(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                           unsigned s, int64_t *out)
{
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
        return false;
    }
    *out = s3__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

bool s3__sigv4_parse_time(struct gw_str ts, int64_t *out)
{
    unsigned y, mo, d, h, mi, s;

    if (ts.len != 16 || ts.p[8] != 'T' || ts.p[15] != 'Z') {
        return false;
    }
    if (!digits(ts.p, 4, &y) || !digits(ts.p + 4, 2, &mo) || !digits(ts.p + 6, 2, &d) ||
        !digits(ts.p + 9, 2, &h) || !digits(ts.p + 11, 2, &mi) || !digits(ts.p + 13, 2, &s)) {
        return false;
    }
    return civil_to_epoch(y, mo, d, h, mi, s, out);
}

/* The low @n decimal digits of @v, zero-padded. */
static void put_digits(char *out, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void s3__sigv4_format_time(int64_t t, char out[17])
{
    struct tm tm;

    s3__civil_from_secs(t, &tm);
    put_digits(out, (unsigned)(tm.tm_year + 1900), 4);
    put_digits(out + 4, (unsigned)(tm.tm_mon + 1), 2);
    put_digits(out + 6, (unsigned)tm.tm_mday, 2);
    out[8] = 'T';
    put_digits(out + 9, (unsigned)tm.tm_hour, 2);
    put_digits(out + 11, (unsigned)tm.tm_min, 2);
    put_digits(out + 13, (unsigned)tm.tm_sec, 2);
    out[15] = 'Z';
    out[16] = '\0';
}

/* Epoch of an RFC 1123 Date header: "Sun, 06 Nov 1994 08:49:37 GMT". */
static bool parse_http_date(struct gw_str v, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned d, y, h, mi, s;
    unsigned mo = 0;

    if (v.len != 29 || v.p[3] != ',' || v.p[4] != ' ' || v.p[7] != ' ' || v.p[11] != ' ' ||
        v.p[16] != ' ' || v.p[19] != ':' || v.p[22] != ':' || memcmp(v.p + 25, " GMT", 4) != 0) {
        return false;
    }
    for (unsigned i = 0; i < 12; i++) {
        if (memcmp(v.p + 8, months + 3 * i, 3) == 0) {
            mo = i + 1;
        }
    }
    if (mo == 0 || !digits(v.p + 5, 2, &d) || !digits(v.p + 12, 4, &y) ||
        !digits(v.p + 17, 2, &h) || !digits(v.p + 20, 2, &mi) || !digits(v.p + 23, 2, &s)) {
        return false;
    }
    return civil_to_epoch(y, mo, d, h, mi, s, out);
}

/* The canonical URI: @path decoded once, re-encoded with '/' kept; "/" if empty. */
static int canon_uri(struct gw_arena *a, struct gw_str path, struct gw_buf *b)
{
    struct gw_str raw;

    if (path.len == 0) {
        gw_buf_append_byte(b, '/');
        return GW_OK;
    }
    if (!decode_dup(a, path, false, &raw)) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    gw_buf_append_str(b, s3__sigv4_encode_dup(a, raw, true));
    return GW_OK;
}

struct qparam {
    struct gw_str key; /* encoded */
    struct gw_str value;
};

static int qparam_cmp(const void *x, const void *y)
{
    const struct qparam *p = x;
    const struct qparam *q = y;
    int c = gw_str_cmp(p->key, q->key);

    return c != 0 ? c : gw_str_cmp(p->value, q->value);
}

/* Split @query at '&' and '=' into decoded-then-encoded pairs ('+' means a
 * space, as form decoding and the SDKs' parsers treat it). */
static int query_params(struct gw_arena *a, struct gw_str query, bool drop_signature,
                        struct qparam **out, size_t *n_out)
{
    size_t cap = 1;
    size_t n = 0;
    struct qparam *v;

    for (size_t i = 0; i < query.len; i++) {
        cap += query.p[i] == '&';
    }
    v = gw_arena_alloc(a, cap * sizeof *v);
    while (query.len > 0) {
        struct gw_str part;
        struct gw_str k;
        struct gw_str dk;
        struct gw_str dv = GW_STR("");

        gw_str_split(&query, '&', &part);
        if (part.len == 0) {
            continue;
        }
        gw_str_split(&part, '=', &k);
        if (!decode_dup(a, k, true, &dk) || !decode_dup(a, part, true, &dv)) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        if (drop_signature && gw_str_eq_c(dk, "X-Amz-Signature")) {
            continue;
        }
        v[n].key = s3__sigv4_encode_dup(a, dk, false);
        v[n++].value = s3__sigv4_encode_dup(a, dv, false);
    }
    *out = v;
    *n_out = n;
    return GW_OK;
}

static int canon_query(struct gw_arena *a, struct gw_str query, bool drop_sig, struct gw_buf *b)
{
    struct qparam *v = NULL;
    size_t n = 0;
    int rv;

    rv = query_params(a, query, drop_sig, &v, &n);
    if (rv != 0) {
        return rv;
    }
    qsort(v, n, sizeof *v, qparam_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            gw_buf_append_byte(b, '&');
        }
        gw_buf_append_str(b, v[i].key);
        gw_buf_append_byte(b, '=');
        gw_buf_append_str(b, v[i].value);
    }
    return GW_OK;
}

/* Append @v trimmed, with every inner run of blanks collapsed to one space. */
static void append_collapsed(struct gw_buf *b, struct gw_str v)
{
    bool pending_space = false;
    bool any = false;

    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            pending_space = any;
            continue;
        }
        if (pending_space) {
            gw_buf_append_byte(b, ' ');
            pending_space = false;
        }
        gw_buf_append_byte(b, c);
        any = true;
    }
}

/* "name:v1,v2\n" for each signed name, values of repeated headers in order. */
static void canon_headers(const struct s3__sigv4_canon *in, struct gw_buf *b)
{
    for (size_t i = 0; i < in->n_signed; i++) {
        bool first = true;

        gw_buf_append_str(b, in->signed_names[i]);
        gw_buf_append_byte(b, ':');
        for (size_t j = 0; j < in->n_headers; j++) {
            if (!gw_str_caseeq(in->headers[j].name, in->signed_names[i])) {
                continue;
            }
            if (!first) {
                gw_buf_append_byte(b, ',');
            }
            append_collapsed(b, in->headers[j].value);
            first = false;
        }
        gw_buf_append_byte(b, '\n');
    }
}

int s3__sigv4_canonical_request(const struct s3__sigv4_canon *in, struct gw_arena *a,
                                struct gw_str *out)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    gw_buf_append_str(&b, in->method);
    gw_buf_append_byte(&b, '\n');
    rv = canon_uri(a, in->path, &b);
    if (rv != 0) {
        goto out;
    }
    gw_buf_append_byte(&b, '\n');
    rv = canon_query(a, in->query, in->is_presigned, &b);
    if (rv != 0) {
        goto out;
    }
    gw_buf_append_byte(&b, '\n');
    canon_headers(in, &b);
    gw_buf_append_byte(&b, '\n');
    gw_buf_append_str(&b, in->signed_headers);
    gw_buf_append_byte(&b, '\n');
    gw_buf_append_str(&b, in->payload_hash);
    *out = gw_arena_str(a, gw_buf_str(&b));
out:
    gw_buf_free(&b);
    return rv;
}

struct gw_str s3__sigv4_string_to_sign(struct gw_str timestamp, struct gw_str scope,
                                       struct gw_str canonical, struct gw_arena *a)
{
    char hex[2 * GW_SHA256_LEN + 1];
    char *s;

    gw_sha256_hex(canonical.p, canonical.len, hex);
    s = gw_arena_printf(a, S3_SIGV4_ALGORITHM "\n%.*s\n%.*s\n%s", (int)timestamp.len,
                        timestamp.p, (int)scope.len, scope.p, hex);
    return gw_str_c(s);
}

void s3__sigv4_hmac_str(const unsigned char *key, size_t key_len, struct gw_str msg,
                        unsigned char out[GW_SHA256_LEN])
{
    gw_hmac_sha256(key, key_len, msg.p, msg.len, out);
}

/* Derive the signing key without the cache. */
static void signing_key_derive(struct gw_str secret, struct gw_str date, struct gw_str region,
                               struct gw_str service, unsigned char key[GW_SHA256_LEN])
{
    struct gw_buf k = GW_BUF_INIT;
    unsigned char t[GW_SHA256_LEN];

    gw_buf_append_c(&k, "AWS4");
    gw_buf_append_str(&k, secret);
    s3__sigv4_hmac_str((const unsigned char *)k.data, k.len, date, t);
    OPENSSL_cleanse(k.data, k.len);
    gw_buf_free(&k);
    s3__sigv4_hmac_str(t, sizeof t, region, t);
    s3__sigv4_hmac_str(t, sizeof t, service, t);
    s3__sigv4_hmac_str(t, sizeof t, GW_STR(S3_SIGV4_TERMINATOR), key);
    OPENSSL_cleanse(t, sizeof t);
}

/* A few derived keys per thread, tagged by a hash of (secret, date, region,
 * service): most requests of a client share all four. */
#define KEY_CACHE_SLOTS 4
struct key_cache_slot {
    bool is_used;
    unsigned char tag[GW_SHA256_LEN];
    unsigned char key[GW_SHA256_LEN];
};
static _Thread_local struct key_cache_slot key_cache[KEY_CACHE_SLOTS];
static _Thread_local unsigned key_cache_next;

static void key_cache_tag(struct gw_str secret, struct gw_str date, struct gw_str region,
                          struct gw_str service, unsigned char tag[GW_SHA256_LEN])
{
    struct gw_hash h;
    struct gw_digests d;
    const struct gw_str parts[] = {secret, date, region, service};

    gw_hash_init(&h, GW_HASH_SHA256);
    for (size_t i = 0; i < 4; i++) {
        uint64_t len = parts[i].len; /* length-prefixed, so fields cannot run together */

        gw_hash_update(&h, &len, sizeof len);
        gw_hash_update(&h, parts[i].p, parts[i].len);
    }
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    memcpy(tag, d.sha256, GW_SHA256_LEN);
}

void s3__sigv4_signing_key(struct gw_str secret, struct gw_str date, struct gw_str region,
                           struct gw_str service, unsigned char key[GW_SHA256_LEN])
{
    unsigned char tag[GW_SHA256_LEN];
    struct key_cache_slot *s;

    key_cache_tag(secret, date, region, service, tag);
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        if (key_cache[i].is_used && CRYPTO_memcmp(key_cache[i].tag, tag, sizeof tag) == 0) {
            memcpy(key, key_cache[i].key, GW_SHA256_LEN);
            return;
        }
    }
    signing_key_derive(secret, date, region, service, key);
    s = &key_cache[key_cache_next++ % KEY_CACHE_SLOTS];
    s->is_used = true;
    memcpy(s->tag, tag, sizeof tag);
    memcpy(s->key, key, GW_SHA256_LEN);
}

/* Parse x-amz-content-sha256 into the payload mode (and digest). */
static int parse_payload_hash(struct gw_str v, struct s3_sigv4 *out)
{
    static const struct {
        const char *name;
        enum s3_payload_mode mode;
    } modes[] = {
        {"UNSIGNED-PAYLOAD", S3_PAYLOAD_UNSIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", S3_PAYLOAD_STREAMING_SIGNED},
        {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", S3_PAYLOAD_STREAMING_SIGNED_TRAILER},
    };

    out->payload_hash = v;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (gw_str_eq_c(v, modes[i].name)) {
            out->payload_mode = modes[i].mode;
            return GW_OK;
        }
    }
    if (v.len == 2 * GW_SHA256_LEN && gw_hex_decode(v, out->sha256, GW_SHA256_LEN)) {
        out->payload_mode = S3_PAYLOAD_SHA256;
        return GW_OK;
    }
    return GW_ERR_INVALID_ARGUMENT;
}

/* The scope "<date>/<region>/<service>/aws4_request" after "<access key>/". */
static int parse_credential(struct gw_str cred, const struct s3__sigv4_opts *opts, int err,
                            struct s3_sigv4 *out)
{
    struct gw_str f[5];
    ptrdiff_t slash = gw_str_chr(cred, '/');
    struct gw_str rest;
    unsigned ignored;

    if (slash <= 0) {
        return err;
    }
    f[0] = gw_str_make(cred.p, (size_t)slash);
    rest = gw_str_make(cred.p + slash + 1, cred.len - (size_t)slash - 1);
    out->scope = rest;
    for (int i = 1; i < 4; i++) {
        if (!gw_str_split(&rest, '/', &f[i]) || f[i].len == 0) {
            return err;
        }
    }
    f[4] = rest;
    if (f[1].len != 8 || !digits(f[1].p, 8, &ignored) || !gw_str_eq(f[3], opts->service) ||
        !gw_str_eq_c(f[4], S3_SIGV4_TERMINATOR)) {
        return err;
    }
    out->access_key = f[0];
    out->date = f[1];
    out->region = f[2];
    out->service = f[3];
    return GW_OK;
}

/* Split "host;x-amz-date" into names; host must be among them. */
static int parse_signed_headers(struct gw_str list, struct gw_arena *a, int err,
                                struct s3_sigv4 *out)
{
    struct gw_str rest = list;
    bool has_host = false;
    size_t n = 0;

    out->signed_headers = list;
    out->signed_names = gw_arena_alloc(a, S3_SIGV4_MAX_SIGNED_HEADERS * sizeof(struct gw_str));
    while (rest.len > 0 || n == 0) {
        struct gw_str name;

        gw_str_split(&rest, ';', &name);
        if (name.len == 0 || n == S3_SIGV4_MAX_SIGNED_HEADERS) {
            return err;
        }
        has_host = has_host || gw_str_eq_c(name, "host");
        out->signed_names[n++] = name;
        if (rest.len == 0 && name.p + name.len < list.p + list.len) {
            return err; /* a trailing ';' */
        }
    }
    out->n_signed = n;
    return has_host ? GW_OK : err;
}

static int parse_signature(struct gw_str sig, int err, struct s3_sigv4 *out)
{
    if (sig.len != 2 * GW_SHA256_LEN || !gw_hex_decode(sig, out->signature, GW_SHA256_LEN)) {
        return err;
    }
    return GW_OK;
}

/* Set out->timestamp/time from the header or query date; the scope's day must match. */
static int set_timestamp(struct gw_str ts, int64_t t, struct gw_arena *a, int err,
                         struct s3_sigv4 *out)
{
    char buf[17];

    if (ts.len == 0) {
        s3__sigv4_format_time(t, buf);
        ts = gw_arena_str(a, gw_str_make(buf, 16));
    }
    out->timestamp = ts;
    out->time = t;
    if (memcmp(ts.p, out->date.p, 8) != 0) {
        return err;
    }
    return GW_OK;
}

/* The three comma-separated fields of the Authorization header's value. */
struct auth_fields {
    struct gw_str credential;
    struct gw_str signed_headers;
    struct gw_str signature;
};

static int split_auth_fields(struct gw_str rest, struct auth_fields *f)
{
    memset(f, 0, sizeof *f);
    while (rest.len > 0) {
        struct gw_str part;
        struct gw_str key;
        struct gw_str *slot = NULL;

        gw_str_split(&rest, ',', &part);
        part = gw_str_trim(part);
        if (!gw_str_split(&part, '=', &key)) {
            return GW_ERR_AUTH_MALFORMED;
        }
        if (gw_str_eq_c(key, "Credential")) {
            slot = &f->credential;
        } else if (gw_str_eq_c(key, "SignedHeaders")) {
            slot = &f->signed_headers;
        } else if (gw_str_eq_c(key, "Signature")) {
            slot = &f->signature;
        }
        if (slot == NULL || slot->p != NULL) {
            return GW_ERR_AUTH_MALFORMED; /* unknown or repeated field */
        }
        *slot = part;
    }
    if (f->credential.p == NULL || f->signed_headers.p == NULL || f->signature.p == NULL) {
        return GW_ERR_AUTH_MALFORMED;
    }
    return GW_OK;
}

/* The request time of header auth: X-Amz-Date, else Date. */
static int header_time(const struct s3_http_request *r, struct gw_str *ts, int64_t *t)
{
    struct gw_str v = hdr_get(r, "x-amz-date");

    if (v.p != NULL) {
        *ts = v;
        return s3__sigv4_parse_time(v, t) ? GW_OK : GW_ERR_ACCESS_DENIED;
    }
    v = hdr_get(r, "date");
    *ts = GW_STR_NULL;
    if (v.p == NULL || !parse_http_date(v, t)) {
        return GW_ERR_ACCESS_DENIED;
    }
    return GW_OK;
}

/* The payload hash from x-amz-content-sha256 or the defaults. */
static int payload_from_request(const struct s3_http_request *r,
                                const struct s3__sigv4_opts *opts, struct s3_sigv4 *out)
{
    struct gw_str v = hdr_get(r, "x-amz-content-sha256");

    if (v.p != NULL) {
        return parse_payload_hash(v, out);
    }
    if (opts->default_payload_hash.p != NULL) {
        return parse_payload_hash(opts->default_payload_hash, out);
    }
    if (out->is_presigned) {
        return parse_payload_hash(GW_STR("UNSIGNED-PAYLOAD"), out);
    }
    return GW_ERR_INVALID_REQUEST; /* S3: "Missing required header ... x-amz-content-sha256" */
}

static int parse_header_auth(const struct s3_http_request *r, struct gw_str value,
                             const struct s3__sigv4_opts *opts, struct gw_arena *a,
                             struct s3_sigv4 *out)
{
    struct gw_str alg;
    struct auth_fields f;
    struct gw_str ts;
    int64_t t = 0;
    int rv;

    if (!gw_str_split(&value, ' ', &alg) || !gw_str_eq_c(alg, S3_SIGV4_ALGORITHM)) {
        return GW_ERR_UNSUPPORTED_AUTH; /* "AWS AK:sig" (SigV2) or another scheme */
    }
    rv = split_auth_fields(value, &f);
    if (rv == 0) {
        rv = parse_credential(f.credential, opts, GW_ERR_AUTH_MALFORMED, out);
    }
    if (rv == 0) {
        rv = parse_signed_headers(f.signed_headers, a, GW_ERR_AUTH_MALFORMED, out);
    }
    if (rv == 0) {
        rv = parse_signature(f.signature, GW_ERR_AUTH_MALFORMED, out);
    }
    if (rv == 0) {
        rv = header_time(r, &ts, &t);
    }
    if (rv == 0) {
        rv = set_timestamp(ts, t, a, GW_ERR_AUTH_MALFORMED, out);
    }
    if (rv == 0) {
        out->security_token = hdr_get(r, "x-amz-security-token");
        rv = payload_from_request(r, opts, out);
    }
    return rv;
}

/* The decoded value of the first query parameter named @key; NULL view if absent. */
static struct gw_str query_get(struct gw_arena *a, struct gw_str query, const char *key)
{
    while (query.len > 0) {
        struct gw_str part;
        struct gw_str k;
        struct gw_str v;

        gw_str_split(&query, '&', &part);
        gw_str_split(&part, '=', &k);
        if (gw_str_eq_c(k, key)) {
            return decode_dup(a, part, true, &v) ? v : gw_str_make("", 0);
        }
    }
    return GW_STR_NULL;
}

/* X-Amz-Date and X-Amz-Expires of a presigned URL. */
static int parse_query_time(struct gw_arena *a, struct gw_str query, struct s3_sigv4 *out)
{
    struct gw_str ts = query_get(a, query, "X-Amz-Date");
    struct gw_str ex = query_get(a, query, "X-Amz-Expires");
    uint64_t expires = 0;
    int64_t t = 0;

    if (ts.p == NULL || !s3__sigv4_parse_time(ts, &t) || ex.p == NULL ||
        !gw_str_to_u64(ex, &expires) || expires < 1) {
        return GW_ERR_AUTH_QUERY_MALFORMED;
    }
    if (expires > S3_SIGV4_MAX_EXPIRES) {
        return GW_ERR_EXPIRES_TOO_LONG; /* S3's own limit, whatever the configuration */
    }
    out->expires = (int64_t)expires;
    return set_timestamp(ts, t, a, GW_ERR_AUTH_QUERY_MALFORMED, out);
}

static int parse_query_auth(const struct s3_http_request *r, struct gw_str query,
                            const struct s3__sigv4_opts *opts, struct gw_arena *a,
                            struct s3_sigv4 *out)
{
    const int err = GW_ERR_AUTH_QUERY_MALFORMED;
    struct gw_str cred = query_get(a, query, "X-Amz-Credential");
    struct gw_str sh = query_get(a, query, "X-Amz-SignedHeaders");
    struct gw_str sig = query_get(a, query, "X-Amz-Signature");
    int rv;

    out->is_presigned = true;
    if (!gw_str_eq_c(query_get(a, query, "X-Amz-Algorithm"), S3_SIGV4_ALGORITHM)) {
        return err; /* AWS: "X-Amz-Algorithm only supports AWS4-HMAC-SHA256" */
    }
    if (cred.p == NULL || sh.p == NULL || sig.p == NULL) {
        return err;
    }
    rv = parse_credential(cred, opts, err, out);
    if (rv == 0) {
        rv = parse_signed_headers(sh, a, err, out);
    }
    if (rv == 0) {
        rv = parse_signature(sig, err, out);
    }
    if (rv == 0) {
        rv = parse_query_time(a, query, out);
    }
    if (rv == 0) {
        out->security_token = query_get(a, query, "X-Amz-Security-Token");
        rv = payload_from_request(r, opts, out);
    }
    return rv;
}

bool s3__query_has(struct gw_str query, const char *key)
{
    while (query.len > 0) {
        struct gw_str part;
        struct gw_str k;

        gw_str_split(&query, '&', &part);
        gw_str_split(&part, '=', &k);
        if (gw_str_eq_c(k, key)) {
            return true;
        }
    }
    return false;
}

int s3__sigv4_parse_opts(const struct s3_http_request *r, const struct s3__sigv4_opts *opts,
                         struct gw_arena *a, struct s3_sigv4 *out)
{
    struct gw_str header = hdr_get(r, "authorization");
    struct gw_str path;
    struct gw_str query;
    bool has_query;

    memset(out, 0, sizeof *out);
    target_split(r->target, &path, &query);
    has_query = s3__query_has(query, "X-Amz-Algorithm") ||
                s3__query_has(query, "X-Amz-Credential") || s3__query_has(query, "X-Amz-Signature");
    if (header.p != NULL && has_query) {
        return GW_ERR_INVALID_ARGUMENT; /* "Only one auth mechanism allowed" */
    }
    if (header.p != NULL) {
        return parse_header_auth(r, header, opts, a, out);
    }
    if (has_query) {
        return parse_query_auth(r, query, opts, a, out);
    }
    if (s3__query_has(query, "AWSAccessKeyId") || s3__query_has(query, "Signature")) {
        return GW_ERR_UNSUPPORTED_AUTH; /* SigV2 presigned URL */
    }
    return GW_ERR_NOT_FOUND;
}

/* Is @name (lower-case, from the request) among the signed header names? */
static bool is_signed_name(const struct s3_sigv4 *auth, struct gw_str name)
{
    for (size_t i = 0; i < auth->n_signed; i++) {
        if (gw_str_caseeq(auth->signed_names[i], name)) {
            return true;
        }
    }
    return false;
}

/* An x-amz-* header that must be signed when present: all of them but
 * x-amz-content-sha256.
 *
 * S3 refuses a SigV4 request, header or presigned alike, that carries an
 * x-amz-* header missing from SignedHeaders: 403 AccessDenied "There were
 * headers present in the request which were not signed", with the names in
 * <HeadersNotSigned> joined by ", ".  Without the rule, a presigned PUT
 * (SignedHeaders=host) plus an added x-amz-copy-source becomes a CopyObject
 * run as the signer.  The one exception is x-amz-content-sha256: S3 does
 * not require it signed, and it cannot be forged anyway because its value
 * is the canonical request's payload-hash line (here and in S3), so
 * changing it changes the signature.  Sources: LocalStack's AWS-validated
 * presigned-URL check (services/s3/presigned_url.py: IGNORED_SIGV4_HEADERS
 * = ["x-amz-content-sha256"], names joined with ", "), Scality Arsenal
 * ARSN-551 and ceph rgw PR 71292 (S3 does not require x-amz-content-sha256
 * to be signed), and the same fix in minio, s3s, seaweedfs and rustfs.
 * x-amzn-* (x-amzn-trace-id, which SDKs leave unsigned) is not x-amz-*. */
static bool must_be_signed(struct gw_str name)
{
    return gw_str_has_prefix(name, GW_STR("x-amz-")) &&
           !gw_str_eq_c(name, "x-amz-content-sha256");
}

/* Has @name been listed already among the first @n headers of @r? */
static bool listed_before(const struct s3_http_request *r, size_t n, struct gw_str name)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_str_eq(r->headers[i].name, name)) {
            return true;
        }
    }
    return false;
}

/* GW_ERR_HEADERS_NOT_SIGNED with out->unsigned_headers when some x-amz-*
 * header of @r must be signed but is not; else GW_OK. */
static int check_headers_signed(const struct s3_http_request *r, struct gw_arena *a,
                                struct s3_sigv4 *out)
{
    struct gw_buf b = {0};

    for (size_t i = 0; i < r->n_headers; i++) {
        struct gw_str name = r->headers[i].name;

        if (!must_be_signed(name) || is_signed_name(out, name) || listed_before(r, i, name)) {
            continue;
        }
        if (b.len > 0) {
            gw_buf_append_c(&b, ", ");
        }
        gw_buf_append_str(&b, name);
    }
    if (b.len == 0) {
        return GW_OK;
    }
    out->unsigned_headers = gw_arena_str(a, gw_buf_str(&b));
    gw_buf_free(&b);
    return GW_ERR_HEADERS_NOT_SIGNED;
}

int s3_sigv4_parse(const struct s3_http_request *r, struct gw_arena *a, struct s3_sigv4 *out)
{
    const struct s3__sigv4_opts opts = {GW_STR("s3"), GW_STR_NULL};
    int rv = s3__sigv4_parse_opts(r, &opts, a, out);

    return rv != 0 ? rv : check_headers_signed(r, a, out);
}

int s3_sigv4_check_region(const struct s3_sigv4 *auth, struct gw_str region)
{
    if (gw_str_eq(auth->region, region)) {
        return GW_OK;
    }
    return auth->is_presigned ? GW_ERR_AUTH_QUERY_MALFORMED : GW_ERR_AUTH_MALFORMED;
}

int s3_sigv4_check_expires(const struct s3_sigv4 *auth, int64_t max_s)
{
    if (!auth->is_presigned || max_s <= 0 || auth->expires <= max_s) {
        return GW_OK;
    }
    return GW_ERR_EXPIRES_TOO_LONG;
}

/* The clock rules: header skew; presigned not-yet-valid and expiry. */
static int check_time(const struct s3_sigv4 *auth, int64_t now, unsigned skew_s)
{
    if (!auth->is_presigned) {
        int64_t d = now - auth->time;

        return (d > (int64_t)skew_s || d < -(int64_t)skew_s) ? GW_ERR_TIME_SKEWED : GW_OK;
    }
    if (auth->time - now > (int64_t)skew_s) {
        return GW_ERR_TIME_SKEWED;
    }
    if (now > auth->time + auth->expires) {
        return GW_ERR_EXPIRED;
    }
    return GW_OK;
}

int s3_sigv4_verify(struct s3_sigv4 *auth, struct gw_str secret, const struct s3_http_request *r,
                    struct gw_arena *a, int64_t now, unsigned skew_s)
{
    struct s3__sigv4_canon c = {0};
    struct gw_str canonical;
    struct gw_str sts;
    unsigned char key[GW_SHA256_LEN];
    unsigned char sig[GW_SHA256_LEN];
    int rv;

    rv = check_time(auth, now, skew_s);
    if (rv != 0) {
        return rv;
    }
    c.method = r->method;
    target_split(r->target, &c.path, &c.query);
    c.headers = r->headers;
    c.n_headers = r->n_headers;
    c.signed_names = auth->signed_names;
    c.n_signed = auth->n_signed;
    c.signed_headers = auth->signed_headers;
    c.payload_hash = auth->payload_hash;
    c.is_presigned = auth->is_presigned;
    rv = s3__sigv4_canonical_request(&c, a, &canonical);
    if (rv != 0) {
        return GW_ERR_BAD_SIGNATURE; /* a path we cannot canonicalise was not signed by us */
    }
    sts = s3__sigv4_string_to_sign(auth->timestamp, auth->scope, canonical, a);
    s3__sigv4_signing_key(secret, auth->date, auth->region, auth->service, key);
    s3__sigv4_hmac_str(key, sizeof key, sts, sig);
    if (CRYPTO_memcmp(sig, auth->signature, sizeof sig) != 0) {
        OPENSSL_cleanse(key, sizeof key);
        return GW_ERR_BAD_SIGNATURE;
    }
    memcpy(auth->signing_key, key, sizeof key);
    gw_hex_encode(sig, sizeof sig, auth->seed_signature);
    OPENSSL_cleanse(key, sizeof key);
    return GW_OK;
}
