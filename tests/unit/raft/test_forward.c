/* The RPC codec (frames, HMAC) and the peer list parser, with malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(tampering_refused),
        cmocka_unit_test(malformed),
        cmocka_unit_test(change_round_trip),
        cmocka_unit_test(change_malformed),
        cmocka_unit_test(peers),
    };

    return cmocka_run_group_tests_name("raft/forward", tests, NULL, NULL);
}
