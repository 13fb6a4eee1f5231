/* Bucket operations.  A bucket is a top-level directory of the mount; its
 * record in the metadata store (owner, creation time, region) is replicated.
 * A directory made through POSIX is a bucket owned by root until an admin
 * assigns an owner.
 *
 * CreateBucket: mkdir (pool) -> propose bucket_create -> 200; if the
 * proposal fails the directory is removed again (pool).  Re-creating a
 * bucket one owns is 200 in us-east-1 and BucketAlreadyOwnedByYou elsewhere.
 * DeleteBucket: rmdir (pool; fails when not empty), note the bucket's uploads
 *   -> propose bucket_delete (it drops their records) -> remove their staged
 *   parts (pool).
 * Both act on the mount root's fd (mkdirat, unlinkat): a top-level symlink
 * is never a bucket, so it can be neither created over nor removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "list.h"
#include "mpu.h"
#include "req.h"
#include "path.h"
#include "store.h"
#include "xml_in.h"
#include "xml_out.h"
#include "unigw/alloc.h"
#include "unigw/err.h"

#define S3_ROOT_USER "root"

struct bucket_op {
    struct s3_req *q;
    int rv;
    bool made_dir;
    bool retried;
    struct s3_bucket_info *buckets;
    size_t n_buckets;
    struct gw_buf cmd;
    struct meta_upload *uploads; /* DeleteBucket: the bucket's uploads (gw_malloc'ed) */
    size_t n_uploads;
};

static void bucket_op_free(void *arg)
{
    struct bucket_op *b = arg;

    gw_buf_free(&b->cmd);
    gw_free(b->uploads);
}

/* ---- ListBuckets --------------------------------------------------------- */

static void list_work_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;

    b->rv = s3_list_buckets(b->q->svc->store.root_fd, b->q->a, &b->buckets, &b->n_buckets);
}

/* Who owns @name: its record, or root for a directory made through POSIX. */
static void bucket_owner(struct s3_req *q, struct gw_str name, struct meta_bucket *mb)
{
    if (meta_bucket_get(q->svc->meta, name, mb) != 0) {
        memset(mb, 0, sizeof *mb);
        strcpy(mb->owner, S3_ROOT_USER);
        mb->owner_len = strlen(S3_ROOT_USER);
    }
}

static void list_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct s3_req *q = b->q;
    struct s3_xml_writer w;

    if (b->rv != 0) {
        s3_err_respond(q, b->rv);
        return;
    }
    s3_xml_begin(&w, &q->body_out, "ListAllMyBucketsResult", S3_XML_NS);
    s3_xml_open(&w, "Owner");
    s3_xml_elem_c(&w, "ID", q->user);
    s3_xml_elem_c(&w, "DisplayName", q->user);
    s3_xml_close(&w);
    s3_xml_open(&w, "Buckets");
    for (size_t i = 0; i < b->n_buckets; i++) {
        struct meta_bucket mb;
        bucket_owner(q, b->buckets[i].name, &mb);
        if (!q->is_admin && strcmp(mb.owner, q->user) != 0) {
            continue;
        }
        s3_xml_open(&w, "Bucket");
        s3_xml_elem(&w, "Name", b->buckets[i].name);
        s3_xml_elem_time(&w, "CreationDate", mb.created_ms > 0
                                                 ? (int64_t)mb.created_ms * 1000000
                                                 : b->buckets[i].mtime_ns);
        s3_xml_close(&w);
    }
    s3_xml_close(&w);
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

/* ---- CreateBucket -------------------------------------------------------- */

/* @name (checked by the caller: one component, no '/', not a dot name) as
 * a C string for the *at calls on the mount root. */
static void bucket_cname(struct gw_str name, char out[S3_BUCKET_EXISTING_MAX_LEN + 1])
{
    memcpy(out, name.p, name.len);
    out[name.len] = '\0';
}

static void create_undo_work_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    char name[S3_BUCKET_EXISTING_MAX_LEN + 1];

    if (b->made_dir && s3_path_bucket_check_existing(b->q->rt.bucket) == 0) {
        bucket_cname(b->q->rt.bucket, name);
        unlinkat(b->q->svc->store.root_fd, name, AT_REMOVEDIR);
    }
}

static void respond_rv_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    s3_err_respond(b->q, b->rv);
}

