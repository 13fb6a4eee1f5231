/* PutObject and UploadPart: stream the body into a staged file, verify,
 * publish.
 *
 *   CHECK --> STAGE --> BODY --+----------------------------> PUBLISH --> [UNTAG] --> DONE
 *   (loop)    (pool)    (loop  |                               (pool)     (loop)   (answered)
 *     |         |       + pool)+--> VERIFY --> TAG ------------^           ^
 *     |         |          |   |    (pool)     (loop: tags)                |
 *     |         |          |   +--> VERIFY --> COMMIT (loop: part record) -+
 *     |         +----------+----------+----------+-----------+--> DISCARD -+
 *     +----------------------------------------------------------(pool)---+
 *
 *   CHECK    headers, digests, limits (a refusal answers at once)
 *   STAGE    the bucket exists; create the temp file (UploadPart: the part
 *            file under the upload's directory)
 *   BODY     the loop reads into one of two buffers while one pool job at a
 *            time decodes aws-chunked framing, hashes and writes the other
 *   VERIFY   final digests compared (UploadPart: and fsync); for a PutObject
 *            with x-amz-tagging also the tags the old object has
 *   TAG      the tags committed under the new object's id, before anything
 *            is published: a refused proposal (no leader) leaves the old
 *            object and its tags as they were
 *   PUBLISH  fsync, record, rename (a plain PutObject verifies here first)
 *   UNTAG    a PutObject without tags replaced an object that had some: its
 *            tag record goes (tags_drop of the old id); the object is
 *            published whatever the proposal answers
 *   COMMIT   UploadPart: the part record through the proposer
 *   DISCARD  close and unlink the temp file once no job holds it; when the
 *            new tags were committed and the publish then failed, the old
 *            object's tags are committed again; then the error answer (the
 *            first error wins)
 *   DONE     the answer went out
 *
 * The one guard (s3/pipe.h): once DISCARD or DONE is entered no callback
 * starts work or answers.  A body-ready callback that arrives late returns
 * at once; a pool job that is still running when a failure comes in is
 * waited for, and its completion continues the discard instead of the
 * pipeline.  At most one
 * pool job runs per upload (n_jobs is 0 or 1), so the hash state needs no
 * lock and DISCARD never closes an fd under a running write.
 *
 * At most two io_chunk_size buffers exist per upload, whatever the object
 * size: when both are busy the loop stops reading the body and node stops
 * reading the socket (back-pressure). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "chunked.h"
#include "mpu.h"
#include "path.h"
#include "pipe.h"
#include "publish.h"
#include "put_meta.h"
#include "sigv4.h"
#include "unigw/alloc.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/log.h"

enum put_state {
    PUT_CHECK,
    PUT_STAGE,
    PUT_BODY,
    PUT_VERIFY,
    PUT_TAG,
    PUT_PUBLISH,
    PUT_UNTAG,
    PUT_COMMIT,
    PUT_DISCARD,
    PUT_DONE,
};

struct put_op {
    struct s3_req *q;
    struct s3_pipe g; /* state (enum put_state), the one pool job, the DISCARD answer */
    bool is_waiting;  /* a body_wait is outstanding */
    struct s3_objmeta meta;
    /* what to verify */
    unsigned algs;
    bool want_sha256;
    unsigned char sha256[GW_SHA256_LEN];
    bool want_md5;
    unsigned char md5[GW_MD5_LEN];
    unsigned cksum_alg;   /* from x-amz-checksum-* or the SDK algorithm */
    struct gw_str cksum_value; /* header value; NULL view for a trailer */
    bool is_aws_chunked;
    struct s3_chunked dec;
    struct gw_hash hash;
    struct gw_digests dig;
    /* staging */
    char tmp_path[S3_PATH_MAX];
    int fd;
    /* body pipeline */
    char *buf[2];
    size_t buf_len[2];
    int fill;
    struct gw_str pending;
    bool eof_seen;
    bool job_last;
    int job_buf;
    uint64_t written;
    uint64_t limit;
    int job_rv; /* pool side, read after the job completes */
    struct s3_mpu_part *part; /* UploadPart; NULL for PutObject */
    struct gw_str tags;       /* x-amz-tagging, canonical; NULL view when absent */
    struct s3_tag_prior prior; /* the old object's tags (tagged PutObject) */
    bool is_tagged;           /* the new tags are committed */
    struct gw_str drop_id;    /* the replaced object's id, when its tags must go */
};

