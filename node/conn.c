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
 *
 * Exchange ops never call back into the handler and never close anything:
 * they queue work and schedule a tick (uv_idle_t); conn_step, run from the
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
 * resp_end and no worker holds the socket. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "conn.h"
#include "metrics.h"

#define CONN_RBUF_CAP (32u * 1024)
#define CONN_DRAIN_MAX (64u * 1024)
#define CONN_LINGER_MAX (4u * 1024 * 1024)
#define CONN_LINGER_MS 2000
#define CONN_IOV_MAX 64
#define CONN_SENDFILE_SLICE (16u * 1024 * 1024)
#define CONN_N_HANDLES 6

enum conn_state {
    CONN_IDLE,     /* between requests */
    CONN_HEAD,     /* part of a request head arrived */
    CONN_EXCHANGE, /* a request is being answered */
    CONN_DRAIN,    /* answered; discarding the rest of its body */
    CONN_LINGER,   /* closing: our side shut down, discarding input */
};

enum wop_kind { WOP_MEM, WOP_FILE };

/* One queued piece of output; lives in the exchange arena. */
struct conn_wop {
    struct conn_wop *next;
    enum wop_kind kind;
    struct iovec iov[3];
    int n_iov;
    int i_iov;    /* first iovec not fully written */
    char pre[20]; /* chunk-size line */
    int file_fd;
    uint64_t off; /* file: next byte */
    uint64_t len; /* file: bytes left */
    s3_write_cb cb;
    void *arg;
    int rv;
};

/* The worker's copy of a sendfile job. */
struct conn_sendfile {
    struct gw_pool_job job;
    int sock_fd;
    int file_fd;
    uint64_t off;
    uint64_t len;
    uint64_t sent;
    int err; /* errno */
    bool is_again;
    bool is_short;
};

/* The socket I/O seam: TLS will provide another one. */
struct conn_io {
    ssize_t (*read)(int fd, void *p, size_t len);
    ssize_t (*writev)(int fd, const struct iovec *iov, int n);
    bool can_sendfile;
};

struct node_conn {
    struct node_conn_env *env;
    struct node_conn_link link;
    const struct conn_io *io;
    int fd;
    char peer_ip[48];
    uv_poll_t poll;
    uv_timer_t idle_timer;
    uv_timer_t head_timer;
    uv_timer_t body_timer;
    uv_timer_t write_timer;
    uv_idle_t tick;
    int n_open;
    int poll_events;
    enum conn_state state;
    bool is_fresh;   /* no request seen yet */
    bool is_dead;    /* peer gone or aborted: everything cancels */
    bool is_closing; /* handles are closing */
    bool is_close_pending;
    bool want_write; /* the last write hit EAGAIN */
    bool worker_busy;
    uint64_t lingered;
    /* input */
    char *rbuf;
    size_t rpos;
    size_t rlen;
    struct node_http http;
    /* the exchange */
    struct s3_exchange x;
    struct gw_arena arena;
    uint64_t bytes_in;
    uint64_t bytes_out;
    struct gw_buf body_fill;
    struct gw_buf body_lent;
    bool body_eof;
    int body_err;
    s3_ready_cb wait_cb;
    void *wait_arg;
    bool continue_sent;
    bool keep_alive;
    bool resp_started;
    bool resp_ended;
    bool resp_no_body;
    bool resp_chunked;
    int64_t resp_len;
    uint64_t resp_sent;
    struct gw_buf head_buf;
    struct conn_wop *wq_head;
    struct conn_wop *wq_tail;
    struct conn_wop *done_head;
    struct conn_wop *done_tail;
    struct conn_sendfile sf;
};

static void conn_step(struct node_conn *c);
static void conn_close(struct node_conn *c);
static void conn_kill(struct node_conn *c);
static void conn_schedule(struct node_conn *c);
static void poll_cb(uv_poll_t *p, int status, int events);
static const struct s3_exchange_ops conn_ops;

/* Plain TCP I/O. */
static ssize_t plain_read(int fd, void *p, size_t len)
{
    return read(fd, p, len);
}

static ssize_t plain_writev(int fd, const struct iovec *iov, int n)
{
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};

    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct conn_io conn_plain_io = {plain_read, plain_writev, true};

static struct node_conn *conn_of(struct s3_exchange *x)
{
    return (struct node_conn *)((char *)x - offsetof(struct node_conn, x));
}

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

