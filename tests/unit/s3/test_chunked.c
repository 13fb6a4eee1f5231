/* Tests of s3/chunked.c: the AWS documentation's signed chunked upload, the
 * sdkv3 unsigned-trailer sample from the wire-formats note, signed trailers,
 * every split of the input giving the same output, and malformed bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "chunked.h"
#include "sigv4.h"

#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_NOW 1369353600
#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct gw_arena arena;

static int setup(void **state)
{
    (void)state;
    gw_arena_init(&arena);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_arena_release(&arena);
    return 0;
}

/* The verified auth of the documentation's chunked PUT (seed signature). */
static void doc_auth(struct s3_sigv4 *auth)
{
    static struct s3_header h[] = {
        {GW_STR("host"), GW_STR("s3.amazonaws.com")},
        {GW_STR("x-amz-date"), GW_STR("20130524T000000Z")},
        {GW_STR("x-amz-storage-class"), GW_STR("REDUCED_REDUNDANCY")},
        {GW_STR("authorization"),
         GW_STR("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                "aws4_request,SignedHeaders=content-encoding;content-length;host;"
                "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                "x-amz-storage-class,Signature=" SEED)},
        {GW_STR("x-amz-content-sha256"), GW_STR("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")},
        {GW_STR("content-encoding"), GW_STR("aws-chunked")},
        {GW_STR("x-amz-decoded-content-length"), GW_STR("66560")},
        {GW_STR("content-length"), GW_STR("66824")},
    };
    struct s3_http_request r = {
        .method = GW_STR("PUT"), .target = GW_STR("/examplebucket/chunkObject.txt"),
        .headers = h, .n_headers = sizeof h / sizeof h[0],
    };

    assert_int_equal(s3_sigv4_parse(&r, &arena, auth), GW_OK);
    assert_int_equal(auth->payload_mode, S3_PAYLOAD_STREAMING_SIGNED);
    assert_int_equal(s3_sigv4_verify(auth, GW_STR(DOC_SECRET), &r, &arena, DOC_NOW, 900), GW_OK);
    assert_string_equal(auth->seed_signature, SEED);
}

/* The documentation's body: 64 KiB + 1 KiB of 'a' in two signed chunks. */
static struct gw_str doc_body(void)
{
    struct gw_buf b = GW_BUF_INIT;
    struct gw_str out;

    gw_buf_append_c(&b, "10000;chunk-signature="
                        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
    for (int i = 0; i < 65536; i++) {
        gw_buf_append_byte(&b, 'a');
    }
    gw_buf_append_c(&b, "\r\n400;chunk-signature="
                        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
    for (int i = 0; i < 1024; i++) {
        gw_buf_append_byte(&b, 'a');
    }
    gw_buf_append_c(&b, "\r\n0;chunk-signature="
                        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
    out = gw_arena_str(&arena, gw_buf_str(&b));
    gw_buf_free(&b);
    return out;
}

/* Feed @in in pieces of @step bytes (cut first at @first); append the decoded
 * bytes to @out.  Returns the first error, or finish's result. */
static int decode(struct s3_chunked *c, struct gw_str in, size_t first, size_t step,
                  struct gw_buf *out)
{
    size_t off = 0;

    while (off < in.len) {
        size_t n = off == 0 && first > 0 ? first : step;
        struct gw_str piece = gw_str_make(in.p + off, n < in.len - off ? n : in.len - off);

        off += piece.len;
        while (piece.len > 0) {
            size_t used = 0;
            struct gw_str data;
            int rv = s3_chunked_feed(c, piece, &used, &data);

            if (rv != 0) {
                return rv;
            }
            assert_true(used > 0 && used <= piece.len);
            assert_true(data.len == 0 || (data.p >= piece.p && data.p + data.len <= piece.p + used));
            gw_buf_append(out, data.p, data.len);
            piece.p += used;
            piece.len -= used;
        }
    }
    return s3_chunked_finish(c);
}

static int decode_with(const struct s3_chunked_params *p, struct gw_str in, size_t first,
                       size_t step, struct gw_buf *out, struct s3_chunked *c)
{
    int rv;

    assert_int_equal(s3_chunked_init(c, p), GW_OK);
    rv = decode(c, in, first, step, out);
    s3_chunked_close(c);
    return rv;
}

/* If the documentation's signed chunked body is decoded, whole or byte by
 * byte, then every chunk signature verifies and 66560 'a' come out. */
static void doc_signed_chunks(void **state)
{
    struct s3_sigv4 auth;
    struct s3_chunked_params p = {.mode = S3_PAYLOAD_STREAMING_SIGNED, .decoded_len = 66560};
    struct s3_chunked c;
    struct gw_str body;
    const size_t steps[] = {1, 7, 4096, 65536, 1 << 20};

    (void)state;
    doc_auth(&auth);
    p.auth = &auth;
    body = doc_body();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct gw_buf out = GW_BUF_INIT;

        assert_int_equal(decode_with(&p, body, 0, steps[i], &out, &c), GW_OK);
        assert_int_equal(out.len, 66560);
        assert_true(memchr(out.data, 'b', out.len) == NULL);
        gw_buf_free(&out);
    }
    /* One changed data byte breaks the first chunk's signature. */
    char *bad = gw_arena_cstr(&arena, body);
    bad[100] = 'b';
    struct gw_buf out = GW_BUF_INIT;
    assert_int_equal(decode_with(&p, gw_str_make(bad, body.len), 0, 1000, &out, &c),
                     GW_ERR_CHUNK_SIGNATURE);
    gw_buf_free(&out);
    /* A wrong decoded length is caught. */
    p.decoded_len = 66561;
    assert_int_equal(decode_with(&p, body, 0, 4096, &out, &c), GW_ERR_DECODED_LENGTH_MISMATCH);
    gw_buf_free(&out);
    p.decoded_len = 66559;
    assert_int_equal(decode_with(&p, body, 0, 4096, &out, &c), GW_ERR_DECODED_LENGTH_MISMATCH);
    gw_buf_free(&out);
    /* The minimum chunk size rule: 1 KiB then more would be refused; here the
     * short chunk is the last, so it is accepted. */
    p.decoded_len = 66560;
    p.min_chunk_size = 8192;
    assert_int_equal(decode_with(&p, body, 0, 4096, &out, &c), GW_OK);
    gw_buf_free(&out);
}

#define SDKV3_BODY "c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n\r\n"

/* If the sdkv3 53-byte body is split at every boundary, then the output and
 * the trailer are the same, and the CRC32 trailer matches the data. */
static void sdkv3_unsigned_trailer(void **state)
{
    struct s3_chunked_params p = {.mode = S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
                                  .decoded_len = 12, .trailer = GW_STR("x-amz-checksum-crc32")};
    struct gw_str body = GW_STR(SDKV3_BODY);
    struct s3_chunked c;

    (void)state;
    assert_int_equal(body.len, 53);
    /* x-amz-trailer alone announces the algorithm the caller must compute. */
    assert_int_equal(s3_chunked_init(&c, &p), GW_OK);
    assert_int_equal(s3_chunked_trailer_alg(&c), GW_HASH_CRC32);
    s3_chunked_close(&c);
    p.trailer = GW_STR("X-Amz-Checksum-SHA256");
    assert_int_equal(s3_chunked_init(&c, &p), GW_OK);
    assert_int_equal(s3_chunked_trailer_alg(&c), GW_HASH_SHA256);
    s3_chunked_close(&c);
    p.trailer = GW_STR_NULL;
    assert_int_equal(s3_chunked_init(&c, &p), GW_OK);
    assert_int_equal(s3_chunked_trailer_alg(&c), 0);
    s3_chunked_close(&c);
    p.trailer = GW_STR("x-amz-checksum-crc32");
    for (size_t first = 0; first < body.len; first++) {
        for (size_t step = 1; step <= body.len; step += (step < 4 ? 1 : 13)) {
            struct gw_buf out = GW_BUF_INIT;
            struct gw_hash h;
            struct gw_digests d;

            assert_int_equal(decode_with(&p, body, first, step, &out, &c), GW_OK);
            assert_int_equal(out.len, 12);
            assert_memory_equal(out.data, "hello world\n", 12);
            assert_int_equal(c.checksum_alg, GW_HASH_CRC32);
            assert_true(gw_str_eq_c(c.checksum_name, "x-amz-checksum-crc32"));
            assert_true(gw_str_eq_c(c.checksum_value, "rwg7LQ=="));
            gw_hash_init(&h, GW_HASH_CRC32);
            gw_hash_update(&h, out.data, out.len);
            gw_hash_final(&h, &d);
            gw_hash_cleanup(&h);
            assert_int_equal(gw_checksum_check(&d, c.checksum_alg, c.checksum_value), GW_OK);
            gw_buf_free(&out);
        }
    }
}

/* Sign a chunk the way SDKs do (independently of the decoder's code path). */
static void sign_chunk(const unsigned char *key, const char *ts, const char *scope, char *prev,
                       const char *kind, const char *last_hash)
{
    char sts[512];
    unsigned char sig[GW_SHA256_LEN];

    if (strcmp(kind, "PAYLOAD") == 0) {
        snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n" EMPTY_SHA "\n%s", ts,
                 scope, prev, last_hash);
    } else {
        snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", ts, scope, prev,
                 last_hash);
    }
    gw_hmac_sha256(key, GW_SHA256_LEN, sts, strlen(sts), sig);
    gw_hex_encode(sig, sizeof sig, prev);
}

/* A signed-with-trailer body of @data in chunks of @chunk bytes. */
static struct gw_str signed_trailer_body(const struct s3_sigv4 *auth, struct gw_str data,
                                         size_t chunk, const char *trailer_line)
{
    struct gw_buf b = GW_BUF_INIT;
    char prev[65];
    char ts[17];
    char hex[65];
    char *scope = gw_arena_cstr(&arena, auth->scope);
    struct gw_str out;

    memcpy(prev, auth->seed_signature, sizeof prev);
    snprintf(ts, sizeof ts, "%.*s", (int)auth->timestamp.len, auth->timestamp.p);
    for (size_t off = 0; off <= data.len; off += chunk) {
        size_t n = data.len - off < chunk ? data.len - off : chunk;

        gw_sha256_hex(data.p + off, n, hex);
        sign_chunk(auth->signing_key, ts, scope, prev, "PAYLOAD", hex);
        gw_buf_printf(&b, "%zx;chunk-signature=%s\r\n", n, prev);
        if (n == 0) {
            break;
        }
        gw_buf_append(&b, data.p + off, n);
        gw_buf_append_c(&b, "\r\n");
        if (off + n == data.len) {
            off = data.len - chunk; /* next round writes the final 0 chunk */
        }
    }
    gw_buf_printf(&b, "%s\r\n", trailer_line);
    /* The signed trailer is "name:value\n". */
    char *canon = gw_arena_printf(&arena, "%s\n", trailer_line);
    gw_sha256_hex(canon, strlen(canon), hex);
    sign_chunk(auth->signing_key, ts, scope, prev, "TRAILER", hex);
    gw_buf_printf(&b, "x-amz-trailer-signature:%s\r\n\r\n", prev);
    out = gw_arena_str(&arena, gw_buf_str(&b));
    gw_buf_free(&b);
    return out;
}

/* If a signed body with a trailer is split at every boundary, then chunk and
 * trailer signatures verify and the trailer is exposed; a changed trailer fails. */
static void signed_with_trailer(void **state)
{
    struct s3_sigv4 auth;
    struct s3_chunked c;
    struct gw_str data = GW_STR("The quick brown fox jumps over the lazy dog, twice over.");
    struct gw_str body;
    struct s3_chunked_params p = {.mode = S3_PAYLOAD_STREAMING_SIGNED_TRAILER,
                                  .trailer = GW_STR("x-amz-checksum-crc32c")};
    struct gw_buf out = GW_BUF_INIT;
    char *bad;

    (void)state;
    doc_auth(&auth);
    p.auth = &auth;
    p.decoded_len = data.len;
    body = signed_trailer_body(&auth, data, 20, "x-amz-checksum-crc32c:yZRlqg==");
    for (size_t first = 1; first < body.len; first++) {
        assert_int_equal(decode_with(&p, body, first, 1 + first % 5, &out, &c), GW_OK);
        assert_true(gw_str_eq(gw_buf_str(&out), data));
        assert_int_equal(c.checksum_alg, GW_HASH_CRC32C);
        assert_true(gw_str_eq_c(c.checksum_value, "yZRlqg=="));
        gw_buf_reset(&out);
    }
    bad = gw_arena_cstr(&arena, body);
    *strstr(bad, "yZRlqg==") = 'Z';
    assert_int_equal(decode_with(&p, gw_str_c(bad), 0, 64, &out, &c), GW_ERR_CHUNK_SIGNATURE);
    gw_buf_reset(&out);
    /* The announced trailer must be the one sent. */
    p.trailer = GW_STR("x-amz-checksum-sha256");
    assert_int_equal(decode_with(&p, body, 0, 64, &out, &c), GW_ERR_MALFORMED_CHUNK);
    gw_buf_free(&out);
}

/* If an unsigned-trailer body is malformed, then the decoder says how. */
static void malformed_bodies(void **state)
{
    static const struct {
        const char *body;
        uint64_t decoded_len;
        int rv;
    } cases[] = {
        {SDKV3_BODY, 12, GW_OK},
        {"c\r\nhello world\n\r\n0\r\n\r\n", 12, GW_ERR_MALFORMED_CHUNK}, /* trailer missing */
        {"c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n", 12,
         GW_ERR_MALFORMED_CHUNK}, /* truncated */
        {SDKV3_BODY "x", 12, GW_ERR_MALFORMED_CHUNK},                      /* after the end */
        {"c\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n\r\n", 12,
         GW_ERR_MALFORMED_CHUNK}, /* bare LF */
        {"g\r\n", 12, GW_ERR_MALFORMED_CHUNK},
        {"\r\n", 12, GW_ERR_MALFORMED_CHUNK},
        {"c;ext=1\r\nhello world\n\r\n0\r\n\r\n", 12, GW_ERR_MALFORMED_CHUNK},
        {"c\r\nhello world\nXX0\r\n\r\n", 12, GW_ERR_MALFORMED_CHUNK}, /* no CRLF after data */
        {"d\r\nhello world\n\r\n", 12, GW_ERR_DECODED_LENGTH_MISMATCH},
        {"c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n\r\n", 13,
         GW_ERR_DECODED_LENGTH_MISMATCH},
        {"11111111111111111\r\n", 12, GW_ERR_MALFORMED_CHUNK}, /* 17 hex digits */
        {"c\r\nhello world\n\r\n0\r\nx-amz-checksum-crc32:rwg7LQ==\r\n"
         "x-amz-checksum-crc32:rwg7LQ==\r\n\r\n",
         12, GW_ERR_MALFORMED_CHUNK}, /* twice */
        {"c\r\nhello world\n\r\n0\r\nnocolon\r\n\r\n", 12, GW_ERR_MALFORMED_CHUNK},
        {"c\r\nhello world\n\r\n0\r\nx-amz-trailer-signature:00\r\n\r\n", 12,
         GW_ERR_MALFORMED_CHUNK},
        {"c\r\nhel\rlo world\n\r\n", 12, GW_ERR_MALFORMED_CHUNK}, /* data one byte too long */
    };
    struct s3_chunked_params p = {.mode = S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
                                  .trailer = GW_STR("x-amz-checksum-crc32")};
    struct s3_chunked c;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t step = 1; step <= 64; step *= 4) {
            struct gw_buf out = GW_BUF_INIT;
            int rv;

            p.decoded_len = cases[i].decoded_len;
            rv = decode_with(&p, gw_str_c(cases[i].body), 0, step, &out, &c);
            gw_buf_free(&out);
            if (rv != cases[i].rv) {
                fail_msg("case %zu step %zu: got %s", i, step, gw_err_name(rv));
            }
        }
    }
}