static int propose_create(struct bucket_op *b);

/* The directory was gone but its record was not (someone removed the
 * bucket through POSIX): the mount wins, so the stale record is dropped and
 * the create proposed again. */
static void stale_dropped_cb(void *arg, int rv, int result)
{
    struct bucket_op *b = arg;

    if (rv == 0 && (result == 0 || result == GW_ERR_NO_SUCH_BUCKET)) {
        rv = propose_create(b);
    }
    if (rv != 0 || result != 0) {
        b->rv = rv != 0 ? rv : result;
        gw_pool_submit(b->q->x->pool, &b->q->job, create_undo_work_cb, respond_rv_done_cb, b);
    }
}

static bool drop_stale_record(struct bucket_op *b)
{
    struct s3_req *q = b->q;
    struct meta_cmd_hdr h;

    if (b->retried) {
        return false;
    }
    b->retried = true;
    gw_buf_reset(&b->cmd);
    return meta_cmd_hdr_init(&h, (uint64_t)q->now * 1000, gw_str_c(q->user)) == 0 &&
           meta_cmd_bucket_delete(&b->cmd, &h, q->rt.bucket) == 0 &&
           q->svc->proposer->propose(q->svc->proposer, &b->cmd, stale_dropped_cb, b) == 0;
}

static void respond_created(struct s3_req *q)
{
    s3_req_header(q, "Location",
                  gw_arena_printf(q->a, "/%.*s", (int)q->rt.bucket.len, q->rt.bucket.p));
    s3_req_respond_empty(q, 200);
}

static void create_proposed_cb(void *arg, int rv, int result)
{
    struct bucket_op *b = arg;
    struct s3_req *q = b->q;

    if (rv == 0 && (result == GW_ERR_BUCKET_EXISTS || result == GW_ERR_BUCKET_OWNED_BY_YOU) &&
        drop_stale_record(b)) {
        return;
    }
    if (rv == 0) {
        rv = result;
    }
    if (rv == 0) {
        respond_created(q);
        return;
    }
    b->rv = rv;
    gw_pool_submit(q->x->pool, &q->job, create_undo_work_cb, respond_rv_done_cb, b);
}

/* mkdirat on the mount root.  A name taken by a symlink or a file is not a
 * bucket of anyone's: BucketAlreadyExists, and the entry is left alone. */
int s3_bucket_dir_create(struct s3_service *s, struct gw_str name)
{
    char cname[S3_BUCKET_EXISTING_MAX_LEN + 1];
    struct stat st;
    int rv = s3_path_bucket_check_new(name);

    if (rv != 0) {
        return rv;
    }
    bucket_cname(name, cname);
    if (mkdirat(s->store.root_fd, cname, 0755) == 0) {
        return GW_OK;
    }
    if (errno != EEXIST) {
        return gw_err_from_errno(errno);
    }
    if (fstatat(s->store.root_fd, cname, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        return GW_ERR_EXISTS;
    }
    return GW_ERR_BUCKET_EXISTS;
}

static void create_mkdir_work_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    int rv = s3_bucket_dir_create(b->q->svc, b->q->rt.bucket);

    b->made_dir = rv == 0;
    b->rv = rv;
}

static int existing_bucket_error(struct s3_req *q)
{
    struct meta_bucket mb;

    bucket_owner(q, q->rt.bucket, &mb);
    return strcmp(mb.owner, q->user) == 0 ? GW_ERR_BUCKET_OWNED_BY_YOU : GW_ERR_BUCKET_EXISTS;
}

static int propose_create(struct bucket_op *b)
{
    struct s3_req *q = b->q;
    struct meta_cmd_hdr h;
    int rv = meta_cmd_hdr_init(&h, (uint64_t)q->now * 1000, gw_str_c(q->user));

    gw_buf_reset(&b->cmd);
    if (rv == 0) {
        rv = meta_cmd_bucket_create(&b->cmd, &h, q->rt.bucket, gw_str_c(q->user),
                                    gw_str_c(q->svc->region));
    }
    if (rv == 0) {
        rv = q->svc->proposer->propose(q->svc->proposer, &b->cmd, create_proposed_cb, b);
    }
    return rv;
}

