/* The replication core on libraft's raft_fixture: simulated time and network, real meta
 * stores (LMDB in one temp dir per server).  Deterministic: no sockets, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <raft/fixture.h>

#include "core.h"
#include "loop.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/meta.h"

#define FX_MAX 5
#define FX_STEPS 20000

static const uint8_t fx_key[META_CLUSTER_KEY_LEN] = {7, 7, 7};

struct fx {
    struct raft_fixture f;
    unsigned n;
    char *dirs[FX_MAX];
    struct meta *m[FX_MAX];
    struct repl_core c[FX_MAX];
};

/* A completion record for proposals, reads and changes. */
struct done {
    bool is_done;
    int rv;
    int result;
    uint64_t applied_at_cb; /* the proposer's replica applied index when the cb ran */
    struct repl_core *c;
};

static void server_add(struct fx *x)
{
    unsigned i = x->n++;

    x->dirs[i] = tl_tmpdir();
    assert_int_equal(meta_open(x->dirs[i], fx_key, 0, &x->m[i]), GW_OK);
    repl__core_init(&x->c[i], x->m[i]);
    assert_int_equal(raft_fixture_grow(&x->f, &x->c[i].fsm.base), 0);
    repl__core_attach(&x->c[i], raft_fixture_get(&x->f, i));
    raft_set_pre_vote(x->c[i].r, true);
}

static struct fx *fx_new(unsigned n)
{
    struct fx *x = gw_calloc(1, sizeof *x);
    struct raft_configuration conf;

    assert_int_equal(raft_fixture_initialize(&x->f), 0);
    for (unsigned i = 0; i < n; i++) {
        server_add(x);
    }
    assert_int_equal(raft_fixture_configuration(&x->f, n, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&x->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&x->f), 0);
    return x;
}

static void fx_free(struct fx *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        repl__core_close(&x->c[i]);
    }
    raft_fixture_close(&x->f);
    for (unsigned i = 0; i < x->n; i++) {
        repl__core_close(&x->c[i]); /* what raft_close failed */
        meta_close(x->m[i]);
        tl_rmrf(x->dirs[i]);
        free(x->dirs[i]);
    }
    gw_free(x);
}

static void fx_tick(struct fx *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        x->c[i].now_ms = raft_fixture_time(&x->f);
        repl__core_tick(&x->c[i]);
    }
}

static void fx_step(struct fx *x)
{
    raft_fixture_step(&x->f);
    fx_tick(x);
}

static bool fx_run_until(struct fx *x, const bool *flag)
{
    for (int i = 0; i < FX_STEPS && !*flag; i++) {
        fx_step(x);
    }
    return *flag;
}

static bool fx_run_ms(struct fx *x, unsigned ms)
{
    raft_time end = raft_fixture_time(&x->f) + ms;

    for (int i = 0; i < FX_STEPS && raft_fixture_time(&x->f) < end; i++) {
        fx_step(x);
    }
    return true;
}

/* Step until some server is a ready leader; its index. */
static unsigned fx_leader(struct fx *x)
{
    for (int step = 0; step < FX_STEPS; step++) {
        for (unsigned i = 0; i < x->n; i++) {
            if (x->c[i].is_leader_ready && raft_state(x->c[i].r) == RAFT_LEADER) {
                return i;
            }
        }
        fx_step(x);
    }
    fail_msg("no leader");
    return 0;
}

static void fx_until_applied(struct fx *x, unsigned i, uint64_t index)
{
    for (int step = 0; step < FX_STEPS && raft_last_applied(x->c[i].r) < index; step++) {
        fx_step(x);
    }
    assert_true(raft_last_applied(x->c[i].r) >= index);
}

static void user_cmd(struct gw_buf *b, const char *name, uint8_t req_id)
{
    struct meta_cmd_hdr h;

    memset(&h, 0, sizeof h);
    memset(h.req_id, req_id, sizeof h.req_id);
    h.ts_ms = 1000;
    h.user = GW_STR("admin");
    assert_int_equal(meta_cmd_user_create(b, &h, gw_str_c(name), false), GW_OK);
}

static void propose_cb(void *arg, int rv, int result)
{
    struct done *d = arg;

    d->is_done = true;
    d->rv = rv;
    d->result = result;
    if (d->c != NULL) {
        d->applied_at_cb = raft_last_applied(d->c->r);
    }
}

