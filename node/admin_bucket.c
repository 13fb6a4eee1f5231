/* The bucket and policy routes of the admin API (see admin_api.h).
 *
 * A bucket is a top-level directory of the mount plus its record in the
 * metadata store.  Create: check the owner -> mkdir (pool) -> propose the
 * record -> 201; when the proposal fails the directory is removed again
 * (pool), as S3 CreateBucket does.  Delete: rmdir (pool; fails when not
 * empty) -> propose the record's deletion.  A directory made through POSIX
 * has no record and belongs to root; set-owner and policy changes first
 * register it (ensure_record), since the store keeps owners and policies on
 * the record. */
#include <string.h>

#include <jansson.h>

#include "admin_op.h"
#include "unigw/err.h"

/* The owner of bucket @name: its record, or root for a directory made
 * through POSIX (@mb zeroed, owner root, created 0). */
static bool bucket_record(struct adm_op *o, struct gw_str name, struct meta_bucket *mb)
{
    if (meta_bucket_get(o->adm->meta, name, mb) == 0) {
        return true;
    }
    memset(mb, 0, sizeof *mb);
    strcpy(mb->owner, ADM_ROOT_USER);
    mb->owner_len = strlen(ADM_ROOT_USER);
    return false;
}

static json_t *bucket_json(struct adm_op *o, struct gw_str name)
{
    struct meta_bucket mb;
    struct gw_buf pol = GW_BUF_INIT;
    bool has_record = bucket_record(o, name, &mb);
    bool has_policy = has_record && meta_policy_get(o->adm->meta, name, &pol) == 0;

    gw_buf_free(&pol);
    return json_pack("{s:s%, s:s, s:o, s:b, s:b}", "name", name.p, name.len, "owner", mb.owner,
                     "created", node__adm_json_time(mb.created_ms), "registered", has_record, "policy",
                     has_policy);
}

static void respond_no_bucket(struct adm_op *o)
{
    node__adm_respond_err(o, 404, "NoSuchBucket", "The bucket '%.*s' does not exist.", (int)o->name.len,
                o->name.p);
}

/* Answer a pool job's failure, or go on with @next. */
static void dir_step_done(struct adm_op *o, adm_step_cb next)
{
    if (o->rv == GW_ERR_NO_SUCH_BUCKET) {
        respond_no_bucket(o);
    } else if (o->rv != 0) {
        node__adm_respond_rv(o, o->rv);
    } else {
        next(o);
    }
}

static void list_work_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    o->rv = s3_bucket_dir_list(o->adm->s3, o->x->arena, &o->dirs, &o->n_dirs);
}

static void list_done_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;
    json_t *arr;

    if (o->rv != 0) {
        node__adm_respond_rv(o, o->rv);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < o->n_dirs; i++) {
        json_array_append_new(arr, bucket_json(o, o->dirs[i]));
    }
    node__adm_respond_json(o, 200, json_pack("{s:o}", "buckets", arr));
}

static void exists_work_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    o->rv = s3_bucket_dir_exists(o->adm->s3, o->name);
}

static void show_step(struct adm_op *o)
{
    node__adm_respond_json(o, 200, bucket_json(o, o->name));
}

static void show_done_cb(struct gw_pool_job *job)
{
    dir_step_done(job->data, show_step);
}

static void undo_work_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    if (o->made_dir) {
        s3_bucket_dir_remove(o->adm->s3, o->name);
    }
}

static void undo_done_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    if (o->rv == GW_ERR_BUCKET_EXISTS || o->rv == GW_ERR_BUCKET_OWNED_BY_YOU) {
        node__adm_respond_err(o, 409, "BucketAlreadyExists", "The bucket '%.*s' already exists.",
                    (int)o->name.len, o->name.p);
        return;
    }
    node__adm_respond_rv(o, o->rv);
}

static void created_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    o->rv = node__adm_result(rv, result);
    if (o->rv == 0) {
        node__adm_respond_json(o, 201, bucket_json(o, o->name));
        return;
    }
    gw_pool_submit(o->x->pool, &o->job, undo_work_cb, undo_done_cb, o);
}

static void mkdir_work_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    o->rv = s3_bucket_dir_create(o->adm->s3, o->name);
    o->made_dir = o->rv == 0;
}