/* ---- the write queue ---- */

static struct conn_wop *wop_new(struct node_conn *c, enum wop_kind kind, s3_write_cb cb, void *arg)
{
    struct conn_wop *op = gw_arena_zalloc(&c->arena, sizeof *op);

    op->kind = kind;
    op->cb = cb;
    op->arg = arg;
    op->file_fd = -1;
    return op;
}

static void wop_add_iov(struct conn_wop *op, const void *p, size_t len)
{
    op->iov[op->n_iov].iov_base = (void *)p;
    op->iov[op->n_iov].iov_len = len;
    op->n_iov++;
}

static void wq_push(struct node_conn *c, struct conn_wop *op)
{
    op->next = NULL;
    if (c->wq_tail != NULL) {
        c->wq_tail->next = op;
    } else {
        c->wq_head = op;
    }
    c->wq_tail = op;
    conn_schedule(c);
}

/* Move the head of the queue to the done list with @rv. */
static void wq_complete_head(struct node_conn *c, int rv)
{
    struct conn_wop *op = c->wq_head;

    c->wq_head = op->next;
    if (c->wq_head == NULL) {
        c->wq_tail = NULL;
    }
    op->rv = rv;
    op->next = NULL;
    if (c->done_tail != NULL) {
        c->done_tail->next = op;
    } else {
        c->done_head = op;
    }
    c->done_tail = op;
}

static void queue_mem(struct node_conn *c, const void *p, size_t len)
{
    struct conn_wop *op = wop_new(c, WOP_MEM, NULL, NULL);

    wop_add_iov(op, p, len);
    wq_push(c, op);
}

/* Account @n written bytes against the queue, completing finished ops. */
static void wq_advance(struct node_conn *c, size_t n)
{
    while (c->wq_head != NULL && c->wq_head->kind == WOP_MEM) {
        struct conn_wop *op = c->wq_head;

        while (op->i_iov < op->n_iov) {
            struct iovec *v = &op->iov[op->i_iov];
            size_t take = n < v->iov_len ? n : v->iov_len;

            v->iov_base = (char *)v->iov_base + take;
            v->iov_len -= take;
            n -= take;
            if (v->iov_len > 0) {
                return;
            }
            op->i_iov++;
        }
        wq_complete_head(c, GW_OK);
    }
}

/* Gather the iovecs of the MEM ops at the head of the queue. */
static int wq_gather(struct node_conn *c, struct iovec *iov)
{
    int n = 0;

    for (struct conn_wop *op = c->wq_head; op != NULL && op->kind == WOP_MEM; op = op->next) {
        for (int i = op->i_iov; i < op->n_iov && n < CONN_IOV_MAX; i++) {
            if (op->iov[i].iov_len > 0) {
                iov[n++] = op->iov[i];
            }
        }
        if (n == CONN_IOV_MAX) {
            break;
        }
    }
    return n;
}

/* ---- output: writev on the loop, sendfile on a worker ---- */

static void sendfile_work(struct gw_pool_job *job)
{
    struct conn_sendfile *sf = (struct conn_sendfile *)job;
    uint64_t budget = CONN_SENDFILE_SLICE;

    while (sf->len > 0 && budget > 0) {
        off_t off = (off_t)sf->off;
        size_t want = (size_t)(sf->len < budget ? sf->len : budget);
        ssize_t n = sendfile(sf->sock_fd, sf->file_fd, &off, want);

        if (n > 0) {
            sf->off += (uint64_t)n;
            sf->len -= (uint64_t)n;
            sf->sent += (uint64_t)n;
            budget -= (uint64_t)n;
        } else if (n == 0) {
            sf->is_short = true; /* the file is shorter than announced */
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            sf->is_again = true;
            break;
        } else if (errno != EINTR) {
            sf->err = errno;
            break;
        }
    }
}

static void sendfile_done(struct gw_pool_job *job)
{
    struct node_conn *c = job->data;
    struct conn_sendfile *sf = &c->sf;
    struct conn_wop *op = c->wq_head;

    c->worker_busy = false;
    c->bytes_out += sf->sent;
    op->off = sf->off;
    op->len = sf->len;
    if (c->is_close_pending) {
        wq_complete_head(c, GW_ERR_CANCELED);
        conn_close(c);
        return;
    }
    if (c->is_dead) {
        wq_complete_head(c, GW_ERR_CANCELED);
    } else if (sf->err != 0 || sf->is_short) {
        wq_complete_head(c, sf->is_short ? GW_ERR_IO : GW_ERR_CANCELED);
        conn_kill(c);
    } else if (op->len == 0) {
        wq_complete_head(c, GW_OK);
    } else if (sf->is_again) {
        c->want_write = true;
    }
    conn_step(c);
}

