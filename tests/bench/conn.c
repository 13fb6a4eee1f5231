/* One keep-alive HTTP/1.1 client connection of unigw-bench (state diagram in bench.h).
 *
 * Happy path: connect (TCP_NODELAY), then per request write the head together with the
 * first body chunk, the rest of the body in chunks of at most WRITE_CHUNK bytes cut from
 * the shared body buffer (nothing is copied), and feed every read to llhttp in response
 * mode.  on_message_complete pauses the parser, so the answer is handled after
 * llhttp_execute returns and never inside a parser callback; the request is done once the
 * answer is complete and the body is sent (an early answer, such as a 403 before the
 * body, waits for the write).  The connection stays open when the answer allows keep-alive.
 *
 * Failure modes: a failed connect, a write or read error, bytes after an answer (we never
 * pipeline, so they are a protocol error), a parse error, or no progress for the timeout:
 * the request (if any) completes with status 0 and a message, and the connection closes;
 * the worker hears of the close and reconnects if its phase goes on.  A server closing an
 * idle keep-alive connection is not an error.  Late callbacks of a closing connection
 * (canceled write, canceled connect) return without touching anything. */
#include <stdio.h>
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/str.h"
#include "bench.h"

#define READ_BUF_LEN (64u * 1024)
#define WRITE_CHUNK (1u << 20)
#define ETAG_MAX 256

static struct bench_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int on_message_begin(llhttp_t *p)
{
    struct bench_conn *c = conn_of(p);

    c->hdr_name_len = 0;
    c->hdr_is_etag = false;
    c->res.bytes_in = 0;
    gw_buf_reset(&c->etag);
    gw_buf_reset(&c->resp);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct bench_conn *c = conn_of(p);
    size_t room = sizeof c->hdr_name - c->hdr_name_len;
    size_t n = len < room ? len : room;

    memcpy(c->hdr_name + c->hdr_name_len, at, n);
    c->hdr_name_len += n;
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct bench_conn *c = conn_of(p);

    c->hdr_is_etag = gw_str_caseeq_c(gw_str_make(c->hdr_name, c->hdr_name_len), "etag");
    c->hdr_name_len = 0;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct bench_conn *c = conn_of(p);

    if (c->hdr_is_etag && c->etag.len + len <= ETAG_MAX) {
        gw_buf_append(&c->etag, at, len);
    }
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    conn_of(p)->hdr_is_etag = false;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct bench_conn *c = conn_of(p);

    c->res.status = p->status_code;
    if (p->status_code >= 300) {
        c->is_capture = true; /* the <Error> document, for the report */
    }
    /* 1: the answer to a HEAD has no body whatever its Content-Length says */
    return c->is_head_method && p->status_code >= 200 ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct bench_conn *c = conn_of(p);

