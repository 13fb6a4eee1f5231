/* admin/client.c: endpoint parsing and the HTTP response parser, on good and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "unigw/err.h"

static int parse(const char *raw, bool is_eof, int *status, struct gw_buf *body)
{
    gw_buf_reset(body);
    return adm_http_parse(gw_str_c(raw), is_eof, status, body);
}

/* If endpoints name a host and maybe a port, then both come out; the Host header keeps them. */
static void endpoint_good(void **state)
{
    struct adm_endpoint ep;

    (void)state;
    assert_int_equal(adm_endpoint_parse("http://127.0.0.1:9000", &ep), GW_OK);
    assert_string_equal(ep.host, "127.0.0.1");
    assert_string_equal(ep.port, "9000");
    assert_string_equal(ep.host_hdr, "127.0.0.1:9000");
    assert_int_equal(adm_endpoint_parse("http://gw.example/", &ep), GW_OK);
    assert_string_equal(ep.host, "gw.example");
    assert_string_equal(ep.port, "80");
    assert_string_equal(ep.host_hdr, "gw.example");
    assert_int_equal(adm_endpoint_parse("http://[::1]:8080", &ep), GW_OK);
    assert_string_equal(ep.host, "::1");
    assert_string_equal(ep.port, "8080");
    assert_string_equal(ep.host_hdr, "[::1]:8080");
    assert_false(ep.is_tls);
    assert_int_equal(adm_endpoint_parse("https://gw.example", &ep), GW_OK);
    assert_true(ep.is_tls);
    assert_string_equal(ep.port, "443");
    assert_int_equal(adm_endpoint_parse("https://127.0.0.1:9443/", &ep), GW_OK);
    assert_true(ep.is_tls);
    assert_string_equal(ep.port, "9443");
}

/* If an endpoint is not http[s]://host[:port][/], then it is refused. */
static void endpoint_bad(void **state)
{
    static const char *const bad[] = {
        "https://",    "h:1",         "http://",        "http://:80",   "http://h:",
        "http://h:0",  "http://h:99999", "http://h:8x", "http://h/path", "http://[::1",
        "http://[::1]x", "http://h?x", "ftp://h",
    };
    struct adm_endpoint ep;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(adm_endpoint_parse(bad[i], &ep), GW_ERR_INVALID_ARGUMENT);
    }
}

/* If a response has a Content-Length, then exactly that many bytes are the body, and fewer
 * mean "read more" (or malformed once the peer closed). */
static void parse_content_length(void **state)
{
    struct gw_buf body = GW_BUF_INIT;
    int status = 0;

    (void)state;
    assert_int_equal(parse("HTTP/1.1 201 Created\r\nContent-length: 2\r\n\r\n{}", false,
                           &status, &body),
                     GW_OK);
    assert_int_equal(status, 201);
    assert_int_equal(body.len, 2);
    assert_memory_equal(body.data, "{}", 2);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", false, &status,
                           &body),
                     GW_ERR_AGAIN);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true, &status,
                           &body),
                     GW_ERR_BAD_REQUEST);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5", false, &status, &body),
                     GW_ERR_AGAIN);
    gw_buf_free(&body);
}

/* If a response is chunked, then the chunks are joined; without a length it runs to EOF. */
static void parse_chunked_and_close(void **state)
{
    struct gw_buf body = GW_BUF_INIT;
    int status = 0;

    (void)state;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n",
                           false, &status, &body),
                     GW_OK);
    assert_int_equal(body.len, 13);
    assert_memory_equal(body.data, "abc0123456789", 13);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
                           false, &status, &body),
                     GW_ERR_AGAIN);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
                           &status, &body),
                     GW_ERR_BAD_REQUEST);
    assert_int_equal(parse("HTTP/1.0 204 No Content\r\n\r\n", false, &status, &body),
                     GW_ERR_AGAIN);
    assert_int_equal(parse("HTTP/1.0 204 No Content\r\n\r\n", true, &status, &body), GW_OK);
    assert_int_equal(status, 204);
    assert_int_equal(body.len, 0);
    gw_buf_free(&body);
}

