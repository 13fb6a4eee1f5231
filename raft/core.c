/* The replication core: Raft state poll, the post-election barrier, and the waits that
 * complete requests once the local replica has applied their index.
 *
 * libraft 0.15 has no state-change callback, so repl__core_tick() (called by the owner
 * every loop iteration) compares raft_state() and the term with what it saw last.  On
 * becoming leader it appends a barrier at once: 0.15 appends no no-op on election, so
 * without it entries of earlier terms may stay unapplied, and the barrier narrows the
 * window of 0.15's Figure-8 commit bug.  Read-index requests wait for that barrier
 * (is_leader_ready); proposals do not need to, the log orders them after it.
 *
 * Waits: each pending request is a struct repl__wait in one unordered list; the tick fires
 * those whose index has been applied, whose outcome is known (rv or is_done), or whose
 * deadline passed (GW_ERR_SLOW_DOWN).  Completions therefore never run inside a libraft
 * callback. */
#include <stdio.h>
#include <string.h>

#include "unigw/err.h"
#include "unigw/log.h"

#include "core.h"

int repl__err_from_raft(int rv)
{
    switch (rv) {
    case 0:
        return GW_OK;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST:
    case RAFT_SHUTDOWN:
        return GW_ERR_NOT_LEADER;
    case RAFT_NOMEM:
        return GW_ERR_NOMEM;
    case RAFT_CANTCHANGE:
    case RAFT_NOCONNECTION:
    case RAFT_BUSY:
        return GW_ERR_AGAIN;
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
    case RAFT_BADROLE:
        return GW_ERR_EXISTS;
    case RAFT_NOTFOUND:
    case RAFT_BADID:
        return GW_ERR_NOT_FOUND;
    case RAFT_IOERR:
    case RAFT_NOSPACE:
    case RAFT_CORRUPT:
        return GW_ERR_IO;
    default:
        return GW_ERR_INTERNAL;
    }
}

void repl__core_init(struct repl_core *c, struct meta *m)
{
    memset(c, 0, sizeof *c);
    repl__fsm_init(&c->fsm, m);
    c->forward_timeout_ms = 5000;
    c->last_state = RAFT_UNAVAILABLE;
    c->leader_barrier.data = c;
    c->read_barrier.data = c;
    c->change.data = c;
    c->transfer.data = c;
    repl__proposer_init(c);
}

void repl__core_attach(struct repl_core *c, struct raft *r)
{
    c->r = r;
    c->fsm.r = r;
}

int repl__entry_make(const void *cmd, size_t len, struct raft_buffer *out)
{
    size_t padded = 8 + ((len + 7) & ~(size_t)7);
    unsigned char *p = raft_malloc(padded);

    if (p == NULL) {
        return RAFT_NOMEM;
    }
    memset(p, 0, padded);
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    memcpy(p + 8, cmd, len);
    out->base = p;
    out->len = padded;
    return 0;
}

bool repl__entry_open(const struct raft_buffer *buf, const void **cmd, size_t *len)
{
    const unsigned char *p = buf->base;
    uint64_t n = 0;

    if (buf->len < 8 || buf->len % 8 != 0) {
        return false;
    }
    for (int i = 0; i < 8; i++) {
        n |= (uint64_t)p[i] << (8 * i);
    }
    if (n > buf->len - 8 || buf->len - 8 - n >= 8) {
        return false;
    }
    *cmd = p + 8;
    *len = (size_t)n;
    return true;
}

int repl__barrier(struct repl_core *c, struct raft_apply *req, raft_apply_cb cb)
{
    struct meta_cmd_hdr h;
    struct gw_buf cmd = GW_BUF_INIT;
    struct raft_buffer buf;
    int rv;

    memset(&h, 0, sizeof h); /* no request id: a barrier is never retried */
    if (meta_cmd_noop(&cmd, &h) != 0) {
        gw_buf_free(&cmd);
        return RAFT_NOMEM;
    }
    rv = repl__entry_make(cmd.data, cmd.len, &buf);
    gw_buf_free(&cmd);
    if (rv != 0) {
        return rv;
    }
    rv = raft_apply(c->r, req, &buf, 1, cb);
    if (rv != 0) {
        raft_free(buf.base);
    }
    return rv;
}

void repl__core_wait_add(struct repl_core *c, struct repl__wait *w)
{
    w->next = c->waits;
    c->waits = w;
}

static void leader_barrier_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct repl_core *c = req->data;

    c->is_leader_barrier_busy = false;
    if (status == 0 && raft_state(c->r) == RAFT_LEADER &&
        c->r->current_term == c->leader_barrier_term) {
        c->is_leader_ready = true;
        GW_LOG(GW_LOG_INFO, "raft", "leader ready at term %llu, index %llu",
               (unsigned long long)c->leader_barrier_term, (unsigned long long)req->index);
    }
}

