/* CompleteMultipartUpload.
 *
 *   CHECK ---> STAGE ---> BODY --+-------------------> PUBLISH ---> FINISH ---> DONE
 *   (loop +    (pool)     (pool) +--> TAG (loop) ----^ (pool)       (loop +     (answered)
 *    claim)      |          |          |                 |           pool)        ^
 *     |          +----------+----------+-----------------+-------------+-> DISCARD+
 *     +----------------------------------------------------------------(pool)-----+
 *
 *   CHECK   read and parse the XML body; the upload (NoSuchUpload), each
 *           listed part against the committed records (InvalidPart), sizes
 *           (EntityTooSmall); an upload already completed with this same
 *           list answers its stored result at once (idempotent retry).
 *           Then propose upload_claim with the SHA-256 of the part list:
 *           one list wins; the same list may claim again (a retry after a
 *           crash or on another node redoes the assembly).  Once claimed,
 *           200 goes out with chunked framing: the XML declaration, then a
 *           space every S3_MPU_KEEPALIVE_MS so clients and proxies wait.
 *   STAGE   create the temp file under .unigw/tmp
 *   BODY    each part appended by copy_file_range (read/write when
 *           refused); the final ETag md5(md5s)-N, the composite or
 *           full-object checksum; with tags, the tags the old object has
 *   TAG     the upload's tags under the new object's id, before anything is
 *           published: a refused proposal leaves the old object as it was
 *   PUBLISH s3__publish (the PutObject rename)
 *   FINISH  propose upload_finish (drops the part records), remove the
 *           staged directory (pool), then the result document
 *   DISCARD unlink the temp file once no job holds it; when the tags were
 *           committed and nothing was published, commit the old object's
 *           tags again; then the error, or the result of a racing Complete
 *           with the same list that won
 *   DONE    the final answer is decided: nothing starts or answers again;
 *           the keep-alive timer only closes
 *
 * Errors before the 200 went out are ordinary S3 errors.  After it the
 * status is already 200, so the error goes out as an <Error> document in
 * the body, as AWS does; that is the one place besides s3_err_respond that
 * writes one.  An error after PUBLISH (upload_finish refused) leaves the new
 * object with its tags and a claimed upload, which a retry finishes. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mpu.h"
#include "pipe.h"
#include "obj.h"
#include "publish.h"
#include "xml_in.h"
#include "xml_out.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define S3_MPU_KEEPALIVE_MS 5000
#define ASSEMBLE_BUF (1u << 20)

enum complete_state {
    CMPL_CHECK,
    CMPL_STAGE,
    CMPL_BODY,
    CMPL_TAG,
    CMPL_PUBLISH,
    CMPL_FINISH,
    CMPL_DISCARD,
    CMPL_DONE,
};

struct complete_op {
    struct s3_req *q;
    struct s3_pipe g; /* state (enum complete_state), the one pool job, the DISCARD answer */
    struct s3_xml_complete doc;
    struct meta_upload u;
    struct s3_mpu_info info;
    unsigned alg; /* the upload's checksum algorithm bit, or 0 */
    unsigned char claim[GW_SHA256_LEN];
    struct meta_part *parts; /* the listed parts, in order (gw_malloc'ed) */
    size_t n_parts;
    char dir[S3_PATH_MAX];
    char tmp_path[S3_PATH_MAX];
    int fd;
    uint64_t size;
    char etag[META_ETAG_MAX + 1];
    char cksum_b64[GW_CHECKSUM_B64_CAP + 8];
    int job_rv; /* pool side, read after the job completes */
    struct s3_tag_prior prior; /* the old object's tags, when the upload has tags */
    bool is_tagged;            /* the upload's tags are committed under the new id */
    struct gw_str drop_id;     /* the replaced object's id, when its tags must go */
    bool is_published;
    /* the 200 stream (once the claim succeeded) */
    uv_timer_t timer;
    bool is_streaming; /* 200 sent; the timer is initialized */
    bool is_writing;   /* a body write is outstanding */
    bool is_final_queued; /* the final document waits for that write */
    struct gw_buf final;
};

static void complete_free(void *arg)
{
    struct complete_op *c = arg;

    gw_free(c->parts);
    gw_buf_free(&c->final);
    if (c->fd >= 0) {
        close(c->fd);
        s3__store_path_unlink(&c->q->svc->store, c->tmp_path);
    }
}

