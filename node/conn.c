/* node/conn: the connection state machine.
 *
 *          accept
 *            |
 *            v        first byte          head complete
 *   +----> IDLE ------------------> HEAD ---------------> EXCHANGE
 *   |        ^                       | bad/limit/timeout    |  handler owns x until resp_end;
 *   |        |                       +--> (node answers     |  output flushed, sendfile done
 *   |        |                             400/414) --------+
 *   |        |  keep-alive, body complete                   |
 *   |        +----------------------------------------------+
 *   |                                                       | body left (small)
 *   +---------------------- DRAIN <-------------------------+
 *                                 not keep-alive: LINGER (shutdown, discard input) -> closed
 *
 * Everything runs on the loop thread except sendfile(2), which a pool worker
 * runs against the non-blocking socket until EAGAIN or done; while it does,
 * the loop neither writes to nor closes the socket.  Socket readiness comes
 * from a uv_poll_t (libuv's uv_tcp_t cannot share its fd with a worker).
 * Socket I/O goes through c->io: plain TCP here, or TLS (tls.c), whose reads
 * may need the socket writable (handshake) and may leave decrypted bytes
 * that no poll event announces (conn_arm then schedules a read tick).
 *
 * Exchange ops never call back into the handler and never close anything:
 * they queue work and schedule a tick (uv_idle_t); node__conn_step, run from the
 * tick, poll, timer and worker callbacks, flushes output, fires completed
 * write callbacks and the body_wait callback, finishes the exchange and
 * parses more input.  So callbacks always fire later, never inside the call.
 *
 * Back-pressure: parsing stops while body_buffer_bytes of body wait to be
 * consumed, and reading stops when the read buffer is full, so a slow handler
 * holds at most two body buffers and one read buffer.  Output is queued by
 * reference; a write callback fires only when its bytes are in the kernel.
 *
 * Failure modes: malformed or oversized heads get a 400/414 S3 XML error and
 * a close; a peer that goes away, a write stall or a server deadline kills
 * the connection: queued write callbacks and body waits fire with
 * GW_ERR_CANCELED and the connection is freed only once the handler called
 * resp_end and no worker holds the socket.
 *
 * This file holds the connection's lifecycle, input and timers; the response
 * side (write queue, resp_* ops, sendfile, node's own error answers) is in
 * conn_out.c, and conn_int.h holds what the two share. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "conn_int.h"
#include "metrics.h"
#include "tls.h"

#define CONN_RBUF_CAP (32u * 1024)
#define CONN_LINGER_MAX (4u * 1024 * 1024)
#define CONN_LINGER_MS 2000
#define CONN_N_HANDLES 6

static void poll_cb(uv_poll_t *p, int status, int events);

/* Plain TCP I/O. */
static ssize_t plain_read(struct node_conn *c, void *p, size_t len)
{
    return read(c->fd, p, len);
}

static ssize_t plain_writev(struct node_conn *c, const struct iovec *iov, int n)
{
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};

    return sendmsg(c->fd, &m, MSG_NOSIGNAL);
}

static bool plain_false(const struct node_conn *c)
{
    return false;
}

static void plain_nop(struct node_conn *c)
{
}

static const struct conn_io conn_plain_io = {
    .read = plain_read,
    .writev = plain_writev,
    .has_pending = plain_false,
    .read_wants_write = plain_false,
    .end = plain_nop,
    .free = plain_nop,
    .can_sendfile = true,
    .is_tls = false,
};

struct node_conn_link *node__conn_link(struct node_conn *c)
{
    return &c->link;
}

/* Request ids: a per-process random seed mixed with a counter through
 * splitmix64 (a bijection), so ids never repeat within a process. */
static uint64_t rid_seed;
static uint64_t rid_counter;
static pthread_once_t rid_once = PTHREAD_ONCE_INIT;

static void rid_init(void)
{
    if (getrandom(&rid_seed, sizeof rid_seed, 0) != (ssize_t)sizeof rid_seed) {
        rid_seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
    }
}

