/* Unit tests for s3/xml_out.c: writer output byte for byte, parse-back with
 * libxml2, dates, and the encoding-type=url key encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <libxml/parser.h>

#include "unigw/buf.h"
#include "unigw/err.h"

#include "xml_out.h"

/* The document parses back with libxml2 and its root is @root. */
static void assert_parses(const struct gw_buf *b, const char *root)
{
    xmlDoc *doc = xmlReadMemory(b->data, (int)b->len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

    assert_non_null(doc);
    assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, root);
    xmlFreeDoc(doc);
}

static void list_bucket_result_bytes(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_xml_writer w;
    const char *want =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>bkt</Name><Prefix>a &amp; b</Prefix><KeyCount>1</KeyCount>"
        "<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
        "<Contents><Key>a &amp; b/&lt;x&gt;&quot;&apos;</Key>"
        "<LastModified>2026-11-25T11:16:48.123Z</LastModified>"
        "<ETag>&quot;0123abcd&quot;</ETag><Size>12</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents>"
        "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
        "</ListBucketResult>";

    (void)state;
    s3_xml_begin(&w, &b, "ListBucketResult", S3_XML_NS);
    s3_xml_elem_c(&w, "Name", "bkt");
    s3_xml_elem_key(&w, "Prefix", GW_STR("a & b"), false);
    s3_xml_elem_u64(&w, "KeyCount", 1);
    s3_xml_elem_u64(&w, "MaxKeys", 1000);
    s3_xml_elem_bool(&w, "IsTruncated", false);
    s3_xml_open(&w, "Contents");
    s3_xml_elem_key(&w, "Key", GW_STR("a & b/<x>\"'"), false);
    s3_xml_elem_time(&w, "LastModified", 1795605408123456789LL);
    s3_xml_elem_etag(&w, "ETag", GW_STR("0123abcd"));
    s3_xml_elem_u64(&w, "Size", 12);
    s3_xml_elem_c(&w, "StorageClass", "STANDARD");
    s3_xml_close(&w);
    s3_xml_open(&w, "CommonPrefixes");
    s3_xml_elem_key(&w, "Prefix", GW_STR("p/"), false);
    s3_xml_end(&w);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_parses(&b, "ListBucketResult");
    gw_buf_free(&b);
}

static void error_document_bytes(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_xml_writer w;
    const char *want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
                       "exist.</Message><Key>a\xc3\xa9&#xA;b</Key><RequestId>7f3a</RequestId>"
                       "</Error>";

    (void)state;
    s3_xml_begin(&w, &b, "Error", NULL);
    s3_xml_elem_c(&w, "Code", "NoSuchKey");
    s3_xml_elem_c(&w, "Message", "The specified key does not exist.");
    s3_xml_elem(&w, "Key", GW_STR("a\xc3\xa9\nb"));
    s3_xml_elem_c(&w, "RequestId", "7f3a");
    s3_xml_end(&w);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_parses(&b, "Error");
    gw_buf_free(&b);
}

/* Every other response shape the handlers build, nested, parses back. */
static void nested_documents_parse(void **state)
{
    static const char *const roots[] = {
        "ListAllMyBucketsResult",  "ListVersionsResult",         "CopyObjectResult",
        "DeleteResult",            "InitiateMultipartUploadResult", "CompleteMultipartUploadResult",
        "ListPartsResult",         "ListMultipartUploadsResult", "Tagging",
        "LocationConstraint",      "AccessControlPolicy",
    };

    (void)state;
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        struct gw_buf b = GW_BUF_INIT;
        struct s3_xml_writer w;
        s3_xml_begin(&w, &b, roots[i], S3_XML_NS);
        s3_xml_open(&w, "Owner");
        s3_xml_elem_c(&w, "ID", "root & <admin>");
        s3_xml_open(&w, "Inner");
        s3_xml_elem_key(&w, "Key", GW_STR("k y+=\xe2\x82\xac"), true);
        s3_xml_elem(&w, "Tab", GW_STR("a\tb\r"));
        s3_xml_end(&w);
        assert_int_equal(w.depth, 0);
        assert_parses(&b, roots[i]);
        gw_buf_free(&b);
    }
}

/* CR, LF and TAB survive a parse (as character references); other C0
 * controls are written as references too, never raw. */
static void control_chars_escaped(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    const char *want = "a&#x1;b&#x1F;&#x7F;&#x9;&#xD;&#xA;";

    (void)state;
    s3_xml_escape(&b, GW_STR("a\x01" "b\x1f\x7f\t\r\n"));
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    gw_buf_free(&b);
}

