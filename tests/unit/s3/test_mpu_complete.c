/* Unit tests for s3/mpu_complete.c: CompleteMultipartUpload driven through
 * every order of the events it can see (s3_fixture.h): the body, the claim,
 * finish and tag proposals, pool jobs, the keep-alive stream, the client
 * going away, the disk filling up, a refused proposal.  Every run gives
 * exactly one response and leaves no temp file.  A completed upload has
 * its object and no staged data; one that is not completed answered an
 * error and completes on a retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "s3_fixture.h"
#include "unigw/alloc.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/meta.h"

static const char part_body[] = "the only part of the upload";
static const char old_body[] = "the old object";

struct cmpl_case {
    const char *const *create_headers;
    const char *want_tag; /* the completed object's tag t; NULL: none */
    char key[64];
    char path[600];
    char upload_id[128];
    char dir[600];
    char target[256];
    char xml[512];
};

static void create_upload(struct fx *f, struct cmpl_case *cc)
{
    char target[128];
    struct fx_req r = {.method = "POST", .target = target, .headers = cc->create_headers};
    struct gw_buf body = GW_BUF_INIT;
    struct gw_str id;

    snprintf(target, sizeof target, "/b/%s?uploads", cc->key);
    assert_int_equal(fx_do(f, &r, &body), 200);
    id = fx_xml_elem(gw_buf_str(&body), "UploadId");
    assert_true(id.len > 0 && id.len < sizeof cc->upload_id);
    memcpy(cc->upload_id, id.p, id.len);
    cc->upload_id[id.len] = '\0';
    snprintf(cc->dir, sizeof cc->dir, "%s/.unigw/multipart/%s", fx_mount(f), cc->upload_id);
    gw_buf_free(&body);
}

static void upload_part(struct fx *f, struct cmpl_case *cc)
{
    char target[256];
    struct fx_req r = {.method = "PUT", .target = target, .body = part_body,
                       .body_len = strlen(part_body)};
    unsigned char md5[GW_MD5_LEN];
    char hex[2 * GW_MD5_LEN + 1];

    snprintf(target, sizeof target, "/b/%s?partNumber=1&uploadId=%s", cc->key, cc->upload_id);
    assert_int_equal(fx_do(f, &r, NULL), 200);
    gw_md5(part_body, strlen(part_body), md5);
    gw_hex_encode(md5, GW_MD5_LEN, hex);
    snprintf(cc->xml, sizeof cc->xml,
             "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"%s\"</ETag>"
             "</Part></CompleteMultipartUpload>",
             hex);
}

static void cmpl_prepare(struct fx *f, size_t run, void *arg, struct fx_req *out)
{
    struct cmpl_case *cc = arg;

    snprintf(cc->key, sizeof cc->key, "obj%zu", run);
    snprintf(cc->path, sizeof cc->path, "%s/b/%s", fx_mount(f), cc->key);
    fx_write_file(cc->path, old_body, strlen(old_body));
    assert_int_equal(fx_tag_put(f, cc->key, "old"), 200);
    create_upload(f, cc);
    upload_part(f, cc);
    snprintf(cc->target, sizeof cc->target, "/b/%s?uploadId=%s", cc->key, cc->upload_id);
    out->method = "POST";
    out->target = cc->target;
    out->body = cc->xml;
    out->body_len = strlen(cc->xml);
    out->piece = 40;
}

static bool is_completed(struct fx *f, const struct cmpl_case *cc)
{
    struct meta_upload u;

    assert_int_equal(meta_upload_get(fx_meta(f), GW_STR("b"), gw_str_c(cc->upload_id), &u, NULL),
                     GW_OK);
    return u.state == META_UPLOAD_COMPLETED;
}

static bool content_is(const struct cmpl_case *cc, const char *want)
{
    struct gw_buf got = GW_BUF_INIT;
    bool ok = fx_read_file(cc->path, &got) && got.len == strlen(want) &&
              memcmp(got.data, want, got.len) == 0;

    gw_buf_free(&got);
    return ok;
}

static bool has_result(struct gw_str body)
{
    return fx_xml_elem(body, "ETag").p != NULL && fx_xml_elem(body, "Code").p == NULL;
}