/* ---- the result documents ------------------------------------------------ */

static void result_doc(struct complete_op *c, struct gw_buf *b, struct gw_str etag)
{
    struct s3_req *q = c->q;
    struct s3_xml_writer w;

    s3_xml_begin(&w, b, "CompleteMultipartUploadResult", S3_XML_NS);
    s3_xml_elem_c(&w, "Location",
                  gw_arena_printf(q->a, "/%.*s/%.*s", (int)q->rt.bucket.len, q->rt.bucket.p,
                                  (int)q->rt.key.len, q->rt.key.p));
    s3_xml_elem(&w, "Bucket", q->rt.bucket);
    s3_xml_elem(&w, "Key", q->rt.key);
    s3_xml_elem_etag(&w, "ETag", etag);
    if (c->cksum_b64[0] != '\0') {
        s3_xml_elem_c(&w, s3__mpu_checksum_elem(c->alg), c->cksum_b64);
        s3_xml_elem_c(&w, "ChecksumType", c->info.is_full_object ? "FULL_OBJECT" : "COMPOSITE");
    }
    s3_xml_end(&w);
}

static void error_doc(struct complete_op *c, struct gw_buf *b, int rv)
{
    gw_buf_append_c(b, "<Error><Code>");
    gw_buf_append_c(b, gw_err_code(rv));
    gw_buf_append_c(b, "</Code><Message>");
    gw_buf_append_xml(b, gw_str_c(gw_err_message(rv)));
    gw_buf_append_c(b, "</Message><Key>");
    gw_buf_append_xml(b, c->q->rt.key);
    gw_buf_append_c(b, "</Key><RequestId>");
    gw_buf_append_c(b, c->q->http->request_id);
    gw_buf_append_c(b, "</RequestId></Error>");
}

/* ---- streaming the 200 ---------------------------------------------------- */

static void timer_closed_cb(uv_handle_t *h)
{
    struct complete_op *c = h->data;

    s3_resp_end(c->q->x);
}

static void write_final(struct complete_op *c);

static void written_cb(struct s3_exchange *x, int rv, void *arg)
{
    struct complete_op *c = arg;

    (void)x;
    (void)rv; /* a gone client still gets its upload completed */
    c->is_writing = false;
    if (c->is_final_queued) {
        write_final(c);
    }
}

static void final_written_cb(struct s3_exchange *x, int rv, void *arg)
{
    struct complete_op *c = arg;

    (void)x;
    (void)rv;
    uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
}

static void write_final(struct complete_op *c)
{
    if (c->is_writing) {
        return; /* written_cb comes back here */
    }
    c->is_final_queued = false;
    c->is_writing = true;
    if (s3_resp_write(c->q->x, c->final.data, c->final.len, final_written_cb, c) != 0) {
        uv_close((uv_handle_t *)&c->timer, timer_closed_cb);
    }
}

static void keepalive_cb(uv_timer_t *t)
{
    struct complete_op *c = t->data;

    if (c->g.state == CMPL_DONE || c->is_writing) {
        return; /* the final document is on its way, or a space still is */
    }
    c->is_writing = true;
    if (s3_resp_write(c->q->x, " ", 1, written_cb, c) != 0) {
        c->is_writing = false;
    }
}

static void stream_start(struct complete_op *c)
{
    struct s3_req *q = c->q;

    s3_req_header(q, "Content-Type", "application/xml");
    s3_resp_start(q->x, 200, q->hdrs, q->n_hdrs, -1);
    c->is_streaming = true;
    uv_timer_init(q->x->loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, keepalive_cb, S3_MPU_KEEPALIVE_MS, S3_MPU_KEEPALIVE_MS);
    c->is_writing = true;
    if (s3_resp_write(q->x, S3_XML_DECL, strlen(S3_XML_DECL), written_cb, c) != 0) {
        c->is_writing = false;
    }
}

/* Enter DONE and answer @rv: an error status before the 200 went out, a
 * document in its body after.  Called once per request. */