static int propose_user(struct repl_core *c, const char *name, uint8_t req_id, struct done *d)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    memset(d, 0, sizeof *d);
    d->c = c;
    user_cmd(&b, name, req_id);
    rv = meta_propose(&c->proposer, &b, propose_cb, d);
    gw_buf_free(&b);
    return rv;
}

static bool has_user(struct fx *x, unsigned i, const char *name)
{
    struct meta_user u;

    return meta_user_get(x->m[i], gw_str_c(name), &u) == GW_OK;
}

/* The test forwarder: hand the command to the leader's core (what forward.c does over
 * TCP). */
static int fwd_propose(void *data, uint64_t leader_id, const char *leader_addr, const void *cmd,
                       size_t len, repl__propose_cb cb, void *arg)
{
    struct fx *x = data;

    (void)leader_addr;
    return repl__core_apply(&x->c[leader_id - 1], cmd, len, cb, arg);
}

static int fwd_read(void *data, uint64_t leader_id, const char *leader_addr, repl__index_cb cb,
                    void *arg)
{
    struct fx *x = data;

    (void)leader_addr;
    return repl__core_read_index(&x->c[leader_id - 1], cb, arg);
}

static void fx_forwarders(struct fx *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        x->c[i].fwd = (struct repl__forwarder){fwd_propose, fwd_read, x, NULL};
    }
}

/* A leader is elected, barriers, and a command reaches every replica's store. */
static void elect_and_apply(void **state)
{
    struct fx *x = fx_new(3);
    unsigned l = fx_leader(x);
    struct done d;

    (void)state;
    assert_int_equal(propose_user(&x->c[l], "alpha", 1, &d), GW_OK);
    assert_false(d.is_done); /* never inside the call */
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(d.result, GW_OK);
    assert_true(has_user(x, l, "alpha"));
    /* A business failure is a result, not a replication error. */
    assert_int_equal(propose_user(&x->c[l], "alpha", 2, &d), GW_OK);
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(d.result, GW_ERR_EXISTS);
    for (unsigned i = 0; i < 3; i++) {
        fx_until_applied(x, i, raft_last_applied(x->c[l].r));
        assert_true(has_user(x, i, "alpha"));
    }
    fx_free(x);
}

/* A follower without a forwarder refuses; with one, it completes only once its own replica
 * holds the write. */
static void follower_forwards(void **state)
{
    struct fx *x = fx_new(3);
    unsigned l = fx_leader(x);
    unsigned f = (l + 1) % 3;
    struct done d;

    (void)state;
    assert_int_equal(propose_user(&x->c[f], "beta", 3, &d), GW_ERR_NOT_LEADER);
    fx_forwarders(x);
    assert_int_equal(propose_user(&x->c[f], "beta", 3, &d), GW_OK);
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(d.result, GW_OK);
    assert_true(has_user(x, f, "beta")); /* read-your-writes on the follower */
    fx_free(x);
}

/* The leader is cut off after its entry reached the followers: its proposer gets
 * NOT_LEADER; the retry with the same request id on the new leader is deduplicated (the
 * original outcome, not BUCKET_EXISTS). */
static void leader_lost_mid_apply(void **state)
{
    struct fx *x = fx_new(3);
    unsigned l = fx_leader(x);
    unsigned a = (l + 1) % 3, b = (l + 2) % 3;
    uint64_t index;
    struct done d, d2;
    unsigned nl;

    (void)state;
    assert_int_equal(propose_user(&x->c[l], "gamma", 9, &d), GW_OK);
    index = raft_last_index(x->c[l].r);
    for (int i = 0; i < FX_STEPS; i++) {
        if (raft_last_index(x->c[a].r) >= index && raft_last_index(x->c[b].r) >= index) {
            break;
        }
        fx_step(x);
    }
    assert_true(raft_last_index(x->c[a].r) >= index);
    raft_fixture_disconnect(&x->f, l, a);
    raft_fixture_disconnect(&x->f, a, l);
    raft_fixture_disconnect(&x->f, l, b);
    raft_fixture_disconnect(&x->f, b, l);
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_ERR_NOT_LEADER);
    nl = fx_leader(x);
    assert_int_not_equal(nl, l);
    assert_int_equal(propose_user(&x->c[nl], "gamma", 9, &d2), GW_OK);
    assert_true(fx_run_until(x, &d2.is_done));
    assert_int_equal(d2.rv, GW_OK);
    assert_int_equal(d2.result, GW_OK);
    /* The old leader rejoins and converges. */
    raft_fixture_reconnect(&x->f, l, a);
    raft_fixture_reconnect(&x->f, a, l);
    raft_fixture_reconnect(&x->f, l, b);
    raft_fixture_reconnect(&x->f, b, l);
    fx_until_applied(x, l, raft_last_applied(x->c[nl].r));
    assert_true(has_user(x, l, "gamma"));
    fx_free(x);
}

