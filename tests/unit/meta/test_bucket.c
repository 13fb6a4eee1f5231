/* Unit tests for meta/bucket.c: bucket commands and queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meta_test.h"

static int bucket_delete(struct mt *t, const char *name)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_bucket_delete(&b, &h, gw_str_c(name)), 0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int bucket_set_owner(struct mt *t, const char *name, const char *owner)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_bucket_set_owner(&b, &h, gw_str_c(name), gw_str_c(owner)), 0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static void bucket_create_and_get(void **state)
{
    struct meta_bucket bk;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_user(&t, "bob", false), 0);
    assert_int_equal(mt_bucket(&t, "photos", "alice"), GW_OK);
    assert_int_equal(mt_bucket(&t, "photos", "alice"), GW_ERR_BUCKET_OWNED_BY_YOU);
    assert_int_equal(mt_bucket(&t, "photos", "bob"), GW_ERR_BUCKET_EXISTS);
    assert_int_equal(mt_bucket(&t, "other", "ghost"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(mt_bucket(&t, "", "alice"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("photos"), &bk), 0);
    assert_string_equal(bk.name, "photos");
    assert_string_equal(bk.owner, "alice");
    assert_string_equal(bk.region, "us-east-1");
    assert_int_equal(bk.created_ms, 2000);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("other"), &bk), GW_ERR_NO_SUCH_BUCKET);
    mt_close(&t);
}

static void bucket_delete_missing(void **state)
{
    struct meta_bucket bk;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(bucket_delete(&t, "nope"), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(bucket_delete(&t, "b"), GW_OK);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("b"), &bk), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(bucket_delete(&t, "b"), GW_ERR_NO_SUCH_BUCKET);
    /* The name is free again, for anyone. */
    assert_int_equal(mt_user(&t, "bob", false), 0);
    assert_int_equal(mt_bucket(&t, "b", "bob"), GW_OK);
    mt_close(&t);
}

static void bucket_owner_change(void **state)
{
    struct meta_bucket bk;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_user(&t, "bob", false), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(bucket_set_owner(&t, "b", "bob"), GW_OK);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("b"), &bk), 0);
    assert_string_equal(bk.owner, "bob");
    assert_int_equal(bk.created_ms, 2000);
    assert_string_equal(bk.region, "us-east-1");
    assert_int_equal(bucket_set_owner(&t, "b", "ghost"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(bucket_set_owner(&t, "nope", "bob"), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(meta_bucket_get(t.m, GW_STR("b"), &bk), 0);
    assert_string_equal(bk.owner, "bob");
    mt_close(&t);
}

static void bucket_list_sorted_filtered(void **state)
{
    const char *names[] = {"zeta", "alpha", "mid", "beta"};
    struct meta_bucket *arr = NULL;
    size_t n = 0;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_user(&t, "bob", false), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(mt_bucket(&t, names[i], i % 2 ? "alice" : "bob"), 0);
    }
    assert_int_equal(meta_bucket_list(t.m, GW_STR_NULL, GW_STR_NULL, 100, &arr, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(arr[0].name, "alpha");
    assert_string_equal(arr[1].name, "beta");
    assert_string_equal(arr[2].name, "mid");
    assert_string_equal(arr[3].name, "zeta");
    gw_free(arr);
    assert_int_equal(meta_bucket_list(t.m, GW_STR("alice"), GW_STR_NULL, 100, &arr, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(arr[0].name, "alpha");
    assert_string_equal(arr[1].name, "beta");
    gw_free(arr);
    assert_int_equal(meta_bucket_list(t.m, GW_STR_NULL, GW_STR("beta"), 1, &arr, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(arr[0].name, "mid");
    gw_free(arr);
    assert_int_equal(meta_bucket_list(t.m, GW_STR("carol"), GW_STR_NULL, 10, &arr, &n), 0);
    assert_int_equal(n, 0);
    assert_null(arr);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_create_and_get),
        cmocka_unit_test(bucket_delete_missing),
        cmocka_unit_test(bucket_owner_change),
        cmocka_unit_test(bucket_list_sorted_filtered),
    };
    return cmocka_run_group_tests_name("meta/bucket", tests, NULL, NULL);
}
