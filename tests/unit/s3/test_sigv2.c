/* Tests of s3/sigv2.c: the worked examples of the S3 SigV2 documentation,
 * requests signed by Debian's botocore HmacV1Auth / HmacV1QueryAuth
 * (vectors/botocore_v2.txt), exact StringToSign canonicalisation, the
 * clock (skew, expiry), dates, the signer round trip and malformed input. */
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
#include "router.h"
#include "sigv2.h"

#define MAX_HEADERS 64
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_AUTH "AWS AKIAIOSFODNN7EXAMPLE:"

static struct gw_arena arena;

static int setup(void **state)
{
    (void)state;
    gw_arena_init(&arena);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_arena_release(&arena);
    return 0;
}

/* @r gets @method, @target and the NULL-terminated (name, value) pairs @kv
 * (names lower-case, as node delivers them). */
static void make_request(struct s3_http_request *r, const char *method, const char *target,
                         const char *const *kv)
{
    size_t n = 0;

    memset(r, 0, sizeof *r);
    r->method = gw_str_c(method);
    r->target = gw_str_c(target);
    r->headers = gw_arena_zalloc(&arena, MAX_HEADERS * sizeof *r->headers);
    for (; kv[2 * n] != NULL; n++) {
        r->headers[n].name = gw_str_c(kv[2 * n]);
        r->headers[n].value = gw_str_c(kv[2 * n + 1]);
    }
    r->n_headers = n;
}

static void add_header(struct s3_http_request *r, const char *name, const char *value)
{
    r->headers[r->n_headers++] = (struct s3_header){gw_str_c(name), gw_str_c(value)};
}

/* Parse and verify @r at @now (skew 900 s, @vhost the virtual-host domain or NULL). */
static int verify_at(const struct s3_http_request *r, const char *secret, const char *vhost,
                     int64_t now)
{
    struct s3_sigv2 auth;
    int rv = s3_sigv2_parse(r, &arena, &auth);

    if (rv != 0) {
        return rv;
    }
    return s3_sigv2_verify(&auth, gw_str_c(secret), r, vhost ? gw_str_c(vhost) : GW_STR_NULL,
                           &arena, now, 900);
}

/* Verify @r at the time of its Date / x-amz-date header. */
static int verify_now(const struct s3_http_request *r, const char *secret, const char *vhost)
{
    struct s3_sigv2 auth;

    assert_int_equal(s3_sigv2_parse(r, &arena, &auth), GW_OK);
    return verify_at(r, secret, vhost, auth.time);
}

/* The StringToSign of @r. */
static const char *sts_of(const struct s3_http_request *r, const char *vhost)
{
    struct s3_sigv2 auth;
    struct gw_str sts;

    assert_int_equal(s3_sigv2_parse(r, &arena, &auth), GW_OK);
    assert_int_equal(s3__sigv2_string_to_sign(&auth, r, vhost ? gw_str_c(vhost) : GW_STR_NULL,
                                              false, &arena, &sts),
                     GW_OK);
    return gw_arena_cstr(&arena, sts);
}

/* If the S3 documentation's "Object GET" example (virtual-hosted) is
 * verified, then it passes; so does the newer page's first example. */
static void doc_object_get(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"host", "johnsmith.s3.amazonaws.com", "date",
                        "Tue, 27 Mar 2007 19:36:42 +0000", "authorization",
                        DOC_AUTH "bWq2s1WEIj+Ydj0vQ697zp+IXMU=", NULL};
    const char *kv2[] = {"host", "awsexamplebucket1.us-west-1.s3.amazonaws.com", "date",
                         "Tue, 27 Mar 2007 19:36:42 +0000", "authorization",
                         DOC_AUTH "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", NULL};

    (void)state;
    make_request(&r, "GET", "/photos/puppy.jpg", kv);
    assert_string_equal(sts_of(&r, "s3.amazonaws.com"),
                        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg");
    assert_int_equal(verify_now(&r, DOC_SECRET, "s3.amazonaws.com"), GW_OK);
    /* Without the vhost domain the bucket is missing from the resource. */
    assert_int_equal(verify_now(&r, DOC_SECRET, NULL), GW_ERR_BAD_SIGNATURE);
    make_request(&r, "GET", "/photos/puppy.jpg", kv2);
    assert_int_equal(verify_now(&r, DOC_SECRET, "us-west-1.s3.amazonaws.com"), GW_OK);
}