static void put_free(void *arg)
{
    struct put_op *p = arg;

    gw_hash_cleanup(&p->hash);
    if (p->is_aws_chunked) {
        s3_chunked_close(&p->dec);
    }
    gw_free(p->buf[0]);
    gw_free(p->buf[1]);
    /* Safety net only: the DISCARD step has normally removed the temp file already. */
    if (p->fd >= 0) {
        close(p->fd);
        s3__store_path_unlink(&p->q->svc->store, p->tmp_path);
    }
}

/* The guard is s3/pipe.h; DISCARD runs discard_run once no job is in flight. */
static void discard_run(void *arg);

/* ---- CHECK ------------------------------------------------------------- */

static int check_checksum_headers(struct put_op *p)
{
    struct s3_req *q = p->q;
    struct gw_str sdk = s3_header_get(q->http, "x-amz-sdk-checksum-algorithm");
    unsigned char tmp[GW_HASH_MAX_LEN];

    for (size_t i = 0; i < q->http->n_headers; i++) {
        unsigned alg = gw_checksum_alg_from_header(q->http->headers[i].name);
        if (alg == 0) {
            continue;
        }
        if (p->cksum_alg != 0) {
            s3_req_errmsg(q, "more than one x-amz-checksum header");
            return GW_ERR_INVALID_REQUEST;
        }
        p->cksum_alg = alg;
        p->cksum_value = q->http->headers[i].value;
        if (gw_checksum_decode(alg, p->cksum_value, tmp) != 0) {
            return GW_ERR_INVALID_CHECKSUM;
        }
    }
    if (p->cksum_alg == 0 && sdk.p != NULL) {
        p->cksum_alg = gw_checksum_alg_from_name(sdk);
        if (p->cksum_alg == 0) {
            return GW_ERR_INVALID_REQUEST;
        }
    }
    p->algs |= p->cksum_alg;
    return GW_OK;
}

static int check_md5(struct put_op *p)
{
    struct gw_str h = s3_header_get(p->q->http, "content-md5");
    size_t n = 0;

    if (h.p == NULL) {
        return GW_OK;
    }
    if (!gw_base64_decode(gw_str_trim(h), p->md5, sizeof p->md5, &n) || n != GW_MD5_LEN) {
        return GW_ERR_INVALID_DIGEST;
    }
    p->want_md5 = true;
    return GW_OK;
}

static int check_payload_mode(struct put_op *p)
{
    struct s3_req *q = p->q;
    struct s3_chunked_params cp = {0};
    uint64_t dlen = 0;
    int rv;

    if (q->auth == NULL || q->auth->payload_mode == S3_PAYLOAD_UNSIGNED) {
        return GW_OK;
    }
    if (q->auth->payload_mode == S3_PAYLOAD_SHA256) {
        p->want_sha256 = true;
        memcpy(p->sha256, q->auth->sha256, sizeof p->sha256);
        p->algs |= GW_HASH_SHA256;
        return GW_OK;
    }
    if (!gw_str_to_u64(s3_header_get(q->http, "x-amz-decoded-content-length"), &dlen)) {
        return GW_ERR_MISSING_CONTENT_LENGTH;
    }
    cp.mode = q->auth->payload_mode;
    cp.decoded_len = dlen;
    cp.trailer = s3_header_get(q->http, "x-amz-trailer");
    cp.auth = q->auth;
    /* A trailing checksum is hashed on the way even when no
     * x-amz-sdk-checksum-algorithm announced it (AWS needs only x-amz-trailer). */
    p->algs |= gw_checksum_alg_from_header(gw_str_trim(cp.trailer));
    p->limit = dlen;
    p->is_aws_chunked = true;
    rv = s3_chunked_init(&p->dec, &cp);
    /* The trailer's checksum is verified against what we hash: hash it too. */
    p->algs |= rv == 0 ? s3_chunked_trailer_alg(&p->dec) : 0;
    return rv;
}

