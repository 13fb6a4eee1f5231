/* Fuzz SigV2 parsing and canonicalisation.  The input is used three ways:
 * as an Authorization header value (fixed Date and target), as a request
 * target (presigned query auth), and as a whole request, one field per
 * line: method, target, then "name:value" headers.  Whatever parses is
 * verified (StringToSign built and signed) at a time inside its window;
 * the input is also read as a SigV2 date. */
#include <stdint.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/err.h"
#include "sigv2.h"

#define MAX_FIELDS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse @r and, when that works, verify it against a fixed secret. */
static void parse_and_verify(const struct s3_http_request *r, struct gw_arena *a)
{
    struct s3_sigv2 auth;

    if (s3_sigv2_parse(r, a, &auth) == GW_OK) {
        int64_t now = auth.is_presigned ? auth.expires : auth.time;

        (void)s3_sigv2_verify(&auth, GW_STR("secret"), r, GW_STR("s3.example"), a, now, 900);
    }
}

static void as_header(struct gw_str in, struct gw_arena *a)
{
    struct s3_header h[] = {
        {GW_STR("host"), GW_STR("bkt.s3.example:9000")},
        {GW_STR("date"), GW_STR("Sat, 09 Mar 2024 17:05:42 GMT")},
        {GW_STR("x-amz-meta-a"), GW_STR("1")},
        {GW_STR("authorization"), in},
    };
    struct s3_http_request r = {.method = GW_STR("GET"), .target = GW_STR("/k?acl&x=1"),
                                .headers = h, .n_headers = 4};

    parse_and_verify(&r, a);
}

static void as_target(struct gw_str in, struct gw_arena *a)
{
    struct s3_header h[] = {{GW_STR("host"), GW_STR("s3.example")},
                            {GW_STR("content-type"), GW_STR("text/plain")}};
    struct s3_http_request r = {.method = GW_STR("PUT"), .target = in, .headers = h,
                                .n_headers = 2};

    parse_and_verify(&r, a);
}

/* "METHOD\nTARGET\nname:value\n..." */
static void as_request(struct gw_str in, struct gw_arena *a)
{
    struct s3_header h[MAX_FIELDS];
    struct s3_http_request r = {.headers = h};
    struct gw_str line;

    if (!gw_str_split(&in, '\n', &r.method) || !gw_str_split(&in, '\n', &r.target)) {
        return;
    }
    while (in.len > 0 && r.n_headers < MAX_FIELDS) {
        struct s3_header *x = &h[r.n_headers];

        gw_str_split(&in, '\n', &line);
        if (gw_str_split(&line, ':', &x->name)) {
            x->value = gw_str_trim(line);
            r.n_headers++;
        }
    }
    parse_and_verify(&r, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_arena a;
    struct gw_str in = gw_str_make((const char *)data, size);
    int64_t t;

    if (size > 16384) {
        return 0;
    }
    gw_arena_init(&a);
    as_header(in, &a);
    as_target(in, &a);
    as_request(in, &a);
    (void)s3__sigv2_parse_date(in, &t);
    gw_arena_release(&a);
    return 0;
}
