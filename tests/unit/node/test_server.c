/* Tests of node/server + node/conn: a real loop, a real socket on 127.0.0.1
 * (port 0) and a client thread speaking raw HTTP/1.1 to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/pool.h"

#include "client.h"
#include "health.h"
#include "loop.h"
#include "metrics.h"
#include "server.h"

enum mode {
    MODE_ECHO,     /* read the whole body, answer "<method> <target> <n>" */
    MODE_NOREAD,   /* answer at once without touching the body */
    MODE_SENDFILE, /* answer with the test file through resp_sendfile */
    MODE_CHUNKED,  /* answer with a chunked body in three writes */
    MODE_HEALTH,   /* node_health_live / node_metrics_respond by path */
};

struct fix {
    uv_loop_t loop;
    struct gw_pool *pool;
    struct gw_pool_loop *pl;
    struct node_server *srv;
    struct node_server_config cfg;
    int port;
    enum mode mode;
    int n_requests;
    int n_canceled;   /* body reads that returned GW_ERR_CANCELED */
    int n_ended;      /* exchanges the handler ended */
    int file_fd;
    uint64_t file_len;
    bool closed;
};

static struct fix *F;

/* ---- the test handler ---- */

struct hx {
    struct s3_exchange *x;
    uint64_t n;
    uint64_t sum; /* sum of body bytes, to check content */
};

static void end_cb(struct s3_exchange *x, int rv, void *arg)
{
    (void)rv;
    (void)arg;
    F->n_ended++;
    s3_resp_end(x);
}

static void answer_text(struct s3_exchange *x, int status, const char *text)
{
    size_t len = strlen(text);
    char *p = gw_arena_strndup(x->arena, text, len);
    struct s3_header h = {GW_STR("content-type"), GW_STR("text/plain")};

    s3_resp_start(x, status, &h, 1, (int64_t)len);
    if (s3_resp_write(x, p, len, end_cb, NULL) != 0) {
        F->n_ended++;
        s3_resp_end(x);
    }
}

static void echo_pump(struct s3_exchange *x, void *arg)
{
    struct hx *h = arg;

    for (;;) {
        struct gw_str chunk;
        bool eof = false;
        int rv = s3_body_read(x, &chunk, &eof);

        if (rv == GW_ERR_AGAIN) {
            s3_body_wait(x, echo_pump, h);
            return;
        }
        if (rv != 0) {
            if (rv == GW_ERR_CANCELED) {
                F->n_canceled++;
            }
            answer_text(x, gw_err_status(rv), gw_err_code(rv));
            return;
        }
        h->n += chunk.len;
        for (size_t i = 0; i < chunk.len; i++) {
            h->sum += (unsigned char)chunk.p[i];
        }
        if (eof) {
            break;
        }
    }
    answer_text(x, 200,
                gw_arena_printf(x->arena, "%.*s %.*s %llu %llu", (int)x->req.method.len,
                                x->req.method.p, (int)x->req.target.len, x->req.target.p,
                                (unsigned long long)h->n, (unsigned long long)h->sum));
}

static void send_file(struct s3_exchange *x)
{
    s3_resp_start(x, 200, NULL, 0, (int64_t)F->file_len);
    if (s3_resp_sendfile(x, F->file_fd, 0, F->file_len, end_cb, NULL) != 0) {
        F->n_ended++;
        s3_resp_end(x);
    }
}

static const char *const chunk_parts[] = {"hello ", "chunked ", "world"};

static void chunk_cb(struct s3_exchange *x, int rv, void *arg)
{
    size_t i = (size_t)(uintptr_t)arg + 1;

    if (rv != 0 || i == 3) {
        end_cb(x, rv, NULL);
        return;
    }
    s3_resp_write(x, chunk_parts[i], strlen(chunk_parts[i]), chunk_cb, (void *)(uintptr_t)i);
}

