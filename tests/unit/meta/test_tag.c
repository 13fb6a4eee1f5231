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

static int bucket_delete(struct mt *t, const char *bucket)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_bucket_delete(&b, &h, gw_str_c(bucket)), 0);
    result = mt_apply(t, &b); /* asserts that meta_apply itself succeeded */
    gw_buf_free(&b);
    return result;
}

static int btags_put(struct mt *t, const char *bucket, const char *tags)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_bucket_tags_put(&b, &h, gw_str_c(bucket), gw_str_c(tags)), 0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static bool has_tags(struct mt *t, const char *bucket, const char *key)
{
    struct gw_buf out = GW_BUF_INIT;
    int rv = key[0] == '\0'
                 ? meta_bucket_tags_get(t->m, gw_str_c(bucket), &out)
                 : meta_tags_get(t->m, gw_str_c(bucket), gw_str_c(key), GW_STR("o"), &out);

    gw_buf_free(&out);
    assert_true(rv == 0 || rv == GW_ERR_NO_SUCH_TAG_SET);
    return rv == 0;
}

/* The issue 7 sequence: DeleteBucket of a bucket whose tag records sit
 * anywhere in the tags db (alone, first, middle, last), with object tags,
 * its own tags or both.  The delete succeeds, drops exactly its tags, and
 * the name can be created again without tags. */
static void tag_bucket_delete_positions(void **state)
{
    static const char *const others[][2] = {
        {NULL, NULL}, /* alone in the db */
        {"z", NULL},  /* first */
        {"a", NULL},  /* last */
        {"a", "z"},   /* middle */
    };

    (void)state;
    for (size_t pos = 0; pos < 4; pos++) {
        for (int what = 1; what <= 3; what++) { /* bit 0: object tags, bit 1: bucket tags */
            struct mt t;

            mt_open(&t);
            assert_int_equal(mt_user(&t, "alice", false), 0);
            assert_int_equal(mt_bucket(&t, "m", "alice"), 0);
            for (int i = 0; i < 2; i++) {
                if (others[pos][i] != NULL) {
                    assert_int_equal(mt_bucket(&t, others[pos][i], "alice"), 0);
                    assert_int_equal(tags_put(&t, others[pos][i], GW_STR("k"), "o", "t"), 0);
                }
            }
            if (what & 1) {
                assert_int_equal(tags_put(&t, "m", GW_STR("a.txt"), "o", "k=v"), 0);
                assert_int_equal(tags_put(&t, "m", GW_STR("b.txt"), "o", "k=v"), 0);
            }
            if (what & 2) {
                assert_int_equal(btags_put(&t, "m", "team=x"), 0);
            }
            assert_int_equal(bucket_delete(&t, "m"), 0);
            assert_false(has_tags(&t, "m", "a.txt"));
            assert_false(has_tags(&t, "m", "b.txt"));
            assert_false(has_tags(&t, "m", ""));
            for (int i = 0; i < 2; i++) {
                if (others[pos][i] != NULL) {
                    assert_true(has_tags(&t, others[pos][i], "k"));
                }
            }
            assert_int_equal(mt_bucket(&t, "m", "alice"), 0);
            assert_false(has_tags(&t, "m", "a.txt"));
            assert_false(has_tags(&t, "m", ""));
            assert_int_equal(bucket_delete(&t, "m"), 0);
            mt_close(&t);
        }
    }
}

static int tags_drop(struct mt *t, const char *bucket, const char *key, const char *oid)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_tags_drop(&b, &h, gw_str_c(bucket), gw_str_c(key), gw_str_c(oid)),
                     0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

