/* Unit tests for s3/xml_in.c: request-body parsers, well-formed and not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/err.h"

#include "xml_in.h"

static int setup(void **state)
{
    static struct gw_arena a;

    gw_arena_init(&a);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    gw_arena_release(*state);
    return 0;
}

/* The ETag spellings real clients send all normalise to the same bare hex. */
static void complete_client_spellings(void **state)
{
    const char *body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
        "  <Part>\n    <PartNumber>2</PartNumber>\n"
        "    <ETag>\"0123456789ABCDEF0123456789abcdef\"</ETag>\n  </Part>\n"
        "  <Part><ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>"
        "<PartNumber> 3 </PartNumber><ChecksumCRC32>rwg7LQ==</ChecksumCRC32></Part>\n"
        "  <Part><PartNumber>4</PartNumber><ETag>&#34;0123456789abcdef0123456789abcdef&#34;"
        "</ETag></Part>"
        "<Part><PartNumber>5</PartNumber><ETag>0123456789abcdef0123456789abcdef</ETag>"
        "<Unknown>x</Unknown></Part>"
        "</CompleteMultipartUpload>";
    struct s3_xml_complete c;

    assert_int_equal(s3_xml_parse_complete_mpu(gw_str_c(body), *state, &c), GW_OK);
    assert_int_equal(c.n_parts, 4);
    for (size_t i = 0; i < c.n_parts; i++) {
        assert_int_equal(c.parts[i].part_number, i + 2);
        assert_true(gw_str_eq_c(c.parts[i].etag, "0123456789abcdef0123456789abcdef"));
    }
    assert_true(gw_str_eq_c(c.parts[0].etag_raw, "\"0123456789ABCDEF0123456789abcdef\""));
    assert_true(gw_str_eq_c(c.parts[2].etag_raw, "\"0123456789abcdef0123456789abcdef\""));
    assert_true(gw_str_eq_c(c.parts[1].checksum_crc32, "rwg7LQ=="));
    assert_null(c.parts[0].checksum_crc32.p);
    assert_int_equal(s3_xml_complete_check_order(&c), GW_OK);
}

static void complete_no_namespace_and_order(void **state)
{
    const char *body = "<CompleteMultipartUpload><Part><PartNumber>3</PartNumber><ETag>a</ETag>"
                       "</Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part>"
                       "</CompleteMultipartUpload>";
    const char *dup = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag>"
                      "</Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part>"
                      "</CompleteMultipartUpload>";
    struct s3_xml_complete c;

    assert_int_equal(s3_xml_parse_complete_mpu(gw_str_c(body), *state, &c), GW_OK);
    assert_int_equal(c.n_parts, 2);
    assert_int_equal(s3_xml_complete_check_order(&c), GW_ERR_INVALID_PART_ORDER);
    assert_int_equal(s3_xml_parse_complete_mpu(gw_str_c(dup), *state, &c), GW_OK);
    assert_int_equal(s3_xml_complete_check_order(&c), GW_ERR_INVALID_PART_ORDER);
}

static void complete_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "not xml",
        "<CompleteMultipartUpload>",
        "<CompleteMultipartUpload></CompleteMultipartUpload>",
        "<Other><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Other>",
        "<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>x1</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>"
        "<ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1<b/></PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<CompleteMultipartUpload>text<Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<x:CompleteMultipartUpload xmlns:x=\"urn:other\"><Part><PartNumber>1</PartNumber>"
        "<ETag>a</ETag></Part></x:CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&bogus;</ETag></Part>"
        "</CompleteMultipartUpload>",
        /* external entity and DOCTYPE: refused before anything is resolved */
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part>"
        "</CompleteMultipartUpload>",
        "<!DOCTYPE CompleteMultipartUpload><CompleteMultipartUpload><Part><PartNumber>1"
        "</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
    };
    struct s3_xml_complete c;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s3_xml_parse_complete_mpu(gw_str_c(bad[i]), *state, &c),
                         GW_ERR_MALFORMED_XML);
    }
    assert_int_equal(
        s3_xml_parse_complete_mpu(GW_STR("<CompleteMultipartUpload><Part><PartNumber>10001"
                                         "</PartNumber><ETag>a</ETag></Part>"
                                         "</CompleteMultipartUpload>"),
                                  *state, &c),
        GW_ERR_INVALID_PART);
    assert_int_equal(
        s3_xml_parse_complete_mpu(GW_STR("<CompleteMultipartUpload><Part><PartNumber>0"
                                         "</PartNumber><ETag>a</ETag></Part>"
                                         "</CompleteMultipartUpload>"),
                                  *state, &c),
        GW_ERR_INVALID_PART);
}