static void handler(void *data, struct s3_exchange *x)
{
    struct hx *h = gw_arena_zalloc(x->arena, sizeof *h);

    (void)data;
    F->n_requests++;
    x->op_name = F->mode == MODE_HEALTH ? NULL : "TestOp";
    h->x = x;
    switch (F->mode) {
    case MODE_ECHO:
        echo_pump(x, h);
        break;
    case MODE_NOREAD:
        answer_text(x, 403, "no");
        break;
    case MODE_SENDFILE:
        send_file(x);
        break;
    case MODE_CHUNKED:
        s3_resp_start(x, 200, NULL, 0, -1);
        s3_resp_write(x, chunk_parts[0], strlen(chunk_parts[0]), chunk_cb, (void *)0);
        break;
    case MODE_HEALTH:
        if (gw_str_eq_c(x->req.target, "/metrics")) {
            node_metrics_respond(x);
        } else if (gw_str_eq_c(x->req.target, "/health/ready")) {
            node_health_ready(x, false, "raft: \"no leader\"");
        } else {
            node_health_live(x);
        }
        break;
    }
}

/* ---- fixture ---- */

static int setup(void **state)
{
    static struct fix f;

    memset(&f, 0, sizeof f);
    F = &f;
    f.file_fd = -1;
    assert_int_equal(uv_loop_init(&f.loop), 0);
    assert_int_equal(gw_pool_create(2, &f.pool), 0);
    assert_int_equal(gw_pool_loop_create(f.pool, &f.loop, &f.pl), 0);
    f.cfg.listen = "127.0.0.1:0";
    node_metrics_reset();
    *state = &f;
    return 0;
}

static void start(struct fix *f)
{
    assert_int_equal(node_server_start(&f->srv, &f->loop, f->pl, &f->cfg, handler, f), 0);
    f->port = node_server_port(f->srv);
    assert_true(f->port > 0);
}

static void closed_cb(void *arg)
{
    ((struct fix *)arg)->closed = true;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    if (f->srv != NULL) {
        node_server_close(f->srv, closed_cb, f);
        assert_true(tl_run_until(&f->loop, &f->closed, 100000));
    }
    gw_pool_loop_close(f->pl);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    tl_loop_close(&f->loop);
    gw_pool_destroy(f->pool);
    if (f->file_fd >= 0) {
        close(f->file_fd);
    }
    return 0;
}

/* ---- client scenarios ---- */

struct cres {
    const char *send;   /* bytes to send at once */
    size_t send_len;    /* 0: strlen(send) */
    bool byte_by_byte;
    int n_expect;       /* responses to read */
    bool is_head;
    bool wait_close;    /* then expect the server to close */
    struct tc_resp r[4];
    int n;
    bool closed;
    int n_continue;
    int port;
    const char *seq[4]; /* sent one at a time, each followed by one response */
    int n_seq;
};

static void run_simple(void *arg)
{
    struct cres *c = arg;
    struct tc_conn tc;
    size_t len = c->send_len != 0 || c->send == NULL ? c->send_len : strlen(c->send);

    if (!tc_connect(&tc, c->port)) {
        return;
    }
    for (int i = 0; i < c->n_seq; i++) {
        tc_send_str(&tc, c->seq[i]);
        if (tc_read_resp(&tc, &c->r[c->n], c->is_head)) {
            c->n++;
        }
    }
    if (c->send == NULL) {
        len = 0;
    } else if (c->byte_by_byte) {
        for (size_t i = 0; i < len; i++) {
            tc_send(&tc, c->send + i, 1);
            usleep(200);
        }
    } else {
        tc_send(&tc, c->send, len);
    }
    while (c->n < c->n_expect && tc_read_resp(&tc, &c->r[c->n], c->is_head && c->n == 0)) {
        c->n++;
    }
    if (c->wait_close) {
        c->closed = tc_wait_closed(&tc);
    }
    c->n_continue = tc.n_continue;
    tc_close(&tc);
}

static void cres_free(struct cres *c)
{
    for (int i = 0; i < 4; i++) {
        tc_resp_free(&c->r[i]);
    }
}