static int check_request(struct put_op *p)
{
    struct s3_req *q = p->q;
    uint64_t max = q->svc->cfg.max_object_size;
    int rv;

    rv = s3_path_key_check(q->rt.key);
    if (rv == 0 && !q->http->has_content_length && !q->http->is_chunked) {
        rv = GW_ERR_MISSING_CONTENT_LENGTH;
    }
    if (rv == 0 && q->http->has_content_length && q->http->content_length > max + (max >> 4)) {
        rv = GW_ERR_ENTITY_TOO_LARGE; /* the framing of aws-chunked adds a little */
    }
    p->limit = q->http->has_content_length ? q->http->content_length : max;
    if (rv == 0) {
        rv = s3__put_meta_from_request(q, &p->meta);
    }
    if (rv == 0) {
        rv = check_md5(p);
    }
    if (rv == 0) {
        rv = check_checksum_headers(p);
    }
    if (rv == 0) {
        rv = check_payload_mode(p);
    }
    if (rv == 0 && p->part == NULL) {
        rv = s3__tag_header(q, &p->tags);
    }
    if (rv == 0 && p->limit > max) {
        rv = GW_ERR_ENTITY_TOO_LARGE;
    }
    return rv;
}

/* ---- STAGE ------------------------------------------------------------- */

static void pump(struct put_op *p);

static void stage_work_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    struct stat st;
    int rv = s3__bucket_stat(p->q->svc, p->q->rt.bucket, &st);

    if (rv == 0 && p->part != NULL) {
        rv = s3__mpu_part_stage(p->q, p->part, &p->fd);
        snprintf(p->tmp_path, sizeof p->tmp_path, "%s", p->part->path);
    } else if (rv == 0) {
        rv = s3__stage_create(p->q->svc, p->tmp_path, sizeof p->tmp_path, &p->fd);
    }
    p->job_rv = rv;
}

static void stage_done_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    size_t cap = p->q->svc->cfg.io_chunk_size;

    if (!s3__pipe_job_back(&p->g)) {
        return;
    }
    if (p->job_rv != 0) {
        s3__pipe_fail(&p->g, p->job_rv);
        return;
    }
    p->buf[0] = gw_malloc(cap);
    p->buf[1] = gw_malloc(cap);
    p->g.state = PUT_BODY;
    pump(p);
}

/* ---- BODY -------------------------------------------------------------- */

static int write_plain(struct put_op *p, struct gw_str in)
{
    if (p->written + in.len > p->limit) {
        return p->q->http->has_content_length ? GW_ERR_BAD_REQUEST : GW_ERR_ENTITY_TOO_LARGE;
    }
    gw_hash_update(&p->hash, in.p, in.len);
    p->written += in.len;
    return s3__write_all(p->fd, in.p, in.len);
}

static int write_decoded(struct put_op *p, struct gw_str in)
{
    while (in.len > 0) {
        size_t used = 0;
        struct gw_str data;
        int rv = s3_chunked_feed(&p->dec, in, &used, &data);
        if (rv == 0 && data.len > 0) {
            rv = write_plain(p, data);
        }
        if (rv != 0) {
            return rv;
        }
        in.p += used;
        in.len -= used;
    }
    return GW_OK;
}

/* Pool thread: decode, hash and write one buffer. */
static void write_work_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    struct gw_str in = gw_str_make(p->buf[p->job_buf], p->buf_len[p->job_buf]);
    int rv;

    rv = p->is_aws_chunked ? write_decoded(p, in) : write_plain(p, in);
    if (rv == 0 && p->job_last && p->is_aws_chunked) {
        rv = s3_chunked_finish(&p->dec);
    }
    p->job_rv = rv;
}

static void body_done(struct put_op *p);

