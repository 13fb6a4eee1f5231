/* The RPC codec (frames, HMAC) and the peer list parser, with malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "forward.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/repl.h"

static const char key[] = "sixteen-byte-key-and-more";
#define KEY_LEN (sizeof key - 1)

static void round_trip(void **state)
{
    struct repl__msg in = {.type = REPL_MSG_PROPOSE_REPLY, .seq = 77, .status = REPL_ST_OK,
                           .index = 1234, .result = GW_ERR_EXISTS};
    struct repl__msg out;
    struct gw_buf b = {0};
    size_t used = 0;

    (void)state;
    repl__msg_encode(&b, key, KEY_LEN, &in);
    /* Every strict prefix is incomplete, never an error. */
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(repl__msg_decode(b.data, n, key, KEY_LEN, &out, &used), GW_ERR_AGAIN);
    }
    assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used), GW_OK);
    assert_int_equal(used, b.len);
    assert_int_equal(out.seq, 77);
    assert_int_equal(out.index, 1234);
    assert_int_equal(out.result, GW_ERR_EXISTS);
    gw_buf_reset(&b);
    in = (struct repl__msg){.type = REPL_MSG_PROPOSE, .seq = 1, .cmd = GW_STR("abc")};
    repl__msg_encode(&b, key, KEY_LEN, &in);
    assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used), GW_OK);
    assert_true(gw_str_eq(out.cmd, GW_STR("abc")));
    gw_buf_free(&b);
}

/* A wrong key, or any flipped byte, is refused. */
static void tampering_refused(void **state)
{
    struct repl__msg in = {.type = REPL_MSG_PROPOSE, .seq = 5, .cmd = GW_STR("payload")};
    struct repl__msg out;
    struct gw_buf b = {0};
    size_t used = 0;
    int rv;

    (void)state;
    repl__msg_encode(&b, key, KEY_LEN, &in);
    assert_int_equal(repl__msg_decode(b.data, b.len, "another-key-of-16+", 18, &out, &used),
                     GW_ERR_ACCESS_DENIED);
    for (size_t i = 4; i < b.len; i++) {
        b.data[i] ^= 0x01;
        rv = repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used);
        assert_int_equal(rv, GW_ERR_ACCESS_DENIED);
        b.data[i] ^= 0x01;
    }
    gw_buf_free(&b);
}

/* Authenticated but malformed bodies, and oversized lengths, are corrupt. */
static void malformed(void **state)
{
    struct repl__msg out;
    struct gw_buf b = {0};
    struct gw_buf frame = {0};
    size_t used = 0;
    unsigned char mac[32];
    static const unsigned char huge[4] = {0xff, 0xff, 0xff, 0x7f};
    const char *bodies[] = {"", "\x02\x01", "\x01\x09xxxxxxxx", "\x01\x01\x01\x00\x00\x00",
                            "\x01\x03\x01\x00\x00\x00\x00\x00\x00\x00trailing"};
    const size_t lens[] = {0, 2, 10, 6, 18};

    (void)state;
    assert_int_equal(repl__msg_decode(huge, 4, key, KEY_LEN, &out, &used), GW_ERR_CORRUPT);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned int mac_len = sizeof mac;

        gw_buf_reset(&frame);
        gw_buf_put_u32(&frame, (uint32_t)lens[i]);
        gw_buf_append(&frame, bodies[i], lens[i]);
        HMAC(EVP_sha256(), key, KEY_LEN, (unsigned char *)frame.data, frame.len, mac, &mac_len);
        gw_buf_append(&frame, mac, sizeof mac);
        assert_int_equal(repl__msg_decode(frame.data, frame.len, key, KEY_LEN, &out, &used),
                         GW_ERR_CORRUPT);
    }
    gw_buf_free(&frame);
    gw_buf_free(&b);
}

/* Frame @body (raw bytes) with a valid MAC and decode it. */
static int decode_body(const char *body, size_t len, struct repl__msg *out)
{
    struct gw_buf frame = {0};
    unsigned char mac[32];
    unsigned int mac_len = sizeof mac;
    size_t used = 0;
    int rv;

    gw_buf_put_u32(&frame, (uint32_t)len);
    gw_buf_append(&frame, body, len);
    HMAC(EVP_sha256(), key, KEY_LEN, (unsigned char *)frame.data, frame.len, mac, &mac_len);
    gw_buf_append(&frame, mac, sizeof mac);
    rv = repl__msg_decode(frame.data, frame.len, key, KEY_LEN, out, &used);
    gw_buf_free(&frame);
    return rv;
}