static void body_is(const struct tc_resp *r, const char *s)
{
    assert_int_equal(r->body.len, strlen(s));
    assert_memory_equal(r->body.data, s, strlen(s));
}

/* ---- tests ---- */

/* A simple GET gets 200 with the node headers. */
static void one_request(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "GET /b/k?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", .n_expect = 1};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].status, 200);
    body_is(&c.r[0], "GET /b/k?x=1 0 0");
    assert_true(tc_has_header(&c.r[0], "server", "unigw"));
    assert_non_null(memmem(c.r[0].head.data, c.r[0].head.len, "x-amz-request-id: ", 18));
    assert_non_null(memmem(c.r[0].head.data, c.r[0].head.len, "date: ", 6));
    assert_true(c.r[0].is_keep_alive);
    cres_free(&c);
}

/* Three requests on one connection, one after the other. */
static void keep_alive(void **state)
{
    struct fix *f = *state;
    struct cres c = {.seq = {"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n",
                             "PUT /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
                             "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"},
                     .n_seq = 3};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 3);
    body_is(&c.r[0], "GET /1 0 0");
    body_is(&c.r[1], "PUT /2 3 294");
    body_is(&c.r[2], "GET /3 0 0");
    assert_int_equal(f->n_requests, 3);
    cres_free(&c);
}

/* Pipelined requests in one write are answered in order. */
static void pipelined(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                             "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy"
                             "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                     .n_expect = 3,
                     .wait_close = true};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 3);
    body_is(&c.r[0], "GET /a 0 0");
    body_is(&c.r[1], "POST /b 2 241");
    body_is(&c.r[2], "GET /c 0 0");
    assert_true(tc_has_header(&c.r[2], "connection", "close"));
    assert_true(c.closed);
    cres_free(&c);
}

/* A request delivered one byte per write. */
static void byte_by_byte(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                     .byte_by_byte = true,
                     .n_expect = 1};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    body_is(&c.r[0], "PUT /slow 5 532");
    cres_free(&c);
}

/* A chunked request body with chunk extensions is de-chunked. */
static void chunked_body(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3;name=value\r\nabc\r\n2;x\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n"
                             "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
                     .n_expect = 2};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 2);
    body_is(&c.r[0], "PUT /c 5 495");
    body_is(&c.r[1], "GET /after 0 0");
    cres_free(&c);
}

struct ccont {
    int port;
    const char *head;
    bool got_continue;
    struct tc_resp r;
    bool ok;
    bool closed;
};

/* Send a head with Expect, wait for "100 Continue" (or the final answer),
 * then send the body only if 100 came. */
static void run_continue(void *arg)
{
    struct ccont *c = arg;
    struct tc_conn tc;
    char b[64] = {0};
    ssize_t n;

    if (!tc_connect(&tc, c->port)) {
        return;
    }
    tc_send_str(&tc, c->head);
    n = recv(tc.fd, b, 12, MSG_PEEK | MSG_WAITALL);
    c->got_continue = n == 12 && memcmp(b, "HTTP/1.1 100", 12) == 0;
    if (c->got_continue) {
        tc_send_str(&tc, "body");
    }
    c->ok = tc_read_resp(&tc, &c->r, false);
    if (!c->got_continue) {
        c->closed = tc_wait_closed(&tc);
    }
    tc_close(&tc);
}

/* 100 Continue goes out when the handler reads the body (any capitalisation). */
static void continue_when_read(void **state)
{
    struct fix *f = *state;
    struct ccont c = {.head = "PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n"};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_continue, &c);
    assert_true(c.got_continue);
    assert_true(c.ok);
    body_is(&c.r, "PUT /e 4 430");
    tc_resp_free(&c.r);
}

