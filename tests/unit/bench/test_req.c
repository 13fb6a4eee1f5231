/* Tests of tests/bench/req.c: request heads, checked by parsing them back and verifying
 * their signatures with the server's own verifier (s3/sigv4.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/err.h"
#include "bench.h"
#include "sigv4.h"

#define NOW 1764000000 /* 2025-11-24T16:00:00Z */
#define AK "AKIABENCHUNITTEST"
#define SECRET "bench/unit+secret/key"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct gw_arena arena;
static struct bench_cfg cfg;
static struct bench_target target;

static int setup(void **state)
{
    (void)state;
    gw_arena_init(&arena);
    memset(&cfg, 0, sizeof cfg);
    cfg.sign = BENCH_SIGN_HEADER;
    cfg.access_key = AK;
    cfg.secret_key = SECRET;
    cfg.region = "us-east-1";
    cfg.path_prefix = "";
    cfg.presign_expires = 3600;
    cfg.key_prefix = "k";
    cfg.n_prefixes = 3;
    memset(&target, 0, sizeof target);
    snprintf(target.hostport, sizeof target.hostport, "127.0.0.1:9000");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_arena_release(&arena);
    return 0;
}

/* Parse the head @h back into @r (arena copies, names lower-case) the way node/http.c
 * hands a request to s3/. */
static void parse_head(const struct gw_buf *h, struct s3_http_request *r)
{
    char *text = gw_arena_strndup(&arena, h->data, h->len);
    char *save = NULL, *line, *sp;

    assert_true(h->len >= 4 && memcmp(h->data + h->len - 4, "\r\n\r\n", 4) == 0);
    memset(r, 0, sizeof *r);
    r->headers = gw_arena_zalloc(&arena, 16 * sizeof *r->headers);
    line = strtok_r(text, "\r\n", &save);
    sp = strchr(line, ' ');
    r->method = gw_str_make(line, (size_t)(sp - line));
    assert_non_null(strstr(sp + 1, " HTTP/1.1"));
    r->target = gw_str_make(sp + 1, (size_t)(strstr(sp + 1, " HTTP/1.1") - sp - 1));
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *colon = strchr(line, ':');
        struct s3_header *x = &r->headers[r->n_headers++];

        assert_non_null(colon);
        for (char *p = line; p < colon; p++) {
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);
        }
        x->name = gw_str_make(line, (size_t)(colon - line));
        x->value = gw_str_trim(gw_str_c(colon + 1));
        if (gw_str_eq_c(x->name, "content-length")) {
            r->has_content_length = gw_str_to_u64(x->value, &r->content_length);
        }
    }
}

static int verify(const struct gw_buf *h, const char *secret, struct s3_sigv4 *auth)
{
    struct s3_http_request r;
    int rv;

    parse_head(h, &r);
    rv = s3_sigv4_parse(&r, &arena, auth);
    return rv != 0 ? rv : s3_sigv4_verify(auth, gw_str_c(secret), &r, &arena, NOW, 900);
}

/* If a GET is header-signed, then the server's verifier accepts it, and only with the
 * right secret. */
static void header_get_verifies(void **state)
{
    struct bench_req r = {"GET", "/bench/k1/000000000001", "", 0, NULL, NULL};
    struct gw_buf h = GW_BUF_INIT;
    struct s3_sigv4 auth;

    (void)state;
    assert_int_equal(bench_req_head(&cfg, &target, &r, NOW, &h), GW_OK);
    assert_true(gw_str_has_prefix(gw_buf_str(&h),
                                  GW_STR("GET /bench/k1/000000000001 HTTP/1.1\r\n"
                                         "Host: 127.0.0.1:9000\r\n")));
    assert_null(strstr(h.data, "Content-Length"));
    assert_int_equal(verify(&h, SECRET, &auth), GW_OK);
    assert_false(auth.is_presigned);
    assert_int_equal(auth.payload_mode, S3_PAYLOAD_UNSIGNED);
    assert_int_equal(verify(&h, "another secret", &auth), GW_ERR_BAD_SIGNATURE);
    gw_buf_free(&h);
}