/* Builds <root> with @n items "@open<i>@close", i from 1. */
static void build_many(struct gw_buf *b, const char *root, const char *open, const char *close,
                       size_t n)
{
    gw_buf_printf(b, "<%s>", root);
    for (size_t i = 0; i < n; i++) {
        gw_buf_printf(b, "%s%u%s", open, (unsigned)(i + 1), close);
    }
    gw_buf_printf(b, "</%s>", root);
}

static void complete_and_delete_limits(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_xml_complete c;
    struct s3_xml_delete d;

    build_many(&b, "CompleteMultipartUpload", "<Part><PartNumber>",
               "</PartNumber><ETag>e</ETag></Part>", 10000);
    assert_int_equal(s3_xml_parse_complete_mpu(gw_buf_str(&b), *state, &c), GW_OK);
    assert_int_equal(c.n_parts, 10000);
    assert_int_equal(s3_xml_complete_check_order(&c), GW_OK);
    gw_buf_reset(&b);
    build_many(&b, "CompleteMultipartUpload", "<Part><PartNumber>",
               "</PartNumber><ETag>e</ETag></Part>", 10001);
    assert_int_not_equal(s3_xml_parse_complete_mpu(gw_buf_str(&b), *state, &c), GW_OK);
    gw_buf_reset(&b);
    build_many(&b, "Delete", "<Object><Key>k", "</Key></Object>", 1000);
    assert_int_equal(s3_xml_parse_delete(gw_buf_str(&b), *state, &d), GW_OK);
    assert_int_equal(d.n_objects, 1000);
    assert_true(gw_str_eq_c(d.objects[999].key, "k1000"));
    gw_buf_reset(&b);
    build_many(&b, "Delete", "<Object><Key>k", "</Key></Object>", 1001);
    assert_int_equal(s3_xml_parse_delete(gw_buf_str(&b), *state, &d), GW_ERR_MALFORMED_XML);
    gw_buf_free(&b);
}

static void delete_objects(void **state)
{
    const char *minio = "<Delete><Quiet>true</Quiet><Object><Key> spaced key \n</Key></Object>"
                        "<Object><Key>a&amp;b&lt;c</Key><VersionId>v1</VersionId></Object>"
                        "<Object><Key></Key></Object></Delete>";
    const char *aws = "<?xml version=\"1.0\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/"
                      "2006-03-01/\"><Object><Key>x</Key></Object></Delete>";
    struct s3_xml_delete d;

    assert_int_equal(s3_xml_parse_delete(gw_str_c(minio), *state, &d), GW_OK);
    assert_true(d.quiet);
    assert_int_equal(d.n_objects, 3);
    assert_true(gw_str_eq_c(d.objects[0].key, " spaced key \n")); /* never trimmed */
    assert_null(d.objects[0].version_id.p);
    assert_true(gw_str_eq_c(d.objects[1].key, "a&b<c"));
    assert_true(gw_str_eq_c(d.objects[1].version_id, "v1"));
    assert_non_null(d.objects[2].key.p);
    assert_int_equal(d.objects[2].key.len, 0);
    assert_int_equal(s3_xml_parse_delete(gw_str_c(aws), *state, &d), GW_OK);
    assert_false(d.quiet);
    assert_int_equal(d.n_objects, 1);
}

static void delete_malformed(void **state)
{
    static const char *const bad[] = {
        "<Delete></Delete>",
        "<Delete><Quiet>true</Quiet></Delete>",
        "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
        "<Delete><Quiet>true</Quiet><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>",
        "<Delete><Object><VersionId>a</VersionId></Object></Delete>",
        "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        "<Delete><Object><Key>a</Key></Object>",
        "<Delte><Object><Key>a</Key></Object></Delte>",
    };
    struct s3_xml_delete d;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s3_xml_parse_delete(gw_str_c(bad[i]), *state, &d), GW_ERR_MALFORMED_XML);
    }
}

