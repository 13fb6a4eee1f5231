/* Replication of the metadata store with Raft (libraft 0.15 on libuv).
 *
 * One struct repl per node runs Raft (raft_uv + raft_uv_tcp) on the node's loop, applies
 * committed meta commands through meta_apply() into the node's LMDB store, and offers:
 *
 * - a struct meta_proposer (repl_proposer) that the S3 layer submits commands through: on
 *   the leader it calls raft_apply and completes once the entry is applied; on a follower it
 *   forwards the command to the leader over the internal RPC (TCP, HMAC-SHA256 under the
 *   cluster secret) and completes only once this node's own replica has applied that index
 *   (read-your-writes on every node);
 * - a linearizable read barrier (repl_read_barrier) shared by the readers waiting at the same
 *   moment: one raft_barrier on the leader, forwarded from followers;
 * - membership changes (add as standby, then promote to voter; remove; leadership transfer)
 *   and a status snapshot for the admin API, /metrics and /health/ready.
 *
 * How node/main.c wires it:
 *
 *     signal(SIGPIPE, SIG_IGN);            libuv writes without MSG_NOSIGNAL
 *     meta_open(<data_dir>/meta, key, 0, &m);
 *     mkdir(<data_dir>/raft);
 *     repl_peers_parse(cfg->cluster.peers, &peers, &n_peers);
 *     cfg.id = ...; cfg.dir = <data_dir>/raft; cfg.raft_addr = cfg->cluster.raft_listen; ...
 *     repl_create(loop, m, &cfg, &repl);
 *     repl_start(repl);                    bootstraps on first start, recovers later
 *     s3 gets repl_proposer(repl) instead of &local_proposer.base;
 *     ... uv_run ...
 *     on SIGTERM: repl_leader_transfer(repl, 0, ...) if leader, then repl_close(repl, cb);
 *     in cb (or after uv_run returned): meta_close(m).
 *
 * Addresses are IPv4 literals "a.b.c.d:port" (libraft 0.15 has no host names).  The RPC
 * address of a member is its Raft address with the port plus one, so a node that knows the
 * leader's Raft address knows where to forward.  Never call srand(): libraft uses rand().
 *
 * Every function runs on the loop thread.  Callbacks follow the libuv contract: on a non-zero
 * return they never fire; on GW_OK they fire exactly once, later, on the loop.  Leadership
 * lost before an outcome is known gives GW_ERR_NOT_LEADER (HTTP 503): the client's retry
 * carries the same request id and meta deduplicates it. */
#ifndef UNIGW_INCLUDE_REPL_H
#define UNIGW_INCLUDE_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "unigw/meta.h"

#define REPL_ADDR_MAX 24    /* "255.255.255.255:65535" and a NUL */
#define REPL_MEMBERS_MAX 16 /* members reported by repl_status_get */
#define REPL_SECRET_MIN 16  /* shortest accepted cluster secret, in bytes */

struct repl;

/* One member of the initial cluster. */
struct repl_peer {
    uint64_t id;
    char addr[REPL_ADDR_MAX]; /* Raft address, a.b.c.d:port */
};

struct repl_config {
    uint64_t id;               /* this node's Raft id, > 0, never reused */
    const char *dir;           /* Raft directory (must exist, local disk) */
    const char *raft_addr;     /* a.b.c.d:port, advertised and bound */
    const char *rpc_addr;      /* RPC bind address; NULL or "": raft_addr with port + 1 */
    const struct repl_peer *peers; /* initial voters (bootstrap); n_peers 0: join a cluster */
    size_t n_peers;
    const void *secret; /* cluster secret for the RPC HMAC, >= REPL_SECRET_MIN bytes */
    size_t secret_len;
    uint32_t election_timeout_ms;  /* 0: 1000 */
    uint32_t heartbeat_timeout_ms; /* 0: 100 */
    uint32_t snapshot_threshold;   /* 0: 16384 */
    uint32_t snapshot_trailing;    /* 0: 16384; raised to threshold when lower */
    uint32_t forward_timeout_ms;   /* forwarded request + local catch-up; 0: 5000 */
    /* This binary's version string, registered with its feature levels in the members db
     * once a leader is known (NULL or "": no registration). */
    const char *version;
};

/* Parse a peer list "ID=a.b.c.d:port[,ID=a.b.c.d:port...]" (ids decimal, > 0 and distinct;
 * blanks around items allowed; "" is an empty list).  *@out is gw_malloc'ed (NULL when
 * *@n_out is 0).  Returns GW_OK or GW_ERR_INVALID. */
int repl_peers_parse(const char *s, struct repl_peer **out, size_t *n_out);

/* The RPC address that goes with Raft address @raft_addr: same IP, port + 1.
 * Returns GW_OK or GW_ERR_INVALID (not a.b.c.d:port, or port 65535). */
int repl_addr_rpc(const char *raft_addr, char out[REPL_ADDR_MAX]);

/* Create the replicator on @loop over the open store @m (kept open by the caller until the
 * close callback).  Initializes raft_uv on cfg->dir; filesystem problems surface here.
 * Nothing runs until repl_start.  Returns GW_OK, GW_ERR_INVALID (bad config), GW_ERR_IO. */
