/* Unit tests for s3/router.c: every operation's routing from method, path,
 * query and the x-amz-copy-source header; path-style and virtual-hosted
 * style; the spellings clients differ in (`?uploads` vs `?uploads=`, `/bkt?`
 * vs `/bkt/?`, sdkv3's `x-id=`); percent-decoding of keys and query values;
 * malformed escapes; sub-resources that are not served; partNumber checks. */
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

#include "router.h"

#define VHOST "s3.local"

static int setup(void **state)
{
    struct gw_arena *a = calloc(1, sizeof *a);

    if (a == NULL) {
        return -1;
    }
    gw_arena_init(a);
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    struct gw_arena *a = *state;

    gw_arena_release(a);
    free(a);
    return 0;
}

/* Route @method @target with the NULL-terminated (name, value) header pairs
 * @hdrs (may be NULL) and the virtual-host domain @vhost (may be NULL). */
static int route(struct gw_arena *a, const char *method, const char *target,
                 const char *const *hdrs, const char *vhost, struct s3_route *rt)
{
    struct s3_http_request r;
    size_t n = 0;

    memset(&r, 0, sizeof r);
    r.method = gw_str_c(method);
    r.target = gw_str_c(target);
    while (hdrs != NULL && hdrs[2 * n] != NULL) {
        n++;
    }
    r.headers = gw_arena_zalloc(a, (n + 1) * sizeof *r.headers);
    for (size_t i = 0; i < n; i++) {
        r.headers[i].name = gw_str_c(hdrs[2 * i]);
        r.headers[i].value = gw_str_c(hdrs[2 * i + 1]);
    }
    r.n_headers = n;
    return s3_router_route(&r, vhost, a, rt);
}

static void assert_str(struct gw_str s, const char *want)
{
    if (!gw_str_eq_c(s, want)) {
        print_error("got '%.*s', want '%s'\n", (int)s.len, s.p, want);
        fail();
    }
}

struct op_case {
    const char *method;
    const char *target;
    bool is_copy; /* send x-amz-copy-source */
    int rv;
    enum s3_op op;
};

