/* Tests of node/cache/token: redirect tokens bound to one GET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "unigw/err.h"

#include "token.h"

#define NOW 1700000000u

static struct node_cache_token_key key_of(uint8_t fill)
{
    uint8_t cluster[32];
    struct node_cache_token_key k;

    memset(cluster, fill, sizeof cluster);
    node_cache_token_key_derive(&k, cluster, sizeof cluster);
    return k;
}

static struct node_cache_token_req req_of(const char *principal)
{
    struct node_cache_token_req r = {GW_STR("GET"), GW_STR("data"), GW_STR("train/0001.tar"),
                                     GW_STR("bytes=0-1023"), gw_str_c(principal)};

    return r;
}

static size_t make(const struct node_cache_token_key *k, const struct node_cache_token_req *r,
                   uint64_t expiry, char *out)
{
    size_t len = 0;

    assert_int_equal(node_cache_token_make(k, r, expiry, out, NODE_CACHE_TOKEN_CAP, &len), GW_OK);
    assert_int_equal(strlen(out), len);
    return len;
}

/* A token verifies for exactly the request it was made for, reports the
 * principal, and is URL-safe. */
static void round_trip(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_req r = req_of("alice");
    struct node_cache_token_req any = r;
    struct node_cache_token_claims cl;
    char tok[NODE_CACHE_TOKEN_CAP];
    size_t len = make(&k, &r, NOW + 30, tok);

    (void)state;
    assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     len);
    assert_true(len < 64); /* compact: 27 bytes for "alice" */
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &r, NOW, &cl), GW_OK);
    assert_string_equal(cl.principal, "alice");
    assert_int_equal(cl.expiry, NOW + 30);
    any.principal = GW_STR_NULL;
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &any, NOW + 30, &cl), GW_OK);
    assert_string_equal(cl.principal, "alice");
}

/* Another key, bucket, method, range or principal is refused. */
static void bound_to_request(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_req r = req_of("alice");
    struct node_cache_token_req x;
    char tok[NODE_CACHE_TOKEN_CAP];

    (void)state;
    make(&k, &r, NOW + 30, tok);
    x = r;
    x.key = GW_STR("train/0002.tar");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    x = r;
    x.bucket = GW_STR("other");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    x = r;
    x.method = GW_STR("PUT");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    x = r;
    x.range = GW_STR("bytes=0-");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    x = r;
    x.range = GW_STR("");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    x = r;
    x.principal = GW_STR("bob");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    x.principal = GW_STR(""); /* anonymous */
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    /* Fields are length-prefixed: moving bytes between bucket and key fails. */
    x = r;
    x.bucket = GW_STR("datatrain");
    x.key = GW_STR("/0001.tar");
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &x, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
}

/* Expiry: valid up to and including the expiry second, refused after. */
static void expires(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_req r = req_of("");
    char tok[NODE_CACHE_TOKEN_CAP];

    (void)state;
    make(&k, &r, NOW + 30, tok);
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &r, NOW + 30, NULL), GW_OK);
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &r, NOW + 31, NULL),
                     GW_ERR_EXPIRED);
}

/* Another cluster key (a restarted cluster with a new key) is refused. */
static void other_cluster(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_key k2 = key_of(2);
    struct node_cache_token_req r = req_of("alice");
    char tok[NODE_CACHE_TOKEN_CAP];

    (void)state;
    make(&k, &r, NOW + 30, tok);
    assert_int_equal(node_cache_token_verify(&k2, gw_str_c(tok), &r, NOW, NULL),
                     GW_ERR_BAD_SIGNATURE);
    assert_memory_not_equal(k.k, k2.k, sizeof k.k);
}

/* Editing the principal or expiry inside the token breaks the MAC. */
static void tampered(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_req r = req_of("alice");
    struct node_cache_token_req forged = req_of("alicf");
    char tok[NODE_CACHE_TOKEN_CAP];
    char tok2[NODE_CACHE_TOKEN_CAP];
    size_t len = make(&k, &r, NOW + 30, tok);

    (void)state;
    /* Same layout for "alicf": splice its principal into alice's MAC. */
    make(&k, &forged, NOW + 30, tok2);
    memcpy(tok2 + 8, tok + 8, len - 8);
    assert_int_not_equal(node_cache_token_verify(&k, gw_str_c(tok2), &forged, NOW, NULL), GW_OK);
    /* Flip each character in turn: never accepted. */
    for (size_t i = 0; i < len; i++) {
        char saved = tok[i];

        tok[i] = saved == 'A' ? 'B' : 'A';
        assert_int_not_equal(node_cache_token_verify(&k, gw_str_c(tok), &r, NOW, NULL), GW_OK);
        tok[i] = saved;
    }
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &r, NOW, NULL), GW_OK);
}

