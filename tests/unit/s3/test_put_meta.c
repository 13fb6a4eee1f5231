/* Unit tests for s3/put_meta.c with a fake parsed request: stored headers,
 * x-amz-meta-* (names lower-cased, the 2 KiB limit), aws-chunked removed from
 * Content-Encoding, canned ACLs and grants, storage classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/err.h"
#include "unigw/s3.h"
#include "unigw/str.h"

#include "put_meta.h"

struct fixture {
    struct gw_arena a;
    struct s3_http_request http;
    struct s3_req q;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL) {
        return -1;
    }
    gw_arena_init(&f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    gw_arena_release(&f->a);
    free(f);
    return 0;
}

/* Make a fresh request with the NULL-terminated (name, value) header pairs @hdrs. */
static struct s3_req *req(struct fixture *f, const char *const *hdrs)
{
    size_t n = 0;

    while (hdrs != NULL && hdrs[2 * n] != NULL) {
        n++;
    }
    memset(&f->http, 0, sizeof f->http);
    memset(&f->q, 0, sizeof f->q);
    f->http.method = GW_STR("PUT");
    f->http.target = GW_STR("/bkt/k");
    f->http.headers = gw_arena_zalloc(&f->a, (n + 1) * sizeof *f->http.headers);
    for (size_t i = 0; i < n; i++) {
        f->http.headers[i].name = gw_str_c(hdrs[2 * i]);
        f->http.headers[i].value = gw_str_c(hdrs[2 * i + 1]);
    }
    f->http.n_headers = n;
    f->q.a = &f->a;
    f->q.http = &f->http;
    return &f->q;
}

static void assert_str(struct gw_str s, const char *want)
{
    if (!gw_str_eq_c(s, want)) {
        print_error("got '%.*s', want '%s'\n", (int)s.len, s.p ? s.p : "", want);
        fail();
    }
}

/* Every stored header is taken as sent; absent ones stay NULL views. */
static void put_meta_stored_headers(void **state)
{
    static const char *const hdrs[] = {
        "content-type", "text/html; charset=utf-8",
        "content-encoding", "gzip",
        "content-disposition", "inline",
        "content-language", "fr",
        "cache-control", "no-cache",
        "expires", "Wed, 21 Oct 2015 07:28:00 GMT",
        "content-length", "5",
        NULL,
    };
    struct fixture *f = *state;
    struct s3_objmeta m;

    memset(&m, 0, sizeof m);
    assert_int_equal(s3__put_meta_from_request(req(f, hdrs), &m), GW_OK);
    assert_str(m.content_type, "text/html; charset=utf-8");
    assert_str(m.content_encoding, "gzip");
    assert_str(m.content_disposition, "inline");
    assert_str(m.content_language, "fr");
    assert_str(m.cache_control, "no-cache");
    assert_str(m.expires, "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_int_equal(m.n_user, 0);

    memset(&m, 0, sizeof m);
    assert_int_equal(s3__put_meta_from_request(req(f, NULL), &m), GW_OK);
    assert_null(m.content_type.p);
    assert_null(m.content_encoding.p);
    assert_null(m.expires.p);
    assert_int_equal(m.n_user, 0);
}

/* x-amz-meta-*: the prefix is stripped, names lower-cased, values kept as sent. */
static void put_meta_user(void **state)
{
    static const char *const hdrs[] = {
        "x-amz-meta-color", "Blue",
        "content-type", "a/b",
        "x-amz-meta-MixedCase", "Keep Me",
        "x-amz-meta-", "no name: ignored",
        "x-amz-metadata-directive", "COPY",
        "x-amz-meta-empty", "",
        "y-amz-meta-other", "not user metadata",
        NULL,
    };
    struct fixture *f = *state;
    struct s3_objmeta m;

    memset(&m, 0, sizeof m);
    assert_int_equal(s3__put_meta_from_request(req(f, hdrs), &m), GW_OK);
    assert_int_equal(m.n_user, 3);
    assert_str(m.user[0].key, "color");
    assert_str(m.user[0].value, "Blue");
    assert_str(m.user[1].key, "mixedcase");
    assert_str(m.user[1].value, "Keep Me");
    assert_str(m.user[2].key, "empty");
    assert_int_equal(m.user[2].value.len, 0);
}

/* Build a request with x-amz-meta-<name> headers whose names and values total @total bytes. */
static struct s3_req *meta_of_size(struct fixture *f, size_t n_headers, size_t total)
{
    const char **hdrs = gw_arena_zalloc(&f->a, (2 * n_headers + 1) * sizeof *hdrs);
    size_t each = total / n_headers;

    for (size_t i = 0; i < n_headers; i++) {
        char *name = gw_arena_printf(&f->a, "x-amz-meta-k%02zu", i); /* 3-byte name */
        size_t vlen = (i == n_headers - 1 ? total - each * (n_headers - 1) : each) - 3;
        char *value = gw_arena_alloc(&f->a, vlen + 1);
        memset(value, 'v', vlen);
        value[vlen] = '\0';
        hdrs[2 * i] = name;
        hdrs[2 * i + 1] = value;
    }
    return req(f, hdrs);
}

/* At most 2 KiB of names and values, counted over all x-amz-meta-* headers. */
static void put_meta_size_limit(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta m;

    memset(&m, 0, sizeof m);
    assert_int_equal(s3__put_meta_from_request(meta_of_size(f, 1, S3_USER_META_MAX), &m), GW_OK);
    assert_int_equal(m.n_user, 1);
    assert_int_equal(m.user[0].value.len, S3_USER_META_MAX - 3);
    assert_int_equal(s3__put_meta_from_request(meta_of_size(f, 1, S3_USER_META_MAX + 1), &m),
                     GW_ERR_METADATA_TOO_LARGE);
    assert_int_equal(s3__put_meta_from_request(meta_of_size(f, 8, S3_USER_META_MAX), &m), GW_OK);
    assert_int_equal(m.n_user, 8);
    assert_int_equal(s3__put_meta_from_request(meta_of_size(f, 8, S3_USER_META_MAX + 1), &m),
                     GW_ERR_METADATA_TOO_LARGE);
    assert_int_equal(s3__put_meta_from_request(meta_of_size(f, 40, 4 * S3_USER_META_MAX), &m),
                     GW_ERR_METADATA_TOO_LARGE);
}

/* "aws-chunked" is transport framing: it is removed from the stored Content-Encoding. */
static void put_meta_aws_chunked(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"aws-chunked", ""},
        {"aws-chunked,gzip", "gzip"},
        {"gzip,aws-chunked", "gzip"},
        {"gzip, aws-chunked", "gzip"},
        {" AWS-Chunked , gzip , br ", "gzip,br"},
        {"gzip", "gzip"},
        {"gzip, br", "gzip,br"},
        {"aws-chunked,,aws-chunked", ""},
        {"aws-chunkedx", "aws-chunkedx"},
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const hdrs[] = {"content-encoding", cases[i].in, NULL};
        struct s3_objmeta m;
        memset(&m, 0, sizeof m);
        assert_int_equal(s3__put_meta_from_request(req(f, hdrs), &m), GW_OK);
        if (!gw_str_eq_c(m.content_encoding, cases[i].out)) {
            print_error("'%s' -> '%.*s', want '%s'\n", cases[i].in,
                        (int)m.content_encoding.len, m.content_encoding.p, cases[i].out);
            fail();
        }
    }
}

