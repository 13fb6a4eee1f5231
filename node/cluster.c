/* Replication set-up for the daemon.
 *
 * Peers: an empty [cluster] peers list makes a one-voter cluster (the same
 * code path as a real cluster); a list that names this node's raft_listen
 * bootstraps those voters on a fresh Raft directory (a used one just
 * restarts); a list without it joins an existing cluster and waits for an
 * admin to add the node.  The RPC key is derived from the cluster key so the
 * AES key that seals secrets is never used directly as a MAC key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "unigw/alloc.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define CLEAN_MARKER "clean-shutdown"

int node_meta_check_clean(const char *meta_dir)
{
    char path[4096];
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", meta_dir, CLEAN_MARKER);
    if (unlink(path) == 0) {
        return GW_OK;
    }
    snprintf(path, sizeof path, "%s/data.mdb", meta_dir);
    if (stat(path, &st) != 0) {
        return GW_OK; /* a fresh store */
    }
    GW_LOG(GW_LOG_WARN, "node",
           "msg=\"unclean stop: discarding the metadata store, Raft rebuilds it\"");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", meta_dir, files[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            return gw_err_from_errno(errno);
        }
    }
    return GW_OK;
}

void node_meta_mark_clean(const char *meta_dir)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof path, "%s/%s", meta_dir, CLEAN_MARKER);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* This node's id: the configured one, else the peers entry at raft_listen, else 1. */
static uint64_t pick_id(const struct node_config *cfg, const struct repl_peer *peers, size_t n,
                        bool *listed)
{
    *listed = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(peers[i].addr, cfg->cluster.raft_listen) == 0) {
            *listed = true;
            return cfg->cluster.raft_id != 0 ? cfg->cluster.raft_id : peers[i].id;
        }
    }
    return cfg->cluster.raft_id != 0 ? cfg->cluster.raft_id : 1;
}

static bool rpc_is_raft_plus_one(const struct node_config *cfg)
{
    char want[REPL_ADDR_MAX];

    return repl_addr_rpc(cfg->cluster.raft_listen, want) == 0 &&
           strcmp(want, cfg->cluster.rpc_listen) == 0;
}

int node_repl_start(const struct node_config *cfg, uv_loop_t *loop, struct meta *m,
                    const uint8_t cluster_key[META_CLUSTER_KEY_LEN], struct repl **out,
                    bool *is_founder)
{
    struct repl_config rc = {0};
    struct repl_peer self;
    struct repl_peer *peers = NULL;
    size_t n_peers = 0;
    unsigned char secret[GW_SHA256_LEN];
    char dir[4096];
    bool listed = false;
    int rv;

    snprintf(dir, sizeof dir, "%s/raft", cfg->node.data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return gw_err_from_errno(errno);
    }
    rv = repl_peers_parse(cfg->cluster.peers, &peers, &n_peers);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"[cluster] peers: cannot parse '%s'\"",
               cfg->cluster.peers);
        return GW_ERR_CONFIG;
    }
    /* Peers reach each other's RPC at Raft port + 1 (the Raft configuration
     * carries only Raft addresses), so another port could never be reached. */
    if (cfg->cluster.rpc_listen[0] != '\0' && !rpc_is_raft_plus_one(cfg)) {
        GW_LOG(GW_LOG_ERROR, "node",
               "msg=\"[cluster] rpc_listen %s: must be the Raft address with port + 1 (or empty)\"",
               cfg->cluster.rpc_listen);
        gw_free(peers);
        return GW_ERR_CONFIG;
    }
    rc.id = pick_id(cfg, peers, n_peers, &listed);
    *is_founder = n_peers == 0 || listed;
    if (n_peers == 0) {
        self.id = rc.id;
        snprintf(self.addr, sizeof self.addr, "%s", cfg->cluster.raft_listen);
        rc.peers = &self;
        rc.n_peers = 1;
    } else if (listed) {
        rc.peers = peers;
        rc.n_peers = n_peers;
    }
    gw_hmac_sha256(cluster_key, META_CLUSTER_KEY_LEN, "unigw rpc v1", 12, secret);
    rc.dir = dir;
    rc.raft_addr = cfg->cluster.raft_listen;
    rc.rpc_addr = cfg->cluster.rpc_listen;
    rc.secret = secret;
    rc.secret_len = sizeof secret;
    rc.election_timeout_ms = (uint32_t)cfg->cluster.election_timeout;
    rc.heartbeat_timeout_ms = (uint32_t)cfg->cluster.heartbeat_timeout;
    rc.snapshot_threshold = cfg->cluster.snapshot_threshold;
    rc.snapshot_trailing = cfg->cluster.snapshot_trailing;
    rc.version = UNIGW_VERSION;
    rv = repl_create(loop, m, &rc, out);
    if (rv == 0) {
        rv = repl_start(*out);
    }
    gw_free(peers);
    return rv;
}

static const char *state_name(enum repl_state s)
{
    static const char *const names[] = {"unavailable", "follower", "candidate", "leader"};
    return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

void node_repl_metrics(struct repl *r, struct gw_buf *out)
{
    struct repl_status st;

    repl_status_get(r, &st);
    gw_buf_printf(out,
                  "# HELP unigw_raft_state Raft state of this node (1 for the current one).\n"
                  "# TYPE unigw_raft_state gauge\n");
    for (int s = REPL_STATE_UNAVAILABLE; s <= REPL_STATE_LEADER; s++) {
        gw_buf_printf(out, "unigw_raft_state{state=\"%s\"} %d\n", state_name((enum repl_state)s),
                      st.state == (enum repl_state)s);
    }
    gw_buf_printf(out,
                  "# TYPE unigw_raft_term gauge\nunigw_raft_term %llu\n"
                  "# TYPE unigw_raft_commit_index gauge\nunigw_raft_commit_index %llu\n"
                  "# TYPE unigw_raft_applied_index gauge\nunigw_raft_applied_index %llu\n"
                  "# TYPE unigw_raft_leader_known gauge\nunigw_raft_leader_known %d\n"
                  "# TYPE unigw_raft_members gauge\nunigw_raft_members %zu\n",
                  (unsigned long long)st.term, (unsigned long long)st.commit_index,
                  (unsigned long long)st.applied_index, st.leader_id != 0, st.n_members);
}

void node_repl_health(struct repl *r, char *out, size_t cap, bool *has_leader)
{
    struct repl_status st;

    repl_status_get(r, &st);
    *has_leader = st.leader_id != 0;
    snprintf(out, cap, "raft %s, term %llu, leader %llu, applied %llu", state_name(st.state),
             (unsigned long long)st.term, (unsigned long long)st.leader_id,
             (unsigned long long)st.applied_index);
}
