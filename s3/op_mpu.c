/* Multipart uploads: CreateMultipartUpload, the UploadPart hooks of the PUT
 * pipeline, AbortMultipartUpload, ListMultipartUploads and ListParts.
 * (UploadPartCopy is in s3/mpu_copy.c, CompleteMultipartUpload in
 * s3/mpu_complete.c.)
 *
 * State lives in meta (one command per change, so Raft only has to replicate
 * commands); bytes live on the mount under .unigw/multipart/<upload-id>/.
 *
 *   Create:  check headers (loop) -> bucket exists (pool) -> propose
 *            upload_create -> InitiateMultipartUploadResult
 *   Part:    upload open? (loop) -> stage file (pool) -> body, digests,
 *            fsync (op_put.c) -> propose part_put -> unlink the part it
 *            replaced (pool, detached) -> ETag
 *   Abort:   upload exists? (loop) -> propose upload_abort -> remove the
 *            staged directory (pool) -> 204
 * A part whose commit fails is unlinked by op_put.c's DISCARD step, so a
 * failed request leaves nothing staged; what a crash leaves is removed by
 * the cleanup task (s3/mpu_cleanup.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "mpu.h"
#include "obj.h"
#include "put_meta.h"
#include "xml_in.h"
#include "xml_out.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define MPU_INFO_VERSION 1
#define MPU_LIST_MAX 1000

void s3__mpu_info_encode(const struct s3_mpu_info *in, struct gw_buf *out)
{
    struct gw_buf om = GW_BUF_INIT;

    s3_objmeta_encode(&in->meta, &om);
    gw_buf_put_u8(out, MPU_INFO_VERSION);
    gw_buf_put_bytes(out, gw_buf_str(&om));
    gw_buf_put_u8(out, in->is_full_object ? 1 : 0);
    gw_buf_put_bytes(out, in->tags);
    gw_buf_free(&om);
}

int s3__mpu_info_decode(struct gw_str in, struct gw_arena *a, struct s3_mpu_info *out)
{
    struct gw_reader r = gw_reader_make(in.p, in.len);
    struct gw_str om;
    uint8_t ver = 0, full = 0;
    char *copy = gw_arena_alloc(a, in.len + 1);

    memcpy(copy, in.p, in.len); /* the caller's buffer may not outlive the request */
    r = gw_reader_make(copy, in.len);
    memset(out, 0, sizeof *out);
    if (!gw_reader_u8(&r, &ver) || !gw_reader_bytes(&r, &om) || !gw_reader_u8(&r, &full) ||
        !gw_reader_bytes(&r, &out->tags) || r.len != 0 || ver != MPU_INFO_VERSION || full > 1) {
        return GW_ERR_CORRUPT;
    }
    out->is_full_object = full == 1;
    return s3_objmeta_decode(om, a, &out->meta);
}

/* ---- proposing ---------------------------------------------------------- */

struct mpu_prop {
    s3_mpu_done_cb cb;
    void *arg;
};

static void mpu_proposed_cb(void *arg, int rv, int result)
{
    struct mpu_prop pr = *(struct mpu_prop *)arg;

    pr.cb(pr.arg, rv != 0 ? rv : result);
}

void s3__mpu_propose(struct s3_req *q, struct gw_buf *cmd, s3_mpu_done_cb cb, void *arg)
{
    struct mpu_prop *pr = gw_arena_zalloc(q->a, sizeof *pr);
    int rv;

    pr->cb = cb;
    pr->arg = arg;
    rv = meta_propose(q->svc->proposer, cmd, mpu_proposed_cb, pr);
    gw_buf_free(cmd);
    if (rv != 0) {
        cb(arg, rv); /* the callback never fires on a refused proposal */
    }
}

int s3__mpu_cmd_hdr(struct s3_req *q, struct meta_cmd_hdr *h)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return meta_cmd_hdr_init(h, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
                             gw_str_c(q->is_anonymous ? "anonymous" : q->user));
}