/* If the documentation's PUT, List, Fetch (?acl), List-all-buckets and
 * Unicode-keys examples are verified, then they pass. */
static void doc_put_list_acl(void **state)
{
    struct s3_http_request r;
    const char *put[] = {"content-type", "image/jpeg", "content-length", "94328", "host",
                         "johnsmith.s3.amazonaws.com", "date", "Tue, 27 Mar 2007 21:15:45 +0000",
                         "authorization", DOC_AUTH "MyyxeRY7whkBe+bq8fHCL/2kKUg=", NULL};
    const char *list[] = {"user-agent", "Mozilla/5.0", "host", "johnsmith.s3.amazonaws.com",
                          "date", "Tue, 27 Mar 2007 19:42:41 +0000", "authorization",
                          DOC_AUTH "htDYFYduRNen8P9ZfE/s9SuKy0U=", NULL};
    const char *acl[] = {"host", "johnsmith.s3.amazonaws.com", "date",
                         "Tue, 27 Mar 2007 19:44:46 +0000", "authorization",
                         DOC_AUTH "c2WLPFtWHVgbEmeEG93a4cG37dM=", NULL};
    const char *all[] = {"host", "s3.amazonaws.com", "date", "Wed, 28 Mar 2007 01:29:59 +0000",
                         "authorization", DOC_AUTH "qGdzdERIC03wnaRNKh6OqZehG9s=", NULL};
    const char *uni[] = {"host", "s3.amazonaws.com", "date", "Wed, 28 Mar 2007 01:49:49 +0000",
                         "authorization", DOC_AUTH "DNEZGsoieTZ92F3bUfSPQcbGmlM=", NULL};

    (void)state;
    make_request(&r, "PUT", "/photos/puppy.jpg", put);
    assert_int_equal(verify_now(&r, DOC_SECRET, "s3.amazonaws.com"), GW_OK);
    make_request(&r, "GET", "/?prefix=photos&max-keys=50&marker=puppy", list);
    assert_string_equal(sts_of(&r, "s3.amazonaws.com"),
                        "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/");
    assert_int_equal(verify_now(&r, DOC_SECRET, "s3.amazonaws.com"), GW_OK);
    make_request(&r, "GET", "/?acl", acl);
    assert_int_equal(verify_now(&r, DOC_SECRET, "s3.amazonaws.com"), GW_OK);
    make_request(&r, "GET", "/", all);
    assert_int_equal(verify_now(&r, DOC_SECRET, "s3.amazonaws.com"), GW_OK);
    make_request(&r, "GET", "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", uni);
    assert_string_equal(sts_of(&r, NULL), "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n"
                                          "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re");
    assert_int_equal(verify_now(&r, DOC_SECRET, NULL), GW_OK);
}

/* If the documentation's Upload example (x-amz-* headers sorted, repeats
 * joined, mixed case) is verified path-style, then it passes. */
static void doc_upload(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"user-agent", "curl/7.15.5", "host", "s3.amazonaws.com", "date",
                        "Tue, 27 Mar 2007 21:06:08 +0000", "x-amz-acl", "public-read",
                        "content-type", "application/x-download", "content-md5",
                        "4gJE4saaMU4BqNR0kLY+lw==", "X-Amz-Meta-ReviewedBy", "joe@johnsmith.net",
                        "X-Amz-Meta-ReviewedBy", "jane@johnsmith.net", "X-Amz-Meta-FileChecksum",
                        "0x02661779", "X-Amz-Meta-ChecksumAlgorithm", "crc32",
                        "content-disposition", "attachment; filename=database.dat",
                        "content-encoding", "gzip", "content-length", "5913339",
                        "authorization", DOC_AUTH "ilyl83RwaSoYIEdixDQcA4OnAnc=", NULL};

    (void)state;
    make_request(&r, "PUT", "/static.johnsmith.net/db-backup.dat.gz", kv);
    assert_string_equal(sts_of(&r, NULL),
                        "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\n"
                        "Tue, 27 Mar 2007 21:06:08 +0000\nx-amz-acl:public-read\n"
                        "x-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n"
                        "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"
                        "/static.johnsmith.net/db-backup.dat.gz");
    assert_int_equal(verify_now(&r, DOC_SECRET, NULL), GW_OK);
}