static void tagging_xml(void **state)
{
    const char *body = "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"
                       "<Tag><Key>project</Key><Value>caf\xc3\xa9</Value></Tag>"
                       "<Tag><Key>empty</Key><Value></Value></Tag>"
                       "<Tag><Key>novalue</Key></Tag>"
                       "</TagSet></Tagging>";
    struct s3_tagset t;

    assert_int_equal(s3_xml_parse_tagging(gw_str_c(body), S3_MAX_OBJECT_TAGS, *state, &t), GW_OK);
    assert_int_equal(t.n_tags, 3);
    assert_true(gw_str_eq_c(t.tags[0].key, "project"));
    assert_true(gw_str_eq_c(t.tags[0].value, "caf\xc3\xa9"));
    assert_int_equal(t.tags[1].value.len, 0);
    assert_int_equal(t.tags[2].value.len, 0);
    assert_int_equal(s3_xml_parse_tagging(GW_STR("<Tagging><TagSet/></Tagging>"), 10, *state, &t),
                     GW_OK);
    assert_int_equal(t.n_tags, 0);
    assert_int_equal(s3_xml_parse_tagging(GW_STR("<Tagging></Tagging>"), 10, *state, &t),
                     GW_ERR_MALFORMED_XML);
    assert_int_equal(s3_xml_parse_tagging(GW_STR("<Tagging><TagSet><Tag><Value>v</Value></Tag>"
                                                 "</TagSet></Tagging>"),
                                          10, *state, &t),
                     GW_ERR_MALFORMED_XML);
}

/* Builds a TagSet document of @n tags with keys @key (plus the index when @numbered). */
static void build_tags_n(struct gw_buf *b, size_t n, const char *key, bool numbered,
                         const char *value)
{
    gw_buf_append_c(b, "<Tagging><TagSet>");
    for (size_t i = 0; i < n; i++) {
        gw_buf_printf(b, "<Tag><Key>%s", key);
        if (numbered) {
            gw_buf_printf(b, "%u", (unsigned)i);
        }
        gw_buf_printf(b, "</Key><Value>%s</Value></Tag>", value);
    }
    gw_buf_append_c(b, "</TagSet></Tagging>");
}

/* 256 two-byte characters are 512 bytes but within the value limit; 257 are not. */
static void tagging_value_counts_characters(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct gw_buf v = GW_BUF_INIT;
    struct s3_tagset t;

    for (int i = 0; i < 256; i++) {
        gw_buf_append_c(&v, "\xc3\xa9");
    }
    gw_buf_append_byte(&v, '\0');
    build_tags_n(&b, 1, "k", false, v.data);
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_OK);
    assert_int_equal(t.tags[0].value.len, 512);
    gw_buf_reset(&b);
    v.len--;
    gw_buf_append_c(&v, "\xc3\xa9");
    gw_buf_append_byte(&v, '\0');
    build_tags_n(&b, 1, "k", false, v.data);
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_ERR_INVALID_TAG);
    gw_buf_free(&v);
    gw_buf_free(&b);
}

static void tagging_limits(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_tagset t;
    char key[200];

    build_tags_n(&b, 10, "k", true, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), S3_MAX_OBJECT_TAGS, *state, &t), GW_OK);
    gw_buf_reset(&b);
    build_tags_n(&b, 11, "k", true, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), S3_MAX_OBJECT_TAGS, *state, &t),
                     GW_ERR_INVALID_TAG);
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), S3_MAX_BUCKET_TAGS, *state, &t), GW_OK);
    gw_buf_reset(&b);
    build_tags_n(&b, 2, "same", false, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_ERR_INVALID_TAG);
    gw_buf_reset(&b);
    build_tags_n(&b, 1, "aws:x", false, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_ERR_INVALID_TAG);
    /* Keys: 128 characters fine, 129 not, empty not. */
    gw_buf_reset(&b);
    memset(key, 'k', 129);
    key[128] = '\0';
    build_tags_n(&b, 1, key, false, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_OK);
    gw_buf_reset(&b);
    key[128] = 'k';
    key[129] = '\0';
    build_tags_n(&b, 1, key, false, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_ERR_INVALID_TAG);
    gw_buf_reset(&b);
    build_tags_n(&b, 1, "", false, "v");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_ERR_INVALID_TAG);
    gw_buf_free(&b);
}