/* The upload named by ?uploadId, open, for this bucket and key. */
int s3__mpu_upload_lookup(struct s3_req *q, struct meta_upload *u, struct gw_buf *info)
{
    const struct s3_param *id = s3_route_param(&q->rt, "uploadId");
    int rv;

    if (id == NULL || !s3_path_upload_id_valid(id->value)) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    rv = meta_upload_get(q->svc->meta, q->rt.bucket, id->value, u, info);
    if (rv == 0 && !gw_str_eq(gw_str_make(u->key, u->key_len), q->rt.key)) {
        rv = GW_ERR_NO_SUCH_UPLOAD;
    }
    return rv;
}

/* ---- CreateMultipartUpload ----------------------------------------------- */

struct create_op {
    struct s3_req *q;
    struct s3_mpu_info info;
    char upload_id[S3_UPLOAD_ID_MAX_LEN + 1];
    int rv;
};

static int create_check(struct create_op *c)
{
    struct s3_req *q = c->q;
    struct gw_str alg = s3_header_get(q->http, "x-amz-checksum-algorithm");
    struct gw_str type = s3_header_get(q->http, "x-amz-checksum-type");
    unsigned a;
    int rv = s3_path_key_check(q->rt.key);

    if (rv == 0) {
        rv = s3__put_meta_from_request(q, &c->info.meta);
    }
    if (rv == 0) {
        rv = s3__tag_header(q, &c->info.tags);
    }
    if (rv != 0) {
        return rv;
    }
    if (alg.p != NULL) {
        a = gw_checksum_alg_from_name(alg);
        if (a == 0 || a == GW_HASH_MD5) {
            return GW_ERR_INVALID_REQUEST;
        }
        c->info.meta.cksum = s3_objmeta_cksum_from_alg(a);
    }
    if (type.p != NULL && !gw_str_caseeq_c(type, "COMPOSITE") &&
        !gw_str_caseeq_c(type, "FULL_OBJECT")) {
        return GW_ERR_INVALID_REQUEST;
    }
    c->info.is_full_object = gw_str_caseeq_c(type, "FULL_OBJECT");
    return GW_OK;
}

