/* Private to raft/: the replication core, independent of how the struct raft was made.
 *
 * repl.c builds the core on a real raft_uv instance; the unit tests build it on the servers
 * of libraft's raft_fixture.  The core never runs the loop itself: its owner calls
 * repl__core_tick() after every event (repl.c from a uv_check handle each loop iteration,
 * the tests after each fixture step), since libraft 0.15 has no state-change callback.
 * Completions to callers are always delivered from the tick, never from inside a libraft
 * callback, so a caller may propose again from its callback. */
#ifndef UNIGW_RAFT_CORE_H
#define UNIGW_RAFT_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include <raft.h>

#include "unigw/meta.h"
#include "unigw/repl.h"

/* The state machine over meta (fsm.c). */
struct repl_fsm {
    struct raft_fsm base;
    struct meta *m;
    struct raft *r; /* set before raft_start; the apply index is raft_last_applied(r) + 1 */
};

/* Fill @f as a version 2 FSM (apply, snapshot on the loop, finalize, restore). */
void repl__fsm_init(struct repl_fsm *f, struct meta *m);

struct repl_core;

/* Something that completes once the replica applied @index (or at once with @rv set). */
struct repl__wait {
    uint64_t index;
    uint64_t deadline_ms; /* 0: none */
    int rv;               /* != GW_OK: fire with this */
    bool is_done;         /* fire on the next tick, whatever the index */
    void (*fire)(struct repl__wait *w, int rv);
    struct repl__wait *next;
};

typedef void (*repl__propose_cb)(void *arg, int rv, int result, uint64_t index);
typedef void (*repl__index_cb)(void *arg, int rv, uint64_t index);

/* How a follower reaches the leader (forward.c, or a test double).  Same async contract. */
struct repl__forwarder {
    int (*propose)(void *data, uint64_t leader_id, const char *leader_addr, const void *cmd,
                   size_t len, repl__propose_cb cb, void *arg);
    int (*read)(void *data, uint64_t leader_id, const char *leader_addr, repl__index_cb cb,
                void *arg);
    void *data;
    /* A membership change for the leader to run (NULL: changes are not forwarded). */
    int (*change)(void *data, const char *leader_addr, const struct repl_change *ch,
                  repl_change_cb cb, void *arg);
};

struct repl__reader; /* readindex.c */

struct repl_core {
    struct raft *r;
    struct repl_fsm fsm;
    struct meta_proposer proposer;
    struct repl__forwarder fwd;
    uint64_t now_ms;           /* set by the owner before each tick */
    uint32_t forward_timeout_ms;
    int last_state;
    uint64_t last_term;
    uint64_t no_leader_since_ms; /* 0: a leader is known */
    bool is_leader_ready;
    bool is_closing;
    /* The barrier appended right after winning an election (0.15 appends no no-op). */
    struct raft_apply leader_barrier;
    bool is_leader_barrier_busy;
    uint64_t leader_barrier_term;
    struct repl__wait *waits;
    /* Read index (readindex.c): readers of the barrier in flight, and those after it. */
    struct raft_apply read_barrier;
    bool is_read_busy;
    struct repl__reader *read_cur, *read_next;
    /* Membership (members.c): one change at a time; the transfer request lives as long as
     * the core (libraft 0.15 may touch it after its callback, canonical/raft#396). */
    struct raft_change change;
    struct raft_transfer transfer;
    bool is_change_busy;
    bool is_transfer_busy;
    bool is_change_to_voter;
    int change_step;
    uint64_t change_id;
    repl_change_cb change_cb;
    void *change_arg;
    struct repl__wait change_wait;
    /* Member registration (register.c): "" disables it (unit tests of the core). */
    char reg_version[META_VERSION_MAX + 1];
    bool is_registered;
    bool is_reg_busy;
    uint64_t reg_retry_ms;
};

/* core.c */
void repl__core_init(struct repl_core *c, struct meta *m);
/* Attach the raft instance (after raft_init, before raft_start). */
void repl__core_attach(struct repl_core *c, struct raft *r);
/* Poll the Raft state, issue the leader barrier, fire due waits. */
void repl__core_tick(struct repl_core *c);
/* Fail everything pending with GW_ERR_CANCELED (callbacks fire from here). */
void repl__core_close(struct repl_core *c);
/* Commit a barrier: a META_CMD_NOOP entry through raft_apply.  raft_barrier is not
 * used: 0.15 writes the barrier entry's (uninitialised, possibly already released)
 * buffer to disk with a checksum that no longer matches, so the segment holding it is
 * found corrupt at the next start and every entry after the barrier is dropped. */
int repl__barrier(struct repl_core *c, struct raft_apply *req, raft_apply_cb cb);

/* Log entries: libraft 0.15 needs every entry's length to be a multiple of 8
 * (canonical/raft#189): with any other length the batch that follows is
 * misaligned and the segment is found corrupt at the next start, which drops
 * every later entry.  So an entry is a little-endian u64 command length, the
 * command, and zero padding to the next multiple of 8.  make: a raft_malloc'ed
 * buffer (RAFT_NOMEM on failure); open: false when @buf is not such an entry. */
int repl__entry_make(const void *cmd, size_t len, struct raft_buffer *out);
bool repl__entry_open(const struct raft_buffer *buf, const void **cmd, size_t *len);

void repl__core_wait_add(struct repl_core *c, struct repl__wait *w);
int repl__err_from_raft(int rv);
void repl__core_status(struct repl_core *c, struct repl_status *out);

/* proposer.c: apply on this node, which must be the leader (GW_ERR_NOT_LEADER otherwise);
 * @cb gets the apply outcome and the entry's index. */
int repl__core_apply(struct repl_core *c, const void *cmd, size_t len, repl__propose_cb cb,
                     void *arg);
void repl__proposer_init(struct repl_core *c);

/* readindex.c: on the leader, the index of a barrier that committed after the call. */
int repl__core_read_index(struct repl_core *c, repl__index_cb cb, void *arg);
/* Linearizable read barrier from any node (leader or through the forwarder). */
int repl__core_read(struct repl_core *c, repl_read_cb cb, void *arg);
void repl__read_tick(struct repl_core *c);
void repl__read_fail(struct repl_core *c, int rv);

/* register.c: register this node (@version, META_LEVEL_MIN..MAX) in the members db once
 * a leader is known; called by the tick. */
void repl__register_init(struct repl_core *c, const char *version);
void repl__register_tick(struct repl_core *c);

/* members.c */
int repl__member_add(struct repl_core *c, uint64_t id, const char *addr, bool as_voter,
                     repl_change_cb cb, void *arg);
int repl__member_remove(struct repl_core *c, uint64_t id, repl_change_cb cb, void *arg);
int repl__leader_transfer(struct repl_core *c, uint64_t id, repl_change_cb cb, void *arg);
/* @ch on this node, which must be the leader (the three functions above). */
int repl__change_local(struct repl_core *c, const struct repl_change *ch, repl_change_cb cb,
                       void *arg);
/* @ch from any node: locally on the leader, through the forwarder on a follower. */
int repl__change_submit(struct repl_core *c, const struct repl_change *ch, repl_change_cb cb,
                        void *arg);

#endif
