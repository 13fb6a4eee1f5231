/* Unit tests for meta/mpu.c and meta/bucket_tag.c: multipart upload state
 * (create, parts, claim, finish, abort), the ListMultipartUploads and
 * ListParts queries, and bucket tag sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "meta_test.h"

static const char md5a[] = "AAAAAAAAAAAAAAAA";

static int create(struct mt *t, const char *bucket, const char *key, const char *id)
{
    struct meta_cmd_hdr h = mt_hdr(0, 5000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    h.user = GW_STR("alice");
    assert_int_equal(meta_cmd_upload_create(&b, &h, gw_str_c(bucket), gw_str_c(key),
                                            gw_str_c(id), GW_STR("info")),
                     0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int part(struct mt *t, const char *id, uint32_t n, uint64_t size, const char *file)
{
    struct meta_cmd_hdr h = mt_hdr(0, 6000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_part_put(&b, &h, GW_STR("bk"), gw_str_c(id), n, size,
                                       GW_STR(md5a), GW_STR("ck"), gw_str_c(file)),
                     0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int claim(struct mt *t, const char *id, const char *digest)
{
    struct meta_cmd_hdr h = mt_hdr(0, 7000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_upload_claim(&b, &h, GW_STR("bk"), gw_str_c(id), gw_str_c(digest)),
                     0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int finish(struct mt *t, const char *id)
{
    struct meta_cmd_hdr h = mt_hdr(0, 8000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_upload_finish(&b, &h, GW_STR("bk"), gw_str_c(id),
                                            GW_STR("abcdef-2"), 99),
                     0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static int abort_upload(struct mt *t, const char *id)
{
    struct meta_cmd_hdr h = mt_hdr(0, 9000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_upload_abort(&b, &h, GW_STR("bk"), gw_str_c(id)), 0);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static size_t n_parts(struct mt *t, const char *id)
{
    struct meta_part *p = NULL;
    size_t n = 0;

    assert_int_equal(meta_part_list(t->m, GW_STR("bk"), gw_str_c(id), 0, 0, &p, &n), 0);
    gw_free(p);
    return n;
}

static int setup(void **state)
{
    struct mt *t = gw_calloc(1, sizeof *t);

    mt_open(t);
    assert_int_equal(mt_user(t, "alice", false), GW_OK);
    assert_int_equal(mt_bucket(t, "bk", "alice"), GW_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    mt_close(*state);
    gw_free(*state);
    return 0;
}

/* Create stores key, owner, time and info; a second create of the id conflicts. */
static void mpu_create_get(void **state)
{
    struct mt *t = *state;
    struct gw_buf info = GW_BUF_INIT;
    struct meta_upload u;

    assert_int_equal(create(t, "bk", "a/b.bin", "v1-one"), GW_OK);
    assert_int_equal(create(t, "bk", "other", "v1-one"), GW_ERR_CONDITIONAL_CONFLICT);
    assert_int_equal(create(t, "bk", "", "v1-two"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_upload_get(t->m, GW_STR("bk"), GW_STR("v1-one"), &u, &info), 0);
    assert_string_equal(u.key, "a/b.bin");
    assert_string_equal(u.owner, "alice");
    assert_string_equal(u.bucket, "bk");
    assert_int_equal(u.initiated_ms, 5000);
    assert_int_equal(u.state, META_UPLOAD_OPEN);
    assert_true(gw_str_eq(gw_buf_str(&info), GW_STR("info")));
    assert_int_equal(meta_upload_get(t->m, GW_STR("bk"), GW_STR("v1-nope"), &u, NULL),
                     GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(meta_upload_get(t->m, GW_STR("zz"), GW_STR("v1-one"), &u, NULL),
                     GW_ERR_NO_SUCH_UPLOAD);
    gw_buf_free(&info);
}

/* Parts: unknown upload, number limits, replacement, listing with a marker. */
static void mpu_parts(void **state)
{
    struct mt *t = *state;
    struct meta_part *p = NULL;
    size_t n = 0;

    assert_int_equal(part(t, "v1-none", 1, 10, "1-a"), GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(create(t, "bk", "k", "v1-p"), GW_OK);
    assert_int_equal(part(t, "v1-p", 0, 10, "0-a"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(part(t, "v1-p", 10001, 10, "x"), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(part(t, "v1-p", 10000, 10, "10000-a"), GW_OK);
    assert_int_equal(part(t, "v1-p", 2, 20, "2-a"), GW_OK);
    assert_int_equal(part(t, "v1-p", 1, 30, "1-a"), GW_OK);
    assert_int_equal(part(t, "v1-p", 2, 40, "2-b"), GW_OK); /* replaces */
    assert_int_equal(meta_part_list(t->m, GW_STR("bk"), GW_STR("v1-p"), 0, 0, &p, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(p[0].number, 1);
    assert_int_equal(p[1].number, 2);
    assert_int_equal(p[1].size, 40);
    assert_string_equal(p[1].file, "2-b");
    assert_memory_equal(p[1].md5, md5a, 16);
    assert_int_equal(p[1].cksum_len, 2);
    assert_int_equal(p[2].number, 10000);
    gw_free(p);
    assert_int_equal(meta_part_list(t->m, GW_STR("bk"), GW_STR("v1-p"), 1, 1, &p, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].number, 2);
    gw_free(p);
    assert_int_equal(meta_part_list(t->m, GW_STR("bk"), GW_STR("v1-p"), 10000, 0, &p, &n), 0);
    assert_int_equal(n, 0);
    assert_null(p);
}

/* One claim wins; the same part list claims again (a retry), another does not;
 * parts cannot be added while claimed; finish drops the parts and keeps the
 * answer for an idempotent retry. */
static void mpu_claim_finish(void **state)
{
    struct mt *t = *state;
    struct meta_upload u;

    assert_int_equal(claim(t, "v1-c", "d1"), GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(create(t, "bk", "k", "v1-c"), GW_OK);
    assert_int_equal(finish(t, "v1-c"), GW_ERR_NO_SUCH_UPLOAD); /* never claimed */
    assert_int_equal(part(t, "v1-c", 1, 10, "1-a"), GW_OK);
    assert_int_equal(claim(t, "v1-c", "d1"), GW_OK);
    assert_int_equal(claim(t, "v1-c", "d1"), GW_OK);
    assert_int_equal(claim(t, "v1-c", "d2"), GW_ERR_CONDITIONAL_CONFLICT);
    assert_int_equal(part(t, "v1-c", 2, 10, "2-a"), GW_ERR_CONDITIONAL_CONFLICT);
    assert_int_equal(finish(t, "v1-c"), GW_OK);
    assert_int_equal(n_parts(t, "v1-c"), 0);
    assert_int_equal(meta_upload_get(t->m, GW_STR("bk"), GW_STR("v1-c"), &u, NULL), 0);
    assert_int_equal(u.state, META_UPLOAD_COMPLETED);
    assert_string_equal(u.etag, "abcdef-2");
    assert_int_equal(u.size, 99);
    assert_int_equal(claim(t, "v1-c", "d1"), GW_OK);
    assert_int_equal(claim(t, "v1-c", "d2"), GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(finish(t, "v1-c"), GW_OK);
    assert_int_equal(part(t, "v1-c", 1, 10, "1-a"), GW_ERR_NO_SUCH_UPLOAD);
}

/* Abort drops the upload and its parts, once. */
static void mpu_abort(void **state)
{
    struct mt *t = *state;
    struct meta_upload u;

    assert_int_equal(create(t, "bk", "k", "v1-a"), GW_OK);
    assert_int_equal(part(t, "v1-a", 1, 10, "1-a"), GW_OK);
    assert_int_equal(part(t, "v1-a", 2, 10, "2-a"), GW_OK);
    assert_int_equal(abort_upload(t, "v1-a"), GW_OK);
    assert_int_equal(n_parts(t, "v1-a"), 0);
    assert_int_equal(meta_upload_get(t->m, GW_STR("bk"), GW_STR("v1-a"), &u, NULL),
                     GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(abort_upload(t, "v1-a"), GW_ERR_NO_SUCH_UPLOAD);
}

static size_t n_uploads(struct mt *t, const char *bucket)
{
    struct meta_upload *v = NULL;
    size_t n = 0;

    assert_int_equal(meta_upload_list(t->m, gw_str_c(bucket), GW_STR_NULL, GW_STR_NULL,
                                      GW_STR_NULL, 0, &v, &n),
                     0);
    gw_free(v);
    return n;
}

/* Deleting a bucket drops its uploads (open, claimed, completed) and their
 * parts, and only its own: a bucket created again under the name has none. */
static void mpu_dropped_with_bucket(void **state)
{
    struct mt *t = *state;
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct meta_part *p = NULL;
    size_t n = 0;

    assert_int_equal(mt_bucket(t, "zz", "alice"), GW_OK);
    assert_int_equal(create(t, "zz", "k", "v1-z"), GW_OK);
    assert_int_equal(create(t, "bk", "k", "v1-a"), GW_OK);
    assert_int_equal(create(t, "bk", "k", "v1-b"), GW_OK);
    assert_int_equal(create(t, "bk", "k2", "v1-c"), GW_OK);
    assert_int_equal(part(t, "v1-a", 1, 10, "1-a"), GW_OK);
    assert_int_equal(part(t, "v1-a", 2, 10, "2-a"), GW_OK);
    assert_int_equal(part(t, "v1-b", 1, 10, "1-b"), GW_OK);
    assert_int_equal(claim(t, "v1-b", "d"), GW_OK);
    assert_int_equal(part(t, "v1-c", 1, 10, "1-c"), GW_OK);
    assert_int_equal(claim(t, "v1-c", "d"), GW_OK);
    assert_int_equal(finish(t, "v1-c"), GW_OK);
    assert_int_equal(meta_cmd_bucket_delete(&b, &h, GW_STR("bk")), 0);
    assert_int_equal(mt_apply(t, &b), GW_OK);
    assert_int_equal(n_uploads(t, "bk"), 0);
    assert_int_equal(n_parts(t, "v1-a"), 0);
    assert_int_equal(n_parts(t, "v1-b"), 0);
    assert_int_equal(n_uploads(t, "zz"), 1);
    assert_int_equal(mt_bucket(t, "bk", "alice"), GW_OK);
    assert_int_equal(n_uploads(t, "bk"), 0);
    assert_int_equal(meta_part_list(t->m, GW_STR("bk"), GW_STR("v1-a"), 0, 0, &p, &n), 0);
    assert_int_equal(n, 0);
    gw_buf_free(&b);
}

/* Listing orders by key then id, filters by prefix, honours both markers. */
static void mpu_list(void **state)
{
    struct mt *t = *state;
    struct meta_upload *v = NULL;
    size_t n = 0;

    assert_int_equal(mt_bucket(t, "other", "alice"), GW_OK);
    assert_int_equal(create(t, "bk", "b", "v1-2"), GW_OK);
    assert_int_equal(create(t, "bk", "a", "v1-9"), GW_OK);
    assert_int_equal(create(t, "bk", "b", "v1-1"), GW_OK);
    assert_int_equal(create(t, "bk", "c/x", "v1-3"), GW_OK);
    assert_int_equal(create(t, "other", "a", "v1-4"), GW_OK);
    assert_int_equal(meta_upload_list(t->m, GW_STR("bk"), GW_STR(""), GW_STR(""), GW_STR(""), 0,
                                      &v, &n),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].key, "a");
    assert_string_equal(v[1].upload_id, "v1-1");
    assert_string_equal(v[2].upload_id, "v1-2");
    assert_string_equal(v[3].key, "c/x");
    gw_free(v);
    assert_int_equal(meta_upload_list(t->m, GW_STR("bk"), GW_STR(""), GW_STR("b"), GW_STR("v1-1"),
                                      0, &v, &n),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].upload_id, "v1-2");
    gw_free(v);
    assert_int_equal(meta_upload_list(t->m, GW_STR("bk"), GW_STR(""), GW_STR("b"), GW_STR(""), 0,
                                      &v, &n),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].key, "c/x");
    gw_free(v);
    assert_int_equal(meta_upload_list(t->m, GW_STR("bk"), GW_STR("c/"), GW_STR(""), GW_STR(""), 0,
                                      &v, &n),
                     0);
    assert_int_equal(n, 1);
    gw_free(v);
    assert_int_equal(meta_upload_list(t->m, GW_STR(""), GW_STR(""), GW_STR(""), GW_STR(""), 2,
                                      &v, &n),
                     0);
    assert_int_equal(n, 2); /* every bucket, limited */
    gw_free(v);
}

/* Uploads and parts survive a reopen (they are in LMDB, not in memory). */
static void mpu_survives_reopen(void **state)
{
    struct mt *t = *state;

    assert_int_equal(create(t, "bk", "k", "v1-r"), GW_OK);
    assert_int_equal(part(t, "v1-r", 3, 10, "3-a"), GW_OK);
    mt_reopen(t);
    assert_int_equal(n_parts(t, "v1-r"), 1);
    assert_int_equal(claim(t, "v1-r", "d"), GW_OK);
}

/* Bucket tags: put, get, replace, delete, no bucket; object tags unaffected. */
static void bucket_tags(void **state)
{
    struct mt *t = *state;
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT, out = GW_BUF_INIT;

    assert_int_equal(meta_bucket_tags_get(t->m, GW_STR("bk"), &out), GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(meta_cmd_bucket_tags_put(&b, &h, GW_STR("bk"), GW_STR("a=1")), 0);
    assert_int_equal(mt_apply(t, &b), GW_OK);
    assert_int_equal(meta_cmd_bucket_tags_put(&b, &h, GW_STR("bk"), GW_STR("a=2")), 0);
    assert_int_equal(mt_apply(t, &b), GW_OK);
    assert_int_equal(meta_cmd_bucket_tags_put(&b, &h, GW_STR("nope"), GW_STR("a=2")), 0);
    assert_int_equal(mt_apply(t, &b), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(meta_cmd_tags_put(&b, &h, GW_STR("bk"), GW_STR("obj"), GW_STR("id"),
                                       GW_STR("o=1")),
                     0);
    assert_int_equal(mt_apply(t, &b), GW_OK);
    assert_int_equal(meta_bucket_tags_get(t->m, GW_STR("bk"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("a=2")));
    assert_int_equal(meta_cmd_bucket_tags_delete(&b, &h, GW_STR("bk")), 0);
    assert_int_equal(mt_apply(t, &b), GW_OK);
    assert_int_equal(meta_cmd_bucket_tags_delete(&b, &h, GW_STR("bk")), 0);
    assert_int_equal(mt_apply(t, &b), GW_OK);
    gw_buf_reset(&out);
    assert_int_equal(meta_bucket_tags_get(t->m, GW_STR("bk"), &out), GW_ERR_NO_SUCH_TAG_SET);
    assert_int_equal(meta_tags_get(t->m, GW_STR("bk"), GW_STR("obj"), GW_STR("id"), &out), 0);
    assert_true(gw_str_eq(gw_buf_str(&out), GW_STR("o=1")));
    gw_buf_free(&b);
    gw_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mpu_create_get, setup, teardown),
        cmocka_unit_test_setup_teardown(mpu_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(mpu_claim_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(mpu_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(mpu_dropped_with_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(mpu_list, setup, teardown),
        cmocka_unit_test_setup_teardown(mpu_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_tags, setup, teardown),
    };
    return cmocka_run_group_tests_name("meta/mpu", tests, NULL, NULL);
}