static const struct op_case op_cases[] = {
    {"GET", "/", false, GW_OK, S3_OP_LIST_BUCKETS},
    {"PUT", "/bkt", false, GW_OK, S3_OP_CREATE_BUCKET},
    {"PUT", "/bkt/", false, GW_OK, S3_OP_CREATE_BUCKET},
    {"HEAD", "/bkt", false, GW_OK, S3_OP_HEAD_BUCKET},
    {"DELETE", "/bkt", false, GW_OK, S3_OP_DELETE_BUCKET},
    {"GET", "/bkt?location", false, GW_OK, S3_OP_GET_BUCKET_LOCATION},
    {"GET", "/bkt?acl", false, GW_OK, S3_OP_GET_BUCKET_ACL},
    {"PUT", "/bkt?acl", false, GW_OK, S3_OP_PUT_BUCKET_ACL},
    {"GET", "/bkt?versioning", false, GW_OK, S3_OP_GET_BUCKET_VERSIONING},
    {"GET", "/bkt", false, GW_OK, S3_OP_LIST_OBJECTS},
    {"GET", "/bkt?list-type=1", false, GW_OK, S3_OP_LIST_OBJECTS},
    {"GET", "/bkt?list-type=2", false, GW_OK, S3_OP_LIST_OBJECTS_V2},
    {"GET", "/bkt?prefix=a&list-type=2&delimiter=%2F", false, GW_OK, S3_OP_LIST_OBJECTS_V2},
    {"GET", "/bkt?versions", false, GW_OK, S3_OP_LIST_OBJECT_VERSIONS},
    {"POST", "/bkt?delete", false, GW_OK, S3_OP_DELETE_OBJECTS},
    {"POST", "/bkt?delete=", false, GW_OK, S3_OP_DELETE_OBJECTS},
    {"PUT", "/bkt/k", false, GW_OK, S3_OP_PUT_OBJECT},
    {"PUT", "/bkt/k", true, GW_OK, S3_OP_COPY_OBJECT},
    {"GET", "/bkt/k", false, GW_OK, S3_OP_GET_OBJECT},
    {"HEAD", "/bkt/k", false, GW_OK, S3_OP_HEAD_OBJECT},
    {"DELETE", "/bkt/k", false, GW_OK, S3_OP_DELETE_OBJECT},
    {"GET", "/bkt/k?acl", false, GW_OK, S3_OP_GET_OBJECT_ACL},
    {"PUT", "/bkt/k?acl", false, GW_OK, S3_OP_PUT_OBJECT_ACL},
    {"PUT", "/bkt?policy", false, GW_OK, S3_OP_PUT_BUCKET_POLICY},
    {"GET", "/bkt?policy", false, GW_OK, S3_OP_GET_BUCKET_POLICY},
    {"DELETE", "/bkt?policy", false, GW_OK, S3_OP_DELETE_BUCKET_POLICY},
    {"GET", "/bkt?policyStatus", false, GW_OK, S3_OP_GET_BUCKET_POLICY_STATUS},
    {"PUT", "/bkt?tagging", false, GW_OK, S3_OP_PUT_BUCKET_TAGGING},
    {"GET", "/bkt?tagging", false, GW_OK, S3_OP_GET_BUCKET_TAGGING},
    {"DELETE", "/bkt?tagging", false, GW_OK, S3_OP_DELETE_BUCKET_TAGGING},
    {"PUT", "/bkt/k?tagging", false, GW_OK, S3_OP_PUT_OBJECT_TAGGING},
    {"GET", "/bkt/k?tagging", false, GW_OK, S3_OP_GET_OBJECT_TAGGING},
    {"DELETE", "/bkt/k?tagging", false, GW_OK, S3_OP_DELETE_OBJECT_TAGGING},
    {"POST", "/bkt/k?uploads", false, GW_OK, S3_OP_CREATE_MULTIPART_UPLOAD},
    {"POST", "/bkt/k?uploads=", false, GW_OK, S3_OP_CREATE_MULTIPART_UPLOAD},
    {"PUT", "/bkt/k?partNumber=1&uploadId=u1", false, GW_OK, S3_OP_UPLOAD_PART},
    {"PUT", "/bkt/k?uploadId=u1&partNumber=3", true, GW_OK, S3_OP_UPLOAD_PART_COPY},
    {"POST", "/bkt/k?uploadId=u1", false, GW_OK, S3_OP_COMPLETE_MULTIPART_UPLOAD},
    {"DELETE", "/bkt/k?uploadId=u1", false, GW_OK, S3_OP_ABORT_MULTIPART_UPLOAD},
    {"GET", "/bkt/k?uploadId=u1", false, GW_OK, S3_OP_LIST_PARTS},
    {"GET", "/bkt/k?uploadId=u1&max-parts=2&part-number-marker=1", false, GW_OK,
     S3_OP_LIST_PARTS},
    {"GET", "/bkt?uploads", false, GW_OK, S3_OP_LIST_MULTIPART_UPLOADS},
    {"GET", "/bkt?uploads=", false, GW_OK, S3_OP_LIST_MULTIPART_UPLOADS},
    /* sdkv3 appends x-id=<Operation>: it never changes the route. */
    {"PUT", "/bkt/k?x-id=PutObject", false, GW_OK, S3_OP_PUT_OBJECT},
    {"PUT", "/bkt/k?x-id=CopyObject", true, GW_OK, S3_OP_COPY_OBJECT},
    {"GET", "/bkt/k?x-id=GetObject", false, GW_OK, S3_OP_GET_OBJECT},
    {"DELETE", "/bkt/k?x-id=DeleteObject", false, GW_OK, S3_OP_DELETE_OBJECT},
    {"POST", "/bkt?delete&x-id=DeleteObjects", false, GW_OK, S3_OP_DELETE_OBJECTS},
    {"POST", "/bkt/k?uploads&x-id=CreateMultipartUpload", false, GW_OK,
     S3_OP_CREATE_MULTIPART_UPLOAD},
    {"PUT", "/bkt/k?x-id=UploadPart&partNumber=2&uploadId=u1", false, GW_OK,
     S3_OP_UPLOAD_PART},
    {"POST", "/bkt/k?uploadId=u1&x-id=CompleteMultipartUpload", false, GW_OK,
     S3_OP_COMPLETE_MULTIPART_UPLOAD},
    {"GET", "/bkt?list-type=2&x-id=ListObjectsV2", false, GW_OK, S3_OP_LIST_OBJECTS_V2},
    /* Methods that mean nothing at the level they are sent to. */
    {"PUT", "/", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"DELETE", "/", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"PATCH", "/", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"PATCH", "/bkt", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"PATCH", "/bkt/k", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"OPTIONS", "/bkt/k", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"get", "/bkt/k", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"POST", "/bkt", false, GW_ERR_METHOD_NOT_ALLOWED, S3_OP_UNSUPPORTED},
    {"POST", "/bkt/k", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    /* Sub-resources S3 has and unigw does not serve: 501, never a plain object op. */
    {"GET", "/bkt?cors", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"PUT", "/bkt?lifecycle", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"DELETE", "/bkt?website", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"HEAD", "/bkt?encryption", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"GET", "/bkt?object-lock", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"GET", "/bkt?publicAccessBlock=", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"PUT", "/bkt?x-id=PutBucketLifecycleConfiguration&lifecycle", false,
     GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"GET", "/bkt/k?retention", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"PUT", "/bkt/k?legal-hold", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"GET", "/bkt/k?torrent", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"POST", "/bkt/k?restore", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"POST", "/bkt/k?select&select-type=2", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"GET", "/bkt/k?attributes", false, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
    {"PUT", "/bkt/k?retention", true, GW_ERR_NOT_IMPLEMENTED, S3_OP_UNSUPPORTED},
};

/* Every operation, routed from method + path + query (+ x-amz-copy-source). */
static void route_every_operation(void **state)
{
    static const char *const copy_hdrs[] = {"x-amz-copy-source", "/src/obj", NULL};
    bool failed = false;

    for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) {
        const struct op_case *c = &op_cases[i];
        struct s3_route rt;
        int rv = route(*state, c->method, c->target, c->is_copy ? copy_hdrs : NULL, NULL, &rt);
        if (rv != c->rv || (rv == 0 && rt.op != c->op)) {
            print_error("%s %s%s: rv %s op %s, want rv %s op %s\n", c->method, c->target,
                        c->is_copy ? " (copy)" : "", gw_err_name(rv), s3_op_name(rt.op),
                        gw_err_name(c->rv), s3_op_name(c->op));
            failed = true;
        }
    }
    assert_false(failed);
}

/* If ?list-type (the one selector SigV2 leaves unsigned) is flipped, then
 * the operation changes but its action does not. */
static void route_list_type_same_action(void **state)
{
    struct s3_route v1;
    struct s3_route v2;

    assert_int_equal(route(*state, "GET", "/bkt?prefix=a", NULL, NULL, &v1), GW_OK);
    assert_int_equal(route(*state, "GET", "/bkt?prefix=a&list-type=2", NULL, NULL, &v2), GW_OK);
    assert_int_equal(v1.op, S3_OP_LIST_OBJECTS);
    assert_int_equal(v2.op, S3_OP_LIST_OBJECTS_V2);
    assert_string_equal(s3_op_action(v1.op), s3_op_action(v2.op));
    assert_true(s3_router_is_selector(GW_STR("policyStatus")));
    assert_true(s3_router_is_selector(GW_STR("cors")));
    assert_false(s3_router_is_selector(GW_STR("prefix")));
}

/* Every op has a distinct API name and an "s3:" action; out-of-range ops are named safely. */
static void route_op_names(void **state)
{
    (void)state;
    for (int i = 0; i < S3_OP__COUNT; i++) {
        assert_non_null(s3_op_name((enum s3_op)i));
        assert_true(strncmp(s3_op_action((enum s3_op)i), "s3:", 3) == 0);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(s3_op_name((enum s3_op)i), s3_op_name((enum s3_op)j));
        }
    }
    assert_string_equal(s3_op_name(S3_OP_PUT_OBJECT), "PutObject");
    assert_string_equal(s3_op_action(S3_OP_LIST_OBJECTS_V2), "s3:ListBucket");
    assert_string_equal(s3_op_action(S3_OP_LIST_PARTS), "s3:ListMultipartUploadParts");
    assert_string_equal(s3_op_name(S3_OP__COUNT), "Unknown");
    assert_string_equal(s3_op_action((enum s3_op)1000), "s3:Unknown");
}