int repl_create(uv_loop_t *loop, struct meta *m, const struct repl_config *cfg,
                struct repl **out);

/* Bootstrap (only on a pristine directory, and only when cfg->n_peers > 0), load the log and
 * the snapshot (restoring meta), start Raft, the RPC listener and the state poll.
 * Returns GW_OK, GW_ERR_IO or GW_ERR_INVALID. */
int repl_start(struct repl *r);

/* The proposer for the S3 and admin layers; valid until repl_close. */
struct meta_proposer *repl_proposer(struct repl *r);

/* A linearizable read barrier: @cb(arg, GW_OK) fires once this node's replica holds every
 * write committed before the call.  Errors through @cb: GW_ERR_NOT_LEADER (no leader, or it
 * changed), GW_ERR_SLOW_DOWN (timeout), GW_ERR_CANCELED (closing). */
typedef void (*repl_read_cb)(void *arg, int rv);
int repl_read_barrier(struct repl *r, repl_read_cb cb, void *arg);

enum repl_state {
    REPL_STATE_UNAVAILABLE = 0,
    REPL_STATE_FOLLOWER,
    REPL_STATE_CANDIDATE,
    REPL_STATE_LEADER,
};

enum repl_role { REPL_ROLE_STANDBY = 0, REPL_ROLE_VOTER = 1, REPL_ROLE_SPARE = 2 };

struct repl_member {
    uint64_t id;
    char addr[REPL_ADDR_MAX];
    enum repl_role role;
};

struct repl_status {
    uint64_t id;
    char addr[REPL_ADDR_MAX];
    enum repl_state state;
    bool is_leader_ready;     /* leader whose post-election barrier has been applied */
    uint64_t leader_id;       /* 0: none known */
    char leader_addr[REPL_ADDR_MAX];
    uint64_t term;
    uint64_t commit_index;
    uint64_t last_index;
    uint64_t applied_index;   /* Raft's last applied index */
    uint64_t no_leader_ms;    /* how long no leader has been known (0 while one is) */
    size_t n_members;         /* at most REPL_MEMBERS_MAX reported */
    struct repl_member members[REPL_MEMBERS_MAX];
};

/* Fill @out from the local Raft state (no I/O). */
void repl_status_get(struct repl *r, struct repl_status *out);

/* Membership, on the leader only (GW_ERR_NOT_LEADER elsewhere), one change at a time
 * (GW_ERR_AGAIN while another runs).  add: the node joins as a spare, becomes a standby
 * (replicates the log; catches up by snapshot if needed), and with @as_voter is promoted to
 * voter after libraft's catch-up rounds.  @cb gets GW_OK, GW_ERR_NOT_LEADER, GW_ERR_EXISTS,
 * GW_ERR_NOT_FOUND, GW_ERR_AGAIN (catch-up failed) or GW_ERR_INTERNAL. */
typedef void (*repl_change_cb)(void *arg, int rv);
int repl_member_add(struct repl *r, uint64_t id, const char *addr, bool as_voter,
                    repl_change_cb cb, void *arg);
int repl_member_remove(struct repl *r, uint64_t id, repl_change_cb cb, void *arg);
/* Hand leadership to @id (0: the most up-to-date voter).  @cb fires when it moved or after
 * an election timeout: GW_OK if this node no longer leads, GW_ERR_AGAIN otherwise. */
int repl_leader_transfer(struct repl *r, uint64_t id, repl_change_cb cb, void *arg);

/* A membership change or leadership transfer submitted from any node. */
enum repl_change_op {
    REPL_CHANGE_ADD = 1,      /* id, addr, as_voter: repl_member_add */
    REPL_CHANGE_REMOVE = 2,   /* id: repl_member_remove */
    REPL_CHANGE_TRANSFER = 3, /* id (0: any): repl_leader_transfer */
};

struct repl_change {
    enum repl_change_op op;
    uint64_t id;
    char addr[REPL_ADDR_MAX];
    bool as_voter;
};

/* Run @ch on the leader: here when this node leads, otherwise forwarded to the leader over
 * the internal RPC (HMAC-authenticated), whose outcome @cb gets (the codes of the three
 * functions above, or GW_ERR_SLOW_DOWN when the leader did not answer in time; the change
 * may still complete then).  Returns GW_OK, GW_ERR_INVALID (bad op, id or address),
 * GW_ERR_NOT_LEADER (no leader known), GW_ERR_AGAIN (a change runs here) or
 * GW_ERR_CANCELED (closing). */
int repl_change_submit(struct repl *r, const struct repl_change *ch, repl_change_cb cb,
                       void *arg);

/* Stop: pending proposals and reads complete with GW_ERR_NOT_LEADER or GW_ERR_CANCELED, the
 * RPC listener and connections close, raft_close runs, then @cb fires.  The store stays
 * open.  Calling it twice is a no-op. */
typedef void (*repl_close_cb)(void *arg);
void repl_close(struct repl *r, repl_close_cb cb, void *arg);
/* Free @r after repl_close's callback, once the loop has no raft_uv work left (after
 * uv_run returned, or the loop was drained): libraft 0.15 may still complete disk work
 * after raft_close's callback.  NULL is a no-op. */
void repl_destroy(struct repl *r);

#endif