static void mkdir_done_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;
    struct meta_cmd_hdr h;
    int rv = o->rv;

    if (rv == GW_ERR_EXISTS) {
        rv = GW_ERR_BUCKET_EXISTS;
    }
    if (rv == 0) {
        rv = node__adm_hdr_make(o, &h);
    }
    if (rv == 0) {
        rv = meta_cmd_bucket_create(&o->cmd, &h, o->name, o->owner, gw_str_c(o->adm->region));
    }
    if (rv == 0) {
        rv = meta_propose(o->adm->prop, &o->cmd, created_cb, o);
    }
    if (rv != 0) {
        o->rv = rv;
        gw_pool_submit(o->x->pool, &o->job, undo_work_cb, undo_done_cb, o);
    }
}

/* The owner a route names must be a user. */
static bool owner_known(struct adm_op *o)
{
    struct meta_user u;

    if (meta_user_get(o->adm->meta, o->owner, &u) == 0) {
        return true;
    }
    node__adm_respond_err(o, 404, "NoSuchUser", "The owner '%.*s' does not exist.", (int)o->owner.len,
                o->owner.p);
    return false;
}

static void bucket_create(struct adm_op *o)
{
    if (owner_known(o)) {
        gw_pool_submit(o->x->pool, &o->job, mkdir_work_cb, mkdir_done_cb, o);
    }
}

static void deleted_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    /* The directory is gone; a missing record (a POSIX-made bucket) is fine. */
    rv = node__adm_result(rv, result);
    if (rv != 0 && rv != GW_ERR_NO_SUCH_BUCKET) {
        node__adm_respond_rv(o, rv);
        return;
    }
    node__adm_respond_json(o, 200, json_pack("{s:s%}", "deleted", o->name.p, o->name.len));
}

static void rmdir_work_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    o->rv = s3_bucket_dir_remove(o->adm->s3, o->name);
}

static void delete_step(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv = node__adm_hdr_make(o, &h);

    if (rv == 0) {
        rv = meta_cmd_bucket_delete(&o->cmd, &h, o->name);
    }
    node__adm_propose(o, rv, deleted_cb);
}

static void rmdir_done_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    if (o->rv == GW_ERR_BUCKET_NOT_EMPTY) {
        node__adm_respond_err(o, 409, "BucketNotEmpty", "The bucket '%.*s' is not empty.",
                    (int)o->name.len, o->name.p);
        return;
    }
    dir_step_done(o, delete_step);
}

/* ---- Records for POSIX-made buckets, owners ------------------------------ */

static void record_made_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    rv = node__adm_result(rv, result);
    if (rv != 0 && rv != GW_ERR_BUCKET_EXISTS && rv != GW_ERR_BUCKET_OWNED_BY_YOU) {
        node__adm_respond_rv(o, rv);
        return;
    }
    o->then(o);
}

/* The directory exists without a record: register it for o->owner (root when
 * the route names none), then go on. */
static void record_make(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    struct gw_str owner = o->owner.len > 0 ? o->owner : GW_STR(ADM_ROOT_USER);
    int rv = node__adm_hdr_make(o, &h);

    if (rv == 0) {
        rv = meta_cmd_bucket_create(&o->cmd, &h, o->name, owner, gw_str_c(o->adm->region));
    }
    node__adm_propose(o, rv, record_made_cb);
}

static void ensure_done_cb(struct gw_pool_job *job)
{
    dir_step_done(job->data, record_make);
}

/* Make sure bucket o->name has a record, then run @then. */
static void ensure_record(struct adm_op *o, adm_step_cb then)
{
    struct meta_bucket mb;

    o->then = then;
    if (meta_bucket_get(o->adm->meta, o->name, &mb) == 0) {
        then(o);
        return;
    }
    gw_pool_submit(o->x->pool, &o->job, exists_work_cb, ensure_done_cb, o);
}

static void owner_set_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_NO_SUCH_BUCKET) {
        respond_no_bucket(o);
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else {
        node__adm_respond_json(o, 200, bucket_json(o, o->name));
    }
}

static void owner_step(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv = node__adm_hdr_make(o, &h);

    if (rv == 0) {
        rv = meta_cmd_bucket_set_owner(&o->cmd, &h, o->name, o->owner);
    }
    node__adm_propose(o, rv, owner_set_cb);
}

static void bucket_set_owner(struct adm_op *o)
{
    if (owner_known(o)) {
        ensure_record(o, owner_step);
    }
}

/* ---- Policies ------------------------------------------------------------ */