/* ...and never when the handler answers without reading; then it closes. */
static void no_continue_when_refused(void **state)
{
    struct fix *f = *state;
    struct ccont c = {.head = "PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                              "Content-Length: 1000000\r\n\r\n"};

    f->mode = MODE_NOREAD;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_continue, &c);
    assert_false(c.got_continue);
    assert_true(c.ok);
    assert_int_equal(c.r.status, 403);
    assert_true(tc_has_header(&c.r, "connection", "close"));
    assert_true(c.closed);
    tc_resp_free(&c.r);
}

struct cbig {
    int port;
    size_t body_len;
    bool ok;
    bool closed;
    struct tc_resp r;
};

/* Send a head announcing a large body, then body bytes while reading. */
static void run_big_unread(void *arg)
{
    struct cbig *c = arg;
    struct tc_conn tc;
    char head[128];
    static char junk[65536];

    if (!tc_connect(&tc, c->port)) {
        return;
    }
    snprintf(head, sizeof head, "PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n", c->body_len);
    tc_send_str(&tc, head);
    tc_send(&tc, junk, sizeof junk); /* part of it; the server answers anyway */
    c->ok = tc_read_resp(&tc, &c->r, false);
    c->closed = tc_wait_closed(&tc);
    tc_close(&tc);
}

/* A handler that answers without reading a large body: answer, then close. */
static void unread_large_body(void **state)
{
    struct fix *f = *state;
    struct cbig c = {.body_len = 50u << 20};

    f->mode = MODE_NOREAD;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_big_unread, &c);
    assert_true(c.ok);
    assert_int_equal(c.r.status, 403);
    assert_true(tc_has_header(&c.r, "connection", "close"));
    assert_true(c.closed);
    tc_resp_free(&c.r);
}

/* A small unread body is drained and the connection kept. */
static void unread_small_body_drained(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"
                             "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
                     .n_expect = 2};

    f->mode = MODE_NOREAD;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[1].status, 403);
    assert_true(c.r[1].is_keep_alive);
    assert_int_equal(f->n_requests, 2);
    cres_free(&c);
}

/* HEAD: Content-Length as announced, no body bytes; the next response
 * follows right after the head. */
static void head_request(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n",
                     .n_expect = 2,
                     .is_head = true};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 2);
    assert_true(tc_has_header(&c.r[0], "content-length", "11"));
    assert_int_equal(c.r[0].body.len, 0);
    body_is(&c.r[1], "GET /g 0 0");
    cres_free(&c);
}

static void expect_xml_error(const struct tc_resp *r, int status, const char *code)
{
    char want[128];

    assert_int_equal(r->status, status);
    snprintf(want, sizeof want, "<Code>%s</Code>", code);
    assert_non_null(memmem(r->body.data, r->body.len, want, strlen(want)));
    assert_non_null(memmem(r->body.data, r->body.len, "<RequestId>", 11));
    assert_non_null(memmem(r->head.data, r->head.len, "x-amz-request-id: ", 18));
    assert_true(tc_has_header(r, "connection", "close"));
}

/* An oversized head gets 400 RequestHeaderSectionTooLarge and a close. */
static void oversized_header(void **state)
{
    struct fix *f = *state;
    struct gw_buf b = GW_BUF_INIT;
    struct cres c = {.n_expect = 1, .wait_close = true};

    f->cfg.max_header_bytes = 4096;
    start(f);
    gw_buf_append_c(&b, "GET / HTTP/1.1\r\nHost: a\r\nx-big: ");
    for (int i = 0; i < 8000; i++) {
        gw_buf_append_byte(&b, 'a');
    }
    gw_buf_append_c(&b, "\r\n\r\n");
    c.send = b.data;
    c.send_len = b.len;
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    expect_xml_error(&c.r[0], 400, "RequestHeaderSectionTooLarge");
    assert_true(c.closed);
    assert_int_equal(f->n_requests, 0);
    gw_buf_free(&b);
    cres_free(&c);
}