/* Malformed inputs: empty, bad alphabet, padding, wrong length, truncation,
 * trailing bytes, non-canonical last character, wrong version, too long. */
static void malformed(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_req r = req_of("alice");
    char tok[NODE_CACHE_TOKEN_CAP];
    char bad[2 * NODE_CACHE_TOKEN_CAP];
    size_t len = make(&k, &r, NOW + 30, tok);
    static const char *const junk[] = {"", "A", "AAAA", "////", "a+b=", "abc=", "A A A",
                                       "AQAAAAAAAAAAAAAAAAAAAAAAAAAA"};

    (void)state;
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        assert_int_equal(node_cache_token_verify(&k, gw_str_c(junk[i]), &r, NOW, NULL),
                         GW_ERR_AUTH_QUERY_MALFORMED);
    }
    assert_int_equal(node_cache_token_verify(&k, gw_str_make(tok, len - 1), &r, NOW, NULL) ==
                         GW_OK,
                     0);
    assert_int_equal(node_cache_token_verify(&k, gw_str_make(tok, len - 3), &r, NOW, NULL),
                     GW_ERR_AUTH_QUERY_MALFORMED);
    snprintf(bad, sizeof bad, "%sAAAA", tok);
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(bad), &r, NOW, NULL),
                     GW_ERR_AUTH_QUERY_MALFORMED);
    memset(bad, 'A', sizeof bad - 1);
    bad[sizeof bad - 1] = '\0';
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(bad), &r, NOW, NULL),
                     GW_ERR_AUTH_QUERY_MALFORMED);
    /* Version 2 (first byte 0x02 -> first character 'A', second 'g'..'v'). */
    memcpy(bad, tok, len + 1);
    {
        static const char alpha[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        bad[1] = alpha[(strchr(alpha, bad[1]) - alpha) + 16]; /* 0b01xxxx -> 0b10xxxx */
    }
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(bad), &r, NOW, NULL),
                     GW_ERR_AUTH_QUERY_MALFORMED);
}

/* make refuses what it cannot encode. */
static void make_limits(void **state)
{
    struct node_cache_token_key k = key_of(1);
    struct node_cache_token_req r = req_of("");
    char longp[NODE_CACHE_TOKEN_MAX_PRINCIPAL + 2];
    char tok[NODE_CACHE_TOKEN_CAP];
    size_t len;

    (void)state;
    memset(longp, 'u', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    r.principal = gw_str_c(longp);
    assert_int_equal(node_cache_token_make(&k, &r, NOW, tok, sizeof tok, &len), GW_ERR_INVALID);
    r.principal = gw_str_make(longp, NODE_CACHE_TOKEN_MAX_PRINCIPAL);
    assert_int_equal(node_cache_token_make(&k, &r, NOW, tok, sizeof tok, &len), GW_OK);
    assert_int_equal(len, NODE_CACHE_TOKEN_CAP - 2);
    assert_int_equal(node_cache_token_verify(&k, gw_str_c(tok), &r, NOW, NULL), GW_OK);
    assert_int_equal(node_cache_token_make(&k, &r, NOW, tok, len, &len), GW_ERR_INVALID);
    r.principal = GW_STR("a\0b");
    assert_int_equal(node_cache_token_make(&k, &r, NOW, tok, sizeof tok, &len), GW_ERR_INVALID);
    r.principal = GW_STR("");
    assert_int_equal(node_cache_token_make(&k, &r, (uint64_t)UINT32_MAX + 1, tok, sizeof tok,
                                           &len),
                     GW_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip), cmocka_unit_test(bound_to_request),
        cmocka_unit_test(expires),    cmocka_unit_test(other_cluster),
        cmocka_unit_test(tampered),   cmocka_unit_test(malformed),
        cmocka_unit_test(make_limits),
    };
    return cmocka_run_group_tests_name("node/cache/token", tests, NULL, NULL);
}