static void policy_get(struct adm_op *o)
{
    struct gw_buf pol = GW_BUF_INIT, stored = GW_BUF_INIT;
    int rv = meta_policy_get(o->adm->meta, o->name, &stored);

    if (rv == 0) {
        rv = s3_policy_show_users(o->adm->meta, gw_buf_str(&stored), &pol);
    }
    gw_buf_free(&stored);

    if (rv == GW_ERR_NO_SUCH_POLICY) {
        node__adm_respond_err(o, 404, "NoSuchBucketPolicy", "The bucket '%.*s' has no policy.",
                    (int)o->name.len, o->name.p);
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else {
        gw_buf_append_c(&pol, "\n");
        node__adm_respond_text(o, 200, pol.data, pol.len);
    }
    gw_buf_free(&pol);
}

static void policy_changed_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_NO_SUCH_BUCKET) {
        respond_no_bucket(o);
    } else if (rv == GW_ERR_MALFORMED_POLICY) {
        node__adm_respond_err(o, 400, "MalformedPolicy", "The policy document was refused.");
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else {
        node__adm_respond_json(o, 200, json_pack("{s:s%, s:b}", "bucket", o->name.p, o->name.len,
                                       "policy", gw_str_eq_c(o->x->req.method, "PUT")));
    }
}

/* The document is validated by the S3 policy engine, as PutBucketPolicy does. */
static void policy_put_step(struct adm_op *o)
{
    struct gw_buf bound = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    char err[256];
    int rv = s3_policy_validate(gw_buf_str(&o->body), o->name, err, sizeof err);

    if (rv == 0) {
        rv = s3_policy_bind_users(o->adm->meta, gw_buf_str(&o->body), &bound, err, sizeof err);
    }
    if (rv == GW_ERR_MALFORMED_POLICY) {
        gw_buf_free(&bound);
        node__adm_respond_err(o, 400, "MalformedPolicy", "%s", err);
        return;
    }
    if (rv == 0) {
        rv = node__adm_hdr_make(o, &h);
    }
    if (rv == 0) {
        rv = meta_cmd_policy_put(&o->cmd, &h, o->name, gw_buf_str(&bound));
    }
    gw_buf_free(&bound);
    node__adm_propose(o, rv, policy_changed_cb);
}

static void policy_delete_step(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv = node__adm_hdr_make(o, &h);

    if (rv == 0) {
        rv = meta_cmd_policy_delete(&o->cmd, &h, o->name);
    }
    node__adm_propose(o, rv, policy_changed_cb);
}

void node__adm_buckets_route(struct adm_op *o, struct gw_str m)
{
    struct gw_str sub = o->n_seg == 3 ? o->seg[2] : GW_STR("");
    struct gw_pool_loop *pl = o->x->pool;

    if (o->n_seg == 1 && gw_str_eq_c(m, "GET")) {
        gw_pool_submit(pl, &o->job, list_work_cb, list_done_cb, o);
    } else if (o->n_seg == 1 && gw_str_eq_c(m, "POST")) {
        if (node__adm_body_json(o) && node__adm_body_string(o, "name", &o->name) &&
            node__adm_body_string(o, "owner", &o->owner)) {
            bucket_create(o);
        }
    } else if (o->n_seg == 2 && gw_str_eq_c(m, "GET")) {
        gw_pool_submit(pl, &o->job, exists_work_cb, show_done_cb, o);
    } else if (o->n_seg == 2 && gw_str_eq_c(m, "DELETE")) {
        gw_pool_submit(pl, &o->job, rmdir_work_cb, rmdir_done_cb, o);
    } else if (gw_str_eq_c(sub, "owner") && gw_str_eq_c(m, "PUT")) {
        if (node__adm_body_json(o) && node__adm_body_string(o, "owner", &o->owner)) {
            bucket_set_owner(o);
        }
    } else if (gw_str_eq_c(sub, "policy") && gw_str_eq_c(m, "GET")) {
        policy_get(o);
    } else if (gw_str_eq_c(sub, "policy") && gw_str_eq_c(m, "PUT")) {
        if (node__adm_body_json(o)) {
            ensure_record(o, policy_put_step);
        }
    } else if (gw_str_eq_c(sub, "policy") && gw_str_eq_c(m, "DELETE")) {
        ensure_record(o, policy_delete_step);
    } else {
        node__adm_respond_err(o, 404, "NoSuchRoute", "No admin route for %.*s %.*s.", (int)m.len, m.p,
                    (int)o->x->req.target.len, o->x->req.target.p);
    }
}