/* Forwarded membership changes and their replies. */
static void change_round_trip(void **state)
{
    struct repl__msg in = {.type = REPL_MSG_CHANGE, .seq = 9, .op = REPL_CHANGE_ADD, .id = 4,
                           .as_voter = true, .addr = GW_STR("10.0.0.4:9100")};
    struct repl__msg out;
    struct gw_buf b = {0};
    size_t used = 0;

    (void)state;
    repl__msg_encode(&b, key, KEY_LEN, &in);
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(repl__msg_decode(b.data, n, key, KEY_LEN, &out, &used), GW_ERR_AGAIN);
    }
    assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used), GW_OK);
    assert_int_equal(out.type, REPL_MSG_CHANGE);
    assert_int_equal(out.seq, 9);
    assert_int_equal(out.op, REPL_CHANGE_ADD);
    assert_int_equal(out.id, 4);
    assert_true(out.as_voter);
    assert_true(gw_str_eq(out.addr, GW_STR("10.0.0.4:9100")));
    gw_buf_reset(&b);
    in = (struct repl__msg){.type = REPL_MSG_CHANGE, .seq = 10, .op = REPL_CHANGE_TRANSFER};
    repl__msg_encode(&b, key, KEY_LEN, &in);
    assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used), GW_OK);
    assert_int_equal(out.op, REPL_CHANGE_TRANSFER);
    assert_int_equal(out.id, 0);
    assert_false(out.as_voter);
    assert_int_equal(out.addr.len, 0);
    /* The reply carries the outcome by name: every code survives, OK is "". */
    for (int rv = GW_OK; rv <= GW_ERR_NOT_LEADER; rv++) {
        gw_buf_reset(&b);
        in = (struct repl__msg){.type = REPL_MSG_CHANGE_REPLY, .seq = 11, .result = rv,
                                .status = repl__status_from_err(rv)};
        repl__msg_encode(&b, key, KEY_LEN, &in);
        assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used), GW_OK);
        assert_int_equal(out.type, REPL_MSG_CHANGE_REPLY);
        assert_int_equal(out.result, rv);
        assert_int_equal(out.status, repl__status_from_err(rv));
    }
    gw_buf_free(&b);
}

/* Bad ops, flags, address lengths and truncated fields are corrupt. */
static void change_malformed(void **state)
{
    struct repl__msg out;
    /* version 1, type 5, seq 1, then op, id (8), voter, addr length (4) and bytes */
#define HDR "\x01\x05\x01\x00\x00\x00\x00\x00\x00\x00"
#define ID "\x04\x00\x00\x00\x00\x00\x00\x00"
    static const struct {
        const char *body;
        size_t len;
    } bad[] = {
        {HDR "\x00" ID "\x01" "\x00\x00\x00\x00", 24},  /* op 0 */
        {HDR "\x04" ID "\x01" "\x00\x00\x00\x00", 24},  /* op 4 */
        {HDR "\x01" ID "\x02" "\x00\x00\x00\x00", 24},  /* voter 2 */
        {HDR "\x01" ID "\x01" "\x03\x00\x00\x00" "a\0b", 27}, /* NUL in the address */
        {HDR "\x01" ID "\x01" "\x18\x00\x00\x00" "123456789012345678901234", 48}, /* 24 */
        {HDR "\x01" ID "\x01" "\x05\x00\x00\x00" "abc", 27}, /* short address */
        {HDR "\x01" ID, 19},                                     /* no flag */
        {HDR "\x01" ID "\x01" "\x00\x00\x00\x00" "x", 25},  /* trailing byte */
        {"\x01\x06\x01\x00\x00\x00\x00\x00\x00\x00\x03", 11}, /* reply without name */
        {"\x01\x06\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00", 15}, /* status */
    };
#undef HDR
#undef ID

    (void)state;
    assert_int_equal(decode_body("\x01\x05\x01\x00\x00\x00\x00\x00\x00\x00\x02"
                                 "\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                                 24, &out),
                     GW_OK); /* the well-formed remove the bad ones are made from */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(decode_body(bad[i].body, bad[i].len, &out), GW_ERR_CORRUPT);
    }
}

