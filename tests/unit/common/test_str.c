/* Unit tests for common/str.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unigw/str.h"

static void url_decode_keeps_plus(void **state)
{
    char out[64];
    size_t n = 0;

    (void)state;
    assert_true(gw_url_decode(GW_STR("a+b%3Dc%20d"), out, &n, false));
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a+b=c d", 7);
    assert_true(gw_url_decode(GW_STR("a+b"), out, &n, true));
    assert_memory_equal(out, "a b", 3);
}

static void url_decode_rejects_truncated_escape(void **state)
{
    char out[64];
    size_t n = 0;

    (void)state;
    assert_false(gw_url_decode(GW_STR("abc%2"), out, &n, false));
    assert_false(gw_url_decode(GW_STR("%"), out, &n, false));
    assert_false(gw_url_decode(GW_STR("%zz"), out, &n, false));
}

static void url_encode_sigv4_rules(void **state)
{
    char out[64];

    (void)state;
    gw_url_encode(GW_STR("a b/c~d+e="), out, true);
    assert_string_equal(out, "a%20b/c~d%2Be%3D");
    gw_url_encode(GW_STR("a/b"), out, false);
    assert_string_equal(out, "a%2Fb");
}

static void base64_round_trip(void **state)
{
    char enc[32];
    unsigned char dec[32];
    size_t n = 0;

    (void)state;
    gw_base64_encode("hello world\n", 12, enc);
    assert_string_equal(enc, "aGVsbG8gd29ybGQK");
    assert_true(gw_base64_decode(gw_str_c(enc), dec, sizeof dec, &n));
    assert_int_equal(n, 12);
    gw_base64_encode("ab", 2, enc);
    assert_string_equal(enc, "YWI=");
    assert_true(gw_base64_decode(GW_STR("YWI="), dec, sizeof dec, &n));
    assert_int_equal(n, 2);
    assert_false(gw_base64_decode(GW_STR("YW=I"), dec, sizeof dec, &n));
    assert_false(gw_base64_decode(GW_STR("YWI"), dec, sizeof dec, &n));
    assert_false(gw_base64_decode(GW_STR("aGVsbG8gd29ybGQK"), dec, 4, &n));
}

static void to_u64_bounds(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_true(gw_str_to_u64(GW_STR("18446744073709551615"), &v));
    assert_true(v == UINT64_MAX);
    assert_false(gw_str_to_u64(GW_STR("18446744073709551616"), &v));
    assert_false(gw_str_to_u64(GW_STR("-1"), &v));
    assert_false(gw_str_to_u64(GW_STR(""), &v));
    assert_false(gw_str_to_u64(GW_STR("1 "), &v));
}

static void cmp_is_binary_order(void **state)
{
    (void)state;
    assert_true(gw_str_cmp(GW_STR("a-b"), GW_STR("a/x")) < 0);
    assert_true(gw_str_cmp(GW_STR("a"), GW_STR("a/")) < 0);
    assert_true(gw_str_cmp(GW_STR("\xc3\xa9"), GW_STR("z")) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_decode_keeps_plus), cmocka_unit_test(url_decode_rejects_truncated_escape),
        cmocka_unit_test(url_encode_sigv4_rules), cmocka_unit_test(base64_round_trip),
        cmocka_unit_test(to_u64_bounds),          cmocka_unit_test(cmp_is_binary_order),
    };
    return cmocka_run_group_tests_name("common/str", tests, NULL, NULL);
}
