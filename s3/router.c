/* Routing.  S3 picks the operation from the method, whether a bucket and a
 * key are present, and which sub-resource query parameters are present
 * (?acl, ?location, ?list-type=2, ?delete ...).  Clients differ in spelling
 * (`?uploads` vs `?uploads=`, `/bkt?` vs `/bkt/?`, sdkv3 appends
 * `x-id=PutObject`), so routing looks only at parameter names.  A
 * sub-resource that unigw does not serve is answered with 501
 * NotImplemented rather than silently treated as a plain object request. */
#include <stdlib.h>

#include "router.h"
#include "unigw/err.h"
#include "unigw/log.h"

static const char *const op_names[] = {
#define S3__OP_NAME(name, api, action) api,
    S3_OP_MAP(S3__OP_NAME)
#undef S3__OP_NAME
};

static const char *const op_actions[] = {
#define S3__OP_ACTION(name, api, action) action,
    S3_OP_MAP(S3__OP_ACTION)
#undef S3__OP_ACTION
};

const char *s3_op_name(enum s3_op op)
{
    return op < S3_OP__COUNT ? op_names[op] : "Unknown";
}

const char *s3_op_action(enum s3_op op)
{
    return op < S3_OP__COUNT ? op_actions[op] : "s3:Unknown";
}

static int decode(struct gw_str in, struct gw_arena *a, bool plus_is_space, struct gw_str *out)
{
    char *p = gw_arena_alloc(a, in.len + 1);
    size_t n = 0;

    if (!gw_url_decode(in, p, &n, plus_is_space)) {
        return GW_ERR_BAD_REQUEST;
    }
    p[n] = '\0';
    *out = gw_str_make(p, n);
    return GW_OK;
}

int s3_router_parse_query(struct gw_str query, struct gw_arena *a, struct s3_param **out,
                          size_t *n_out)
{
    size_t cap = 1;
    size_t n = 0;
    struct s3_param *params;
    struct gw_str rest = query;

    for (size_t i = 0; i < query.len; i++) {
        cap += query.p[i] == '&';
    }
    params = gw_arena_zalloc(a, cap * sizeof *params);
    while (rest.len > 0) {
        struct gw_str item;
        struct s3_param *p = &params[n];
        gw_str_split(&rest, '&', &item);
        if (item.len == 0) {
            continue;
        }
        p->has_value = gw_str_split(&item, '=', &p->raw_name);
        p->raw_value = item;
        /* Query values are form-encoded: '+' means a space there. */
        if (decode(p->raw_name, a, true, &p->name) != 0 ||
            decode(p->raw_value, a, true, &p->value) != 0) {
            return GW_ERR_BAD_REQUEST;
        }
        n++;
    }
    *out = params;
    *n_out = n;
    return GW_OK;
}

const struct s3_param *s3_route_param(const struct s3_route *rt, const char *name)
{
    for (size_t i = 0; i < rt->n_params; i++) {
        if (gw_str_eq_c(rt->params[i].name, name)) {
            return &rt->params[i];
        }
    }
    return NULL;
}

/* Sub-resources that exist in S3 but that this version does not serve. */
static const char *const unserved[] = {
    "cors",
    "lifecycle", "website",      "replication", "encryption",  "logging",     "notification",
    "object-lock", "retention",  "legal-hold", "torrent",      "restore",     "select",
    "accelerate", "requestPayment", "inventory", "metrics",    "analytics",   "intelligent-tiering",
    "ownershipControls", "publicAccessBlock", "attributes",
};

/* Every query parameter whose presence (or value) chooses the operation:
 * the ones routed below and the unserved ones.  SigV2 signs only the query
 * parameters it lists, so s3/sigv2.c signs each of these too; selector()
 * asserts that a name is listed here, so a new selector cannot be added
 * (and tested) without SigV2 signing it. */
static const char *const selectors[] = {
    "acl", "delete", "partNumber", "policy", "policyStatus", "tagging",
    "uploadId", "uploads", "location", "versioning", "versions",
};

/* The one selector SigV2 leaves unsigned: list-type=2 picks ListObjectsV2
 * over ListObjects, the same action (s3:ListBucket) on the same listing,
 * whose other parameters (prefix, delimiter, max-keys, markers) SigV2 never
 * signs.  S3 does not sign it either, and botocore's SigV2 presigned URLs
 * for ListObjectsV2 leave it out; signing it would break them for nothing
 * (tests/unit/s3/test_router.c checks both operations share the action). */
static const char *const unsigned_selectors[] = {"list-type"};

static bool in_list(const char *const *list, size_t n, struct gw_str name)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_str_eq_c(name, list[i])) {
            return true;
        }
    }
    return false;
}

bool s3_router_is_selector(struct gw_str name)
{
    return in_list(selectors, sizeof selectors / sizeof selectors[0], name) ||
           in_list(unserved, sizeof unserved / sizeof unserved[0], name);
}

