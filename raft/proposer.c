/* The Raft-backed struct meta_proposer.
 *
 * On the leader, propose copies the command into a raft_malloc'ed buffer and calls
 * raft_apply with that one buffer (0.15 fires one callback for n > 1 buffers, after the
 * first entry only).  The apply callback fires once the entry is applied locally; its
 * outcome is parked in a wait that the next tick delivers.  RAFT_LEADERSHIPLOST means the
 * outcome is unknown: the caller gets GW_ERR_NOT_LEADER (503) and retries with the same
 * request id, which meta deduplicates.
 *
 * On a follower, the command goes to the leader through the forwarder (forward.c); once the
 * leader reports the entry's index and outcome, the wait holds the completion until this
 * replica has applied that index (read-your-writes), or the forward timeout passes
 * (GW_ERR_SLOW_DOWN; the write is committed anyway and a retry is deduplicated).  With no
 * leader known, propose fails at once with GW_ERR_NOT_LEADER.
 *
 * The leader checks every command against the active feature level before raft_apply
 * (meta_cmd_level_check): GW_ERR_NOT_IMPLEMENTED for a type the cluster is not at yet. */
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "core.h"

/* A leader-side apply (for the proposer and for forwarded commands). */
struct apply_op {
    struct raft_apply req;
    struct repl_core *c;
    repl__propose_cb cb;
    void *arg;
};

/* A proposal through the meta_proposer interface. */
struct propose_op {
    struct repl__wait wait;
    struct repl_core *c;
    meta_propose_cb cb;
    void *arg;
    int result;
};

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct apply_op *op = req->data;

    if (status == 0) {
        op->cb(op->arg, GW_OK, (int)(uintptr_t)result, req->index);
    } else {
        op->cb(op->arg, repl__err_from_raft(status), GW_OK, req->index);
    }
    gw_free(op);
}

int repl__core_apply(struct repl_core *c, const void *cmd, size_t len, repl__propose_cb cb,
                     void *arg)
{
    struct raft_buffer buf;
    struct apply_op *op;
    int rv;

    if (c->is_closing) {
        return GW_ERR_CANCELED;
    }
    if (c->r == NULL || raft_state(c->r) != RAFT_LEADER) {
        return GW_ERR_NOT_LEADER;
    }
    /* Only the leader appends: a command above the cluster's active feature level never
     * reaches the log, whoever proposed it (an older replica could not apply it). */
    rv = meta_cmd_level_check(c->fsm.m, cmd, len);
    if (rv != 0) {
        return rv;
    }
    if (repl__entry_make(cmd, len, &buf) != 0) {
        return GW_ERR_NOMEM;
    }
    op = gw_calloc(1, sizeof *op);
    op->req.data = op;
    op->c = c;
    op->cb = cb;
    op->arg = arg;
    rv = raft_apply(c->r, &op->req, &buf, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf.base);
        gw_free(op);
        return repl__err_from_raft(rv);
    }
    return GW_OK;
}

static void propose_fire(struct repl__wait *w, int rv)
{
    struct propose_op *op = (struct propose_op *)w;

    op->cb(op->arg, rv, rv == GW_OK ? op->result : GW_OK);
    gw_free(op);
}

/* Leader path: the entry is applied here, so the wait is due at once. */
static void propose_applied_cb(void *arg, int rv, int result, uint64_t index)
{
    struct propose_op *op = arg;

    op->result = result;
    op->wait.rv = rv;
    op->wait.is_done = true;
    op->wait.index = index;
    repl__core_wait_add(op->c, &op->wait);
}

/* Follower path: the leader applied it; wait for this replica to reach @index. */
static void propose_forwarded_cb(void *arg, int rv, int result, uint64_t index)
{
    struct propose_op *op = arg;

    op->result = result;
    op->wait.rv = rv;
    op->wait.index = index;
    op->wait.deadline_ms = op->c->now_ms + op->c->forward_timeout_ms;
    repl__core_wait_add(op->c, &op->wait);
}

static int core_propose(struct meta_proposer *p, const struct gw_buf *cmd, meta_propose_cb cb,
                        void *arg)
{
    struct repl_core *c = p->data;
    struct propose_op *op;
    raft_id leader_id = 0;
    const char *leader_addr = NULL;
    int rv;

    if (c->is_closing) {
        return GW_ERR_CANCELED;
    }
    if (c->r == NULL) {
        return GW_ERR_NOT_LEADER;
    }
    op = gw_calloc(1, sizeof *op);
    op->c = c;
    op->cb = cb;
    op->arg = arg;
    op->wait.fire = propose_fire;
    if (raft_state(c->r) == RAFT_LEADER) {
        rv = repl__core_apply(c, cmd->data, cmd->len, propose_applied_cb, op);
    } else {
        raft_leader(c->r, &leader_id, &leader_addr);
        rv = GW_ERR_NOT_LEADER;
        if (leader_id != 0 && leader_id != c->r->id && c->fwd.propose != NULL) {
            rv = c->fwd.propose(c->fwd.data, leader_id, leader_addr, cmd->data, cmd->len,
                                propose_forwarded_cb, op);
        }
    }
    if (rv != 0) {
        gw_free(op);
    }
    return rv;
}

struct barrier_op {
    meta_propose_cb cb;
    void *arg;
};

static void barrier_done_cb(void *arg, int rv)
{
    struct barrier_op *op = arg;

    op->cb(op->arg, rv, GW_OK);
    gw_free(op);
}

static int core_barrier(struct meta_proposer *p, meta_propose_cb cb, void *arg)
{
    struct repl_core *c = p->data;
    struct barrier_op *op = gw_malloc(sizeof *op);
    int rv;

    op->cb = cb;
    op->arg = arg;
    rv = repl__core_read(c, barrier_done_cb, op);
    if (rv != 0) {
        gw_free(op);
    }
    return rv;
}

void repl__proposer_init(struct repl_core *c)
{
    c->proposer.propose = core_propose;
    c->proposer.barrier = core_barrier;
    c->proposer.data = c;
}