/* `?uploads` and `?uploads=` both name the sub-resource with an empty value. */
static void route_uploads_spellings(void **state)
{
    struct s3_route rt;
    const struct s3_param *p;

    assert_int_equal(route(*state, "POST", "/bkt/k?uploads", NULL, NULL, &rt), GW_OK);
    p = s3_route_param(&rt, "uploads");
    assert_non_null(p);
    assert_false(p->has_value);
    assert_int_equal(p->value.len, 0);

    assert_int_equal(route(*state, "POST", "/bkt/k?uploads=", NULL, NULL, &rt), GW_OK);
    p = s3_route_param(&rt, "uploads");
    assert_non_null(p);
    assert_true(p->has_value);
    assert_int_equal(p->value.len, 0);
    assert_int_equal(rt.op, S3_OP_CREATE_MULTIPART_UPLOAD);
    assert_null(s3_route_param(&rt, "upload"));
}

/* `/bkt?`, `/bkt/?`, `/bkt` and `/bkt/` are all the bucket, with no parameters. */
static void route_bucket_trailing_forms(void **state)
{
    static const char *const targets[] = {"/bkt", "/bkt/", "/bkt?", "/bkt/?", "/bkt?&", "/bkt/?&&"};

    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct s3_route rt;
        assert_int_equal(route(*state, "GET", targets[i], NULL, NULL, &rt), GW_OK);
        assert_int_equal(rt.op, S3_OP_LIST_OBJECTS);
        assert_str(rt.bucket, "bkt");
        assert_int_equal(rt.key.len, 0);
        assert_int_equal(rt.n_params, 0);
    }
}

