/* The replicator on a real loop: raft_uv + raft_uv_tcp, the core, the RPC endpoint and the
 * per-iteration state poll.
 *
 * Lifecycle:
 *
 *     repl_create: raft_uv_tcp_init -> raft_uv_init(dir) -> raft_init (probes the disk)
 *                  -> tuning (pre-vote on, timeouts, snapshot threshold/trailing)
 *     repl_start:  [n_peers > 0] raft_bootstrap (RAFT_CANTBOOTSTRAP on a used dir: fine)
 *                  -> raft_start (restores the snapshot, loads the log) -> RPC listen
 *                  -> uv_check poll
 *     repl_close:  fail waits -> close the RPC endpoint and the check handle -> raft_close
 *                  -> (cb) fail what raft failed, raft_uv_close, raft_uv_tcp_close -> user cb
 *
 * libraft 0.15 is used as it is: fsm version 1 (snapshot on the loop; no io.version
 * override needed), addresses are IPv4 literals, the transfer request lives in the core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft/uv.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "core.h"
#include "forward.h"

struct repl {
    uv_loop_t *loop;
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport;
    struct repl_core core;
    struct repl__fwd fwd;
    uv_check_t check;
    uv_timer_t defer; /* frees the replicator one loop turn after raft_close's callback */
    char raft_addr[REPL_ADDR_MAX];
    char rpc_addr[REPL_ADDR_MAX];
    struct repl_peer *peers;
    size_t n_peers;
    bool is_started;
    bool is_closing;
    int n_closing; /* raft, fwd, check */
    repl_close_cb close_cb;
    void *close_arg;
};

/* Parse "a.b.c.d:port" strictly (libraft 0.15 accepts nothing else). */
static bool addr_parse(const char *s, unsigned char ip[4], unsigned *port)
{
    unsigned a[4];
    char tail = 0;

    if (sscanf(s, "%3u.%3u.%3u.%3u:%5u%c", &a[0], &a[1], &a[2], &a[3], port, &tail) != 5) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        if (a[i] > 255) {
            return false;
        }
        ip[i] = (unsigned char)a[i];
    }
    return *port > 0 && *port <= 65535 && strlen(s) < REPL_ADDR_MAX && strchr(s, ' ') == NULL;
}

int repl_addr_rpc(const char *raft_addr, char out[REPL_ADDR_MAX])
{
    unsigned char ip[4];
    unsigned port = 0;

    if (raft_addr == NULL || !addr_parse(raft_addr, ip, &port) || port == 65535) {
        return GW_ERR_INVALID;
    }
    snprintf(out, REPL_ADDR_MAX, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], port + 1);
    return GW_OK;
}

/* One "ID=a.b.c.d:port" item, blanks trimmed. */
static bool peer_parse(const char *p, size_t len, struct repl_peer *out)
{
    char item[64];
    unsigned char ip[4];
    unsigned port;
    char *eq;
    char *end;
    size_t b = 0;

    while (b < len && (p[b] == ' ' || p[b] == '\t')) {
        b++;
    }
    while (len > b && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }
    if (len - b >= sizeof item) {
        return false;
    }
    memcpy(item, p + b, len - b);
    item[len - b] = '\0';
    eq = strchr(item, '=');
    if (eq == NULL || eq == item || item[0] < '0' || item[0] > '9') {
        return false;
    }
    *eq = '\0';
    out->id = strtoull(item, &end, 10);
    if (*end != '\0' || out->id == 0 || !addr_parse(eq + 1, ip, &port)) {
        return false;
    }
    snprintf(out->addr, sizeof out->addr, "%s", eq + 1);
    return true;
}

