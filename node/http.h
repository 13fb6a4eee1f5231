/* node/http: llhttp glue, without sockets.
 *
 * A struct node_http turns request bytes into a struct s3_http_request whose
 * views live in a caller-supplied arena, and hands de-chunked body bytes to a
 * sink callback.  It stops (returns an event) at the end of each request head
 * and at the end of each message, so the caller decides when to go on: that
 * is how pipelined requests are answered in order.  Limits on the head (total
 * bytes, header count, URL length) are enforced here, before anything of that
 * size is copied. */
#ifndef UNIGW_NODE_HTTP_H
#define UNIGW_NODE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/s3.h"

struct node_http_limits {
    size_t max_header_bytes; /* request line + headers, CRLFs included */
    size_t max_headers;      /* header count */
    size_t max_url_len;      /* request-target */
};

enum node_http_event {
    NODE_HTTP_NEED_MORE, /* every byte was consumed; feed more */
    NODE_HTTP_HEAD,      /* the request head is complete (req is filled) */
    NODE_HTTP_DONE,      /* the message (body included) is complete */
    NODE_HTTP_ERROR,     /* malformed or over a limit: see node_http.err */
};

typedef void (*node_http_body_cb)(void *arg, const char *p, size_t len);

struct node_http {
    llhttp_t parser;
    const struct node_http_limits *limits;
    struct gw_arena *arena;     /* the current message's arena */
    struct s3_http_request *req;
    node_http_body_cb body_cb;
    void *body_arg;
    struct gw_buf acc;          /* the span being collected */
    struct gw_str field;        /* header name waiting for its value */
    size_t hdrs_cap;
    unsigned n_host;            /* Host lines of the current head */
    const char *feed_start;     /* the bytes llhttp_execute runs over now */
    char prev_nonblank;         /* the last non-blank byte fed before ('\0': none) */
    size_t head_len;            /* bytes of the current head consumed */
    uint64_t body_len;          /* body bytes delivered for this message */
    int err;                    /* GW_ERR_* once NODE_HTTP_ERROR was returned */
    bool is_started;            /* a message began (first byte seen) */
    bool is_head_done;
    bool is_done;
    bool is_paused;
    bool is_upgrade;
};

/* Prepare @h to parse requests into @req, allocating from @arena.  @limits
 * must outlive @h. */
void node__http_init(struct node_http *h, const struct node_http_limits *limits,
                     struct gw_arena *arena, struct s3_http_request *req,
                     node_http_body_cb body_cb, void *body_arg);
void node__http_close(struct node_http *h);

/* Parse up to @len bytes of @p.  *@used gets how many were consumed; the rest
 * (after HEAD or DONE) must be fed again later.  After NODE_HTTP_DONE call
 * node__http_next before feeding the next request; after NODE_HTTP_ERROR the
 * parser is dead.  Body bytes go to the sink during the call, never more than
 * @len of them. */
enum node_http_event node__http_feed(struct node_http *h, const char *p, size_t len,
                                     size_t *used);

/* Start the next message: *@req is cleared and views will come from the
 * arena, which the caller may have released since. */
void node__http_next(struct node_http *h);

/* The first header named @name (lower-case), or a NULL view. */
struct gw_str node__http_header(const struct s3_http_request *r, const char *name);

/* Whether the client allows the connection to stay open afterwards. */
bool node__http_keep_alive(const struct node_http *h);

#endif
