/* GetObject and HeadObject.
 *
 *   open (pool: open, fstat, read record) -> conditions -> range ->
 *   headers -> sendfile (node runs it off the loop) -> close (pool) -> end
 *
 * With a body cache (s3_config.body_cache), the open job looks the body up
 * for the file's identity: a hit is served from memory and the file closed;
 * a miss the cache admits is read into it and served from there.  The
 * record and headers always come from the file, so a cached answer is the
 * uncached one byte for byte.
 *
 * The fd stays open from the stat to the last byte, so a concurrent
 * overwrite (a rename over the path) never mixes two versions in one
 * response. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpu.h"
#include "obj.h"
#include "unigw/arena.h"
#include "unigw/checksum.h"
#include "unigw/err.h"

struct get_op {
    struct s3_req *q;
    struct s3_obj o;
    int rv;
    uint64_t off;
    uint64_t len;
    bool is_range;
    char *small; /* the whole body, for small objects (then o.fd is closed) */
    void *cached; /* the body cache's handle when small is its body */
};

static void mount_read(const struct get_op *g, uint64_t bytes);

static void close_work_cb(struct gw_pool_job *job)
{
    struct get_op *g = job->data;

    if (g->o.fd >= 0) {
        close(g->o.fd);
        g->o.fd = -1;
    }
}

static void close_done_cb(struct gw_pool_job *job)
{
    struct get_op *g = job->data;

    s3_resp_end(g->q->x);
}

/* Close the file off the loop (close can flush on network filesystems), then end. */
static void finish(struct get_op *g)
{
    if (g->o.fd < 0) {
        s3_resp_end(g->q->x); /* a small object was read and closed with its open */
        return;
    }
    gw_pool_submit(g->q->x->pool, &g->q->job, close_work_cb, close_done_cb, g);
}

static void sent_cb(struct s3_exchange *x, int rv, void *arg)
{
    (void)x;
    (void)rv;
    finish(arg);
}

/* Parse "bytes=a-b", "bytes=a-", "bytes=-n".  Returns GW_OK with the slice,
 * GW_ERR_INVALID_RANGE when unsatisfiable, or GW_ERR_INVALID when the header
 * is to be ignored (malformed or several ranges, as AWS does). */
static int parse_range(struct gw_str h, uint64_t size, uint64_t *off, uint64_t *len)
{
    struct gw_str first;
    uint64_t a = 0;
    uint64_t b = 0;
    bool has_a;
    bool has_b;

    h = gw_str_trim(h);
    if (!gw_str_has_prefix(h, GW_STR("bytes=")) || gw_str_chr(h, ',') >= 0) {
        return GW_ERR_INVALID;
    }
    h.p += 6;
    h.len -= 6;
    if (!gw_str_split(&h, '-', &first)) {
        return GW_ERR_INVALID;
    }
    has_a = gw_str_to_u64(gw_str_trim(first), &a);
    has_b = gw_str_to_u64(gw_str_trim(h), &b);
    if ((first.len > 0 && !has_a) || (h.len > 0 && !has_b) || (!has_a && !has_b)) {
        return GW_ERR_INVALID;
    }
    if (!has_a) { /* suffix: the last b bytes */
        if (b == 0) {
            return GW_ERR_INVALID_RANGE;
        }
        *len = b < size ? b : size;
        *off = size - *len;
        return size == 0 ? GW_ERR_INVALID_RANGE : GW_OK;
    }
    if (has_b && b < a) {
        return GW_ERR_INVALID;
    }
    if (a >= size) {
        return GW_ERR_INVALID_RANGE;
    }
    *off = a;
    *len = (has_b && b < size ? b + 1 : size) - a;
    return GW_OK;
}

static void add_checksum_header(struct s3_req *q, const struct s3_obj *o)
{
    struct gw_str mode = s3_header_get(q->http, "x-amz-checksum-mode");
    char *b64;

    if (!o->has_meta || o->meta.cksum == S3_CKSUM_NONE || !gw_str_caseeq_c(mode, "ENABLED")) {
        return;
    }
    b64 = gw_arena_alloc(q->a, gw_base64_len(o->meta.cksum_len) + 8);
    gw_base64_encode(o->meta.cksum_value, o->meta.cksum_len, b64);
    if (o->meta.cksum_composite) {
        strcat(b64, gw_arena_printf(q->a, "-%u", o->meta.n_parts));
    }
    s3_req_header(q, gw_checksum_header_name(s3_objmeta_cksum_alg(o->meta.cksum)), b64);
}

