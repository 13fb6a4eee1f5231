/* node/conn_out: the response side of a connection.
 *
 * A handler answers through the exchange ops: resp_start formats the status
 * line and headers into head_buf, resp_write and resp_sendfile queue body
 * pieces (framed as chunks when the length is unknown on HTTP/1.1), resp_end
 * queues the last chunk.  Every piece is a struct conn_wop on the write queue,
 * queued by reference; node__conn_flush, run by the driver in conn.c, writes
 * memory pieces with writev on the loop and hands a file piece to a pool
 * worker that runs sendfile(2) against the non-blocking socket until EAGAIN,
 * done or a 16 MiB slice; without sendfile (TLS: the bytes must be
 * encrypted) a worker preads the next 256 KiB of the file into the
 * connection's one file buffer and the loop writes it through the conn_io,
 * so memory stays bounded whatever the object size.  A finished piece moves
 * to the done list, and
 * node__conn_fire calls its write callback later, from the driver, never
 * inside the op.  Node's own answers (100 Continue, the S3 XML error for a
 * request it rejects or a handler that ends without a response) go through
 * the same queue.
 *
 * Failure modes: a write error kills the connection (conn.c), and every
 * queued callback fires with GW_ERR_CANCELED; a file shorter than announced
 * fails its piece with GW_ERR_IO; misuse (writing before resp_start, after
 * resp_end or past Content-Length) returns GW_ERR_INVALID and queues nothing. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "conn_int.h"

#define CONN_DRAIN_MAX (64u * 1024)
#define CONN_IOV_MAX 64
#define CONN_SENDFILE_SLICE (16u * 1024 * 1024)
#define CONN_FILEBUF_CAP (256u * 1024) /* per connection, while a file body goes out without sendfile */

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
    node__conn_schedule(c);
}

/* Move the head of the queue to the done list with @rv. */
void node__conn_wq_complete_head(struct node_conn *c, int rv)
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
        node__conn_wq_complete_head(c, GW_OK);
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
        node__conn_wq_complete_head(c, GW_ERR_CANCELED);
        node__conn_close(c);
        return;
    }
    if (c->is_dead) {
        node__conn_wq_complete_head(c, GW_ERR_CANCELED);
    } else if (sf->err != 0 || sf->is_short) {
        node__conn_wq_complete_head(c, sf->is_short ? GW_ERR_IO : GW_ERR_CANCELED);
        node__conn_kill(c);
    } else if (op->len == 0) {
        node__conn_wq_complete_head(c, GW_OK);
    } else if (sf->is_again) {
        c->want_write = true;
    }
    node__conn_step(c);
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

/* ---- file bodies without sendfile (TLS): pread on a worker, write on the loop ---- */

static void fileread_work(struct gw_pool_job *job)
{
    struct conn_sendfile *sf = (struct conn_sendfile *)job;
    ssize_t n;

    do {
        n = pread(sf->file_fd, sf->buf, (size_t)(sf->len < CONN_FILEBUF_CAP ? sf->len : CONN_FILEBUF_CAP),
                  (off_t)sf->off);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        sf->sent = (uint64_t)n;
    } else if (n == 0) {
        sf->is_short = true;
    } else {
        sf->err = errno;
    }
}

static void fileread_done(struct gw_pool_job *job)
{
    struct node_conn *c = job->data;
    struct conn_sendfile *sf = &c->sf;
    struct conn_wop *op = c->wq_head;

    c->worker_busy = false;
    if (c->is_close_pending) {
        node__conn_wq_complete_head(c, GW_ERR_CANCELED);
        node__conn_close(c);
        return;
    }
    if (c->is_dead) {
        node__conn_wq_complete_head(c, GW_ERR_CANCELED);
    } else if (sf->err != 0 || sf->is_short) {
        node__conn_wq_complete_head(c, GW_ERR_IO);
        node__conn_kill(c);
    } else {
        op->off += sf->sent;
        op->len -= sf->sent;
        c->fb_pos = 0;
        c->fb_len = (size_t)sf->sent;
    }
    node__conn_step(c);
}

static void fileread_start(struct node_conn *c, struct conn_wop *op)
{
    struct conn_sendfile *sf = &c->sf;

    if (c->fbuf == NULL) {
        c->fbuf = gw_malloc(CONN_FILEBUF_CAP);
    }
    memset(sf, 0, sizeof *sf);
    sf->file_fd = op->file_fd;
    sf->off = op->off;
    sf->len = op->len;
    sf->buf = c->fbuf;
    c->worker_busy = true;
    gw_pool_submit(c->x.pool, &sf->job, fileread_work, fileread_done, c);
}

