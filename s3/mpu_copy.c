/* UploadPartCopy: a part made from (a range of) an existing object.
 *
 *   upload open, part number, source, range syntax (loop)
 *     -> open source, x-amz-copy-source-if-* conditions, range against its
 *        size, stage, copy while hashing (MD5 for the part ETag, plus the
 *        upload's checksum), fsync (one pool job)
 *     -> propose part_put -> CopyPartResult
 *   any failure after staging -> unlink the staged file (pool) -> error
 *
 * The bytes are read and hashed on the way (a part's ETag is the MD5 of its
 * own bytes, which no stored digest gives for a range). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "mpu.h"
#include "obj.h"
#include "publish.h"
#include "xml_out.h"
#include "unigw/err.h"

#define PART_COPY_BUF (1u << 20)

struct part_copy {
    struct s3_req *q;
    struct s3_mpu_part *pt;
    struct gw_str src_bucket, src_key;
    bool has_range;
    uint64_t first, last;
    uint64_t len;
    struct s3_obj src;
    int fd;
    struct gw_digests dig;
    int64_t mtime_ns;
    int rv;
};

static int parse_copy_source(struct part_copy *c)
{
    return s3__copy_source_parse(s3_header_get(c->q->http, "x-amz-copy-source"), c->q->a,
                                 &c->src_bucket, &c->src_key);
}

/* "bytes=first-last", both required (AWS refuses other forms here). */
static int parse_source_range(struct part_copy *c)
{
    struct gw_str h = gw_str_trim(s3_header_get(c->q->http, "x-amz-copy-source-range"));
    struct gw_str first;

    if (h.p == NULL) {
        return GW_OK;
    }
    if (!gw_str_has_prefix(h, GW_STR("bytes="))) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    h.p += 6;
    h.len -= 6;
    if (!gw_str_split(&h, '-', &first) || !gw_str_to_u64(first, &c->first) ||
        !gw_str_to_u64(h, &c->last) || c->last < c->first) {
        s3_req_errmsg(c->q, "malformed x-amz-copy-source-range");
        return GW_ERR_INVALID_ARGUMENT;
    }
    c->has_range = true;
    return GW_OK;
}

static int copy_hashing(struct part_copy *c, uint64_t off, uint64_t len)
{
    char *buf = gw_arena_alloc(c->q->a, PART_COPY_BUF);
    struct gw_hash h;
    int rv = GW_OK;

    gw_hash_init(&h, GW_HASH_MD5 | c->pt->upload_alg);
    while (rv == 0 && len > 0) {
        size_t want = len < PART_COPY_BUF ? (size_t)len : PART_COPY_BUF;
        ssize_t n = pread(c->src.fd, buf, want, (off_t)off);
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
        len -= (uint64_t)n;
    }
    gw_hash_final(&h, &c->dig);
    gw_hash_cleanup(&h);
    return rv;
}

static int copy_part(struct part_copy *c)
{
    uint64_t size = c->src.is_marker ? 0 : (uint64_t)c->src.st.st_size;
    struct stat st;
    int rv = s3__obj_conditions(c->q, &c->src, "x-amz-copy-source-");

    if (rv != 0) {
        return rv == GW_ERR_NOT_MODIFIED ? GW_ERR_PRECONDITION_FAILED : rv;
    }
    if (c->has_range && c->last >= size) {
        return GW_ERR_INVALID_RANGE;
    }
    c->len = c->has_range ? c->last - c->first + 1 : size;
    rv = s3__mpu_part_stage(c->q, c->pt, &c->fd);
    if (rv == 0) {
        rv = copy_hashing(c, c->has_range ? c->first : 0, c->len);
    }
    if (rv == 0 && c->q->svc->cfg.fsync && fsync(c->fd) != 0) {
        rv = gw_err_from_errno(errno);
    }
    if (rv == 0 && fstat(c->fd, &st) == 0) {
        c->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    return rv;
}

static void copy_work_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;
    int rv = s3__obj_open(c->q->svc, c->src_bucket, c->src_key, c->q->a, &c->src);

    if (rv == 0) {
        rv = copy_part(c);
        close(c->src.fd);
        c->src.fd = -1;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        if (rv != 0) {
            s3__store_path_unlink(&c->q->svc->store, c->pt->path);
        }
    }
    c->rv = rv;
}

static void unlink_work_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    s3__store_path_unlink(&c->q->svc->store, c->pt->path);
}

static void respond_rv_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    s3_err_respond(c->q, c->rv);
}

static void committed_cb(void *arg, int rv)
{
    struct part_copy *c = arg;
    struct s3_req *q = c->q;
    struct s3_xml_writer w;
    char hex[2 * GW_MD5_LEN + 1];
    char b64[GW_CHECKSUM_B64_CAP];

    if (rv != 0) {
        c->rv = rv;
        gw_pool_submit(q->x->pool, &q->job, unlink_work_cb, respond_rv_cb, c);
        return;
    }
    gw_hex_encode(c->dig.md5, GW_MD5_LEN, hex);
    s3_xml_begin(&w, &q->body_out, "CopyPartResult", S3_XML_NS);
    s3_xml_elem_time(&w, "LastModified", c->mtime_ns);
    s3_xml_elem_etag(&w, "ETag", gw_str_make(hex, 2 * GW_MD5_LEN));
    if (c->pt->upload_alg != 0) {
        gw_checksum_base64(&c->dig, c->pt->upload_alg, b64);
        s3_xml_elem_c(&w, s3__mpu_checksum_elem(c->pt->upload_alg), b64);
    }
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

static void copy_done_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    if (c->rv != 0) {
        s3_err_respond(c->q, c->rv);
        return;
    }
    s3__mpu_part_commit(c->q, c->pt, &c->dig, c->len, committed_cb, c);
}

void s3__mpu_part_copy(struct s3_req *q)
{
    struct part_copy *c = gw_arena_zalloc(q->a, sizeof *c);
    int rv;

    c->q = q;
    c->fd = -1;
    c->src.fd = -1;
    rv = s3__mpu_part_begin(q, &c->pt);
    if (rv == 0) {
        rv = parse_copy_source(c);
    }
    if (rv == 0) {
        rv = parse_source_range(c);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, copy_work_cb, copy_done_cb, c);
}