/* response-content-type & co. override the stored headers on GET. */
static void apply_overrides(struct s3_req *q)
{
    static const char *const map[][2] = {
        {"response-content-type", "Content-Type"},
        {"response-content-language", "Content-Language"},
        {"response-expires", "Expires"},
        {"response-cache-control", "Cache-Control"},
        {"response-content-disposition", "Content-Disposition"},
        {"response-content-encoding", "Content-Encoding"},
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const struct s3_param *p = s3_route_param(&q->rt, map[i][0]);
        if (p == NULL) {
            continue;
        }
        for (size_t j = 0; j < q->n_hdrs; j++) {
            if (gw_str_caseeq_c(q->hdrs[j].name, map[i][1])) {
                q->hdrs[j].value = p->value;
                p = NULL;
                break;
            }
        }
        if (p != NULL) {
            s3_req_header_str(q, map[i][1], p->value);
        }
    }
}

static int plan_range(struct get_op *g)
{
    struct s3_req *q = g->q;
    uint64_t size = (uint64_t)g->o.st.st_size;
    struct gw_str range = s3_header_get(q->http, "range");
    int rv;

    g->off = 0;
    g->len = size;
    if (range.p == NULL) {
        return GW_OK;
    }
    rv = parse_range(range, size, &g->off, &g->len);
    if (rv == GW_ERR_INVALID) {
        g->off = 0;
        g->len = size;
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    g->is_range = true;
    s3_req_header(q, "Content-Range",
                  gw_arena_printf(q->a, "bytes %llu-%llu/%llu", (unsigned long long)g->off,
                                  (unsigned long long)(g->off + g->len - 1),
                                  (unsigned long long)size));
    return GW_OK;
}

/* ?partNumber=N on an object uploaded in one piece: part 1 is the whole
 * object (as on AWS); parts of multipart objects are not recorded. */
static int check_part(struct get_op *g)
{
    const struct s3_param *pn = s3_route_param(&g->q->rt, "partNumber");

    if (pn == NULL) {
        return GW_OK;
    }
    if (g->o.has_meta && g->o.meta.n_parts > 0) {
        return GW_ERR_NOT_IMPLEMENTED;
    }
    return gw_str_eq_c(pn->value, "1") ? GW_OK : GW_ERR_INVALID_RANGE;
}

/* x-amz-tagging-count when this version of the object has tags. */
static void add_tagging_count(struct s3_req *q, const struct s3_obj *o)
{
    size_t n = s3__tag_count(q, s3__tag_object_id(&o->meta, o->has_meta, &o->st, q->a));

    if (n > 0) {
        s3_req_header(q, "x-amz-tagging-count", gw_arena_printf(q->a, "%zu", n));
    }
}

static int respond(struct get_op *g)
{
    struct s3_req *q = g->q;
    bool is_head = q->rt.op == S3_OP_HEAD_OBJECT;
    int rv = check_part(g);

    if (rv != 0) {
        return rv;
    }
    rv = s3__obj_conditions(q, &g->o, "");

    if (rv == GW_ERR_NOT_MODIFIED) {
        s3_req_header(q, "ETag", g->o.etag);
        s3_resp_start(q->x, 304, q->hdrs, q->n_hdrs, 0);
        finish(g);
        return GW_OK;
    }
    if (rv == 0) {
        rv = plan_range(g);
    }
    if (rv == GW_ERR_INVALID_RANGE) {
        s3_req_header(q, "Content-Range", gw_arena_printf(q->a, "bytes */%llu",
                                                          (unsigned long long)g->o.st.st_size));
    }
    if (rv != 0) {
        return rv;
    }
    s3__obj_headers(q, &g->o);
    add_tagging_count(q, &g->o);
    s3_req_header(q, "Accept-Ranges", "bytes");
    if (!g->is_range) {
        add_checksum_header(q, &g->o);
    }
    if (!is_head) {
        apply_overrides(q);
    }
    s3_resp_start(q->x, g->is_range ? 206 : 200, q->hdrs, q->n_hdrs, (int64_t)g->len);
    if (is_head || g->len == 0) {
        finish(g);
    } else if (g->small != NULL) {
        if (s3_resp_write(q->x, g->small + g->off, g->len, sent_cb, g) != 0) {
            finish(g);
        }
    } else {
        mount_read(g, g->len); /* before: sent_cb may free g */
        if (s3_resp_sendfile(q->x, g->o.fd, g->off, g->len, sent_cb, g) != 0) {
            finish(g);
        }
    }
    return GW_OK;
}

/* Small objects are read and closed in the same job as the open: one trip
 * to the pool per GET instead of three (open, sendfile, close). */
#define S3_GET_SMALL_MAX (64u << 10)

static struct s3_body_cache *body_cache(const struct get_op *g)
{
    return g->q->svc->cfg.body_cache;
}

static void mount_read(const struct get_op *g, uint64_t bytes)
{
    if (body_cache(g) != NULL && bytes > 0) {
        body_cache(g)->mount_read(body_cache(g), bytes);
    }
}

static void cache_release(void *arg)
{
    struct get_op *g = arg;

    if (g->cached != NULL) {
        body_cache(g)->release(body_cache(g), g->cached);
        g->cached = NULL;
    }
}

static struct s3_body_fp body_fp(const struct stat *st)
{
    struct s3_body_fp fp = {
        (uint64_t)st->st_dev,
        (uint64_t)st->st_ino,
        (uint64_t)st->st_size,
        (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
        (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
    };
    return fp;
}

/* Read the whole file into @dst; true when it had exactly the size and
 * identity @fp says (else a writer got in between: do not cache it). */
static bool read_whole(int fd, char *dst, const struct s3_body_fp *fp)
{
    struct s3_body_fp now;
    struct stat after;
    uint64_t got = 0;

    while (got < fp->size) {
        ssize_t n = pread(fd, dst + got, fp->size - got, (off_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        got += (uint64_t)n;
    }
    if (fstat(fd, &after) != 0) {
        return false;
    }
    now = body_fp(&after);
    return memcmp(&now, fp, sizeof now) == 0;
}

/* Whether the file changed less than a second ago.  File times have the
 * kernel's coarse clock (a tick of a few ms): a write landing in the same
 * tick as the one a body was read after, with the same size, would leave the
 * fingerprint as it was.  A file is therefore cached only once its ctime is
 * a second old, so any later write has a later ctime. */
static bool is_fresh(const struct s3_body_fp *fp)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - fp->ctime_ns < 1000000000;
}

/* Serve the body from the cache, filling it on an admitted miss: true when
 * g->small is the cached body (and the file is closed). */
static bool cache_read(struct get_op *g)
{
    struct s3_body_cache *bc = body_cache(g);
    struct s3_req *q = g->q;
    struct s3_body_fp fp = body_fp(&g->o.st);
    struct gw_str body;
    char *dst = NULL;

    g->cached = bc->lookup(bc, q->rt.bucket, q->rt.key, &fp, &body);
    if (g->cached == NULL && fp.size > 0 && !is_fresh(&fp)) {
        g->cached = bc->fill_begin(bc, q->rt.bucket, q->rt.key, &fp, fp.size, &dst);
        if (g->cached != NULL && !read_whole(g->o.fd, dst, &fp)) {
            bc->fill_end(bc, g->cached, false);
            g->cached = NULL;
        } else if (g->cached != NULL) {
            bc->fill_end(bc, g->cached, true);
            mount_read(g, fp.size);
            body = gw_str_make(dst, fp.size);
        }
    }
    if (g->cached == NULL) {
        return false;
    }
    g->small = (char *)body.p;
    close(g->o.fd);
    g->o.fd = -1;
    return true;
}

static void read_small(struct get_op *g)
{
    size_t size = (size_t)g->o.st.st_size;
    char *buf = gw_arena_alloc(g->q->a, size + 1);
    size_t got = 0;

    while (got < size) {
        ssize_t n = pread(g->o.fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* shorter than fstat said: leave it to sendfile */
        }
        got += (size_t)n;
    }
    g->small = buf;
    close(g->o.fd);
    g->o.fd = -1;
    mount_read(g, size);
}

static void open_work_cb(struct gw_pool_job *job)
{
    struct get_op *g = job->data;

    g->rv = s3__obj_open(g->q->svc, g->q->rt.bucket, g->q->rt.key, g->q->a, &g->o);
    if (g->rv != 0 || g->o.is_marker || g->q->rt.op != S3_OP_GET_OBJECT) {
        return;
    }
    if (body_cache(g) != NULL && cache_read(g)) {
        return;
    }
    if ((uint64_t)g->o.st.st_size <= S3_GET_SMALL_MAX) {
        read_small(g);
    }
}

static void close_then_refuse_cb(struct gw_pool_job *job)
{
    struct get_op *g = job->data;

    s3_err_respond(g->q, g->rv);
}

static void open_done_cb(struct gw_pool_job *job)
{
    struct get_op *g = job->data;
    int rv = g->rv;

    if (rv == 0) {
        rv = respond(g);
    }
    if (rv == 0) {
        return;
    }
    if (g->o.fd >= 0) {
        /* Refused after the open (a precondition, a range): close off the loop first. */
        g->rv = rv;
        gw_pool_submit(g->q->x->pool, &g->q->job, close_work_cb, close_then_refuse_cb, g);
        return;
    }
    s3_err_respond(g->q, rv);
}

void s3_op_object_get(struct s3_req *q)
{
    struct get_op *g = gw_arena_zalloc(q->a, sizeof *g);

    g->q = q;
    g->o.fd = -1;
    if (body_cache(g) != NULL) {
        gw_arena_defer(q->a, cache_release, g);
    }
    gw_pool_submit(q->x->pool, &q->job, open_work_cb, open_done_cb, g);
}
