/* node/server: listener, accept loop, connection registry and shutdown.
 *
 * Happy path: node_server_start binds a non-blocking socket (SO_REUSEADDR and
 * SO_REUSEPORT), listens and polls it; each readable event accepts up to a
 * batch of sockets with accept4, sets TCP_NODELAY and starts a connection.
 * Connections report back through env.conn_gone right before they are freed,
 * which unlinks them.
 *
 * Failure modes: a bad address is GW_ERR_CONFIG; accept errors other than
 * EAGAIN are logged and retried on the next event; over max_connections new
 * sockets are closed at once.  Closing: stop listening, close idle
 * connections, let busy ones finish without keep-alive, abort the rest at the
 * deadline; the last connection gone closes the timer, whose close callback
 * frees the server and calls the user's callback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "server.h"
#include "tls.h"

#define SERVER_ACCEPT_BATCH 64

struct node_server {
    struct node_conn_env env;
    int lfd;
    int port;
    uv_poll_t lpoll;
    uv_timer_t close_timer;
    bool is_listening;
    bool is_closing;
    bool is_finishing;
    int n_handles; /* lpoll and close_timer while open */
    struct node_conn_link conns;
    size_t n_conns;
    size_t max_conns;
    uint32_t close_timeout_ms;
    void (*close_cb)(void *);
    void *close_arg;
};

static struct node_server *server_of(struct node_conn_env *env)
{
    return (struct node_server *)((char *)env - offsetof(struct node_server, env));
}

/* Parse "host:port" or "[v6]:port" into @ss. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon = listen != NULL ? strrchr(listen, ':') : NULL;
    size_t hlen;
    char *end;
    long port;

    if (colon == NULL || (hlen = (size_t)(colon - listen)) == 0 || hlen >= sizeof host) {
        return GW_ERR_CONFIG;
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535) {
        return GW_ERR_CONFIG;
    }
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0 ? GW_OK
                                                                               : GW_ERR_CONFIG;
    }
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ? GW_OK : GW_ERR_CONFIG;
}

/* A listening socket on @listen; *@port gets the bound port. */
static int listen_open(const char *addr, int backlog, int *fd_out, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int one = 1;
    int fd = -1;
    int rv = parse_listen(addr, &ss);

    if (rv != 0) {
        return rv;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                      : sizeof(struct sockaddr_in)) != 0 ||
        listen(fd, backlog) != 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        rv = gw_err_from_errno(errno);
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"listen %s: %s\"", addr, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return rv;
    }
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return GW_OK;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    const void *a = ss->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

    if (inet_ntop(ss->ss_family, a, out, (socklen_t)cap) == NULL) {
        out[0] = '\0';
    }
}

static void server_add_conn(struct node_server *s, int fd, const struct sockaddr_storage *ss)
{
    char ip[48];
    int one = 1;
    struct node_conn *c;
    struct node_conn_link *l;

    if (s->n_conns >= s->max_conns) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    peer_name(ss, ip, sizeof ip);
    if (node__conn_start(&s->env, fd, ip, &c) != 0) {
        return;
    }
    l = node__conn_link(c);
    l->next = s->conns.next;
    l->prev = &s->conns;
    s->conns.next->prev = l;
    s->conns.next = l;
    s->n_conns++;
}

static void accept_cb(uv_poll_t *p, int status, int events)
{
    struct node_server *s = p->data;

    if (!s->is_listening || status < 0) {
        return;
    }
    for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(s->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                GW_LOG(GW_LOG_WARN, "node", "msg=\"accept: %s\"", strerror(errno));
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return;
        }
        server_add_conn(s, fd, &ss);
    }
}

static void server_freed_cb(uv_handle_t *h)
{
    struct node_server *s = h->data;

    if (--s->n_handles > 0) {
        return;
    }
    if (s->close_cb != NULL) {
        s->close_cb(s->close_arg);
    }
    node_tls_free(s->env.tls);
    gw_free(s);
}

static void server_maybe_finish(struct node_server *s)
{
    if (!s->is_closing || s->is_finishing || s->n_conns > 0) {
        return;
    }
    s->is_finishing = true;
    uv_close((uv_handle_t *)&s->close_timer, server_freed_cb);
}

