/* The internal RPC: followers forward proposals and read-index requests to the leader.
 *
 * Server side (every node listens on its RPC address): a connection reads frames, verifies
 * each frame's HMAC-SHA256 under the cluster secret (a frame that fails is refused: the
 * connection is closed without an answer), and hands PROPOSE to repl__core_apply, READ to
 * repl__core_read_index and CHANGE (a membership change) to repl__change_local.  The reply
 * carries the outcome (and a proposal's entry index); a node that is not the leader
 * answers NOT_LEADER.  A connection that closes with requests in flight is
 * freed when the last of them completes (its reply is dropped).
 *
 * Client side: one connection to the current leader's RPC address (its Raft address, port
 * + 1), opened on demand and replaced when the leader changes; requests queue until it
 * connects.  A 100 ms timer fails requests older than the forward timeout with
 * GW_ERR_SLOW_DOWN; a connection error fails every pending request with GW_ERR_NOT_LEADER
 * (the outcome of a proposal is unknown then: the client's retry carries the same request
 * id and meta deduplicates it).  Replies are authenticated like requests.
 *
 * Versions (forward.h): a request of a newer version is answered with VERSION_REPLY, not
 * a closed connection; the client then speaks the highest version both read on that
 * connection and resends the request, which it keeps encoded until the reply. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "forward.h"

/* --- Codec ---------------------------------------------------------------------------- */

static void mac_compute(const void *secret, size_t secret_len, const void *p, size_t len,
                        unsigned char out[REPL_MAC_LEN])
{
    unsigned int out_len = REPL_MAC_LEN;

    HMAC(EVP_sha256(), secret, (int)secret_len, p, len, out, &out_len);
}

void repl__msg_encode(struct gw_buf *out, const void *secret, size_t secret_len,
                      const struct repl__msg *m)
{
    size_t start = out->len;
    unsigned char mac[REPL_MAC_LEN];
    const char *name;
    uint32_t body_len;

    gw_buf_put_u32(out, 0); /* patched below */
    gw_buf_put_u8(out, m->version != 0 ? m->version : REPL_MSG_VERSION);
    gw_buf_put_u8(out, m->type);
    gw_buf_put_u64(out, m->seq);
    if (m->type == REPL_MSG_VERSION_REPLY) {
        gw_buf_put_u8(out, m->max_version);
    } else if (m->type == REPL_MSG_PROPOSE) {
        gw_buf_put_bytes(out, m->cmd);
    } else if (m->type == REPL_MSG_PROPOSE_REPLY || m->type == REPL_MSG_READ_REPLY) {
        gw_buf_put_u8(out, m->status);
        gw_buf_put_u64(out, m->index);
    } else if (m->type == REPL_MSG_CHANGE) {
        gw_buf_put_u8(out, m->op);
        gw_buf_put_u64(out, m->id);
        gw_buf_put_u8(out, m->as_voter ? 1 : 0);
        gw_buf_put_bytes(out, m->addr);
    } else if (m->type == REPL_MSG_CHANGE_REPLY) {
        gw_buf_put_u8(out, m->status);
    }
    if (m->type == REPL_MSG_PROPOSE_REPLY || m->type == REPL_MSG_CHANGE_REPLY) {
        name = m->result == GW_OK ? "" : gw_err_name(m->result);
        gw_buf_put_bytes(out, gw_str_c(name));
    }
    body_len = (uint32_t)(out->len - start - 4);
    for (int i = 0; i < 4; i++) {
        out->data[start + i] = (char)((body_len >> (8 * i)) & 0xff);
    }
    mac_compute(secret, secret_len, out->data + start, out->len - start, mac);
    gw_buf_append(out, mac, sizeof mac);
}

static int result_from_name(struct gw_str name)
{
    if (name.len == 0) {
        return GW_OK;
    }
    for (int rv = 1; rv < GW_ERR__COUNT; rv++) {
        if (gw_str_eq(name, gw_str_c(gw_err_name(rv)))) {
            return rv;
        }
    }
    return GW_ERR_INTERNAL;
}