/* If a PUT carries the body's SHA-256, then it is signed over it and sends its length. */
static void header_put_sha256(void **state)
{
    struct bench_req r = {"PUT", "/bench/k0/000000000003", "", 0, EMPTY_SHA256, NULL};
    struct gw_buf h = GW_BUF_INIT;
    struct s3_sigv4 auth;

    (void)state;
    assert_int_equal(bench_req_head(&cfg, &target, &r, NOW, &h), GW_OK);
    assert_non_null(strstr(h.data, "\r\nContent-Length: 0\r\n"));
    assert_non_null(strstr(h.data, "\r\nx-amz-content-sha256: " EMPTY_SHA256 "\r\n"));
    assert_int_equal(verify(&h, SECRET, &auth), GW_OK);
    assert_int_equal(auth.payload_mode, S3_PAYLOAD_SHA256);
    gw_buf_free(&h);
}

/* If a query comes in any order, then the signature still verifies (canonical order). */
static void header_query_verifies(void **state)
{
    struct bench_req r = {"GET", "/bench", "list-type=2&max-keys=1000&prefix=k2%2F", 0, NULL,
                          NULL};
    struct gw_buf h = GW_BUF_INIT;
    struct s3_sigv4 auth;

    (void)state;
    assert_int_equal(bench_req_head(&cfg, &target, &r, NOW, &h), GW_OK);
    assert_true(gw_str_has_prefix(
        gw_buf_str(&h), GW_STR("GET /bench?list-type=2&max-keys=1000&prefix=k2%2F HTTP/1.1")));
    assert_int_equal(verify(&h, SECRET, &auth), GW_OK);
    gw_buf_free(&h);
}

/* If a request is presigned, then its X-Amz-* query verifies and it has no Authorization. */
static void presign_verifies(void **state)
{
    struct bench_req r = {"POST", "/bench/k0/000000000000", "uploads=", 0, NULL, NULL};
    struct gw_buf h = GW_BUF_INIT;
    struct s3_sigv4 auth;

    (void)state;
    cfg.sign = BENCH_SIGN_PRESIGN;
    assert_int_equal(bench_req_head(&cfg, &target, &r, NOW, &h), GW_OK);
    assert_true(gw_str_has_prefix(gw_buf_str(&h),
                                  GW_STR("POST /bench/k0/000000000000?uploads=&X-Amz-Algorithm=")));
    assert_null(strstr(h.data, "Authorization"));
    assert_non_null(strstr(h.data, "\r\nContent-Length: 0\r\n"));
    assert_int_equal(verify(&h, SECRET, &auth), GW_OK);
    assert_true(auth.is_presigned);
    assert_true(auth.expires == 3600);
    gw_buf_free(&h);
}

/* If signing is off, then the head is the plain request with the path prefix. */
static void plain_with_prefix(void **state)
{
    struct bench_req r = {"PUT", "/bench/k0/000000000009", "", 4096, NULL, "text/plain"};
    struct gw_buf h = GW_BUF_INIT;

    (void)state;
    cfg.sign = BENCH_SIGN_NONE;
    cfg.path_prefix = "/put";
    assert_int_equal(bench_req_head(&cfg, &target, &r, NOW, &h), GW_OK);
    gw_buf_append_byte(&h, '\0');
    assert_string_equal(h.data, "PUT /put/bench/k0/000000000009 HTTP/1.1\r\n"
                                "Host: 127.0.0.1:9000\r\n"
                                "Content-Length: 4096\r\n"
                                "Content-Type: text/plain\r\n"
                                "\r\n");
    gw_buf_free(&h);
}

/* If the signer refuses (a broken escape), then nothing is appended. */
static void refused_leaves_buffer(void **state)
{
    struct bench_req r = {"GET", "/bench/%zz", "", 0, NULL, NULL};
    struct gw_buf h = GW_BUF_INIT;

    (void)state;
    gw_buf_append_c(&h, "kept");
    assert_int_equal(bench_req_head(&cfg, &target, &r, NOW, &h), GW_ERR_INVALID_ARGUMENT);
    assert_true(h.len == 4 && memcmp(h.data, "kept", 4) == 0);
    gw_buf_free(&h);
}

/* If keys are named, then the id picks the prefix and is zero-padded. */
static void key_names(void **state)
{
    char key[64];

    (void)state;
    bench_key_name(&cfg, 0, key, sizeof key);
    assert_string_equal(key, "k0/000000000000");
    bench_key_name(&cfg, 1234567, key, sizeof key);
    assert_string_equal(key, "k1/000001234567"); /* 1234567 % 3 == 1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(header_get_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(header_put_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(header_query_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(presign_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_with_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_leaves_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(key_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("bench/req", tests, NULL, NULL);
}
