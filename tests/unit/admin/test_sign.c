/* admin/sign.c against the SigV4 examples of the Amazon S3 documentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "admin.h"
#include "unigw/err.h"

#define DOC_ACCESS "AKIAIOSFODNN7EXAMPLE"
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_DATE "20130524T000000Z"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DOC_CRED "AWS4-HMAC-SHA256 Credential=" DOC_ACCESS "/20130524/us-east-1/s3/aws4_request"

static void check(const char *method, const char *path, const char *query,
                  const char *const *names, const char *const *values, size_t n,
                  const char *payload, const char *want)
{
    struct adm_sign_req r = {method, path,   query,      names,      values, n,
                             payload, DOC_DATE, DOC_ACCESS, DOC_SECRET, "us-east-1"};
    struct gw_buf out = GW_BUF_INIT;

    assert_int_equal(adm_sign(&r, &out), GW_OK);
    gw_buf_append_byte(&out, '\0');
    assert_string_equal(out.data, want);
    gw_buf_free(&out);
}

/* If the GET Object example (a Range header, headers given out of order) is signed, then the
 * documented Authorization comes out. */
static void doc_get_object(void **state)
{
    const char *names[] = {"x-amz-date", "range", "host", "x-amz-content-sha256"};
    const char *values[] = {DOC_DATE, "bytes=0-9", "examplebucket.s3.amazonaws.com", EMPTY_SHA};

    (void)state;
    check("GET", "/test.txt", "", names, values, 4, EMPTY_SHA,
          DOC_CRED ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* If the PUT Object example ('$' encoded in the path, a Date header) is signed, then the
 * documented signature comes out. */
static void doc_put_object(void **state)
{
    const char *sha = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
    const char *names[] = {"host", "date", "x-amz-date", "x-amz-storage-class",
                           "x-amz-content-sha256"};
    const char *values[] = {"examplebucket.s3.amazonaws.com", "Fri, 24 May 2013 00:00:00 GMT",
                            DOC_DATE, "REDUCED_REDUNDANCY", sha};

    (void)state;
    check("PUT", "/test%24file.text", "", names, values, 5, sha,
          DOC_CRED ", SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                   "x-amz-storage-class, "
                   "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* If a header value has outer and repeated inner blanks, then it is signed trimmed, so the
 * bucket lifecycle example still matches with "  examplebucket...  " as Host. */
static void doc_lifecycle_trimmed(void **state)
{
    const char *names[] = {"host", "x-amz-content-sha256", "x-amz-date"};
    const char *values[] = {"  examplebucket.s3.amazonaws.com  ", EMPTY_SHA, DOC_DATE};

    (void)state;
    check("GET", "/", "lifecycle=", names, values, 3, EMPTY_SHA,
          DOC_CRED ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                   "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

/* If the request has no headers, too many, or a malformed date, then nothing is signed. */
static void sign_refuses(void **state)
{
    const char *names[17];
    const char *values[17];
    struct adm_sign_req r = {"GET", "/", "", names, values, 0, EMPTY_SHA, DOC_DATE,
                             "A",   "S", "us-east-1"};
    struct gw_buf out = GW_BUF_INIT;

    (void)state;
    for (size_t i = 0; i < 17; i++) {
        names[i] = "host";
        values[i] = "h";
    }
    assert_int_equal(adm_sign(&r, &out), GW_ERR_INVALID_ARGUMENT);
    r.n_headers = 17;
    assert_int_equal(adm_sign(&r, &out), GW_ERR_INVALID_ARGUMENT);
    r.n_headers = 1;
    r.amz_date = "20130524";
    assert_int_equal(adm_sign(&r, &out), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(out.len, 0);
    gw_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_get_object),
        cmocka_unit_test(doc_put_object),
        cmocka_unit_test(doc_lifecycle_trimmed),
        cmocka_unit_test(sign_refuses),
    };
    return cmocka_run_group_tests_name("admin/sign", tests, NULL, NULL);
}
