/* The multipart cleanup task.
 *
 * Uploads that were never completed or aborted expire after the configured
 * time (s3_config.mpu_expiry_ms, default 7 days; completed ones are kept as
 * long, for idempotent retries of Complete, which answer from the record and
 * need no staged data); directories under .unigw/multipart/ without an upload
 * record (left by a crash between a part write and its commit, or by a part
 * that raced an abort) are orphans; the staged directory of a completed
 * upload (left by a node that stopped between upload_finish and removing
 * it) is leftover data, removed at once.
 *
 *   trigger (loop, at most once per interval: from multipart requests, and
 *            from the daemon's periodic s3_service_tick on the Raft leader)
 *     -> scan (pool): list every upload, pick the expired ones, remove
 *        their staged directories, those of completed uploads, and every
 *        orphan older than the grace
 *     -> propose upload_abort for each expired upload (loop)
 *     -> free when every proposal has answered
 *
 * The task owns no handle, only one pool job at a time, so it never holds up
 * a shutdown.  The staged tree is read and removed through fds beneath the
 * mount root (s3/store.h): a symlink planted in it is removed, never
 * followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpu.h"
#include "obj.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define CLEANUP_INTERVAL_MS (10ull * 60 * 1000)
#define ORPHAN_GRACE_MS (60ull * 60 * 1000)

struct cleanup_job {
    struct gw_pool_job job;
    struct s3_service *svc;
    uint64_t now_ms;
    uint64_t expiry_ms;
    struct meta_upload *expired; /* gw_malloc'ed */
    size_t n_expired;
    size_t n_pending;
    size_t n_orphans;
    size_t n_completed; /* completed uploads whose staged data was still there */
};

static bool running;
static uint64_t last_run_ms;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void s3__mpu_rm_upload_dir(struct s3_service *s, struct gw_str id)
{
    char dir[S3_PATH_MAX];

    if (s3_path_multipart_dir(dir, sizeof dir, s->mount, id) == 0) {
        s3__store_path_rmtree(&s->store, dir);
    }
}

/* The staged directory of a completed upload is still there. */
static bool has_leftover(const struct cleanup_job *j, const struct meta_upload *u)
{
    char dir[S3_PATH_MAX];
    int fd;

    if (u->state != META_UPLOAD_COMPLETED ||
        s3_path_multipart_dir(dir, sizeof dir, j->svc->mount,
                              gw_str_make(u->upload_id, u->upload_id_len)) != 0) {
        return false;
    }
    /* Beneath the mount root, no symlink followed (a link is no staged data). */
    fd = s3__store_path_open(&j->svc->store, dir, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static bool is_expired(const struct cleanup_job *j, const struct meta_upload *u)
{
    uint64_t t = u->state == META_UPLOAD_OPEN ? u->initiated_ms : u->done_ms;

    return t + j->expiry_ms < j->now_ms;
}

static bool has_upload(const struct meta_upload *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].upload_id, id) == 0) {
            return true;
        }
    }
    return false;
}