/* The CHANGE fields: a known op, a 0/1 flag, an address that fits REPL_ADDR_MAX. */
static bool change_decode(struct gw_reader *r, struct repl__msg *out)
{
    uint8_t voter = 0;

    gw_reader_u8(r, &out->op);
    gw_reader_u64(r, &out->id);
    gw_reader_u8(r, &voter);
    gw_reader_bytes(r, &out->addr);
    out->as_voter = voter == 1;
    return !r->failed && voter <= 1 && out->op >= REPL_CHANGE_ADD &&
           out->op <= REPL_CHANGE_TRANSFER && out->addr.len < REPL_ADDR_MAX &&
           (out->addr.len == 0 || memchr(out->addr.p, '\0', out->addr.len) == NULL);
}

static int body_decode(const void *p, size_t len, struct repl__msg *out)
{
    struct gw_reader r = gw_reader_make(p, len);
    struct gw_str name = {0};
    uint8_t version = 0;

    memset(out, 0, sizeof *out);
    gw_reader_u8(&r, &version);
    gw_reader_u8(&r, &out->type);
    gw_reader_u64(&r, &out->seq);
    out->version = version;
    if (r.failed || version < REPL_MSG_VERSION_MIN) {
        return GW_ERR_CORRUPT;
    }
    if (version > REPL_MSG_VERSION) {
        return GW_ERR_TOO_NEW; /* the header is the same in every version */
    }
    switch (out->type) {
    case REPL_MSG_VERSION_REPLY:
        gw_reader_u8(&r, &out->max_version);
        break;
    case REPL_MSG_PROPOSE:
        gw_reader_bytes(&r, &out->cmd);
        break;
    case REPL_MSG_PROPOSE_REPLY:
        gw_reader_u8(&r, &out->status);
        gw_reader_u64(&r, &out->index);
        gw_reader_bytes(&r, &name);
        out->result = result_from_name(name);
        break;
    case REPL_MSG_READ_REPLY:
        gw_reader_u8(&r, &out->status);
        gw_reader_u64(&r, &out->index);
        break;
    case REPL_MSG_READ:
        break;
    case REPL_MSG_CHANGE:
        if (!change_decode(&r, out)) {
            return GW_ERR_CORRUPT;
        }
        break;
    case REPL_MSG_CHANGE_REPLY:
        gw_reader_u8(&r, &out->status);
        gw_reader_bytes(&r, &name);
        out->result = result_from_name(name);
        break;
    default:
        return GW_ERR_CORRUPT;
    }
    if (r.failed || r.len != 0 || out->status > REPL_ST_FAILED) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

int repl__msg_decode(const void *p, size_t len, const void *secret, size_t secret_len,
                     struct repl__msg *out, size_t *used)
{
    const unsigned char *b = p;
    unsigned char mac[REPL_MAC_LEN];
    uint32_t body_len;

    if (len < 4) {
        return GW_ERR_AGAIN;
    }
    body_len = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
               (uint32_t)b[3] << 24;
    if (body_len > REPL_MSG_BODY_MAX) {
        return GW_ERR_CORRUPT;
    }
    if (len < 4 + (size_t)body_len + REPL_MAC_LEN) {
        return GW_ERR_AGAIN;
    }
    mac_compute(secret, secret_len, b, 4 + (size_t)body_len, mac);
    if (CRYPTO_memcmp(mac, b + 4 + body_len, REPL_MAC_LEN) != 0) {
        return GW_ERR_ACCESS_DENIED;
    }
    *used = 4 + (size_t)body_len + REPL_MAC_LEN;
    return body_decode(b + 4, body_len, out);
}

uint8_t repl__status_from_err(int rv)
{
    if (rv == GW_OK) {
        return REPL_ST_OK;
    }
    return rv == GW_ERR_NOT_LEADER ? REPL_ST_NOT_LEADER : REPL_ST_FAILED;
}

int repl__status_to_err(uint8_t status)
{
    switch (status) {
    case REPL_ST_OK:
        return GW_OK;
    case REPL_ST_NOT_LEADER:
        return GW_ERR_NOT_LEADER;
    default:
        return GW_ERR_INTERNAL;
    }
}

/* --- Shared stream helpers ------------------------------------------------------------ */

struct write_op {
    uv_write_t req;
    struct gw_buf buf;
};

static void write_cb(uv_write_t *req, int status)
{
    struct write_op *op = req->data;

    (void)status; /* a failed write shows up as a read error */
    gw_buf_free(&op->buf);
    gw_free(op);
}

static void stream_send(uv_stream_t *s, struct gw_buf *frame)
{
    struct write_op *op = gw_calloc(1, sizeof *op);
    uv_buf_t b;

    op->buf = *frame;
    *frame = (struct gw_buf){0};
    op->req.data = op;
    b = uv_buf_init(op->buf.data, (unsigned)op->buf.len);
    if (uv_write(&op->req, s, &b, 1, write_cb) != 0) {
        gw_buf_free(&op->buf);
        gw_free(op);
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536]; /* one loop thread: consumed before the next read */

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof slab);
}