/* Too many headers count as too large as well. */
static void too_many_headers(void **state)
{
    struct fix *f = *state;
    struct gw_buf b = GW_BUF_INIT;
    struct cres c = {.n_expect = 1, .wait_close = true};

    f->cfg.max_headers = 10;
    start(f);
    gw_buf_append_c(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 11; i++) {
        gw_buf_printf(&b, "h%d: v\r\n", i);
    }
    gw_buf_append_c(&b, "\r\n");
    c.send = b.data;
    c.send_len = b.len;
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    expect_xml_error(&c.r[0], 400, "RequestHeaderSectionTooLarge");
    gw_buf_free(&b);
    cres_free(&c);
}

/* An overlong URL gets 414. */
static void overlong_url(void **state)
{
    struct fix *f = *state;
    struct gw_buf b = GW_BUF_INIT;
    struct cres c = {.n_expect = 1, .wait_close = true};

    f->cfg.max_url_len = 1024;
    start(f);
    gw_buf_append_c(&b, "GET /");
    for (int i = 0; i < 2000; i++) {
        gw_buf_append_byte(&b, 'u');
    }
    gw_buf_append_c(&b, " HTTP/1.1\r\nHost: a\r\n\r\n");
    c.send = b.data;
    c.send_len = b.len;
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    expect_xml_error(&c.r[0], 414, "UriTooLong");
    assert_true(c.closed);
    gw_buf_free(&b);
    cres_free(&c);
}

/* Garbage gets 400 BadRequest and a close, and the server keeps serving. */
static void garbage(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "\x01\x02 garbage \xff\r\n\r\n", .n_expect = 1, .wait_close = true};
    struct cres c2 = {.send = "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n", .n_expect = 1};

    start(f);
    c.port = c2.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    expect_xml_error(&c.r[0], 400, "BadRequest");
    assert_true(c.closed);
    tc_run(&f->loop, run_simple, &c2);
    assert_int_equal(c2.n, 1);
    body_is(&c2.r[0], "GET /ok 0 0");
    cres_free(&c);
    cres_free(&c2);
}

struct cwait {
    int port;
    const char *send;
    bool closed;
    double secs;
    struct tc_resp r;
    bool got_resp;
};

/* Send, then see whether (and how fast) the server answers and closes. */
static void run_wait(void *arg)
{
    struct cwait *c = arg;
    struct tc_conn tc;
    uint64_t t0 = uv_hrtime();

    if (!tc_connect(&tc, c->port)) {
        return;
    }
    if (c->send != NULL) {
        tc_send_str(&tc, c->send);
    }
    if (c->send != NULL && strstr(c->send, "\r\n\r\n") != NULL) {
        c->got_resp = tc_read_resp(&tc, &c->r, false);
    } else if (c->send != NULL) {
        c->got_resp = tc_read_resp(&tc, &c->r, false);
    }
    c->closed = tc_wait_closed(&tc);
    c->secs = (double)(uv_hrtime() - t0) / 1e9;
    tc_close(&tc);
}

/* An idle keep-alive connection is closed after idle_timeout_ms. */
static void idle_timeout(void **state)
{
    struct fix *f = *state;
    struct cwait c = {.send = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"};

    f->cfg.idle_timeout_ms = 100;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_wait, &c);
    assert_true(c.got_resp);
    assert_true(c.closed);
    assert_true(c.secs < 3.0);
    tc_resp_free(&c.r);
}

/* A head that never completes gets 400 RequestTimeout and a close. */
static void header_timeout(void **state)
{
    struct fix *f = *state;
    struct cwait c = {.send = "GET / HTTP/1.1\r\nHost: slow"};

    f->cfg.header_timeout_ms = 100;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_wait, &c);
    assert_true(c.got_resp);
    assert_int_equal(c.r.status, 400);
    assert_non_null(memmem(c.r.body.data, c.r.body.len, "RequestTimeout", 14));
    assert_true(c.closed);
    assert_true(c.secs < 3.0);
    assert_int_equal(f->n_requests, 0);
    tc_resp_free(&c.r);
}