int repl_peers_parse(const char *s, struct repl_peer **out, size_t *n_out)
{
    struct repl_peer *peers = NULL;
    size_t n = 0;
    const char *p = s;

    *out = NULL;
    *n_out = 0;
    if (s == NULL || strspn(s, " \t") == strlen(s)) {
        return GW_OK;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        peers = gw_realloc(peers, (n + 1) * sizeof *peers);
        if (!peer_parse(p, len, &peers[n])) {
            gw_free(peers);
            return GW_ERR_INVALID;
        }
        for (size_t i = 0; i < n; i++) {
            if (peers[i].id == peers[n].id || strcmp(peers[i].addr, peers[n].addr) == 0) {
                gw_free(peers);
                return GW_ERR_INVALID;
            }
        }
        n++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    *out = peers;
    *n_out = n;
    return GW_OK;
}

static int config_check(const struct repl_config *cfg, struct repl *r)
{
    unsigned char ip[4];
    unsigned port;

    if (cfg->id == 0 || cfg->dir == NULL || cfg->raft_addr == NULL ||
        !addr_parse(cfg->raft_addr, ip, &port) || cfg->secret == NULL ||
        cfg->secret_len < REPL_SECRET_MIN || cfg->secret_len > 64) {
        return GW_ERR_INVALID;
    }
    snprintf(r->raft_addr, sizeof r->raft_addr, "%s", cfg->raft_addr);
    if (cfg->rpc_addr != NULL && cfg->rpc_addr[0] != '\0') {
        if (!addr_parse(cfg->rpc_addr, ip, &port)) {
            return GW_ERR_INVALID;
        }
        snprintf(r->rpc_addr, sizeof r->rpc_addr, "%s", cfg->rpc_addr);
        return GW_OK;
    }
    return repl_addr_rpc(cfg->raft_addr, r->rpc_addr);
}

static void raft_tune(struct raft *raft, const struct repl_config *cfg)
{
    unsigned threshold = cfg->snapshot_threshold != 0 ? cfg->snapshot_threshold : 16384;
    unsigned trailing = cfg->snapshot_trailing != 0 ? cfg->snapshot_trailing : 16384;

    raft_set_election_timeout(raft, cfg->election_timeout_ms != 0 ? cfg->election_timeout_ms
                                                                  : 1000);
    raft_set_heartbeat_timeout(raft, cfg->heartbeat_timeout_ms != 0 ? cfg->heartbeat_timeout_ms
                                                                    : 100);
    raft_set_snapshot_threshold(raft, threshold);
    raft_set_snapshot_trailing(raft, trailing < threshold ? threshold : trailing);
    raft_set_pre_vote(raft, true);
    raft_set_install_snapshot_timeout(raft, 120000);
    raft_set_max_catch_up_rounds(raft, 100);
    raft_set_max_catch_up_round_duration(raft, 50000);
}

/* Initialize libraft's transport, I/O backend and instance (in this order). */
static int raft_setup(struct repl *r, const struct repl_config *cfg)
{
    int rv;

    rv = raft_uv_tcp_init(&r->transport, r->loop);
    if (rv != 0) {
        return GW_ERR_IO;
    }
    rv = raft_uv_init(&r->io, r->loop, cfg->dir, &r->transport);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "raft_uv_init %s: %s", cfg->dir, raft_strerror(rv));
        goto err_after_transport;
    }
    raft_uv_set_connect_retry_delay(&r->io, 200);
    rv = raft_init(&r->raft, &r->io, &r->core.fsm.base, cfg->id, r->raft_addr);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "raft_init %s: %s", cfg->dir, raft_errmsg(&r->raft));
        goto err_after_io;
    }
    raft_tune(&r->raft, cfg);
    repl__core_attach(&r->core, &r->raft);
    return GW_OK;

err_after_io:
    raft_uv_close(&r->io);
err_after_transport:
    raft_uv_tcp_close(&r->transport);
    return GW_ERR_IO;
}

int repl_create(uv_loop_t *loop, struct meta *m, const struct repl_config *cfg,
                struct repl **out)
{
    struct repl *r = gw_calloc(1, sizeof *r);
    int rv;