static void complete_end(struct complete_op *c, int rv)
{
    size_t decl = strlen(S3_XML_DECL);

    assert(c->g.state != CMPL_DONE && c->g.n_jobs == 0);
    c->g.state = CMPL_DONE;
    if (!c->is_streaming) {
        if (rv != 0) {
            s3_err_respond(c->q, rv);
            return;
        }
        result_doc(c, &c->q->body_out, gw_str_c(c->etag));
        s3_req_respond_xml(c->q, 200);
        return;
    }
    if (rv != 0) {
        GW_RLOG(GW_LOG_WARN, "s3", c->q->http->request_id, "op=CompleteMultipartUpload err=%s",
                gw_err_name(rv));
        error_doc(c, &c->final, rv);
    } else {
        result_doc(c, &c->final, gw_str_c(c->etag));
        gw_buf_consume(&c->final, decl); /* the declaration went out first */
    }
    c->is_final_queued = true;
    write_final(c);
}

/* The guard is s3/pipe.h; DISCARD runs discard_run once no job is in flight. */
static void discard_run(void *arg);

/* ---- CHECK ---------------------------------------------------------------- */

static void claim_digest(struct complete_op *c)
{
    struct gw_buf b = GW_BUF_INIT;

    for (size_t i = 0; i < c->doc.n_parts; i++) {
        gw_buf_put_u32(&b, c->doc.parts[i].part_number);
        gw_buf_put_bytes(&b, c->doc.parts[i].etag);
    }
    gw_sha256(b.data, b.len, c->claim);
    gw_buf_free(&b);
}

int s3__mpu_check_parts(const struct s3_xml_complete *doc, const struct meta_part *all,
                        size_t n_all, struct meta_part *out, uint64_t *size)
{
    size_t j = 0;
    char hex[2 * GW_MD5_LEN + 1];

    *size = 0;
    for (size_t i = 0; i < doc->n_parts; i++) {
        const struct s3_xml_part *xp = &doc->parts[i];
        while (j < n_all && all[j].number < xp->part_number) {
            j++;
        }
        if (j == n_all || all[j].number != xp->part_number) {
            return GW_ERR_INVALID_PART; /* never uploaded */
        }
        gw_hex_encode(all[j].md5, GW_MD5_LEN, hex);
        if (!gw_str_eq(xp->etag, gw_str_make(hex, 2 * GW_MD5_LEN))) {
            return GW_ERR_INVALID_PART;
        }
        if (i + 1 < doc->n_parts && all[j].size < S3_MPU_MIN_PART_SIZE) {
            return GW_ERR_ENTITY_TOO_SMALL;
        }
        out[i] = all[j];
        *size += all[j].size;
    }
    return GW_OK;
}

void s3__mpu_final_etag(const struct meta_part *parts, size_t n, char *out, size_t cap)
{
    struct gw_buf cat = GW_BUF_INIT;
    unsigned char md5[GW_MD5_LEN];
    char hex[2 * GW_MD5_LEN + 1];

    for (size_t i = 0; i < n; i++) {
        gw_buf_append(&cat, parts[i].md5, GW_MD5_LEN);
    }
    gw_md5(cat.data, cat.len, md5);
    gw_buf_free(&cat);
    gw_hex_encode(md5, GW_MD5_LEN, hex);
    snprintf(out, cap, "%s-%zu", hex, n);
}

/* The checksum the client's <Part> states for @alg, or a NULL view. */
static struct gw_str part_checksum(const struct s3_xml_part *xp, unsigned alg)
{
    switch (alg) {
    case GW_HASH_CRC32:
        return xp->checksum_crc32;
    case GW_HASH_CRC32C:
        return xp->checksum_crc32c;
    case GW_HASH_CRC64NVME:
        return xp->checksum_crc64nvme;
    case GW_HASH_SHA1:
        return xp->checksum_sha1;
    case GW_HASH_SHA256:
        return xp->checksum_sha256;
    default:
        return GW_STR_NULL;
    }
}

/* A part checksum in the Complete request must be the one stored with the
 * part (as AWS checks); parts sent without one are matched by ETag alone. */
static int check_part_checksums(const struct complete_op *c)
{
    unsigned char want[GW_HASH_MAX_LEN];

    for (size_t i = 0; c->alg != 0 && i < c->doc.n_parts; i++) {
        struct gw_str v = part_checksum(&c->doc.parts[i], c->alg);
        if (v.p == NULL || v.len == 0) {
            continue;
        }
        if (gw_checksum_decode(c->alg, v, want) != 0 || c->parts[i].cksum_len != gw_hash_len(c->alg) ||
            memcmp(want, c->parts[i].cksum, c->parts[i].cksum_len) != 0) {
            return GW_ERR_INVALID_PART;
        }
    }
    return GW_OK;
}

