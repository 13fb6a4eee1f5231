/* Bucket policy operations: PutBucketPolicy, GetBucketPolicy,
 * DeleteBucketPolicy, GetBucketPolicyStatus.  Who may call them was decided
 * by authorize() (s3/service.c): the owner, root and admins always, others
 * when the policy itself grants the action.
 *
 * Every operation first checks the bucket directory on the pool (NoSuchBucket),
 * then:
 *   Put:    read the body (at most 20 KiB) -> Content-MD5 when sent ->
 *           s3_policy_parse (MalformedPolicy with the reason in the log) ->
 *           propose policy_put -> 204.
 *   Get:    the stored document exactly as it was put (NoSuchBucketPolicy).
 *   Delete: propose policy_delete -> 204 (idempotent).
 *   Status: parse the stored document -> <PolicyStatus><IsPublic>.
 * Reads come from the local replica (a read index arrives with Raft). */
#include <stdio.h>

#include "policy.h"
#include "req.h"
#include "xml_out.h"
#include "unigw/checksum.h"
#include "unigw/err.h"

struct policy_op {
    struct s3_req *q;
    int rv;
    struct gw_buf cmd;
};

static void policy_op_free(void *arg)
{
    struct policy_op *o = arg;

    gw_buf_free(&o->cmd);
}

static void stat_work_cb(struct gw_pool_job *job)
{
    struct policy_op *o = job->data;
    struct stat st;

    o->rv = s3__bucket_stat(o->q->svc, o->q->rt.bucket, &st);
}

