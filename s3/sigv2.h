/* AWS Signature Version 2 for S3: the "Authorization: AWS AKID:signature"
 * header and query-string authentication (AWSAccessKeyId, Expires,
 * Signature), as older tools and Debian's botocore 1.29 presigned URLs use.
 *
 * Verification is two calls, like SigV4: s3_sigv2_parse() reads the request
 * (no clock, no secret), the caller looks the secret up for
 * auth.access_key, then s3_sigv2_verify() checks time and signature.
 * Nothing is kept between calls; both may run on any thread.
 *
 *   StringToSign = Verb \n Content-MD5 \n Content-Type \n Date-or-Expires \n
 *                  CanonicalizedAmzHeaders CanonicalizedResource
 *   Signature    = Base64(HMAC-SHA1(secret, StringToSign))
 *
 * SigV2 signs no payload hash: a request authenticated this way has an
 * unsigned payload (Content-MD5, when sent, is signed and checked by PUT). */
#ifndef UNIGW_S3_SIGV2_H
#define UNIGW_S3_SIGV2_H

#include <stdbool.h>
#include <stdint.h>

#include "unigw/arena.h"
#include "unigw/checksum.h"
#include "unigw/s3.h"
#include "unigw/str.h"

struct s3_sigv2 {
    bool is_presigned;
    struct gw_str access_key;
    unsigned char signature[GW_SHA1_LEN]; /* what the client sent */
    bool has_signature;      /* false: not base64 of 20 bytes (never matches) */
    struct gw_str date_line; /* the 4th line of the StringToSign */
    int64_t time;            /* header auth: Date / x-amz-date as epoch seconds */
    int64_t expires;         /* query auth: Expires (epoch seconds) */
};

/* Read @r's SigV2 authentication into @out; views point into @r or @a.
 *   GW_OK;
 *   GW_ERR_UNSUPPORTED_AUTH when @r carries no SigV2 authentication (no
 *   "AWS " Authorization header, no AWSAccessKeyId / Signature query);
 *   GW_ERR_INVALID_ARGUMENT for a header that is not "AWS AKID:signature"
 *   or both a header and a query authentication (AWS answers
 *   InvalidArgument to both);
 *   GW_ERR_ACCESS_DENIED for a query missing one of AWSAccessKeyId,
 *   Signature, Expires, an Expires that is not epoch seconds, and header
 *   auth without a readable Date or x-amz-date (AWS: AccessDenied);
 *   GW_ERR_BAD_REQUEST for a malformed percent-escape in the query. */
int s3_sigv2_parse(const struct s3_http_request *r, struct gw_arena *a, struct s3_sigv2 *out);

/* Check @auth (from s3_sigv2_parse of @r) against @secret at @now.
 * @vhost_domain (NULL view: path style only) is the domain under which
 * "<bucket>.<domain>" Host names address a bucket, as the router uses it.
 * GW_OK, GW_ERR_EXPIRED (query auth past Expires), GW_ERR_TIME_SKEWED
 * (header date more than @skew_s from @now), GW_ERR_BAD_SIGNATURE.  Time is
 * checked before the signature, as S3 does. */
int s3_sigv2_verify(const struct s3_sigv2 *auth, struct gw_str secret,
                    const struct s3_http_request *r, struct gw_str vhost_domain,
                    struct gw_arena *a, int64_t now, unsigned skew_s);

/* Internals, exposed to the module and its tests. */

/* The StringToSign of @r for @auth.  A path-style request naming only a
 * bucket ("/bkt") has the resource "/bkt/" as S3 and botocore sign it, or
 * "/bkt" with @is_literal (verify accepts both).  GW_OK or
 * GW_ERR_BAD_REQUEST (a malformed percent-escape in the query). */
int s3__sigv2_string_to_sign(const struct s3_sigv2 *auth, const struct s3_http_request *r,
                             struct gw_str vhost_domain, bool is_literal, struct gw_arena *a,
                             struct gw_str *out);
/* Base64(HMAC-SHA1(@secret, @sts)) into @out (28 characters and a NUL). */
void s3__sigv2_sign(struct gw_str secret, struct gw_str sts, char out[29]);
/* Epoch seconds of a SigV2 date: an HTTP date (RFC 1123 with "GMT", "UTC",
 * "Z" or a "+hhmm" offset, RFC 850, asctime) or "YYYYMMDDTHHMMSSZ". */
bool s3__sigv2_parse_date(struct gw_str v, int64_t *out);

#endif