static void rid_make(char out[24])
{
    uint64_t z;

    pthread_once(&rid_once, rid_init);
    z = rid_seed + __atomic_fetch_add(&rid_counter, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    snprintf(out, 24, "%016" PRIX64, z);
}

/* ---- the request body ---- */

static int conn_body_read(struct s3_exchange *x, struct gw_str *chunk, bool *eof)
{
    struct node_conn *c = conn_of(x);
    struct gw_buf t;

    if (c->is_dead) {
        return GW_ERR_CANCELED;
    }
    node__conn_send_continue(c);
    c->body_lent.len = 0;
    if (c->body_fill.len > 0) {
        t = c->body_lent;
        c->body_lent = c->body_fill;
        c->body_fill = t;
        *chunk = gw_buf_str(&c->body_lent);
        *eof = c->body_eof;
        node__conn_schedule(c); /* room again: parse and read more */
        return GW_OK;
    }
    if (c->body_eof) {
        *chunk = GW_STR("");
        *eof = true;
        return GW_OK;
    }
    if (c->body_err != 0) {
        return c->body_err;
    }
    node__conn_schedule(c);
    return GW_ERR_AGAIN;
}

static void conn_body_wait(struct s3_exchange *x, s3_ready_cb cb, void *arg)
{
    struct node_conn *c = conn_of(x);

    c->wait_cb = cb;
    c->wait_arg = arg;
    node__conn_send_continue(c);
    node__conn_schedule(c);
}

/* llhttp body sink: keep the bytes for the handler, or drop them once the
 * response is over. */
static void conn_body_sink(void *arg, const char *p, size_t len)
{
    struct node_conn *c = arg;

    c->bytes_in += len;
    if (c->state == CONN_EXCHANGE && !c->resp_ended && !c->is_dead) {
        gw_buf_append(&c->body_fill, p, len);
    }
}

static const struct s3_exchange_ops conn_ops = {
    .body_read = conn_body_read,
    .body_wait = conn_body_wait,
    .resp_start = node__conn_resp_start,
    .resp_write = node__conn_resp_write,
    .resp_sendfile = node__conn_resp_sendfile,
    .resp_end = node__conn_resp_end,
};

/* ---- exchange lifecycle ---- */

/* The first byte of a request arrived: give it an id and a start time. */
static void exchange_begin(struct node_conn *c)
{
    struct s3_http_request *r = &c->x.req;

    c->state = CONN_HEAD;
    c->is_fresh = false;
    c->x.start_ns = uv_hrtime();
    rid_make(r->request_id);
    memcpy(r->peer_ip, c->peer_ip, sizeof r->peer_ip);
    r->is_tls = c->io->is_tls;
}

static void exchange_dispatch(struct node_conn *c)
{
    struct s3_exchange *x = &c->x;

    c->state = CONN_EXCHANGE;
    c->bytes_in += c->http.head_len;
    c->keep_alive = node__http_keep_alive(&c->http) && !c->env->is_closing;
    x->ops = &conn_ops;
    c->env->handler(c->env->handler_data, x);
}

/* Answer a request node itself rejects (no handler involved). */
static void exchange_reject(struct node_conn *c, int rv)
{
    if (c->state == CONN_IDLE) {
        exchange_begin(c);
    }
    c->state = CONN_EXCHANGE;
    c->bytes_in += c->http.head_len;
    c->x.ops = &conn_ops;
    c->body_eof = true; /* nothing more will be parsed */
    c->rpos = c->rlen = 0;
    node__conn_resp_error(c, rv);
    c->resp_ended = true;
}

/* Copy @s into @out for a log line: at most @cap-1 bytes, quotes, backslashes
 * and control bytes percent-escaped. */
static void log_escape(struct gw_str s, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < s.len && o + 4 < cap; i++) {
        unsigned char ch = (unsigned char)s.p[i];

        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' || ch == '%') {
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

static void exchange_record(struct node_conn *c)
{
    struct s3_exchange *x = &c->x;
    uint64_t ns = uv_hrtime() - x->start_ns;
    int status = c->resp_started ? x->status : 499;
    char bucket[128];
    char key[512];

    log_escape(x->log_bucket, bucket, sizeof bucket);
    log_escape(x->log_key, key, sizeof key);
    GW_RLOG(GW_LOG_INFO, "node", x->req.request_id,
            "method=%.*s bucket=\"%s\" key=\"%s\" status=%d in=%" PRIu64 " out=%" PRIu64
            " ms=%.3f op=%s",
            (int)x->req.method.len, x->req.method.p != NULL ? x->req.method.p : "", bucket, key,
            status, c->bytes_in, c->bytes_out, (double)ns / 1e6,
            x->op_name != NULL ? x->op_name : "unknown");
    node_metrics_request(x->op_name, status, c->bytes_in, c->bytes_out, ns);
}

/* Forget the finished exchange and get ready for the next request. */
static void exchange_reset(struct node_conn *c)
{
    struct gw_pool_loop *pool = c->x.pool;

    gw_arena_release(&c->arena);
    gw_buf_free(&c->body_fill);
    gw_buf_free(&c->body_lent);
    gw_buf_free(&c->head_buf);
    memset(&c->x, 0, sizeof c->x);
    c->x.arena = &c->arena;
    c->x.loop = c->env->loop;
    c->x.pool = pool;
    c->bytes_in = 0;
    c->bytes_out = 0;
    c->body_eof = false;
    c->body_err = 0;
    c->wait_cb = NULL;
    c->continue_sent = false;
    c->resp_started = false;
    c->resp_ended = false;
    c->resp_no_body = false;
    c->resp_chunked = false;
    c->resp_len = 0;
    c->resp_sent = 0;
    c->wq_head = c->wq_tail = NULL;
    c->done_head = c->done_tail = NULL;
    node__http_next(&c->http);
}

/* Start lingering: shut our side, discard what the client still sends for a
 * little while, so the response is not destroyed by a reset. */
static void conn_linger(struct node_conn *c)
{
    if (c->is_dead || (c->body_eof && c->rpos == c->rlen)) {
        node__conn_close(c);
        return;
    }
    c->io->end(c);
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->lingered = 0;
    uv_timer_start(&c->body_timer, NULL, CONN_LINGER_MS, 0);
}

/* The response is out and the handler is done with the exchange. */
static void exchange_finish(struct node_conn *c)
{
    exchange_record(c);
    if (c->is_dead || !c->keep_alive) {
        conn_linger(c);
        return;
    }
    if (!c->body_eof) {
        gw_arena_release(&c->arena);
        c->state = CONN_DRAIN;
        return;
    }
    exchange_reset(c);
    c->state = CONN_IDLE;
}

/* ---- input ---- */

/* A parse error: reject the head, fail the body, or give up a drain. */
static void conn_parse_error(struct node_conn *c)
{
    int rv = c->http.err;

    GW_RLOG(GW_LOG_DEBUG, "node", c->x.req.request_id, "msg=\"bad request: %s\"",
            gw_err_name(rv));
    if (c->state == CONN_IDLE || c->state == CONN_HEAD) {
        uv_timer_stop(&c->head_timer);
        exchange_reject(c, rv);
    } else if (c->state == CONN_EXCHANGE) {
        c->body_err = rv == GW_ERR_BAD_REQUEST ? GW_ERR_INCOMPLETE_BODY : rv;
        c->keep_alive = false;
        c->rpos = c->rlen = 0;
    } else {
        c->is_dead = true;
        node__conn_close(c);
    }
}

/* How many buffered bytes the parser may see now. */
static size_t parse_budget(const struct node_conn *c)
{
    size_t avail = c->rlen - c->rpos;
    size_t room;

    if (c->state != CONN_EXCHANGE) {
        return avail;
    }
    /* Past the end of this request's body the bytes belong to the next
     * request, which must wait until this exchange is finished. */
    if (c->body_eof || c->body_err != 0 || c->is_dead) {
        return 0;
    }
    if (c->resp_ended) {
        return avail; /* the rest of an unread body, to be discarded */
    }
    room = c->env->body_buffer_bytes > c->body_fill.len
               ? c->env->body_buffer_bytes - c->body_fill.len
               : 0;
    return avail < room ? avail : room;
}

/* Run the parser over the buffered input as far as the state allows. */
static void conn_parse(struct node_conn *c)
{
    while (!c->is_closing && c->state != CONN_LINGER) {
        size_t n = parse_budget(c);
        size_t used;
        enum node_http_event ev;

        if (n == 0 && (c->state != CONN_EXCHANGE || c->body_eof || c->body_err != 0 ||
                       c->is_dead)) {
            break;
        }
        ev = node__http_feed(&c->http, c->rbuf + c->rpos, n, &used);
        c->rpos += used;
        if (c->state == CONN_IDLE && c->http.is_started) {
            exchange_begin(c);
        }
        if (ev == NODE_HTTP_ERROR) {
            conn_parse_error(c);
            break;
        }
        if (ev == NODE_HTTP_HEAD) {
            uv_timer_stop(&c->head_timer);
            exchange_dispatch(c);
        } else if (ev == NODE_HTTP_DONE && c->state == CONN_DRAIN) {
            exchange_reset(c);
            c->state = CONN_IDLE;
        } else if (ev == NODE_HTTP_DONE) {
            c->body_eof = true;
            break;
        } else if (used == 0 || c->rpos == c->rlen) {
            break; /* NEED_MORE */
        }
    }
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
    }
}

/* The peer closed its side. */
static void conn_peer_eof(struct node_conn *c)
{
    if (c->state == CONN_EXCHANGE) {
        node__conn_kill(c); /* mid-body: the handler sees GW_ERR_CANCELED */
        return;
    }
    c->is_dead = true;
    node__conn_close(c);
}

static void conn_read(struct node_conn *c)
{
    ssize_t n;

    if (c->rbuf == NULL) {
        c->rbuf = gw_malloc(CONN_RBUF_CAP);
    }
    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    if (c->rlen == CONN_RBUF_CAP) {
        return;
    }
    n = c->io->read(c, c->rbuf + c->rlen, CONN_RBUF_CAP - c->rlen);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        conn_peer_eof(c);
        return;
    }
    if (c->state == CONN_LINGER) {
        c->lingered += (uint64_t)n;
        c->rlen = 0;
        if (c->lingered > CONN_LINGER_MAX) {
            node__conn_close(c);
        }
        return;
    }
    c->rlen += (size_t)n;
    if (uv_is_active((uv_handle_t *)&c->body_timer)) {
        uv_timer_stop(&c->body_timer); /* the body is moving: conn_arm restarts it */
    }
}