/* Decoding as botocore does (unquote_plus) gives the key back. */
static size_t unquote_plus(const char *in, size_t n, char *out)
{
    size_t len = 0;

    assert_true(gw_url_decode(gw_str_make(in, n), out, &len, true));
    return len;
}

static void url_encode_round_trips(void **state)
{
    static const char *const keys[] = {
        "a b", "a+b", "a=b&c", "dir/sub dir/f+1.txt", "caf\xc3\xa9/\xf0\x9f\x98\x80", "100%.csv",
        "~tilde_-.", "?#[]@!$'()*,;",
    };
    struct gw_buf b = GW_BUF_INIT;
    char out[128];

    (void)state;
    s3_url_encode_key(&b, GW_STR("a b+c=d/\xc3\xa9~%"));
    assert_int_equal(b.len, strlen("a%20b%2Bc%3Dd/%C3%A9~%25"));
    assert_memory_equal(b.data, "a%20b%2Bc%3Dd/%C3%A9~%25", b.len);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t n;
        gw_buf_reset(&b);
        s3_url_encode_key(&b, gw_str_c(keys[i]));
        assert_null(memchr(b.data, '+', b.len)); /* so '+' -> ' ' decoders are safe */
        assert_null(memchr(b.data, ' ', b.len));
        n = unquote_plus(b.data, b.len, out);
        assert_int_equal(n, strlen(keys[i]));
        assert_memory_equal(out, keys[i], n);
        /* A plain percent-decoder (decodeURIComponent) gets it back too. */
        assert_true(gw_url_decode(gw_buf_str(&b), out, &n, false));
        assert_memory_equal(out, keys[i], n);
    }
    gw_buf_free(&b);
}

static void iso8601(void **state)
{
    char out[S3_ISO8601_LEN + 1];

    (void)state;
    assert_int_equal(s3_time_iso8601(0, out), S3_ISO8601_LEN);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    s3_time_iso8601(1795605408000000000LL, out);
    assert_string_equal(out, "2026-11-25T11:16:48.000Z");
    s3_time_iso8601(951782400999999999LL, out); /* leap day 2000 */
    assert_string_equal(out, "2000-02-29T00:00:00.999Z");
    s3_time_iso8601(-1000000LL, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void http_date_format(void **state)
{
    char out[S3_HTTP_DATE_LEN + 1];

    (void)state;
    assert_int_equal(s3_http_date_format(1795605408, out), S3_HTTP_DATE_LEN);
    assert_string_equal(out, "Wed, 25 Nov 2026 11:16:48 GMT");
    s3_http_date_format(784111777, out);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    s3_http_date_format(0, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void http_date_parse(void **state)
{
    static const char *const bad[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 2023 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sun Nov 6 08:49:37 1994",
        "1994-11-06T08:49:37Z",
        ", 06 Nov 1994 08:49:37 GMT",
    };
    int64_t sec = 0;

    (void)state;
    assert_int_equal(s3_http_date_parse(GW_STR("Sun, 06 Nov 1994 08:49:37 GMT"), &sec), GW_OK);
    assert_int_equal(sec, 784111777);
    sec = 0;
    assert_int_equal(s3_http_date_parse(GW_STR("Sunday, 06-Nov-94 08:49:37 GMT"), &sec), GW_OK);
    assert_int_equal(sec, 784111777);
    sec = 0;
    assert_int_equal(s3_http_date_parse(GW_STR("Sun Nov  6 08:49:37 1994"), &sec), GW_OK);
    assert_int_equal(sec, 784111777);
    assert_int_equal(s3_http_date_parse(GW_STR("Wed, 25 Nov 2026 11:16:48 GMT"), &sec), GW_OK);
    assert_int_equal(sec, 1795605408);
    assert_int_equal(s3_http_date_parse(GW_STR("Thu, 29 Feb 2024 00:00:00 GMT"), &sec), GW_OK);
    assert_int_equal(sec, 1709164800);
    assert_int_equal(s3_http_date_parse(GW_STR("Wed, 01-Jan-31 00:00:00 GMT"), &sec), GW_OK);
    assert_int_equal(sec, 1924992000); /* two-digit years below 70 are 20xx */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s3_http_date_parse(gw_str_c(bad[i]), &sec), GW_ERR_INVALID_ARGUMENT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_bucket_result_bytes), cmocka_unit_test(error_document_bytes),
        cmocka_unit_test(nested_documents_parse),   cmocka_unit_test(control_chars_escaped),
        cmocka_unit_test(url_encode_round_trips),   cmocka_unit_test(iso8601),
        cmocka_unit_test(http_date_format),         cmocka_unit_test(http_date_parse),
    };
    return cmocka_run_group_tests_name("s3/xml_out", tests, NULL, NULL);
}