/* If x-amz-date is present, then the Date line is empty and x-amz-date is
 * signed as an amz header (the documented rule; the documentation's Delete
 * example instead signs its value in the Date slot, which verifies only
 * when it is sent as Date). */
static void doc_delete_x_amz_date(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"user-agent", "dotnet", "host", "s3.amazonaws.com", "date",
                        "Tue, 27 Mar 2007 21:20:27 +0000", "x-amz-date",
                        "Tue, 27 Mar 2007 21:20:26 +0000", "authorization",
                        DOC_AUTH "R4dJ53KECjStyBO5iTBJZ4XVOaI=", NULL};
    const char *as_date[] = {"host", "s3.amazonaws.com", "date", "Tue, 27 Mar 2007 21:20:26 +0000",
                             "authorization", DOC_AUTH "lx3byBScXR6KzyMaifNkardMwNk=", NULL};

    (void)state;
    make_request(&r, "DELETE", "/johnsmith/photos/puppy.jpg", kv);
    assert_string_equal(sts_of(&r, NULL), "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 "
                                          "+0000\n/johnsmith/photos/puppy.jpg");
    assert_int_equal(verify_now(&r, DOC_SECRET, NULL), GW_OK);
    make_request(&r, "DELETE", "/johnsmith/photos/puppy.jpg", as_date);
    assert_int_equal(verify_now(&r, DOC_SECRET, NULL), GW_OK);
}

/* If the documentation's query-string example is verified, then it passes
 * until Expires and is expired one second later. */
static void doc_query(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"host", "johnsmith.s3.amazonaws.com", NULL};
    struct s3_sigv2 auth;

    (void)state;
    make_request(&r, "GET",
                 "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&"
                 "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
                 kv);
    assert_int_equal(s3_sigv2_parse(&r, &arena, &auth), GW_OK);
    assert_true(auth.is_presigned);
    assert_true(gw_str_eq_c(auth.access_key, "AKIAIOSFODNN7EXAMPLE"));
    assert_int_equal(auth.expires, 1175139620);
    assert_string_equal(sts_of(&r, "s3.amazonaws.com"),
                        "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
    assert_int_equal(verify_at(&r, DOC_SECRET, "s3.amazonaws.com", 1175139000), GW_OK);
    assert_int_equal(verify_at(&r, DOC_SECRET, "s3.amazonaws.com", 1175139620), GW_OK);
    assert_int_equal(verify_at(&r, DOC_SECRET, "s3.amazonaws.com", 1175139621), GW_ERR_EXPIRED);
    /* Expiry is reported before the signature is looked at. */
    assert_int_equal(verify_at(&r, "wrong", "s3.amazonaws.com", 1175139621), GW_ERR_EXPIRED);
    assert_int_equal(verify_at(&r, "wrong", "s3.amazonaws.com", 1175139000),
                     GW_ERR_BAD_SIGNATURE);
}

/* One botocore vector: a request and what verifies it. */
struct bvec {
    char name[64];
    struct s3_http_request r;
    const char *vhost;
    struct gw_str secret;
    int64_t now;
};

/* Store one "field\tvalue" line of botocore_v2.txt into @v. */
static void bvec_field(struct bvec *v, struct gw_str field, struct gw_str line)
{
    uint64_t n = 0;

    if (gw_str_eq_c(field, "name")) {
        snprintf(v->name, sizeof v->name, "%.*s", (int)line.len, line.p);
    } else if (gw_str_eq_c(field, "method")) {
        v->r.method = line;
    } else if (gw_str_eq_c(field, "target")) {
        v->r.target = line;
    } else if (gw_str_eq_c(field, "header")) {
        struct s3_header *h = &v->r.headers[v->r.n_headers++];
        assert_true(gw_str_split(&line, '\t', &h->name));
        h->value = line;
    } else if (gw_str_eq_c(field, "vhost")) {
        v->vhost = gw_arena_cstr(&arena, line);
    } else if (gw_str_eq_c(field, "secret")) {
        v->secret = line;
    } else if (gw_str_eq_c(field, "now")) {
        assert_true(gw_str_to_u64(line, &n));
        v->now = (int64_t)n;
    }
}

