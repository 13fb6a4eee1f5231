/* node/conn_int: what conn.c and conn_out.c share (private to them).
 *
 * struct node_conn is defined here so that both halves of a connection, the
 * lifecycle and input side (conn.c) and the response side (conn_out.c), reach
 * its state; the rest of node sees it only through conn.h. */
#ifndef UNIGW_NODE_CONN_INT_H
#define UNIGW_NODE_CONN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <uv.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/pool.h"
#include "unigw/s3.h"

#include "conn.h"
#include "http.h"

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
    char *buf; /* without sendfile: the read buffer (c->fbuf) */
};

struct node_conn;
struct conn_tls;

/* The socket I/O seam: plain TCP (conn.c) or TLS (tls.c).  read and writev
 * behave like read(2)/writev(2) on the non-blocking socket (-1 with errno
 * EAGAIN when they must wait). */
struct conn_io {
    ssize_t (*read)(struct node_conn *c, void *p, size_t len);
    ssize_t (*writev)(struct node_conn *c, const struct iovec *iov, int n);
    /* Bytes already decrypted: readable although the socket may not poll so. */
    bool (*has_pending)(const struct node_conn *c);
    /* The last read waits for the socket to become writable (a handshake). */
    bool (*read_wants_write)(const struct node_conn *c);
    /* Our side is done sending (close_notify); called before shutdown/close. */
    void (*end)(struct node_conn *c);
    /* Free the per-connection state; the socket is still open. */
    void (*free)(struct node_conn *c);
    bool can_sendfile;
    bool is_tls;
};

struct node_conn {
    struct node_conn_env *env;
    struct node_conn_link link;
    const struct conn_io *io;
    struct conn_tls *tls; /* TLS state, NULL on plain TCP */
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
    /* file bodies without sendfile: one read buffer, bytes [fb_pos, fb_len) unsent */
    char *fbuf;
    size_t fb_pos;
    size_t fb_len;
};

static inline struct node_conn *conn_of(struct s3_exchange *x)
{
    return (struct node_conn *)((char *)x - offsetof(struct node_conn, x));
}

/* ---- conn.c: the driver and the lifecycle ---- */

/* Flush output, parse input, fire callbacks, finish the exchange, re-arm. */
void node__conn_step(struct node_conn *c);
/* Run node__conn_step from the next loop iteration (a uv_idle_t tick). */
void node__conn_schedule(struct node_conn *c);
/* The peer is gone or the connection must be aborted: cancel what is queued
 * and close as soon as the handler lets go of the exchange. */
void node__conn_kill(struct node_conn *c);
/* Close the handles and free the connection; never while the handler owns
 * the exchange (callers make sure) or while a worker writes (then later). */
void node__conn_close(struct node_conn *c);

/* ---- conn_out.c: the response side ---- */

/* Move the head of the write queue to the done list with @rv. */
void node__conn_wq_complete_head(struct node_conn *c, int rv);
/* Write as much queued output as the socket takes now. */
void node__conn_flush(struct node_conn *c);
/* Fire completed write callbacks, then the body_wait callback if its
 * condition holds.  Callbacks may queue more. */
void node__conn_fire(struct node_conn *c);
/* Queue "100 Continue" once, if the request expects it and no final response
 * or full body made it moot. */
void node__conn_send_continue(struct node_conn *c);
/* Answer @rv as an S3 XML error; the connection closes afterwards. */
void node__conn_resp_error(struct node_conn *c, int rv);
/* The s3_exchange_ops response entries (see unigw/s3.h). */
void node__conn_resp_start(struct s3_exchange *x, int status, const struct s3_header *hdrs,
                           size_t n_hdrs, int64_t content_length);
int node__conn_resp_write(struct s3_exchange *x, const void *p, size_t len, s3_write_cb cb,
                          void *arg);
int node__conn_resp_sendfile(struct s3_exchange *x, int fd, uint64_t off, uint64_t len,
                             s3_write_cb cb, void *arg);
void node__conn_resp_end(struct s3_exchange *x);

#endif