static void peers(void **state)
{
    struct repl_peer *p = NULL;
    size_t n = 0;
    char rpc[REPL_ADDR_MAX];

    (void)state;
    assert_int_equal(repl_peers_parse(" 1=10.0.0.1:9100 , 2=10.0.0.2:9100,3=10.0.0.3:9100", &p,
                                      &n),
                     GW_OK);
    assert_int_equal(n, 3);
    assert_int_equal(p[1].id, 2);
    assert_string_equal(p[2].addr, "10.0.0.3:9100");
    gw_free(p);
    assert_int_equal(repl_peers_parse("", &p, &n), GW_OK);
    assert_int_equal(n, 0);
    assert_null(p);
    const char *bad[] = {"1", "=1.2.3.4:5", "0=1.2.3.4:5", "1=host:5", "1=1.2.3.4",
                         "1=1.2.3.256:5", "1=1.2.3.4:0", "1=1.2.3.4:70000", "1=1.2.3.4:5,",
                         "1=1.2.3.4:5,1=1.2.3.5:5", "1=1.2.3.4:5,2=1.2.3.4:5", "x=1.2.3.4:5",
                         "1=1.2.3.4:5x", "1 =1.2.3.4:5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(repl_peers_parse(bad[i], &p, &n), GW_ERR_INVALID);
        assert_null(p);
    }
    assert_int_equal(repl_addr_rpc("127.0.0.1:9100", rpc), GW_OK);
    assert_string_equal(rpc, "127.0.0.1:9101");
    assert_int_equal(repl_addr_rpc("127.0.0.1:65535", rpc), GW_ERR_INVALID);
    assert_int_equal(repl_addr_rpc("[::1]:5", rpc), GW_ERR_INVALID);
}

/* A version this node cannot read is reported as TOO_NEW with the header decoded and the
 * frame consumed (so the server can answer and go on); version 0 stays corrupt. */
static void version_too_new(void **state)
{
    struct repl__msg in = {.version = REPL_MSG_VERSION + 1, .type = REPL_MSG_PROPOSE,
                           .seq = 41, .cmd = GW_STR("future")};
    struct repl__msg out;
    struct gw_buf b = {0};
    size_t used = 0;

    (void)state;
    repl__msg_encode(&b, key, KEY_LEN, &in);
    assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used),
                     GW_ERR_TOO_NEW);
    assert_int_equal(used, b.len);
    assert_int_equal(out.seq, 41);
    assert_int_equal(out.type, REPL_MSG_PROPOSE);
    assert_int_equal(out.version, REPL_MSG_VERSION + 1);
    assert_int_equal(decode_body("\x00\x03\x01\x00\x00\x00\x00\x00\x00\x00", 10, &out),
                     GW_ERR_CORRUPT);
    gw_buf_reset(&b);
    in = (struct repl__msg){.version = REPL_MSG_VERSION_MIN, .type = REPL_MSG_VERSION_REPLY,
                            .seq = 41, .max_version = 1};
    repl__msg_encode(&b, key, KEY_LEN, &in);
    assert_int_equal(repl__msg_decode(b.data, b.len, key, KEY_LEN, &out, &used), GW_OK);
    assert_int_equal(out.type, REPL_MSG_VERSION_REPLY);
    assert_int_equal(out.max_version, 1);
    gw_buf_free(&b);
}

/* A forwarder listening on 127.0.0.1, over a core that refuses everything (closing), so
 * that a request that reaches the core gets a reply with status FAILED. */
struct srv {
    uv_loop_t loop;
    struct repl_core core;
    struct repl__fwd f;
    int port;
    bool is_closed;
};

static void srv_start(struct srv *s)
{
    char addr[REPL_ADDR_MAX];

    assert_int_equal(uv_loop_init(&s->loop), 0);
    repl__core_init(&s->core, NULL);
    s->core.is_closing = true;
    assert_int_equal(repl__fwd_init(&s->f, &s->loop, &s->core, key, KEY_LEN, 3000), GW_OK);
    for (int i = 0; i < 50; i++) {
        s->port = 20000 + (int)((getpid() * 7 + i * 131) % 30000);
        snprintf(addr, sizeof addr, "127.0.0.1:%d", s->port);
        if (repl__fwd_listen(&s->f, addr) == GW_OK) {
            return;
        }
    }
    fail_msg("no free port");
}

static void srv_closed_cb(struct repl__fwd *f)
{
    ((struct srv *)(void *)((char *)f - offsetof(struct srv, f)))->is_closed = true;
}

static void srv_stop(struct srv *s)
{
    repl__fwd_close(&s->f, srv_closed_cb);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    assert_true(s->is_closed);
    assert_int_equal(uv_loop_close(&s->loop), 0);
}