/* tags_drop removes the tags of the object that went, never a newer one's. */
static void tag_drop_by_object_id(void **state)
{
    struct gw_buf out = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), 0);
    assert_int_equal(mt_bucket(&t, "b", "alice"), 0);
    assert_int_equal(btags_put(&t, "b", "team=x"), 0);
    assert_int_equal(tags_put(&t, "b", GW_STR("k"), "new", "x=2"), 0);
    assert_int_equal(tags_drop(&t, "b", "k", "old"), 0); /* the replaced object's id */
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k"), GW_STR("new"), &out), 0);
    gw_buf_reset(&out);
    assert_int_equal(meta_tags_object_id(t.m, GW_STR("b"), GW_STR("k"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("new")));
    assert_int_equal(meta_tags_object_id(t.m, GW_STR("b"), GW_STR(""), &out),
                     GW_ERR_NO_SUCH_TAG_SET); /* the bucket's own record is not an object's */
    assert_int_equal(tags_drop(&t, "b", "k", "new"), 0);
    assert_int_equal(meta_tags_get(t.m, GW_STR("b"), GW_STR("k"), GW_STR("new"), &out),
                     GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(meta_tags_object_id(t.m, GW_STR("b"), GW_STR("k"), &out),
                     GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(tags_drop(&t, "b", "k", "new"), 0);  /* already gone */
    assert_int_equal(tags_drop(&t, "b", "", "x"), 0);     /* never the bucket's own tags */
    assert_int_equal(tags_delete(&t, "b", GW_STR("")), 0); /* nor through an empty key */
    assert_int_equal(tags_drop(&t, "gone", "k", "x"), 0); /* no bucket: nothing to drop */
    assert_true(has_tags(&t, "b", ""));
    gw_buf_free(&out);
    mt_close(&t);
}

/* The sweep's scan: object records only (not bucket tag sets), in batches
 * that resume where the last stopped, long keys with their full name. */
static void tag_scan_batches(void **state)
{
    char long_key[1025];
    struct meta_tag_ref *v = NULL;
    struct gw_buf next = GW_BUF_INIT, after = GW_BUF_INIT;
    size_t n = 0, total = 0;
    bool seen_long = false;
    struct mt t;

    (void)state;
    memset(long_key, 'k', 1024);
    long_key[1024] = '\0';
    mt_open(&t);
    assert_int_equal(meta_tags_scan(t.m, GW_STR_NULL, 10, &v, &n, &next), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(mt_bucket(&t, "b1", "alice"), GW_OK);
    assert_int_equal(mt_bucket(&t, "b2", "alice"), GW_OK);
    assert_int_equal(btags_put(&t, "b1", "team=x"), GW_OK);
    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(tags_put(&t, i < 3 ? "b1" : "b2", gw_str_c(key), "oid", "a=1"), GW_OK);
    }
    assert_int_equal(tags_put(&t, "b2", gw_str_c(long_key), "oid-long", "a=1"), GW_OK);
    do {
        assert_int_equal(meta_tags_scan(t.m, gw_buf_str(&after), 2, &v, &n, &next), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(v[i].key_len > 0);
            assert_true(strcmp(v[i].bucket, "b1") == 0 || strcmp(v[i].bucket, "b2") == 0);
            if (v[i].key_len == 1024) {
                seen_long = strcmp(v[i].key, long_key) == 0 &&
                            strcmp(v[i].object_id, "oid-long") == 0;
            } else {
                assert_string_equal(v[i].object_id, "oid");
            }
        }
        total += n;
        gw_free(v);
        gw_buf_reset(&after);
        gw_buf_append_str(&after, gw_buf_str(&next));
    } while (next.len > 0);
    assert_int_equal(total, 6);
    assert_true(seen_long);
    gw_buf_free(&next);
    gw_buf_free(&after);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tag_put_get_stale),
        cmocka_unit_test(tag_long_keys),
        cmocka_unit_test(tag_dropped_with_bucket),
        cmocka_unit_test(tag_bucket_delete_positions),
        cmocka_unit_test(tag_drop_by_object_id),
        cmocka_unit_test(tag_scan_batches),
    };
    return cmocka_run_group_tests_name("meta/tag", tests, NULL, NULL);
}