/* ---- timers ---- */

static void idle_timer_cb(uv_timer_t *t)
{
    struct node_conn *c = t->data;

    if (!c->is_closing && c->state == CONN_IDLE) {
        node__conn_close(c);
    }
}

/* Slowloris: a head that does not complete in time gets 400 RequestTimeout. */
static void head_timer_cb(uv_timer_t *t)
{
    struct node_conn *c = t->data;

    if (c->is_closing) {
        return;
    }
    if (c->state == CONN_HEAD) {
        exchange_reject(c, GW_ERR_REQUEST_TIMEOUT);
        node__conn_step(c);
    } else if (c->state == CONN_IDLE) {
        node__conn_close(c);
    }
}

static void body_timer_cb(uv_timer_t *t)
{
    struct node_conn *c = t->data;

    if (c->is_closing) {
        return;
    }
    if (c->state == CONN_EXCHANGE) {
        c->body_err = GW_ERR_REQUEST_TIMEOUT;
        c->keep_alive = false;
        node__conn_step(c);
    } else {
        node__conn_close(c); /* DRAIN or LINGER */
    }
}

static void write_timer_cb(uv_timer_t *t)
{
    struct node_conn *c = t->data;

    if (c->is_closing) {
        return;
    }
    GW_RLOG(GW_LOG_INFO, "node", c->x.req.request_id, "msg=\"write stalled, closing\"");
    node__conn_kill(c);
    node__conn_step(c);
}

