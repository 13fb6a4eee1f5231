/* CopyObject: same or another bucket, metadata directive COPY or REPLACE,
 * the x-amz-copy-source-if-* conditions, and a copy onto itself to change
 * metadata (s3fs chmod/touch do this).
 *
 *   CHECK ---> STAGE ---> BODY --+--------------------> PUBLISH -> [UNTAG] -> DONE
 *   (loop)     (pool)     (pool) +--> TAG (loop) -------^ (pool)      (loop)  (answered)
 *     |          |          |          |                   |            ^
 *     |          +----------+----------+-------------------+--> DISCARD-+
 *     +----------------------------------------------------------(pool)-+
 *
 *   CHECK    parse x-amz-copy-source, the directives, the new metadata
 *   STAGE    open the source, x-amz-copy-source-if-*, create the temp file
 *   BODY     copy the bytes, take the source's metadata and tags; when the
 *            copy gets tags, also the tags the old destination has
 *   TAG      the copy's tags under its new object id, before anything is
 *            published: a refused proposal leaves the destination as it was
 *   PUBLISH  fsync, record, rename (s3__publish)
 *   UNTAG    a copy without tags replaced an object that had some: that
 *            tag record goes (tags_drop of the old id); the copy stands
 *            whatever the proposal answers
 *   DISCARD  close the source and the temp file, unlink it; when the tags
 *            were committed and the publish then failed, the old
 *            destination's tags are committed again; answer the error
 *   DONE     answered
 *
 * One guard (s3/pipe.h), as in s3/op_put.c: once DISCARD or DONE is entered no callback
 * starts work or answers; one pool job at a time, and a failure waits for
 * the running job before DISCARD closes anything.
 *
 * Bytes move with copy_file_range when the source's MD5 is known (the
 * copy has the same bytes, so the same ETag); a source without a valid
 * record (written through POSIX) is read and hashed on the way.
 *
 * Tags: x-amz-tagging-directive COPY (the default) gives the copy the
 * source's tag set, REPLACE the one in x-amz-tagging. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <linux/fs.h>
#include <sys/ioctl.h>

#include "mpu.h"
#include "pipe.h"
#include "obj.h"
#include "path.h"
#include "publish.h"
#include "put_meta.h"
#include "xml_out.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define COPY_BUF_SIZE (1u << 20)

enum copy_state {
    COPY_CHECK,
    COPY_STAGE,
    COPY_BODY,
    COPY_TAG,
    COPY_PUBLISH,
    COPY_UNTAG,
    COPY_DISCARD,
    COPY_DONE,
};

struct copy_op {
    struct s3_req *q;
    struct s3_pipe g; /* state (enum copy_state), the one pool job, the DISCARD answer */
    struct gw_str src_bucket;
    struct gw_str src_key;
    bool replace;
    struct s3_objmeta meta;
    struct s3_obj src;
    bool tags_replace;
    struct gw_str tags; /* canonical x-amz-tagging form; empty: none */
    struct s3_tag_prior prior; /* the old destination's tags, when the copy gets tags */
    bool is_tagged;            /* the copy's tags are committed */
    struct gw_str drop_id;     /* the replaced object's id, when its tags must go */
    char tmp_path[S3_PATH_MAX];
    int fd;
    int job_rv; /* pool side, read after the job completes */
};

static void copy_free(void *arg)
{
    struct copy_op *c = arg;

    /* Safety net only: DISCARD and the steps have closed both normally. */
    if (c->src.fd >= 0) {
        close(c->src.fd);
    }
    if (c->fd >= 0) {
        close(c->fd);
        s3__store_path_unlink(&c->q->svc->store, c->tmp_path);
    }
}

/* The guard is s3/pipe.h; DISCARD runs discard_run once no job is in flight. */
static void discard_run(void *arg);

/* ---- CHECK ------------------------------------------------------------------ */

static int parse_source(struct copy_op *c)
{
    return s3__copy_source_parse(s3_header_get(c->q->http, "x-amz-copy-source"), c->q->a,
                                 &c->src_bucket, &c->src_key);
}