    r->loop = loop;
    rv = config_check(cfg, r);
    if (rv != 0) {
        goto err;
    }
    repl__core_init(&r->core, m);
    repl__register_init(&r->core, cfg->version);
    r->core.forward_timeout_ms = cfg->forward_timeout_ms != 0 ? cfg->forward_timeout_ms : 5000;
    if (cfg->n_peers > 0) {
        r->peers = gw_calloc(cfg->n_peers, sizeof *r->peers);
        memcpy(r->peers, cfg->peers, cfg->n_peers * sizeof *r->peers);
        r->n_peers = cfg->n_peers;
    }
    rv = raft_setup(r, cfg);
    if (rv != 0) {
        goto err;
    }
    rv = repl__fwd_init(&r->fwd, loop, &r->core, cfg->secret, cfg->secret_len,
                        r->core.forward_timeout_ms);
    if (rv != 0) {
        abort(); /* cannot happen: config_check bounded the secret */
    }
    uv_check_init(loop, &r->check);
    r->check.data = r;
    *out = r;
    return GW_OK;

err:
    gw_free(r->peers);
    gw_free(r);
    return rv;
}

static void check_cb(uv_check_t *h)
{
    struct repl *r = h->data;

    if (r->is_closing) {
        return;
    }
    r->core.now_ms = uv_now(r->loop);
    repl__core_tick(&r->core);
}

/* Bootstrap with the configured voters; a used directory refuses, which is a restart. */
static int bootstrap(struct repl *r)
{
    struct raft_configuration conf;
    int rv = 0;

    raft_configuration_init(&conf);
    for (size_t i = 0; i < r->n_peers && rv == 0; i++) {
        rv = raft_configuration_add(&conf, r->peers[i].id, r->peers[i].addr, RAFT_VOTER);
    }
    if (rv == 0) {
        rv = raft_bootstrap(&r->raft, &conf);
    }
    raft_configuration_close(&conf);
    if (rv == RAFT_CANTBOOTSTRAP) {
        return GW_OK;
    }
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "bootstrap: %s", raft_strerror(rv));
        return GW_ERR_IO;
    }
    GW_LOG(GW_LOG_INFO, "raft", "bootstrapped a cluster of %zu voters", r->n_peers);
    return GW_OK;
}

int repl_start(struct repl *r)
{
    int rv;

    if (r->is_started || r->is_closing) {
        return GW_ERR_INVALID;
    }
    if (r->n_peers > 0) {
        rv = bootstrap(r);
        if (rv != 0) {
            return rv;
        }
    }
    rv = raft_start(&r->raft);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "start: %s", raft_errmsg(&r->raft));
        return GW_ERR_IO;
    }
    r->is_started = true;
    rv = repl__fwd_listen(&r->fwd, r->rpc_addr);
    if (rv != 0) {
        return rv;
    }
    uv_check_start(&r->check, check_cb);
    GW_LOG(GW_LOG_INFO, "raft", "node %llu started, raft %s, rpc %s",
           (unsigned long long)r->raft.id, r->raft_addr, r->rpc_addr);
    return GW_OK;
}

struct meta_proposer *repl_proposer(struct repl *r)
{
    return &r->core.proposer;
}

int repl_read_barrier(struct repl *r, repl_read_cb cb, void *arg)
{
    return repl__core_read(&r->core, cb, arg);
}

void repl_status_get(struct repl *r, struct repl_status *out)
{
    r->core.now_ms = uv_now(r->loop);
    repl__core_status(&r->core, out);
}

int repl_member_add(struct repl *r, uint64_t id, const char *addr, bool as_voter,
                    repl_change_cb cb, void *arg)
{
    unsigned char ip[4];
    unsigned port;

    if (addr == NULL || !addr_parse(addr, ip, &port)) {
        return GW_ERR_INVALID;
    }
    return repl__member_add(&r->core, id, addr, as_voter, cb, arg);
}