/* Start @t if @on and it is not running; stop it if not @on. */
static void timer_set(uv_timer_t *t, bool on, uint64_t ms, uv_timer_cb cb)
{
    if (!on) {
        uv_timer_stop(t);
    } else if (!uv_is_active((uv_handle_t *)t)) {
        uv_timer_start(t, cb, ms, 0);
    }
}

static bool conn_wants_read(const struct node_conn *c)
{
    if (c->is_dead || c->rlen - c->rpos == CONN_RBUF_CAP) {
        return false;
    }
    switch (c->state) {
    case CONN_IDLE:
    case CONN_HEAD:
    case CONN_DRAIN:
    case CONN_LINGER:
        return true;
    case CONN_EXCHANGE:
        return !c->body_eof && c->body_err == 0 &&
               (c->resp_ended || c->body_fill.len < c->env->body_buffer_bytes);
    }
    return false;
}

/* Poll for what the state needs and run the matching timers. */
static void conn_arm(struct node_conn *c)
{
    const struct node_conn_env *env = c->env;
    bool rd = conn_wants_read(c);
    bool wr = c->want_write && !c->worker_busy && !c->is_dead && c->wq_head != NULL;
    bool rd_wr = rd && c->io->read_wants_write(c); /* a TLS handshake wants to send */
    bool waits_continue = c->x.req.expects_continue && !c->continue_sent;
    int events = (rd ? UV_READABLE : 0) | (wr || rd_wr ? UV_WRITABLE : 0);

    if (events != c->poll_events) {
        if (events == 0) {
            uv_poll_stop(&c->poll);
        } else {
            uv_poll_start(&c->poll, events, poll_cb);
        }
        c->poll_events = events;
    }
    timer_set(&c->idle_timer, c->state == CONN_IDLE && !c->is_fresh, env->idle_timeout_ms,
              idle_timer_cb);
    timer_set(&c->head_timer, c->state == CONN_HEAD || (c->state == CONN_IDLE && c->is_fresh),
              env->header_timeout_ms, head_timer_cb);
    if (c->state != CONN_LINGER) {
        timer_set(&c->body_timer,
                  (c->state == CONN_EXCHANGE && rd && !waits_continue) || c->state == CONN_DRAIN,
                  env->body_timeout_ms, body_timer_cb);
    }
    timer_set(&c->write_timer, wr, env->write_timeout_ms, write_timer_cb);
    if (rd && c->io->has_pending(c)) {
        node__conn_schedule(c); /* decrypted input waits: no poll event will come */
    }
}