static void create_mkdir_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct s3_req *q = b->q;
    int rv = b->rv;

    if (rv == GW_ERR_EXISTS) {
        rv = existing_bucket_error(q);
    }
    /* AWS, for legacy compatibility: re-creating a bucket you own answers
     * 200 OK in us-east-1 and BucketAlreadyOwnedByYou in every other region
     * (the BucketAlreadyOwnedByYou error's documentation).  Nothing was made,
     * so there is nothing to propose. */
    if (rv == GW_ERR_BUCKET_OWNED_BY_YOU && strcmp(q->svc->region, "us-east-1") == 0) {
        respond_created(q);
        return;
    }
    if (rv == 0) {
        rv = propose_create(b);
    }
    if (rv != 0) {
        b->rv = rv;
        gw_pool_submit(q->x->pool, &q->job, create_undo_work_cb, respond_rv_done_cb, b);
    }
}

static void create_body_cb(struct s3_req *q, int rv, struct gw_str body)
{
    struct bucket_op *b = q->op;
    struct gw_str loc = GW_STR_NULL;

    if (rv == 0 && body.len > 0) {
        rv = s3_xml_parse_create_bucket(body, q->a, &loc);
    }
    /* us-east-1 is written as no constraint at all; any other must be ours. */
    if (rv == 0 && loc.len > 0 && !gw_str_eq_c(loc, q->svc->region)) {
        rv = GW_ERR_INVALID_LOCATION;
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, create_mkdir_work_cb, create_mkdir_done_cb, b);
}

static void create_bucket(struct s3_req *q, struct bucket_op *b)
{
    int rv = s3_path_bucket_check_new(q->rt.bucket);
    struct gw_str acl = s3_header_get(q->http, "x-amz-acl");

    if (rv == 0 && acl.p != NULL && !gw_str_eq_c(acl, "private")) {
        s3_req_errmsg(q, "canned ACL '%.*s' is not supported", (int)acl.len, acl.p);
        rv = GW_ERR_NOT_IMPLEMENTED;
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    q->op = b;
    s3__read_small_body(q, S3_XML_CREATE_BUCKET_MAX_LEN, create_body_cb);
}

/* ---- HeadBucket, DeleteBucket -------------------------------------------- */

static void stat_work_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct stat st;

    b->rv = s3__bucket_stat(b->q->svc, b->q->rt.bucket, &st);
}

static void head_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct s3_req *q = b->q;

    if (b->rv != 0) {
        s3_err_respond(q, b->rv);
        return;
    }
    s3_req_header(q, "x-amz-bucket-region", q->svc->region);
    s3_req_respond_empty(q, 200);
}

/* The uploads went with the bucket's record (bucket_delete drops them on
 * every replica); their staged parts go from the mount, as on S3, where a
 * bucket's in-progress uploads end with it. */
static void staged_work_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;

    for (size_t i = 0; i < b->n_uploads; i++) {
        s3__mpu_rm_upload_dir(b->q->svc, gw_str_make(b->uploads[i].upload_id,
                                                     b->uploads[i].upload_id_len));
    }
}

static void staged_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;

    s3_req_respond_empty(b->q, 204);
}

static void delete_proposed_cb(void *arg, int rv, int result)
{
    struct bucket_op *b = arg;
    struct s3_req *q = b->q;

    /* The directory is gone already; a missing record (a POSIX-made bucket) is fine. */
    if (rv == 0 && (result == 0 || result == GW_ERR_NO_SUCH_BUCKET)) {
        if (b->n_uploads > 0) {
            gw_pool_submit(q->x->pool, &q->job, staged_work_cb, staged_done_cb, b);
            return;
        }
        s3_req_respond_empty(q, 204);
        return;
    }
    s3_err_respond(q, rv != 0 ? rv : result);
}

/* rmdir fails on anything left inside, which is exactly BucketNotEmpty; the
 * sidecar tree of the bucket goes with it. */