/* A fresh connection that sends nothing is closed after the header timeout. */
static void silent_connection(void **state)
{
    struct fix *f = *state;
    struct cwait c = {0};

    f->cfg.header_timeout_ms = 100;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_wait, &c);
    assert_true(c.closed);
    assert_true(c.secs < 3.0);
}

/* The body stalls: the handler's read fails with RequestTimeout. */
static void body_timeout(void **state)
{
    struct fix *f = *state;
    struct cwait c = {.send = "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"};

    f->cfg.body_timeout_ms = 100;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_wait, &c);
    assert_true(c.got_resp);
    assert_int_equal(c.r.status, 400);
    body_is(&c.r, "RequestTimeout");
    assert_true(c.closed);
    tc_resp_free(&c.r);
}

static void run_disconnect(void *arg)
{
    int *port = arg;
    struct tc_conn tc;

    if (!tc_connect(&tc, *port)) {
        return;
    }
    tc_send_str(&tc, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\npartial");
    usleep(50 * 1000);
    tc_close(&tc);
}

/* The client goes away mid-body: the handler sees GW_ERR_CANCELED, ends the
 * exchange, and the connection is freed (ASan checks the rest). */
static void disconnect_mid_body(void **state)
{
    struct fix *f = *state;

    start(f);
    tc_run(&f->loop, run_disconnect, &f->port);
    for (int i = 0; i < 1000 && (f->n_ended == 0 || node_server_n_conns(f->srv) > 0); i++) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->n_canceled, 1);
    assert_int_equal(f->n_ended, 1);
    assert_int_equal(node_server_n_conns(f->srv), 0);
}

struct cfile {
    int port;
    uint64_t len;
    const unsigned char *want;
    bool same;
    bool ok;
};

static void run_file(void *arg)
{
    struct cfile *c = arg;
    struct tc_conn tc;
    struct tc_resp r;
    int rcv = 16384;

    if (!tc_connect(&tc, c->port)) {
        return;
    }
    setsockopt(tc.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    tc_send_str(&tc, "GET /file HTTP/1.1\r\nHost: a\r\n\r\nGET /again HTTP/1.1\r\nHost: a\r\n\r\n");
    usleep(100 * 1000); /* let the server fill the socket and wait for writability */
    c->ok = tc_read_resp_slow(&tc, &r, 65536, 200);
    c->same = c->ok && r.body.len == c->len && memcmp(r.body.data, c->want, c->len) == 0;
    tc_resp_free(&r);
    c->ok = c->ok && tc_read_resp(&tc, &r, false) && r.body.len == c->len;
    tc_resp_free(&r);
    tc_close(&tc);
}

/* 10 MiB through sendfile to a slow reader: bytes identical, twice. */
static void sendfile_slow_reader(void **state)
{
    struct fix *f = *state;
    char *dir = tl_tmpdir();
    char path[512];
    size_t len = 10u << 20;
    unsigned char *data = gw_malloc(len);
    struct cfile c = {.len = len, .want = data};

    for (size_t i = 0; i < len; i++) {
        data[i] = (unsigned char)(i * 7 + (i >> 13));
    }
    snprintf(path, sizeof path, "%s/obj", dir);
    f->file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(f->file_fd >= 0);
    assert_int_equal(write(f->file_fd, data, len), (ssize_t)len);
    f->file_len = len;
    f->mode = MODE_SENDFILE;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_file, &c);
    assert_true(c.same);
    assert_true(c.ok);
    assert_int_equal(f->n_ended, 2);
    gw_free(data);
    tl_rmrf(dir);
    free(dir);
}

/* A chunked response is framed and terminated. */
static void chunked_response(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "GET /c HTTP/1.1\r\nHost: a\r\n\r\n", .n_expect = 1};

    f->mode = MODE_CHUNKED;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 1);
    assert_true(tc_has_header(&c.r[0], "transfer-encoding", "chunked"));
    body_is(&c.r[0], "hello chunked world");
    cres_free(&c);
}

#define N_CONC 200

struct cconc {
    int port;
    int n_ok;
};