/* Run the loop until @fd has a whole frame (bounded), and decode it. */
static void srv_read_reply(struct srv *s, int fd, struct repl__msg *out, struct gw_buf *in)
{
    size_t used = 0;
    char buf[4096];

    for (int i = 0; i < 2000; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        uv_run(&s->loop, UV_RUN_NOWAIT);
        if (poll(&p, 1, 5) == 1) {
            n = recv(fd, buf, sizeof buf, 0);
            assert_true(n > 0); /* never a closed connection */
            gw_buf_append(in, buf, (size_t)n);
        }
        if (repl__msg_decode(in->data, in->len, key, KEY_LEN, out, &used) != GW_ERR_AGAIN) {
            assert_int_equal(repl__msg_decode(in->data, in->len, key, KEY_LEN, out, &used),
                             GW_OK);
            return; /* the views stay valid: @in is not consumed */
        }
    }
    fail_msg("no reply");
}

static void send_frame(int fd, const struct repl__msg *m)
{
    struct gw_buf b = {0};

    repl__msg_encode(&b, key, KEY_LEN, m);
    assert_int_equal(send(fd, b.data, b.len, 0), (ssize_t)b.len);
    gw_buf_free(&b);
}

/* The server answers a version-2 request with VERSION_REPLY carrying its max, and keeps
 * the connection: a version-1 request on it is served next. */
static void version_reply_from_server(void **state)
{
    struct repl__msg v2 = {.version = REPL_MSG_VERSION + 1, .type = REPL_MSG_PROPOSE,
                           .seq = 7, .cmd = GW_STR("cmd")};
    struct repl__msg v1 = {.type = REPL_MSG_READ, .seq = 8};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct gw_buf in = {0};
    struct repl__msg out;
    struct srv s;
    int fd;

    (void)state;
    srv_start(&s);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons((uint16_t)s.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    send_frame(fd, &v2);
    srv_read_reply(&s, fd, &out, &in);
    assert_int_equal(out.type, REPL_MSG_VERSION_REPLY);
    assert_int_equal(out.version, REPL_MSG_VERSION_MIN);
    assert_int_equal(out.seq, 7);
    assert_int_equal(out.max_version, REPL_MSG_VERSION);
    gw_buf_reset(&in);
    send_frame(fd, &v1);
    srv_read_reply(&s, fd, &out, &in);
    assert_int_equal(out.type, REPL_MSG_READ_REPLY);
    assert_int_equal(out.seq, 8);
    assert_int_equal(out.status, REPL_ST_FAILED); /* the core's answer (closing) */
    close(fd);
    gw_buf_free(&in);
    srv_stop(&s);
}

struct fwd_done {
    int n_calls;
    int rv;
};

static void fwd_done_cb(void *arg, int rv, int result, uint64_t index)
{
    struct fwd_done *d = arg;

    (void)result;
    (void)index;
    d->n_calls++;
    d->rv = rv;
}

/* A client that speaks a newer version than its peer reads gets VERSION_REPLY, lowers
 * the connection's version and resends: the request reaches the peer's core (its FAILED
 * status arrives as GW_ERR_INTERNAL; a dropped connection would be NOT_LEADER). */
static void version_client_downgrades(void **state)
{
    struct fwd_done d = {0};
    char raft_addr[REPL_ADDR_MAX];
    struct srv s;

    (void)state;
    srv_start(&s);
    s.f.version_max = REPL_MSG_VERSION + 1; /* plays a newer binary's client */
    snprintf(raft_addr, sizeof raft_addr, "127.0.0.1:%d", s.port - 1);
    assert_int_equal(s.core.fwd.propose(s.core.fwd.data, 1, raft_addr, "abc", 3, fwd_done_cb,
                                        &d),
                     GW_OK);
    for (int i = 0; i < 2000 && d.n_calls == 0; i++) {
        uv_run(&s.loop, UV_RUN_ONCE);
    }
    assert_int_equal(d.n_calls, 1);
    assert_int_equal(d.rv, GW_ERR_INTERNAL);
    assert_int_equal(repl__fwd_version(&s.f), REPL_MSG_VERSION);
    /* The next request starts at the lowered version. */
    assert_int_equal(s.core.fwd.propose(s.core.fwd.data, 1, raft_addr, "def", 3, fwd_done_cb,
                                        &d),
                     GW_OK);
    for (int i = 0; i < 2000 && d.n_calls == 1; i++) {
        uv_run(&s.loop, UV_RUN_ONCE);
    }
    assert_int_equal(d.n_calls, 2);
    assert_int_equal(d.rv, GW_ERR_INTERNAL);
    srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(tampering_refused),
        cmocka_unit_test(malformed),
        cmocka_unit_test(change_round_trip),
        cmocka_unit_test(change_malformed),
        cmocka_unit_test(peers),
        cmocka_unit_test(version_too_new),
        cmocka_unit_test(version_reply_from_server),
        cmocka_unit_test(version_client_downgrades),
    };

    return cmocka_run_group_tests_name("raft/forward", tests, NULL, NULL);
}