/* Read the next block at *@pos; false at the end. */
static bool bvec_next(struct gw_str *pos, struct bvec *v)
{
    struct gw_str line;
    struct gw_str field;

    memset(v, 0, sizeof *v);
    v->r.headers = gw_arena_zalloc(&arena, MAX_HEADERS * sizeof *v->r.headers);
    while (pos->len > 0) {
        gw_str_split(pos, '\n', &line);
        if (line.len == 0 || line.p[0] == '#') {
            continue;
        }
        if (gw_str_eq_c(line, "end")) {
            return true;
        }
        assert_true(gw_str_split(&line, '\t', &field));
        bvec_field(v, field, line);
    }
    return false;
}

static int bvec_verify(const struct bvec *v)
{
    char secret[128];

    snprintf(secret, sizeof secret, "%.*s", (int)v->secret.len, v->secret.p);
    return verify_at(&v->r, secret, v->vhost, v->now);
}

/* A copy of @s with byte @i changed. */
static struct gw_str mutate(struct gw_str s, size_t i)
{
    char *p = gw_arena_cstr(&arena, s);

    p[i] = p[i] == 'A' ? 'B' : 'A';
    return gw_str_make(p, s.len);
}

/* The view holding the signature (Authorization or target) and the offset
 * of one of its base64 characters. */
static struct gw_str *sig_holder(struct bvec *v, size_t *at)
{
    for (size_t i = 0; i < v->r.n_headers; i++) {
        if (gw_str_eq_c(v->r.headers[i].name, "authorization")) {
            *at = v->r.headers[i].value.len - 5;
            return &v->r.headers[i].value;
        }
    }
    *at = (size_t)(strstr(v->r.target.p, "Signature=") - v->r.target.p) + 12;
    return &v->r.target;
}

/* Signature, path and every x-amz-* / content-* header are signed. */
static void bvec_tamper(struct bvec *v)
{
    size_t at = 0;
    struct gw_str *sig = sig_holder(v, &at);
    struct gw_str saved = *sig;

    *sig = mutate(saved, at);
    assert_int_equal(bvec_verify(v), GW_ERR_BAD_SIGNATURE);
    *sig = saved;
    saved = v->r.target;
    v->r.target = mutate(saved, saved.len > 2 ? 2 : 0);
    assert_int_equal(bvec_verify(v), GW_ERR_BAD_SIGNATURE);
    v->r.target = saved;
    for (size_t i = 0; i < v->r.n_headers; i++) {
        struct s3_header *h = &v->r.headers[i];

        if (gw_str_has_prefix(h->name, GW_STR("x-amz-")) ||
            gw_str_eq_c(h->name, "content-type") || gw_str_eq_c(h->name, "content-md5")) {
            saved = h->value;
            h->value = mutate(saved, saved.len - 1);
            assert_int_equal(bvec_verify(v), GW_ERR_BAD_SIGNATURE);
            h->value = saved;
        }
    }
}

/* If requests signed by botocore (header and presigned) are verified, then
 * they pass, and fail once the signature, the path or a signed header
 * changes. */
static void botocore_vectors(void **state)
{
    char path[1024];
    struct gw_str pos;
    struct bvec v;
    int n = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/tests/unit/s3/vectors/botocore_v2.txt",
             getenv("UNIGW_SOURCE_DIR"));
    {
        FILE *f = fopen(path, "rb");
        char *p = gw_arena_alloc(&arena, 1 << 16);
        size_t len;

        assert_non_null(f);
        len = fread(p, 1, (1 << 16) - 1, f);
        fclose(f);
        p[len] = '\0';
        pos = gw_str_make(p, len);
    }
    while (bvec_next(&pos, &v)) {
        int rv = bvec_verify(&v);

        if (rv != GW_OK) {
            fail_msg("botocore vector %s does not verify: %d", v.name, rv);
        }
        bvec_tamper(&v);
        assert_int_equal(bvec_verify(&v), GW_OK);
        n++;
    }
    assert_int_equal(n, 22);
}

/* If a botocore presigned URL carries Content-Type and x-amz-acl in its
 * query, then the client may also send them as headers (same values), but
 * a different Content-Type header or an added sub-resource fails. */
