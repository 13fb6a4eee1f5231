/* node/http: llhttp glue.
 *
 * Happy path: node__http_feed runs llhttp over the bytes it is given; span
 * callbacks collect the URL and header pieces into a small accumulator (a
 * value may be split across reads) and copy each finished piece into the
 * request arena.  on_headers_complete and on_message_complete return
 * HPE_PAUSED, so llhttp_execute stops right there and reports where; the
 * caller gets NODE_HTTP_HEAD or NODE_HTTP_DONE and how many bytes were used.
 *
 * Failure modes: llhttp errors, a head over max_header_bytes, more than
 * max_headers headers or a URL over max_url_len end the parser with
 * NODE_HTTP_ERROR and a GW_ERR_* in h->err.  The head limit is exact: feed
 * never hands llhttp more head bytes than the limit allows, so nothing larger
 * is ever copied.
 *
 * Strictness: Debian's llhttp is built in its loose mode and no lenient flag
 * is set (llhttp already refuses CL+TE, two Content-Length values and bad
 * chunk sizes).  Loose mode still takes what RFC 9112 says a server must
 * answer 400: an HTTP/1.1 request without Host or any request with two Host
 * lines (the first would be routed and signed, a proxy may use the other),
 * a field name that is not a token (empty, or with spaces), obs-fold
 * continuation lines, and HTTP/0.9 or 2.0 request lines.  The checks below
 * refuse them with 400 BadRequest. */
#include <ctype.h>
#include <string.h>

#include "unigw/err.h"

#include "http.h"

static struct node_http *http_of(llhttp_t *p)
{
    return p->data;
}

static int fail(struct node_http *h, int rv)
{
    if (h->err == 0) {
        h->err = rv;
    }
    return -1;
}

static int on_message_begin(llhttp_t *p)
{
    struct node_http *h = http_of(p);

    h->is_started = true;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct node_http *h = http_of(p);

    if (h->acc.len + len > h->limits->max_url_len) {
        return fail(h, GW_ERR_URI_TOO_LONG);
    }
    gw_buf_append(&h->acc, at, len);
    return 0;
}

/* Take the accumulated span as an arena string and empty the accumulator. */
static struct gw_str take_acc(struct node_http *h)
{
    struct gw_str s = gw_arena_str(h->arena, gw_buf_str(&h->acc));

    if (s.p == NULL) {
        s.p = "";
    }
    h->acc.len = 0;
    return s;
}

static int on_url_complete(llhttp_t *p)
{
    struct node_http *h = http_of(p);

    h->req->target = take_acc(h);
    return 0;
}

static int on_span(llhttp_t *p, const char *at, size_t len)
{
    struct node_http *h = http_of(p);

    gw_buf_append(&h->acc, at, len);
    return 0;
}

/* RFC 9110 tchar: the bytes a field name (a token) may hold. */
static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(struct gw_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (!is_tchar((unsigned char)s.p[i])) {
            return false;
        }
    }
    return s.len > 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The last byte before @at that is not a blank, in this read or before it. */
static char nonblank_before(const struct node_http *h, const char *at)
{
    const char *q = at;

    while (q > h->feed_start && is_blank(q[-1])) {
        q--;
    }
    return q > h->feed_start ? q[-1] : h->prev_nonblank;
}

/* A piece of a header value.  llhttp joins an obs-fold line ("X: a" CRLF
 * SP "b") to the value, so a piece that follows a LF and blanks is one (a
 * value otherwise follows ':' and blanks, or continues the piece that
 * ended the previous read): RFC 9112 5.2 lets a server refuse it. */
static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct node_http *h = http_of(p);

    if (len > 0 && nonblank_before(h, at) == '\n') {
        return fail(h, GW_ERR_BAD_REQUEST);
    }
    return on_span(p, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
    struct node_http *h = http_of(p);
    struct gw_str name;

    if (h->req->n_headers >= h->limits->max_headers) {
        return fail(h, GW_ERR_HEADER_TOO_LARGE);
    }
    if (!is_token(gw_buf_str(&h->acc))) {
        return fail(h, GW_ERR_BAD_REQUEST); /* "Bad Name:", ": x", "Name :" */
    }
    for (size_t i = 0; i < h->acc.len; i++) {
        h->acc.data[i] = (char)tolower((unsigned char)h->acc.data[i]);
    }
    name = take_acc(h);
    if (gw_str_eq_c(name, "host") && h->n_host++ > 0) {
        return fail(h, GW_ERR_BAD_REQUEST); /* RFC 9112 3.2: more than one Host line */
    }
    h->field = name;
    return 0;
}

/* Append a header, growing the arena array by doubling (the waste is bounded
 * by max_headers). */
