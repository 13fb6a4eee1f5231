/* The in-process harness of the S3 write pipelines: see s3_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "s3_fixture.h"
#include "sigv4.h"
#include "unigw/alloc.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/pool.h"

#define FX_USER "tester"
#define FX_AK "FXTESTACCESSKEY00001"
#define FX_SECRET "fx-secret-key-for-the-pipeline-tests"
#define FX_MAX_DEPTH 512
#define FX_MAX_ACTS 16
#define FX_MAX_HEADERS 32

static const uint8_t fx_cluster_key[META_CLUSTER_KEY_LEN] = {7, 7, 7, 1, 2, 3};

/* ---- faults: write(2) and copy_file_range(2) on a full disk ------------------- */

static bool fx_disk_is_full;

ssize_t __real_write(int fd, const void *p, size_t n);
ssize_t __wrap_write(int fd, const void *p, size_t n);
ssize_t __real_copy_file_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t n,
                               unsigned flags);
ssize_t __wrap_copy_file_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t n,
                               unsigned flags);

ssize_t __wrap_write(int fd, const void *p, size_t n)
{
    if (fx_disk_is_full && fd > 2 && n > 0) {
        errno = ENOSPC;
        return -1;
    }
    return __real_write(fd, p, n);
}

ssize_t __wrap_copy_file_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t n,
                               unsigned flags)
{
    if (fx_disk_is_full && n > 0) {
        errno = ENOSPC;
        return -1;
    }
    return __real_copy_file_range(in, off_in, out, off_out, n, flags);
}

/* ---- the fixture ------------------------------------------------------------- */

struct fx_prop {
    struct fx_prop *next;
    struct gw_buf cmd; /* empty for a barrier */
    bool is_barrier;
    meta_propose_cb cb;
    void *arg;
};

struct fx_write {
    struct fx_write *next;
    s3_write_cb cb;
    void *arg;
    int rv;
};

/* One exchange, as node/conn.c would hold it. */
struct fx_x {
    struct fx *f;
    struct s3_exchange x;
    struct gw_arena arena;
    /* the client's body */
    const char *body;
    size_t body_len;
    size_t sent;
    size_t piece;
    struct gw_buf avail; /* sent, not read yet */
    struct gw_buf lent;  /* what the last body_read handed out */
    bool is_gone;
    s3_ready_cb wait_cb;
    void *wait_arg;
    /* the response */
    int n_starts;
    int n_ends;
    int status;
    struct gw_buf resp;
    struct fx_write *writes;
    bool is_released;
};

struct fx {
    uv_loop_t loop;
    char *dir;
    char mount[512];
    char metadir[512];
    struct meta *m;
    uint64_t index;
    struct meta_proposer prop;
    struct fx_prop *props;  /* this node's proposals and barriers, in order */
    struct gw_buf remote;   /* commands committed elsewhere, not applied here yet */
    struct gw_pool_loop *pool;
    struct s3_service *svc;
    unsigned faults;        /* FX_F_* allowed in the current run */
    bool was_refused;
    size_t n_requests;
};

static void fx_apply(struct fx *f, struct gw_str cmd, int *result)
{
    assert_int_equal(meta_apply(f->m, ++f->index, cmd.p, cmd.len, result), GW_OK);
}

struct meta_cmd_hdr fx_cmd_hdr(void)
{
    struct meta_cmd_hdr h;

    memset(&h, 0, sizeof h);
    h.ts_ms = (uint64_t)time(NULL) * 1000;
    h.user = GW_STR(FX_USER);
    return h;
}

/* Apply what other nodes committed before anything of ours. */
static void fx_apply_remote(struct fx *f)
{
    struct gw_reader r = gw_reader_make(f->remote.data, f->remote.len);
    struct gw_str cmd;
    int result;

    while (r.len > 0) {
        assert_true(gw_reader_bytes(&r, &cmd));
        fx_apply(f, cmd, &result);
    }
    gw_buf_reset(&f->remote);
}

void fx_remote_commit(struct fx *f, const struct gw_buf *cmd)
{
    gw_buf_put_bytes(&f->remote, gw_buf_str(cmd));
}

int fx_commit(struct fx *f, const struct gw_buf *cmd)
{
    int result = -1;

    fx_apply_remote(f);
    fx_apply(f, gw_buf_str(cmd), &result);
    return result;
}

struct s3_service *fx_service(const struct fx *f)
{
    return f->svc;
}

