/* ACL probes.  Access is governed by bucket ownership and (later) bucket
 * policies, not ACLs, but tools probe them: GET answers a well-formed
 * AccessControlPolicy granting the owner FULL_CONTROL, PUT accepts the
 * canned ACLs that change nothing (private, bucket-owner-full-control) and
 * refuses anything else with 501. */
#include <unistd.h>

#include "obj.h"
#include "put_meta.h"
#include "xml_out.h"
#include "unigw/err.h"

struct acl_op {
    struct s3_req *q;
    int rv;
    struct meta_bucket owner;
};

static void exists_work_cb(struct gw_pool_job *job)
{
    struct acl_op *o = job->data;
    struct s3_req *q = o->q;
    struct s3_obj obj;
    struct stat st;

    if (q->rt.key.len == 0) {
        o->rv = s3__bucket_stat(q->svc, q->rt.bucket, &st);
        return;
    }
    o->rv = s3__obj_open(q->svc, q->rt.bucket, q->rt.key, q->a, &obj);
    if (o->rv == 0) {
        close(obj.fd);
    }
}

static void write_policy(struct s3_req *q, const char *owner)
{
    struct s3_xml_writer w;

    s3_xml_begin(&w, &q->body_out, "AccessControlPolicy", S3_XML_NS);
    s3_xml_open(&w, "Owner");
    s3_xml_elem_c(&w, "ID", owner);
    s3_xml_elem_c(&w, "DisplayName", owner);
    s3_xml_close(&w);
    s3_xml_open(&w, "AccessControlList");
    s3_xml_open(&w, "Grant");
    gw_buf_append_c(&q->body_out, "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                                  "xsi:type=\"CanonicalUser\"><ID>");
    s3_xml_escape(&q->body_out, gw_str_c(owner));
    gw_buf_append_c(&q->body_out, "</ID><DisplayName>");
    s3_xml_escape(&q->body_out, gw_str_c(owner));
    gw_buf_append_c(&q->body_out, "</DisplayName></Grantee>");
    s3_xml_elem_c(&w, "Permission", "FULL_CONTROL");
    s3_xml_end(&w);
}

static void exists_done_cb(struct gw_pool_job *job)
{
    struct acl_op *o = job->data;
    struct s3_req *q = o->q;
    const char *owner = "root";

    if (o->rv != 0) {
        s3_err_respond(q, o->rv);
        return;
    }
    if (q->rt.op == S3_OP_PUT_BUCKET_ACL || q->rt.op == S3_OP_PUT_OBJECT_ACL) {
        s3_req_respond_empty(q, 200);
        return;
    }
    if (meta_bucket_get(q->svc->meta, q->rt.bucket, &o->owner) == 0) {
        owner = o->owner.owner;
    }
    write_policy(q, owner);
    s3_req_respond_xml(q, 200);
}

static void acl_body_cb(struct s3_req *q, int rv, struct gw_str body)
{
    struct acl_op *o = q->op;

    if (rv == 0 && body.len > 0) {
        s3_req_errmsg(q, "ACL documents are not supported; access is by bucket policy");
        rv = GW_ERR_NOT_IMPLEMENTED;
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, exists_work_cb, exists_done_cb, o);
}

void s3_op_acl(struct s3_req *q)
{
    struct acl_op *o = gw_arena_zalloc(q->a, sizeof *o);
    int rv;

    o->q = q;
    q->op = o;
    if (q->rt.op == S3_OP_PUT_BUCKET_ACL || q->rt.op == S3_OP_PUT_OBJECT_ACL) {
        rv = s3__put_check_acl(q);
        if (rv != 0) {
            s3_err_respond(q, rv);
            return;
        }
        s3__read_small_body(q, 64 << 10, acl_body_cb);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, exists_work_cb, exists_done_cb, o);
}
