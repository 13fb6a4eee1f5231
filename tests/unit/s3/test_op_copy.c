/* Unit tests for s3/op_copy.c: CopyObject driven through every order of the
 * events it can see (s3_fixture.h): pool jobs, the tag proposal, the client
 * going away, the disk filling up, a refused proposal.  Every run gives
 * exactly one response and leaves no temp file; an answer other than 200
 * leaves the destination's bytes and tags as they were (the copy's tags are
 * committed before it is published; a publish refused after that puts the
 * old tags back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "s3_fixture.h"
#include "unigw/alloc.h"
#include "unigw/err.h"

static const char src_body[] = "the source object's bytes";
static const char old_body[] = "the old destination";

struct copy_case {
    const char *const *headers;
    const char *want_tag;  /* the tag value a successful copy has */
    char key[64];
    char path[600];
    char target[128];
};

static void put_object(struct fx *f, const char *key, const char *body)
{
    char target[128];
    struct fx_req r = {.method = "PUT", .target = target, .body = body, .body_len = strlen(body)};

    snprintf(target, sizeof target, "/b/%s", key);
    assert_int_equal(fx_do(f, &r, NULL), 200);
}

static void copy_prepare(struct fx *f, size_t run, void *arg, struct fx_req *out)
{
    struct copy_case *cc = arg;

    snprintf(cc->key, sizeof cc->key, "dst%zu", run);
    snprintf(cc->path, sizeof cc->path, "%s/b/%s", fx_mount(f), cc->key);
    snprintf(cc->target, sizeof cc->target, "/b/%s", cc->key);
    put_object(f, cc->key, old_body);
    assert_int_equal(fx_tag_put(f, cc->key, "old"), 200);
    out->method = "PUT";
    out->target = cc->target;
    out->headers = cc->headers;
}

static void copy_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct copy_case *cc = arg;
    struct gw_buf got = GW_BUF_INIT;

    assert_true(fx_read_file(cc->path, &got));
    if (run->status == 200) {
        assert_int_equal(got.len, strlen(src_body));
        assert_memory_equal(got.data, src_body, got.len);
        assert_true(fx_tag_is(f, cc->key, cc->want_tag));
    } else {
        assert_int_equal(got.len, strlen(old_body));
        assert_memory_equal(got.data, old_body, got.len);
        assert_true(fx_tag_is(f, cc->key, "old"));
        if (!run->was_full && !run->was_gone) {
            assert_true(run->was_refused);
            assert_int_equal(run->status, 503);
        }
    }
    gw_buf_free(&got);
}

static void explore_copy(struct copy_case *cc, const char *name, unsigned faults)
{
    struct fx *f = fx_create(8, false);
    struct fx_scenario sc = {.name = name, .faults = faults, .prepare = copy_prepare,
                             .check = copy_check, .arg = cc};

    put_object(f, "src", src_body);
    assert_int_equal(fx_tag_put(f, "src", "src"), 200);
    fx_explore(f, &sc);
    fx_destroy(f);
}

/* The copy takes the source's tags (directive COPY). */
static void copy_with_source_tags(void **state)
{
    static const char *const hdrs[] = {"x-amz-copy-source", "/b/src", NULL};
    struct copy_case cc = {.headers = hdrs, .want_tag = "src"};

    (void)state;
    explore_copy(&cc, "copy+gone+full+refused", FX_F_GONE | FX_F_FULL | FX_F_PROP_FAIL);
}

/* x-amz-tagging-directive REPLACE with new tags and new metadata. */
static void copy_replace_tags(void **state)
{
    static const char *const hdrs[] = {"x-amz-copy-source", "/b/src",
                                       "x-amz-tagging-directive", "REPLACE",
                                       "x-amz-tagging", "t=new",
                                       "x-amz-metadata-directive", "REPLACE",
                                       "content-type", "text/plain", NULL};
    struct copy_case cc = {.headers = hdrs, .want_tag = "new"};

    (void)state;
    explore_copy(&cc, "copy-replace+full+refused", FX_F_FULL | FX_F_PROP_FAIL);
}

/* The destination exists and If-None-Match: * refuses the copy after its
 * tags were committed: 412, and the old tags are back. */
static void copy_refused_by_condition(void **state)
{
    static const char *const hdrs[] = {"x-amz-copy-source", "/b/src",
                                       "if-none-match", "*", NULL};
    struct fx *f = fx_create(8, false);
    struct fx_req r = {.method = "PUT", .target = "/b/dst", .headers = hdrs};

    (void)state;
    put_object(f, "src", src_body);
    assert_int_equal(fx_tag_put(f, "src", "src"), 200);
    put_object(f, "dst", old_body);
    assert_int_equal(fx_tag_put(f, "dst", "old"), 200);
    assert_int_equal(fx_do(f, &r, NULL), 412);
    assert_true(fx_tag_is(f, "dst", "old"));
    fx_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_with_source_tags),
        cmocka_unit_test(copy_replace_tags),
        cmocka_unit_test(copy_refused_by_condition),
    };
    fx_filter_from_env();
    return cmocka_run_group_tests_name("s3/op_copy", tests, NULL, NULL);
}
