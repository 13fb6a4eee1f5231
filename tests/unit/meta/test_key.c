/* Unit tests for meta/key.c: sealing, key commands, lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meta_test.h"

static const uint8_t nonce[META_NONCE_LEN] = {1, 2, 3};

static void key_seal_round_trip(void **state)
{
    struct gw_buf s = GW_BUF_INIT;
    char out[META_SECRET_MAX + 1];
    size_t n = 0;

    (void)state;
    assert_int_equal(meta_secret_seal(mt_key, GW_STR("wJalrXUtnFEMI"), nonce, &s), 0);
    assert_int_equal(s.len, META_NONCE_LEN + 13 + META_TAG_LEN);
    assert_memory_equal(s.data, nonce, META_NONCE_LEN);
    assert_memory_not_equal(s.data + META_NONCE_LEN, "wJalrXUtnFEMI", 13);
    assert_int_equal(meta_secret_unseal(mt_key, gw_buf_str(&s), out, sizeof out, &n), 0);
    assert_int_equal(n, 13);
    assert_string_equal(out, "wJalrXUtnFEMI");
    /* Too small an output buffer is refused up front. */
    assert_int_equal(meta_secret_unseal(mt_key, gw_buf_str(&s), out, 5, &n),
                     GW_ERR_INVALID_ARGUMENT);
    gw_buf_free(&s);
}

/* Wrong key, any flipped bit, or any truncation is CORRUPT, never garbage. */
static void key_unseal_rejects(void **state)
{
    uint8_t other[META_CLUSTER_KEY_LEN] = {42};
    struct gw_buf s = GW_BUF_INIT;
    char out[META_SECRET_MAX + 1];
    size_t n = 0;

    (void)state;
    assert_int_equal(meta_secret_seal(mt_key, GW_STR("secret"), nonce, &s), 0);
    assert_int_equal(meta_secret_unseal(other, gw_buf_str(&s), out, sizeof out, &n),
                     GW_ERR_CORRUPT);
    for (size_t i = 0; i < s.len; i++) {
        s.data[i] ^= 0x10;
        assert_int_equal(meta_secret_unseal(mt_key, gw_buf_str(&s), out, sizeof out, &n),
                         GW_ERR_CORRUPT);
        s.data[i] ^= 0x10;
    }
    for (size_t len = 0; len < s.len; len++) {
        assert_int_equal(meta_secret_unseal(mt_key, gw_str_make(s.data, len), out, sizeof out, &n),
                         GW_ERR_CORRUPT);
    }
    gw_buf_free(&s);
}

static void key_seal_limits(void **state)
{
    char big[META_SECRET_MAX + 1];
    struct gw_buf s = GW_BUF_INIT;

    (void)state;
    memset(big, 's', sizeof big);
    assert_int_equal(meta_secret_seal(mt_key, GW_STR(""), nonce, &s), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_secret_seal(mt_key, gw_str_make(big, sizeof big), nonce, &s),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(s.len, 0);
    assert_int_equal(meta_secret_seal(mt_key, gw_str_make(big, META_SECRET_MAX), nonce, &s), 0);
    assert_int_equal(s.len, META_SEALED_MAX);
    gw_buf_free(&s);
}

static void key_lookup_unseals(void **state)
{
    struct meta_key_info ki;
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", true), 0);
    assert_int_equal(mt_key_create(&t, "AKIAEXAMPLE", "alice", "topsecret"), 0);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AKIAEXAMPLE"), &ki), 0);
    assert_string_equal(ki.user, "alice");
    assert_string_equal(ki.secret, "topsecret");
    assert_int_equal(ki.secret_len, 9);
    assert_true(ki.is_admin);
    assert_false(ki.is_disabled);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AKIANOPE"), &ki), GW_ERR_INVALID_ACCESS_KEY);
    assert_int_equal(meta_key_lookup(t.m, GW_STR(""), &ki), GW_ERR_INVALID_ACCESS_KEY);

    /* A disabled user's key still resolves, flagged. */
    assert_int_equal(meta_cmd_user_set_disabled(&b, &h, GW_STR("alice"), true), 0);
    assert_int_equal(mt_apply(&t, &b), 0);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AKIAEXAMPLE"), &ki), 0);
    assert_true(ki.is_disabled);
    gw_buf_free(&b);
    mt_close(&t);
}

/* A node opened with another cluster key gets CORRUPT from lookup. */
static void key_lookup_wrong_cluster_key(void **state)
{
    uint8_t other[META_CLUSTER_KEY_LEN] = {99};
    struct meta_key_info ki;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_key_create(&t, "AK", "alice", "pw"), 0);
    meta_close(t.m);
    assert_int_equal(meta_open(t.dir, other, 0, &t.m), 0);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AK"), &ki), GW_ERR_CORRUPT);
    assert_int_equal(ki.secret_len, 0);
    mt_close(&t);
}