static void write_done_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;

    p->buf_len[p->job_buf] = 0;
    if (!s3__pipe_job_back(&p->g)) {
        return;
    }
    if (p->job_rv != 0) {
        s3__pipe_fail(&p->g, p->job_rv);
        return;
    }
    if (p->job_last) {
        body_done(p);
        return;
    }
    pump(p);
}

static void submit_buffer(struct put_op *p, bool last)
{
    p->job_last = last;
    p->job_buf = p->fill;
    p->fill ^= 1;
    s3__pipe_submit(&p->g, write_work_cb, write_done_cb);
}

static void body_ready_cb(struct s3_exchange *x, void *arg)
{
    struct put_op *p = arg;

    (void)x;
    p->is_waiting = false;
    if (p->g.state != PUT_BODY) {
        return; /* late: the upload is being discarded or was answered */
    }
    pump(p);
}

/* Take the next piece of the body into p->pending.  False when the caller
 * must stop: a body_wait is outstanding, or the upload failed. */
static bool read_more(struct put_op *p)
{
    int rv = s3_body_read(p->q->x, &p->pending, &p->eof_seen);

    if (rv == GW_ERR_AGAIN) {
        p->is_waiting = true;
        s3_body_wait(p->q->x, body_ready_cb, p);
        return false;
    }
    if (rv != 0) {
        s3__pipe_fail(&p->g, rv);
        return false;
    }
    return true;
}

/* Move body bytes into the fill buffer; hand full buffers to the pool.
 * Runs only in BODY, and comes back from body_ready_cb or write_done_cb. */
static void pump(struct put_op *p)
{
    size_t cap = p->q->svc->cfg.io_chunk_size;

    while (p->g.state == PUT_BODY) {
        bool last = p->eof_seen && p->pending.len == 0;
        if (p->buf_len[p->fill] == cap || last) {
            if (p->g.n_jobs > 0) {
                return; /* write_done_cb comes back */
            }
            submit_buffer(p, last);
            if (last) {
                return;
            }
            continue;
        }
        if (p->pending.len == 0) {
            if (p->is_waiting || !read_more(p)) {
                return;
            }
            continue;
        }
        size_t room = cap - p->buf_len[p->fill];
        size_t n = p->pending.len < room ? p->pending.len : room;
        memcpy(p->buf[p->fill] + p->buf_len[p->fill], p->pending.p, n);
        p->buf_len[p->fill] += n;
        p->pending.p += n;
        p->pending.len -= n;
    }
}

/* ---- VERIFY ---------------------------------------------------------- */

static int verify_digests(struct put_op *p)
{
    unsigned char b[GW_HASH_MAX_LEN];
    size_t n;

    if (p->want_sha256 && memcmp(p->dig.sha256, p->sha256, GW_SHA256_LEN) != 0) {
        return GW_ERR_SHA256_MISMATCH;
    }
    if (p->want_md5 && memcmp(p->dig.md5, p->md5, GW_MD5_LEN) != 0) {
        return GW_ERR_BAD_DIGEST;
    }
    if (p->is_aws_chunked && p->dec.checksum_alg != 0) {
        if (p->cksum_alg != 0 && p->cksum_alg != p->dec.checksum_alg) {
            return GW_ERR_INVALID_REQUEST;
        }
        p->cksum_alg = p->dec.checksum_alg;
        p->cksum_value = p->dec.checksum_value;
    }
    if (p->cksum_alg != 0 && p->cksum_value.p != NULL &&
        gw_checksum_check(&p->dig, p->cksum_alg, p->cksum_value) != 0) {
        return GW_ERR_CHECKSUM_MISMATCH;
    }
    if (p->cksum_alg != 0) {
        n = gw_checksum_bytes(&p->dig, p->cksum_alg, b);
        memcpy(p->meta.cksum_value, b, n);
        p->meta.cksum_len = (uint8_t)n;
        p->meta.cksum = s3_objmeta_cksum_from_alg(p->cksum_alg);
    }
    return GW_OK;
}