static void sendfile_start(struct node_conn *c, struct conn_wop *op)
{
    struct conn_sendfile *sf = &c->sf;

    memset(sf, 0, sizeof *sf);
    sf->sock_fd = c->fd;
    sf->file_fd = op->file_fd;
    sf->off = op->off;
    sf->len = op->len;
    c->worker_busy = true;
    gw_pool_submit(c->x.pool, &sf->job, sendfile_work, sendfile_done, c);
}

/* Write as much queued output as the socket takes now. */
static void conn_flush(struct node_conn *c)
{
    struct iovec iov[CONN_IOV_MAX];

    while (!c->is_dead && !c->worker_busy && c->wq_head != NULL) {
        int n;
        ssize_t w;

        if (c->wq_head->kind == WOP_FILE) {
            sendfile_start(c, c->wq_head);
            return;
        }
        n = wq_gather(c, iov);
        if (n == 0) {
            wq_advance(c, 0);
            continue;
        }
        w = c->io->writev(c->fd, iov, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->want_write = true;
            return;
        }
        if (w < 0) {
            conn_kill(c);
            return;
        }
        c->bytes_out += (uint64_t)w;
        uv_timer_stop(&c->write_timer); /* progress */
        wq_advance(c, (size_t)w);
    }
    c->want_write = false;
}

/* Fire completed write callbacks, then the body_wait callback if its
 * condition holds.  Callbacks may queue more. */
static void conn_fire(struct node_conn *c)
{
    while (c->done_head != NULL) {
        struct conn_wop *op = c->done_head;

        c->done_head = op->next;
        if (c->done_head == NULL) {
            c->done_tail = NULL;
        }
        if (op->cb != NULL) {
            op->cb(&c->x, op->rv, op->arg);
        }
    }
    if (c->wait_cb != NULL &&
        (c->body_fill.len > 0 || c->body_eof || c->body_err != 0 || c->is_dead)) {
        s3_ready_cb cb = c->wait_cb;

        c->wait_cb = NULL;
        cb(&c->x, c->wait_arg);
    }
}

/* ---- the request body ---- */

static void send_continue(struct node_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (c->x.req.expects_continue && !c->continue_sent && !c->resp_started && !c->body_eof &&
        !c->is_dead) {
        c->continue_sent = true;
        queue_mem(c, msg, sizeof msg - 1);
    }
}

static void send_continue_before_final(struct node_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (c->x.req.expects_continue && !c->continue_sent && !c->is_dead) {
        c->continue_sent = true;
        queue_mem(c, msg, sizeof msg - 1);
    }
}

static int conn_body_read(struct s3_exchange *x, struct gw_str *chunk, bool *eof)
{
    struct node_conn *c = conn_of(x);
    struct gw_buf t;

    if (c->is_dead) {
        return GW_ERR_CANCELED;
    }
    send_continue(c);
    c->body_lent.len = 0;
    if (c->body_fill.len > 0) {
        t = c->body_lent;
        c->body_lent = c->body_fill;
        c->body_fill = t;
        *chunk = gw_buf_str(&c->body_lent);
        *eof = c->body_eof;
        conn_schedule(c); /* room again: parse and read more */
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
    conn_schedule(c);
    return GW_ERR_AGAIN;
}

static void conn_body_wait(struct s3_exchange *x, s3_ready_cb cb, void *arg)
{
    struct node_conn *c = conn_of(x);

    c->wait_cb = cb;
    c->wait_arg = arg;
    send_continue(c);
    conn_schedule(c);
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

/* ---- the response ---- */

static const char *reason_phrase(int status)
{
    static const struct {
        int status;
        const char *text;
    } t[] = {{200, "OK"}, {204, "No Content"}, {206, "Partial Content"},
             {301, "Moved Permanently"}, {304, "Not Modified"}, {307, "Temporary Redirect"},
             {400, "Bad Request"}, {403, "Forbidden"}, {404, "Not Found"},
             {405, "Method Not Allowed"}, {409, "Conflict"}, {411, "Length Required"},
             {412, "Precondition Failed"}, {413, "Payload Too Large"}, {414, "URI Too Long"},
             {416, "Range Not Satisfiable"}, {500, "Internal Server Error"},
             {501, "Not Implemented"}, {503, "Service Unavailable"},
             {507, "Insufficient Storage"}};

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].status == status) {
            return t[i].text;
        }
    }
    return "Unknown";
}