static void create_committed_cb(void *arg, int rv)
{
    struct create_op *c = arg;
    struct s3_req *q = c->q;
    struct s3_xml_writer w;

    if (rv != 0) {
        s3_err_respond(q, rv == GW_ERR_NO_SUCH_BUCKET ? rv : rv);
        return;
    }
    if (c->info.meta.cksum != S3_CKSUM_NONE) {
        s3_req_header(q, "x-amz-checksum-algorithm",
                      gw_checksum_alg_name(s3_objmeta_cksum_alg(c->info.meta.cksum)));
        s3_req_header(q, "x-amz-checksum-type",
                      c->info.is_full_object ? "FULL_OBJECT" : "COMPOSITE");
    }
    s3_xml_begin(&w, &q->body_out, "InitiateMultipartUploadResult", S3_XML_NS);
    s3_xml_elem(&w, "Bucket", q->rt.bucket);
    s3_xml_elem(&w, "Key", q->rt.key);
    s3_xml_elem_c(&w, "UploadId", c->upload_id);
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

static void create_stat_work_cb(struct gw_pool_job *job)
{
    struct create_op *c = job->data;
    struct stat st;

    c->rv = s3__bucket_stat(c->q->svc, c->q->rt.bucket, &st);
}

static void create_stat_done_cb(struct gw_pool_job *job)
{
    struct create_op *c = job->data;
    struct s3_req *q = c->q;
    struct gw_buf info = GW_BUF_INIT, cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    unsigned char rnd[16];
    int rv = c->rv;

    if (rv == 0 && (RAND_bytes(rnd, sizeof rnd) != 1 || s3__mpu_cmd_hdr(q, &h) != 0)) {
        rv = GW_ERR_INTERNAL;
    }
    if (rv == 0) {
        memcpy(c->upload_id, S3_MPU_ID_PREFIX, strlen(S3_MPU_ID_PREFIX));
        gw_hex_encode(rnd, sizeof rnd, c->upload_id + strlen(S3_MPU_ID_PREFIX));
        s3__mpu_info_encode(&c->info, &info);
        rv = meta_cmd_upload_create(&cmd, &h, q->rt.bucket, q->rt.key, gw_str_c(c->upload_id),
                                    gw_buf_str(&info));
        gw_buf_free(&info);
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        s3_err_respond(q, rv);
        return;
    }
    s3__mpu_propose(q, &cmd, create_committed_cb, c);
}

static void mpu_create(struct s3_req *q)
{
    struct create_op *c = gw_arena_zalloc(q->a, sizeof *c);
    int rv;

    c->q = q;
    rv = create_check(c);
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    s3__mpu_cleanup_maybe(q);
    gw_pool_submit(q->x->pool, &q->job, create_stat_work_cb, create_stat_done_cb, c);
}

/* ---- UploadPart hooks ---------------------------------------------------- */

static int part_number(struct s3_req *q, uint32_t *out)
{
    const struct s3_param *pn = s3_route_param(&q->rt, "partNumber");
    uint64_t n = 0;

    if (pn == NULL || !gw_str_to_u64(pn->value, &n) || n < 1 || n > S3_MAX_PART_NUMBER) {
        s3_req_errmsg(q, "part number must be an integer between 1 and 10000");
        return GW_ERR_INVALID_ARGUMENT;
    }
    *out = (uint32_t)n;
    return GW_OK;
}

int s3__mpu_part_begin(struct s3_req *q, struct s3_mpu_part **out)
{
    struct s3_mpu_part *pt = gw_arena_zalloc(q->a, sizeof *pt);
    struct meta_upload u;
    struct gw_buf info = GW_BUF_INIT;
    struct s3_mpu_info mi;
    int rv = part_number(q, &pt->number);

    if (rv == 0) {
        rv = s3__mpu_upload_lookup(q, &u, &info);
    }
    if (rv == 0 && u.state != META_UPLOAD_OPEN) {
        rv = u.state == META_UPLOAD_CLAIMED ? GW_ERR_CONDITIONAL_CONFLICT : GW_ERR_NO_SUCH_UPLOAD;
    }
    if (rv == 0) {
        rv = s3__mpu_info_decode(gw_buf_str(&info), q->a, &mi);
    }
    gw_buf_free(&info);
    if (rv != 0) {
        return rv;
    }
    pt->upload_id = s3_route_param(&q->rt, "uploadId")->value;
    pt->upload_alg = s3_objmeta_cksum_alg(mi.meta.cksum);
    rv = s3_path_multipart_dir(pt->dir, sizeof pt->dir, q->svc->mount, pt->upload_id);
    *out = pt;
    return rv;
}

int s3__mpu_part_stage(struct s3_req *q, struct s3_mpu_part *pt, int *fd)
{
    char root[S3_PATH_MAX];
    unsigned char rnd[8];
    char hex[17];

    s3_path_multipart_root(root, sizeof root, q->svc->mount);
    if ((s3__store_path_mkdir(&q->svc->store, root, 0755) != 0 && errno != EEXIST) ||
        (s3__store_path_mkdir(&q->svc->store, pt->dir, 0755) != 0 && errno != EEXIST)) {
        return gw_err_from_errno(errno);
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        return GW_ERR_INTERNAL;
    }
    gw_hex_encode(rnd, sizeof rnd, hex);
    snprintf(pt->file, sizeof pt->file, "%u-%s", (unsigned)pt->number, hex);
    if (snprintf(pt->path, sizeof pt->path, "%s/%s", pt->dir, pt->file) >=
        (int)sizeof pt->path) {
        return GW_ERR_INTERNAL;
    }
    *fd = s3__store_path_open(&q->svc->store, pt->path, O_CREAT | O_EXCL | O_RDWR, 0644);
    return *fd < 0 ? gw_err_from_errno(errno) : GW_OK;
}

/* A detached job that removes one staged file after the request is gone. */
struct unlink_job {
    struct gw_pool_job job;
    const struct s3_objstore *store;
    char path[S3_PATH_MAX];
};

static void unlink_work_cb(struct gw_pool_job *job)
{
    struct unlink_job *u = job->data;

    s3__store_path_unlink(u->store, u->path);
}

static void unlink_done_cb(struct gw_pool_job *job)
{
    gw_free(job->data);
}

static void unlink_later(struct s3_req *q, const char *dir, const char *file)
{
    struct unlink_job *u = gw_calloc(1, sizeof *u);

    u->store = &q->svc->store;
    if (snprintf(u->path, sizeof u->path, "%s/%s", dir, file) >= (int)sizeof u->path) {
        gw_free(u);
        return;
    }
    gw_pool_submit(q->x->pool, &u->job, unlink_work_cb, unlink_done_cb, u);
}

struct part_commit {
    struct s3_req *q;
    struct s3_mpu_part *pt;
    bool has_old;
    char old_file[META_NAME_MAX + 1];
    s3_mpu_done_cb cb;
    void *arg;
};

static void part_committed_cb(void *arg, int rv)
{
    struct part_commit *pc = arg;

    if (rv == 0 && pc->has_old && strcmp(pc->old_file, pc->pt->file) != 0) {
        unlink_later(pc->q, pc->pt->dir, pc->old_file);
    }
    pc->cb(pc->arg, rv);
}

void s3__mpu_part_commit(struct s3_req *q, struct s3_mpu_part *pt, const struct gw_digests *d,
                         uint64_t size, s3_mpu_done_cb cb, void *arg)
{
    struct part_commit *pc = gw_arena_zalloc(q->a, sizeof *pc);
    struct gw_buf cmd = GW_BUF_INIT;
    unsigned char ck[GW_HASH_MAX_LEN];
    size_t ck_len = 0;
    struct meta_cmd_hdr h;
    struct meta_part *old = NULL;
    size_t n_old = 0;
    int rv;

    pc->q = q;
    pc->pt = pt;
    pc->cb = cb;
    pc->arg = arg;
    if (meta_part_list(q->svc->meta, q->rt.bucket, pt->upload_id, pt->number - 1, 1, &old,
                       &n_old) == 0 &&
        n_old == 1 && old[0].number == pt->number) {
        pc->has_old = true;
        memcpy(pc->old_file, old[0].file, old[0].file_len + 1);
    }
    gw_free(old);
    if (pt->upload_alg != 0) {
        ck_len = gw_checksum_bytes(d, pt->upload_alg, ck);
    }
    rv = s3__mpu_cmd_hdr(q, &h);
    if (rv == 0) {
        rv = meta_cmd_part_put(&cmd, &h, q->rt.bucket, pt->upload_id, pt->number, size,
                               gw_str_make((const char *)d->md5, GW_MD5_LEN),
                               gw_str_make((const char *)ck, ck_len), gw_str_c(pt->file));
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        cb(arg, rv);
        return;
    }
    s3__mpu_propose(q, &cmd, part_committed_cb, pc);
}

/* ---- AbortMultipartUpload ------------------------------------------------ */

struct abort_op {
    struct s3_req *q;
    char dir[S3_PATH_MAX];
};

static void abort_rm_work_cb(struct gw_pool_job *job)
{
    struct abort_op *ab = job->data;

    s3__store_path_rmtree(&ab->q->svc->store, ab->dir);
}

static void abort_rm_done_cb(struct gw_pool_job *job)
{
    struct abort_op *ab = job->data;

    s3_req_respond_empty(ab->q, 204);
}

static void abort_committed_cb(void *arg, int rv)
{
    struct abort_op *ab = arg;

    if (rv != 0) {
        s3_err_respond(ab->q, rv);
        return;
    }
    gw_pool_submit(ab->q->x->pool, &ab->q->job, abort_rm_work_cb, abort_rm_done_cb, ab);
}

static void mpu_abort(struct s3_req *q)
{
    struct abort_op *ab = gw_arena_zalloc(q->a, sizeof *ab);
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    struct meta_upload u;
    int rv = s3__mpu_upload_lookup(q, &u, NULL);

    ab->q = q;
    if (rv == 0 && u.state == META_UPLOAD_COMPLETED) {
        rv = GW_ERR_NO_SUCH_UPLOAD;
    }
    if (rv == 0) {
        rv = s3_path_multipart_dir(ab->dir, sizeof ab->dir, q->svc->mount,
                                   gw_str_make(u.upload_id, u.upload_id_len));
    }
    if (rv == 0) {
        rv = s3__mpu_cmd_hdr(q, &h);
    }
    if (rv == 0) {
        rv = meta_cmd_upload_abort(&cmd, &h, q->rt.bucket,
                                   gw_str_make(u.upload_id, u.upload_id_len));
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        s3_err_respond(q, rv);
        return;
    }
    s3__mpu_propose(q, &cmd, abort_committed_cb, ab);
}

const char *s3__mpu_checksum_elem(unsigned alg)
{
    switch (alg) {
    case GW_HASH_CRC32:
        return "ChecksumCRC32";
    case GW_HASH_CRC32C:
        return "ChecksumCRC32C";
    case GW_HASH_CRC64NVME:
        return "ChecksumCRC64NVME";
    case GW_HASH_SHA1:
        return "ChecksumSHA1";
    default:
        return "ChecksumSHA256";
    }
}

/* ---- Listings ------------------------------------------------------------- */

static int param_max(struct s3_req *q, const char *name, size_t *out)
{
    const struct s3_param *p = s3_route_param(&q->rt, name);
    uint64_t v = 0;

    *out = MPU_LIST_MAX;
    if (p == NULL) {
        return GW_OK;
    }
    if (!gw_str_to_u64(p->value, &v)) {
        s3_req_errmsg(q, "%s is not a non-negative integer", name);
        return GW_ERR_INVALID_ARGUMENT;
    }
    *out = v < MPU_LIST_MAX ? (size_t)v : MPU_LIST_MAX;
    return GW_OK;
}

static struct gw_str param_str(struct s3_req *q, const char *name)
{
    const struct s3_param *p = s3_route_param(&q->rt, name);

    return p != NULL ? p->value : GW_STR("");
}

struct uploads_page {
    struct gw_str prefix, delim, key_marker, id_marker;
    size_t max;
    bool url;
    const struct meta_upload *v;
    size_t n;
};

/* The common prefix of @key after the listing prefix, or a NULL view. */
static struct gw_str common_prefix(const struct uploads_page *pg, struct gw_str key)
{
    struct gw_str rest = gw_str_make(key.p + pg->prefix.len, key.len - pg->prefix.len);

    if (pg->delim.len == 0) {
        return GW_STR_NULL;
    }
    for (size_t i = 0; i + pg->delim.len <= rest.len; i++) {
        if (memcmp(rest.p + i, pg->delim.p, pg->delim.len) == 0) {
            return gw_str_make(key.p, pg->prefix.len + i + pg->delim.len);
        }
    }
    return GW_STR_NULL;
}

static void uploads_write(struct s3_req *q, struct uploads_page *pg, struct s3_xml_writer *w)
{
    struct gw_str last_cp = GW_STR_NULL, next_key = GW_STR(""), next_id = GW_STR("");
    size_t count = 0, i;

    for (i = 0; i < pg->n && count < pg->max; i++) {
        const struct meta_upload *u = &pg->v[i];
        struct gw_str key = gw_str_make(u->key, u->key_len);
        struct gw_str cp = common_prefix(pg, key);
        if (cp.p != NULL && last_cp.p != NULL && gw_str_eq(cp, last_cp)) {
            continue;
        }
        next_key = key;
        next_id = gw_str_make(u->upload_id, u->upload_id_len);
        count++;
        if (cp.p != NULL) {
            last_cp = cp;
            s3_xml_open(w, "CommonPrefixes");
            s3_xml_elem_key(w, "Prefix", cp, pg->url);
            s3_xml_close(w);
            continue;
        }
        s3_xml_open(w, "Upload");
        s3_xml_elem_key(w, "Key", key, pg->url);
        s3_xml_elem(w, "UploadId", next_id);
        s3_xml_open(w, "Initiator");
        s3_xml_elem(w, "ID", gw_str_make(u->owner, u->owner_len));
        s3_xml_elem(w, "DisplayName", gw_str_make(u->owner, u->owner_len));
        s3_xml_close(w);
        s3_xml_open(w, "Owner");
        s3_xml_elem(w, "ID", gw_str_make(u->owner, u->owner_len));
        s3_xml_elem(w, "DisplayName", gw_str_make(u->owner, u->owner_len));
        s3_xml_close(w);
        s3_xml_elem_c(w, "StorageClass", "STANDARD");
        s3_xml_elem_time(w, "Initiated", (int64_t)u->initiated_ms * 1000000);
        s3_xml_close(w);
    }
    /* Skip the rest of a common prefix just emitted: it is not more to list. */
    while (i < pg->n && last_cp.p != NULL &&
           gw_str_has_prefix(gw_str_make(pg->v[i].key, pg->v[i].key_len), last_cp)) {
        i++;
    }
    s3_xml_elem_key(w, "NextKeyMarker", next_key, pg->url);
    s3_xml_elem(w, "NextUploadIdMarker", next_id);
    s3_xml_elem_bool(w, "IsTruncated", i < pg->n);
}

static void mpu_list_uploads(struct s3_req *q)
{
    struct uploads_page pg = {0};
    struct meta_upload *all = NULL;
    struct s3_xml_writer w;
    size_t n = 0, open_n = 0;
    int rv = param_max(q, "max-uploads", &pg.max);

    pg.prefix = param_str(q, "prefix");
    pg.delim = param_str(q, "delimiter");
    pg.key_marker = param_str(q, "key-marker");
    pg.id_marker = param_str(q, "upload-id-marker");
    pg.url = gw_str_eq_c(param_str(q, "encoding-type"), "url");
    if (rv == 0) {
        rv = meta_upload_list(q->svc->meta, q->rt.bucket, pg.prefix, pg.key_marker, pg.id_marker,
                              0, &all, &n);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (all[i].state != META_UPLOAD_COMPLETED) {
            all[open_n++] = all[i];
        }
    }
    pg.v = all;
    pg.n = open_n;
    s3_xml_begin(&w, &q->body_out, "ListMultipartUploadsResult", S3_XML_NS);
    s3_xml_elem(&w, "Bucket", q->rt.bucket);
    s3_xml_elem_key(&w, "KeyMarker", pg.key_marker, pg.url);
    s3_xml_elem(&w, "UploadIdMarker", pg.id_marker);
    s3_xml_elem_key(&w, "Prefix", pg.prefix, pg.url);
    if (pg.delim.len > 0) {
        s3_xml_elem_key(&w, "Delimiter", pg.delim, pg.url);
    }
    s3_xml_elem_u64(&w, "MaxUploads", pg.max);
    if (pg.url) {
        s3_xml_elem_c(&w, "EncodingType", "url");
    }
    uploads_write(q, &pg, &w);
    s3_xml_end(&w);
    gw_free(all);
    s3__mpu_cleanup_maybe(q);
    s3_req_respond_xml(q, 200);
}

static void parts_write(struct s3_xml_writer *w, const struct meta_part *p, unsigned alg)
{
    char hex[2 * GW_MD5_LEN + 1];
    char b64[GW_CHECKSUM_B64_CAP];

    gw_hex_encode(p->md5, GW_MD5_LEN, hex);
    s3_xml_open(w, "Part");
    s3_xml_elem_u64(w, "PartNumber", p->number);
    s3_xml_elem_time(w, "LastModified", (int64_t)p->ts_ms * 1000000);
    s3_xml_elem_etag(w, "ETag", gw_str_make(hex, 2 * GW_MD5_LEN));
    s3_xml_elem_u64(w, "Size", p->size);
    if (alg != 0 && p->cksum_len > 0) {
        gw_base64_encode(p->cksum, p->cksum_len, b64);
        s3_xml_elem_c(w, s3__mpu_checksum_elem(alg), b64);
    }
    s3_xml_close(w);
}

static void mpu_list_parts(struct s3_req *q)
{
    struct meta_upload u;
    struct gw_buf info = GW_BUF_INIT;
    struct s3_mpu_info mi;
    struct meta_part *v = NULL;
    struct s3_xml_writer w;
    uint64_t marker = 0;
    size_t max = 0, n = 0;
    struct gw_str pm = param_str(q, "part-number-marker");
    int rv = s3__mpu_upload_lookup(q, &u, &info);

    if (rv == 0 && u.state == META_UPLOAD_COMPLETED) {
        rv = GW_ERR_NO_SUCH_UPLOAD;
    }
    if (rv == 0) {
        rv = s3__mpu_info_decode(gw_buf_str(&info), q->a, &mi);
    }
    if (rv == 0) {
        rv = param_max(q, "max-parts", &max);
    }
    if (rv == 0 && pm.len > 0 && (!gw_str_to_u64(pm, &marker) || marker > S3_MAX_PART_NUMBER)) {
        rv = GW_ERR_INVALID_ARGUMENT;
    }
    if (rv == 0) {
        rv = meta_part_list(q->svc->meta, q->rt.bucket, gw_str_make(u.upload_id, u.upload_id_len),
                            (uint32_t)marker, max + 1, &v, &n);
    }
    gw_buf_free(&info);
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    s3_xml_begin(&w, &q->body_out, "ListPartsResult", S3_XML_NS);
    s3_xml_elem(&w, "Bucket", q->rt.bucket);
    s3_xml_elem(&w, "Key", q->rt.key);
    s3_xml_elem(&w, "UploadId", gw_str_make(u.upload_id, u.upload_id_len));
    s3_xml_elem_u64(&w, "PartNumberMarker", marker);
    s3_xml_elem_u64(&w, "NextPartNumberMarker", n > 0 ? v[(n > max ? max : n) - 1].number : 0);
    s3_xml_elem_u64(&w, "MaxParts", max);
    s3_xml_elem_bool(&w, "IsTruncated", n > max);
    s3_xml_open(&w, "Initiator");
    s3_xml_elem(&w, "ID", gw_str_make(u.owner, u.owner_len));
    s3_xml_elem(&w, "DisplayName", gw_str_make(u.owner, u.owner_len));
    s3_xml_close(&w);
    s3_xml_open(&w, "Owner");
    s3_xml_elem(&w, "ID", gw_str_make(u.owner, u.owner_len));
    s3_xml_elem(&w, "DisplayName", gw_str_make(u.owner, u.owner_len));
    s3_xml_close(&w);
    s3_xml_elem_c(&w, "StorageClass", "STANDARD");
    if (mi.meta.cksum != S3_CKSUM_NONE) {
        s3_xml_elem_c(&w, "ChecksumAlgorithm",
                      gw_checksum_alg_name(s3_objmeta_cksum_alg(mi.meta.cksum)));
    }
    for (size_t i = 0; i < n && i < max; i++) {
        parts_write(&w, &v[i], s3_objmeta_cksum_alg(mi.meta.cksum));
    }
    s3_xml_end(&w);
    gw_free(v);
    s3_req_respond_xml(q, 200);
}

void s3_op_mpu(struct s3_req *q)
{
    switch (q->rt.op) {
    case S3_OP_CREATE_MULTIPART_UPLOAD:
        mpu_create(q);
        break;
    case S3_OP_UPLOAD_PART:
        s3_op_object_put(q);
        break;
    case S3_OP_UPLOAD_PART_COPY:
        s3__mpu_part_copy(q);
        break;
    case S3_OP_COMPLETE_MULTIPART_UPLOAD:
        s3__mpu_complete(q);
        break;
    case S3_OP_ABORT_MULTIPART_UPLOAD:
        mpu_abort(q);
        break;
    case S3_OP_LIST_PARTS:
        mpu_list_parts(q);
        break;
    case S3_OP_LIST_MULTIPART_UPLOADS:
        mpu_list_uploads(q);
        break;
    default:
        s3_err_respond(q, GW_ERR_NOT_IMPLEMENTED);
        break;
    }
}
