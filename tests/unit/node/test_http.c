/* Tests of node/http: the llhttp glue without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "unigw/err.h"

#include "http.h"

struct px {
    struct node_http h;
    struct node_http_limits lim;
    struct gw_arena arena;
    struct s3_http_request req;
    struct gw_buf body;
};

static void sink(void *arg, const char *p, size_t len)
{
    gw_buf_append(&((struct px *)arg)->body, p, len);
}

static void px_init(struct px *x, size_t max_hdr, size_t max_n, size_t max_url)
{
    memset(x, 0, sizeof *x);
    x->lim = (struct node_http_limits){max_hdr, max_n, max_url};
    gw_arena_init(&x->arena);
    node__http_init(&x->h, &x->lim, &x->arena, &x->req, sink, x);
}

static void px_free(struct px *x)
{
    node__http_close(&x->h);
    gw_arena_release(&x->arena);
    gw_buf_free(&x->body);
}

/* Feed @s in pieces of @step bytes until an event other than NEED_MORE. */
static enum node_http_event feed(struct px *x, const char **s, size_t *len, size_t step)
{
    for (;;) {
        size_t n = *len < step ? *len : step;
        size_t used;
        enum node_http_event ev = node__http_feed(&x->h, *s, n, &used);

        *s += used;
        *len -= used;
        if (ev != NODE_HTTP_NEED_MORE || (*len == 0 && used == n)) {
            return ev;
        }
    }
}

/* A head split at every byte gives the same request; headers keep order,
 * names are lower-cased and values trimmed. */
static void head_any_split(void **state)
{
    const char *req = "PUT /b/k%20x?partNumber=1 HTTP/1.1\r\nHost: a\r\n"
                      "X-Amz-Meta-A:  one \r\nx-amz-meta-a: two\r\nExpect: 100-Continue\r\n"
                      "Content-Length: 3\r\n\r\nabc";

    (void)state;
    for (size_t step = 1; step <= strlen(req); step++) {
        struct px x;
        const char *p = req;
        size_t len = strlen(req);

        px_init(&x, 4096, 100, 1024);
        assert_int_equal(feed(&x, &p, &len, step), NODE_HTTP_HEAD);
        assert_true(gw_str_eq_c(x.req.method, "PUT"));
        assert_true(gw_str_eq_c(x.req.target, "/b/k%20x?partNumber=1"));
        assert_int_equal(x.req.n_headers, 5);
        assert_true(gw_str_eq_c(x.req.headers[1].name, "x-amz-meta-a"));
        assert_true(gw_str_eq_c(x.req.headers[1].value, "one"));
        assert_true(gw_str_eq_c(x.req.headers[2].value, "two"));
        assert_true(x.req.expects_continue);
        assert_true(x.req.has_content_length);
        assert_int_equal(x.req.content_length, 3);
        assert_int_equal(feed(&x, &p, &len, step), NODE_HTTP_DONE);
        assert_int_equal(x.body.len, 3);
        assert_memory_equal(x.body.data, "abc", 3);
        px_free(&x);
    }
}

/* Two pipelined messages: the parser stops at the end of each. */
static void pipelined_stop(void **state)
{
    const char *req = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *p = req;
    size_t len = strlen(req);
    struct px x;

    (void)state;
    px_init(&x, 4096, 100, 1024);
    assert_int_equal(feed(&x, &p, &len, len), NODE_HTTP_HEAD);
    assert_int_equal(feed(&x, &p, &len, len), NODE_HTTP_DONE);
    assert_int_equal(len, 28);
    node__http_next(&x.h);
    gw_arena_release(&x.arena);
    assert_int_equal(feed(&x, &p, &len, len), NODE_HTTP_HEAD);
    assert_true(gw_str_eq_c(x.req.target, "/2"));
    assert_int_equal(feed(&x, &p, &len, len), NODE_HTTP_DONE);
    assert_int_equal(len, 0);
    px_free(&x);
}

/* The error parsing @req fed in pieces of @step bytes gives (0: none). */
static int parse_err_step(const char *req, size_t max_hdr, size_t max_n, size_t max_url,
                          size_t step)
{
    struct px x;
    const char *p = req;
    size_t len = strlen(req);
    enum node_http_event ev;
    int rv;

    px_init(&x, max_hdr, max_n, max_url);
    do {
        ev = feed(&x, &p, &len, step);
    } while (ev != NODE_HTTP_ERROR && len > 0);
    rv = ev == NODE_HTTP_ERROR ? x.h.err : 0;
    px_free(&x);
    return rv;
}