static void fwd_handle_closed(struct repl__fwd *f)
{
    if (--f->n_open == 0 && f->is_closing && f->close_cb != NULL) {
        f->close_cb(f);
    }
}

/* --- Server: the leader side ---------------------------------------------------------- */

struct repl__fwd_conn {
    uv_tcp_t tcp;
    struct repl__fwd *f;
    struct gw_buf in;
    int n_pending;   /* core requests whose reply has not been produced yet */
    bool is_version_logged;
    bool is_closing;
    bool is_closed;
    struct repl__fwd_conn *next;
};

struct srv_req {
    struct repl__fwd_conn *conn;
    uint64_t seq;
    uint8_t version; /* of the request: its reply is encoded at it */
};

static void conn_maybe_free(struct repl__fwd_conn *c)
{
    if (c->is_closed && c->n_pending == 0) {
        gw_buf_free(&c->in);
        gw_free(c);
    }
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct repl__fwd_conn *c = h->data;
    struct repl__fwd *f = c->f;

    c->is_closed = true;
    conn_maybe_free(c);
    fwd_handle_closed(f);
}

static void conn_close(struct repl__fwd_conn *c)
{
    struct repl__fwd_conn **pp;

    if (c->is_closing) {
        return;
    }
    c->is_closing = true;
    for (pp = &c->f->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void conn_reply(struct repl__fwd_conn *c, const struct repl__msg *m)
{
    struct gw_buf frame = {0};

    if (c->is_closing) {
        return;
    }
    repl__msg_encode(&frame, c->f->secret, c->f->secret_len, m);
    stream_send((uv_stream_t *)&c->tcp, &frame);
}

static void srv_applied_cb(void *arg, int rv, int result, uint64_t index)
{
    struct srv_req *sr = arg;
    struct repl__msg m = {.version = sr->version, .type = REPL_MSG_PROPOSE_REPLY, .seq = sr->seq, .index = index};

    m.status = repl__status_from_err(rv);
    m.result = rv == GW_OK ? result : GW_OK;
    sr->conn->n_pending--;
    conn_reply(sr->conn, &m);
    conn_maybe_free(sr->conn);
    gw_free(sr);
}

static void srv_read_cb(void *arg, int rv, uint64_t index)
{
    struct srv_req *sr = arg;
    struct repl__msg m = {.version = sr->version, .type = REPL_MSG_READ_REPLY, .seq = sr->seq, .index = index};

    m.status = repl__status_from_err(rv);
    sr->conn->n_pending--;
    conn_reply(sr->conn, &m);
    conn_maybe_free(sr->conn);
    gw_free(sr);
}

static void srv_change_cb(void *arg, int rv)
{
    struct srv_req *sr = arg;
    struct repl__msg m = {.version = sr->version, .type = REPL_MSG_CHANGE_REPLY, .seq = sr->seq, .result = rv};

    m.status = repl__status_from_err(rv);
    sr->conn->n_pending--;
    conn_reply(sr->conn, &m);
    conn_maybe_free(sr->conn);
    gw_free(sr);
}

/* Run a forwarded membership change on this node (the leader, or it answers NOT_LEADER). */
static int srv_change(struct repl__fwd_conn *c, const struct repl__msg *m, struct srv_req *sr)
{
    struct repl_change ch = {.op = (enum repl_change_op)m->op, .id = m->id,
                             .as_voter = m->as_voter};

    memcpy(ch.addr, m->addr.p, m->addr.len); /* decode checked the length */
    GW_LOG(GW_LOG_INFO, "raft", "rpc: forwarded membership change %u of %llu", m->op,
           (unsigned long long)m->id);
    return repl__change_local(c->f->core, &ch, srv_change_cb, sr);
}

/* Hand one authenticated request to the core; answer at once when it refuses. */
static void conn_dispatch(struct repl__fwd_conn *c, const struct repl__msg *m)
{
    struct srv_req *sr = gw_calloc(1, sizeof *sr);
    int rv;

    sr->conn = c;
    sr->seq = m->seq;
    sr->version = m->version;
    if (m->type == REPL_MSG_PROPOSE) {
        rv = repl__core_apply(c->f->core, m->cmd.p, m->cmd.len, srv_applied_cb, sr);
    } else if (m->type == REPL_MSG_CHANGE) {
        rv = srv_change(c, m, sr);
    } else {
        rv = repl__core_read_index(c->f->core, srv_read_cb, sr);
    }
    c->n_pending++;
    if (rv == 0) {
        return;
    }
    if (m->type == REPL_MSG_PROPOSE) {
        srv_applied_cb(sr, rv, GW_OK, 0);
    } else if (m->type == REPL_MSG_CHANGE) {
        srv_change_cb(sr, rv);
    } else {
        srv_read_cb(sr, rv, 0);
    }
}

/* An authentic request of a version this node cannot read: say which it reads, keep the
 * connection (the sender resends at a version both read). */
static void conn_version_reply(struct repl__fwd_conn *c, const struct repl__msg *req)
{
    struct repl__msg m = {.version = REPL_MSG_VERSION_MIN, .type = REPL_MSG_VERSION_REPLY,
                          .seq = req->seq, .max_version = REPL_MSG_VERSION};

    if (!c->is_version_logged) {
        c->is_version_logged = true;
        GW_LOG(GW_LOG_WARN, "raft", "rpc: a peer speaks RPC version %u, this node reads up "
               "to %u: asked it to speak %u (this node is older)", req->version,
               REPL_MSG_VERSION, REPL_MSG_VERSION);
    }
    conn_reply(c, &m);
}

static void conn_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct repl__fwd_conn *c = s->data;
    struct repl__msg m;
    size_t used = 0;
    int rv;

    if (n < 0) {
        conn_close(c);
        return;
    }
    gw_buf_append(&c->in, buf->base, (size_t)n);
    while (!c->is_closing) {
        rv = repl__msg_decode(c->in.data, c->in.len, c->f->secret, c->f->secret_len, &m, &used);
        if (rv == GW_ERR_AGAIN) {
            break;
        }
        if (rv == GW_ERR_TOO_NEW) {
            conn_version_reply(c, &m);
            gw_buf_consume(&c->in, used);
            continue;
        }
        if (rv != 0 || (m.type != REPL_MSG_PROPOSE && m.type != REPL_MSG_READ &&
                        m.type != REPL_MSG_CHANGE)) {
            GW_LOG(GW_LOG_WARN, "raft", "rpc: refused a request (%s)", gw_err_name(rv));
            conn_close(c);
            return;
        }
        conn_dispatch(c, &m); /* copies the command before the buffer moves */
        gw_buf_consume(&c->in, used);
    }
}

static void server_conn_cb(uv_stream_t *server, int status)
{
    struct repl__fwd *f = server->data;
    struct repl__fwd_conn *c;

    if (status != 0 || f->is_closing) {
        return;
    }
    c = gw_calloc(1, sizeof *c);
    c->f = f;
    uv_tcp_init(f->loop, &c->tcp);
    c->tcp.data = c;
    f->n_open++;
    c->next = f->conns;
    f->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, conn_read_cb) != 0) {
        conn_close(c);
    }
}