static void run_concurrent(void *arg)
{
    struct cconc *c = arg;
    static struct tc_conn tcs[N_CONC];

    for (int i = 0; i < N_CONC; i++) {
        if (!tc_connect(&tcs[i], c->port)) {
            return;
        }
    }
    for (int i = 0; i < N_CONC; i++) {
        char req[64];

        snprintf(req, sizeof req, "GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        tc_send_str(&tcs[i], req);
    }
    for (int i = 0; i < N_CONC; i++) {
        struct tc_resp r;
        char want[64];

        snprintf(want, sizeof want, "GET /%d 0 0", i);
        if (tc_read_resp(&tcs[i], &r, false) && r.body.len == strlen(want) &&
            memcmp(r.body.data, want, r.body.len) == 0) {
            c->n_ok++;
        }
        tc_resp_free(&r);
        tc_close(&tcs[i]);
    }
}

/* 200 connections open at once, each served. */
static void concurrent(void **state)
{
    struct fix *f = *state;
    struct cconc c = {0};

    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_concurrent, &c);
    assert_int_equal(c.n_ok, N_CONC);
}

/* Metrics and health responders through a real exchange. */
static void metrics_and_health(void **state)
{
    struct fix *f = *state;
    struct cres c = {.send = "GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n"
                             "GET /health/ready HTTP/1.1\r\nHost: a\r\n\r\n"
                             "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
                     .n_expect = 3};

    f->mode = MODE_HEALTH;
    start(f);
    c.port = f->port;
    tc_run(&f->loop, run_simple, &c);
    assert_int_equal(c.n, 3);
    body_is(&c.r[0], "ok\n");
    assert_int_equal(c.r[1].status, 503);
    body_is(&c.r[1], "{\"ready\":false,\"detail\":\"raft: \\\"no leader\\\"\"}\n");
    gw_buf_append_byte(&c.r[2].body, '\0');
    assert_non_null(strstr(c.r[2].body.data,
                           "unigw_http_requests_total{op=\"HealthLive\",code=\"200\"} 1\n"));
    assert_non_null(strstr(c.r[2].body.data,
                           "unigw_http_requests_total{op=\"HealthReady\",code=\"503\"} 1\n"));
    assert_non_null(strstr(c.r[2].body.data, "unigw_http_open_connections 1\n"));
    cres_free(&c);
}

static void run_hold(void *arg)
{
    int *port = arg;
    struct tc_conn tc;

    if (tc_connect(&tc, *port)) {
        tc_send_str(&tc, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nab");
        usleep(50 * 1000);
        /* keep the connection open: the server must abort it at its deadline */
        usleep(300 * 1000);
        tc_close(&tc);
    }
}

/* node_server_close aborts a stuck exchange at the deadline. */
static void close_aborts_busy(void **state)
{
    struct fix *f = *state;
    struct tc_conn idle;
    int rv;

    f->cfg.close_timeout_ms = 50;
    start(f);
    rv = tc_connect(&idle, f->port);
    assert_true(rv);
    tc_run(&f->loop, run_hold, &f->port);
    node_server_close(f->srv, closed_cb, f);
    f->srv = NULL;
    assert_true(tl_run_until(&f->loop, &f->closed, 100000));
    assert_int_equal(f->n_canceled, 1);
    tc_close(&idle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_request, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(continue_when_read, setup, teardown),
        cmocka_unit_test_setup_teardown(no_continue_when_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(unread_large_body, setup, teardown),
        cmocka_unit_test_setup_teardown(unread_small_body_drained, setup, teardown),
        cmocka_unit_test_setup_teardown(head_request, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_header, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(overlong_url, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(header_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(silent_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(body_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(disconnect_mid_body, setup, teardown),
        cmocka_unit_test_setup_teardown(sendfile_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_response, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_and_health, setup, teardown),
        cmocka_unit_test_setup_teardown(close_aborts_busy, setup, teardown),
    };
    return cmocka_run_group_tests_name("node/server", tests, NULL, NULL);
}