int repl_member_remove(struct repl *r, uint64_t id, repl_change_cb cb, void *arg)
{
    return repl__member_remove(&r->core, id, cb, arg);
}

int repl_leader_transfer(struct repl *r, uint64_t id, repl_change_cb cb, void *arg)
{
    return repl__leader_transfer(&r->core, id, cb, arg);
}

int repl_change_submit(struct repl *r, const struct repl_change *ch, repl_change_cb cb,
                       void *arg)
{
    unsigned char ip[4];
    unsigned port;

    if (memchr(ch->addr, '\0', sizeof ch->addr) == NULL) {
        return GW_ERR_INVALID;
    }
    switch (ch->op) {
    case REPL_CHANGE_ADD:
        if (ch->id == 0 || !addr_parse(ch->addr, ip, &port)) {
            return GW_ERR_INVALID;
        }
        break;
    case REPL_CHANGE_REMOVE:
        if (ch->id == 0) {
            return GW_ERR_INVALID;
        }
        break;
    case REPL_CHANGE_TRANSFER:
        break;
    default:
        return GW_ERR_INVALID;
    }
    r->core.now_ms = uv_now(r->loop);
    return repl__change_submit(&r->core, ch, cb, arg);
}

/* --- Close ---------------------------------------------------------------------------- */

static void close_step_done(struct repl *r)
{
    if (--r->n_closing > 0) {
        return;
    }
    if (r->close_cb != NULL) {
        r->close_cb(r->close_arg);
    }
}

void repl_destroy(struct repl *r)
{
    if (r == NULL) {
        return;
    }
    raft_uv_close(&r->io);
    raft_uv_tcp_close(&r->transport);
    gw_free(r->peers);
    gw_free(r);
}

static void defer_closed_cb(uv_handle_t *h)
{
    close_step_done(h->data);
}

static void defer_cb(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, defer_closed_cb);
}

/* raft_uv may still have disk work in libuv's thread pool when raft_close's
 * callback fires, and its completion touches the raft_uv object: freeing it
 * here (raft_uv_close) crashed in libraft at the next loop turn.  So the
 * memory is released by repl_destroy once the loop has drained, and the user
 * callback fires on a later loop turn, never from inside libraft. */
static void raft_closed_cb(struct raft *raft)
{
    struct repl *r = (struct repl *)((char *)raft - offsetof(struct repl, raft));

    /* libraft 0.15 can fire its io close callback twice when raft_close lands
     * while raft_uv still has disk work in flight (its uvMaybeFireCloseCb has
     * no "already fired" guard).  That callback frees raft->address and the
     * configuration, then calls us: leave nothing for a second pass to free
     * again, and no callback for it to call. */
    raft->address = NULL;
    memset(&raft->log, 0, sizeof raft->log);
    memset(&raft->configuration, 0, sizeof raft->configuration);
    raft->close_cb = NULL;
    repl__core_close(&r->core); /* requests libraft failed during close */
    uv_timer_init(r->loop, &r->defer);
    r->defer.data = r;
    uv_timer_start(&r->defer, defer_cb, 0, 0);
}

static void fwd_closed_cb(struct repl__fwd *f)
{
    close_step_done((struct repl *)((char *)f - offsetof(struct repl, fwd)));
}

static void check_closed_cb(uv_handle_t *h)
{
    close_step_done(h->data);
}

void repl_close(struct repl *r, repl_close_cb cb, void *arg)
{
    if (r->is_closing) {
        return;
    }
    r->is_closing = true;
    r->close_cb = cb;
    r->close_arg = arg;
    r->n_closing = 3;
    repl__core_close(&r->core);
    repl__fwd_close(&r->fwd, fwd_closed_cb);
    uv_close((uv_handle_t *)&r->check, check_closed_cb);
    raft_close(&r->raft, raft_closed_cb);
}