static int parse_tagging(struct copy_op *c)
{
    struct gw_str dir = s3_header_get(c->q->http, "x-amz-tagging-directive");

    if (dir.p != NULL && !gw_str_eq_c(dir, "COPY") && !gw_str_eq_c(dir, "REPLACE")) {
        s3_req_errmsg(c->q, "unknown tagging directive");
        return GW_ERR_INVALID_ARGUMENT;
    }
    c->tags_replace = gw_str_eq_c(dir, "REPLACE");
    return c->tags_replace ? s3__tag_header(c->q, &c->tags) : GW_OK;
}

/* Pool: the source's tag set, for the COPY directive. */
static void take_source_tags(struct copy_op *c)
{
    struct s3_req *q = c->q;
    struct gw_buf b = GW_BUF_INIT;
    struct gw_str oid = s3__tag_object_id(&c->src.meta, c->src.has_meta, &c->src.st, q->a);
    char *copy;

    if (!c->tags_replace &&
        meta_tags_get(q->svc->meta, c->src_bucket, c->src_key, oid, &b) == 0 && b.len > 0) {
        copy = gw_arena_alloc(q->a, b.len + 1);
        memcpy(copy, b.data, b.len);
        c->tags = gw_str_make(copy, b.len);
    }
    gw_buf_free(&b);
}

static int parse_request(struct copy_op *c)
{
    struct s3_req *q = c->q;
    struct gw_str dir = s3_header_get(q->http, "x-amz-metadata-directive");
    int rv = parse_source(c);

    if (rv == 0) {
        rv = s3_path_key_check(q->rt.key);
    }
    if (rv != 0) {
        return rv;
    }
    if (dir.p != NULL && !gw_str_eq_c(dir, "COPY") && !gw_str_eq_c(dir, "REPLACE")) {
        s3_req_errmsg(q, "unknown metadata directive");
        return GW_ERR_INVALID_ARGUMENT;
    }
    c->replace = gw_str_eq_c(dir, "REPLACE");
    rv = parse_tagging(c);
    if (rv != 0) {
        return rv;
    }
    if (!c->replace && gw_str_eq(c->src_bucket, q->rt.bucket) && gw_str_eq(c->src_key, q->rt.key)) {
        return GW_ERR_COPY_TO_ITSELF;
    }
    return c->replace ? s3__put_meta_from_request(q, &c->meta) : s3__put_check_acl(q);
}

/* The fast ways to copy a whole object: a reflink (the filesystem shares the
 * blocks), else copy_file_range (the kernel, or an NFS server, copies).  Any
 * refusal sends the caller to the buffered copy. */
static int copy_range(const struct s3_config *cfg, int in, int out, uint64_t len)
{
    loff_t off_in = 0;

    if (cfg->reflink && ioctl(out, FICLONE, in) == 0) {
        return GW_OK;
    }
    if (!cfg->copy_file_range) {
        return GW_ERR_NOT_IMPLEMENTED;
    }
    while (len > 0) {
        ssize_t n = copy_file_range(in, &off_in, out, NULL, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n == 0 ? GW_ERR_IO : gw_err_from_errno(errno);
        }
        len -= (uint64_t)n;
    }
    return GW_OK;
}

/* Buffered copy computing the MD5 (and the fallback when copy_file_range is refused). */
static int copy_hashing(struct copy_op *c, uint64_t len, unsigned char md5[GW_MD5_LEN])
{
    char *buf = gw_arena_alloc(c->q->a, COPY_BUF_SIZE);
    struct gw_hash h;
    struct gw_digests d;
    uint64_t off = 0;
    int rv = GW_OK;

    gw_hash_init(&h, GW_HASH_MD5);
    while (rv == 0 && off < len) {
        ssize_t n = pread(c->src.fd, buf, COPY_BUF_SIZE, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rv = n == 0 ? GW_ERR_IO : gw_err_from_errno(errno);
            break;
        }
        gw_hash_update(&h, buf, (size_t)n);
        rv = s3__write_all(c->fd, buf, (size_t)n);
        off += (uint64_t)n;
    }
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    memcpy(md5, d.md5, GW_MD5_LEN);
    return rv;
}