static void key_create_preconditions(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_key_create(&t, "AK", "ghost", "pw"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_key_create(&t, "AK", "alice", "pw"), 0);
    assert_int_equal(mt_key_create(&t, "AK", "alice", "pw2"), GW_ERR_EXISTS);
    assert_int_equal(mt_key_create(&t, "", "alice", "pw"), GW_ERR_INVALID_ARGUMENT);
    /* A sealed blob too short to hold nonce and tag. */
    assert_int_equal(meta_cmd_key_create(&b, &h, GW_STR("AK2"), GW_STR("alice"),
                                         GW_STR("short")),
                     0);
    assert_int_equal(mt_apply(&t, &b), GW_ERR_INVALID_ARGUMENT);
    gw_buf_free(&b);
    mt_close(&t);
}

static void key_delete_and_list(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    char(*keys)[META_NAME_MAX + 1] = NULL;
    struct meta_key_info ki;
    size_t n = 0;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_user(&t, "bob", false), 0);
    assert_int_equal(mt_key_create(&t, "K2", "alice", "a"), 0);
    assert_int_equal(mt_key_create(&t, "K1", "alice", "b"), 0);
    assert_int_equal(mt_key_create(&t, "K3", "bob", "c"), 0);
    assert_int_equal(meta_key_list(t.m, GW_STR("alice"), &keys, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], "K1");
    assert_string_equal(keys[1], "K2");
    gw_free(keys);
    assert_int_equal(meta_cmd_key_delete(&b, &h, GW_STR("K1")), 0);
    assert_int_equal(mt_apply(&t, &b), 0);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("K1"), &ki), GW_ERR_INVALID_ACCESS_KEY);
    assert_int_equal(meta_cmd_key_delete(&b, &h, GW_STR("K1")), 0);
    assert_int_equal(mt_apply(&t, &b), GW_ERR_NOT_FOUND);
    assert_int_equal(meta_key_list(t.m, GW_STR("carol"), &keys, &n), 0);
    assert_int_equal(n, 0);
    assert_null(keys);
    gw_buf_free(&b);
    mt_close(&t);
}

/* meta_key_seal uses the store's cluster key and a fresh nonce each time. */
static void key_seal_with_store_key(void **state)
{
    struct gw_buf a = GW_BUF_INIT, b = GW_BUF_INIT;
    char out[META_SECRET_MAX + 1];
    size_t n = 0;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(meta_key_seal(t.m, GW_STR("pw"), &a), 0);
    assert_int_equal(meta_key_seal(t.m, GW_STR("pw"), &b), 0);
    assert_memory_not_equal(a.data, b.data, META_NONCE_LEN);
    assert_int_equal(meta_secret_unseal(mt_key, gw_buf_str(&a), out, sizeof out, &n), 0);
    assert_string_equal(out, "pw");
    gw_buf_free(&a);
    gw_buf_free(&b);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_seal_round_trip),
        cmocka_unit_test(key_unseal_rejects),
        cmocka_unit_test(key_seal_limits),
        cmocka_unit_test(key_lookup_unseals),
        cmocka_unit_test(key_lookup_wrong_cluster_key),
        cmocka_unit_test(key_create_preconditions),
        cmocka_unit_test(key_delete_and_list),
        cmocka_unit_test(key_seal_with_store_key),
    };
    return cmocka_run_group_tests_name("meta/key", tests, NULL, NULL);
}