/* Keys are percent-decoded exactly once: %2F is a '/', %252F stays "%2F", '+' stays '+'. */
static void route_key_decoding(void **state)
{
    struct s3_route rt;

    assert_int_equal(route(*state, "GET", "/bkt/a%2Fb%2Fc", NULL, NULL, &rt), GW_OK);
    assert_str(rt.bucket, "bkt");
    assert_str(rt.key, "a/b/c");
    assert_str(rt.raw_path, "/bkt/a%2Fb%2Fc");
    assert_int_equal(rt.op, S3_OP_GET_OBJECT);

    assert_int_equal(route(*state, "PUT", "/bkt/a+b%20c", NULL, NULL, &rt), GW_OK);
    assert_str(rt.key, "a+b c");

    assert_int_equal(route(*state, "PUT", "/bkt/a%2Bb", NULL, NULL, &rt), GW_OK);
    assert_str(rt.key, "a+b");

    assert_int_equal(route(*state, "GET", "/bkt/100%252F", NULL, NULL, &rt), GW_OK);
    assert_str(rt.key, "100%2F");

    assert_int_equal(route(*state, "GET", "/bkt/%E2%82%AC/x%3Fy", NULL, NULL, &rt), GW_OK);
    assert_str(rt.key, "\xe2\x82\xac/x?y");

    /* A key may itself end in '/' (a directory marker) or hold empty segments. */
    assert_int_equal(route(*state, "PUT", "/bkt/dir/", NULL, NULL, &rt), GW_OK);
    assert_str(rt.key, "dir/");
    assert_int_equal(rt.op, S3_OP_PUT_OBJECT);
    assert_int_equal(route(*state, "GET", "/bkt//x", NULL, NULL, &rt), GW_OK);
    assert_str(rt.key, "/x");

    /* The bucket segment is decoded as well. */
    assert_int_equal(route(*state, "GET", "/b%6Bt/k", NULL, NULL, &rt), GW_OK);
    assert_str(rt.bucket, "bkt");
}