/* Canned ACLs that change nothing are accepted; public ACLs and grants are 501. */
static void put_meta_acl(void **state)
{
    static const char *const ok[] = {"private", "bucket-owner-full-control"};
    static const char *const refused[] = {"public-read", "public-read-write", "authenticated-read",
                                          "aws-exec-read", "bucket-owner-read", "log-delivery-write",
                                          "PRIVATE", ""};
    static const char *const grants[] = {"x-amz-grant-read", "x-amz-grant-write",
                                         "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                                         "x-amz-grant-full-control"};
    struct fixture *f = *state;
    struct s3_objmeta m;

    assert_int_equal(s3__put_check_acl(req(f, NULL)), GW_OK);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *const hdrs[] = {"x-amz-acl", ok[i], NULL};
        assert_int_equal(s3__put_check_acl(req(f, hdrs)), GW_OK);
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *const hdrs[] = {"x-amz-acl", refused[i], NULL};
        struct s3_req *q = req(f, hdrs);
        assert_int_equal(s3__put_check_acl(q), GW_ERR_NOT_IMPLEMENTED);
        assert_true(q->errmsg[0] != '\0'); /* a detail for the log */
    }
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++) {
        const char *const hdrs[] = {"x-amz-acl", "private", grants[i], "id=\"abc\"", NULL};
        assert_int_equal(s3__put_check_acl(req(f, hdrs)), GW_ERR_NOT_IMPLEMENTED);
    }
    /* The full request check refuses before collecting anything. */
    {
        const char *const hdrs[] = {"x-amz-meta-a", "b", "x-amz-acl", "public-read", NULL};
        memset(&m, 0, sizeof m);
        assert_int_equal(s3__put_meta_from_request(req(f, hdrs), &m), GW_ERR_NOT_IMPLEMENTED);
        assert_int_equal(m.n_user, 0);
    }
}

/* Every AWS storage class is accepted (all are stored alike); anything else is refused. */
static void put_meta_storage_class(void **state)
{
    static const char *const ok[] = {"STANDARD",     "REDUCED_REDUNDANCY", "STANDARD_IA",
                                     "ONEZONE_IA",   "INTELLIGENT_TIERING", "GLACIER",
                                     "DEEP_ARCHIVE", "GLACIER_IR",          "EXPRESS_ONEZONE"};
    static const char *const bad[] = {"standard", "COLD", "", "STANDARD ", "OUTPOSTS"};
    struct fixture *f = *state;
    struct s3_objmeta m;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *const hdrs[] = {"x-amz-storage-class", ok[i], NULL};
        assert_int_equal(s3__put_check_acl(req(f, hdrs)), GW_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const hdrs[] = {"x-amz-storage-class", bad[i], NULL};
        if (s3__put_check_acl(req(f, hdrs)) != GW_ERR_INVALID_STORAGE_CLASS) {
            print_error("storage class '%s' accepted\n", bad[i]);
            fail();
        }
    }
    {
        const char *const hdrs[] = {"x-amz-storage-class", "COLD", NULL};
        memset(&m, 0, sizeof m);
        assert_int_equal(s3__put_meta_from_request(req(f, hdrs), &m),
                         GW_ERR_INVALID_STORAGE_CLASS);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_meta_stored_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(put_meta_user, setup, teardown),
        cmocka_unit_test_setup_teardown(put_meta_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(put_meta_aws_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(put_meta_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(put_meta_storage_class, setup, teardown),
    };

    return cmocka_run_group_tests_name("s3/put_meta", tests, NULL, NULL);
}