struct gw_pool_loop *fx_pool(const struct fx *f)
{
    return f->pool;
}

static void fx_prop_complete(struct fx *f, bool refuse);

void fx_settle(struct fx *f)
{
    for (;;) {
        if (gw_pool_manual_n_queued(f->pool) > 0) {
            gw_pool_manual_run(f->pool, 0);
        } else if (f->props != NULL) {
            fx_prop_complete(f, false);
        } else {
            break;
        }
        uv_run(&f->loop, UV_RUN_NOWAIT);
    }
}

void fx_remote_part(struct fx *f, const char *upload_id, uint32_t number, const void *p,
                    size_t n)
{
    struct meta_cmd_hdr h = fx_cmd_hdr();
    struct gw_buf cmd = GW_BUF_INIT;
    unsigned char md5[GW_MD5_LEN];
    char dir[700], file[64], path[800];

    snprintf(dir, sizeof dir, "%s/.unigw/multipart", f->mount);
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s/.unigw/multipart/%s", f->mount, upload_id);
    mkdir(dir, 0755);
    snprintf(file, sizeof file, "%u-remote", (unsigned)number);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    fx_write_file(path, p, n);
    gw_md5(p, n, md5);
    assert_int_equal(meta_cmd_part_put(&cmd, &h, GW_STR("b"), gw_str_c(upload_id), number, n,
                                       gw_str_make((const char *)md5, GW_MD5_LEN), GW_STR(""),
                                       gw_str_c(file)),
                     GW_OK);
    fx_remote_commit(f, &cmd);
    gw_buf_free(&cmd);
}

static void fx_queue_prop(struct fx *f, struct fx_prop *p)
{
    struct fx_prop **tail = &f->props;

    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = p;
}

static int fx_propose(struct meta_proposer *mp, const struct gw_buf *cmd, meta_propose_cb cb,
                      void *arg)
{
    struct fx_prop *p = gw_calloc(1, sizeof *p);

    gw_buf_append(&p->cmd, cmd->data, cmd->len);
    p->cb = cb;
    p->arg = arg;
    fx_queue_prop(mp->data, p);
    return GW_OK;
}

static int fx_barrier(struct meta_proposer *mp, meta_propose_cb cb, void *arg)
{
    struct fx_prop *p = gw_calloc(1, sizeof *p);

    p->is_barrier = true;
    p->cb = cb;
    p->arg = arg;
    fx_queue_prop(mp->data, p);
    return GW_OK;
}

/* Complete the oldest proposal: applied (after what others committed), or
 * refused with NOT_LEADER. */
static void fx_prop_complete(struct fx *f, bool refuse)
{
    struct fx_prop *p = f->props;
    int result = GW_OK;

    f->props = p->next;
    if (refuse) {
        f->was_refused = true;
        p->cb(p->arg, GW_ERR_NOT_LEADER, 0);
    } else {
        fx_apply_remote(f);
        if (!p->is_barrier) {
            fx_apply(f, gw_buf_str(&p->cmd), &result);
        }
        p->cb(p->arg, GW_OK, result);
    }
    gw_buf_free(&p->cmd);
    gw_free(p);
}

static void fx_setup_identity(struct fx *f)
{
    struct meta_cmd_hdr h = fx_cmd_hdr();
    struct gw_buf b = GW_BUF_INIT, sealed = GW_BUF_INIT;
    uint8_t nonce[META_NONCE_LEN] = {3};
    int result = -1;

    assert_int_equal(meta_cmd_user_create(&b, &h, GW_STR(FX_USER), false), GW_OK);
    fx_apply(f, gw_buf_str(&b), &result);
    assert_int_equal(result, GW_OK);
    gw_buf_reset(&b);
    assert_int_equal(meta_secret_seal(fx_cluster_key, GW_STR(FX_SECRET), nonce, &sealed), GW_OK);
    assert_int_equal(meta_cmd_key_create(&b, &h, GW_STR(FX_AK), GW_STR(FX_USER),
                                         gw_buf_str(&sealed)),
                     GW_OK);
    fx_apply(f, gw_buf_str(&b), &result);
    assert_int_equal(result, GW_OK);
    gw_buf_reset(&b);
    assert_int_equal(meta_cmd_bucket_create(&b, &h, GW_STR("b"), GW_STR(FX_USER),
                                            GW_STR("us-east-1")),
                     GW_OK);
    fx_apply(f, gw_buf_str(&b), &result);
    assert_int_equal(result, GW_OK);
    gw_buf_free(&b);
    gw_buf_free(&sealed);
}

