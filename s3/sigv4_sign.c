/* AWS Signature Version 4 signing: the Authorization header
 * (s3_sigv4_sign_headers) and presigned URLs (s3_sigv4_presign), the client
 * side of s3/sigv4.c; today only the unit tests sign.
 *
 * Happy path: every header the caller passes is signed, its names sorted and
 * de-duplicated into SignedHeaders; the canonical request, string to sign
 * and signing key come from the same code the verifier uses (s3/sigv4.c), so
 * whatever is signed here verifies there.  A presigned URL appends the
 * X-Amz-* parameters to the caller's query, signs that, then appends
 * X-Amz-Signature.
 *
 * Failure modes: GW_ERR_INVALID_ARGUMENT for no headers or more than
 * S3_SIGV4_MAX_SIGNED_HEADERS, a malformed percent-escape in the path or
 * query, or (presign) X-Amz-Expires outside 1..604800.  The secret and the
 * signing key are never logged; the key is cleansed after use. */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "sigv4.h"

static int str_ptr_cmp(const void *x, const void *y)
{
    return gw_str_cmp(*(const struct gw_str *)x, *(const struct gw_str *)y);
}

/* Sorted, de-duplicated names of @in's headers and their ';' list. */
static int sign_names(const struct s3_sigv4_sign_req *in, struct gw_arena *a,
                      struct s3__sigv4_canon *c)
{
    struct gw_str *names;
    struct gw_buf b = GW_BUF_INIT;
    size_t n = 0;

    if (in->n_headers == 0 || in->n_headers > S3_SIGV4_MAX_SIGNED_HEADERS) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    names = gw_arena_alloc(a, in->n_headers * sizeof *names);
    for (size_t i = 0; i < in->n_headers; i++) {
        names[i] = in->headers[i].name;
    }
    qsort(names, in->n_headers, sizeof *names, str_ptr_cmp);
    for (size_t i = 0; i < in->n_headers; i++) {
        if (n > 0 && gw_str_eq(names[n - 1], names[i])) {
            continue;
        }
        names[n++] = names[i];
        if (n > 1) {
            gw_buf_append_byte(&b, ';');
        }
        gw_buf_append_str(&b, names[i]);
    }
    c->signed_names = names;
    c->n_signed = n;
    c->signed_headers = gw_arena_str(a, gw_buf_str(&b));
    gw_buf_free(&b);
    return GW_OK;
}

/* Canonicalise, hash and sign: the hex signature of @c for @in's key and time. */
static int sign_canon(const struct s3_sigv4_sign_req *in, const struct s3__sigv4_canon *c,
                      struct gw_str scope, struct gw_arena *a, char hex[2 * GW_SHA256_LEN + 1])
{
    char ts[17];
    struct gw_str canonical;
    unsigned char key[GW_SHA256_LEN];
    unsigned char sig[GW_SHA256_LEN];
    struct gw_str service = in->service.p != NULL ? in->service : GW_STR("s3");
    int rv;

    rv = s3__sigv4_canonical_request(c, a, &canonical);
    if (rv != 0) {
        return rv;
    }
    s3__sigv4_format_time(in->time, ts);
    s3__sigv4_signing_key(in->secret, gw_str_make(ts, 8), in->region, service, key);
    s3__sigv4_hmac_str(key, sizeof key,
                       s3__sigv4_string_to_sign(gw_str_make(ts, 16), scope, canonical, a), sig);
    OPENSSL_cleanse(key, sizeof key);
    gw_hex_encode(sig, sizeof sig, hex);
    return GW_OK;
}

static struct gw_str sign_scope(const struct s3_sigv4_sign_req *in, struct gw_arena *a)
{
    char ts[17];
    struct gw_str service = in->service.p != NULL ? in->service : GW_STR("s3");

    s3__sigv4_format_time(in->time, ts);
    return gw_str_c(gw_arena_printf(a, "%.8s/%.*s/%.*s/" S3_SIGV4_TERMINATOR, ts,
                                    (int)in->region.len, in->region.p, (int)service.len,
                                    service.p));
}

int s3_sigv4_sign_headers(const struct s3_sigv4_sign_req *in, struct gw_arena *a,
                          struct gw_str *authorization)
{
    struct s3__sigv4_canon c = {0};
    struct gw_str scope = sign_scope(in, a);
    char hex[2 * GW_SHA256_LEN + 1];
    int rv;

    c.method = in->method;
    c.path = in->path;
    c.query = in->query;
    c.headers = in->headers;
    c.n_headers = in->n_headers;
    c.payload_hash = in->payload_hash;
    rv = sign_names(in, a, &c);
    if (rv == 0) {
        rv = sign_canon(in, &c, scope, a, hex);
    }
    if (rv != 0) {
        return rv;
    }
    *authorization = gw_str_c(gw_arena_printf(
        a, S3_SIGV4_ALGORITHM " Credential=%.*s/%.*s, SignedHeaders=%.*s, Signature=%s",
        (int)in->access_key.len, in->access_key.p, (int)scope.len, scope.p,
        (int)c.signed_headers.len, c.signed_headers.p, hex));
    return GW_OK;
}

/* @in->query plus the X-Amz-* parameters, without the signature. */
static struct gw_str presign_query(const struct s3_sigv4_sign_req *in, struct gw_str scope,
                                   struct gw_str signed_headers, struct gw_arena *a)
{
    struct gw_buf b = GW_BUF_INIT;
    char ts[17];
    struct gw_str out;

    s3__sigv4_format_time(in->time, ts);
    if (in->query.len > 0) {
        gw_buf_append_str(&b, in->query);
        gw_buf_append_byte(&b, '&');
    }
    gw_buf_printf(&b, "X-Amz-Algorithm=" S3_SIGV4_ALGORITHM "&X-Amz-Credential=");
    gw_buf_append_str(&b, s3__sigv4_encode_dup(a, in->access_key, false));
    gw_buf_printf(&b, "%%2F");
    gw_buf_append_str(&b, s3__sigv4_encode_dup(a, scope, false));
    gw_buf_printf(&b, "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=", ts,
                  (long long)in->expires);
    gw_buf_append_str(&b, s3__sigv4_encode_dup(a, signed_headers, false));
    if (in->security_token.p != NULL) {
        gw_buf_append_c(&b, "&X-Amz-Security-Token=");
        gw_buf_append_str(&b, s3__sigv4_encode_dup(a, in->security_token, false));
    }
    out = gw_arena_str(a, gw_buf_str(&b));
    gw_buf_free(&b);
    return out;
}

int s3_sigv4_presign(const struct s3_sigv4_sign_req *in, struct gw_arena *a, struct gw_str *query)
{
    struct s3__sigv4_canon c = {0};
    struct gw_str scope = sign_scope(in, a);
    char hex[2 * GW_SHA256_LEN + 1];
    int rv;

    if (in->expires < 1 || in->expires > S3_SIGV4_MAX_EXPIRES) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    c.method = in->method;
    c.path = in->path;
    c.headers = in->headers;
    c.n_headers = in->n_headers;
    c.payload_hash = in->payload_hash.p != NULL ? in->payload_hash : GW_STR("UNSIGNED-PAYLOAD");
    c.is_presigned = true;
    rv = sign_names(in, a, &c);
    if (rv != 0) {
        return rv;
    }
    c.query = presign_query(in, scope, c.signed_headers, a);
    rv = sign_canon(in, &c, scope, a, hex);
    if (rv != 0) {
        return rv;
    }
    *query = gw_str_c(gw_arena_printf(a, "%.*s&X-Amz-Signature=%s", (int)c.query.len, c.query.p,
                                      hex));
    return GW_OK;
}
