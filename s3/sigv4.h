/* AWS Signature Version 4 for S3: verifying the Authorization header and
 * presigned URLs, and signing requests (tests, admin tooling, internal RPC).
 *
 * Verification is two calls so the caller can look the secret up between
 * them: s3_sigv4_parse() reads the request's authentication (no clock, no
 * secret), the caller finds the secret for auth.access_key, then
 * s3_sigv4_verify() checks time and signature.  Everything lives in the
 * request's arena.  Neither call keeps global mutable state except a small
 * per-thread signing-key cache, so both may run on any thread.
 *
 * S3 specifics that differ from other AWS services: the path is URI-decoded
 * once and re-encoded (no dot-segment normalisation), and the payload hash is
 * the x-amz-content-sha256 header (UNSIGNED-PAYLOAD for presigned URLs
 * without it). */
#ifndef UNIGW_S3_SIGV4_H
#define UNIGW_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/arena.h"
#include "unigw/checksum.h"
#include "unigw/s3.h"
#include "unigw/str.h"

#define S3_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define S3_SIGV4_TERMINATOR "aws4_request" /* the last element of a credential scope */
#define S3_SIGV4_MAX_EXPIRES 604800
/* Longest signed-header list we accept (AWS has no published limit; 64 is
 * well above what any SDK signs). */
#define S3_SIGV4_MAX_SIGNED_HEADERS 64

/* What x-amz-content-sha256 announced. */
enum s3_payload_mode {
    S3_PAYLOAD_SHA256 = 1,        /* a hex SHA-256 of the body: auth.sha256 */
    S3_PAYLOAD_UNSIGNED,          /* UNSIGNED-PAYLOAD */
    S3_PAYLOAD_STREAMING_SIGNED,  /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
    S3_PAYLOAD_STREAMING_SIGNED_TRAILER,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
};

struct s3_sigv4 {
    bool is_presigned;
    struct gw_str access_key;
    struct gw_str scope;     /* "<date>/<region>/<service>/aws4_request" */
    struct gw_str date;      /* "YYYYMMDD" of the scope */
    struct gw_str region;    /* the caller compares it with its own region */
    struct gw_str service;   /* "s3" */
    struct gw_str timestamp; /* "YYYYMMDDTHHMMSSZ" (from X-Amz-Date or Date) */
    int64_t time;            /* @timestamp as epoch seconds */
    int64_t expires;         /* presigned: X-Amz-Expires seconds; 0 otherwise */
    struct gw_str signed_headers; /* "host;x-amz-date", verbatim */
    struct gw_str *signed_names;  /* the same, split */
    size_t n_signed;
    unsigned char signature[GW_SHA256_LEN]; /* what the client sent */
    /* On GW_ERR_HEADERS_NOT_SIGNED: the x-amz-* headers present but not in
     * SignedHeaders, in request order, joined with ", " (AWS's form). */
    struct gw_str unsigned_headers;
    struct gw_str security_token;           /* NULL view when absent */
    enum s3_payload_mode payload_mode;
    struct gw_str payload_hash;            /* the canonical request's last line */
    unsigned char sha256[GW_SHA256_LEN];   /* when payload_mode == S3_PAYLOAD_SHA256 */
    /* Set by a successful s3_sigv4_verify, for aws-chunked verification. */
    unsigned char signing_key[GW_SHA256_LEN];
    char seed_signature[2 * GW_SHA256_LEN + 1]; /* lower-case hex */
};

/* Read the authentication of @r (Authorization header or X-Amz-* query) into
 * @out; views point into @r or @a.  Returns
 *   GW_OK;
 *   GW_ERR_NOT_FOUND when the request carries no authentication (anonymous);
 *   GW_ERR_UNSUPPORTED_AUTH for SigV2 or another algorithm;
 *   GW_ERR_AUTH_MALFORMED / GW_ERR_AUTH_QUERY_MALFORMED for a malformed
 *   header / query (bad credential scope, scope date != request date, no
 *   host in SignedHeaders, bad X-Amz-Expires);
 *   GW_ERR_EXPIRES_TOO_LONG for X-Amz-Expires over 604800 (a week);
 *   GW_ERR_ACCESS_DENIED when header auth has neither X-Amz-Date nor Date
 *   (AWS: "requires a valid Date or x-amz-date header");
 *   GW_ERR_INVALID_REQUEST when header auth has no x-amz-content-sha256;
 *   GW_ERR_INVALID_ARGUMENT for an unknown x-amz-content-sha256 value or
 *   both a header and query authentication;
 *   GW_ERR_HEADERS_NOT_SIGNED when an x-amz-* header other than
 *   x-amz-content-sha256 is present but not signed (out->unsigned_headers
 *   names them); checked once everything else parsed. */
/* Does the raw query string (no '?') name the parameter @key (before any
 * '=')?  Shared with the SigV2 parser. */
bool s3__query_has(struct gw_str query, const char *key);

int s3_sigv4_parse(const struct s3_http_request *r, struct gw_arena *a, struct s3_sigv4 *out);

/* Check @auth (from s3_sigv4_parse of @r) against @secret at time @now
 * (epoch seconds).  GW_OK, GW_ERR_TIME_SKEWED (header date more than
 * @skew_s away from @now, or presigned date in the future beyond it),
 * GW_ERR_EXPIRED (presigned URL past X-Amz-Date + X-Amz-Expires),
 * GW_ERR_BAD_SIGNATURE.  On GW_OK, auth->signing_key and
 * auth->seed_signature are set. */
