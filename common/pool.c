/* The data-path worker pool: a fixed set of threads taking jobs from one FIFO.
 *
 * Submitting pushes the job on the pool queue and signals a worker.  When the
 * work is done, the worker pushes the job on its origin loop's done list and
 * wakes that loop with uv_async_send; the loop then runs the done callbacks in
 * submission order of completion.  uv_async_send coalesces, so the done list is
 * drained completely on each wake-up.  Closing a loop waits for its in-flight
 * jobs (their done callbacks still run) before closing the async handle.
 *
 * A manual loop attachment (unit tests) has no pool: submitting queues the
 * job on its done list, and gw_pool_manual_run runs one of them. */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/pool.h"

struct gw_pool {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct gw_pool_job *head;
    struct gw_pool_job *tail;
    bool stopping;
    size_t n_threads;
    pthread_t *threads;
};

struct gw_pool_loop {
    struct gw_pool *pool;
    uv_async_t async;
    pthread_mutex_t mu;
    struct gw_pool_job *done_head;
    struct gw_pool_job *done_tail;
    size_t n_inflight; /* loop thread only */
    bool closing;
};

static void *worker_main(void *arg)
{
    struct gw_pool *p = arg;

    for (;;) {
        struct gw_pool_job *job;
        struct gw_pool_loop *pl;

        pthread_mutex_lock(&p->mu);
        while (p->head == NULL && !p->stopping) {
            pthread_cond_wait(&p->cond, &p->mu);
        }
        if (p->head == NULL) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        job = p->head;
        p->head = job->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        pthread_mutex_unlock(&p->mu);

        job->work(job);

        pl = job->origin;
        job->next = NULL;
        pthread_mutex_lock(&pl->mu);
        if (pl->done_tail != NULL) {
            pl->done_tail->next = job;
        } else {
            pl->done_head = job;
        }
        pl->done_tail = job;
        pthread_mutex_unlock(&pl->mu);
        uv_async_send(&pl->async);
    }
}

int gw_pool_create(size_t n_threads, struct gw_pool **out)
{
    struct gw_pool *p = gw_calloc(1, sizeof *p);

    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->threads = gw_calloc(n_threads, sizeof *p->threads);
    for (size_t i = 0; i < n_threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
            p->n_threads = i;
            gw_pool_destroy(p);
            return GW_ERR_NOMEM;
        }
    }
    p->n_threads = n_threads;
    *out = p;
    return GW_OK;
}

void gw_pool_destroy(struct gw_pool *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_threads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    gw_free(p->threads);
    gw_free(p);
}

static void loop_closed_cb(uv_handle_t *h)
{
    struct gw_pool_loop *pl = h->data;

    pthread_mutex_destroy(&pl->mu);
    gw_free(pl);
}

static void async_cb(uv_async_t *a)
{
    struct gw_pool_loop *pl = a->data;
    struct gw_pool_job *job;

    pthread_mutex_lock(&pl->mu);
    job = pl->done_head;
    pl->done_head = NULL;
    pl->done_tail = NULL;
    pthread_mutex_unlock(&pl->mu);

    while (job != NULL) {
        struct gw_pool_job *next = job->next;
        pl->n_inflight--;
        job->done(job); /* may free the job */
        job = next;
    }
    if (pl->closing && pl->n_inflight == 0 && !uv_is_closing((uv_handle_t *)&pl->async)) {
        uv_close((uv_handle_t *)&pl->async, loop_closed_cb);
    }
}

int gw_pool_loop_create(struct gw_pool *p, uv_loop_t *loop, struct gw_pool_loop **out)
{
    struct gw_pool_loop *pl = gw_calloc(1, sizeof *pl);
    int rv;

    pl->pool = p;
    pthread_mutex_init(&pl->mu, NULL);
    rv = uv_async_init(loop, &pl->async, async_cb);
    if (rv != 0) {
        pthread_mutex_destroy(&pl->mu);
        gw_free(pl);
        return gw_err_from_uv(rv);
    }
    pl->async.data = pl;
    *out = pl;
    return GW_OK;
}

void gw_pool_loop_close(struct gw_pool_loop *pl)
{
    pl->closing = true;
    if (pl->n_inflight == 0) {
        uv_close((uv_handle_t *)&pl->async, loop_closed_cb);
    }
}

/* ---- the manual attachment (unit tests) ---- */

static void manual_push(struct gw_pool_loop *pl, struct gw_pool_job *job)
{
    for (const struct gw_pool_job *j = pl->done_head; j != NULL; j = j->next) {
        assert(j != job && "a job submitted again while it is queued");
    }
    if (pl->done_tail != NULL) {
        pl->done_tail->next = job;
    } else {
        pl->done_head = job;
    }
    pl->done_tail = job;
}

int gw_pool_manual_create(struct gw_pool_loop **out)
{
    *out = gw_calloc(1, sizeof **out);
    return GW_OK;
}

void gw_pool_manual_destroy(struct gw_pool_loop *pl)
{
    if (pl != NULL) {
        assert(pl->pool == NULL && pl->done_head == NULL);
        gw_free(pl);
    }
}

size_t gw_pool_manual_n_queued(const struct gw_pool_loop *pl)
{
    size_t n = 0;

    for (const struct gw_pool_job *j = pl->done_head; j != NULL; j = j->next) {
        n++;
    }
    return n;
}

struct gw_pool_job *gw_pool_manual_job(const struct gw_pool_loop *pl, size_t i)
{
    struct gw_pool_job *j = pl->done_head;

    while (j != NULL && i-- > 0) {
        j = j->next;
    }
    return j;
}

void gw_pool_manual_run(struct gw_pool_loop *pl, size_t i)
{
    struct gw_pool_job **link = &pl->done_head;
    struct gw_pool_job *job = NULL;

    while (*link != NULL && i-- > 0) {
        link = &(*link)->next;
    }
    job = *link;
    assert(job != NULL);
    *link = job->next;
    pl->done_tail = NULL;
    for (struct gw_pool_job *j = pl->done_head; j != NULL; j = j->next) {
        pl->done_tail = j;
    }
    job->next = NULL;
    job->work(job);
    pl->n_inflight--;
    job->done(job);
}

void gw_pool_submit(struct gw_pool_loop *pl, struct gw_pool_job *job, gw_pool_work_cb work,
                    gw_pool_done_cb done, void *data)
{
    struct gw_pool *p = pl->pool;

    job->work = work;
    job->done = done;
    job->data = data;
    job->origin = pl;
    job->next = NULL;
    pl->n_inflight++;
    if (p == NULL) {
        manual_push(pl, job);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->tail != NULL) {
        p->tail->next = job;
    } else {
        p->head = job;
    }
    p->tail = job;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
}