static const char *state_name(int state)
{
    switch (state) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    default:
        return "unavailable";
    }
}

/* Watch for role and term changes; a fresh leader appends its barrier. */
static void state_poll(struct repl_core *c)
{
    int state = raft_state(c->r);
    uint64_t term = c->r->current_term;
    raft_id leader_id = 0;
    const char *leader_addr = NULL;
    int rv;

    if (state != c->last_state || term != c->last_term) {
        GW_LOG(GW_LOG_INFO, "raft", "state %s term %llu", state_name(state),
               (unsigned long long)term);
        c->is_leader_ready = false;
        if (c->last_state == RAFT_LEADER) {
            repl__read_fail(c, GW_ERR_NOT_LEADER);
        }
        c->last_state = state;
        c->last_term = term;
    }
    if (state == RAFT_LEADER && !c->is_leader_ready && !c->is_leader_barrier_busy &&
        !c->is_closing) {
        c->leader_barrier_term = term;
        rv = repl__barrier(c, &c->leader_barrier, leader_barrier_cb);
        c->is_leader_barrier_busy = rv == 0;
    }
    raft_leader(c->r, &leader_id, &leader_addr);
    if (leader_id != 0) {
        c->no_leader_since_ms = 0;
    } else if (c->no_leader_since_ms == 0) {
        c->no_leader_since_ms = c->now_ms != 0 ? c->now_ms : 1;
    }
}

/* Fire every wait that is due; waits added by the fired callbacks wait for the next tick. */
static void waits_run(struct repl_core *c)
{
    struct repl__wait *list = c->waits;
    uint64_t applied = raft_last_applied(c->r);
    struct repl__wait *w;

    c->waits = NULL;
    while ((w = list) != NULL) {
        list = w->next;
        w->next = NULL;
        if (w->is_done || w->rv != GW_OK) {
            w->fire(w, w->rv);
        } else if (applied >= w->index) {
            w->fire(w, GW_OK);
        } else if (w->deadline_ms != 0 && c->now_ms >= w->deadline_ms) {
            w->fire(w, GW_ERR_SLOW_DOWN);
        } else {
            repl__core_wait_add(c, w);
        }
    }
}

void repl__core_tick(struct repl_core *c)
{
    if (c->r == NULL) {
        return;
    }
    state_poll(c);
    repl__read_tick(c);
    waits_run(c);
    repl__register_tick(c);
}

void repl__core_close(struct repl_core *c)
{
    struct repl__wait *w;

    c->is_closing = true;
    repl__read_fail(c, GW_ERR_CANCELED);
    while ((w = c->waits) != NULL) {
        c->waits = w->next;
        w->next = NULL;
        w->fire(w, w->rv != GW_OK ? w->rv : GW_ERR_CANCELED);
    }
}

static void member_copy(struct repl_member *dst, const struct raft_server *s)
{
    dst->id = s->id;
    snprintf(dst->addr, sizeof dst->addr, "%s", s->address != NULL ? s->address : "");
    dst->role = (enum repl_role)s->role;
}

void repl__core_status(struct repl_core *c, struct repl_status *out)
{
    raft_id leader_id = 0;
    const char *leader_addr = NULL;
    const struct raft_configuration *conf = &c->r->configuration;

    memset(out, 0, sizeof *out);
    out->id = c->r->id;
    snprintf(out->addr, sizeof out->addr, "%s", c->r->address != NULL ? c->r->address : "");
    switch (raft_state(c->r)) {
    case RAFT_FOLLOWER:
        out->state = REPL_STATE_FOLLOWER;
        break;
    case RAFT_CANDIDATE:
        out->state = REPL_STATE_CANDIDATE;
        break;
    case RAFT_LEADER:
        out->state = REPL_STATE_LEADER;
        break;
    default:
        out->state = REPL_STATE_UNAVAILABLE;
    }
    out->is_leader_ready = c->is_leader_ready;
    raft_leader(c->r, &leader_id, &leader_addr);
    out->leader_id = leader_id;
    snprintf(out->leader_addr, sizeof out->leader_addr, "%s",
             leader_addr != NULL ? leader_addr : "");
    out->term = c->r->current_term;
    out->commit_index = c->r->commit_index;
    out->last_index = raft_last_index(c->r);
    out->applied_index = raft_last_applied(c->r);
    if (c->no_leader_since_ms != 0 && c->now_ms > c->no_leader_since_ms) {
        out->no_leader_ms = c->now_ms - c->no_leader_since_ms;
    }
    for (unsigned i = 0; i < conf->n && out->n_members < REPL_MEMBERS_MAX; i++) {
        member_copy(&out->members[out->n_members++], &conf->servers[i]);
    }
}
