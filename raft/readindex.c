/* Read index: a linearizable read barrier shared by the readers waiting at one moment.
 *
 * libraft 0.15 has no ReadIndex, so the leader confirms its leadership with a raft_barrier
 * (one replicated log entry).  At most one read barrier is in flight: readers that arrive
 * while it is go to the next batch, which gets the next barrier, so a barrier always
 * started after every reader of its batch arrived.  The leader serves reads only once its
 * post-election barrier has been applied (is_leader_ready).  dqlite's "barrier only if
 * last_applied < last_index" shortcut is deliberately not used: it is not linearizable
 * across leader changes.
 *
 * On a follower the forwarder asks the leader for such an index, then the reader waits
 * until this replica has applied it.  When the barrier fails or leadership is lost, the
 * batch fails with GW_ERR_NOT_LEADER. */
#include "unigw/alloc.h"
#include "unigw/err.h"

#include "core.h"

struct repl__reader {
    repl__index_cb cb;
    void *arg;
    struct repl__reader *next;
};

/* A reader of the public barrier (leader or follower). */
struct read_op {
    struct repl__wait wait;
    struct repl_core *c;
    repl_read_cb cb;
    void *arg;
};

static void batch_finish(struct repl__reader *list, int rv, uint64_t index)
{
    struct repl__reader *rd;

    while ((rd = list) != NULL) {
        list = rd->next;
        rd->cb(rd->arg, rv, index);
        gw_free(rd);
    }
}

static void read_barrier_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct repl_core *c = req->data;
    struct repl__reader *batch = c->read_cur;

    c->read_cur = NULL;
    c->is_read_busy = false;
    batch_finish(batch, repl__err_from_raft(status), req->index);
}

void repl__read_fail(struct repl_core *c, int rv)
{
    struct repl__reader *batch = c->read_next;

    c->read_next = NULL;
    batch_finish(batch, rv, 0);
}

/* Start the next batch's barrier when the leader is ready and none is in flight. */
void repl__read_tick(struct repl_core *c)
{
    int rv;

    if (c->read_next == NULL || c->is_read_busy || !c->is_leader_ready) {
        return;
    }
    c->read_cur = c->read_next;
    c->read_next = NULL;
    rv = repl__barrier(c, &c->read_barrier, read_barrier_cb);
    if (rv != 0) {
        struct repl__reader *batch = c->read_cur;

        c->read_cur = NULL;
        batch_finish(batch, repl__err_from_raft(rv), 0);
        return;
    }
    c->is_read_busy = true;
}

int repl__core_read_index(struct repl_core *c, repl__index_cb cb, void *arg)
{
    struct repl__reader *rd;

    if (c->is_closing) {
        return GW_ERR_CANCELED;
    }
    if (c->r == NULL || raft_state(c->r) != RAFT_LEADER) {
        return GW_ERR_NOT_LEADER;
    }
    rd = gw_calloc(1, sizeof *rd);
    rd->cb = cb;
    rd->arg = arg;
    rd->next = c->read_next;
    c->read_next = rd;
    return GW_OK;
}

static void read_fire(struct repl__wait *w, int rv)
{
    struct read_op *op = (struct read_op *)w;

    op->cb(op->arg, rv);
    gw_free(op);
}

static void read_index_cb(void *arg, int rv, uint64_t index)
{
    struct read_op *op = arg;

    op->wait.rv = rv;
    op->wait.index = index;
    op->wait.deadline_ms = op->c->now_ms + op->c->forward_timeout_ms;
    repl__core_wait_add(op->c, &op->wait);
}

int repl__core_read(struct repl_core *c, repl_read_cb cb, void *arg)
{
    struct read_op *op;
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
    op->wait.fire = read_fire;
    if (raft_state(c->r) == RAFT_LEADER) {
        rv = repl__core_read_index(c, read_index_cb, op);
    } else {
        raft_leader(c->r, &leader_id, &leader_addr);
        rv = GW_ERR_NOT_LEADER;
        if (leader_id != 0 && leader_id != c->r->id && c->fwd.read != NULL) {
            rv = c->fwd.read(c->fwd.data, leader_id, leader_addr, read_index_cb, op);
        }
    }
    if (rv != 0) {
        gw_free(op);
    }
    return rv;
}