static int parse_err(const char *req, size_t max_hdr, size_t max_n, size_t max_url)
{
    return parse_err_step(req, max_hdr, max_n, max_url, 7);
}

/* Limits and malformed input map to the right errors. */
static void errors(void **state)
{
    (void)state;
    assert_int_equal(parse_err("GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", 4096, 10, 8),
                     GW_ERR_URI_TOO_LONG);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nHost: a\r\nb: 2\r\nc: 3\r\n\r\n", 4096, 2, 100),
                     GW_ERR_HEADER_TOO_LARGE);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n", 32, 10,
                               100),
                     GW_ERR_HEADER_TOO_LARGE);
    assert_int_equal(parse_err("\x01garbage\r\n\r\n", 4096, 10, 100), GW_ERR_BAD_REQUEST);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                               4096, 10, 100),
                     GW_ERR_BAD_REQUEST);
    assert_int_equal(parse_err("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4096,
                               10, 100),
                     GW_ERR_BAD_REQUEST);
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nHost: a\r\nbad header\r\n\r\n", 4096, 10, 100),
                     GW_ERR_BAD_REQUEST);
    /* Exactly at the limit is fine. */
    assert_int_equal(parse_err("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 10, 100), 0);
}

/* If a head breaks RFC 9112's rules (no Host in HTTP/1.1, two Host lines, a
 * field name that is not a token, an HTTP/0.9 request line), then it is a
 * 400 Bad Request; so are the smuggling shapes (CL+TE, two CL, obs-fold). */
static void strict_head(void **state)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nhOsT: a\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad\tName: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nName : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nNa(me: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nN\x80me: x\r\n\r\n",
        "GET /\r\n\r\n",
        "GET /\r\nHost: a\r\n\r\n",
        "GET / HTTP/0.9\r\nHost: a\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        ("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\n"),
        "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    };
    static const char *const good[] = {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHOST: a\r\nx-amz-meta-!#$%&'*+-.^_`|~09: v\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n", /* HTTP/1.0 need not name a Host */
        "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    };

    bool failed = false;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rv = parse_err(bad[i], 4096, 10, 100);
        if (rv != GW_ERR_BAD_REQUEST) {
            print_error("bad case %zu: got %s\n", i, gw_err_name(rv));
            failed = true;
        }
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rv = parse_err(good[i], 4096, 10, 100);
        if (rv != 0) {
            print_error("good case %zu: got %s\n", i, gw_err_name(rv));
            failed = true;
        }
    }
    /* An obs-fold is found wherever the reads split the head. */
    for (size_t step = 1; step < 40; step++) {
        const char *fold[] = {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
                              "GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n\tfolded\r\n\r\n"};
        const char *ok = "GET / HTTP/1.1\r\nHost: a\r\nX-A:  one two \r\n\r\n";
        for (size_t i = 0; i < 2; i++) {
            if (parse_err_step(fold[i], 4096, 10, 100, step) != GW_ERR_BAD_REQUEST) {
                print_error("fold %zu not refused at step %zu\n", i, step);
                failed = true;
            }
        }
        if (parse_err_step(ok, 4096, 10, 100, step) != 0) {
            print_error("a value split at step %zu is refused\n", step);
            failed = true;
        }
    }
    assert_false(failed);
}

/* Chunked bodies with extensions are de-chunked; keep-alive follows the client. */
static void chunked_and_keep_alive(void **state)
{
    const char *req = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                      "4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n";
    const char *p = req;
    size_t len = strlen(req);
    struct px x;

    (void)state;
    px_init(&x, 4096, 100, 1024);
    assert_int_equal(feed(&x, &p, &len, 3), NODE_HTTP_HEAD);
    assert_true(x.req.is_chunked);
    assert_false(node__http_keep_alive(&x.h));
    assert_int_equal(feed(&x, &p, &len, 3), NODE_HTTP_DONE);
    assert_int_equal(x.body.len, 9);
    assert_memory_equal(x.body.data, "wikipedia", 9);
    px_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_any_split),
        cmocka_unit_test(pipelined_stop),
        cmocka_unit_test(errors),
        cmocka_unit_test(strict_head),
        cmocka_unit_test(chunked_and_keep_alive),
    };
    return cmocka_run_group_tests_name("node/http", tests, NULL, NULL);
}