static int copy_bytes(struct copy_op *c)
{
    uint64_t len = c->src.is_marker ? 0 : (uint64_t)c->src.st.st_size;
    int rv;

    if (c->src.has_meta && !c->src.is_marker) {
        memcpy(c->meta.md5, c->src.meta.md5, GW_MD5_LEN);
        c->meta.n_parts = c->src.meta.n_parts;
        rv = copy_range(&c->q->svc->cfg, c->src.fd, c->fd, len);
        if (rv == 0 || lseek(c->fd, 0, SEEK_SET) != 0 || ftruncate(c->fd, 0) != 0) {
            return rv;
        }
    }
    c->meta.n_parts = 0;
    return copy_hashing(c, len, c->meta.md5);
}

static void take_source_meta(struct copy_op *c)
{
    const struct s3_objmeta *m = &c->src.meta;

    if (!c->src.has_meta) {
        return;
    }
    if (!c->replace) {
#define S3__OM_COPY(f, h) c->meta.f = m->f;
        S3_STORED_HEADERS(S3__OM_COPY)
#undef S3__OM_COPY
        c->meta.user = m->user;
        c->meta.n_user = m->n_user;
    }
    c->meta.cksum = m->cksum;
    c->meta.cksum_len = m->cksum_len;
    c->meta.cksum_composite = m->cksum_composite;
    memcpy(c->meta.cksum_value, m->cksum_value, sizeof c->meta.cksum_value);
}

/* ---- STAGE ------------------------------------------------------------------ */

static void stage_work_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;
    struct s3_req *q = c->q;
    int rv = s3__obj_open(q->svc, c->src_bucket, c->src_key, q->a, &c->src);

    if (rv != 0) {
        c->src.fd = -1;
    }
    if (rv == 0) {
        rv = s3__obj_conditions(q, &c->src, "x-amz-copy-source-");
    }
    if (rv == 0) {
        rv = s3__stage_create(q->svc, c->tmp_path, sizeof c->tmp_path, &c->fd);
    }
    c->job_rv = rv;
}

static void body_work_cb(struct gw_pool_job *job);
static void body_done_cb(struct gw_pool_job *job);

static void stage_done_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    c->g.state = COPY_BODY;
    s3__pipe_submit(&c->g, body_work_cb, body_done_cb);
}

/* ---- BODY ------------------------------------------------------------------- */

static void body_work_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;
    int rv;

    take_source_meta(c);
    rv = copy_bytes(c);
    close(c->src.fd);
    c->src.fd = -1;
    if (rv == 0) {
        take_source_tags(c);
    }
    if (rv == 0 && c->tags.len > 0) {
        s3__tag_prior_read(c->q, c->q->rt.bucket, c->q->rt.key, &c->prior);
    }
    c->job_rv = rv;
}

/* ---- TAG ----------------------------------------------------------------------- */

static void publish_start(struct copy_op *c);

static void tagged_cb(void *arg, int rv)
{
    struct copy_op *c = arg;

    if (c->g.state != COPY_TAG) {
        return;
    }
    if (rv != 0) {
        s3__pipe_fail(&c->g, rv); /* nothing was published: the destination keeps its tags */
        return;
    }
    c->is_tagged = true;
    publish_start(c);
}

static void body_done_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;
    struct s3_req *q = c->q;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    if (c->tags.len == 0) {
        publish_start(c);
        return;
    }
    if (s3__object_id_new(&c->meta) != 0) {
        s3__pipe_fail(&c->g, GW_ERR_INTERNAL);
        return;
    }
    c->g.state = COPY_TAG;
    s3__tag_store(q, q->rt.bucket, q->rt.key, &c->meta, c->tags, tagged_cb, c);
}

/* ---- PUBLISH -------------------------------------------------------------------- */

