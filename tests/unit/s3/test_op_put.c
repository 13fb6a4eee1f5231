/* Unit tests for s3/op_put.c: PutObject and UploadPart driven through every
 * order of the events they can see (s3_fixture.h): the client's body pieces,
 * late body-ready callbacks, pool jobs completing in any order, the client
 * going away, the disk filling up, a digest mismatch, a refused proposal.
 * Every run must give exactly one response, leave no temp file, and leave
 * the old object as it was unless the answer is 200. */
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

#define PIECE 8
static const char body24[] = "0123456789abcdefghijklmn"; /* three pieces, three write jobs */
static const char old_body[] = "the old object";

struct put_case {
    const char *body;
    size_t body_len;
    const char *const *headers;
    const char *payload_hash;
    int fail_status;  /* what a refused PUT answers when nothing else went wrong */
    size_t piece;     /* bytes per client send; 0: PIECE */
    char key[64];
    char path[600];
};

static void key_for_run(struct fx *f, struct put_case *pc, size_t run)
{
    snprintf(pc->key, sizeof pc->key, "k%zu", run);
    snprintf(pc->path, sizeof pc->path, "%s/b/%s", fx_mount(f), pc->key);
}

static void put_prepare(struct fx *f, size_t run, void *arg, struct fx_req *out)
{
    struct put_case *pc = arg;
    static char target[128];

    key_for_run(f, pc, run);
    fx_write_file(pc->path, old_body, strlen(old_body)); /* an object written through POSIX */
    snprintf(target, sizeof target, "/b/%s", pc->key);
    out->method = "PUT";
    out->target = target;
    out->headers = pc->headers;
    out->body = pc->body;
    out->body_len = pc->body_len;
    out->piece = pc->piece != 0 ? pc->piece : PIECE;
    out->payload_hash = pc->payload_hash;
}

/* 200 and the new bytes, or an error and the old object untouched. */
static void put_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct put_case *pc = arg;
    struct gw_buf got = GW_BUF_INIT;
    bool is_new;

    (void)f;
    assert_true(fx_read_file(pc->path, &got));
    is_new = got.len == pc->body_len && memcmp(got.data, pc->body, got.len) == 0;
    if (run->status == 200) {
        assert_int_equal(pc->fail_status, 0);
        assert_true(is_new);
    } else {
        assert_true(got.len == strlen(old_body) && memcmp(got.data, old_body, got.len) == 0);
        if (run->was_gone) {
            /* any error: the client is not there to read it */
        } else if (run->was_full || run->was_refused) {
            assert_true(run->status == pc->fail_status || (run->was_full && run->status == 507) ||
                        (run->was_refused && run->status == 503));
        } else {
            assert_int_equal(run->status, pc->fail_status);
        }
    }
    gw_buf_free(&got);
}

static void explore_put(struct put_case *pc, const char *name, unsigned faults)
{
    struct fx *f = fx_create(PIECE, false);
    struct fx_scenario sc = {.name = name, .faults = faults, .prepare = put_prepare,
                             .check = put_check, .arg = pc};

    fx_explore(f, &sc);
    fx_destroy(f);
}

/* Every order of body pieces, late wake-ups and job completions stores the object. */
static void put_every_order(void **state)
{
    struct put_case pc = {.body = body24, .body_len = 24};

    (void)state;
    explore_put(&pc, "put", 0);
}

/* The client may go away at any moment: one answer, no temp file, the old object. */
static void put_client_gone(void **state)
{
    struct put_case pc = {.body = body24, .body_len = 24};

    (void)state;
    explore_put(&pc, "put+gone", FX_F_GONE);
}

/* The disk may fill at any moment: 507 once, no temp file, the old object
 * (this is where a late body-ready callback started a write job on freed
 * memory, or answered a second time). */
static void put_disk_full(void **state)
{
    struct put_case pc = {.body = body24, .body_len = 24};

    (void)state;
    explore_put(&pc, "put+full", FX_F_FULL);
}

static void put_disk_full_client_gone(void **state)
{
    struct put_case pc = {.body = body24, .body_len = 16};

    (void)state;
    explore_put(&pc, "put+full+gone", FX_F_FULL | FX_F_GONE);
}

/* A Content-MD5 that does not match: 400 BadDigest, whatever else happens. */
static void put_digest_mismatch(void **state)
{
    unsigned char md5[GW_MD5_LEN];
    char b64[32];
    const char *hdrs[] = {"content-md5", b64, NULL};
    struct put_case pc = {.body = body24, .body_len = 16, .headers = hdrs, .fail_status = 400};

    (void)state;
    gw_md5("something else", 14, md5);
    b64[gw_base64_encode(md5, GW_MD5_LEN, b64)] = '\0';
    explore_put(&pc, "put+bad-md5+full+gone", FX_F_FULL | FX_F_GONE);
}