static const char *http_date(struct node_conn_env *env)
{
    time_t now = time(NULL);
    struct tm tm;

    if ((int64_t)now != env->date_sec) {
        gmtime_r(&now, &tm);
        strftime(env->date, sizeof env->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        env->date_sec = (int64_t)now;
    }
    return env->date;
}

/* Handler headers that node writes itself, or that could split the head. */
static bool header_is_dropped(const struct s3_header *h)
{
    static const char *const own[] = {"content-length", "transfer-encoding", "connection",
                                      "date", "server"};

    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        if (gw_str_caseeq_c(h->name, own[i])) {
            return true;
        }
    }
    for (size_t i = 0; i < h->name.len; i++) {
        if (h->name.p[i] <= ' ' || h->name.p[i] == ':') {
            return true;
        }
    }
    for (size_t i = 0; i < h->value.len; i++) {
        if (h->value.p[i] == '\r' || h->value.p[i] == '\n' || h->value.p[i] == '\0') {
            return true;
        }
    }
    return h->name.len == 0;
}

/* Decide keep-alive and framing at resp_start: a body the handler has not
 * read is drained only when it is small and its length known. */
static void resp_decide(struct node_conn *c, int status, int64_t content_length)
{
    const struct s3_http_request *r = &c->x.req;
    bool is_http11 = c->http.parser.http_minor == 1;

    c->resp_no_body = gw_str_eq_c(r->method, "HEAD") || status == 204 || status == 304 ||
                      status < 200;
    if (!c->body_eof && c->body_err == 0) {
        uint64_t left = r->content_length - c->http.body_len;

        if (r->is_chunked || (r->expects_continue && !c->continue_sent) ||
            left > CONN_DRAIN_MAX) {
            c->keep_alive = false;
        }
    }
    if (c->body_err != 0 || c->env->is_closing) {
        c->keep_alive = false;
    }
    c->resp_chunked = content_length < 0 && !c->resp_no_body && is_http11;
    if (content_length < 0 && !c->resp_no_body && !is_http11) {
        c->keep_alive = false; /* the body ends with the connection */
    }
    c->resp_len = content_length;
}

static void conn_resp_start(struct s3_exchange *x, int status, const struct s3_header *hdrs,
                            size_t n_hdrs, int64_t content_length)
{
    struct node_conn *c = conn_of(x);
    struct gw_buf *b = &c->head_buf;

    if (c->resp_started || c->resp_ended) {
        GW_RLOG(GW_LOG_ERROR, "node", x->req.request_id, "msg=\"resp_start twice\"");
        return;
    }
    c->resp_started = true;
    x->status = status;
    if (c->is_dead) {
        return;
    }
    /* A request that announced 100-continue and whose whole body is here
     * (Content-Length: 0, or a body the handler read without ever waiting)
     * still gets its interim 100: botocore answered directly on a
     * keep-alive connection mis-parses the next response. */
    if (c->body_eof) {
        send_continue_before_final(c);
    }
    resp_decide(c, status, content_length);
    b->len = 0;
    gw_buf_printf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: unigw\r\nx-amz-request-id: %s\r\n",
                  status, reason_phrase(status), http_date(c->env), x->req.request_id);
    for (size_t i = 0; i < n_hdrs; i++) {
        if (!header_is_dropped(&hdrs[i])) {
            gw_buf_printf(b, "%.*s: %.*s\r\n", (int)hdrs[i].name.len, hdrs[i].name.p,
                          (int)hdrs[i].value.len, hdrs[i].value.p);
        }
    }
    if (content_length >= 0 && status != 204 && status != 304 && status >= 200) {
        gw_buf_printf(b, "Content-Length: %" PRId64 "\r\n", content_length);
    } else if (c->resp_chunked) {
        gw_buf_append_c(b, "Transfer-Encoding: chunked\r\n");
    }
    if (!c->keep_alive) {
        gw_buf_append_c(b, "Connection: close\r\n");
    }
    gw_buf_append_c(b, "\r\n");
    queue_mem(c, b->data, b->len);
}

