/* Unit tests for the multipart validation of s3/mpu_complete.c (part order,
 * unknown parts, ETag mismatches, the 5 MiB minimum, the final ETag) and the
 * upload info record of s3/op_mpu.c.  The claim/finish/abort state machine
 * (one claim wins, idempotent completion, abort) is tested in
 * tests/unit/meta/test_mpu.c, its HTTP side in tests/integration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mpu.h"
#include "xml_in.h"
#include "unigw/arena.h"
#include "unigw/err.h"

#define MIB (1ull << 20)

/* Committed parts 1, 2, 3, 5 with MD5s of all-N bytes and the given sizes. */
static void parts_make(struct meta_part all[4], uint64_t small_size)
{
    const uint32_t nums[4] = {1, 2, 3, 5};

    memset(all, 0, 4 * sizeof all[0]);
    for (int i = 0; i < 4; i++) {
        all[i].number = nums[i];
        all[i].size = i == 1 ? small_size : 5 * MIB;
        memset(all[i].md5, 0x10 * (i + 1), GW_MD5_LEN);
    }
}

static char *etag_of(const struct meta_part *p, char buf[33])
{
    gw_hex_encode(p->md5, GW_MD5_LEN, buf);
    return buf;
}

/* Build the XML list of (number, etag) pairs and parse it. */
static int doc_parse(struct gw_arena *a, const uint32_t *nums, const char *const *etags, size_t n,
                     struct s3_xml_complete *doc)
{
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    gw_buf_append_c(&b, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < n; i++) {
        gw_buf_printf(&b, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
                      (unsigned)nums[i], etags[i]);
    }
    gw_buf_append_c(&b, "</CompleteMultipartUpload>");
    rv = s3_xml_parse_complete_mpu(gw_buf_str(&b), a, doc);
    gw_buf_free(&b);
    return rv;
}

static void check_ok_and_size(void **state)
{
    struct gw_arena arena, *a = &arena;

    gw_arena_init(a);
    struct meta_part all[4], out[3];
    struct s3_xml_complete doc;
    char e[3][33];
    const uint32_t nums[3] = {1, 3, 5};
    const char *etags[3];
    uint64_t size = 0;

    (void)state;
    parts_make(all, 1);
    etags[0] = etag_of(&all[0], e[0]);
    etags[1] = etag_of(&all[2], e[1]);
    etags[2] = etag_of(&all[3], e[2]);
    assert_int_equal(doc_parse(a, nums, etags, 3, &doc), GW_OK);
    assert_int_equal(s3_xml_complete_check_order(&doc), GW_OK);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 4, out, &size), GW_OK);
    assert_int_equal(size, 15 * MIB);
    assert_int_equal(out[1].number, 3);
    gw_arena_release(a);
}

static void check_order(void **state)
{
    struct gw_arena arena, *a = &arena;

    gw_arena_init(a);
    struct s3_xml_complete doc;
    const uint32_t down[2] = {2, 1}, dup[2] = {1, 1};
    const char *etags[2] = {"00", "00"};

    (void)state;
    assert_int_equal(doc_parse(a, down, etags, 2, &doc), GW_OK);
    assert_int_equal(s3_xml_complete_check_order(&doc), GW_ERR_INVALID_PART_ORDER);
    assert_int_equal(doc_parse(a, dup, etags, 2, &doc), GW_OK);
    assert_int_equal(s3_xml_complete_check_order(&doc), GW_ERR_INVALID_PART_ORDER);
    gw_arena_release(a);
}

static void check_invalid_part(void **state)
{
    struct gw_arena arena, *a = &arena;

    gw_arena_init(a);
    struct meta_part all[4], out[2];
    struct s3_xml_complete doc;
    char e[2][33];
    const uint32_t missing[2] = {1, 4}, beyond[1] = {9}, wrong[1] = {1};
    const char *etags[2];
    uint64_t size;

    (void)state;
    parts_make(all, 5 * MIB);
    etags[0] = etag_of(&all[0], e[0]);
    etags[1] = etag_of(&all[0], e[1]);
    assert_int_equal(doc_parse(a, missing, etags, 2, &doc), GW_OK);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 4, out, &size), GW_ERR_INVALID_PART);
    assert_int_equal(doc_parse(a, beyond, etags, 1, &doc), GW_OK);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 4, out, &size), GW_ERR_INVALID_PART);
    etags[0] = etag_of(&all[1], e[0]); /* part 2's ETag for part 1 */
    assert_int_equal(doc_parse(a, wrong, etags, 1, &doc), GW_OK);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 4, out, &size), GW_ERR_INVALID_PART);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 0, out, &size), GW_ERR_INVALID_PART);
    gw_arena_release(a);
}