/* --- Client: forwarding to the leader ------------------------------------------------- */

struct fwd_req {
    uint64_t seq;
    uint8_t type;
    repl__propose_cb pcb;
    repl__index_cb icb;
    repl_change_cb ccb;
    void *arg;
    uint64_t deadline_ms;
    struct repl__msg msg; /* the request, kept to resend it at an older version ... */
    struct gw_buf data;   /* ... with its command or address (msg's views point here) */
    struct fwd_req *next;
};

struct repl__fwd_client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    struct repl__fwd *f;
    char addr[REPL_ADDR_MAX];
    bool is_connected;
    bool is_closing;
    bool is_version_logged;
    uint8_t version; /* the RPC version spoken on this connection */
    struct gw_buf in;
    struct gw_buf out; /* frames queued until connected */
    struct fwd_req *reqs;
};

static void req_finish(struct fwd_req *r, int rv, const struct repl__msg *m)
{
    if (r->type == REPL_MSG_CHANGE) {
        /* A failed change reports its own code; NOT_LEADER and faults stay as they are. */
        if (rv == GW_ERR_INTERNAL && m != NULL && m->result != GW_OK) {
            rv = m->result;
        }
        r->ccb(r->arg, rv);
    } else if (r->type == REPL_MSG_PROPOSE) {
        r->pcb(r->arg, rv, m != NULL ? m->result : GW_OK, m != NULL ? m->index : 0);
    } else {
        r->icb(r->arg, rv, m != NULL ? m->index : 0);
    }
    gw_buf_free(&r->data);
    gw_free(r);
}