/* Query names and values are form-decoded: '+' is a space there; raw forms are kept. */
static void route_query_decoding(void **state)
{
    struct s3_route rt;
    const struct s3_param *p;

    assert_int_equal(route(*state, "GET", "/bkt?list-type=2&prefix=a+b%2Bc%2Fd&start-after=",
                           NULL, NULL, &rt),
                     GW_OK);
    assert_int_equal(rt.op, S3_OP_LIST_OBJECTS_V2);
    assert_int_equal(rt.n_params, 3);
    p = s3_route_param(&rt, "prefix");
    assert_non_null(p);
    assert_str(p->value, "a b+c/d");
    assert_str(p->raw_value, "a+b%2Bc%2Fd");
    assert_str(p->raw_name, "prefix");
    p = s3_route_param(&rt, "start-after");
    assert_non_null(p);
    assert_true(p->has_value);
    assert_int_equal(p->value.len, 0);

    /* A name can be escaped too, and the first of repeated names wins. */
    assert_int_equal(route(*state, "GET", "/bkt?list%2Dtype=2&list-type=1", NULL, NULL, &rt),
                     GW_OK);
    assert_int_equal(rt.op, S3_OP_LIST_OBJECTS_V2);
    assert_int_equal(rt.n_params, 2);
    assert_str(rt.params[0].raw_name, "list%2Dtype");
    assert_str(rt.params[0].name, "list-type");
}

/* s3_router_parse_query directly: empty items are skipped, '=' splits once. */
static void route_parse_query(void **state)
{
    struct s3_param *ps = NULL;
    size_t n = 99;

    assert_int_equal(s3_router_parse_query(GW_STR(""), *state, &ps, &n), GW_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s3_router_parse_query(GW_STR("&&&"), *state, &ps, &n), GW_OK);
    assert_int_equal(n, 0);

    assert_int_equal(s3_router_parse_query(GW_STR("a=1&&b=&c&d=x=y&=v"), *state, &ps, &n),
                     GW_OK);
    assert_int_equal(n, 5);
    assert_str(ps[0].name, "a");
    assert_str(ps[0].value, "1");
    assert_true(ps[0].has_value);
    assert_str(ps[1].name, "b");
    assert_true(ps[1].has_value);
    assert_int_equal(ps[1].value.len, 0);
    assert_str(ps[2].name, "c");
    assert_false(ps[2].has_value);
    assert_str(ps[3].name, "d");
    assert_str(ps[3].value, "x=y");
    assert_int_equal(ps[4].name.len, 0);
    assert_str(ps[4].value, "v");

    assert_int_equal(s3_router_parse_query(GW_STR("a=%"), *state, &ps, &n), GW_ERR_BAD_REQUEST);
    assert_int_equal(s3_router_parse_query(GW_STR("%4=1"), *state, &ps, &n), GW_ERR_BAD_REQUEST);
}