/* Match the client's list against the committed part records. */
static int check_parts(struct complete_op *c, const struct meta_part *all, size_t n_all)
{
    int rv;

    c->parts = gw_calloc(c->doc.n_parts, sizeof *c->parts);
    rv = s3__mpu_check_parts(&c->doc, all, n_all, c->parts, &c->size);
    if (rv == 0) {
        c->n_parts = c->doc.n_parts;
        rv = check_part_checksums(c);
    }
    if (rv != 0) {
        s3_req_errmsg(c->q, "complete: %s", gw_err_name(rv));
        return rv;
    }
    c->n_parts = c->doc.n_parts;
    return GW_OK;
}

static int load_and_check(struct complete_op *c)
{
    struct s3_req *q = c->q;
    struct gw_buf info = GW_BUF_INIT;
    struct meta_part *all = NULL;
    size_t n_all = 0;
    int rv = s3__mpu_upload_lookup(q, &c->u, &info);

    if (rv == 0) {
        rv = s3__mpu_info_decode(gw_buf_str(&info), q->a, &c->info);
    }
    gw_buf_free(&info);
    if (rv != 0) {
        return rv;
    }
    c->alg = s3_objmeta_cksum_alg(c->info.meta.cksum);
    if (c->u.state == META_UPLOAD_COMPLETED) {
        return GW_OK; /* answered from the record by the caller */
    }
    rv = meta_part_list(q->svc->meta, q->rt.bucket, gw_str_make(c->u.upload_id, c->u.upload_id_len),
                        0, 0, &all, &n_all);
    if (rv == 0) {
        rv = check_parts(c, all, n_all);
    }
    gw_free(all);
    return rv;
}

/* The answer of an upload completed earlier with the same part list. */
static int answer_completed(struct complete_op *c)
{
    if (c->u.claim_len != sizeof c->claim || memcmp(c->u.claim, c->claim, sizeof c->claim) != 0) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    snprintf(c->etag, sizeof c->etag, "%s", c->u.etag);
    complete_end(c, GW_OK);
    return GW_OK;
}

static void body_work_cb(struct gw_pool_job *job);
static void body_done_cb(struct gw_pool_job *job);

/* ---- CHECK: the claim ------------------------------------------------------- */

static void stage_work_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    c->job_rv = s3__stage_create(c->q->svc, c->tmp_path, sizeof c->tmp_path, &c->fd);
}

static void stage_done_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    c->g.state = CMPL_BODY;
    s3__pipe_submit(&c->g, body_work_cb, body_done_cb);
}

static void claimed_cb(void *arg, int rv)
{
    struct complete_op *c = arg;
    struct s3_req *q = c->q;

    if (c->g.state != CMPL_CHECK) {
        return;
    }
    if (rv == 0) {
        rv = meta_upload_get(q->svc->meta, q->rt.bucket,
                             gw_str_make(c->u.upload_id, c->u.upload_id_len), &c->u, NULL);
    }
    if (rv == 0 && c->u.state == META_UPLOAD_COMPLETED) {
        rv = answer_completed(c); /* a racing Complete with this list finished first */
        if (rv == 0) {
            return;
        }
    }
    if (rv == 0 && s3_path_multipart_dir(c->dir, sizeof c->dir, q->svc->mount,
                                         gw_str_make(c->u.upload_id, c->u.upload_id_len)) != 0) {
        rv = GW_ERR_NO_SUCH_UPLOAD;
    }
    if (rv != 0) {
        complete_end(c, rv);
        return;
    }
    stream_start(c);
    c->g.state = CMPL_STAGE;
    s3__pipe_submit(&c->g, stage_work_cb, stage_done_cb);
}