static struct fwd_req *req_take(struct repl__fwd_client *cl, uint64_t seq)
{
    for (struct fwd_req **pp = &cl->reqs; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->seq == seq) {
            struct fwd_req *r = *pp;

            *pp = r->next;
            return r;
        }
    }
    return NULL;
}

static void client_closed_cb(uv_handle_t *h)
{
    struct repl__fwd_client *cl = h->data;
    struct repl__fwd *f = cl->f;

    gw_buf_free(&cl->in);
    gw_buf_free(&cl->out);
    gw_free(cl);
    fwd_handle_closed(f);
}

/* Close the connection; every request still pending fails with @rv. */
static void client_close(struct repl__fwd_client *cl, int rv)
{
    struct fwd_req *r;

    if (cl->is_closing) {
        return;
    }
    cl->is_closing = true;
    if (cl->f->client == cl) {
        cl->f->client = NULL;
    }
    while ((r = cl->reqs) != NULL) {
        cl->reqs = r->next;
        req_finish(r, rv, NULL);
    }
    uv_close((uv_handle_t *)&cl->tcp, client_closed_cb);
}

/* Encode @r at the connection's version; queue it until connected, or send it. */
static void client_send(struct repl__fwd_client *cl, struct fwd_req *r)
{
    struct gw_buf frame = {0};

    r->msg.version = cl->version;
    repl__msg_encode(cl->is_connected ? &frame : &cl->out, cl->f->secret, cl->f->secret_len,
                     &r->msg);
    if (cl->is_connected) {
        stream_send((uv_stream_t *)&cl->tcp, &frame);
    }
}

/* The peer cannot read @r's version and reads up to @max: speak the highest version both
 * read on this connection from now on and send @r again at it. */
static void client_downgrade(struct repl__fwd_client *cl, struct fwd_req *r, uint8_t max)
{
    uint8_t sent = r->msg.version;
    uint8_t v = max < cl->version ? max : cl->version;

    if (v < REPL_MSG_VERSION_MIN || v >= sent) {
        GW_LOG(GW_LOG_ERROR, "raft", "rpc: %s reads RPC versions up to %u and this node "
               "speaks %u to %u: no common version", cl->addr, max, REPL_MSG_VERSION_MIN,
               sent);
        req_finish(r, GW_ERR_INTERNAL, NULL);
        return;
    }
    if (!cl->is_version_logged) {
        cl->is_version_logged = true;
        GW_LOG(GW_LOG_WARN, "raft", "rpc: %s is older (reads RPC versions up to %u): "
               "speaking %u to it", cl->addr, max, v);
    }
    cl->version = v;
    r->next = cl->reqs;
    cl->reqs = r;
    client_send(cl, r);
}

static void client_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct repl__fwd_client *cl = s->data;
    struct repl__fwd *f = cl->f;
    struct repl__msg m;
    struct fwd_req *r;
    size_t used = 0;
    int rv;

    if (n < 0) {
        client_close(cl, GW_ERR_NOT_LEADER);
        return;
    }
    gw_buf_append(&cl->in, buf->base, (size_t)n);
    while (!cl->is_closing) {
        rv = repl__msg_decode(cl->in.data, cl->in.len, f->secret, f->secret_len, &m, &used);
        if (rv == GW_ERR_AGAIN) {
            break;
        }
        if (rv != 0 || (m.type != REPL_MSG_PROPOSE_REPLY && m.type != REPL_MSG_READ_REPLY &&
                        m.type != REPL_MSG_CHANGE_REPLY && m.type != REPL_MSG_VERSION_REPLY)) {
            GW_LOG(GW_LOG_WARN, "raft", "rpc: bad reply from %s (%s)", cl->addr, gw_err_name(rv));
            client_close(cl, GW_ERR_NOT_LEADER);
            return;
        }
        r = req_take(cl, m.seq);
        if (r != NULL && m.type == REPL_MSG_VERSION_REPLY) {
            client_downgrade(cl, r, m.max_version);
        } else if (r != NULL) {
            req_finish(r, repl__status_to_err(m.status), &m);
        }
        gw_buf_consume(&cl->in, used);
    }
}