/* ---- the driver ---- */

void node__conn_step(struct node_conn *c)
{
    if (c->is_closing || c->is_close_pending) {
        return;
    }
    node__conn_flush(c);
    conn_parse(c);
    if (c->is_closing || c->is_close_pending) {
        return;
    }
    node__conn_fire(c);
    if (c->is_closing || c->is_close_pending) {
        return;
    }
    if (c->state == CONN_EXCHANGE && c->resp_ended && c->wq_head == NULL &&
        c->done_head == NULL && !c->worker_busy) {
        exchange_finish(c);
        if (c->is_closing || c->is_close_pending) {
            return;
        }
        node__conn_schedule(c); /* a pipelined request may be waiting */
    }
    if (c->env->is_closing && c->state == CONN_IDLE) {
        node__conn_close(c);
        return;
    }
    conn_arm(c);
}

static void tick_cb(uv_idle_t *t)
{
    struct node_conn *c = t->data;

    uv_idle_stop(t);
    if (!c->is_closing && !c->is_close_pending && conn_wants_read(c) && c->io->has_pending(c)) {
        conn_read(c);
    }
    node__conn_step(c);
}

void node__conn_schedule(struct node_conn *c)
{
    if (!c->is_closing) {
        uv_idle_start(&c->tick, tick_cb);
    }
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct node_conn *c = p->data;

    if (c->is_closing || c->is_close_pending) {
        return;
    }
    if (status < 0) {
        conn_peer_eof(c);
    } else {
        bool rd_wr = (events & UV_WRITABLE) && c->io->read_wants_write(c);

        if (events & UV_WRITABLE) {
            c->want_write = false;
        }
        if ((events & UV_READABLE) || rd_wr) {
            conn_read(c);
        }
    }
    node__conn_step(c);
}

/* The peer is gone or the connection must be aborted: cancel what is queued
 * and close as soon as the handler lets go of the exchange. */
