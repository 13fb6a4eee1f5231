/* Response helpers: every S3 response leaves through here, so that
 * x-amz-request-id, the error document and the end of the exchange are
 * handled once.  A body is written from q->body_out, which lives until the
 * write completes; the exchange ends in the write callback. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "req.h"
#include "store.h"
#include "unigw/err.h"
#include "unigw/log.h"

void s3_req_header(struct s3_req *q, const char *name, const char *value)
{
    s3_req_header_str(q, name, gw_str_c(value));
}

void s3_req_header_str(struct s3_req *q, const char *name, struct gw_str value)
{
    if (q->n_hdrs == S3_MAX_RESP_HEADERS) {
        GW_RLOG(GW_LOG_WARN, "s3", q->http->request_id, "msg=\"too many response headers\"");
        return;
    }
    q->hdrs[q->n_hdrs].name = gw_str_c(name);
    q->hdrs[q->n_hdrs].value = value;
    q->n_hdrs++;
}

static void finish(struct s3_req *q)
{
    struct s3_exchange *x = q->x;

    gw_buf_free(&q->body_out);
    if (q->errmsg[0] != '\0') {
        GW_RLOG(GW_LOG_INFO, "s3", x->req.request_id, "op=%s msg=\"%s\"", x->op_name, q->errmsg);
    }
    s3_resp_end(x);
}

void s3_req_respond_empty(struct s3_req *q, int status)
{
    s3_resp_start(q->x, status, q->hdrs, q->n_hdrs, 0);
    finish(q);
}

static void body_written_cb(struct s3_exchange *x, int rv, void *arg)
{
    struct s3_req *q = arg;

    (void)x;
    (void)rv; /* a failed write is the client's loss; node closes the connection */
    finish(q);
}

static void respond_body(struct s3_req *q, int status)
{
    int rv;

    s3_resp_start(q->x, status, q->hdrs, q->n_hdrs, (int64_t)q->body_out.len);
    if (q->body_out.len == 0 || gw_str_eq_c(q->http->method, "HEAD")) {
        finish(q);
        return;
    }
    rv = s3_resp_write(q->x, q->body_out.data, q->body_out.len, body_written_cb, q);
    if (rv != 0) {
        finish(q);
    }
}

void s3_req_respond_xml(struct s3_req *q, int status)
{
    s3_req_header(q, "Content-Type", "application/xml");
    respond_body(q, status);
}

static bool has_control(struct gw_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f) {
            return true;
        }
    }
    return false;
}