/* Move a file piece on through the read buffer; false: stop flushing for now. */
static bool fileread_flush(struct node_conn *c, struct conn_wop *op)
{
    struct iovec v;
    ssize_t w;

    if (c->fb_pos == c->fb_len) {
        if (op->len > 0) {
            fileread_start(c, op);
            return false;
        }
        gw_free(c->fbuf); /* idle connections keep no file buffer */
        c->fbuf = NULL;
        node__conn_wq_complete_head(c, GW_OK);
        return true;
    }
    v.iov_base = c->fbuf + c->fb_pos;
    v.iov_len = c->fb_len - c->fb_pos;
    w = c->io->writev(c, &v, 1);
    if (w < 0 && errno == EINTR) {
        return true;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c->want_write = true;
        return false;
    }
    if (w < 0) {
        node__conn_kill(c);
        return false;
    }
    c->bytes_out += (uint64_t)w;
    c->fb_pos += (size_t)w;
    uv_timer_stop(&c->write_timer); /* progress */
    return true;
}

/* Write as much queued output as the socket takes now. */
void node__conn_flush(struct node_conn *c)
{
    struct iovec iov[CONN_IOV_MAX];

    while (!c->is_dead && !c->worker_busy && c->wq_head != NULL) {
        int n;
        ssize_t w;

        if (c->wq_head->kind == WOP_FILE && !c->io->can_sendfile) {
            if (!fileread_flush(c, c->wq_head)) {
                return;
            }
            continue;
        }
        if (c->wq_head->kind == WOP_FILE) {
            sendfile_start(c, c->wq_head);
            return;
        }
        n = wq_gather(c, iov);
        if (n == 0) {
            wq_advance(c, 0);
            continue;
        }
        w = c->io->writev(c, iov, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->want_write = true;
            return;
        }
        if (w < 0) {
            node__conn_kill(c);
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
void node__conn_fire(struct node_conn *c)
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

/* ---- 100 Continue ---- */

void node__conn_send_continue(struct node_conn *c)
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

void node__conn_resp_start(struct s3_exchange *x, int status, const struct s3_header *hdrs,
                           size_t n_hdrs, int64_t content_length)
{
    struct node_conn *c = conn_of(x);
    struct gw_buf *b = &c->head_buf;

    if (c->resp_started || c->resp_ended) {
        /* One response per request: a second one is a handler bug.  Tests
         * and sanitizer builds stop on it; a release build keeps the first. */
        GW_RLOG(GW_LOG_ERROR, "node", x->req.request_id, "msg=\"resp_start twice\"");
        assert(!"resp_start twice: one response per request");
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

int node__conn_resp_write(struct s3_exchange *x, const void *p, size_t len, s3_write_cb cb,
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

int node__conn_resp_sendfile(struct s3_exchange *x, int fd, uint64_t off, uint64_t len,
                             s3_write_cb cb, void *arg)
{
    struct node_conn *c = conn_of(x);
    struct conn_wop *op;
    int rv;

    if (x->pool == NULL) {
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
void node__conn_resp_error(struct node_conn *c, int rv)
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
    node__conn_resp_start(x, gw_err_status(rv), &h, 1, (int64_t)len);
    if (!c->resp_no_body && !c->is_dead) {
        queue_mem(c, body, len);
        c->resp_sent = len;
    }
}

void node__conn_resp_end(struct s3_exchange *x)
{
    struct node_conn *c = conn_of(x);

    if (c->resp_ended) {
        GW_RLOG(GW_LOG_ERROR, "node", x->req.request_id, "msg=\"resp_end twice\"");
        assert(!"resp_end twice: one response per request");
        return;
    }
    c->wait_cb = NULL; /* the handler gave the exchange up */
    if (!c->resp_started) {
        node__conn_resp_error(c, GW_ERR_INTERNAL);
    } else if (!c->is_dead && c->resp_chunked) {
        queue_mem(c, "0\r\n\r\n", 5);
    } else if (c->resp_len >= 0 && c->resp_sent < (uint64_t)c->resp_len && !c->resp_no_body) {
        c->keep_alive = false; /* short body: only a close tells the client */
    }
    c->resp_ended = true;
    node__conn_schedule(c);
}