struct fx *fx_create(size_t io_chunk, bool has_barrier)
{
    struct fx *f = gw_calloc(1, sizeof *f);
    struct s3_config cfg = {0};
    char b[600];

    assert_int_equal(uv_loop_init(&f->loop), 0);
    /* Thousands of runs create and remove files: in memory, when there is
     * a tmpfs for it and the caller did not choose a place. */
    if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0) {
        setenv("TMPDIR", "/dev/shm", 0);
    }
    f->dir = tl_tmpdir();
    snprintf(f->mount, sizeof f->mount, "%s/mount", f->dir);
    snprintf(f->metadir, sizeof f->metadir, "%s/meta", f->dir);
    assert_int_equal(mkdir(f->mount, 0755), 0);
    assert_int_equal(mkdir(f->metadir, 0755), 0);
    snprintf(b, sizeof b, "%s/b", f->mount);
    assert_int_equal(mkdir(b, 0755), 0);
    assert_int_equal(meta_open(f->metadir, fx_cluster_key, 0, &f->m), GW_OK);
    fx_setup_identity(f);
    f->prop.propose = fx_propose;
    f->prop.barrier = has_barrier ? fx_barrier : NULL;
    f->prop.data = f;
    assert_int_equal(gw_pool_manual_create(&f->pool), GW_OK);
    cfg.mount = f->mount;
    cfg.region = "us-east-1";
    cfg.max_object_size = 1ull << 30;
    cfg.io_chunk_size = io_chunk;
    cfg.clock_skew_s = 900;
    cfg.node_id = "fx";
    cfg.copy_file_range = true;
    assert_int_equal(s3_service_create(&cfg, f->m, &f->prop, &f->svc), GW_OK);
    return f;
}

void fx_destroy(struct fx *f)
{
    assert_null(f->props);
    s3_service_destroy(f->svc);
    gw_pool_manual_destroy(f->pool);
    meta_close(f->m);
    gw_buf_free(&f->remote);
    tl_loop_close(&f->loop);
    tl_rmrf(f->dir);
    free(f->dir);
    gw_free(f);
}

const char *fx_mount(const struct fx *f)
{
    return f->mount;
}

struct meta *fx_meta(const struct fx *f)
{
    return f->m;
}

/* ---- the fake exchange --------------------------------------------------------- */

static struct fx_x *xx_of(struct s3_exchange *x)
{
    return (struct fx_x *)((char *)x - offsetof(struct fx_x, x));
}

static void xx_alive(const struct fx_x *xx, const char *op)
{
    if (xx->is_released) {
        fail_msg("%s after the exchange was released", op);
    }
}

static bool xx_body_complete(const struct fx_x *xx)
{
    return xx->sent == xx->body_len;
}

static int fx_body_read(struct s3_exchange *x, struct gw_str *chunk, bool *eof)
{
    struct fx_x *xx = xx_of(x);
    struct gw_buf t;

    xx_alive(xx, "body_read");
    if (xx->n_ends > 0) {
        fail_msg("body_read after resp_end");
    }
    if (xx->wait_cb != NULL) {
        fail_msg("body_read while a body_wait is outstanding");
    }
    if (xx->is_gone) {
        return GW_ERR_CANCELED;
    }
    xx->lent.len = 0;
    if (xx->avail.len > 0) {
        t = xx->lent;
        xx->lent = xx->avail;
        xx->avail = t;
        *chunk = gw_buf_str(&xx->lent);
        *eof = xx_body_complete(xx);
        return GW_OK;
    }
    if (xx_body_complete(xx)) {
        *chunk = GW_STR("");
        *eof = true;
        return GW_OK;
    }
    return GW_ERR_AGAIN;
}

static void fx_body_wait(struct s3_exchange *x, s3_ready_cb cb, void *arg)
{
    struct fx_x *xx = xx_of(x);

    xx_alive(xx, "body_wait");
    if (xx->wait_cb != NULL) {
        fail_msg("two body_waits outstanding");
    }
    xx->wait_cb = cb;
    xx->wait_arg = arg;
}