int s3_sigv4_verify(struct s3_sigv4 *auth, struct gw_str secret, const struct s3_http_request *r,
                    struct gw_arena *a, int64_t now, unsigned skew_s);

/* GW_OK when @auth was signed for @region, else the parse error AWS gives
 * for a wrong region (AUTH_MALFORMED or AUTH_QUERY_MALFORMED). */
int s3_sigv4_check_region(const struct s3_sigv4 *auth, struct gw_str region);

/* GW_OK unless @auth is presigned with X-Amz-Expires over @max_s seconds
 * ([s3] presign_max_expiry; 0 or less: no limit beyond parse's 604800):
 * then GW_ERR_EXPIRES_TOO_LONG (400 AuthorizationQueryParametersError, as
 * S3 answers for more than a week). */
int s3_sigv4_check_expires(const struct s3_sigv4 *auth, int64_t max_s);

/* A request to sign.  Every header in @headers is signed (names lower-case;
 * include host, and x-amz-date / x-amz-content-sha256 for header signing). */
struct s3_sigv4_sign_req {
    struct gw_str method;
    struct gw_str path;  /* as it will be sent (percent-encoded) */
    struct gw_str query; /* as it will be sent, without '?'; may be empty */
    const struct s3_header *headers;
    size_t n_headers;
    struct gw_str payload_hash; /* hex sha256, UNSIGNED-PAYLOAD, STREAMING-... */
    int64_t time;               /* epoch seconds */
    struct gw_str access_key;
    struct gw_str secret;
    struct gw_str region;
    struct gw_str service;         /* NULL view: "s3" */
    struct gw_str security_token;  /* presign only; NULL view when none */
    int64_t expires;               /* presign only: 1..604800 */
};

/* The Authorization header value for @in: "AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=...".  GW_OK, or GW_ERR_INVALID_ARGUMENT for
 * a malformed path or query escape, or too many headers. */
int s3_sigv4_sign_headers(const struct s3_sigv4_sign_req *in, struct gw_arena *a,
                          struct gw_str *authorization);
/* The query string of a presigned URL for @in: @in->query followed by the
 * X-Amz-* parameters and X-Amz-Signature (payload hash: @in->payload_hash,
 * UNSIGNED-PAYLOAD when it is a NULL view). */
int s3_sigv4_presign(const struct s3_sigv4_sign_req *in, struct gw_arena *a,
                     struct gw_str *query);

/* Internals, exposed to the module and its tests. */

/* Inputs of the canonical request. */
struct s3__sigv4_canon {
    struct gw_str method;
    struct gw_str path;  /* raw, percent-encoded as sent */
    struct gw_str query; /* raw, without '?' */
    const struct s3_header *headers;
    size_t n_headers;
    const struct gw_str *signed_names; /* lower-case, in canonical order */
    size_t n_signed;
    struct gw_str signed_headers; /* the names joined with ';' */
    struct gw_str payload_hash;
    bool is_presigned; /* leave X-Amz-Signature out of the query */
};

/* The canonical request, byte for byte as S3 builds it.  GW_OK or
 * GW_ERR_INVALID_ARGUMENT (malformed percent-escape). */
int s3__sigv4_canonical_request(const struct s3__sigv4_canon *in, struct gw_arena *a,
                                struct gw_str *out);
/* "AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex sha256 of @canonical>". */
struct gw_str s3__sigv4_string_to_sign(struct gw_str timestamp, struct gw_str scope,
                                       struct gw_str canonical, struct gw_arena *a);
/* kSigning = HMAC chain over date, region, service, "aws4_request". */
void s3__sigv4_signing_key(struct gw_str secret, struct gw_str date, struct gw_str region,
                           struct gw_str service, unsigned char key[GW_SHA256_LEN]);
/* Options of the parser: the service the scope must name ("s3") and a
 * payload hash to use when x-amz-content-sha256 is absent (NULL view: the
 * S3 rule).  Used by the tests with AWS's generic SigV4 suite. */
struct s3__sigv4_opts {
    struct gw_str service;
    struct gw_str default_payload_hash;
};
int s3__sigv4_parse_opts(const struct s3_http_request *r, const struct s3__sigv4_opts *opts,
                         struct gw_arena *a, struct s3_sigv4 *out);
/* Epoch seconds of "YYYYMMDDTHHMMSSZ"; false when malformed. */
bool s3__sigv4_parse_time(struct gw_str ts, int64_t *out);
/* Format @t as "YYYYMMDDTHHMMSSZ" into @out (17 bytes). */
void s3__sigv4_format_time(int64_t t, char out[17]);
/* HMAC-SHA256 of @msg under @key (@key_len bytes) into @out. */
void s3__sigv4_hmac_str(const unsigned char *key, size_t key_len, struct gw_str msg,
                        unsigned char out[GW_SHA256_LEN]);
/* Percent-encode @in into @a as SigV4 does (RFC 3986 unreserved kept, '/'
 * too when @keep_slash). */
struct gw_str s3__sigv4_encode_dup(struct gw_arena *a, struct gw_str in, bool keep_slash);

#endif
