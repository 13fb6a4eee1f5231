/* Fuzz SigV4 parsing and canonicalisation: the input is used as an
 * Authorization header value, as a request target (path and presigned
 * query), and as raw path/query for the canonical request builder.
 * Whatever parses is then verified, which canonicalises and signs it. */
#include <stdint.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/err.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse @r and, when that works, verify it against a fixed secret. */
static void parse_and_verify(const struct s3_http_request *r, struct gw_arena *a)
{
    struct s3_sigv4 auth;

    if (s3_sigv4_parse(r, a, &auth) == GW_OK) {
        (void)s3_sigv4_verify(&auth, GW_STR("secret"), r, a, auth.time, 900);
    }
}

static void as_header(struct gw_str in, struct gw_arena *a)
{
    struct s3_header h[] = {
        {GW_STR("host"), GW_STR("h")},
        {GW_STR("x-amz-date"), GW_STR("20130524T000000Z")},
        {GW_STR("x-amz-content-sha256"), GW_STR("UNSIGNED-PAYLOAD")},
        {GW_STR("authorization"), in},
    };
    struct s3_http_request r = {.method = GW_STR("GET"), .target = GW_STR("/b/k?x=1"),
                                .headers = h, .n_headers = 4};

    parse_and_verify(&r, a);
}

static void as_target(struct gw_str in, struct gw_arena *a)
{
    struct s3_header h[] = {{GW_STR("host"), GW_STR("h")}};
    struct s3_http_request r = {.method = GW_STR("PUT"), .target = in, .headers = h,
                                .n_headers = 1};

    parse_and_verify(&r, a);
}

static void as_canon(struct gw_str in, struct gw_arena *a)
{
    struct s3_header h = {GW_STR("host"), in};
    struct gw_str names[] = {GW_STR("host")};
    ptrdiff_t q = gw_str_chr(in, '?');
    struct s3__sigv4_canon c = {
        .method = GW_STR("GET"), .path = in, .query = GW_STR(""), .headers = &h, .n_headers = 1,
        .signed_names = names, .n_signed = 1, .signed_headers = GW_STR("host"),
        .payload_hash = GW_STR("UNSIGNED-PAYLOAD"), .is_presigned = true,
    };
    struct gw_str out;

    if (q >= 0) {
        c.path = gw_str_make(in.p, (size_t)q);
        c.query = gw_str_make(in.p + q + 1, in.len - (size_t)q - 1);
    }
    (void)s3__sigv4_canonical_request(&c, a, &out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_arena a;
    struct gw_str in = gw_str_make((const char *)data, size);

    if (size > 16384) {
        return 0;
    }
    gw_arena_init(&a);
    as_header(in, &a);
    as_target(in, &a);
    as_canon(in, &a);
    gw_arena_release(&a);
    return 0;
}