    c->res.bytes_in += len;
    if (c->is_capture && c->resp.len < BENCH_CAPTURE_MAX) {
        size_t room = BENCH_CAPTURE_MAX - c->resp.len;

        gw_buf_append(&c->resp, at, len < room ? len : room);
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct bench_conn *c = conn_of(p);

    if (p->status_code >= 100 && p->status_code < 200) {
        return 0; /* an interim answer: the real one follows */
    }
    c->is_keep_alive = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED; /* handled once llhttp_execute returns */
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void closed_cb(uv_handle_t *h)
{
    struct bench_conn *c = h->data;

    c->state = BENCH_CONN_DOWN;
    bench__worker_conn_closed(c->w, c);
}

void bench_conn_close(struct bench_conn *c)
{
    if (c->state == BENCH_CONN_CLOSING || c->state == BENCH_CONN_DOWN) {
        return;
    }
    c->state = BENCH_CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, closed_cb); /* a pending write or connect is canceled */
}

/* End the request in flight (if any) with an error, and close. */
static void conn_fail(struct bench_conn *c, const char *msg)
{
    bool was_busy = c->state == BENCH_CONN_BUSY;

    bench_conn_close(c);
    if (was_busy) {
        c->res.status = 0;
        c->res.err = msg;
        c->res.latency_ns = uv_hrtime() - c->t_start;
        c->done_cb(c, &c->res);
    }
}

/* Both halves done: hand the result over (the callback may send the next request). */
static void conn_maybe_finish(struct bench_conn *c)
{
    if (c->is_writing || !c->is_answered) {
        return;
    }
    c->res.latency_ns = uv_hrtime() - c->t_start;
    c->res.err = NULL;
    if (c->is_keep_alive) {
        c->state = BENCH_CONN_IDLE;
    } else {
        bench_conn_close(c);
    }
    c->done_cb(c, &c->res);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct bench_conn *c = h->data;

    buf->base = c->rbuf;
    buf->len = c->rbuf_cap;
}

/* Feed @n bytes to the parser; the answer is complete when it pauses. */
static void conn_parse(struct bench_conn *c, const char *p, size_t n)
{
    llhttp_errno_t e = llhttp_execute(&c->parser, p, n);

    if (e == HPE_OK) {
        return;
    }
    if (e != HPE_PAUSED) {
        conn_fail(c, llhttp_errno_name(e));
        return;
    }
    if (llhttp_get_error_pos(&c->parser) != p + n) {
        conn_fail(c, "bytes after the answer");
        return;
    }
    llhttp_resume(&c->parser);
    c->is_answered = true;
    conn_maybe_finish(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct bench_conn *c = s->data;

    if (c->state == BENCH_CONN_CLOSING || c->state == BENCH_CONN_DOWN || nread == 0) {
        return;
    }
    if (nread < 0) {
        /* an idle keep-alive connection the server closed is simply reopened */
        conn_fail(c, nread == UV_EOF ? "connection closed by the server" : uv_strerror((int)nread));
        return;
    }
    if (c->state != BENCH_CONN_BUSY || c->is_answered) {
        conn_fail(c, "bytes without a request");
        return;
    }
    c->t_activity = uv_hrtime();
    conn_parse(c, buf->base, (size_t)nread);
}

static void write_cb(uv_write_t *req, int status);

/* Write the next piece: the head with the first body chunk, then body chunks. */
static void conn_write_next(struct bench_conn *c, bool with_head)
{
    uv_buf_t bufs[2];
    unsigned n = 0;
    int rv;

    if (with_head) {
        bufs[n++] = uv_buf_init(c->head.data, (unsigned)c->head.len);
    }
    c->write_len = 0;
    if (c->body_sent < c->body_len) {
        size_t off = (size_t)(c->body_sent % c->body->len);
        uint64_t left = c->body_len - c->body_sent;
        size_t len = c->body->len - off;

        len = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        len = left < len ? (size_t)left : len;
        bufs[n++] = uv_buf_init((char *)c->body->buf + off, (unsigned)len);
        c->write_len = len;
    }
    rv = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, bufs, n, write_cb);
    if (rv != 0) {
        conn_fail(c, uv_strerror(rv));
    }
}

static void write_cb(uv_write_t *req, int status)
{
    struct bench_conn *c = req->data;

    if (c->state != BENCH_CONN_BUSY) {
        return; /* canceled by the close */
    }
    if (status != 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    c->body_sent += c->write_len;
    c->t_activity = uv_hrtime();
    if (c->body_sent < c->body_len) {
        conn_write_next(c, false);
        return;
    }
    c->is_writing = false;
    conn_maybe_finish(c);
}

void bench_conn_send(struct bench_conn *c, const struct bench_body *body, uint64_t body_len,
                     bool is_head_method, bool is_capture, bench_done_cb cb)
{
    c->state = BENCH_CONN_BUSY;
    c->body = body;
    c->body_len = body != NULL ? body_len : 0;
    c->body_sent = 0;
    c->is_head_method = is_head_method;
    c->is_capture = is_capture;
    c->is_writing = true;
    c->is_answered = false;
    c->is_keep_alive = false;
    memset(&c->res, 0, sizeof c->res);
    c->done_cb = cb;
    c->t_start = c->t_activity = uv_hrtime();
    conn_write_next(c, true);
}

void bench_conn_check_timeout(struct bench_conn *c, uint64_t deadline)
{
    if (c->state == BENCH_CONN_BUSY && c->t_activity < deadline) {
        conn_fail(c, "timeout: no progress");
    } else if (c->state == BENCH_CONN_CONNECTING && c->t_activity < deadline) {
        c->connect_err = UV_ETIMEDOUT;
        bench_conn_close(c);
    }
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct bench_conn *c = req->data;
    int rv;

    if (c->state != BENCH_CONN_CONNECTING) {
        return; /* closed meanwhile */
    }
    c->connect_err = status;
    if (status != 0) {
        bench_conn_close(c);
        return;
    }
    rv = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rv != 0) {
        c->connect_err = rv;
        bench_conn_close(c);
        return;
    }
    llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
    c->parser.data = c;
    c->state = BENCH_CONN_IDLE;
    bench__worker_conn_ready(c->w, c);
}

void bench_conn_connect(struct bench_conn *c)
{
    int rv;

    uv_tcp_init(&c->w->loop, &c->tcp);
    c->tcp.data = c;
    c->connect_req.data = c;
    c->write_req.data = c;
    c->state = BENCH_CONN_CONNECTING;
    c->t_activity = uv_hrtime();
    c->connect_err = 0;
    uv_tcp_nodelay(&c->tcp, 1);
    rv = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&c->target->addr,
                        connect_cb);
    if (rv != 0) {
        c->connect_err = rv;
        bench_conn_close(c); /* the worker hears of it from the close callback */
    }
}

void bench_conn_init(struct bench_conn *c, struct bench_worker *w, const struct bench_target *t)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->target = t;
    c->state = BENCH_CONN_DOWN;
    c->head = GW_BUF_INIT;
    c->etag = GW_BUF_INIT;
    c->resp = GW_BUF_INIT;
    c->rbuf_cap = READ_BUF_LEN;
    c->rbuf = gw_malloc(c->rbuf_cap);
    c->task.slot = -1;
}

void bench_conn_free(struct bench_conn *c)
{
    gw_buf_free(&c->head);
    gw_buf_free(&c->etag);
    gw_buf_free(&c->resp);
    gw_buf_free(&c->task.upload_id);
    gw_buf_free(&c->task.etags);
    gw_buf_free(&c->task.xml);
    gw_free(c->rbuf);
    c->rbuf = NULL;
}