static void conn_gone(struct node_conn_env *env, struct node_conn *c)
{
    struct node_server *s = server_of(env);
    struct node_conn_link *l = node__conn_link(c);

    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = NULL;
    s->n_conns--;
    server_maybe_finish(s);
}

static void server_defaults(struct node_server *s, const struct node_server_config *cfg)
{
    struct node_conn_env *e = &s->env;

#define DEF(v, d) ((v) != 0 ? (v) : (d))
    e->limits.max_header_bytes = DEF(cfg->max_header_bytes, 16384);
    e->limits.max_headers = DEF(cfg->max_headers, 100);
    e->limits.max_url_len = DEF(cfg->max_url_len, 8192);
    e->body_buffer_bytes = DEF(cfg->body_buffer_bytes, 256 * 1024);
    e->idle_timeout_ms = DEF(cfg->idle_timeout_ms, 60000);
    e->header_timeout_ms = DEF(cfg->header_timeout_ms, 10000);
    e->body_timeout_ms = DEF(cfg->body_timeout_ms, 30000);
    e->write_timeout_ms = DEF(cfg->write_timeout_ms, 30000);
    s->max_conns = DEF(cfg->max_connections, 10000);
    s->close_timeout_ms = DEF(cfg->close_timeout_ms, 10000);
#undef DEF
}

int node_server_start(struct node_server **out, uv_loop_t *loop, struct gw_pool_loop *pool,
                      const struct node_server_config *cfg, node_handler_fn handler,
                      void *handler_data)
{
    struct node_server *s = gw_calloc(1, sizeof *s);
    int rv;

    signal(SIGPIPE, SIG_IGN);
    server_defaults(s, cfg);
    rv = listen_open(cfg->listen, cfg->backlog > 0 ? cfg->backlog : 511, &s->lfd, &s->port);
    if (rv != 0) {
        node_tls_free(cfg->tls);
        gw_free(s);
        return rv;
    }
    s->env.tls = cfg->tls;
    s->env.loop = loop;
    s->env.pool = pool;
    s->env.handler = handler;
    s->env.handler_data = handler_data;
    s->env.conn_gone = conn_gone;
    s->conns.next = s->conns.prev = &s->conns;
    uv_poll_init_socket(loop, &s->lpoll, s->lfd);
    uv_timer_init(loop, &s->close_timer);
    s->lpoll.data = s;
    s->close_timer.data = s;
    s->n_handles = 2;
    s->is_listening = true;
    uv_poll_start(&s->lpoll, UV_READABLE, accept_cb);
    *out = s;
    return GW_OK;
}

int node_server_port(const struct node_server *s)
{
    return s->port;
}

void node_server_set_tls(struct node_server *s, struct node_tls *tls)
{
    node_tls_free(s->env.tls);
    s->env.tls = tls;
}

size_t node_server_n_conns(const struct node_server *s)
{
    return s->n_conns;
}

static void listener_closed_cb(uv_handle_t *h)
{
    struct node_server *s = h->data;

    close(s->lfd);
    s->lfd = -1;
    server_freed_cb(h);
}

void node_server_stop_listening(struct node_server *s)
{
    if (!s->is_listening) {
        return;
    }
    s->is_listening = false;
    uv_close((uv_handle_t *)&s->lpoll, listener_closed_cb);
}

static void close_timer_cb(uv_timer_t *t)
{
    struct node_server *s = t->data;
    struct node_conn_link *l = s->conns.next;

    GW_LOG(GW_LOG_WARN, "node", "msg=\"close deadline: aborting %zu connections\"", s->n_conns);
    while (l != &s->conns) {
        struct node_conn_link *next = l->next;

        node__conn_abort(l->conn);
        l = next;
    }
}

void node_server_close(struct node_server *s, void (*cb)(void *), void *arg)
{
    struct node_conn_link *l = s->conns.next;

    s->close_cb = cb;
    s->close_arg = arg;
    s->is_closing = true;
    s->env.is_closing = true;
    node_server_stop_listening(s);
    while (l != &s->conns) {
        struct node_conn_link *next = l->next;

        node__conn_shutdown(l->conn);
        l = next;
    }
    uv_timer_start(&s->close_timer, close_timer_cb, s->close_timeout_ms, 0);
    server_maybe_finish(s);
}