/* Remove directories of .unigw/multipart that no upload owns. */
static void remove_orphans(struct cleanup_job *j, const struct meta_upload *all, size_t n)
{
    char root[S3_PATH_MAX];
    uint64_t grace = j->expiry_ms < ORPHAN_GRACE_MS ? j->expiry_ms : ORPHAN_GRACE_MS;
    struct dirent *e;
    struct stat st;
    DIR *d = NULL;
    int fd = -1;

    if (s3_path_multipart_root(root, sizeof root, j->svc->mount) == 0) {
        fd = s3__store_path_open(&j->svc->store, root, O_RDONLY | O_DIRECTORY, 0);
    }
    if (fd >= 0 && (d = fdopendir(fd)) == NULL) {
        close(fd);
    }
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (!s3_path_upload_id_valid(gw_str_c(e->d_name)) || has_upload(all, n, e->d_name) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if ((uint64_t)st.st_mtim.tv_sec * 1000 + grace < j->now_ms) {
            s3__mpu_rm_upload_dir(j->svc, gw_str_c(e->d_name));
            j->n_orphans++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

static void scan_work_cb(struct gw_pool_job *job)
{
    struct cleanup_job *j = job->data;
    struct meta_upload *all = NULL;
    size_t n = 0;

    if (meta_upload_list(j->svc->meta, GW_STR(""), GW_STR(""), GW_STR(""), GW_STR(""), 0, &all,
                         &n) != 0) {
        return;
    }
    j->expired = gw_calloc(n + 1, sizeof *j->expired);
    for (size_t i = 0; i < n; i++) {
        if (is_expired(j, &all[i])) {
            s3__mpu_rm_upload_dir(j->svc, gw_str_make(all[i].upload_id, all[i].upload_id_len));
            j->expired[j->n_expired++] = all[i];
        } else if (has_leftover(j, &all[i])) {
            s3__mpu_rm_upload_dir(j->svc, gw_str_make(all[i].upload_id, all[i].upload_id_len));
            j->n_completed++;
        }
    }
    remove_orphans(j, all, n);
    gw_free(all);
}

static void job_free(struct cleanup_job *j)
{
    if (j->n_expired + j->n_orphans + j->n_completed > 0) {
        GW_LOG(GW_LOG_INFO, "s3",
               "msg=\"multipart cleanup: %zu expired uploads, %zu orphans, staged data of %zu "
               "completed uploads\"",
               j->n_expired, j->n_orphans, j->n_completed);
    }
    gw_free(j->expired);
    gw_free(j);
    running = false;
}

static void aborted_cb(void *arg, int rv, int result)
{
    struct cleanup_job *j = arg;

    if (rv != 0) {
        GW_LOG(GW_LOG_WARN, "s3", "msg=\"multipart cleanup: abort: %s\"", gw_err_name(rv));
    }
    (void)result; /* NO_SUCH_UPLOAD: someone aborted or completed it meanwhile */
    if (--j->n_pending == 0) {
        job_free(j);
    }
}

static void scan_done_cb(struct gw_pool_job *job)
{
    struct cleanup_job *j = job->data;
    struct meta_cmd_hdr h;

    j->n_pending = 1; /* held by this function until the loop ends */
    for (size_t i = 0; i < j->n_expired; i++) {
        const struct meta_upload *u = &j->expired[i];
        struct gw_buf cmd = GW_BUF_INIT;
        if (meta_cmd_hdr_init(&h, j->now_ms, GW_STR("")) != 0 ||
            meta_cmd_upload_abort(&cmd, &h, gw_str_make(u->bucket, u->bucket_len),
                                  gw_str_make(u->upload_id, u->upload_id_len)) != 0) {
            gw_buf_free(&cmd);
            continue;
        }
        if (meta_propose(j->svc->proposer, &cmd, aborted_cb, j) == 0) {
            j->n_pending++;
        }
        gw_buf_free(&cmd);
    }
    if (--j->n_pending == 0) {
        job_free(j);
    }
}

void s3__mpu_cleanup_maybe(struct s3_req *q)
{
    s3__mpu_cleanup_run(q->svc, q->x->pool);
}

void s3__mpu_cleanup_run(struct s3_service *s, struct gw_pool_loop *pool)
{
    uint64_t expiry = s->cfg.mpu_expiry_ms ? s->cfg.mpu_expiry_ms : S3_MPU_EXPIRY_DEFAULT_MS;
    uint64_t interval = expiry < CLEANUP_INTERVAL_MS ? expiry : CLEANUP_INTERVAL_MS;
    uint64_t now = now_ms();
    struct cleanup_job *j;

    if (running || now < last_run_ms + interval) {
        return;
    }
    running = true;
    last_run_ms = now;
    j = gw_calloc(1, sizeof *j);
    j->svc = s;
    j->now_ms = now;
    j->expiry_ms = expiry;
    gw_pool_submit(pool, &j->job, scan_work_cb, scan_done_cb, j);
}