static void read_cb(void *arg, int rv)
{
    struct done *d = arg;

    d->is_done = true;
    d->rv = rv;
}

/* Concurrent readers share one barrier; a follower's read waits for its replica. */
static void read_barrier(void **state)
{
    struct fx *x = fx_new(3);
    unsigned l = fx_leader(x);
    unsigned f = (l + 1) % 3;
    struct done r1 = {0}, r2 = {0}, r3 = {0}, d;
    unsigned sent;

    (void)state;
    fx_forwarders(x);
    assert_int_equal(propose_user(&x->c[l], "delta", 4, &d), GW_OK);
    sent = raft_fixture_n_send(&x->f, l, RAFT_IO_APPEND_ENTRIES);
    (void)sent;
    assert_int_equal(repl__core_read(&x->c[l], read_cb, &r1), GW_OK);
    assert_int_equal(repl__core_read(&x->c[l], read_cb, &r2), GW_OK);
    assert_int_equal(repl__core_read(&x->c[f], read_cb, &r3), GW_OK);
    assert_true(fx_run_until(x, &r1.is_done));
    assert_true(fx_run_until(x, &r2.is_done));
    assert_true(fx_run_until(x, &r3.is_done));
    assert_int_equal(r1.rv, GW_OK);
    assert_int_equal(r2.rv, GW_OK);
    assert_int_equal(r3.rv, GW_OK);
    assert_true(has_user(x, f, "delta")); /* the write before the read is visible */
    /* Without a leader, reads fail at once. */
    x->c[f].fwd.read = NULL;
    assert_int_equal(repl__core_read(&x->c[f], read_cb, &r3), GW_ERR_NOT_LEADER);
    fx_free(x);
}

static void change_cb(void *arg, int rv)
{
    struct done *d = arg;

    d->is_done = true;
    d->rv = rv;
}

/* Write past the snapshot threshold, then add a fourth server: it catches up by snapshot
 * install, is promoted to voter, and holds every user; then another member is removed and
 * leadership is transferred. */
static void snapshot_install_and_membership(void **state)
{
    struct fx *x = fx_new(3);
    unsigned l = fx_leader(x);
    struct done d = {0};
    char name[32];

    (void)state;
    for (unsigned i = 0; i < 3; i++) {
        raft_set_snapshot_threshold(x->c[i].r, 8);
        raft_set_snapshot_trailing(x->c[i].r, 8);
    }
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "user-%02d", i);
        assert_int_equal(propose_user(&x->c[l], name, (uint8_t)(20 + i), &d), GW_OK);
        assert_true(fx_run_until(x, &d.is_done));
        assert_int_equal(d.result, GW_OK);
    }
    server_add(x);
    assert_int_equal(raft_start(x->c[3].r), 0);
    assert_int_equal(repl__member_add(&x->c[l], 4, "4", true, change_cb, &d), GW_OK);
    assert_int_equal(repl__member_add(&x->c[l], 5, "5", true, change_cb, &d), GW_ERR_AGAIN);
    d.is_done = false;
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_OK);
    assert_true(raft_fixture_n_recv(&x->f, 3, RAFT_IO_INSTALL_SNAPSHOT) > 0);
    fx_until_applied(x, 3, raft_last_applied(x->c[l].r));
    assert_true(has_user(x, 3, "user-00"));
    assert_true(has_user(x, 3, "user-29"));
    {
        struct repl_status st;

        repl__core_status(&x->c[l], &st);
        assert_int_equal(st.n_members, 4);
        assert_int_equal(st.members[3].id, 4);
        assert_int_equal(st.members[3].role, REPL_ROLE_VOTER);
        assert_int_equal(st.state, REPL_STATE_LEADER);
        assert_true(st.commit_index >= st.applied_index);
    }
    /* Remove a follower, then transfer leadership to the new member. */
    d.is_done = false;
    assert_int_equal(repl__member_remove(&x->c[l], ((l + 1) % 3) + 1, change_cb, &d), GW_OK);
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_OK);
    d.is_done = false;
    assert_int_equal(repl__leader_transfer(&x->c[(l + 1) % 3], 4, change_cb, &d),
                     GW_ERR_NOT_LEADER);
    assert_int_equal(repl__leader_transfer(&x->c[l], 4, change_cb, &d), GW_OK);
    assert_true(fx_run_until(x, &d.is_done));
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(fx_leader(x), 3);
    fx_run_ms(x, 100);
    fx_free(x);
}