static void body_cb(struct s3_req *q, int rv, struct gw_str body)
{
    struct complete_op *c = q->op;
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;

    if (rv == 0) {
        rv = s3_xml_parse_complete_mpu(body, q->a, &c->doc);
    }
    if (rv == 0) {
        rv = s3_xml_complete_check_order(&c->doc);
    }
    if (rv == 0) {
        claim_digest(c);
        rv = load_and_check(c);
    }
    if (rv == 0 && c->u.state == META_UPLOAD_COMPLETED) {
        rv = answer_completed(c);
        if (rv == 0) {
            return;
        }
    }
    if (rv == 0) {
        rv = s3__mpu_cmd_hdr(q, &h);
    }
    if (rv == 0) {
        rv = meta_cmd_upload_claim(&cmd, &h, q->rt.bucket,
                                   gw_str_make(c->u.upload_id, c->u.upload_id_len),
                                   gw_str_make((const char *)c->claim, sizeof c->claim));
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        complete_end(c, rv);
        return;
    }
    s3__mpu_propose(q, &cmd, claimed_cb, c);
}

/* ---- BODY (pool) ----------------------------------------------------------- */

static int append_copy(struct complete_op *c, int in, uint64_t len, char **buf)
{
    bool use_cfr = c->q->svc->cfg.copy_file_range;

    while (len > 0) {
        ssize_t n = -1;
        if (use_cfr) {
            n = copy_file_range(in, NULL, c->fd, NULL, len, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP || errno == EBADF)) {
                use_cfr = false; /* fall back to a buffered copy */
                continue;
            }
        } else {
            if (*buf == NULL) {
                *buf = gw_malloc(ASSEMBLE_BUF);
            }
            n = read(in, *buf, len < ASSEMBLE_BUF ? (size_t)len : ASSEMBLE_BUF);
            if (n > 0 && s3__write_all(c->fd, *buf, (size_t)n) != 0) {
                return gw_err_from_errno(errno);
            }
        }
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

static int assemble_parts(struct complete_op *c)
{
    char path[S3_PATH_MAX];
    char *buf = NULL;
    int rv = GW_OK;

    for (size_t i = 0; rv == 0 && i < c->n_parts; i++) {
        struct stat st;
        int in;
        if (snprintf(path, sizeof path, "%s/%s", c->dir, c->parts[i].file) >= (int)sizeof path) {
            rv = GW_ERR_INVALID_PART;
            break;
        }
        /* A part file replaced on the mount by a link, a FIFO or a device is
         * no part: never followed, never opened blocking. */
        in = s3__store_path_open_file(&c->q->svc->store, path, false, &st);
        if (in < 0) {
            rv = errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == ENXIO
                     ? GW_ERR_INVALID_PART
                     : gw_err_from_errno(errno);
            break;
        }
        if ((uint64_t)st.st_size != c->parts[i].size) {
            rv = GW_ERR_INVALID_PART; /* the staged file is not what was committed */
        } else {
            rv = append_copy(c, in, c->parts[i].size, &buf);
        }
        close(in);
    }
    gw_free(buf);
    return rv;
}

static uint64_t be_value(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* FULL_OBJECT (CRCs only): the CRC of the whole object, from the part CRCs
 * and sizes with the CRC combine functions, without reading the data again. */
static void full_object_checksum(struct complete_op *c, struct s3_objmeta *m)
{
    size_t n = gw_hash_len(c->alg);
    uint64_t crc = 0;
    unsigned char out[8];
    size_t len;

    if (c->alg != GW_HASH_CRC32 && c->alg != GW_HASH_CRC32C && c->alg != GW_HASH_CRC64NVME) {
        return;
    }
    for (size_t i = 0; i < c->n_parts; i++) {
        uint64_t part = be_value(c->parts[i].cksum, n);
        if (c->parts[i].cksum_len != n) {
            return;
        }
        if (i == 0) {
            crc = part;
        } else if (c->alg == GW_HASH_CRC32) {
            crc = gw_crc32_combine((uint32_t)crc, (uint32_t)part, c->parts[i].size);
        } else if (c->alg == GW_HASH_CRC32C) {
            crc = gw_crc32c_combine((uint32_t)crc, (uint32_t)part, c->parts[i].size);
        } else {
            crc = gw_crc64nvme_combine(crc, part, c->parts[i].size);
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (unsigned char)(crc >> (8 * (n - 1 - i)));
    }
    memcpy(m->cksum_value, out, n);
    m->cksum_len = (uint8_t)n;
    m->cksum_composite = false;
    len = gw_base64_encode(out, n, c->cksum_b64);
    c->cksum_b64[len] = '\0';
}

/* Composite: the checksum of the concatenated part checksums, "-N".  Full
 * object (CRCs only): the part CRCs combined.  None when a part lacks one. */
static void final_checksum(struct complete_op *c, struct s3_objmeta *m)
{
    unsigned char out[GW_HASH_MAX_LEN];
    size_t len;
    struct gw_hash h;
    struct gw_digests d;

    if (c->alg == 0) {
        return;
    }
    gw_hash_init(&h, c->alg);
    for (size_t i = 0; i < c->n_parts; i++) {
        if (c->parts[i].cksum_len == 0) {
            gw_hash_cleanup(&h);
            return;
        }
        gw_hash_update(&h, c->parts[i].cksum, c->parts[i].cksum_len);
    }
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    if (c->info.is_full_object) {
        full_object_checksum(c, m);
        return;
    }
    len = gw_checksum_bytes(&d, c->alg, out);
    memcpy(m->cksum_value, out, len);
    m->cksum_len = (uint8_t)len;
    m->cksum_composite = true;
    len = gw_base64_encode(out, len, c->cksum_b64);
    snprintf(c->cksum_b64 + len, sizeof c->cksum_b64 - len, "-%zu", c->n_parts);
}

/* The object's record: the multipart ETag, the part count, the checksum. */
static void final_meta(struct complete_op *c)
{
    struct s3_objmeta *m = &c->info.meta;
    unsigned char md5s[GW_MD5_LEN];

    s3__mpu_final_etag(c->parts, c->n_parts, c->etag, sizeof c->etag);
    gw_hex_decode(gw_str_make(c->etag, 2 * GW_MD5_LEN), md5s, GW_MD5_LEN);
    memcpy(m->md5, md5s, GW_MD5_LEN);
    m->n_parts = (uint32_t)c->n_parts;
    m->cksum = c->alg != 0 ? m->cksum : S3_CKSUM_NONE;
    m->cksum_len = 0;
    final_checksum(c, m);
    if (m->cksum_len == 0) {
        m->cksum = S3_CKSUM_NONE;
    }
}

static void body_work_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;
    int rv = assemble_parts(c);

    if (rv == 0) {
        final_meta(c);
    }
    if (rv == 0 && c->info.tags.len > 0) {
        s3__tag_prior_read(c->q, c->q->rt.bucket, c->q->rt.key, &c->prior);
    }
    c->job_rv = rv;
}

/* ---- TAG -------------------------------------------------------------------- */

static void publish_start(struct complete_op *c);

static void tagged_cb(void *arg, int rv)
{
    struct complete_op *c = arg;

    if (c->g.state != CMPL_TAG) {
        return;
    }
    if (rv != 0) {
        s3__pipe_fail(&c->g, rv); /* nothing was published: the old object keeps its tags */
        return;
    }
    c->is_tagged = true;
    publish_start(c);
}

static void body_done_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;
    struct s3_req *q = c->q;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    if (c->info.tags.len == 0) {
        publish_start(c);
        return;
    }
    if (s3__object_id_new(&c->info.meta) != 0) {
        s3__pipe_fail(&c->g, GW_ERR_INTERNAL);
        return;
    }
    c->g.state = CMPL_TAG;
    s3__tag_store(q, q->rt.bucket, q->rt.key, &c->info.meta, c->info.tags, tagged_cb, c);
}

/* ---- PUBLISH (pool) --------------------------------------------------------- */

static void publish_work_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;
    struct s3_req *q = c->q;
    struct s3_publish pub = {0};
    int rv;

    pub.svc = q->svc;
    pub.bucket = q->rt.bucket;
    pub.key = q->rt.key;
    pub.tmp_path = c->tmp_path;
    pub.fd = c->fd;
    pub.meta = &c->info.meta;
    pub.has_object_id = c->is_tagged;
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

static void finish_start(struct complete_op *c);

static void publish_done_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    if (!s3__pipe_job_back(&c->g)) {
        return;
    }
    if (c->job_rv != 0) {
        s3__pipe_fail(&c->g, c->job_rv);
        return;
    }
    c->is_published = true;
    finish_start(c);
}