static void push_header(struct node_http *h, struct gw_str name, struct gw_str value)
{
    struct s3_http_request *r = h->req;

    if (r->n_headers == h->hdrs_cap) {
        size_t cap = h->hdrs_cap == 0 ? 16 : h->hdrs_cap * 2;
        struct s3_header *n = gw_arena_alloc(h->arena, cap * sizeof *n);

        if (r->n_headers > 0) {
            memcpy(n, r->headers, r->n_headers * sizeof *n);
        }
        r->headers = n;
        h->hdrs_cap = cap;
    }
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = value;
    r->n_headers++;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct node_http *h = http_of(p);
    struct gw_str v = gw_str_trim(gw_buf_str(&h->acc));

    if (h->field.p == NULL) {
        return fail(h, GW_ERR_BAD_REQUEST); /* a value whose name was refused */
    }
    v = gw_arena_str(h->arena, v);
    if (v.p == NULL) {
        v.p = "";
    }
    h->acc.len = 0;
    push_header(h, h->field, v);
    h->field = GW_STR_NULL;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct node_http *h = http_of(p);
    struct s3_http_request *r = h->req;
    struct gw_str expect;

    /* HTTP/1.0 and 1.1 only (no 0.9 "GET /" line); 1.1 must name its Host. */
    if (p->http_major != 1 || p->http_minor > 1 || (p->http_minor == 1 && h->n_host == 0)) {
        return fail(h, GW_ERR_BAD_REQUEST);
    }
    r->method = gw_str_c(llhttp_method_name((llhttp_method_t)p->method));
    r->has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
    r->content_length = r->has_content_length ? p->content_length : 0;
    r->is_chunked = (p->flags & F_CHUNKED) != 0;
    expect = node__http_header(r, "expect");
    r->expects_continue = gw_str_caseeq_c(expect, "100-continue");
    h->is_upgrade = p->upgrade != 0 || p->method == HTTP_CONNECT;
    h->is_head_done = true;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct node_http *h = http_of(p);

    h->body_len += len;
    if (h->body_cb != NULL) {
        h->body_cb(h->body_arg, at, len);
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct node_http *h = http_of(p);

    h->is_done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t http_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_span,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void node__http_init(struct node_http *h, const struct node_http_limits *limits,
                     struct gw_arena *arena, struct s3_http_request *req,
                     node_http_body_cb body_cb, void *body_arg)
{
    memset(h, 0, sizeof *h);
    llhttp_init(&h->parser, HTTP_REQUEST, &http_settings);
    h->parser.data = h;
    h->limits = limits;
    h->arena = arena;
    h->req = req;
    h->body_cb = body_cb;
    h->body_arg = body_arg;
    memset(req, 0, sizeof *req);
}

void node__http_close(struct node_http *h)
{
    gw_buf_free(&h->acc);
}

void node__http_next(struct node_http *h)
{
    if (h->is_paused) {
        llhttp_resume(&h->parser);
        h->is_paused = false;
    }
    memset(h->req, 0, sizeof *h->req);
    h->acc.len = 0;
    h->field = GW_STR_NULL;
    h->n_host = 0;
    h->hdrs_cap = 0;
    h->head_len = 0;
    h->body_len = 0;
    h->is_started = false;
    h->is_head_done = false;
    h->is_done = false;
}

/* Map an llhttp error to the error table. */
static int err_from_llhttp(struct node_http *h, llhttp_errno_t e)
{
    if (h->err != 0) {
        return h->err;
    }
    if (e == HPE_INVALID_TRANSFER_ENCODING) {
        return GW_ERR_NOT_IMPLEMENTED;
    }
    return GW_ERR_BAD_REQUEST;
}

/* How many of @len bytes llhttp may see now: while in the head, no more than
 * what keeps the head within max_header_bytes. */
static size_t feed_cap(const struct node_http *h, size_t len)
{
    size_t room;

    if (h->is_head_done) {
        return len;
    }
    room = h->limits->max_header_bytes - h->head_len;
    return len < room ? len : room;
}

enum node_http_event node__http_feed(struct node_http *h, const char *p, size_t len,
                                     size_t *used)
{
    bool was_in_head = !h->is_head_done;
    bool was_done = h->is_done;
    llhttp_errno_t e;
    size_t n;

    *used = 0;
    if (h->err != 0) {
        return NODE_HTTP_ERROR;
    }
    if (h->is_paused) {
        llhttp_resume(&h->parser);
        h->is_paused = false;
    }
    n = feed_cap(h, len);
    h->feed_start = p;
    e = llhttp_execute(&h->parser, p, n);
    if (e == HPE_OK) {
        *used = n;
    } else if (e == HPE_PAUSED) {
        *used = (size_t)(llhttp_get_error_pos(&h->parser) - p);
        h->is_paused = true;
    } else {
        /* HPE_PAUSED_UPGRADE included: nothing after an upgrade is HTTP/1.1. */
        h->err = err_from_llhttp(h, e);
        return NODE_HTTP_ERROR;
    }
    for (size_t i = *used; i > 0; i--) {
        if (!is_blank(p[i - 1])) {
            h->prev_nonblank = p[i - 1];
            break;
        }
    }
    if (was_in_head) {
        h->head_len += *used;
        if (h->is_head_done) {
            return NODE_HTTP_HEAD;
        }
        if (h->head_len >= h->limits->max_header_bytes) {
            h->err = GW_ERR_HEADER_TOO_LARGE;
            return NODE_HTTP_ERROR;
        }
    }
    if (h->is_done && !was_done) {
        return NODE_HTTP_DONE;
    }
    return NODE_HTTP_NEED_MORE;
}

struct gw_str node__http_header(const struct s3_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (gw_str_eq_c(r->headers[i].name, name)) {
            return r->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

bool node__http_keep_alive(const struct node_http *h)
{
    return !h->is_upgrade && h->parser.http_major == 1 && h->parser.http_minor == 1 &&
           llhttp_should_keep_alive(&h->parser) != 0;
}