static void fx_resp_start(struct s3_exchange *x, int status, const struct s3_header *hdrs,
                          size_t n_hdrs, int64_t content_length)
{
    struct fx_x *xx = xx_of(x);

    (void)hdrs;
    (void)n_hdrs;
    (void)content_length;
    xx_alive(xx, "resp_start");
    if (xx->n_starts > 0 || xx->n_ends > 0) {
        fail_msg("a second response (%d after %d)", status, xx->status);
    }
    xx->n_starts++;
    xx->status = status;
}

static void xx_queue_write(struct fx_x *xx, s3_write_cb cb, void *arg)
{
    struct fx_write *w = gw_calloc(1, sizeof *w);
    struct fx_write **tail = &xx->writes;

    w->cb = cb;
    w->arg = arg;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = w;
}

static int fx_resp_write(struct s3_exchange *x, const void *p, size_t len, s3_write_cb cb,
                         void *arg)
{
    struct fx_x *xx = xx_of(x);

    xx_alive(xx, "resp_write");
    if (xx->n_starts == 0 || xx->n_ends > 0) {
        return GW_ERR_INVALID;
    }
    if (xx->is_gone) {
        return GW_ERR_CANCELED;
    }
    gw_buf_append(&xx->resp, p, len);
    xx_queue_write(xx, cb, arg);
    return GW_OK;
}

