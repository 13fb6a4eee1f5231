/* Stored headers and user metadata from a write request.  Content-Encoding
 * loses its "aws-chunked" token: that framing is transport, not content. */
#include <ctype.h>

#include "put_meta.h"
#include "unigw/err.h"

int s3__put_check_acl(struct s3_req *q)
{
    struct gw_str acl = s3_header_get(q->http, "x-amz-acl");
    struct gw_str sc = s3_header_get(q->http, "x-amz-storage-class");
    static const char *const classes[] = {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA",
                                          "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
                                          "DEEP_ARCHIVE", "GLACIER_IR", "EXPRESS_ONEZONE"};
    bool sc_ok = sc.p == NULL;

    if (acl.p != NULL && !gw_str_eq_c(acl, "private") &&
        !gw_str_eq_c(acl, "bucket-owner-full-control")) {
        s3_req_errmsg(q, "canned ACL '%.*s' is not supported; access is by bucket policy",
                      (int)acl.len, acl.p);
        return GW_ERR_NOT_IMPLEMENTED;
    }
    for (size_t i = 0; i < q->http->n_headers; i++) {
        if (gw_str_has_prefix(q->http->headers[i].name, GW_STR("x-amz-grant-"))) {
            s3_req_errmsg(q, "ACL grants are not supported; access is by bucket policy");
            return GW_ERR_NOT_IMPLEMENTED;
        }
    }
    for (size_t i = 0; i < sizeof classes / sizeof classes[0] && !sc_ok; i++) {
        sc_ok = gw_str_eq_c(sc, classes[i]);
    }
    return sc_ok ? GW_OK : GW_ERR_INVALID_STORAGE_CLASS;
}

/* "aws-chunked" removed from a Content-Encoding list. */
static struct gw_str strip_aws_chunked(struct s3_req *q, struct gw_str ce)
{
    struct gw_buf out = GW_BUF_INIT;
    struct gw_str item;
    struct gw_str res;

    while (ce.len > 0) {
        gw_str_split(&ce, ',', &item);
        item = gw_str_trim(item);
        if (item.len == 0 || gw_str_caseeq_c(item, "aws-chunked")) {
            continue;
        }
        if (out.len > 0) {
            gw_buf_append_c(&out, ",");
        }
        gw_buf_append_str(&out, item);
    }
    res = gw_arena_str(q->a, gw_buf_str(&out));
    gw_buf_free(&out);
    return res;
}

static struct gw_str lower_name(struct s3_req *q, struct gw_str n)
{
    char *p = gw_arena_strndup(q->a, n.p, n.len);

    for (size_t i = 0; i < n.len; i++) {
        p[i] = (char)tolower((unsigned char)p[i]);
    }
    return gw_str_make(p, n.len);
}

static int collect_user_meta(struct s3_req *q, struct s3_objmeta *m)
{
    const struct gw_str prefix = GW_STR("x-amz-meta-");
    size_t total = 0;
    size_t n = 0;

    m->user = gw_arena_zalloc(q->a, (q->http->n_headers + 1) * sizeof *m->user);
    for (size_t i = 0; i < q->http->n_headers; i++) {
        const struct s3_header *h = &q->http->headers[i];
        if (!gw_str_has_prefix(h->name, prefix) || h->name.len == prefix.len) {
            continue;
        }
        struct gw_str name = gw_str_make(h->name.p + prefix.len, h->name.len - prefix.len);
        total += name.len + h->value.len;
        m->user[n].key = lower_name(q, name);
        m->user[n].value = h->value;
        n++;
    }
    m->n_user = n;
    return total > S3_USER_META_MAX ? GW_ERR_METADATA_TOO_LARGE : GW_OK;
}

int s3__put_meta_from_request(struct s3_req *q, struct s3_objmeta *m)
{
    int rv = s3__put_check_acl(q);

    if (rv != 0) {
        return rv;
    }
#define S3__OM_FROM_REQ(f, h) m->f = s3_header_get(q->http, h);
    S3_STORED_HEADERS(S3__OM_FROM_REQ)
#undef S3__OM_FROM_REQ
    if (m->content_encoding.p != NULL) {
        m->content_encoding = strip_aws_chunked(q, m->content_encoding);
    }
    return collect_user_meta(q, m);
}
