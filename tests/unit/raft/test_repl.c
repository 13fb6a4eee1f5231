/* Three replicators on real sockets (127.0.0.1) in one process and one loop: bootstrap,
 * election, writes from the leader and forwarded from a follower, a read barrier, an
 * unauthenticated RPC frame refused, membership changes submitted on a follower and
 * forwarded to the leader (a fourth node joins as a voter and catches up, duplicate and
 * unknown ids, removal, leadership transfer), the leader closed and a new one elected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forward.h"
#include "loop.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/meta.h"
#include "unigw/repl.h"

#define N 3
#define N_ALL (N + 1) /* the fourth joins later */
#define RUN_MS 8000

static const uint8_t key[META_CLUSTER_KEY_LEN] = {9};
static const char secret[] = "0123456789abcdef-cluster-secret";

struct node {
    char *dir;
    struct meta *m;
    struct repl *r;
    bool is_closed;
};

struct done {
    bool is_done;
    int rv;
    int result;
};

static uv_loop_t loop;
static struct node nodes[N_ALL];
static struct repl_peer peers[N_ALL];

typedef bool (*pred_fn)(void *arg);

/* Run the loop until @pred holds or RUN_MS passed. */
static bool run_until(pred_fn pred, void *arg)
{
    uint64_t end;

    uv_update_time(&loop);
    end = uv_now(&loop) + RUN_MS;
    while (!pred(arg) && uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    return pred(arg);
}

static bool flag_set(void *arg)
{
    return ((struct done *)arg)->is_done;
}

static int leader_of(void)
{
    struct repl_status st;

    for (int i = 0; i < N; i++) {
        if (nodes[i].r != NULL && !nodes[i].is_closed) {
            repl_status_get(nodes[i].r, &st);
            if (st.state == REPL_STATE_LEADER && st.is_leader_ready) {
                return i;
            }
        }
    }
    return -1;
}

static bool has_leader(void *arg)
{
    (void)arg;
    return leader_of() >= 0;
}

/* Whether 127.0.0.1:@port can be bound now. */
static bool port_free(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0), rv;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    rv = bind(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    return rv == 0;
}

/* A run of 2 * N_ALL free ports below the kernel's ephemeral range (32768 and
 * up), where no outgoing connection of another test can be holding one;
 * found once, starting from a pid-derived offset so parallel runs spread. */
static unsigned base_port(void)
{
    static unsigned base;

    for (unsigned i = 0; base == 0 && i < 1200; i++) {
        unsigned cand = 20000 + ((unsigned)getpid() + i) % 1200 * 10;
        bool ok = true;
        for (unsigned p = 0; ok && p < 2 * N_ALL; p++) {
            ok = port_free(cand + p);
        }
        base = ok ? cand : 0;
    }
    assert_int_not_equal(base, 0);
    return base;
}

static void node_start(int i, bool is_joining)
{
    struct repl_config cfg = {0};
    char sub[512];

    nodes[i].dir = tl_tmpdir();
    snprintf(sub, sizeof sub, "%s/meta", nodes[i].dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(meta_open(sub, key, 0, &nodes[i].m), GW_OK);
    snprintf(sub, sizeof sub, "%s/raft", nodes[i].dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    cfg.id = (uint64_t)i + 1;
    cfg.dir = sub;
    cfg.raft_addr = peers[i].addr;
    cfg.peers = is_joining ? NULL : peers;
    cfg.n_peers = is_joining ? 0 : N;
    cfg.secret = secret;
    cfg.secret_len = sizeof secret - 1;
    cfg.election_timeout_ms = 300;
    cfg.heartbeat_timeout_ms = 50;
    cfg.forward_timeout_ms = 3000;
    assert_int_equal(repl_create(&loop, nodes[i].m, &cfg, &nodes[i].r), GW_OK);
    assert_int_equal(repl_start(nodes[i].r), GW_OK);
}

static void closed_cb(void *arg)
{
    ((struct node *)arg)->is_closed = true;
}

static bool node_closed(void *arg)
{
    return ((struct node *)arg)->is_closed;
}

static void node_close(int i)
{
    repl_close(nodes[i].r, closed_cb, &nodes[i]);
    assert_true(run_until(node_closed, &nodes[i]));
}

static void propose_cb(void *arg, int rv, int result)
{
    struct done *d = arg;

    d->is_done = true;
    d->rv = rv;
    d->result = result;
}

static void propose_user(int i, const char *name, uint8_t req_id, struct done *d)
{
    struct meta_cmd_hdr h;
    struct gw_buf b = {0};

    memset(&h, 0, sizeof h);
    memset(h.req_id, req_id, sizeof h.req_id);
    h.ts_ms = 1;
    memset(d, 0, sizeof *d);
    assert_int_equal(meta_cmd_user_create(&b, &h, gw_str_c(name), false), GW_OK);
    assert_int_equal(meta_propose(repl_proposer(nodes[i].r), &b, propose_cb, d), GW_OK);
    gw_buf_free(&b);
    assert_true(run_until(flag_set, d));
}

static bool has_user(int i, const char *name)
{
    struct meta_user u;

    return meta_user_get(nodes[i].m, gw_str_c(name), &u) == GW_OK;
}

static void read_cb(void *arg, int rv)
{
    struct done *d = arg;

    d->is_done = true;
    d->rv = rv;
}

/* A raw client whose frame is signed with the wrong secret: the server closes. */
struct raw {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    struct gw_buf frame;
    bool is_eof;
    size_t n_read;
};

static void raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
    static char slab[4096];

    (void)h;
    (void)n;
    *b = uv_buf_init(slab, sizeof slab);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct raw *w = s->data;

    (void)b;
    if (n < 0) {
        w->is_eof = true;
        uv_read_stop(s);
    } else {
        w->n_read += (size_t)n;
    }
}

static void raw_connected(uv_connect_t *c, int status)
{
    struct raw *w = c->data;
    uv_buf_t b = uv_buf_init(w->frame.data, (unsigned)w->frame.len);

    assert_int_equal(status, 0);
    uv_write(&w->wr, (uv_stream_t *)&w->tcp, &b, 1, NULL);
    uv_read_start((uv_stream_t *)&w->tcp, raw_alloc, raw_read);
}

static bool raw_done(void *arg)
{
    return ((struct raw *)arg)->is_eof;
}

static void bad_mac_refused(int leader)
{
    struct raw w = {0};
    struct repl__msg m = {.type = REPL_MSG_READ, .seq = 1};
    struct sockaddr_in sa;
    char rpc[REPL_ADDR_MAX];
    unsigned port = 0;

    assert_int_equal(repl_addr_rpc(peers[leader].addr, rpc), GW_OK);
    assert_int_equal(sscanf(rpc, "127.0.0.1:%u", &port), 1);
    repl__msg_encode(&w.frame, "wrong-secret-wrong-secret", 25, &m);
    uv_ip4_addr("127.0.0.1", (int)port, &sa);
    uv_tcp_init(&loop, &w.tcp);
    w.tcp.data = &w;
    w.conn.data = &w;
    assert_int_equal(uv_tcp_connect(&w.conn, &w.tcp, (struct sockaddr *)&sa, raw_connected), 0);
    assert_true(run_until(raw_done, &w));
    assert_int_equal(w.n_read, 0); /* closed without an answer */
    uv_close((uv_handle_t *)&w.tcp, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    gw_buf_free(&w.frame);
}

static void change_cb(void *arg, int rv)
{
    struct done *d = arg;

    d->is_done = true;
    d->rv = rv;
}

/* Submit a change on node @i and run until its outcome; returns the refusal or outcome. */
static int change_run(int i, enum repl_change_op op, uint64_t id, const char *addr, bool voter)
{
    struct repl_change ch = {.op = op, .id = id, .as_voter = voter};
    struct done d = {0};
    int rv;

    snprintf(ch.addr, sizeof ch.addr, "%s", addr != NULL ? addr : "");
    rv = repl_change_submit(nodes[i].r, &ch, change_cb, &d);
    if (rv != GW_OK) {
        assert_false(d.is_done); /* no callback after a refusal */
        return rv;
    }
    assert_true(run_until(flag_set, &d));
    return d.rv;
}

/* The role of member @id in node @i's configuration, or -1. */
static int role_of(int i, uint64_t id)
{
    struct repl_status st;

    repl_status_get(nodes[i].r, &st);
    for (size_t k = 0; k < st.n_members; k++) {
        if (st.members[k].id == id) {
            return (int)st.members[k].role;
        }
    }
    return -1;
}

static bool joiner_caught_up(void *arg)
{
    (void)arg;
    return has_user(N, "forwarded");
}

static bool follower_leads(void *arg)
{
    return leader_of() == *(int *)arg;
}

/* Membership from follower @f (leader @l): every change is forwarded over the RPC. */
static void membership(int l, int f)
{
    assert_int_equal(change_run(f, 9, 4, NULL, false), GW_ERR_INVALID);
    assert_int_equal(change_run(f, REPL_CHANGE_ADD, 4, "localhost:1", true), GW_ERR_INVALID);
    assert_int_equal(change_run(f, REPL_CHANGE_REMOVE, 0, NULL, false), GW_ERR_INVALID);
    node_start(N, true);
    assert_int_equal(change_run(f, REPL_CHANGE_ADD, 4, peers[N].addr, true), GW_OK);
    assert_int_equal(role_of(l, 4), REPL_ROLE_VOTER);
    assert_true(run_until(joiner_caught_up, NULL)); /* the new replica has the old writes */
    assert_int_equal(change_run(f, REPL_CHANGE_ADD, 4, peers[N].addr, true), GW_ERR_EXISTS);
    assert_int_equal(change_run(f, REPL_CHANGE_REMOVE, 99, NULL, false), GW_ERR_NOT_FOUND);
    assert_int_equal(change_run(f, REPL_CHANGE_REMOVE, 4, NULL, false), GW_OK);
    assert_int_equal(role_of(l, 4), -1);
    node_close(N);
    /* Hand leadership to the follower that asked. */
    assert_int_equal(change_run(f, REPL_CHANGE_TRANSFER, (uint64_t)f + 1, NULL, false), GW_OK);
    assert_true(run_until(follower_leads, &f));
}

static void three_nodes(void **state)
{
    struct done d, rd = {0};
    int l, f, nl;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (int i = 0; i < N_ALL; i++) {
        snprintf(peers[i].addr, sizeof peers[i].addr, "127.0.0.1:%u", base_port() + 2 * i);
        peers[i].id = (uint64_t)i + 1;
    }
    for (int i = 0; i < N; i++) {
        node_start(i, false);
    }
    assert_true(run_until(has_leader, NULL));
    l = leader_of();
    f = (l + 1) % N;
    propose_user(l, "on-leader", 1, &d);
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(d.result, GW_OK);
    propose_user(f, "forwarded", 2, &d); /* follower -> RPC -> leader */
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(d.result, GW_OK);
    assert_true(has_user(f, "forwarded")); /* read-your-writes on the follower */
    propose_user(f, "forwarded", 3, &d);
    assert_int_equal(d.result, GW_ERR_EXISTS);
    assert_int_equal(repl_read_barrier(nodes[(l + 2) % N].r, read_cb, &rd), GW_OK);
    assert_true(run_until(flag_set, &rd));
    assert_int_equal(rd.rv, GW_OK);
    assert_true(has_user((l + 2) % N, "forwarded"));
    bad_mac_refused(l);
    membership(l, f);
    l = leader_of();
    /* Kill the leader: the other two elect a new one and keep serving. */
    node_close(l);
    assert_true(run_until(has_leader, NULL));
    nl = leader_of();
    assert_int_not_equal(nl, l);
    propose_user((nl + 1) % N == l ? (nl + 2) % N : (nl + 1) % N, "after-failover", 4, &d);
    assert_int_equal(d.rv, GW_OK);
    assert_int_equal(d.result, GW_OK);
    for (int i = 0; i < N; i++) {
        if (!nodes[i].is_closed) {
            node_close(i);
        }
    }
    tl_loop_close(&loop);
    for (int i = 0; i < N_ALL; i++) {
        repl_destroy(nodes[i].r);
        meta_close(nodes[i].m);
        tl_rmrf(nodes[i].dir);
        free(nodes[i].dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(three_nodes)};

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("raft/repl", tests, NULL, NULL);
}
