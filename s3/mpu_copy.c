/* UploadPartCopy: a part made from (a range of) an existing object.
 *
 *   CHECK ---> STAGE ---> BODY ---> PUBLISH ---> DONE
 *   (loop)     (pool)     (pool)    (loop:        (answered)
 *     |          |          |       part record)    ^
 *     |          +----------+----------+--> DISCARD-+
 *     +---------------------------------------(pool)+
 *
 *   CHECK    the upload is open, part number, source, range syntax
 *   STAGE    open the source, x-amz-copy-source-if-*, the range against
 *            its size, create the part file
 *   BODY     copy while hashing (MD5 for the part ETag, plus the upload's
 *            checksum), fsync
 *   PUBLISH  propose part_put: the record is what makes a part exist
 *   DISCARD  close the source and the part file, unlink it, answer the error
 *   DONE     answered
 *
 * One guard (s3/pipe.h), as in s3/op_put.c: once DISCARD or DONE is entered no callback
 * starts work or answers; one pool job at a time.
 *
 * The bytes are read and hashed on the way (a part's ETag is the MD5 of its
 * own bytes, which no stored digest gives for a range). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "mpu.h"
#include "pipe.h"
#include "obj.h"
#include "publish.h"
#include "xml_out.h"
#include "unigw/err.h"

#define PART_COPY_BUF (1u << 20)

enum part_copy_state {
    PCOPY_CHECK,
    PCOPY_STAGE,
    PCOPY_BODY,
    PCOPY_PUBLISH,
    PCOPY_DISCARD,
    PCOPY_DONE,
};

struct part_copy {
    struct s3_req *q;
    struct s3_pipe g; /* state (enum part_copy_state), the one pool job, the DISCARD answer */
    struct s3_mpu_part *pt;
    struct gw_str src_bucket, src_key;
    bool has_range;
    uint64_t first, last;
    uint64_t len;
    struct s3_obj src;
    int fd;
    struct gw_digests dig;
    int64_t mtime_ns;
    bool is_unlink_needed; /* the part file is closed but must go */
    int job_rv; /* pool side, read after the job completes */
};

static void part_copy_free(void *arg)
{
    struct part_copy *c = arg;

    /* Safety net only: the steps and DISCARD close both normally. */
    if (c->src.fd >= 0) {
        close(c->src.fd);
    }
    if (c->fd >= 0) {
        close(c->fd);
        s3__store_path_unlink(&c->q->svc->store, c->pt->path);
    }
}

/* The guard is s3/pipe.h; DISCARD runs discard_run once no job is in flight. */
static void discard_run(void *arg);

/* ---- CHECK ------------------------------------------------------------------ */

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

/* ---- STAGE ------------------------------------------------------------------ */

static int stage_part(struct part_copy *c)
{
    uint64_t size = c->src.is_marker ? 0 : (uint64_t)c->src.st.st_size;
    int rv = s3__obj_conditions(c->q, &c->src, "x-amz-copy-source-");

    if (rv != 0) {
        return rv == GW_ERR_NOT_MODIFIED ? GW_ERR_PRECONDITION_FAILED : rv;
    }
    if (c->has_range && c->last >= size) {
        return GW_ERR_INVALID_RANGE;
    }
    c->len = c->has_range ? c->last - c->first + 1 : size;
    return s3__mpu_part_stage(c->q, c->pt, &c->fd);
}

static void stage_work_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;
    int rv = s3__obj_open(c->q->svc, c->src_bucket, c->src_key, c->q->a, &c->src);

    if (rv == 0) {
        rv = stage_part(c);
    }
    c->job_rv = rv;
}

static void body_work_cb(struct gw_pool_job *job);
static void body_done_cb(struct gw_pool_job *job);

static void stage_done_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    c->g.state = PCOPY_BODY;
    s3__pipe_submit(&c->g, body_work_cb, body_done_cb);
}

/* ---- BODY ------------------------------------------------------------------- */

static void body_work_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;
    struct stat st;
    int rv = copy_hashing(c, c->has_range ? c->first : 0, c->len);

    close(c->src.fd);
    c->src.fd = -1;
    if (rv == 0 && c->q->svc->cfg.fsync && fsync(c->fd) != 0) {
        rv = gw_err_from_errno(errno);
    }
    if (rv == 0 && fstat(c->fd, &st) == 0) {
        c->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    if (rv == 0) {
        close(c->fd);
        c->fd = -1; /* the part file stays: PUBLISH commits its record */
    }
    c->job_rv = rv;
}

/* ---- PUBLISH ------------------------------------------------------------------ */

static void reply(struct part_copy *c)
{
    struct s3_req *q = c->q;
    struct s3_xml_writer w;
    char hex[2 * GW_MD5_LEN + 1];
    char b64[GW_CHECKSUM_B64_CAP];

    c->g.state = PCOPY_DONE;
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

static void committed_cb(void *arg, int rv)
{
    struct part_copy *c = arg;

    if (c->g.state != PCOPY_PUBLISH) {
        return;
    }
    if (rv != 0) {
        c->is_unlink_needed = true;
        s3__pipe_fail(&c->g, rv);
        return;
    }
    reply(c);
}

static void body_done_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    c->g.state = PCOPY_PUBLISH;
    s3__mpu_part_commit(c->q, c->pt, &c->dig, c->len, committed_cb, c);
}

/* ---- DISCARD ------------------------------------------------------------------ */

static void discard_work_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    if (c->src.fd >= 0) {
        close(c->src.fd);
        c->src.fd = -1;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->pt->path[0] != '\0') {
        s3__store_path_unlink(&c->q->svc->store, c->pt->path);
    }
}

static void answer_error(struct part_copy *c)
{
    c->g.state = PCOPY_DONE;
    s3_err_respond(c->q, c->g.rv);
}

static void discard_done_cb(struct gw_pool_job *job)
{
    struct part_copy *c = job->data;

    s3__pipe_discard_back(&c->g);
    answer_error(c);
}

/* No job runs any more: close what is open and remove the part file (when
 * one was staged), then answer. */
static void discard_run(void *arg)
{
    struct part_copy *c = arg;

    if (c->src.fd < 0 && c->fd < 0 && !c->is_unlink_needed) {
        answer_error(c);
        return;
    }
    s3__pipe_discard_submit(&c->g, discard_work_cb, discard_done_cb);
}

/* ---- entry ---------------------------------------------------------------------- */

void s3__mpu_part_copy(struct s3_req *q)
{
    struct part_copy *c = gw_arena_zalloc(q->a, sizeof *c);
    int rv;

    c->q = q;
    s3__pipe_init(&c->g, q->x->pool, PCOPY_CHECK, PCOPY_DISCARD, c, discard_run);
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
        c->g.rv = rv;
        answer_error(c);
        return;
    }
    gw_arena_defer(q->a, part_copy_free, c);
    c->g.state = PCOPY_STAGE;
    s3__pipe_submit(&c->g, stage_work_cb, stage_done_cb);
}