void s3_err_respond(struct s3_req *q, int rv)
{
    int status = gw_err_status(rv);
    struct gw_buf *b = &q->body_out;

    if (rv == GW_ERR_NOT_FOUND || rv == GW_ERR_EXISTS) {
        status = 500; /* an internal code nobody mapped: a bug, but never a crash */
    }
    GW_RLOG(status >= 500 ? GW_LOG_WARN : GW_LOG_DEBUG, "s3", q->http->request_id,
            "op=%s err=%s msg=\"%s\"", q->x->op_name ? q->x->op_name : "-", gw_err_name(rv),
            q->errmsg);
    q->errmsg[0] = '\0';
    /* Headers gathered for a success response do not belong to the error. */
    q->n_hdrs = 0;
    gw_buf_reset(b);
    if (rv == GW_ERR_SLOW_DOWN || rv == GW_ERR_SERVICE_UNAVAILABLE || rv == GW_ERR_NOT_LEADER) {
        s3_req_header(q, "Retry-After", "1");
    }
    if (status == 304) {
        s3_req_respond_empty(q, status);
        return;
    }
    gw_buf_append_c(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    gw_buf_append_c(b, gw_err_code(rv));
    gw_buf_append_c(b, "</Code><Message>");
    gw_buf_append_xml(b, gw_str_c(q->err_message != NULL ? q->err_message : gw_err_message(rv)));
    gw_buf_append_c(b, "</Message>");
    gw_buf_append_str(b, q->err_xml);
    /* A name with control characters cannot be echoed in XML 1.0: leave it out. */
    if (has_control(q->rt.bucket) || has_control(q->rt.key) || has_control(q->rt.raw_path)) {
        goto tail;
    }
    if (q->rt.bucket.len > 0 && q->rt.key.len == 0) {
        gw_buf_append_c(b, "<BucketName>");
        gw_buf_append_xml(b, q->rt.bucket);
        gw_buf_append_c(b, "</BucketName>");
    }
    if (q->rt.key.len > 0) {
        gw_buf_append_c(b, "<Key>");
        gw_buf_append_xml(b, q->rt.key);
        gw_buf_append_c(b, "</Key>");
    }
    gw_buf_append_c(b, "<Resource>");
    gw_buf_append_xml(b, q->rt.raw_path.p ? q->rt.raw_path : GW_STR("/"));
    gw_buf_append_c(b, "</Resource>");
tail:
    gw_buf_append_c(b, "<RequestId>");
    gw_buf_append_c(b, q->http->request_id);
    gw_buf_append_c(b, "</RequestId></Error>");
    s3_req_respond_xml(q, status);
}

void s3_req_offload(struct s3_req *q, gw_pool_work_cb work, gw_pool_done_cb done)
{
    gw_pool_submit(q->x->pool, &q->job, work, done, q);
}

void s3_req_errmsg(struct s3_req *q, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(q->errmsg, sizeof q->errmsg, fmt, ap);
    va_end(ap);
}

int s3__bucket_stat(struct s3_service *s, struct gw_str bucket, struct stat *st)
{
    int fd = -1;
    int rv = s3__store_bucket(&s->store, bucket, &fd); /* a top-level symlink is no bucket */

    if (rv == 0 && fstat(fd, st) != 0) {
        rv = gw_err_from_errno(errno);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rv == GW_ERR_INVALID_BUCKET_NAME ? GW_ERR_NO_SUCH_BUCKET : rv;
}

/* Small-body reader: accumulate into body_out's sibling buffer in the arena. */
struct small_body {
    struct s3_req *q;
    struct gw_buf buf;
    size_t max;
    s3_body_done_cb cb;
};

static void small_body_free(void *arg)
{
    struct small_body *sb = arg;
    gw_buf_free(&sb->buf);
}

static void small_body_pump(struct s3_exchange *x, void *arg)
{
    struct small_body *sb = arg;

    for (;;) {
        struct gw_str chunk;
        bool eof = false;
        int rv = s3_body_read(x, &chunk, &eof);
        if (rv == GW_ERR_AGAIN) {
            s3_body_wait(x, small_body_pump, sb);
            return;
        }
        if (rv == 0 && sb->buf.len + chunk.len > sb->max) {
            rv = GW_ERR_MALFORMED_XML; /* AWS answers oversize documents so */
        }
        if (rv != 0) {
            sb->cb(sb->q, rv, GW_STR_NULL);
            return;
        }
        gw_buf_append(&sb->buf, chunk.p, chunk.len);
        if (eof) {
            sb->cb(sb->q, GW_OK, gw_buf_str(&sb->buf));
            return;
        }
    }
}

void s3__read_small_body(struct s3_req *q, size_t max, s3_body_done_cb cb)
{
    struct small_body *sb = gw_arena_zalloc(q->a, sizeof *sb);

    sb->q = q;
    sb->max = max;
    sb->cb = cb;
    gw_arena_defer(q->a, small_body_free, sb);
    if (q->http->has_content_length && q->http->content_length > max) {
        cb(q, GW_ERR_MALFORMED_XML, GW_STR_NULL);
        return;
    }
    if (q->http->has_content_length && q->http->content_length == 0) {
        cb(q, GW_OK, GW_STR(""));
        return;
    }
    small_body_pump(q->x, sb);
}