/* Parts under 5 MiB are refused unless last. */
static void check_too_small(void **state)
{
    struct gw_arena arena, *a = &arena;

    gw_arena_init(a);
    struct meta_part all[4], out[2];
    struct s3_xml_complete doc;
    char e[2][33];
    const uint32_t mid[2] = {2, 3}, last[2] = {1, 2};
    const char *etags[2];
    uint64_t size;

    (void)state;
    parts_make(all, 5 * MIB - 1);
    etags[0] = etag_of(&all[1], e[0]);
    etags[1] = etag_of(&all[2], e[1]);
    assert_int_equal(doc_parse(a, mid, etags, 2, &doc), GW_OK);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 4, out, &size), GW_ERR_ENTITY_TOO_SMALL);
    etags[0] = etag_of(&all[0], e[0]);
    etags[1] = etag_of(&all[1], e[1]);
    assert_int_equal(doc_parse(a, last, etags, 2, &doc), GW_OK);
    assert_int_equal(s3__mpu_check_parts(&doc, all, 4, out, &size), GW_OK);
    assert_int_equal(size, 10 * MIB - 1);
    gw_arena_release(a);
}

/* The ETag is md5(concat(binary part MD5s))-N (value computed with Python's hashlib). */
static void final_etag(void **state)
{
    struct meta_part p[2];
    char out[64];

    (void)state;
    memset(p, 0, sizeof p);
    gw_md5("a", 1, p[0].md5);
    gw_md5("b", 1, p[1].md5);
    s3__mpu_final_etag(p, 2, out, sizeof out);
    /* hashlib.md5(md5(b"a").digest() + md5(b"b").digest()).hexdigest() */
    assert_string_equal(out, "96e024ba2074fe77e8e965ba43a704be-2");
    s3__mpu_final_etag(p, 1, out, sizeof out);
    assert_true(strlen(out) == 34 && strcmp(out + 32, "-1") == 0);
}

static void info_round_trip(void **state)
{
    struct gw_arena arena, *a = &arena;

    gw_arena_init(a);
    struct s3_mpu_info in, out;
    struct s3_kv kv = {GW_STR("color"), GW_STR("blue")};
    struct gw_buf b = GW_BUF_INIT;

    (void)state;
    memset(&in, 0, sizeof in);
    in.meta.content_type = GW_STR("text/plain");
    in.meta.user = &kv;
    in.meta.n_user = 1;
    in.meta.cksum = S3_CKSUM_CRC32C;
    in.is_full_object = true;
    in.tags = GW_STR("a=1&b=2");
    s3__mpu_info_encode(&in, &b);
    assert_int_equal(s3__mpu_info_decode(gw_buf_str(&b), a, &out), GW_OK);
    assert_true(gw_str_eq(out.meta.content_type, GW_STR("text/plain")));
    assert_int_equal(out.meta.n_user, 1);
    assert_true(gw_str_eq(out.meta.user[0].value, GW_STR("blue")));
    assert_int_equal(out.meta.cksum, S3_CKSUM_CRC32C);
    assert_true(out.is_full_object);
    assert_true(gw_str_eq(out.tags, GW_STR("a=1&b=2")));
    /* Every truncation, a trailing byte and a bad version are corrupt. */
    for (size_t n = 0; n < b.len; n++) {
        assert_int_not_equal(s3__mpu_info_decode(gw_str_make(b.data, n), a, &out), GW_OK);
    }
    gw_buf_append_byte(&b, 0);
    assert_int_equal(s3__mpu_info_decode(gw_buf_str(&b), a, &out), GW_ERR_CORRUPT);
    b.len--;
    b.data[0] = 9;
    assert_int_equal(s3__mpu_info_decode(gw_buf_str(&b), a, &out), GW_ERR_CORRUPT);
    gw_buf_free(&b);
    gw_arena_release(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_ok_and_size), cmocka_unit_test(check_order),
        cmocka_unit_test(check_invalid_part), cmocka_unit_test(check_too_small),
        cmocka_unit_test(final_etag),        cmocka_unit_test(info_round_trip),
    };
    return cmocka_run_group_tests_name("s3/mpu", tests, NULL, NULL);
}