static void presigned_query_headers(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"host", "s3.example.test:9000", NULL};
    const char *target = "/bkt/typed.bin?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature="
                         "WI1skX6RATVA8RlPi6Ic1g3pwBI%3D&content-type=application%2Fx-typed&"
                         "x-amz-acl=private&Expires=1710004842";
    char *tampered;

    (void)state;
    make_request(&r, "PUT", target, kv);
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, 1710003942), GW_OK);
    add_header(&r, "content-type", "application/x-typed");
    add_header(&r, "x-amz-acl", "private");
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, 1710003942), GW_OK);
    r.headers[1].value = GW_STR("text/html");
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, 1710003942), GW_ERR_BAD_SIGNATURE);
    make_request(&r, "PUT", target, kv);
    tampered = gw_arena_printf(&arena, "%s&response-content-type=text%%2Fhtml", target);
    r.target = gw_str_c(tampered);
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, 1710003942), GW_ERR_BAD_SIGNATURE);
    r.target = gw_str_c(target);
    r.method = GW_STR("GET"); /* a PUT URL is not a GET URL */
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, 1710003942), GW_ERR_BAD_SIGNATURE);
}

/* If sub-resources and other parameters are mixed, then only the listed
 * ones are signed, sorted by name, with decoded values ('+' kept), and
 * "?uploads" and "?uploads=" stay distinct. */
static void canonical_resource(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"date", "Sat, 09 Mar 2024 17:05:42 GMT", "authorization", "AWS a:b",
                        NULL};

    (void)state;
    make_request(&r, "GET",
                 "/b/k%20y?versionId=v%2B1&max-keys=3&response-content-type=a%2Fb+c&acl&"
                 "prefix=p&uploads=&Acl=x",
                 kv);
    assert_string_equal(sts_of(&r, NULL), "GET\n\n\nSat, 09 Mar 2024 17:05:42 GMT\n"
                                          "/b/k%20y?acl&response-content-type=a/b+c&uploads="
                                          "&versionId=v+1");
    /* A bare path-style bucket is signed as "/b/" (and "/b" is accepted). */
    make_request(&r, "GET", "/bkt?uploads", kv);
    assert_string_equal(sts_of(&r, NULL),
                        "GET\n\n\nSat, 09 Mar 2024 17:05:42 GMT\n/bkt/?uploads");
    make_request(&r, "GET", "/?uploads", kv);
    assert_string_equal(sts_of(&r, NULL), "GET\n\n\nSat, 09 Mar 2024 17:05:42 GMT\n/?uploads");
    /* A Host that is not under the vhost domain is path style. */
    add_header(&r, "host", "other.example:80");
    assert_string_equal(sts_of(&r, "s3.example"),
                        "GET\n\n\nSat, 09 Mar 2024 17:05:42 GMT\n/?uploads");
    r.headers[r.n_headers - 1].value = GW_STR("bk.S3.Example:80");
    assert_string_equal(sts_of(&r, "s3.example"),
                        "GET\n\n\nSat, 09 Mar 2024 17:05:42 GMT\n/bk/?uploads");
}

/* If a query parameter chooses the operation, then SigV2 signs it, in
 * whatever spelling it arrives: a signed ListObjects plus "&policyStatus"
 * (or "&%61cl") is no longer a valid GetBucketPolicyStatus (GetBucketAcl). */
static void selectors_signed(void **state)
{
    const char *date = "Sat, 09 Mar 2024 17:05:42 GMT";
    const char *kv[] = {"date", date, "authorization", NULL, NULL};
    const char *sel;
    struct s3_http_request r;
    char sig[29];

    (void)state;
    kv[3] = "AWS a:b";
    for (size_t i = 0; (sel = s3_router_selector(i)) != NULL; i++) {
        make_request(&r, "GET", gw_arena_printf(&arena, "/b/k?max-keys=1&%s", sel), kv);
        assert_string_equal(sts_of(&r, NULL),
                            gw_arena_printf(&arena, "GET\n\n\n%s\n/b/k?%s", date, sel));
    }
    assert_false(s3_router_is_selector(GW_STR("list-type")));
    make_request(&r, "GET", "/b?%61cl&policy%53tatus", kv);
    assert_string_equal(sts_of(&r, NULL),
                        gw_arena_printf(&arena, "GET\n\n\n%s\n/b/?acl&policyStatus", date));
    /* A ListObjects signature does not carry over. */
    s3__sigv2_sign(GW_STR("s"), gw_str_c(gw_arena_printf(&arena, "GET\n\n\n%s\n/b/", date)),
                   sig);
    kv[3] = gw_arena_printf(&arena, "AWS ak:%s", sig);
    make_request(&r, "GET", "/b", kv);
    assert_int_equal(verify_now(&r, "s", NULL), GW_OK);
    make_request(&r, "GET", "/b?policyStatus", kv);
    assert_int_equal(verify_now(&r, "s", NULL), GW_ERR_BAD_SIGNATURE);
    make_request(&r, "GET", "/b?%61cl", kv);
    assert_int_equal(verify_now(&r, "s", NULL), GW_ERR_BAD_SIGNATURE);
}