/* The leader never appends a command above the active feature level (here: a type this
 * binary does not know), whether proposed on it or forwarded from a follower. */
static void leader_refuses_above_level(void **state)
{
    struct fx *x = fx_new(3);
    unsigned l = fx_leader(x);
    unsigned f = (l + 1) % 3;
    struct gw_buf b = GW_BUF_INIT;
    uint64_t last;
    struct done d;

    (void)state;
    fx_forwarders(x);
    user_cmd(&b, "future", 5);
    b.data[0] = META_CMD__MAX + 1;
    last = raft_last_index(x->c[l].r);
    memset(&d, 0, sizeof d);
    assert_int_equal(meta_propose(&x->c[l].proposer, &b, propose_cb, &d),
                     GW_ERR_NOT_IMPLEMENTED);
    assert_int_equal(meta_propose(&x->c[f].proposer, &b, propose_cb, &d),
                     GW_ERR_NOT_IMPLEMENTED);
    assert_int_equal(raft_last_index(x->c[l].r), last);
    assert_false(d.is_done);
    gw_buf_free(&b);
    fx_free(x);
}

static bool all_registered(struct fx *x, const char *version)
{
    struct meta_member mb;

    for (unsigned i = 0; i < x->n; i++) {
        for (uint64_t id = 1; id <= x->n; id++) {
            if (meta_member_get(x->m[i], id, &mb) != GW_OK || strcmp(mb.version, version) != 0 ||
                mb.min_level != META_LEVEL_MIN || mb.max_level != META_LEVEL_MAX) {
                return false;
            }
        }
    }
    return true;
}

/* Every node registers once it sees a leader, once; a node on another version (a restart
 * on a new binary) registers again. */
static void members_register(void **state)
{
    struct fx *x = fx_new(3);
    struct meta_member mb;
    bool ok = false;
    uint64_t last;
    unsigned l;

    (void)state;
    fx_forwarders(x);
    for (unsigned i = 0; i < 3; i++) {
        repl__register_init(&x->c[i], "1.0-test");
    }
    l = fx_leader(x);
    for (int i = 0; i < FX_STEPS && !ok; i++) {
        fx_step(x);
        ok = all_registered(x, "1.0-test");
    }
    assert_true(ok);
    fx_run_ms(x, 3000);
    last = raft_last_index(x->c[l].r);
    fx_run_ms(x, 3000);
    assert_int_equal(raft_last_index(x->c[l].r), last); /* nothing more is proposed */
    for (unsigned i = 0; i < 3; i++) {
        assert_true(x->c[i].is_registered);
        x->c[i].is_registered = false; /* as after a restart */
        repl__register_init(&x->c[i], i == 0 ? "2.0-test" : "1.0-test");
    }
    fx_run_ms(x, 3000);
    assert_true(raft_last_index(x->c[l].r) > last); /* node 0 registered again */
    fx_until_applied(x, l, raft_last_index(x->c[l].r));
    assert_int_equal(meta_member_get(x->m[l], x->c[0].r->id, &mb), GW_OK);
    assert_string_equal(mb.version, "2.0-test");
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elect_and_apply),
        cmocka_unit_test(follower_forwards),
        cmocka_unit_test(leader_lost_mid_apply),
        cmocka_unit_test(read_barrier),
        cmocka_unit_test(snapshot_install_and_membership),
        cmocka_unit_test(leader_refuses_above_level),
        cmocka_unit_test(members_register),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("raft/core", tests, NULL, NULL);
}