static void publish_start(struct complete_op *c)
{
    c->g.state = CMPL_PUBLISH;
    s3__pipe_submit(&c->g, publish_work_cb, publish_done_cb);
}

/* ---- FINISH ----------------------------------------------------------------- */

static void cleanup_work_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    s3__store_path_rmtree(&c->q->svc->store, c->dir);
}

static void cleanup_done_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    if (s3__pipe_job_back(&c->g)) {
        complete_end(c, GW_OK);
    }
}

/* Two Completes with the same part list may run at once (a client's retry
 * on another node): the first to finish removes the staged parts, and the
 * other's assembly or finish then fails.  That one answers the winner's
 * result instead, which is the same object.  True when it did. */
static bool completed_meanwhile(struct complete_op *c)
{
    struct s3_req *q = c->q;

    if (meta_upload_get(q->svc->meta, q->rt.bucket,
                        gw_str_make(c->u.upload_id, c->u.upload_id_len), &c->u, NULL) != 0 ||
        c->u.state != META_UPLOAD_COMPLETED) {
        return false;
    }
    return answer_completed(c) == 0;
}

/* The replaced object's tags are gone (or stay stale: the upload stands). */
static void untagged_cb(void *arg, int rv)
{
    struct complete_op *c = arg;

    if (c->g.state != CMPL_FINISH) {
        return;
    }
    (void)rv; /* logged by the tag step */
    s3__pipe_submit(&c->g, cleanup_work_cb, cleanup_done_cb);
}