/* If a path-style request names only a bucket, then a signature over
 * "/bkt/" (S3, botocore) or over "/bkt" verifies, and nothing else does. */
static void bare_bucket_forms(void **state)
{
    const char *resources[] = {"/bkt/", "/bkt", "/bkt//", "/bkt/?acl"};
    const int want[] = {GW_OK, GW_OK, GW_ERR_BAD_SIGNATURE, GW_ERR_BAD_SIGNATURE};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        struct s3_http_request r;
        const char *sts = gw_arena_printf(&arena, "PUT\n\n\n%s\n%s",
                                          "Sat, 09 Mar 2024 17:05:42 GMT", resources[i]);
        char sig[29];
        const char *kv[] = {"date", "Sat, 09 Mar 2024 17:05:42 GMT", "authorization", NULL,
                            NULL};

        s3__sigv2_sign(GW_STR("s"), gw_str_c(sts), sig);
        kv[3] = gw_arena_printf(&arena, "AWS ak:%s", sig);
        make_request(&r, "PUT", "/bkt", kv);
        assert_int_equal(verify_now(&r, "s", NULL), want[i]);
    }
}

/* If x-amz-* headers repeat in any case, with blanks around values, then
 * they are lower-cased, trimmed, sorted stably and joined with ','. */
static void canonical_amz_headers(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"x-amz-meta-b", " 2 ", "X-AMZ-META-A", "x", "x-amz-meta-b", "1",
                        "content-type", " text/plain ", "x-amz-date",
                        "Sat, 09 Mar 2024 17:05:42 GMT", "date", "ignored", "x-amz-meta-e", "",
                        "authorization", "AWS a:b", NULL};

    (void)state;
    make_request(&r, "PUT", "/b/k", kv);
    assert_string_equal(sts_of(&r, NULL), "PUT\n\ntext/plain\n\n"
                                          "x-amz-date:Sat, 09 Mar 2024 17:05:42 GMT\n"
                                          "x-amz-meta-a:x\nx-amz-meta-b:2,1\nx-amz-meta-e:\n/b/k");
}

/* If the header date is more than the allowed skew away, then the request
 * is TIME_SKEWED (checked before the signature); at the limit it passes. */
static void clock_skew(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"host", "s3.amazonaws.com", "date", "Wed, 28 Mar 2007 01:29:59 +0000",
                        "authorization", DOC_AUTH "qGdzdERIC03wnaRNKh6OqZehG9s=", NULL};
    struct s3_sigv2 auth;
    int64_t t;

    (void)state;
    make_request(&r, "GET", "/", kv);
    assert_int_equal(s3_sigv2_parse(&r, &arena, &auth), GW_OK);
    t = auth.time;
    assert_int_equal(t, 1175045399);
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, t + 900), GW_OK);
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, t - 900), GW_OK);
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, t + 901), GW_ERR_TIME_SKEWED);
    assert_int_equal(verify_at(&r, DOC_SECRET, NULL, t - 901), GW_ERR_TIME_SKEWED);
    assert_int_equal(verify_at(&r, "wrong", NULL, t + 901), GW_ERR_TIME_SKEWED);
    assert_int_equal(verify_at(&r, "wrong", NULL, t), GW_ERR_BAD_SIGNATURE);
}

/* If dates come in the forms clients send, then they all read the same
 * instant; garbage does not parse. */