static void tagging_header(void **state)
{
    struct s3_tagset t;

    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("a=1&b%20c=d+e&flag&z="), 10, *state, &t),
                     GW_OK);
    assert_int_equal(t.n_tags, 4);
    assert_true(gw_str_eq_c(t.tags[0].key, "a"));
    assert_true(gw_str_eq_c(t.tags[0].value, "1"));
    assert_true(gw_str_eq_c(t.tags[1].key, "b c"));
    assert_true(gw_str_eq_c(t.tags[1].value, "d e"));
    assert_true(gw_str_eq_c(t.tags[2].key, "flag"));
    assert_int_equal(t.tags[2].value.len, 0);
    assert_int_equal(t.tags[3].value.len, 0);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR(""), 10, *state, &t), GW_OK);
    assert_int_equal(t.n_tags, 0);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("a=%zz"), 10, *state, &t),
                     GW_ERR_INVALID_TAG);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("=v"), 10, *state, &t),
                     GW_ERR_INVALID_TAG);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("a=1&a=2"), 10, *state, &t),
                     GW_ERR_INVALID_TAG);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("a=1&b=2&c=3"), 2, *state, &t),
                     GW_ERR_INVALID_TAG);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("aws%3Acreated=1"), 10, *state, &t),
                     GW_ERR_INVALID_TAG);
    assert_int_equal(s3_xml_parse_tagging_header(GW_STR("k=%ff"), 10, *state, &t),
                     GW_ERR_INVALID_TAG);
}

static void create_bucket(void **state)
{
    struct gw_str loc;

    assert_int_equal(s3_xml_parse_create_bucket(GW_STR(""), *state, &loc), GW_OK);
    assert_null(loc.p);
    assert_int_equal(s3_xml_parse_create_bucket(GW_STR(" \r\n"), *state, &loc), GW_OK);
    assert_null(loc.p);
    assert_int_equal(
        s3_xml_parse_create_bucket(GW_STR("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws"
                                          ".com/doc/2006-03-01/\"><LocationConstraint>eu-west-1"
                                          "</LocationConstraint></CreateBucketConfiguration>"),
                                   *state, &loc),
        GW_OK);
    assert_true(gw_str_eq_c(loc, "eu-west-1"));
    assert_int_equal(s3_xml_parse_create_bucket(GW_STR("<CreateBucketConfiguration/>"), *state,
                                                &loc),
                     GW_OK);
    assert_null(loc.p);
    assert_int_equal(s3_xml_parse_create_bucket(GW_STR("<Foo/>"), *state, &loc),
                     GW_ERR_MALFORMED_XML);
    assert_int_equal(s3_xml_parse_create_bucket(GW_STR("<CreateBucketConfiguration>"), *state,
                                                &loc),
                     GW_ERR_MALFORMED_XML);
}

/* The billion-laughs shape is refused (DOCTYPE) without expanding anything. */
static void entity_expansion_refused(void **state)
{
    const char *body = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                       "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
                       "<Tagging><TagSet><Tag><Key>&lol2;</Key><Value>v</Value></Tag></TagSet>"
                       "</Tagging>";
    struct s3_tagset t;

    assert_int_equal(s3_xml_parse_tagging(gw_str_c(body), 10, *state, &t), GW_ERR_MALFORMED_XML);
}

static void oversize_refused(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_tagset t;

    gw_buf_append_c(&b, "<Tagging><TagSet>");
    while (b.len <= S3_XML_TAGGING_MAX_LEN) {
        gw_buf_append_c(&b, "<!-- padding padding padding padding padding -->");
    }
    gw_buf_append_c(&b, "</TagSet></Tagging>");
    assert_int_equal(s3_xml_parse_tagging(gw_buf_str(&b), 10, *state, &t), GW_ERR_MALFORMED_XML);
    gw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(complete_client_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(complete_no_namespace_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(complete_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(complete_and_delete_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(tagging_xml, setup, teardown),
        cmocka_unit_test_setup_teardown(tagging_value_counts_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(tagging_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(tagging_header, setup, teardown),
        cmocka_unit_test_setup_teardown(create_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(entity_expansion_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(oversize_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("s3/xml_in", tests, NULL, NULL);
}
