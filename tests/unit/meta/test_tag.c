/* Unit tests for meta/tag.c: tag sets, long (hashed) keys, staleness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meta_test.h"

static int tags_put(struct mt *t, const char *bucket, struct gw_str key, const char *oid,
                    const char *tags)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_tags_put(&b, &h, gw_str_c(bucket), key, gw_str_c(oid),
                                       gw_str_c(tags)),
                     0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int tags_delete(struct mt *t, const char *bucket, struct gw_str key)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_tags_delete(&b, &h, gw_str_c(bucket), key), 0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static void tag_put_get_stale(void **state)
{
    struct gw_buf out = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(tags_put(&t, "b", GW_STR("k"), "o1", "x=1"), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(tags_put(&t, "b", GW_STR(""), "o1", "x=1"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(tags_put(&t, "b", GW_STR("k"), "", "x=1"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(tags_put(&t, "b", GW_STR("k"), "o1", "x=1"), 0);
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k"), GW_STR("o1"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("x=1")));
    /* The object was replaced (new id): the old tags are stale. */
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k"), GW_STR("o2"), &out),
                     GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k2"), GW_STR("o1"), &out),
                     GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(tags_delete(&t, "b", GW_STR("k")), 0);
    assert_int_equal(tags_delete(&t, "b", GW_STR("k")), 0);
    assert_int_equal(tags_delete(&t, "nope", GW_STR("k")), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k"), GW_STR("o1"), &out),
                     GW_ERR_NO_SUCH_TAG_SET);
    gw_buf_free(&out);
    mt_close(&t);
}

/* 1,024-byte keys (hashed in LMDB) are stored, told apart and deleted. */
static void tag_long_keys(void **state)
{
    static char k1[META_OBJKEY_MAX], k2[META_OBJKEY_MAX];
    struct gw_buf out = GW_BUF_INIT;
    struct mt t;

    (void)state;
    memset(k1, 'a', sizeof k1);
    memset(k2, 'a', sizeof k2);
    k2[sizeof k2 - 1] = 'b';
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(tags_put(&t, "b", gw_str_make(k1, sizeof k1), "o", "one"), 0);
    assert_int_equal(tags_put(&t, "b", gw_str_make(k2, sizeof k2), "o", "two"), 0);
    assert_int_equal(
        meta_tags_get(t.m, GW_STR("b"), gw_str_make(k1, sizeof k1), GW_STR("o"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("one")));
    gw_buf_reset(&out);
    assert_int_equal(
        meta_tags_get(t.m, GW_STR("b"), gw_str_make(k2, sizeof k2), GW_STR("o"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("two")));
    assert_int_equal(tags_delete(&t, "b", gw_str_make(k1, sizeof k1)), 0);
    assert_int_equal(
        meta_tags_get(t.m, GW_STR("b"), gw_str_make(k1, sizeof k1), GW_STR("o"), &out),
        GW_ERR_NO_SUCH_TAG_SET);
    gw_buf_reset(&out);
    assert_int_equal(
        meta_tags_get(t.m, GW_STR("b"), gw_str_make(k2, sizeof k2), GW_STR("o"), &out), 0);
    gw_buf_free(&out);
    mt_close(&t);
}

/* Deleting a bucket drops its tags, and only its tags. */
static void tag_dropped_with_bucket(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT, out = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(mt_bucket(&t, "b2", "alice"), 0);
    assert_int_equal(tags_put(&t, "b", GW_STR("k"), "o", "t"), 0);
    assert_int_equal(tags_put(&t, "b2", GW_STR("k"), "o", "t2"), 0);
    assert_int_equal(meta_cmd_bucket_delete(&b, &h, GW_STR("b")), 0);
    assert_int_equal(mt_apply(&t, &b), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k"), GW_STR("o"), &out),
                     GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(meta_tags_get(t.m, GW_STR("b2"), GW_STR("k"), GW_STR("o"), &out), 0);
    gw_buf_free(&b);
    gw_buf_free(&out);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tag_put_get_stale),
        cmocka_unit_test(tag_long_keys),
        cmocka_unit_test(tag_dropped_with_bucket),
    };
    return cmocka_run_group_tests_name("meta/tag", tests, NULL, NULL);
}
