/* node/conn: one client connection (module-private).
 *
 * A connection owns its socket (non-blocking, driven by a uv_poll_t), a read
 * buffer, an llhttp parser and the one struct s3_exchange it serves at a time.
 * server.c accepts sockets, creates connections and keeps them in a list. */
#ifndef UNIGW_NODE_CONN_H
#define UNIGW_NODE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "unigw/pool.h"
#include "unigw/s3.h"

#include "http.h"

struct node_conn;
struct node_tls;

typedef void (*node_handler_fn)(void *data, struct s3_exchange *x);

/* What every connection of a server shares; owned by the server. */
struct node_conn_env {
    uv_loop_t *loop;
    struct gw_pool_loop *pool;
    struct node_http_limits limits;
    size_t body_buffer_bytes; /* unconsumed request body kept per connection */
    uint64_t idle_timeout_ms;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t write_timeout_ms;
    node_handler_fn handler;
    void *handler_data;
    struct node_tls *tls; /* NULL: plain TCP; else new connections speak TLS */
    bool is_closing;      /* no keep-alive any more */
    /* Called once per connection, right before it is freed. */
    void (*conn_gone)(struct node_conn_env *env, struct node_conn *c);
    char date[40]; /* cached Date header value */
    int64_t date_sec;
};

/* Start serving @fd (connected, non-blocking, owned from now on even on
 * error).  @peer_ip is copied.  Returns GW_OK or GW_ERR_* (then @fd is closed). */
int node__conn_start(struct node_conn_env *env, int fd, const char *peer_ip,
                     struct node_conn **out);
/* Server drain: close at once when idle, else after the current response. */
void node__conn_shutdown(struct node_conn *c);
/* Server deadline: cancel everything; the connection closes as soon as its
 * handler ends the exchange. */
void node__conn_abort(struct node_conn *c);

/* The server's list of connections: a link embedded in each connection. */
struct node_conn_link {
    struct node_conn_link *prev;
    struct node_conn_link *next;
    struct node_conn *conn;
};
struct node_conn_link *node__conn_link(struct node_conn *c);

#endif
