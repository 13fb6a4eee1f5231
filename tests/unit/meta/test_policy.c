/* Unit tests for meta/policy.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meta_test.h"

static int policy_cmd(struct mt *t, const char *bucket, const char *doc)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    if (doc != NULL) {
        assert_int_equal(meta_cmd_policy_put(&b, &h, gw_str_c(bucket), gw_str_c(doc)), 0);
    } else {
        assert_int_equal(meta_cmd_policy_delete(&b, &h, gw_str_c(bucket)), 0);
    }
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static void policy_put_get_delete(void **state)
{
    struct gw_buf out = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(policy_cmd(&t, "b", "{}"), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b"), &out), GW_ERR_NO_SUCH_POLICY);
    assert_int_equal(policy_cmd(&t, "b", ""), GW_ERR_MALFORMED_POLICY);
    assert_int_equal(policy_cmd(&t, "b", "{\"Version\":\"2012-10-17\"}"), 0);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("{\"Version\":\"2012-10-17\"}")));
    assert_int_equal(policy_cmd(&t, "b", NULL), 0);
    assert_int_equal(policy_cmd(&t, "b", NULL), 0); /* idempotent */
    assert_int_equal(policy_cmd(&t, "nope", NULL), GW_ERR_NO_SUCH_BUCKET);
    gw_buf_reset(&out);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b"), &out), GW_ERR_NO_SUCH_POLICY);
    gw_buf_free(&out);
    mt_close(&t);
}

/* Deleting and recreating a bucket does not resurrect its policy. */
static void policy_dropped_with_bucket(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT, out = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(policy_cmd(&t, "b", "{}"), 0);
    assert_int_equal(meta_cmd_bucket_delete(&b, &h, GW_STR("b")), 0);
    assert_int_equal(mt_apply(&t, &b), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(meta_policy_get(t.m, GW_STR("b"), &out), GW_ERR_NO_SUCH_POLICY);
    gw_buf_free(&b);
    gw_buf_free(&out);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_put_get_delete),
        cmocka_unit_test(policy_dropped_with_bucket),
    };
    return cmocka_run_group_tests_name("meta/policy", tests, NULL, NULL);
}