void node__conn_kill(struct node_conn *c)
{
    struct conn_wop *head;

    if (c->is_dead) {
        return;
    }
    c->is_dead = true;
    c->keep_alive = false;
    c->body_err = GW_ERR_CANCELED;
    if (c->state != CONN_EXCHANGE) {
        node__conn_close(c);
        return;
    }
    /* A FILE op a worker is sending completes when its job returns. */
    head = c->worker_busy ? c->wq_head : NULL;
    if (head != NULL) {
        c->wq_head = head->next;
        if (c->wq_head == NULL) {
            c->wq_tail = NULL;
        }
    }
    while (c->wq_head != NULL) {
        node__conn_wq_complete_head(c, GW_ERR_CANCELED);
    }
    if (head != NULL) {
        head->next = NULL;
        c->wq_head = c->wq_tail = head;
    }
    node__conn_schedule(c);
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct node_conn *c = h->data;

    if (--c->n_open > 0) {
        return;
    }
    /* A killed connection (peer gone, a response cut off) ends without a TLS
     * close_notify, so the client can tell the answer was truncated. */
    if (!c->is_dead) {
        c->io->end(c);
    }
    c->io->free(c);
    close(c->fd);
    c->fd = -1;
    gw_free(c->rbuf);
    c->rbuf = NULL;
    gw_free(c->fbuf);
    c->fbuf = NULL;
    node__http_close(&c->http);
    gw_arena_release(&c->arena);
    gw_buf_free(&c->body_fill);
    gw_buf_free(&c->body_lent);
    gw_buf_free(&c->head_buf);
    node_metrics_conn_add(-1);
    c->env->conn_gone(c->env, c);
    gw_free(c);
}

/* Close the handles and free the connection; never while the handler owns
 * the exchange (callers make sure) or while a worker writes (then later). */
void node__conn_close(struct node_conn *c)
{
    if (c->is_closing) {
        return;
    }
    c->is_dead = true;
    if (c->worker_busy) {
        c->is_close_pending = true;
        uv_poll_stop(&c->poll);
        return;
    }
    c->is_closing = true;
    uv_close((uv_handle_t *)&c->poll, conn_closed_cb);
    uv_close((uv_handle_t *)&c->idle_timer, conn_closed_cb);
    uv_close((uv_handle_t *)&c->head_timer, conn_closed_cb);
    uv_close((uv_handle_t *)&c->body_timer, conn_closed_cb);
    uv_close((uv_handle_t *)&c->write_timer, conn_closed_cb);
    uv_close((uv_handle_t *)&c->tick, conn_closed_cb);
}

static void conn_init_handles(struct node_conn *c)
{
    uv_loop_t *loop = c->env->loop;

    uv_timer_init(loop, &c->idle_timer);
    uv_timer_init(loop, &c->head_timer);
    uv_timer_init(loop, &c->body_timer);
    uv_timer_init(loop, &c->write_timer);
    uv_idle_init(loop, &c->tick);
    c->idle_timer.data = c;
    c->head_timer.data = c;
    c->body_timer.data = c;
    c->write_timer.data = c;
    c->tick.data = c;
    c->poll.data = c;
    c->n_open = CONN_N_HANDLES;
}

int node__conn_start(struct node_conn_env *env, int fd, const char *peer_ip,
                     struct node_conn **out)
{
    struct node_conn *c = gw_calloc(1, sizeof *c);
    int rv;

    c->io = &conn_plain_io;
    c->fd = fd;
    rv = env->tls != NULL ? node__tls_conn_init(c, env->tls) : GW_OK;
    if (rv == GW_OK) {
        rv = gw_err_from_uv(uv_poll_init_socket(env->loop, &c->poll, fd));
    }
    if (rv != GW_OK) {
        c->io->free(c);
        close(fd);
        gw_free(c);
        return rv;
    }
    c->env = env;
    c->link.conn = c;
    snprintf(c->peer_ip, sizeof c->peer_ip, "%s", peer_ip != NULL ? peer_ip : "");
    c->state = CONN_IDLE;
    c->is_fresh = true;
    gw_arena_init(&c->arena);
    conn_init_handles(c);
    node__http_init(&c->http, &env->limits, &c->arena, &c->x.req, conn_body_sink, c);
    c->x.arena = &c->arena;
    c->x.loop = env->loop;
    c->x.pool = env->pool;
    node_metrics_conn_add(1);
    conn_arm(c);
    *out = c;
    return GW_OK;
}

void node__conn_shutdown(struct node_conn *c)
{
    if (c->is_closing) {
        return;
    }
    c->keep_alive = false;
    if (c->state != CONN_EXCHANGE) {
        node__conn_close(c);
    }
}

void node__conn_abort(struct node_conn *c)
{
    if (c->is_closing) {
        return;
    }
    node__conn_kill(c);
}
