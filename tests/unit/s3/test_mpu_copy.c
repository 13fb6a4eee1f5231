/* Unit tests for s3/mpu_copy.c: UploadPartCopy driven through every order of
 * the events it can see (s3_fixture.h): pool jobs, the part-record proposal,
 * the client going away, the disk filling up, a refused proposal.  Every run
 * gives exactly one response and leaves, in the upload's staged directory,
 * exactly one file per committed part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "s3_fixture.h"
#include "unigw/alloc.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/meta.h"

static const char src_body[] = "0123456789abcdefghijklmnopqrstuvwxyz";

struct pcopy_case {
    char upload_id[128];
    char dir[600];
    char target[256];
    const char *const *headers;
    size_t first, len; /* the bytes of the source the part holds */
};

static void create_upload(struct fx *f, struct pcopy_case *pc)
{
    struct fx_req put = {.method = "PUT", .target = "/b/src", .body = src_body,
                         .body_len = strlen(src_body)};
    struct fx_req r = {.method = "POST", .target = "/b/mp?uploads"};
    struct gw_buf body = GW_BUF_INIT;
    struct gw_str id;

    assert_int_equal(fx_do(f, &put, NULL), 200);
    assert_int_equal(fx_do(f, &r, &body), 200);
    id = fx_xml_elem(gw_buf_str(&body), "UploadId");
    assert_true(id.len > 0 && id.len < sizeof pc->upload_id);
    memcpy(pc->upload_id, id.p, id.len);
    pc->upload_id[id.len] = '\0';
    snprintf(pc->dir, sizeof pc->dir, "%s/.unigw/multipart/%s", fx_mount(f), pc->upload_id);
    gw_buf_free(&body);
}

static void pcopy_prepare(struct fx *f, size_t run, void *arg, struct fx_req *out)
{
    struct pcopy_case *pc = arg;

    (void)f;
    snprintf(pc->target, sizeof pc->target, "/b/mp?partNumber=%zu&uploadId=%s", run % 3 + 1,
             pc->upload_id);
    out->method = "PUT";
    out->target = pc->target;
    out->headers = pc->headers;
}

static void pcopy_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct pcopy_case *pc = arg;
    struct meta_part *parts = NULL;
    size_t n = 0;
    uint32_t number = (uint32_t)(run->index % 3 + 1);
    unsigned char md5[GW_MD5_LEN];
    bool found = false;

    assert_int_equal(meta_part_list(fx_meta(f), GW_STR("b"), gw_str_c(pc->upload_id), 0, 0,
                                    &parts, &n),
                     GW_OK);
    gw_md5(src_body + pc->first, pc->len, md5);
    for (size_t i = 0; i < n; i++) {
        found |= parts[i].number == number && memcmp(parts[i].md5, md5, GW_MD5_LEN) == 0;
    }
    if (run->status == 200) {
        assert_true(found);
        assert_true(run->was_gone || fx_xml_elem(run->body, "ETag").p != NULL);
    } else if (!run->was_gone && !run->was_full) {
        assert_true(run->was_refused);
        assert_int_equal(run->status, 503);
    }
    assert_int_equal(fx_count_files(pc->dir), n);
    gw_free(parts);
}

static void explore_pcopy(struct pcopy_case *pc, const char *name)
{
    struct fx *f = fx_create(8, false);
    struct fx_scenario sc = {.name = name, .faults = FX_F_GONE | FX_F_FULL | FX_F_PROP_FAIL,
                             .prepare = pcopy_prepare, .check = pcopy_check, .arg = pc};

    create_upload(f, pc);
    fx_explore(f, &sc);
    fx_destroy(f);
}

static void part_copy_whole(void **state)
{
    static const char *const hdrs[] = {"x-amz-copy-source", "/b/src", NULL};
    struct pcopy_case pc = {.headers = hdrs, .first = 0, .len = sizeof src_body - 1};

    (void)state;
    explore_pcopy(&pc, "part-copy+gone+full+refused");
}

static void part_copy_range(void **state)
{
    static const char *const hdrs[] = {"x-amz-copy-source", "/b/src",
                                       "x-amz-copy-source-range", "bytes=4-19", NULL};
    struct pcopy_case pc = {.headers = hdrs, .first = 4, .len = 16};

    (void)state;
    explore_pcopy(&pc, "part-copy-range+gone+full+refused");
}

/* A part another node committed a moment ago is replaced by UploadPartCopy
 * on this node: the read barrier first, so its file is known and goes
 * (without it the replaced file stayed staged until the upload ended). */
static void part_copy_replaces_part_of_other_node(void **state)
{
    static const char *const hdrs[] = {"x-amz-copy-source", "/b/src", NULL};
    struct fx *f = fx_create(8, true);
    struct pcopy_case pc = {0};
    struct fx_req r = {.method = "PUT", .target = pc.target, .headers = hdrs};
    struct meta_part *parts = NULL;
    size_t n = 0;

    (void)state;
    create_upload(f, &pc);
    fx_remote_part(f, pc.upload_id, 1, "remote bytes", 12);
    snprintf(pc.target, sizeof pc.target, "/b/mp?partNumber=1&uploadId=%s", pc.upload_id);
    assert_int_equal(fx_do(f, &r, NULL), 200);
    assert_int_equal(meta_part_list(fx_meta(f), GW_STR("b"), gw_str_c(pc.upload_id), 0, 0,
                                    &parts, &n),
                     GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(parts[0].size, strlen(src_body));
    assert_int_equal(fx_count_files(pc.dir), 1);
    gw_free(parts);
    fx_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(part_copy_whole),
        cmocka_unit_test(part_copy_range),
        cmocka_unit_test(part_copy_replaces_part_of_other_node),
    };
    fx_filter_from_env();
    return cmocka_run_group_tests_name("s3/mpu_copy", tests, NULL, NULL);
}