/* If the status line or a length is malformed, then the response is refused. */
static void parse_malformed(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
    };
    struct gw_buf body = GW_BUF_INIT;
    int status = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], true, &status, &body), GW_ERR_BAD_REQUEST);
    }
    gw_buf_free(&body);
}

/* If the header block never ends, then the parser gives up after 64 KiB. */
static void parse_endless_headers(void **state)
{
    struct gw_buf raw = GW_BUF_INIT;
    struct gw_buf body = GW_BUF_INIT;
    int status = 0;

    (void)state;
    gw_buf_append_c(&raw, "HTTP/1.1 200 OK\r\n");
    while (raw.len <= 65536) {
        gw_buf_append_c(&raw, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_int_equal(adm_http_parse(gw_buf_str(&raw), false, &status, &body),
                     GW_ERR_BAD_REQUEST);
    gw_buf_free(&raw);
    gw_buf_free(&body);
}

/* Parse @raw from an exact-size heap copy, so reading past its end is an
 * ASan error (a view is never NUL-terminated). */
static int parse_exact(const char *raw, bool is_eof, int *status, struct gw_buf *body)
{
    size_t n = strlen(raw);
    char *copy = malloc(n);
    int rv;

    memcpy(copy, raw, n);
    gw_buf_reset(body);
    rv = adm_http_parse(gw_str_make(copy, n), is_eof, status, body);
    free(copy);
    return rv;
}

/* If a chunk-size line is blank, signed, prefixed or over-long, then it is
 * malformed; nothing is read past the end of the view. */
static void parse_chunk_size_bounded(void **state)
{
    static const char *const bad[] = {
        "\n \t", "\n\n\n", " 5\r\nhello\r\n0\r\n\r\n", "+5\r\nhello\r\n0\r\n\r\n",
        "-1\r\n", "0x5\r\nhello\r\n0\r\n\r\n", "\r\n", "5 \r\nhello\r\n0\r\n\r\n",
        "10000000000000000\r\n",
    };
    struct gw_buf body = GW_BUF_INIT;
    int status = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[256];

        snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s",
                 bad[i]);
        assert_int_equal(parse_exact(raw, true, &status, &body), GW_ERR_BAD_REQUEST);
    }
    assert_int_equal(parse_exact("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n",
                                 true, &status, &body),
                     GW_OK);
    assert_int_equal(body.len, 15);
    assert_int_equal(parse_exact("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5",
                                 false, &status, &body),
                     GW_ERR_AGAIN);
    gw_buf_free(&body);
}

/* If nothing listens at the endpoint, then adm_http says so without a status. */
static void http_refused(void **state)
{
    struct adm_opts o = {0};
    struct gw_buf body = GW_BUF_INIT;
    char err[256] = "";
    int status = 0;

    (void)state;
    o.endpoint = "http://127.0.0.1:1";
    o.access_key = "A";
    o.secret_key = "S";
    o.region = "us-east-1";
    assert_int_equal(adm_http(&o, "GET", "/admin/v1/users", NULL, 0, &status, &body, err,
                              sizeof err),
                     GW_ERR_IO);
    assert_non_null(strstr(err, "cannot connect"));
    o.endpoint = "https://127.0.0.1:1";
    assert_int_equal(adm_http(&o, "GET", "/", NULL, 0, &status, &body, err, sizeof err),
                     GW_ERR_IO);
    assert_non_null(strstr(err, "cannot connect"));
    o.endpoint = "ftp://127.0.0.1:1";
    assert_int_equal(adm_http(&o, "GET", "/", NULL, 0, &status, &body, err, sizeof err),
                     GW_ERR_IO);
    assert_non_null(strstr(err, "bad endpoint"));
    gw_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoint_good),         cmocka_unit_test(endpoint_bad),
        cmocka_unit_test(parse_content_length),  cmocka_unit_test(parse_chunked_and_close),
        cmocka_unit_test(parse_malformed),       cmocka_unit_test(parse_endless_headers),
        cmocka_unit_test(parse_chunk_size_bounded),
        cmocka_unit_test(http_refused),
    };
    return cmocka_run_group_tests_name("admin/client", tests, NULL, NULL);
}