/* Common checks of resp_write and resp_sendfile; accounts @len. */
static int resp_admit(struct node_conn *c, uint64_t len)
{
    if (!c->resp_started || c->resp_ended) {
        return GW_ERR_INVALID;
    }
    if (c->is_dead) {
        return GW_ERR_CANCELED;
    }
    if (c->resp_len >= 0 && c->resp_sent + len > (uint64_t)c->resp_len) {
        return GW_ERR_INVALID;
    }
    c->resp_sent += len;
    return GW_OK;
}

static void queue_chunk_prefix(struct node_conn *c, struct conn_wop *op, uint64_t len)
{
    int n = snprintf(op->pre, sizeof op->pre, "%" PRIx64 "\r\n", len);

    wop_add_iov(op, op->pre, (size_t)n);
}

static int conn_resp_write(struct s3_exchange *x, const void *p, size_t len, s3_write_cb cb,
                           void *arg)
{
    struct node_conn *c = conn_of(x);
    struct conn_wop *op;
    int rv = resp_admit(c, len);

    if (rv != 0) {
        return rv;
    }
    op = wop_new(c, WOP_MEM, cb, arg);
    if (!c->resp_no_body && len > 0) {
        if (c->resp_chunked) {
            queue_chunk_prefix(c, op, len);
        }
        wop_add_iov(op, p, len);
        if (c->resp_chunked) {
            wop_add_iov(op, "\r\n", 2);
        }
    }
    wq_push(c, op);
    return GW_OK;
}

static int conn_resp_sendfile(struct s3_exchange *x, int fd, uint64_t off, uint64_t len,
                              s3_write_cb cb, void *arg)
{
    struct node_conn *c = conn_of(x);
    struct conn_wop *op;
    int rv;

    if (x->pool == NULL || !c->io->can_sendfile) {
        return GW_ERR_NOT_IMPLEMENTED;
    }
    rv = resp_admit(c, len);
    if (rv != 0) {
        return rv;
    }
    if (c->resp_no_body || len == 0) {
        wq_push(c, wop_new(c, WOP_MEM, cb, arg));
        return GW_OK;
    }
    if (c->resp_chunked) {
        op = wop_new(c, WOP_MEM, NULL, NULL);
        queue_chunk_prefix(c, op, len);
        wq_push(c, op);
    }
    op = wop_new(c, WOP_FILE, cb, arg);
    op->file_fd = fd;
    op->off = off;
    op->len = len;
    wq_push(c, op);
    if (c->resp_chunked) {
        queue_mem(c, "\r\n", 2);
    }
    return GW_OK;
}

/* Answer @rv as an S3 XML error; the connection closes afterwards. */
static void resp_error(struct node_conn *c, int rv)
{
    struct s3_exchange *x = &c->x;
    struct s3_header h = {GW_STR("content-type"), GW_STR("application/xml")};
    struct gw_buf b = GW_BUF_INIT;
    char *body;
    size_t len;

    c->keep_alive = false;
    gw_buf_printf(&b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                  "<Message>%s</Message><RequestId>%s</RequestId></Error>",
                  gw_err_code(rv), gw_err_message(rv), x->req.request_id);
    len = b.len;
    body = gw_arena_strndup(&c->arena, b.data, b.len);
    gw_buf_free(&b);
    conn_resp_start(x, gw_err_status(rv), &h, 1, (int64_t)len);
    if (!c->resp_no_body && !c->is_dead) {
        queue_mem(c, body, len);
        c->resp_sent = len;
    }
}

static void conn_resp_end(struct s3_exchange *x)
{
    struct node_conn *c = conn_of(x);

    if (c->resp_ended) {
        GW_RLOG(GW_LOG_ERROR, "node", x->req.request_id, "msg=\"resp_end twice\"");
        return;
    }
    c->wait_cb = NULL; /* the handler gave the exchange up */
    if (!c->resp_started) {
        resp_error(c, GW_ERR_INTERNAL);
    } else if (!c->is_dead && c->resp_chunked) {
        queue_mem(c, "0\r\n\r\n", 5);
    } else if (c->resp_len >= 0 && c->resp_sent < (uint64_t)c->resp_len && !c->resp_no_body) {
        c->keep_alive = false; /* short body: only a close tells the client */
    }
    c->resp_ended = true;
    conn_schedule(c);
}