static void dates(void **state)
{
    const int64_t want = 1175045399; /* 2007-03-28T01:29:59Z */
    const char *ok[] = {
        "Wed, 28 Mar 2007 01:29:59 GMT",   "Wed, 28 Mar 2007 01:29:59 +0000",
        "Wed, 28 Mar 2007 01:29:59 UTC",   "Wed, 28 Mar 2007 03:29:59 +0200",
        "Tue, 27 Mar 2007 20:59:59 -0430", "Wednesday, 28-Mar-07 01:29:59 GMT",
        "Wed Mar 28 01:29:59 2007",        "20070328T012959Z",
        "  Wed, 28 Mar 2007 01:29:59 Z ",
    };
    const char *bad[] = {
        "", "Wed, 28 Mar 2007 01:29:59", "Wed, 28 Mar 2007 01:29:59 +2400",
        "Wed, 28 Mar 2007 01:29:59 +01", "Wed, 28 Mar 2007 01:29:59 CET",
        "Wed, 32 Mar 2007 01:29:59 GMT", "1175045399", "20070328T012959",
        "Wed, 28 Mar 2007 01:29:59 +00a0", "x +0000",
    };
    int64_t t = 0;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        t = 0;
        if (!s3__sigv2_parse_date(gw_str_c(ok[i]), &t) || t != want) {
            fail_msg("date \"%s\" -> %lld", ok[i], (long long)t);
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (s3__sigv2_parse_date(gw_str_c(bad[i]), &t)) {
            fail_msg("date \"%s\" parsed", bad[i]);
        }
    }
}

/* Parse @target with the NULL-terminated headers @kv. */
static int parse_only(const char *target, const char *const *kv)
{
    struct s3_http_request r;
    struct s3_sigv2 auth;

    make_request(&r, "GET", target, kv);
    return s3_sigv2_parse(&r, &arena, &auth);
}

/* If the Authorization header is not "AWS AKID:signature" or the request
 * has no usable date, then parsing fails the way S3 answers. */
static void malformed_header(void **state)
{
    const char *date = "Wed, 28 Mar 2007 01:29:59 GMT";
    const struct {
        const char *authz;
        const char *date;
        int rv;
    } cases[] = {
        {"AWS ", date, GW_ERR_INVALID_ARGUMENT},
        {"AWS AKID", date, GW_ERR_INVALID_ARGUMENT},
        {"AWS :c2ln", date, GW_ERR_INVALID_ARGUMENT},
        {"AWS AKID:", date, GW_ERR_INVALID_ARGUMENT},
        {"AWS  :  ", date, GW_ERR_INVALID_ARGUMENT},
        {"AWS4-HMAC-SHA256 Credential=x", date, GW_ERR_UNSUPPORTED_AUTH},
        {"Bearer abc", date, GW_ERR_UNSUPPORTED_AUTH},
        {"AWSAKID:sig", date, GW_ERR_UNSUPPORTED_AUTH},
        {"aws AKID:sig", date, GW_ERR_UNSUPPORTED_AUTH},
        {"AWS AKID:sig", NULL, GW_ERR_ACCESS_DENIED},
        {"AWS AKID:sig", "yesterday", GW_ERR_ACCESS_DENIED},
        {"AWS AKID:sig", "", GW_ERR_ACCESS_DENIED},
        {"AWS AKID:sig", date, GW_OK},
        {"AWS a:b:c2ln", date, GW_OK}, /* the last ':' splits */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *kv[] = {"authorization", cases[i].authz, "date", cases[i].date, NULL};

        if (cases[i].date == NULL) {
            kv[2] = NULL;
        }
        if (parse_only("/b/k", kv) != cases[i].rv) {
            fail_msg("case %zu (%s): %d, want %d", i, cases[i].authz, parse_only("/b/k", kv),
                     cases[i].rv);
        }
    }
}

/* If the query authentication is incomplete or malformed, or mixed with a
 * header, then parsing fails the way S3 answers. */