int s3_bucket_dir_remove(struct s3_service *s, struct gw_str name)
{
    char cname[S3_BUCKET_EXISTING_MAX_LEN + 1];
    char rel[S3_BUCKET_EXISTING_MAX_LEN + sizeof S3_RESERVED_DIR "/meta/"];
    int rv = s3_path_bucket_check_existing(name);

    if (rv != 0) {
        return rv;
    }
    bucket_cname(name, cname);
    /* AT_REMOVEDIR on a symlink is ENOTDIR: a link is no bucket, and stays. */
    if (unlinkat(s->store.root_fd, cname, AT_REMOVEDIR) != 0) {
        return errno == ENOENT || errno == ENOTDIR          ? GW_ERR_NO_SUCH_BUCKET
               : errno == ENOTEMPTY || errno == EEXIST ? GW_ERR_BUCKET_NOT_EMPTY
                                                       : gw_err_from_errno(errno);
    }
    snprintf(rel, sizeof rel, S3_RESERVED_DIR "/meta/%s", cname);
    s3__store_unlinkat(s->store.root_fd, rel, AT_REMOVEDIR);
    return GW_OK;
}

static void delete_work_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct s3_req *q = b->q;

    b->rv = s3_bucket_dir_remove(q->svc, q->rt.bucket);
    if (b->rv == 0 && meta_upload_list(q->svc->meta, q->rt.bucket, GW_STR(""), GW_STR(""),
                                       GW_STR(""), 0, &b->uploads, &b->n_uploads) != 0) {
        b->n_uploads = 0; /* their parts are orphans the cleanup task removes */
    }
}

int s3_bucket_dir_exists(struct s3_service *s, struct gw_str name)
{
    struct stat st;

    return s3__bucket_stat(s, name, &st);
}

int s3_bucket_dir_list(struct s3_service *s, struct gw_arena *a, struct gw_str **names,
                       size_t *n)
{
    struct s3_bucket_info *v = NULL;
    int rv = s3_list_buckets(s->store.root_fd, a, &v, n);

    *names = NULL;
    if (rv != 0 || *n == 0) {
        return rv;
    }
    *names = gw_arena_alloc(a, *n * sizeof **names);
    for (size_t i = 0; i < *n; i++) {
        (*names)[i] = v[i].name;
    }
    return GW_OK;
}

static void delete_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct s3_req *q = b->q;
    struct meta_cmd_hdr h;
    int rv = b->rv;

    if (rv == 0) {
        rv = meta_cmd_hdr_init(&h, (uint64_t)q->now * 1000, gw_str_c(q->user));
    }
    if (rv == 0) {
        rv = meta_cmd_bucket_delete(&b->cmd, &h, q->rt.bucket);
    }
    if (rv == 0) {
        rv = q->svc->proposer->propose(q->svc->proposer, &b->cmd, delete_proposed_cb, b);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
    }
}

/* ---- GetBucketLocation, GetBucketVersioning ------------------------------ */

static void location_done_cb(struct gw_pool_job *job)
{
    struct bucket_op *b = job->data;
    struct s3_req *q = b->q;
    struct s3_xml_writer w;
    bool is_default = strcmp(q->svc->region, "us-east-1") == 0;

    if (b->rv != 0) {
        s3_err_respond(q, b->rv);
        return;
    }
    if (q->rt.op == S3_OP_GET_BUCKET_VERSIONING) {
        /* Never versioned: an empty configuration, as AWS answers for such buckets. */
        s3_xml_begin(&w, &q->body_out, "VersioningConfiguration", S3_XML_NS);
    } else {
        s3_xml_begin(&w, &q->body_out, "LocationConstraint", S3_XML_NS);
        if (!is_default) {
            s3_xml_escape(&q->body_out, gw_str_c(q->svc->region));
        }
    }
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

void s3_op_bucket(struct s3_req *q)
{
    struct bucket_op *b = gw_arena_zalloc(q->a, sizeof *b);

    b->q = q;
    gw_arena_defer(q->a, bucket_op_free, b);
    switch (q->rt.op) {
    case S3_OP_LIST_BUCKETS:
        gw_pool_submit(q->x->pool, &q->job, list_work_cb, list_done_cb, b);
        break;
    case S3_OP_CREATE_BUCKET:
        create_bucket(q, b);
        break;
    case S3_OP_HEAD_BUCKET:
        gw_pool_submit(q->x->pool, &q->job, stat_work_cb, head_done_cb, b);
        break;
    case S3_OP_DELETE_BUCKET:
        gw_pool_submit(q->x->pool, &q->job, delete_work_cb, delete_done_cb, b);
        break;
    default:
        gw_pool_submit(q->x->pool, &q->job, stat_work_cb, location_done_cb, b);
        break;
    }
}