static void publish_work_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;
    struct s3_req *q = c->q;
    struct s3_publish pub = {0};
    int rv;

    pub.svc = q->svc;
    pub.bucket = q->rt.bucket;
    pub.key = q->rt.key;
    pub.tmp_path = c->tmp_path;
    pub.fd = c->fd;
    pub.meta = &c->meta;
    pub.has_object_id = c->is_tagged;
    pub.no_replace = gw_str_eq_c(gw_str_trim(s3_header_get(q->http, "if-none-match")), "*");
    pub.if_match = s3_header_get(q->http, "if-match");
    if (!c->is_tagged) {
        c->drop_id = s3__tag_drop_due(q->svc, q->rt.bucket, q->rt.key, q->a);
    }
    rv = s3__publish(&pub, q->a);
    if (rv == 0) {
        close(c->fd);
        c->fd = -1;
        if (s3_path_key_is_marker(q->rt.key)) {
            /* a marker publishes a directory, not the staged file */
            s3__store_path_unlink(&c->q->svc->store, c->tmp_path);
        }
    }
    c->job_rv = rv;
}

static void reply(struct copy_op *c)
{
    struct s3_req *q = c->q;
    struct s3_xml_writer w;
    char *etag;

    c->g.state = COPY_DONE;
    etag = s3_objmeta_etag(&c->meta, q->a);
    s3_xml_begin(&w, &q->body_out, "CopyObjectResult", S3_XML_NS);
    s3_xml_elem_time(&w, "LastModified", c->meta.mtime_ns);
    s3_xml_elem_etag(&w, "ETag", gw_str_make(etag + 1, strlen(etag) - 2));
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

static void untagged_cb(void *arg, int rv)
{
    struct copy_op *c = arg;

    if (c->g.state != COPY_UNTAG) {
        return;
    }
    (void)rv; /* logged by the tag step */
    reply(c);
}

static void publish_done_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;
    struct s3_req *q = c->q;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    if (c->drop_id.p != NULL) {
        c->g.state = COPY_UNTAG;
        s3__tag_drop(q, q->rt.bucket, q->rt.key, c->drop_id, untagged_cb, c);
        return;
    }
    reply(c);
}

static void publish_start(struct copy_op *c)
{
    c->g.state = COPY_PUBLISH;
    s3__pipe_submit(&c->g, publish_work_cb, publish_done_cb);
}

/* ---- DISCARD ------------------------------------------------------------------ */

static void discard_work_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;

    if (c->src.fd >= 0) {
        close(c->src.fd);
        c->src.fd = -1;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        s3__store_path_unlink(&c->q->svc->store, c->tmp_path);
    }
}

static void answer_error(struct copy_op *c)
{
    c->g.state = COPY_DONE;
    s3_err_respond(c->q, c->g.rv);
}

static void restored_cb(void *arg, int rv)
{
    struct copy_op *c = arg;

    (void)rv; /* logged by the tag step */
    answer_error(c);
}

/* Put the old destination's tags back if this copy replaced them and then
 * did not publish, and answer. */
static void discard_tags(struct copy_op *c)
{
    struct s3_req *q = c->q;

    if (!c->is_tagged || !c->prior.has_tags) {
        answer_error(c);
        return;
    }
    s3__tag_restore(q, q->rt.bucket, q->rt.key, &c->prior, restored_cb, c);
}

static void discard_done_cb(struct gw_pool_job *job)
{
    struct copy_op *c = job->data;

    s3__pipe_discard_back(&c->g);
    discard_tags(c);
}

static void discard_run(void *arg)
{
    struct copy_op *c = arg;

    if (c->fd < 0 && c->src.fd < 0) {
        discard_tags(c);
        return;
    }
    s3__pipe_discard_submit(&c->g, discard_work_cb, discard_done_cb);
}

/* ---- entry ---------------------------------------------------------------------- */

void s3_op_object_copy(struct s3_req *q)
{
    struct copy_op *c = gw_arena_zalloc(q->a, sizeof *c);
    int rv;

    c->q = q;
    s3__pipe_init(&c->g, q->x->pool, COPY_CHECK, COPY_DISCARD, c, discard_run);
    c->fd = -1;
    c->src.fd = -1;
    gw_arena_defer(q->a, copy_free, c);
    rv = parse_request(c);
    if (rv != 0) {
        c->g.rv = rv;
        answer_error(c);
        return;
    }
    c->g.state = COPY_STAGE;
    s3__pipe_submit(&c->g, stage_work_cb, stage_done_cb);
}