/* If lines or chunks exceed the limits, then the decoder stops early. */
static void limits(void **state)
{
    struct s3_chunked_params p = {.mode = S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
                                  .decoded_len = 1 << 30, .max_chunk_size = 1024};
    struct s3_chunked c;
    struct gw_buf in = GW_BUF_INIT;
    struct gw_buf out = GW_BUF_INIT;
    struct s3_sigv4 auth;

    (void)state;
    assert_int_equal(decode_with(&p, GW_STR("401\r\n"), 0, 1, &out, &c), GW_ERR_MALFORMED_CHUNK);
    gw_buf_append_c(&in, "1\r\na\r\n0\r\nx-amz-meta-long:");
    for (int i = 0; i < S3_CHUNKED_LINE_CAP; i++) {
        gw_buf_append_byte(&in, 'v');
    }
    gw_buf_append_c(&in, "\r\n\r\n");
    p.decoded_len = 1;
    assert_int_equal(decode_with(&p, gw_buf_str(&in), 0, 7, &out, &c), GW_ERR_MALFORMED_CHUNK);
    gw_buf_free(&in);
    /* min_chunk_size: a short chunk followed by another one. */
    p.min_chunk_size = 4;
    p.decoded_len = 2;
    gw_buf_reset(&out);
    assert_int_equal(decode_with(&p, GW_STR("1\r\na\r\n1\r\nb\r\n0\r\n\r\n"), 0, 3, &out, &c),
                     GW_ERR_INVALID_CHUNK);
    gw_buf_free(&out);
    /* Modes that are not aws-chunked, and signed modes without auth, are refused. */
    p.mode = S3_PAYLOAD_UNSIGNED;
    assert_int_equal(s3_chunked_init(&c, &p), GW_ERR_INVALID_ARGUMENT);
    p.mode = S3_PAYLOAD_STREAMING_SIGNED;
    assert_int_equal(s3_chunked_init(&c, &p), GW_ERR_INVALID_ARGUMENT);
    doc_auth(&auth);
    p.auth = &auth;
    p.trailer = GW_STR("x-amz-checksum-crc32"); /* no trailers in this mode */
    assert_int_equal(s3_chunked_init(&c, &p), GW_ERR_INVALID_ARGUMENT);
    p.mode = S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
    p.trailer = GW_STR("x-amz-checksum-md5");
    assert_int_equal(s3_chunked_init(&c, &p), GW_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(doc_signed_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(sdkv3_unsigned_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(signed_with_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(limits, setup, teardown),
    };
    return cmocka_run_group_tests_name("s3/chunked", tests, NULL, NULL);
}
