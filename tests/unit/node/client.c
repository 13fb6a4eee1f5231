/* Blocking HTTP/1.1 test client (see client.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <llhttp.h>

#include "client.h"

bool tc_connect(struct tc_conn *c, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 5};
    int one = 1;

    memset(c, 0, sizeof *c);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) {
        return false;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0;
}

bool tc_send(struct tc_conn *c, const void *p, size_t len)
{
    const char *q = p;

    while (len > 0) {
        ssize_t n = send(c->fd, q, len, MSG_NOSIGNAL);

        if (n <= 0) {
            return false;
        }
        q += n;
        len -= (size_t)n;
    }
    return true;
}

bool tc_send_str(struct tc_conn *c, const char *s)
{
    return tc_send(c, s, strlen(s));
}

struct parse_ctx {
    struct tc_resp *r;
    bool is_head;
    bool is_done;
    bool in_value;
};

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    struct parse_ctx *x = p->data;

    if (x->in_value) {
        gw_buf_append_c(&x->r->head, "\n");
        x->in_value = false;
    }
    for (size_t i = 0; i < n; i++) {
        gw_buf_append_byte(&x->r->head, (char)tolower((unsigned char)at[i]));
    }
    return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    struct parse_ctx *x = p->data;

    if (!x->in_value) {
        gw_buf_append_c(&x->r->head, ": ");
        x->in_value = true;
    }
    gw_buf_append(&x->r->head, at, n);
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct parse_ctx *x = p->data;

    gw_buf_append_c(&x->r->head, "\n");
    x->r->status = p->status_code;
    x->r->is_keep_alive = llhttp_should_keep_alive(p) != 0;
    return x->is_head || p->status_code == 100 || p->status_code == 204 ||
                   p->status_code == 304
               ? 1
               : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct parse_ctx *x = p->data;

    gw_buf_append(&x->r->body, at, n);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct parse_ctx *x = p->data;

    x->is_done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t tc_settings = {
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Parse buffered bytes; true once one message is complete (consumed). */
static bool parse_some(struct tc_conn *c, llhttp_t *p, struct parse_ctx *x)
{
    llhttp_errno_t e = llhttp_execute(p, c->buf, c->len);
    size_t used = c->len;

    if (e == HPE_PAUSED) {
        used = (size_t)(llhttp_get_error_pos(p) - c->buf);
    } else if (e != HPE_OK) {
        c->len = 0;
        return false;
    }
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    return x->is_done;
}

/* One message; false on a parse error, EOF or timeout before its end. */
static bool read_one(struct tc_conn *c, struct tc_resp *r, bool is_head, size_t chunk, int us)
{
    struct parse_ctx x = {.r = r, .is_head = is_head};
    llhttp_t p;

    llhttp_init(&p, HTTP_RESPONSE, &tc_settings);
    p.data = &x;
    for (;;) {
        ssize_t n;
        size_t want = sizeof c->buf - c->len;

        if (c->len > 0 && parse_some(c, &p, &x)) {
            return true;
        }
        if (chunk > 0 && want > chunk) {
            want = chunk;
            usleep((useconds_t)us);
        }
        n = recv(c->fd, c->buf + c->len, want, 0);
        if (n <= 0) {
            /* EOF may end a close-delimited body. */
            return n == 0 && llhttp_finish(&p) == HPE_OK && x.is_done;
        }
        c->len += (size_t)n;
    }
}

bool tc_read_resp_slow(struct tc_conn *c, struct tc_resp *r, size_t slow_chunk, int slow_us)
{
    for (;;) {
        memset(r, 0, sizeof *r);
        if (!read_one(c, r, false, slow_chunk, slow_us)) {
            return false;
        }
        if (r->status != 100) {
            return true;
        }
        c->n_continue++;
        tc_resp_free(r);
    }
}

bool tc_read_resp(struct tc_conn *c, struct tc_resp *r, bool is_head)
{
    for (;;) {
        memset(r, 0, sizeof *r);
        if (!read_one(c, r, is_head, 0, 0)) {
            return false;
        }
        if (r->status != 100) {
            return true;
        }
        c->n_continue++;
        tc_resp_free(r);
    }
}

bool tc_wait_closed(struct tc_conn *c)
{
    char b[4096];

    for (;;) {
        ssize_t n = recv(c->fd, b, sizeof b, 0);

        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return true;
        }
        if (n < 0) {
            return false; /* timeout */
        }
    }
}

bool tc_has_header(const struct tc_resp *r, const char *name, const char *value)
{
    char line[512];

    snprintf(line, sizeof line, "%s: %s\n", name, value);
    return r->head.data != NULL && memmem(r->head.data, r->head.len, line, strlen(line)) != NULL;
}

void tc_resp_free(struct tc_resp *r)
{
    gw_buf_free(&r->head);
    gw_buf_free(&r->body);
}

void tc_close(struct tc_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

struct run_ctx {
    void (*fn)(void *);
    void *arg;
    int done;
};

static void *run_main(void *p)
{
    struct run_ctx *r = p;

    r->fn(r->arg);
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void ticker_cb(uv_timer_t *t)
{
    (void)t;
}

void tc_run(uv_loop_t *loop, void (*fn)(void *), void *arg)
{
    struct run_ctx r = {fn, arg, 0};
    uv_timer_t ticker;
    pthread_t th;

    uv_timer_init(loop, &ticker);
    uv_timer_start(&ticker, ticker_cb, 1, 1);
    pthread_create(&th, NULL, run_main, &r);
    while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
        uv_run(loop, UV_RUN_ONCE);
    }
    pthread_join(th, NULL);
    uv_close((uv_handle_t *)&ticker, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}