static void proposed_cb(void *arg, int rv, int result)
{
    struct policy_op *o = arg;
    struct s3_req *q = o->q;

    if (rv == 0) {
        rv = result;
    }
    /* A bucket made through POSIX has no record, hence no policy to delete. */
    if (rv == GW_ERR_NO_SUCH_BUCKET && q->rt.op == S3_OP_DELETE_BUCKET_POLICY) {
        rv = GW_OK;
    }
    if (rv == GW_ERR_NO_SUCH_BUCKET) {
        s3_req_errmsg(q, "policy: the bucket has no metadata record (made through POSIX?)");
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    s3_req_respond_empty(q, 204);
}

static int propose(struct policy_op *o, struct gw_str doc)
{
    struct s3_req *q = o->q;
    struct meta_cmd_hdr h;
    int rv = meta_cmd_hdr_init(&h, (uint64_t)q->now * 1000, gw_str_c(q->user));

    if (rv == 0 && doc.p != NULL) {
        rv = meta_cmd_policy_put(&o->cmd, &h, q->rt.bucket, doc);
    } else if (rv == 0) {
        rv = meta_cmd_policy_delete(&o->cmd, &h, q->rt.bucket);
    }
    if (rv == 0) {
        rv = meta_propose(q->svc->proposer, &o->cmd, proposed_cb, o);
    }
    return rv;
}

/* Content-MD5 is optional; when sent it must be base64 of 16 bytes and match. */
static int check_md5(struct s3_req *q, struct gw_str body)
{
    struct gw_str h = s3_header_get(q->http, "content-md5");
    unsigned char want[GW_MD5_LEN + 2], got[GW_MD5_LEN];
    size_t n = 0;

    if (h.p == NULL) {
        return GW_OK;
    }
    if (!gw_base64_decode(h, want, sizeof want, &n) || n != GW_MD5_LEN) {
        return GW_ERR_INVALID_DIGEST;
    }
    gw_md5(body.p, body.len, got);
    return memcmp(want, got, GW_MD5_LEN) == 0 ? GW_OK : GW_ERR_BAD_DIGEST;
}

/* Store the document with its users bound to their ids. */
static int propose_bound(struct policy_op *o, struct gw_str body)
{
    struct s3_req *q = o->q;
    struct gw_buf bound = GW_BUF_INIT;
    char err[sizeof q->errmsg];
    int rv = s3_policy_bind_users(q->svc->meta, body, &bound, err, sizeof err);

    if (rv == GW_ERR_MALFORMED_POLICY) {
        s3_req_errmsg(q, "policy: %s", err);
    }
    if (rv == 0) {
        rv = propose(o, gw_buf_str(&bound));
    }
    gw_buf_free(&bound);
    return rv;
}

static void put_body_cb(struct s3_req *q, int rv, struct gw_str body)
{
    struct policy_op *o = q->op;
    struct s3_policy *p = NULL;
    char err[sizeof q->errmsg];

    if (rv == GW_ERR_MALFORMED_XML) {
        s3_req_errmsg(q, "policy: the document is larger than %d bytes", S3_POLICY_MAX_LEN);
        rv = GW_ERR_MALFORMED_POLICY;
    }
    if (rv == 0) {
        rv = check_md5(q, body);
    }
    if (rv == 0) {
        rv = s3_policy_parse(body, q->rt.bucket, &p, err, sizeof err);
        if (rv != 0) {
            s3_req_errmsg(q, "policy: %s", err);
        }
        s3_policy_unref(p);
    }
    if (rv == 0) {
        rv = propose_bound(o, body);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
    }
}

static void doc_written_cb(struct s3_exchange *x, int rv, void *arg)
{
    struct s3_req *q = arg;

    (void)rv; /* a failed write is the client's loss; node closes the connection */
    gw_buf_free(&q->body_out);
    s3_resp_end(x);
}

/* The document goes back byte for byte, as JSON (the XML helpers would label it XML). */
static void respond_doc(struct s3_req *q)
{
    s3_req_header(q, "Content-Type", "application/json");
    s3_resp_start(q->x, 200, q->hdrs, q->n_hdrs, (int64_t)q->body_out.len);
    if (gw_str_eq_c(q->http->method, "HEAD") ||
        s3_resp_write(q->x, q->body_out.data, q->body_out.len, doc_written_cb, q) != 0) {
        gw_buf_free(&q->body_out);
        s3_resp_end(q->x);
    }
}

static void respond_status(struct s3_req *q)
{
    struct s3_policy *p = NULL;
    struct s3_xml_writer w;
    char err[sizeof q->errmsg];
    struct gw_buf doc = q->body_out;
    int rv;

    q->body_out = (struct gw_buf){0};
    rv = s3_policy_cache_get(q->svc->policy_cache, q->rt.bucket, gw_buf_str(&doc), &p, err,
                             sizeof err);
    gw_buf_free(&doc);
    if (rv != 0) {
        s3_req_errmsg(q, "policy: the stored policy does not parse: %s", err);
        s3_err_respond(q, GW_ERR_INTERNAL);
        return;
    }
    s3_xml_begin(&w, &q->body_out, "PolicyStatus", S3_XML_NS);
    s3_xml_elem_bool(&w, "IsPublic", s3_policy_is_public(p));
    s3_xml_end(&w);
    s3_policy_unref(p);
    s3_req_respond_xml(q, 200);
}

/* The stored document into q->body_out, its user ids shown as ARNs. */
static int stored_doc_shown(struct s3_req *q)
{
    struct gw_buf doc = GW_BUF_INIT;
    int rv = meta_policy_get(q->svc->meta, q->rt.bucket, &doc);

    if (rv == 0) {
        rv = s3_policy_show_users(q->svc->meta, gw_buf_str(&doc), &q->body_out);
    }
    gw_buf_free(&doc);
    return rv;
}

static void stat_done_cb(struct gw_pool_job *job)
{
    struct policy_op *o = job->data;
    struct s3_req *q = o->q;
    int rv = o->rv;

    if (rv == 0 && q->rt.op == S3_OP_PUT_BUCKET_POLICY) {
        s3__read_small_body(q, S3_POLICY_MAX_LEN, put_body_cb);
        return;
    }
    if (rv == 0 && q->rt.op == S3_OP_DELETE_BUCKET_POLICY) {
        rv = propose(o, GW_STR_NULL);
    } else if (rv == 0 && q->rt.op == S3_OP_GET_BUCKET_POLICY) {
        rv = stored_doc_shown(q);
    } else if (rv == 0) {
        rv = meta_policy_get(q->svc->meta, q->rt.bucket, &q->body_out);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
    } else if (q->rt.op == S3_OP_GET_BUCKET_POLICY) {
        respond_doc(q);
    } else if (q->rt.op == S3_OP_GET_BUCKET_POLICY_STATUS) {
        respond_status(q);
    }
}

void s3_op_policy(struct s3_req *q)
{
    struct policy_op *o = gw_arena_zalloc(q->a, sizeof *o);

    o->q = q;
    q->op = o;
    gw_arena_defer(q->a, policy_op_free, o);
    gw_pool_submit(q->x->pool, &q->job, stat_work_cb, stat_done_cb, o);
}
