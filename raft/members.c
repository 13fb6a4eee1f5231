/* Membership changes and leadership transfer, on the leader.
 *
 * add runs a small state machine, one libraft change at a time:
 *
 *     raft_add (spare) --> raft_assign STANDBY --> [as_voter] raft_assign VOTER --> done
 *
 * A standby receives the log (and a snapshot when it is too far behind) without voting;
 * promotion to voter runs libraft's catch-up rounds first and fails with RAFT_NOCONNECTION
 * (GW_ERR_AGAIN) when the node cannot catch up.  A step that fails ends the change; the node
 * stays in whatever role it reached and the admin may retry or remove it.
 *
 * The raft_change and raft_transfer requests are embedded in the core: one change at a time
 * is all libraft accepts anyway, and in 0.15 the transfer request may be touched after its
 * callback (canonical/raft#396), so it must outlive it.  Results reach the caller through a
 * wait fired on the next tick.
 *
 * repl__change_submit runs a change from any node: on a follower it goes to the leader
 * through the forwarder (forward.c, message CHANGE), which runs repl__change_local there. */
#include <stddef.h>

#include "unigw/err.h"
#include "unigw/log.h"

#include "core.h"

enum change_step { STEP_NONE, STEP_ADD, STEP_STANDBY, STEP_VOTER, STEP_REMOVE };

static void change_fire(struct repl__wait *w, int rv)
{
    struct repl_core *c = (struct repl_core *)((char *)w - offsetof(struct repl_core, change_wait));
    repl_change_cb cb = c->change_cb;

    c->is_change_busy = false;
    c->change_step = STEP_NONE;
    c->change_cb = NULL;
    cb(c->change_arg, rv);
}

static void change_finish(struct repl_core *c, int rv)
{
    c->change_wait.rv = rv;
    c->change_wait.is_done = true;
    c->change_wait.fire = change_fire;
    repl__core_wait_add(c, &c->change_wait);
}

static void change_cb(struct raft_change *req, int status)
{
    struct repl_core *c = req->data;
    int rv = status;

    if (status != 0) {
        GW_LOG(GW_LOG_WARN, "raft", "membership change of %llu failed: %s",
               (unsigned long long)c->change_id, raft_strerror(status));
        change_finish(c, repl__err_from_raft(status));
        return;
    }
    if (c->change_step == STEP_ADD) {
        c->change_step = STEP_STANDBY;
        rv = raft_assign(c->r, &c->change, c->change_id, RAFT_STANDBY, change_cb);
    } else if (c->change_step == STEP_STANDBY && c->is_change_to_voter) {
        c->change_step = STEP_VOTER;
        rv = raft_assign(c->r, &c->change, c->change_id, RAFT_VOTER, change_cb);
    } else {
        GW_LOG(GW_LOG_INFO, "raft", "membership change of %llu done",
               (unsigned long long)c->change_id);
        change_finish(c, GW_OK);
        return;
    }
    if (rv != 0) {
        change_finish(c, repl__err_from_raft(rv));
    }
}

static int change_begin(struct repl_core *c, uint64_t id, repl_change_cb cb, void *arg)
{
    if (c->is_closing) {
        return GW_ERR_CANCELED;
    }
    if (c->r == NULL || raft_state(c->r) != RAFT_LEADER) {
        return GW_ERR_NOT_LEADER;
    }
    if (c->is_change_busy || c->is_transfer_busy) {
        return GW_ERR_AGAIN;
    }
    if (id == 0) {
        return GW_ERR_INVALID;
    }
    c->change_id = id;
    c->change_cb = cb;
    c->change_arg = arg;
    c->change_wait = (struct repl__wait){0};
    return GW_OK;
}

int repl__member_add(struct repl_core *c, uint64_t id, const char *addr, bool as_voter,
                     repl_change_cb cb, void *arg)
{
    int rv = change_begin(c, id, cb, arg);

    if (rv != 0) {
        return rv;
    }
    c->is_change_to_voter = as_voter;
    c->change_step = STEP_ADD;
    rv = raft_add(c->r, &c->change, id, addr, change_cb);
    if (rv != 0) {
        c->change_step = STEP_NONE;
        return repl__err_from_raft(rv);
    }
    c->is_change_busy = true;
    return GW_OK;
}

int repl__member_remove(struct repl_core *c, uint64_t id, repl_change_cb cb, void *arg)
{
    int rv = change_begin(c, id, cb, arg);

    if (rv != 0) {
        return rv;
    }
    c->change_step = STEP_REMOVE;
    rv = raft_remove(c->r, &c->change, id, change_cb);
    if (rv != 0) {
        c->change_step = STEP_NONE;
        return repl__err_from_raft(rv);
    }
    c->is_change_busy = true;
    return GW_OK;
}

static void transfer_fire(struct repl__wait *w, int rv)
{
    struct repl_core *c = (struct repl_core *)((char *)w - offsetof(struct repl_core, change_wait));
    repl_change_cb cb = c->change_cb;

    c->is_transfer_busy = false;
    c->change_cb = NULL;
    cb(c->change_arg, rv);
}

static void transfer_cb(struct raft_transfer *req)
{
    struct repl_core *c = req->data;

    c->change_wait.rv = raft_state(c->r) == RAFT_LEADER ? GW_ERR_AGAIN : GW_OK;
    c->change_wait.is_done = true;
    c->change_wait.fire = transfer_fire;
    repl__core_wait_add(c, &c->change_wait);
}

int repl__leader_transfer(struct repl_core *c, uint64_t id, repl_change_cb cb, void *arg)
{
    int rv = change_begin(c, 1, cb, arg);

    if (rv != 0) {
        return rv;
    }
    c->change_id = id;
    rv = raft_transfer(c->r, &c->transfer, id, transfer_cb);
    if (rv != 0) {
        return repl__err_from_raft(rv);
    }
    c->is_transfer_busy = true;
    return GW_OK;
}

int repl__change_local(struct repl_core *c, const struct repl_change *ch, repl_change_cb cb,
                       void *arg)
{
    switch (ch->op) {
    case REPL_CHANGE_ADD:
        return repl__member_add(c, ch->id, ch->addr, ch->as_voter, cb, arg);
    case REPL_CHANGE_REMOVE:
        return repl__member_remove(c, ch->id, cb, arg);
    case REPL_CHANGE_TRANSFER:
        return repl__leader_transfer(c, ch->id, cb, arg);
    default:
        return GW_ERR_INVALID;
    }
}

/* On a follower the change goes to the leader, which runs repl__change_local and answers
 * with its outcome; with no leader known there is nobody to ask. */
int repl__change_submit(struct repl_core *c, const struct repl_change *ch, repl_change_cb cb,
                        void *arg)
{
    raft_id leader_id = 0;
    const char *leader_addr = NULL;

    if (c->is_closing) {
        return GW_ERR_CANCELED;
    }
    if (c->r == NULL || raft_state(c->r) == RAFT_LEADER) {
        return repl__change_local(c, ch, cb, arg);
    }
    raft_leader(c->r, &leader_id, &leader_addr);
    if (leader_id == 0 || leader_id == c->r->id || leader_addr == NULL ||
        c->fwd.change == NULL) {
        return GW_ERR_NOT_LEADER;
    }
    return c->fwd.change(c->fwd.data, leader_addr, ch, cb, arg);
}