static void malformed_query(void **state)
{
    const char *none[] = {NULL};
    const char *hdr[] = {"authorization", "AWS a:b", "date", "Wed, 28 Mar 2007 01:29:59 GMT",
                         NULL};
    const struct {
        const char *target;
        int rv;
    } cases[] = {
        {"/b/k", GW_ERR_UNSUPPORTED_AUTH},
        {"/b/k?prefix=AWSAccessKeyId", GW_ERR_UNSUPPORTED_AUTH},
        {"/b/k?AWSAccessKeyId=a&Signature=b", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=a&Expires=1", GW_ERR_ACCESS_DENIED},
        {"/b/k?Signature=b&Expires=1", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=&Signature=b&Expires=1", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=a&Signature=b&Expires=", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=a&Signature=b&Expires=12a", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=a&Signature=b&Expires=-5", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=a&Signature=b&Expires=9999999999999999999", GW_ERR_ACCESS_DENIED},
        {"/b/k?AWSAccessKeyId=a&Signature=b%zz&Expires=1", GW_ERR_BAD_REQUEST},
        {"/b/k?AWSAccessKeyId=a&Signature=not-base64&Expires=1", GW_OK},
        {"/b/k?Expires=1&Signature=b&AWSAccessKeyId=a%20b", GW_OK},
    };
    struct s3_http_request r;
    struct s3_sigv2 auth;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (parse_only(cases[i].target, none) != cases[i].rv) {
            fail_msg("case %zu (%s): %d, want %d", i, cases[i].target,
                     parse_only(cases[i].target, none), cases[i].rv);
        }
    }
    assert_int_equal(parse_only("/b/k?AWSAccessKeyId=a&Signature=b&Expires=1", hdr),
                     GW_ERR_INVALID_ARGUMENT);
    /* An undecodable signature parses but never verifies. */
    make_request(&r, "GET", "/b/k?AWSAccessKeyId=a&Signature=not-base64&Expires=100", none);
    assert_int_equal(s3_sigv2_parse(&r, &arena, &auth), GW_OK);
    assert_false(auth.has_signature);
    assert_int_equal(s3_sigv2_verify(&auth, GW_STR("s"), &r, GW_STR_NULL, &arena, 50, 900),
                     GW_ERR_BAD_SIGNATURE);
}

/* If a request is signed with s3__sigv2_sign, then verify accepts it with
 * that secret only; a signature sent with an unencoded '+' still works. */
static void signer_round_trip(void **state)
{
    struct s3_http_request r;
    const char *kv[] = {"host", "gw:9000", "x-amz-meta-k", "v", NULL};
    struct s3_sigv2 auth = {.is_presigned = true, .date_line = GW_STR("2000000000")};
    struct gw_str sts;
    char sig[29];
    const char *target;

    (void)state;
    make_request(&r, "GET", "/b/%E2%82%AC?uploadId=u", kv);
    for (int i = 0; i < 64; i++) {
        char secret[16];

        snprintf(secret, sizeof secret, "secret-%d", i);
        assert_int_equal(s3__sigv2_string_to_sign(&auth, &r, GW_STR_NULL, false, &arena, &sts),
                         GW_OK);
        s3__sigv2_sign(gw_str_c(secret), sts, sig);
        target = gw_arena_printf(&arena,
                                 "/b/%%E2%%82%%AC?uploadId=u&AWSAccessKeyId=AK&Expires=2000000000"
                                 "&Signature=%s",
                                 sig); /* raw: '+', '/' and '=' unencoded */
        r.target = gw_str_c(target);
        assert_int_equal(verify_at(&r, secret, NULL, 1999999999), GW_OK);
        assert_int_equal(verify_at(&r, "other", NULL, 1999999999), GW_ERR_BAD_SIGNATURE);
        r.target = gw_str_c("/b/%E2%82%AC?uploadId=u");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(doc_object_get, setup, teardown),
        cmocka_unit_test_setup_teardown(doc_put_list_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(doc_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(doc_delete_x_amz_date, setup, teardown),
        cmocka_unit_test_setup_teardown(doc_query, setup, teardown),
        cmocka_unit_test_setup_teardown(botocore_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(presigned_query_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(canonical_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(bare_bucket_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(selectors_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(canonical_amz_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(clock_skew, setup, teardown),
        cmocka_unit_test_setup_teardown(dates, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_header, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_query, setup, teardown),
        cmocka_unit_test_setup_teardown(signer_round_trip, setup, teardown),
    };

    return cmocka_run_group_tests_name("s3/sigv2", tests, NULL, NULL);
}