static void client_connect_cb(uv_connect_t *req, int status)
{
    struct repl__fwd_client *cl = req->data;

    if (cl->is_closing) {
        return;
    }
    if (status != 0 ||
        uv_read_start((uv_stream_t *)&cl->tcp, alloc_cb, client_read_cb) != 0) {
        GW_LOG(GW_LOG_WARN, "raft", "rpc: connect to %s: %s", cl->addr,
               status != 0 ? uv_strerror(status) : "read");
        client_close(cl, GW_ERR_NOT_LEADER);
        return;
    }
    cl->is_connected = true;
    if (cl->out.len > 0) {
        stream_send((uv_stream_t *)&cl->tcp, &cl->out);
    }
}

/* The connection to @raft_addr's RPC port, opened if needed. */
static struct repl__fwd_client *client_get(struct repl__fwd *f, const char *raft_addr)
{
    struct repl__fwd_client *cl;
    struct sockaddr_in sa;
    char addr[REPL_ADDR_MAX];
    char ip[REPL_ADDR_MAX];
    unsigned port = 0;

    if (repl_addr_rpc(raft_addr, addr) != 0 || sscanf(addr, "%15[0-9.]:%u", ip, &port) != 2 ||
        uv_ip4_addr(ip, (int)port, &sa) != 0) {
        return NULL;
    }
    if (f->client != NULL && strcmp(f->client->addr, addr) == 0) {
        return f->client;
    }
    if (f->client != NULL) {
        client_close(f->client, GW_ERR_NOT_LEADER); /* the leader moved */
    }
    cl = gw_calloc(1, sizeof *cl);
    cl->f = f;
    cl->version = f->version_max;
    snprintf(cl->addr, sizeof cl->addr, "%s", addr);
    uv_tcp_init(f->loop, &cl->tcp);
    uv_tcp_nodelay(&cl->tcp, 1);
    cl->tcp.data = cl;
    cl->connect.data = cl;
    f->n_open++;
    f->client = cl;
    if (uv_tcp_connect(&cl->connect, &cl->tcp, (const struct sockaddr *)&sa,
                       client_connect_cb) != 0) {
        client_close(cl, GW_ERR_NOT_LEADER);
        return NULL;
    }
    return cl;
}

static int client_submit(struct repl__fwd *f, const char *leader_addr, struct repl__msg *m,
                         struct fwd_req *r)
{
    struct repl__fwd_client *cl;

    if (f->is_closing) {
        gw_free(r);
        return GW_ERR_CANCELED;
    }
    cl = client_get(f, leader_addr);
    if (cl == NULL) {
        gw_free(r);
        return GW_ERR_NOT_LEADER;
    }
    r->seq = m->seq = ++f->next_seq;
    r->type = m->type;
    r->deadline_ms = uv_now(f->loop) + f->timeout_ms;
    if (m->type == REPL_MSG_CHANGE && f->timeout_ms < REPL_CHANGE_TIMEOUT_MS) {
        r->deadline_ms = uv_now(f->loop) + REPL_CHANGE_TIMEOUT_MS;
    }
    r->next = cl->reqs;
    cl->reqs = r;
    r->msg = *m;
    if (m->type == REPL_MSG_PROPOSE || m->type == REPL_MSG_CHANGE) {
        struct gw_str *view = m->type == REPL_MSG_PROPOSE ? &r->msg.cmd : &r->msg.addr;

        gw_buf_append_str(&r->data, *view);
        *view = gw_buf_str(&r->data);
    }
    client_send(cl, r);
    return GW_OK;
}

static int fwd_propose(void *data, uint64_t leader_id, const char *leader_addr, const void *cmd,
                       size_t len, repl__propose_cb cb, void *arg)
{
    struct repl__msg m = {.type = REPL_MSG_PROPOSE, .cmd = {cmd, len}};
    struct fwd_req *r = gw_calloc(1, sizeof *r);

    (void)leader_id;
    r->pcb = cb;
    r->arg = arg;
    return client_submit(data, leader_addr, &m, r);
}