static const struct s3_exchange_ops conn_ops = {
    .body_read = conn_body_read,
    .body_wait = conn_body_wait,
    .resp_start = conn_resp_start,
    .resp_write = conn_resp_write,
    .resp_sendfile = conn_resp_sendfile,
    .resp_end = conn_resp_end,
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
    r->is_tls = false;
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
    resp_error(c, rv);
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
        conn_close(c);
        return;
    }
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
        conn_close(c);
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
        conn_kill(c); /* mid-body: the handler sees GW_ERR_CANCELED */
        return;
    }
    c->is_dead = true;
    conn_close(c);
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
    n = c->io->read(c->fd, c->rbuf + c->rlen, CONN_RBUF_CAP - c->rlen);
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
            conn_close(c);
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
        conn_close(c);
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
        conn_step(c);
    } else if (c->state == CONN_IDLE) {
        conn_close(c);
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
        conn_step(c);
    } else {
        conn_close(c); /* DRAIN or LINGER */
    }
}

static void write_timer_cb(uv_timer_t *t)
{
    struct node_conn *c = t->data;

    if (c->is_closing) {
        return;
    }
    GW_RLOG(GW_LOG_INFO, "node", c->x.req.request_id, "msg=\"write stalled, closing\"");
    conn_kill(c);
    conn_step(c);
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
    bool waits_continue = c->x.req.expects_continue && !c->continue_sent;
    int events = (rd ? UV_READABLE : 0) | (wr ? UV_WRITABLE : 0);

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
}

/* ---- the driver ---- */

static void conn_step(struct node_conn *c)
{
    if (c->is_closing || c->is_close_pending) {
        return;
    }
    conn_flush(c);
    conn_parse(c);
    if (c->is_closing || c->is_close_pending) {
        return;
    }
    conn_fire(c);
    if (c->is_closing || c->is_close_pending) {
        return;
    }
    if (c->state == CONN_EXCHANGE && c->resp_ended && c->wq_head == NULL &&
        c->done_head == NULL && !c->worker_busy) {
        exchange_finish(c);
        if (c->is_closing || c->is_close_pending) {
            return;
        }
        conn_schedule(c); /* a pipelined request may be waiting */
    }
    if (c->env->is_closing && c->state == CONN_IDLE) {
        conn_close(c);
        return;
    }
    conn_arm(c);
}

static void tick_cb(uv_idle_t *t)
{
    struct node_conn *c = t->data;

    uv_idle_stop(t);
    conn_step(c);
}

static void conn_schedule(struct node_conn *c)
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
        if (events & UV_WRITABLE) {
            c->want_write = false;
        }
        if (events & UV_READABLE) {
            conn_read(c);
        }
    }
    conn_step(c);
}

/* The peer is gone or the connection must be aborted: cancel what is queued
 * and close as soon as the handler lets go of the exchange. */
static void conn_kill(struct node_conn *c)
{
    struct conn_wop *head;

    if (c->is_dead) {
        return;
    }
    c->is_dead = true;
    c->keep_alive = false;
    c->body_err = GW_ERR_CANCELED;
    if (c->state != CONN_EXCHANGE) {
        conn_close(c);
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
        wq_complete_head(c, GW_ERR_CANCELED);
    }
    if (head != NULL) {
        head->next = NULL;
        c->wq_head = c->wq_tail = head;
    }
    conn_schedule(c);
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct node_conn *c = h->data;

    if (--c->n_open > 0) {
        return;
    }
    close(c->fd);
    c->fd = -1;
    gw_free(c->rbuf);
    c->rbuf = NULL;
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
static void conn_close(struct node_conn *c)
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
    int rv = uv_poll_init_socket(env->loop, &c->poll, fd);

    if (rv != 0) {
        close(fd);
        gw_free(c);
        return gw_err_from_uv(rv);
    }
    c->env = env;
    c->link.conn = c;
    c->io = &conn_plain_io;
    c->fd = fd;
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
        conn_close(c);
    }
}

void node__conn_abort(struct node_conn *c)
{
    if (c->is_closing) {
        return;
    }
    conn_kill(c);
}