static void cmpl_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct cmpl_case *cc = arg;
    struct fx_req retry = {.method = "POST", .target = cc->target, .body = cc->xml,
                           .body_len = strlen(cc->xml)};
    struct gw_buf body = GW_BUF_INIT;
    struct stat st;

    if (is_completed(f, cc)) {
        assert_true(run->was_gone || (run->status == 200 && has_result(run->body)));
        assert_true(content_is(cc, part_body));
        assert_true(fx_tag_is(f, cc->key, cc->want_tag));
        assert_int_equal(stat(cc->dir, &st), -1); /* the staged data went */
        return;
    }
    assert_false(run->status == 200 && has_result(run->body));
    /* Refused before the publish: the old object with its tags; after it
     * (upload_finish refused): the new object with its own tags. */
    if (content_is(cc, old_body)) {
        assert_true(fx_tag_is(f, cc->key, "old"));
    } else {
        assert_true(content_is(cc, part_body));
        assert_true(fx_tag_is(f, cc->key, cc->want_tag));
    }
    /* An error leaves an upload that a retry completes. */
    assert_int_equal(fx_do(f, &retry, &body), 200);
    assert_true(has_result(gw_buf_str(&body)));
    assert_true(is_completed(f, cc));
    assert_true(content_is(cc, part_body));
    assert_true(fx_tag_is(f, cc->key, cc->want_tag));
    gw_buf_free(&body);
}

static void explore_complete(struct cmpl_case *cc, const char *name, unsigned faults)
{
    struct fx *f = fx_create(8, false);
    struct fx_scenario sc = {.name = name, .faults = faults, .prepare = cmpl_prepare,
                             .check = cmpl_check, .arg = cc};

    fx_explore(f, &sc);
    fx_destroy(f);
}

static void complete_client_gone(void **state)
{
    struct cmpl_case cc = {0};

    (void)state;
    explore_complete(&cc, "complete+gone", FX_F_GONE);
}

static void complete_disk_full(void **state)
{
    struct cmpl_case cc = {0};

    (void)state;
    explore_complete(&cc, "complete+full", FX_F_FULL);
}

static void complete_refused(void **state)
{
    struct cmpl_case cc = {0};

    (void)state;
    explore_complete(&cc, "complete+refused", FX_F_PROP_FAIL);
}

static void complete_tagged(void **state)
{
    static const char *const hdrs[] = {"x-amz-tagging", "t=mpu", NULL};
    struct cmpl_case cc = {.create_headers = hdrs, .want_tag = "mpu"};

    (void)state;
    explore_complete(&cc, "complete-tagged+refused+full", FX_F_PROP_FAIL | FX_F_FULL);
}

/* Parts another node acknowledged a moment ago, not yet applied on this
 * replica: Complete waits for the read barrier and finds them (it used to
 * answer InvalidPart, which no client retries). */
static void complete_sees_parts_of_other_nodes(void **state)
{
    struct fx *f = fx_create(1 << 20, true);
    struct cmpl_case cc = {0};
    size_t big_len = 5u << 20;
    char *big = gw_malloc(big_len);
    unsigned char md5[GW_MD5_LEN];
    char hex[2][2 * GW_MD5_LEN + 1];
    struct fx_req r = {.method = "POST", .target = cc.target, .body = cc.xml};
    struct gw_buf body = GW_BUF_INIT, got = GW_BUF_INIT;

    (void)state;
    memset(big, 'p', big_len);
    snprintf(cc.key, sizeof cc.key, "remote");
    snprintf(cc.path, sizeof cc.path, "%s/b/remote", fx_mount(f));
    create_upload(f, &cc);
    fx_remote_part(f, cc.upload_id, 1, big, big_len);
    fx_remote_part(f, cc.upload_id, 2, part_body, strlen(part_body));
    gw_md5(big, big_len, md5);
    gw_hex_encode(md5, GW_MD5_LEN, hex[0]);
    gw_md5(part_body, strlen(part_body), md5);
    gw_hex_encode(md5, GW_MD5_LEN, hex[1]);
    snprintf(cc.xml, sizeof cc.xml,
             "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
             "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>",
             hex[0], hex[1]);
    snprintf(cc.target, sizeof cc.target, "/b/remote?uploadId=%s", cc.upload_id);
    r.body_len = strlen(cc.xml);
    assert_int_equal(fx_do(f, &r, &body), 200);
    assert_true(has_result(gw_buf_str(&body)));
    assert_true(is_completed(f, &cc));
    assert_true(fx_read_file(cc.path, &got));
    assert_int_equal(got.len, big_len + strlen(part_body));
    assert_memory_equal(got.data + big_len, part_body, strlen(part_body));
    gw_buf_free(&got);
    gw_buf_free(&body);
    gw_free(big);
    fx_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(complete_client_gone),
        cmocka_unit_test(complete_disk_full),
        cmocka_unit_test(complete_refused),
        cmocka_unit_test(complete_tagged),
        cmocka_unit_test(complete_sees_parts_of_other_nodes),
    };
    fx_filter_from_env();
    return cmocka_run_group_tests_name("s3/mpu_complete", tests, NULL, NULL);
}