/* Malformed percent escapes anywhere in the target, and targets that are not paths. */
static void route_malformed(void **state)
{
    static const char *const bad[] = {
        "/bkt/a%2",       "/bkt/a%",     "/bkt/a%zz",      "/bkt/%g0",     "/b%t/k",
        "/bkt/k?prefix=%", "/bkt?%41%4", "/bkt?x=%%41",    "bkt/k",        "",
        "*",               "?acl",       "//k",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct s3_route rt;
        int rv = route(*state, "GET", bad[i], NULL, NULL, &rt);
        if (rv != GW_ERR_BAD_REQUEST) {
            print_error("'%s': %s, want BAD_REQUEST\n", bad[i], gw_err_name(rv));
            fail();
        }
    }
}

/* Virtual-hosted style: the bucket comes from "<bucket>.s3.local[:port]". */
static void route_vhost(void **state)
{
    static const char *const host[] = {"host", "bkt.s3.local:9000", NULL};
    static const char *const host_noport[] = {"host", "bkt.s3.local", NULL};
    static const char *const host_upper[] = {"Host", "My.Bkt.S3.LOCAL:443", NULL};
    static const char *const host_copy[] = {"host", "bkt.s3.local:9000", "x-amz-copy-source",
                                            "src/k", NULL};
    struct s3_route rt;

    assert_int_equal(route(*state, "GET", "/k", host, VHOST, &rt), GW_OK);
    assert_str(rt.bucket, "bkt");
    assert_str(rt.key, "k");
    assert_int_equal(rt.op, S3_OP_GET_OBJECT);

    assert_int_equal(route(*state, "GET", "/dir%2Fsub/k", host, VHOST, &rt), GW_OK);
    assert_str(rt.bucket, "bkt");
    assert_str(rt.key, "dir/sub/k");

    assert_int_equal(route(*state, "GET", "/", host, VHOST, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_LIST_OBJECTS);
    assert_str(rt.bucket, "bkt");
    assert_int_equal(rt.key.len, 0);

    assert_int_equal(route(*state, "GET", "/?list-type=2", host_noport, VHOST, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_LIST_OBJECTS_V2);
    assert_str(rt.bucket, "bkt");

    assert_int_equal(route(*state, "PUT", "/", host, VHOST, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_CREATE_BUCKET);

    assert_int_equal(route(*state, "POST", "/?delete", host, VHOST, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_DELETE_OBJECTS);

    assert_int_equal(route(*state, "PUT", "/a/b", host_copy, VHOST, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_COPY_OBJECT);
    assert_str(rt.key, "a/b");

    /* The domain matches case-insensitively; a dotted bucket keeps its dots. */
    assert_int_equal(route(*state, "HEAD", "/k", host_upper, VHOST, &rt), GW_OK);
    assert_str(rt.bucket, "My.Bkt");
    assert_int_equal(rt.op, S3_OP_HEAD_OBJECT);

    /* The first segment is part of the key, never a bucket, in this style. */
    assert_int_equal(route(*state, "GET", "/bkt/k", host, VHOST, &rt), GW_OK);
    assert_str(rt.bucket, "bkt");
    assert_str(rt.key, "bkt/k");

    assert_int_equal(route(*state, "GET", "/k%zz", host, VHOST, &rt), GW_ERR_BAD_REQUEST);
}

/* Hosts that do not name a bucket under the domain fall back to path style. */
static void route_vhost_fallback(void **state)
{
    static const char *const not_vhost[] = {
        "s3.local:9000", "s3.local",    "127.0.0.1:9000", "[::1]:9000",
        ".s3.local",     "xs3.local",   "bkt.s3.local.evil", "bkt.s3.localx:9000",
        "",
    };
    static const char *const vhost_host[] = {"host", "bkt.s3.local:9000", NULL};
    struct s3_route rt;

    for (size_t i = 0; i < sizeof not_vhost / sizeof not_vhost[0]; i++) {
        const char *const hdrs[] = {"host", not_vhost[i], NULL};
        int rv = route(*state, "GET", "/bkt/k", hdrs, VHOST, &rt);
        if (rv != GW_OK || !gw_str_eq_c(rt.bucket, "bkt") || !gw_str_eq_c(rt.key, "k")) {
            print_error("Host '%s': %s bucket '%.*s'\n", not_vhost[i], gw_err_name(rv),
                        (int)rt.bucket.len, rt.bucket.p);
            fail();
        }
    }
    /* No Host header at all, and a vhost-looking Host with the feature off. */
    assert_int_equal(route(*state, "GET", "/bkt/k", NULL, VHOST, &rt), GW_OK);
    assert_str(rt.bucket, "bkt");
    assert_int_equal(route(*state, "GET", "/k", vhost_host, NULL, &rt), GW_OK);
    assert_str(rt.bucket, "k");
    assert_int_equal(rt.key.len, 0);
    assert_int_equal(rt.op, S3_OP_LIST_OBJECTS);
    assert_int_equal(route(*state, "GET", "/k", vhost_host, "", &rt), GW_OK);
    assert_str(rt.bucket, "k");
}

/* GetObject/HeadObject ?partNumber=N: 1..10000, a number, and never with Range. */
static void route_part_number(void **state)
{
    static const char *const range[] = {"range", "bytes=0-1", NULL};
    static const struct {
        const char *target;
        int rv;
    } cases[] = {
        {"/bkt/k?partNumber=1", GW_OK},
        {"/bkt/k?partNumber=10000", GW_OK},
        {"/bkt/k?partNumber=0", GW_ERR_INVALID_ARGUMENT},
        {"/bkt/k?partNumber=10001", GW_ERR_INVALID_ARGUMENT},
        {"/bkt/k?partNumber=-1", GW_ERR_INVALID_ARGUMENT},
        {"/bkt/k?partNumber=1a", GW_ERR_INVALID_ARGUMENT},
        {"/bkt/k?partNumber=", GW_ERR_INVALID_ARGUMENT},
        {"/bkt/k?partNumber", GW_ERR_INVALID_ARGUMENT},
        {"/bkt/k?partNumber=99999999999999999999999", GW_ERR_INVALID_ARGUMENT},
    };
    struct s3_route rt;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rv = route(*state, "GET", cases[i].target, NULL, NULL, &rt);
        if (rv != cases[i].rv || (rv == 0 && rt.op != S3_OP_GET_OBJECT)) {
            print_error("GET %s: %s\n", cases[i].target, gw_err_name(rv));
            fail();
        }
    }
    assert_int_equal(route(*state, "HEAD", "/bkt/k?partNumber=2", NULL, NULL, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_HEAD_OBJECT);
    assert_int_equal(route(*state, "HEAD", "/bkt/k?partNumber=0", NULL, NULL, &rt),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(route(*state, "GET", "/bkt/k?partNumber=1", range, NULL, &rt),
                     GW_ERR_INVALID_REQUEST);
    /* A Range alone is fine. */
    assert_int_equal(route(*state, "GET", "/bkt/k", range, NULL, &rt), GW_OK);
    assert_int_equal(rt.op, S3_OP_GET_OBJECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(route_every_operation, setup, teardown),
        cmocka_unit_test(route_op_names),
        cmocka_unit_test_setup_teardown(route_list_type_same_action, setup, teardown),
        cmocka_unit_test_setup_teardown(route_uploads_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(route_bucket_trailing_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(route_key_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(route_query_decoding, setup, teardown),
        cmocka_unit_test_setup_teardown(route_parse_query, setup, teardown),
        cmocka_unit_test_setup_teardown(route_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(route_vhost, setup, teardown),
        cmocka_unit_test_setup_teardown(route_vhost_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(route_part_number, setup, teardown),
    };

    return cmocka_run_group_tests_name("s3/router", tests, NULL, NULL);
}
