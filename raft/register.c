/* Member registration: once a node sees a leader after it started, it records its version
 * string and supported feature levels in the replicated members db (member_register),
 * unless its record already says so; a failed proposal is retried a second later.  The
 * record changes when the node restarts on another binary. */
#include <string.h>
#include <time.h>

#include "unigw/err.h"
#include "unigw/log.h"

#include "core.h"

#define REGISTER_RETRY_MS 1000

void repl__register_init(struct repl_core *c, const char *version)
{
    size_t n = version != NULL ? strlen(version) : 0;

    if (n > META_VERSION_MAX) {
        n = META_VERSION_MAX;
    }
    memcpy(c->reg_version, version != NULL ? version : "", n);
    c->reg_version[n] = '\0';
}

/* Whether the local replica already holds this node's current record. */
static bool is_recorded(struct repl_core *c)
{
    struct meta_member mb;

    return meta_member_get(c->fsm.m, c->r->id, &mb) == GW_OK &&
           mb.min_level == META_LEVEL_MIN && mb.max_level == META_LEVEL_MAX &&
           strcmp(mb.version, c->reg_version) == 0;
}

static void registered_cb(void *arg, int rv, int result)
{
    struct repl_core *c = arg;

    c->is_reg_busy = false;
    if (rv == GW_OK && result == GW_OK) {
        c->is_registered = true;
        GW_LOG(GW_LOG_INFO, "raft", "msg=\"registered\" version=%s levels=%u-%u",
               c->reg_version, META_LEVEL_MIN, META_LEVEL_MAX);
        return;
    }
    c->reg_retry_ms = c->now_ms + REGISTER_RETRY_MS;
    if (rv != GW_ERR_CANCELED) {
        GW_LOG(GW_LOG_WARN, "raft", "msg=\"member registration failed; retrying\" err=%s",
               gw_err_name(rv != GW_OK ? rv : result));
    }
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int propose_register(struct repl_core *c)
{
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    int rv;

    rv = meta_cmd_hdr_init(&h, wall_ms(), GW_STR("")); /* the record's registered_ms */
    if (rv == 0) {
        rv = meta_cmd_member_register(&cmd, &h, c->r->id, META_LEVEL_MIN, META_LEVEL_MAX,
                                      gw_str_c(c->reg_version));
    }
    if (rv == 0) {
        rv = c->proposer.propose(&c->proposer, &cmd, registered_cb, c);
    }
    gw_buf_free(&cmd);
    return rv;
}

void repl__register_tick(struct repl_core *c)
{
    raft_id leader_id = 0;
    const char *leader_addr = NULL;

    if (c->reg_version[0] == '\0' || c->is_registered || c->is_reg_busy || c->is_closing ||
        c->now_ms < c->reg_retry_ms) {
        return;
    }
    raft_leader(c->r, &leader_id, &leader_addr);
    if (leader_id == 0 || (leader_id == c->r->id && !c->is_leader_ready)) {
        return; /* a fresh leader's store may lag until its barrier applied */
    }
    if (is_recorded(c)) {
        c->is_registered = true;
        return;
    }
    if (propose_register(c) == GW_OK) {
        c->is_reg_busy = true;
    } else {
        c->reg_retry_ms = c->now_ms + REGISTER_RETRY_MS;
    }
}