static void finished_cb(void *arg, int rv)
{
    struct complete_op *c = arg;

    if (c->g.state != CMPL_FINISH) {
        return;
    }
    if (rv != 0) {
        s3__pipe_fail(&c->g, rv);
        return;
    }
    if (c->drop_id.p != NULL) {
        s3__tag_drop(c->q, c->q->rt.bucket, c->q->rt.key, c->drop_id, untagged_cb, c);
        return;
    }
    s3__pipe_submit(&c->g, cleanup_work_cb, cleanup_done_cb);
}

static void finish_start(struct complete_op *c)
{
    struct s3_req *q = c->q;
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    int rv = s3__mpu_cmd_hdr(q, &h);

    c->g.state = CMPL_FINISH;
    if (rv == 0) {
        rv = meta_cmd_upload_finish(&cmd, &h, q->rt.bucket,
                                    gw_str_make(c->u.upload_id, c->u.upload_id_len),
                                    gw_str_c(c->etag), c->size);
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        s3__pipe_fail(&c->g, rv);
        return;
    }
    s3__mpu_propose(q, &cmd, finished_cb, c);
}

/* ---- DISCARD ---------------------------------------------------------------- */

static void discard_work_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    close(c->fd);
    c->fd = -1;
    s3__store_path_unlink(&c->q->svc->store, c->tmp_path);
}

/* The error, unless a racing Complete with the same list won meanwhile. */
static void answer_error(struct complete_op *c)
{
    if (c->g.state == CMPL_DISCARD && completed_meanwhile(c)) {
        return;
    }
    complete_end(c, c->g.rv);
}

static void restored_cb(void *arg, int rv)
{
    struct complete_op *c = arg;

    (void)rv; /* logged by the tag step */
    answer_error(c);
}

/* Put the old object's tags back if this Complete replaced them and then
 * did not publish, and answer. */
static void discard_tags(struct complete_op *c)
{
    struct s3_req *q = c->q;

    if (!c->is_tagged || c->is_published || !c->prior.has_tags) {
        answer_error(c);
        return;
    }
    s3__tag_restore(q, q->rt.bucket, q->rt.key, &c->prior, restored_cb, c);
}

static void discard_done_cb(struct gw_pool_job *job)
{
    struct complete_op *c = job->data;

    s3__pipe_discard_back(&c->g);
    discard_tags(c);
}

static void discard_run(void *arg)
{
    struct complete_op *c = arg;

    if (c->fd < 0) {
        discard_tags(c);
        return;
    }
    s3__pipe_discard_submit(&c->g, discard_work_cb, discard_done_cb);
}

/* ---- entry --------------------------------------------------------------------- */

void s3__mpu_complete(struct s3_req *q)
{
    struct complete_op *c = gw_arena_zalloc(q->a, sizeof *c);

    c->q = q;
    s3__pipe_init(&c->g, q->x->pool, CMPL_CHECK, CMPL_DISCARD, c, discard_run);
    c->fd = -1;
    q->op = c;
    gw_arena_defer(q->a, complete_free, c);
    s3__read_small_body(q, S3_XML_COMPLETE_MAX_LEN, body_cb);
}
