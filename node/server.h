/* node/server: the HTTP/1.1 listener of unigw.
 *
 * One listening socket (SO_REUSEPORT, so several loops may listen on the same
 * address later), accepted sockets driven by uv_poll_t on one libuv loop, a
 * registry of connections and an orderly close.  Each request is handed to
 * the handler as a struct s3_exchange (see unigw/s3.h for the contract). */
#ifndef UNIGW_NODE_SERVER_H
#define UNIGW_NODE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "unigw/pool.h"
#include "unigw/s3.h"

#include "conn.h"

struct node_server;

/* Zero fields take the defaults in brackets. */
struct node_server_config {
    const char *listen;         /* "127.0.0.1:9000", "[::1]:9000"; port 0 picks one */
    int backlog;                /* [511] */
    size_t max_header_bytes;    /* request line + headers [16384] -> 400 */
    size_t max_headers;         /* header count [100] -> 400 */
    size_t max_url_len;         /* request-target [8192] -> 414 */
    size_t body_buffer_bytes;   /* unconsumed body per connection [262144] */
    size_t max_connections;     /* more are closed at accept [10000] */
    uint32_t idle_timeout_ms;   /* keep-alive idle [60000] */
    uint32_t header_timeout_ms; /* first byte..end of head, and a fresh connection [10000] */
    uint32_t body_timeout_ms;   /* no body byte while the handler waits [30000] */
    uint32_t write_timeout_ms;  /* socket not writable [30000] */
    uint32_t close_timeout_ms;  /* node_server_close deadline for busy connections [10000] */
    struct node_tls *tls;       /* NULL: plain HTTP; else HTTPS (the server owns it, even on error) */
};

/* Bind, listen and start accepting on @loop.  Sendfile jobs go to @pool (NULL:
 * resp_sendfile answers GW_ERR_NOT_IMPLEMENTED).  @handler gets every request
 * with @handler_data.  Ignores SIGPIPE process-wide (sendfile(2) has no
 * MSG_NOSIGNAL).  Returns GW_OK or GW_ERR_CONFIG (bad address) / GW_ERR_IO. */
int node_server_start(struct node_server **out, uv_loop_t *loop, struct gw_pool_loop *pool,
                      const struct node_server_config *cfg, node_handler_fn handler,
                      void *handler_data);
/* The bound TCP port (useful with port 0). */
int node_server_port(const struct node_server *s);
/* Replace the TLS context for new connections (open ones keep theirs); the
 * server owns @tls.  Only on a server started with TLS. */
void node_server_set_tls(struct node_server *s, struct node_tls *tls);
/* Open connections. */
size_t node_server_n_conns(const struct node_server *s);
/* Stop accepting (drain); connections keep being served. */
void node_server_stop_listening(struct node_server *s);
/* Stop listening, close idle connections at once and busy ones after their
 * response (no keep-alive), abort what is left after close_timeout_ms, then
 * free @s and call @cb(@arg) on the loop.  @cb fires exactly once, later. */
void node_server_close(struct node_server *s, void (*cb)(void *), void *arg);

#endif