static int fx_resp_sendfile(struct s3_exchange *x, int fd, uint64_t off, uint64_t len,
                            s3_write_cb cb, void *arg)
{
    struct fx_x *xx = xx_of(x);
    char buf[4096];

    xx_alive(xx, "resp_sendfile");
    if (xx->n_starts == 0 || xx->n_ends > 0) {
        return GW_ERR_INVALID;
    }
    if (xx->is_gone) {
        return GW_ERR_CANCELED;
    }
    while (len > 0) {
        ssize_t n = pread(fd, buf, len < sizeof buf ? (size_t)len : sizeof buf, (off_t)off);
        assert_true(n > 0);
        gw_buf_append(&xx->resp, buf, (size_t)n);
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    xx_queue_write(xx, cb, arg);
    return GW_OK;
}

static void fx_resp_end(struct s3_exchange *x)
{
    struct fx_x *xx = xx_of(x);

    xx_alive(xx, "resp_end");
    if (xx->n_ends > 0) {
        fail_msg("resp_end twice");
    }
    if (xx->n_starts == 0) {
        fail_msg("resp_end without a response");
    }
    xx->n_ends++;
    xx->wait_cb = NULL; /* the contract: resp_end cancels an outstanding body_wait */
}

static const struct s3_exchange_ops fx_ops = {
    .body_read = fx_body_read,
    .body_wait = fx_body_wait,
    .resp_start = fx_resp_start,
    .resp_write = fx_resp_write,
    .resp_sendfile = fx_resp_sendfile,
    .resp_end = fx_resp_end,
};

/* Node releases the exchange once it ended and its output is out. */
static void xx_maybe_release(struct fx_x *xx)
{
    if (xx->is_released || xx->n_ends == 0 || xx->writes != NULL) {
        return;
    }
    xx->is_released = true;
    gw_arena_release(&xx->arena);
}

/* ---- building and signing a request ----------------------------------------------- */

static struct gw_str xx_str(struct fx_x *xx, const char *s)
{
    return gw_str_make(gw_arena_strndup(&xx->arena, s, strlen(s)), strlen(s));
}

static void xx_header(struct fx_x *xx, struct s3_header *h, size_t *n, const char *name,
                      const char *value)
{
    assert_true(*n < FX_MAX_HEADERS);
    h[*n].name = xx_str(xx, name);
    h[*n].value = xx_str(xx, value);
    (*n)++;
}

static void xx_sign(struct fx_x *xx, const struct fx_req *r, struct s3_header *h, size_t *n)
{
    const char *qm = strchr(r->target, '?');
    struct s3_sigv4_sign_req in = {0};
    struct gw_str authz;
    char date[32], len[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    xx_header(xx, h, n, "host", "127.0.0.1");
    xx_header(xx, h, n, "x-amz-date", date);
    xx_header(xx, h, n, "x-amz-content-sha256",
              r->payload_hash != NULL ? r->payload_hash : "UNSIGNED-PAYLOAD");
    for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i += 2) {
        xx_header(xx, h, n, r->headers[i], r->headers[i + 1]);
    }
    in.method = xx_str(xx, r->method);
    in.path = qm != NULL ? gw_str_make(r->target, (size_t)(qm - r->target)) : gw_str_c(r->target);
    in.query = qm != NULL ? gw_str_c(qm + 1) : GW_STR("");
    in.headers = h;
    in.n_headers = *n;
    in.payload_hash = h[2].value;
    in.time = (int64_t)now;
    in.access_key = GW_STR(FX_AK);
    in.secret = GW_STR(FX_SECRET);
    in.region = GW_STR("us-east-1");
    assert_int_equal(s3_sigv4_sign_headers(&in, &xx->arena, &authz), GW_OK);
    h[*n].name = GW_STR("authorization");
    h[*n].value = authz;
    (*n)++;
    snprintf(len, sizeof len, "%zu", r->body_len);
    xx_header(xx, h, n, "content-length", len);
}

static struct fx_x *xx_start(struct fx *f, const struct fx_req *r)
{
    struct fx_x *xx = gw_calloc(1, sizeof *xx);
    struct s3_http_request *req = &xx->x.req;
    struct s3_header *h;
    size_t n = 0;

    xx->f = f;
    gw_arena_init(&xx->arena);
    h = gw_arena_zalloc(&xx->arena, (FX_MAX_HEADERS + 1) * sizeof *h);
    xx_sign(xx, r, h, &n);
    xx->body = r->body;
    xx->body_len = r->body_len;
    xx->piece = r->piece != 0 ? r->piece : (r->body_len > 0 ? r->body_len : 1);
    req->method = xx_str(xx, r->method);
    req->target = xx_str(xx, r->target);
    req->headers = h;
    req->n_headers = n;
    req->has_content_length = true;
    req->content_length = r->body_len;
    snprintf(req->peer_ip, sizeof req->peer_ip, "127.0.0.1");
    snprintf(req->request_id, sizeof req->request_id, "FX%014zu", f->n_requests++);
    xx->x.ops = &fx_ops;
    xx->x.arena = &xx->arena;
    xx->x.loop = &f->loop;
    xx->x.pool = f->pool;
    xx->x.start_ns = uv_hrtime();
    s3_handle(f->svc, &xx->x);
    return xx;
}

static void xx_free(struct fx_x *xx)
{
    while (xx->writes != NULL) {
        struct fx_write *w = xx->writes;
        xx->writes = w->next;
        gw_free(w);
    }
    if (!xx->is_released) {
        gw_arena_release(&xx->arena);
    }
    gw_buf_free(&xx->avail);
    gw_buf_free(&xx->lent);
    gw_buf_free(&xx->resp);
    gw_free(xx);
}

/* ---- events -------------------------------------------------------------------- */

enum fx_act {
    FX_SEND,      /* the client sends the next piece of its body */
    FX_WAIT,      /* node fires the outstanding body_wait */
    FX_GONE,      /* the client disconnects */
    FX_FULL,      /* the disk becomes full */
    FX_WRITE,     /* the oldest response write completes */
    FX_PROP,      /* the oldest proposal or barrier is applied */
    FX_PROP_FAIL, /* it is refused: no leader */
    FX_JOB,       /* FX_JOB + i: pool job i runs */
};

static size_t fx_enabled(const struct fx *f, const struct fx_x *xx, int *acts)
{
    size_t n = 0;
    size_t n_jobs = gw_pool_manual_n_queued(f->pool);
    bool is_over = xx->n_ends > 0;

    if (!xx->is_gone && !xx_body_complete(xx) && !is_over) {
        acts[n++] = FX_SEND;
    }
    if (xx->wait_cb != NULL && (xx->avail.len > 0 || xx_body_complete(xx) || xx->is_gone)) {
        acts[n++] = FX_WAIT;
    }
    if ((f->faults & FX_F_GONE) && !xx->is_gone && !is_over) {
        acts[n++] = FX_GONE;
    }
    if ((f->faults & FX_F_FULL) && !fx_disk_is_full && !is_over) {
        acts[n++] = FX_FULL;
    }
    if (xx->writes != NULL) {
        acts[n++] = FX_WRITE;
    }
    if (f->props != NULL) {
        acts[n++] = FX_PROP;
        if (f->faults & FX_F_PROP_FAIL) {
            acts[n++] = FX_PROP_FAIL;
        }
    }
    for (size_t i = 0; i < n_jobs && n < FX_MAX_ACTS; i++) {
        acts[n++] = FX_JOB + (int)i;
    }
    return n;
}

static void xx_send(struct fx_x *xx)
{
    size_t k = xx->body_len - xx->sent < xx->piece ? xx->body_len - xx->sent : xx->piece;

    gw_buf_append(&xx->avail, xx->body + xx->sent, k);
    xx->sent += k;
}

static void xx_gone(struct fx_x *xx)
{
    xx->is_gone = true;
    for (struct fx_write *w = xx->writes; w != NULL; w = w->next) {
        w->rv = GW_ERR_CANCELED;
    }
}

static void xx_write_complete(struct fx_x *xx)
{
    struct fx_write *w = xx->writes;

    xx->writes = w->next;
    w->cb(&xx->x, w->rv, w->arg);
    gw_free(w);
}

static void xx_fire_wait(struct fx_x *xx)
{
    s3_ready_cb cb = xx->wait_cb;

    xx->wait_cb = NULL;
    cb(&xx->x, xx->wait_arg);
}

static void fx_act(struct fx *f, struct fx_x *xx, int act)
{
    switch (act) {
    case FX_SEND:
        xx_send(xx);
        break;
    case FX_WAIT:
        xx_fire_wait(xx);
        break;
    case FX_GONE:
        xx_gone(xx);
        break;
    case FX_FULL:
        fx_disk_is_full = true;
        break;
    case FX_WRITE:
        xx_write_complete(xx);
        break;
    case FX_PROP:
    case FX_PROP_FAIL:
        fx_prop_complete(f, act == FX_PROP_FAIL);
        break;
    default:
        gw_pool_manual_run(f->pool, (size_t)(act - FX_JOB));
        break;
    }
    uv_run(&f->loop, UV_RUN_NOWAIT); /* timers and close callbacks */
    xx_maybe_release(xx);
}

int fx_do(struct fx *f, const struct fx_req *r, struct gw_buf *body)
{
    struct fx_x *xx;
    int acts[FX_MAX_ACTS];
    int status;

    f->faults = 0;
    fx_disk_is_full = false;
    xx = xx_start(f, r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    xx_maybe_release(xx);
    while (fx_enabled(f, xx, acts) > 0) {
        fx_act(f, xx, acts[0]);
    }
    assert_int_equal(xx->n_ends, 1);
    assert_true(xx->is_released);
    status = xx->status;
    if (body != NULL) {
        gw_buf_append(body, xx->resp.data, xx->resp.len);
    }
    xx_free(xx);
    return status;
}

int fx_tag_put(struct fx *f, const char *key, const char *value)
{
    char target[256], body[256];
    struct fx_req r = {.method = "PUT", .target = target, .body = body};

    snprintf(target, sizeof target, "/b/%s?tagging", key);
    snprintf(body, sizeof body,
             "<Tagging><TagSet><Tag><Key>t</Key><Value>%s</Value></Tag></TagSet></Tagging>", value);
    r.body_len = strlen(body);
    return fx_do(f, &r, NULL);
}

bool fx_tag_is(struct fx *f, const char *key, const char *value)
{
    char target[256];
    struct fx_req r = {.method = "GET", .target = target};
    struct gw_buf body = GW_BUF_INIT;
    struct gw_str v;
    bool ok;

    snprintf(target, sizeof target, "/b/%s?tagging", key);
    assert_int_equal(fx_do(f, &r, &body), 200);
    v = fx_xml_elem(gw_buf_str(&body), "Value");
    ok = value == NULL ? v.p == NULL : v.p != NULL && gw_str_eq_c(v, value);
    gw_buf_free(&body);
    return ok;
}

/* ---- exploring every order of events ---------------------------------------------- */

struct fx_path {
    unsigned char choice[FX_MAX_DEPTH];
    unsigned char n_alt[FX_MAX_DEPTH];
    size_t depth;  /* steps of the last run */
    size_t prefix; /* steps to replay from choice[] */
};

static void fx_common_checks(struct fx *f, const struct fx_x *xx, const struct fx_scenario *sc,
                             size_t run)
{
    char tmp[600];

    if (xx->n_ends != 1 || !xx->is_released) {
        fail_msg("%s run %zu: no response, and nothing left that could give one", sc->name, run);
    }
    assert_int_equal(gw_pool_manual_n_queued(f->pool), 0);
    assert_null(f->props);
    snprintf(tmp, sizeof tmp, "%s/.unigw/tmp", f->mount);
    if (fx_count_files(tmp) != 0) {
        fail_msg("%s run %zu (status %d): a temp file is left in .unigw/tmp", sc->name, run,
                 xx->status);
    }
}

static void fx_run_one(struct fx *f, const struct fx_scenario *sc, size_t run, struct fx_path *pa)
{
    struct fx_req r = {0};
    struct fx_run res = {0};
    struct fx_x *xx;
    int acts[FX_MAX_ACTS];
    size_t n, step = 0;

    f->faults = 0;
    fx_disk_is_full = false;
    f->was_refused = false;
    sc->prepare(f, run, sc->arg, &r);
    f->faults = sc->faults;
    xx = xx_start(f, &r);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    xx_maybe_release(xx);
    while ((n = fx_enabled(f, xx, acts)) > 0) {
        unsigned c = step < pa->prefix ? pa->choice[step] : 0;
        if (step == FX_MAX_DEPTH) {
            fail_msg("%s run %zu: more than %d events", sc->name, run, FX_MAX_DEPTH);
        }
        assert_true(c < n); /* the runs are deterministic */
        pa->choice[step] = (unsigned char)c;
        pa->n_alt[step] = (unsigned char)n;
        res.was_gone |= acts[c] == FX_GONE;
        res.was_full |= acts[c] == FX_FULL;
        fx_act(f, xx, acts[c]);
        step++;
    }
    pa->depth = step;
    fx_common_checks(f, xx, sc, run);
    fx_disk_is_full = false;
    f->faults = 0;
    res.index = run;
    res.was_refused = f->was_refused;
    res.status = xx->status;
    res.body = gw_buf_str(&xx->resp);
    sc->check(f, &res, sc->arg);
    xx_free(xx);
}

/* The next schedule in depth-first order; false when all were run. */
static bool fx_next_path(struct fx_path *pa)
{
    size_t d = pa->depth;

    while (d > 0 && pa->choice[d - 1] + 1 >= pa->n_alt[d - 1]) {
        d--;
    }
    if (d == 0) {
        return false;
    }
    pa->choice[d - 1]++;
    pa->prefix = d;
    return true;
}

size_t fx_explore(struct fx *f, const struct fx_scenario *sc)
{
    struct fx_path *pa = gw_calloc(1, sizeof *pa);
    size_t max = sc->max_runs != 0 ? sc->max_runs : 100000;
    size_t runs = 0;

    do {
        if (runs == max) {
            fail_msg("%s: more than %zu schedules", sc->name, max);
        }
        fx_run_one(f, sc, runs++, pa);
    } while (fx_next_path(pa));
    gw_free(pa);
    print_message("%s: %zu schedules\n", sc->name, runs);
    return runs;
}

void fx_filter_from_env(void)
{
    const char *pat = getenv("UNIGW_TEST_FILTER");

    if (pat != NULL && pat[0] != '\0') {
        cmocka_set_test_filter(pat);
    }
}

/* ---- helpers for checks ------------------------------------------------------------ */

size_t fx_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    char path[1024];
    struct stat st;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0) {
            continue;
        }
        n += S_ISDIR(st.st_mode) ? fx_count_files(path) : 1;
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

bool fx_read_file(const char *path, struct gw_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char buf[4096];
    ssize_t n;

    if (fd < 0) {
        return false;
    }
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        gw_buf_append(out, buf, (size_t)n);
    }
    close(fd);
    return n == 0;
}

void fx_write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(__real_write(fd, p, n), (ssize_t)n);
    close(fd);
}

struct gw_str fx_xml_elem(struct gw_str xml, const char *elem)
{
    char open_tag[64], close_tag[64];
    struct gw_str rest = xml;

    snprintf(open_tag, sizeof open_tag, "<%s>", elem);
    snprintf(close_tag, sizeof close_tag, "</%s>", elem);
    for (; rest.len >= strlen(open_tag); rest.p++, rest.len--) {
        if (memcmp(rest.p, open_tag, strlen(open_tag)) == 0) {
            break;
        }
    }
    if (rest.len < strlen(open_tag)) {
        return GW_STR_NULL;
    }
    rest.p += strlen(open_tag);
    rest.len -= strlen(open_tag);
    for (size_t i = 0; i + strlen(close_tag) <= rest.len; i++) {
        if (memcmp(rest.p + i, close_tag, strlen(close_tag)) == 0) {
            return gw_str_make(rest.p, i);
        }
    }
    return GW_STR_NULL;
}
