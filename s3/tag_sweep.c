/* The tag sweep: tag records whose object went away without the gateway
 * seeing it (deleted or replaced through POSIX on the shared mount).  Deletes
 * and overwrites through S3 drop their tags themselves (tags_drop); this
 * collects the rest, so stale records do not pile up in the replicated store.
 *
 *   trigger (loop, from s3_service_tick on the Raft leader, at most once per
 *            [s3] tag_sweep_interval)
 *     -> scan (pool): every object tag record, in batches; the object is
 *        opened beneath its bucket; a record whose object is missing or is
 *        another version (object id) is a suspect
 *     -> decide (loop): a suspect that was a suspect with the same object id
 *        in the previous sweep too is dropped (tags_drop of that id, which
 *        removes nothing if the record changed meanwhile); the suspects of
 *        this sweep are remembered for the next
 *     -> free when every proposal has answered
 *
 * Why two sweeps an interval apart: a PUT or Complete with tags commits the
 * tag record for the new object id before it publishes the file, and in
 * between the record's object does not exist yet.  One look could drop the
 * tags of an object about to appear; a record still orphaned a whole
 * interval later is not in flight.  Memory is bounded by
 * TAG_SWEEP_MAX_SUSPECTS; the rest wait for a later sweep. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpu.h"
#include "obj.h"
#include "tag_sweep.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define TAG_SWEEP_DEFAULT_MS (60ull * 60 * 1000)
#define TAG_SWEEP_BATCH 256
#define TAG_SWEEP_MAX_SUSPECTS 4096

struct s3_tag_sweep {
    bool is_running;
    uint64_t last_run_ms;
    struct meta_tag_ref *suspects; /* of the previous sweep, gw_malloc'ed */
    size_t n_suspects;
};