/* A body signed with its SHA-256 that does not match: 400. */
static void put_sha256_mismatch(void **state)
{
    struct put_case pc = {.body = body24, .body_len = 24, .fail_status = 400,
                          .payload_hash = "0000000000000000000000000000000000000000000000000000"
                                          "000000000000"};

    (void)state;
    explore_put(&pc, "put+bad-sha256+gone", FX_F_GONE);
}

/* aws-chunked (STREAMING-UNSIGNED-PAYLOAD-TRAILER) cut off at any point by
 * the client going away, or ended without its final chunk. */
static const char chunked_ok[] = "a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n";
static const char chunked_cut[] = "a\r\n0123456789\r\n6\r\nabc";
static const char *const chunked_hdrs[] = {"content-encoding", "aws-chunked",
                                           "x-amz-decoded-content-length", "16", NULL};

static void put_chunked_ok(struct put_case *pc, const char *body, size_t len)
{
    pc->body = body;
    pc->body_len = len;
    pc->headers = chunked_hdrs;
    pc->payload_hash = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
}

static void chunked_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct put_case *pc = arg;
    struct gw_buf got = GW_BUF_INIT;

    (void)f;
    assert_true(fx_read_file(pc->path, &got));
    if (run->status == 200) {
        assert_int_equal(pc->fail_status, 0);
        assert_int_equal(got.len, 16);
        assert_memory_equal(got.data, "0123456789abcdef", 16);
    } else {
        assert_int_equal(got.len, strlen(old_body));
        if (!run->was_gone && !run->was_full) {
            assert_int_equal(run->status, pc->fail_status);
        }
    }
    gw_buf_free(&got);
}

static void put_aws_chunked(void **state)
{
    struct put_case pc = {0};
    struct fx *f = fx_create(PIECE, false);
    struct fx_scenario sc = {.name = "put+aws-chunked+gone", .faults = FX_F_GONE,
                             .prepare = put_prepare, .check = chunked_check, .arg = &pc};

    (void)state;
    put_chunked_ok(&pc, chunked_ok, strlen(chunked_ok));
    fx_explore(f, &sc);
    put_chunked_ok(&pc, chunked_cut, strlen(chunked_cut));
    pc.fail_status = 400; /* the stream ended inside a chunk */
    sc.name = "put+aws-chunked-cut";
    sc.faults = FX_F_FULL;
    fx_explore(f, &sc);
    fx_destroy(f);
}

/* A trailing x-amz-checksum-crc32 announced only by x-amz-trailer is checked
 * (it used to be compared with a CRC that was never computed: 400 always). */
static void put_aws_chunked_trailer_checksum(void **state)
{
    static const char ok[] = "a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n"
                             "x-amz-checksum-crc32:aMTwMw==\r\n\r\n";
    static const char bad[] = "a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n"
                              "x-amz-checksum-crc32:AAAAAA==\r\n\r\n";
    static const char *const hdrs[] = {"content-encoding", "aws-chunked",
                                       "x-amz-decoded-content-length", "16",
                                       "x-amz-trailer", "x-amz-checksum-crc32", NULL};
    struct put_case pc = {.body = ok, .body_len = strlen(ok), .headers = hdrs, .piece = 24,
                          .payload_hash = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"};
    struct fx *f = fx_create(32, false);
    struct fx_scenario sc = {.name = "put+aws-chunked-trailer", .prepare = put_prepare,
                             .check = chunked_check, .arg = &pc};

    (void)state;
    fx_explore(f, &sc);
    pc.body = bad;
    pc.body_len = strlen(bad);
    pc.fail_status = 400;
    sc.name = "put+aws-chunked-bad-trailer";
    fx_explore(f, &sc);
    fx_destroy(f);
}

/* ---- x-amz-tagging: tags first, publish second ------------------------------------ */

static void tagged_prepare(struct fx *f, size_t run, void *arg, struct fx_req *out)
{
    struct put_case *pc = arg;

    put_prepare(f, run, arg, out);
    assert_int_equal(fx_tag_put(f, pc->key, "old"), 200);
}

/* 200: the new bytes and the new tags; anything else: the old bytes and the
 * old tags, also when the refusal came after the new tags were committed. */
static void tagged_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct put_case *pc = arg;

    put_check(f, run, arg);
    if (run->status == 200) {
        assert_true(fx_tag_is(f, pc->key, "new"));
    } else {
        assert_true(fx_tag_is(f, pc->key, "old"));
    }
    if (!run->was_full && !run->was_gone && run->status != 200) {
        assert_true(run->was_refused);
    }
}