const char *s3_router_selector(size_t i)
{
    size_t n = sizeof selectors / sizeof selectors[0];

    if (i < n) {
        return selectors[i];
    }
    i -= n;
    return i < sizeof unserved / sizeof unserved[0] ? unserved[i] : NULL;
}

/* The parameter @name, which must be a listed selector: an invariant on
 * this file's code, not on input, checked in every build (STYLE 4). */
static const struct s3_param *selector(const struct s3_route *rt, const char *name)
{
    struct gw_str n = gw_str_c(name);

    if (!s3_router_is_selector(n) &&
        !in_list(unsigned_selectors, sizeof unsigned_selectors / sizeof unsigned_selectors[0], n)) {
        GW_LOG(GW_LOG_ERROR, "s3", "msg=\"router: %s is not a listed selector\"", name);
        abort();
    }
    return s3_route_param(rt, name);
}

static bool has(const struct s3_route *rt, const char *name)
{
    return selector(rt, name) != NULL;
}

static bool has_unserved(const struct s3_route *rt)
{
    for (size_t i = 0; i < sizeof unserved / sizeof unserved[0]; i++) {
        if (s3_route_param(rt, unserved[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static int route_service(const struct s3_http_request *r, struct s3_route *rt)
{
    if (gw_str_eq_c(r->method, "GET")) {
        rt->op = S3_OP_LIST_BUCKETS;
        return GW_OK;
    }
    return GW_ERR_METHOD_NOT_ALLOWED;
}

static int route_bucket_get(struct s3_route *rt)
{
    const struct s3_param *lt = selector(rt, "list-type");

    if (has(rt, "policy")) {
        rt->op = S3_OP_GET_BUCKET_POLICY;
    } else if (has(rt, "policyStatus")) {
        rt->op = S3_OP_GET_BUCKET_POLICY_STATUS;
    } else if (has(rt, "tagging")) {
        rt->op = S3_OP_GET_BUCKET_TAGGING;
    } else if (has(rt, "uploads")) {
        rt->op = S3_OP_LIST_MULTIPART_UPLOADS;
    } else if (has(rt, "location")) {
        rt->op = S3_OP_GET_BUCKET_LOCATION;
    } else if (has(rt, "acl")) {
        rt->op = S3_OP_GET_BUCKET_ACL;
    } else if (has(rt, "versioning")) {
        rt->op = S3_OP_GET_BUCKET_VERSIONING;
    } else if (has(rt, "versions")) {
        rt->op = S3_OP_LIST_OBJECT_VERSIONS;
    } else if (has_unserved(rt)) {
        return GW_ERR_NOT_IMPLEMENTED;
    } else if (lt != NULL && gw_str_eq_c(lt->value, "2")) {
        rt->op = S3_OP_LIST_OBJECTS_V2;
    } else {
        rt->op = S3_OP_LIST_OBJECTS;
    }
    return GW_OK;
}

static int route_bucket(const struct s3_http_request *r, struct s3_route *rt)
{
    struct gw_str m = r->method;

    if (gw_str_eq_c(m, "GET")) {
        return route_bucket_get(rt);
    }
    if (gw_str_eq_c(m, "PUT")) {
        rt->op = has(rt, "acl")       ? S3_OP_PUT_BUCKET_ACL
                 : has(rt, "policy")  ? S3_OP_PUT_BUCKET_POLICY
                 : has(rt, "tagging") ? S3_OP_PUT_BUCKET_TAGGING
                                      : S3_OP_CREATE_BUCKET;
    } else if (gw_str_eq_c(m, "HEAD")) {
        rt->op = S3_OP_HEAD_BUCKET;
    } else if (gw_str_eq_c(m, "DELETE")) {
        rt->op = has(rt, "policy")    ? S3_OP_DELETE_BUCKET_POLICY
                 : has(rt, "tagging") ? S3_OP_DELETE_BUCKET_TAGGING
                                      : S3_OP_DELETE_BUCKET;
    } else if (gw_str_eq_c(m, "POST") && has(rt, "delete")) {
        rt->op = S3_OP_DELETE_OBJECTS;
        return GW_OK;
    } else {
        return GW_ERR_METHOD_NOT_ALLOWED;
    }
    return has_unserved(rt) ? GW_ERR_NOT_IMPLEMENTED : GW_OK;
}

/* GetObject/HeadObject ?partNumber=N: a number in 1..10000 and no Range. */
static int check_part_number(const struct s3_http_request *r, const struct s3_route *rt)
{
    uint64_t n = 0;

    if (!gw_str_to_u64(selector(rt, "partNumber")->value, &n) || n < 1 || n > 10000) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (s3_header_get(r, "range").p != NULL) {
        return GW_ERR_INVALID_REQUEST; /* "Cannot specify both Range and partNumber" */
    }
    return GW_OK;
}

static void route_object_put(const struct s3_http_request *r, struct s3_route *rt)
{
    bool is_copy = s3_header_get(r, "x-amz-copy-source").p != NULL;

    if (has(rt, "acl")) {
        rt->op = S3_OP_PUT_OBJECT_ACL;
    } else if (has(rt, "tagging")) {
        rt->op = S3_OP_PUT_OBJECT_TAGGING;
    } else if (has(rt, "uploadId") && has(rt, "partNumber")) {
        rt->op = is_copy ? S3_OP_UPLOAD_PART_COPY : S3_OP_UPLOAD_PART;
    } else {
        rt->op = is_copy ? S3_OP_COPY_OBJECT : S3_OP_PUT_OBJECT;
    }
}

static int route_object(const struct s3_http_request *r, struct s3_route *rt)
{
    struct gw_str m = r->method;
    bool upload = has(rt, "uploadId");

    if (has_unserved(rt)) {
        return GW_ERR_NOT_IMPLEMENTED;
    }
    if (has(rt, "partNumber") && !upload) {
        int rv = check_part_number(r, rt);
        if (rv != 0) {
            return rv;
        }
    }
    if (gw_str_eq_c(m, "GET")) {
        rt->op = has(rt, "acl")       ? S3_OP_GET_OBJECT_ACL
                 : has(rt, "tagging") ? S3_OP_GET_OBJECT_TAGGING
                 : upload             ? S3_OP_LIST_PARTS
                                      : S3_OP_GET_OBJECT;
    } else if (gw_str_eq_c(m, "HEAD")) {
        rt->op = S3_OP_HEAD_OBJECT;
    } else if (gw_str_eq_c(m, "PUT")) {
        route_object_put(r, rt);
    } else if (gw_str_eq_c(m, "DELETE")) {
        rt->op = has(rt, "tagging") ? S3_OP_DELETE_OBJECT_TAGGING
                 : upload           ? S3_OP_ABORT_MULTIPART_UPLOAD
                                    : S3_OP_DELETE_OBJECT;
    } else if (gw_str_eq_c(m, "POST") && has(rt, "uploads")) {
        rt->op = S3_OP_CREATE_MULTIPART_UPLOAD;
    } else if (gw_str_eq_c(m, "POST") && upload) {
        rt->op = S3_OP_COMPLETE_MULTIPART_UPLOAD;
    } else if (gw_str_eq_c(m, "POST")) {
        return GW_ERR_NOT_IMPLEMENTED;
    } else {
        return GW_ERR_METHOD_NOT_ALLOWED;
    }
    return GW_OK;
}

/* Virtual-hosted style: "<bucket>.<domain>[:port]" names the bucket. */
static bool vhost_bucket(const struct s3_http_request *r, const char *domain, struct gw_str *out)
{
    struct gw_str host = s3_header_get(r, "host");
    struct gw_str dom = gw_str_c(domain);
    ptrdiff_t colon;

    if (host.p == NULL || dom.len == 0) {
        return false;
    }
    colon = host.len > 0 && host.p[0] != '[' ? gw_str_chr(host, ':') : -1;
    if (colon >= 0) {
        host.len = (size_t)colon;
    }
    if (host.len <= dom.len + 1 || !gw_str_caseeq(gw_str_make(host.p + host.len - dom.len, dom.len), dom) ||
        host.p[host.len - dom.len - 1] != '.') {
        return false;
    }
    *out = gw_str_make(host.p, host.len - dom.len - 1);
    return true;
}

static int split_path(struct gw_str path, struct gw_arena *a, bool bucket_in_host,
                      struct s3_route *rt)
{
    struct gw_str rest;
    struct gw_str bucket_raw;

    if (path.len == 0 || path.p[0] != '/') {
        return GW_ERR_BAD_REQUEST;
    }
    rest = gw_str_make(path.p + 1, path.len - 1);
    if (!bucket_in_host) {
        gw_str_split(&rest, '/', &bucket_raw);
        if (decode(bucket_raw, a, false, &rt->bucket) != 0) {
            return GW_ERR_BAD_REQUEST;
        }
    }
    /* The key is everything after the bucket, percent-decoded once; '+' is a plus. */
    return decode(rest, a, false, &rt->key) != 0 ? GW_ERR_BAD_REQUEST : GW_OK;
}

int s3_router_route(const struct s3_http_request *r, const char *vhost_domain,
                    struct gw_arena *a, struct s3_route *out)
{
    struct gw_str target = r->target;
    struct gw_str path;
    bool in_host;
    int rv;

    memset(out, 0, sizeof *out);
    out->op = S3_OP_UNSUPPORTED;
    gw_str_split(&target, '?', &path);
    out->raw_path = path;
    rv = s3_router_parse_query(target, a, &out->params, &out->n_params);
    if (rv != 0) {
        return rv;
    }
    in_host = vhost_domain != NULL && vhost_bucket(r, vhost_domain, &out->bucket);
    rv = split_path(path, a, in_host, out);
    if (rv != 0) {
        return rv;
    }
    if (out->bucket.len == 0) {
        return out->key.len == 0 ? route_service(r, out) : GW_ERR_BAD_REQUEST;
    }
    if (out->key.len == 0) {
        return route_bucket(r, out);
    }
    return route_object(r, out);
}