static int fwd_read(void *data, uint64_t leader_id, const char *leader_addr, repl__index_cb cb,
                    void *arg)
{
    struct repl__msg m = {.type = REPL_MSG_READ};
    struct fwd_req *r = gw_calloc(1, sizeof *r);

    (void)leader_id;
    r->icb = cb;
    r->arg = arg;
    return client_submit(data, leader_addr, &m, r);
}

static int fwd_change(void *data, const char *leader_addr, const struct repl_change *ch,
                      repl_change_cb cb, void *arg)
{
    struct repl__msg m = {.type = REPL_MSG_CHANGE, .op = (uint8_t)ch->op, .id = ch->id,
                          .as_voter = ch->as_voter, .addr = gw_str_c(ch->addr)};
    struct fwd_req *r = gw_calloc(1, sizeof *r);

    r->ccb = cb;
    r->arg = arg;
    return client_submit(data, leader_addr, &m, r);
}

/* Fail forwarded requests that waited too long. */
static void timer_cb(uv_timer_t *t)
{
    struct repl__fwd *f = t->data;
    struct repl__fwd_client *cl = f->client;
    uint64_t now = uv_now(f->loop);
    struct fwd_req **pp;

    if (f->is_closing || cl == NULL) {
        return;
    }
    pp = &cl->reqs;
    while (*pp != NULL) {
        struct fwd_req *r = *pp;

        if (r->deadline_ms <= now) {
            *pp = r->next;
            req_finish(r, GW_ERR_SLOW_DOWN, NULL);
        } else {
            pp = &r->next;
        }
    }
}

/* --- Lifecycle ------------------------------------------------------------------------ */

int repl__fwd_init(struct repl__fwd *f, uv_loop_t *loop, struct repl_core *core,
                   const void *secret, size_t secret_len, uint32_t timeout_ms)
{
    memset(f, 0, sizeof *f);
    if (secret_len < REPL_SECRET_MIN || secret_len > sizeof f->secret) {
        return GW_ERR_INVALID;
    }
    f->loop = loop;
    f->core = core;
    memcpy(f->secret, secret, secret_len);
    f->secret_len = secret_len;
    f->timeout_ms = timeout_ms;
    f->version_max = REPL_MSG_VERSION;
    uv_tcp_init(loop, &f->server);
    f->server.data = f;
    uv_timer_init(loop, &f->timer);
    f->timer.data = f;
    f->n_open = 2;
    uv_timer_start(&f->timer, timer_cb, 100, 100);
    uv_unref((uv_handle_t *)&f->timer);
    core->fwd = (struct repl__forwarder){fwd_propose, fwd_read, f, fwd_change};
    return GW_OK;
}

int repl__fwd_listen(struct repl__fwd *f, const char *addr)
{
    struct sockaddr_in sa;
    char ip[REPL_ADDR_MAX];
    unsigned port = 0;
    int rv;

    if (sscanf(addr, "%15[0-9.]:%u", ip, &port) != 2 || port == 0 || port > 65535 ||
        uv_ip4_addr(ip, (int)port, &sa) != 0) {
        return GW_ERR_INVALID;
    }
    rv = uv_tcp_bind(&f->server, (const struct sockaddr *)&sa, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&f->server, 128, server_conn_cb);
    }
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "rpc: listen on %s: %s", addr, uv_strerror(rv));
        return GW_ERR_IO;
    }
    f->is_listening = true;
    return GW_OK;
}

uint8_t repl__fwd_version(const struct repl__fwd *f)
{
    return f->client != NULL ? f->client->version : 0;
}

static void fwd_own_closed_cb(uv_handle_t *h)
{
    fwd_handle_closed(h->data);
}

void repl__fwd_close(struct repl__fwd *f, void (*cb)(struct repl__fwd *f))
{
    if (f->is_closing) {
        return;
    }
    f->is_closing = true;
    f->close_cb = cb;
    f->core->fwd = (struct repl__forwarder){0};
    if (f->client != NULL) {
        client_close(f->client, GW_ERR_NOT_LEADER);
    }
    while (f->conns != NULL) {
        conn_close(f->conns);
    }
    uv_close((uv_handle_t *)&f->timer, fwd_own_closed_cb);
    uv_close((uv_handle_t *)&f->server, fwd_own_closed_cb);
}