/* Pool: the final digests against what the request promised. */
static int verify(struct put_op *p)
{
    struct s3_req *q = p->q;
    int rv;

    gw_hash_final(&p->hash, &p->dig);
    rv = verify_digests(p);
    memcpy(p->meta.md5, p->dig.md5, GW_MD5_LEN);
    if (rv == 0 && p->part == NULL && s3_path_key_is_marker(q->rt.key) && p->written > 0) {
        rv = GW_ERR_INVALID_ARGUMENT; /* a directory cannot hold bytes */
    }
    if (rv == 0 && p->part != NULL && q->svc->cfg.fsync && fsync(p->fd) != 0) {
        rv = gw_err_from_errno(errno);
    }
    return rv;
}

/* Something is committed between VERIFY and the end: a part record, or the
 * tags of a PutObject (before its publish).  Otherwise PUBLISH verifies. */
static bool has_verify_step(const struct put_op *p)
{
    return p->part != NULL || p->tags.len > 0;
}

static void verify_work_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    int rv = verify(p);

    if (rv == 0 && p->part == NULL) {
        s3__tag_prior_read(p->q, p->q->rt.bucket, p->q->rt.key, &p->prior);
    }
    p->job_rv = rv;
}

static void publish_start(struct put_op *p);
static void reply(struct put_op *p);

static void tagged_cb(void *arg, int rv)
{
    struct put_op *p = arg;

    if (p->g.state != PUT_TAG) {
        return;
    }
    if (rv != 0) {
        s3__pipe_fail(&p->g, rv); /* nothing was published: the old object keeps its tags */
        return;
    }
    p->is_tagged = true;
    publish_start(p);
}

static void committed_cb(void *arg, int rv)
{
    struct put_op *p = arg;

    if (p->g.state != PUT_COMMIT) {
        return;
    }
    if (rv != 0) {
        s3__pipe_fail(&p->g, rv); /* the part's file goes */
        return;
    }
    close(p->fd);
    p->fd = -1;
    reply(p);
}

static void verify_done_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    struct s3_req *q = p->q;

    if (!s3__pipe_job_back(&p->g)) {
        return;
    }
    if (p->job_rv != 0) {
        s3__pipe_fail(&p->g, p->job_rv);
        return;
    }
    if (p->part != NULL) {
        p->g.state = PUT_COMMIT;
        s3__mpu_part_commit(q, p->part, &p->dig, p->written, committed_cb, p);
        return;
    }
    if (s3__object_id_new(&p->meta) != 0) {
        s3__pipe_fail(&p->g, GW_ERR_INTERNAL);
        return;
    }
    p->g.state = PUT_TAG;
    s3__tag_store(q, q->rt.bucket, q->rt.key, &p->meta, p->tags, tagged_cb, p);
}

/* The last buffer is written. */
static void body_done(struct put_op *p)
{
    if (has_verify_step(p)) {
        p->g.state = PUT_VERIFY;
        s3__pipe_submit(&p->g, verify_work_cb, verify_done_cb);
        return;
    }
    publish_start(p);
}

/* ---- PUBLISH ----------------------------------------------------------- */

static void publish_work_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    struct s3_req *q = p->q;
    struct s3_publish pub = {0};
    int rv = has_verify_step(p) ? GW_OK : verify(p);

    if (rv == 0) {
        pub.svc = q->svc;
        pub.bucket = q->rt.bucket;
        pub.key = q->rt.key;
        pub.tmp_path = p->tmp_path;
        pub.fd = p->fd;
        pub.meta = &p->meta;
        pub.has_object_id = p->is_tagged;
        pub.no_replace = gw_str_eq_c(gw_str_trim(s3_header_get(q->http, "if-none-match")), "*");
        pub.if_match = s3_header_get(q->http, "if-match");
        if (!p->is_tagged) {
            p->drop_id = s3__tag_drop_due(q->svc, q->rt.bucket, q->rt.key, q->a);
        }
        rv = s3__publish(&pub, q->a);
    }
    p->job_rv = rv;
    if (rv == 0) {
        close(p->fd);
        p->fd = -1;
        if (s3_path_key_is_marker(q->rt.key)) {
            s3__store_path_unlink(&q->svc->store, p->tmp_path); /* a marker publishes a dir */
        }
    }
}