static void put_tagged_refused(void **state)
{
    static const char *const hdrs[] = {"x-amz-tagging", "t=new", NULL};
    struct put_case pc = {.body = body24, .body_len = 16, .headers = hdrs};
    struct fx *f = fx_create(PIECE, false);
    struct fx_scenario sc = {.name = "put-tagged+refused+full",
                             .faults = FX_F_PROP_FAIL | FX_F_FULL, .prepare = tagged_prepare,
                             .check = tagged_check, .arg = &pc};

    (void)state;
    pc.fail_status = 0;
    fx_explore(f, &sc);
    fx_destroy(f);
}

/* If-None-Match: * refuses the publish after the tags were committed: 412,
 * the old object and its tags as they were. */
static void put_tagged_condition_fails(void **state)
{
    static const char *const hdrs[] = {"x-amz-tagging", "t=new", "if-none-match", "*", NULL};
    struct put_case pc = {.body = body24, .body_len = 24, .headers = hdrs, .fail_status = 412};
    struct fx *f = fx_create(PIECE, false);
    struct fx_scenario sc = {.name = "put-tagged-if-none-match", .prepare = tagged_prepare,
                             .check = put_check, .arg = &pc};

    (void)state;
    fx_explore(f, &sc);
    assert_true(fx_tag_is(f, pc.key, "old"));
    fx_destroy(f);
}

/* ---- UploadPart ------------------------------------------------------------------ */

struct part_case {
    char upload_id[128];
    char dir[600];
    char target[256];
    size_t n_committed; /* part files the committed records own */
};

static void part_create_upload(struct fx *f, struct part_case *pc)
{
    struct fx_req r = {.method = "POST", .target = "/b/mp?uploads"};
    struct gw_buf body = GW_BUF_INIT;
    struct gw_str id;

    assert_int_equal(fx_do(f, &r, &body), 200);
    id = fx_xml_elem(gw_buf_str(&body), "UploadId");
    assert_true(id.len > 0 && id.len < sizeof pc->upload_id);
    memcpy(pc->upload_id, id.p, id.len);
    pc->upload_id[id.len] = '\0';
    snprintf(pc->dir, sizeof pc->dir, "%s/.unigw/multipart/%s", fx_mount(f), pc->upload_id);
    gw_buf_free(&body);
}

static void part_prepare(struct fx *f, size_t run, void *arg, struct fx_req *out)
{
    struct part_case *pc = arg;

    (void)f;
    /* Part numbers 1..3 over and over: a part that replaces a committed one
     * must drop the old file. */
    snprintf(pc->target, sizeof pc->target, "/b/mp?partNumber=%zu&uploadId=%s", run % 3 + 1,
             pc->upload_id);
    out->method = "PUT";
    out->target = pc->target;
    out->body = body24;
    out->body_len = 24;
    out->piece = PIECE;
}

/* The staged directory holds exactly one file per committed part. */
static void part_check(struct fx *f, const struct fx_run *run, void *arg)
{
    struct part_case *pc = arg;
    struct meta_part *parts = NULL;
    size_t n = 0;
    uint32_t number = (uint32_t)(run->index % 3 + 1);
    unsigned char md5[GW_MD5_LEN];
    bool found = false;

    assert_int_equal(meta_part_list(fx_meta(f), GW_STR("b"), gw_str_c(pc->upload_id), 0, 0,
                                    &parts, &n),
                     GW_OK);
    gw_md5(body24, 24, md5);
    for (size_t i = 0; i < n; i++) {
        found |= parts[i].number == number && memcmp(parts[i].md5, md5, GW_MD5_LEN) == 0;
    }
    if (run->status == 200) {
        assert_true(found);
    } else if (!run->was_gone && !run->was_full) {
        assert_true(run->was_refused);
        assert_int_equal(run->status, 503);
    }
    assert_int_equal(fx_count_files(pc->dir), n);
    gw_free(parts);
}

static void upload_part_every_failure(void **state)
{
    struct part_case pc = {0};
    struct fx *f = fx_create(PIECE, false);
    struct fx_scenario sc = {.name = "upload-part+gone+full+refused",
                             .faults = FX_F_GONE | FX_F_FULL | FX_F_PROP_FAIL,
                             .prepare = part_prepare, .check = part_check, .arg = &pc};

    (void)state;
    part_create_upload(f, &pc);
    fx_explore(f, &sc);
    fx_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_every_order),
        cmocka_unit_test(put_client_gone),
        cmocka_unit_test(put_disk_full),
        cmocka_unit_test(put_disk_full_client_gone),
        cmocka_unit_test(put_digest_mismatch),
        cmocka_unit_test(put_sha256_mismatch),
        cmocka_unit_test(put_aws_chunked),
        cmocka_unit_test(put_aws_chunked_trailer_checksum),
        cmocka_unit_test(put_tagged_refused),
        cmocka_unit_test(put_tagged_condition_fails),
        cmocka_unit_test(upload_part_every_failure),
    };
    fx_filter_from_env();
    return cmocka_run_group_tests_name("s3/op_put", tests, NULL, NULL);
}