struct sweep_job {
    struct gw_pool_job job;
    struct s3_service *svc;
    struct s3_tag_sweep *ts;
    uint64_t now_ms;
    struct meta_tag_ref *found; /* this sweep's suspects */
    size_t n_found;
    bool *is_due; /* per suspect: it was one in the previous sweep too */
    size_t n_scanned;
    size_t n_dropped;
    size_t n_pending;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct s3_tag_sweep *s3__tag_sweep_create(void)
{
    return gw_calloc(1, sizeof(struct s3_tag_sweep));
}

void s3__tag_sweep_destroy(struct s3_tag_sweep *ts)
{
    if (ts != NULL) {
        gw_free(ts->suspects);
        gw_free(ts);
    }
}

/* Whether the object of @t is gone or is another version than the record's. */
static bool is_orphan(struct s3_service *s, const struct meta_tag_ref *t)
{
    struct gw_str bucket = gw_str_make(t->bucket, t->bucket_len);
    struct gw_str key = gw_str_make(t->key, t->key_len);
    struct gw_arena a;
    struct s3_obj o;
    bool orphan;
    int rv;

    gw_arena_init(&a);
    rv = s3__obj_open(s, bucket, key, &a, &o);
    if (rv == 0) {
        struct gw_str id = s3__tag_object_id(&o.meta, o.has_meta, &o.st, &a);
        orphan = !gw_str_eq(id, gw_str_make(t->object_id, t->object_id_len));
        close(o.fd);
    } else {
        /* Only a clear "not there": an I/O error proves nothing. */
        orphan = rv == GW_ERR_NO_SUCH_KEY || rv == GW_ERR_NO_SUCH_BUCKET;
    }
    gw_arena_release(&a);
    return orphan;
}

static bool same_ref(const struct meta_tag_ref *a, const struct meta_tag_ref *b)
{
    return a->bucket_len == b->bucket_len && a->key_len == b->key_len &&
           a->object_id_len == b->object_id_len &&
           memcmp(a->bucket, b->bucket, a->bucket_len) == 0 &&
           memcmp(a->key, b->key, a->key_len) == 0 &&
           memcmp(a->object_id, b->object_id, a->object_id_len) == 0;
}

static bool was_suspect(const struct s3_tag_sweep *ts, const struct meta_tag_ref *t)
{
    for (size_t i = 0; i < ts->n_suspects; i++) {
        if (same_ref(&ts->suspects[i], t)) {
            return true;
        }
    }
    return false;
}

static void scan_work_cb(struct gw_pool_job *job)
{
    struct sweep_job *j = job->data;
    struct gw_buf after = GW_BUF_INIT, next = GW_BUF_INIT;
    struct meta_tag_ref *v = NULL;
    size_t n = 0;

    j->found = gw_calloc(TAG_SWEEP_MAX_SUSPECTS, sizeof *j->found);
    do {
        if (meta_tags_scan(j->svc->meta, gw_buf_str(&after), TAG_SWEEP_BATCH, &v, &n, &next) !=
            0) {
            break;
        }
        for (size_t i = 0; i < n && j->n_found < TAG_SWEEP_MAX_SUSPECTS; i++) {
            if (is_orphan(j->svc, &v[i])) {
                j->found[j->n_found++] = v[i];
            }
        }
        j->n_scanned += n;
        gw_free(v);
        gw_buf_reset(&after);
        gw_buf_append_str(&after, gw_buf_str(&next));
    } while (next.len > 0 && j->n_found < TAG_SWEEP_MAX_SUSPECTS);
    gw_buf_free(&after);
    gw_buf_free(&next);
    /* Matched here, off the loop: ts->suspects is written only by the done
     * callback, and one sweep runs at a time (is_running). */
    j->is_due = gw_calloc(j->n_found + 1, sizeof *j->is_due);
    for (size_t i = 0; i < j->n_found; i++) {
        j->is_due[i] = was_suspect(j->ts, &j->found[i]);
    }
    if (j->n_found == 0) {
        gw_free(j->found);
        j->found = NULL;
    } else {
        j->found = gw_realloc(j->found, j->n_found * sizeof *j->found);
    }
}

static void job_free(struct sweep_job *j)
{
    if (j->n_dropped > 0) {
        GW_LOG(GW_LOG_INFO, "s3",
               "msg=\"tag sweep: %zu records scanned, %zu orphans dropped, %zu suspects\"",
               j->n_scanned, j->n_dropped, j->n_found);
    }
    j->ts->is_running = false;
    gw_free(j);
}

static void dropped_cb(void *arg, int rv, int result)
{
    struct sweep_job *j = arg;

    if (rv != 0) {
        GW_LOG(GW_LOG_WARN, "s3", "msg=\"tag sweep: tags_drop: %s\"", gw_err_name(rv));
    }
    (void)result; /* tags_drop is GW_OK whatever it found */
    if (--j->n_pending == 0) {
        job_free(j);
    }
}

static void propose_drop(struct sweep_job *j, const struct meta_tag_ref *t)
{
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;

    if (meta_cmd_hdr_init(&h, j->now_ms, GW_STR("")) == 0 &&
        meta_cmd_tags_drop(&cmd, &h, gw_str_make(t->bucket, t->bucket_len),
                           gw_str_make(t->key, t->key_len),
                           gw_str_make(t->object_id, t->object_id_len)) == 0 &&
        meta_propose(j->svc->proposer, &cmd, dropped_cb, j) == 0) {
        j->n_pending++;
        j->n_dropped++;
    }
    gw_buf_free(&cmd);
}

static void scan_done_cb(struct gw_pool_job *job)
{
    struct sweep_job *j = job->data;
    struct s3_tag_sweep *ts = j->ts;

    j->n_pending = 1; /* held by this function until the loop ends */
    for (size_t i = 0; i < j->n_found; i++) {
        if (j->is_due[i]) {
            propose_drop(j, &j->found[i]);
        }
    }
    gw_free(j->is_due);
    gw_free(ts->suspects);
    ts->suspects = j->found;
    ts->n_suspects = j->n_found;
    j->found = NULL;
    if (--j->n_pending == 0) {
        job_free(j);
    }
}

void s3__tag_sweep_run(struct s3_service *s, struct s3_tag_sweep *ts, struct gw_pool_loop *pool)
{
    uint64_t interval = s->cfg.tag_sweep_ms ? s->cfg.tag_sweep_ms : TAG_SWEEP_DEFAULT_MS;
    uint64_t now = now_ms();
    struct sweep_job *j;

    if (ts->is_running || now < ts->last_run_ms + interval) {
        return;
    }
    ts->is_running = true;
    ts->last_run_ms = now;
    j = gw_calloc(1, sizeof *j);
    j->svc = s;
    j->ts = ts;
    j->now_ms = now;
    gw_pool_submit(pool, &j->job, scan_work_cb, scan_done_cb, j);
}