static void reply(struct put_op *p)
{
    struct s3_req *q = p->q;
    char *b64;

    p->g.state = PUT_DONE;
    s3_req_header(q, "ETag", s3_objmeta_etag(&p->meta, q->a));
    if (p->cksum_alg != 0) {
        b64 = gw_arena_alloc(q->a, GW_CHECKSUM_B64_CAP);
        gw_checksum_base64(&p->dig, p->cksum_alg, b64);
        s3_req_header(q, gw_checksum_header_name(p->cksum_alg), b64);
    }
    s3_req_respond_empty(q, 200);
}

static void untagged_cb(void *arg, int rv)
{
    struct put_op *p = arg;

    if (p->g.state != PUT_UNTAG) {
        return;
    }
    (void)rv; /* logged by the tag step */
    reply(p);
}

static void publish_done_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;
    struct s3_req *q = p->q;

    if (!s3__pipe_job_back(&p->g)) {
        return;
    }
    if (p->job_rv != 0) {
        s3__pipe_fail(&p->g, p->job_rv);
        return;
    }
    if (p->drop_id.p != NULL) {
        p->g.state = PUT_UNTAG;
        s3__tag_drop(q, q->rt.bucket, q->rt.key, p->drop_id, untagged_cb, p);
        return;
    }
    reply(p);
}

static void publish_start(struct put_op *p)
{
    p->g.state = PUT_PUBLISH;
    s3__pipe_submit(&p->g, publish_work_cb, publish_done_cb);
}

/* ---- DISCARD ----------------------------------------------------------- */

static void discard_work_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;

    close(p->fd);
    p->fd = -1;
    s3__store_path_unlink(&p->q->svc->store, p->tmp_path);
}

static void answer_error(struct put_op *p)
{
    p->g.state = PUT_DONE;
    s3_err_respond(p->q, p->g.rv);
}

static void restored_cb(void *arg, int rv)
{
    struct put_op *p = arg;

    (void)rv; /* logged by the tag step */
    answer_error(p);
}

/* The temp file is gone: put the old object's tags back if this write
 * replaced them and then did not publish, and answer. */
static void discard_tags(struct put_op *p)
{
    struct s3_req *q = p->q;

    if (!p->is_tagged || !p->prior.has_tags) {
        answer_error(p);
        return;
    }
    s3__tag_restore(q, q->rt.bucket, q->rt.key, &p->prior, restored_cb, p);
}

static void discard_done_cb(struct gw_pool_job *job)
{
    struct put_op *p = job->data;

    s3__pipe_discard_back(&p->g);
    discard_tags(p);
}

/* No job runs any more: remove the temp file (if any), then the tags. */
static void discard_run(void *arg)
{
    struct put_op *p = arg;

    if (p->fd < 0) {
        discard_tags(p);
        return;
    }
    s3__pipe_discard_submit(&p->g, discard_work_cb, discard_done_cb);
}

/* ---- entry --------------------------------------------------------------- */

void s3_op_object_put(struct s3_req *q)
{
    struct put_op *p = gw_arena_zalloc(q->a, sizeof *p);
    int rv;

    p->q = q;
    s3__pipe_init(&p->g, q->x->pool, PUT_CHECK, PUT_DISCARD, p, discard_run);
    p->fd = -1;
    p->algs = GW_HASH_MD5;
    gw_arena_defer(q->a, put_free, p);
    rv = q->rt.op == S3_OP_UPLOAD_PART ? s3__mpu_part_begin(q, &p->part) : GW_OK;
    if (rv == 0 && p->part != NULL) {
        p->algs |= p->part->upload_alg; /* for the composite checksum at Complete */
    }
    if (rv == 0) {
        rv = check_request(p);
    }
    if (rv != 0) {
        p->g.rv = rv;
        answer_error(p);
        return;
    }
    gw_hash_init(&p->hash, p->algs);
    p->g.state = PUT_STAGE;
    s3__pipe_submit(&p->g, stage_work_cb, stage_done_cb);
}
