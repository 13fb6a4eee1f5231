/* The data-path worker pool.
 *
 * Blocking filesystem calls and hashing run here, never on an event-loop
 * thread, and never on libuv's process-wide thread pool (Raft's disk writes use
 * that one, and a slow shared mount must not stall consensus).  A job's
 * @work runs on a pool thread; its @done then runs on the loop that submitted
 * it, delivered through a uv_async_t.
 *
 * Async contract: gw_pool_submit never fails and @done always fires exactly
 * once, later, on the submitting loop, never inside the call. */
#ifndef UNIGW_INCLUDE_POOL_H
#define UNIGW_INCLUDE_POOL_H

#include <stddef.h>

#include <uv.h>

struct gw_pool;
struct gw_pool_job;
struct gw_pool_loop;

typedef void (*gw_pool_work_cb)(struct gw_pool_job *job);
typedef void (*gw_pool_done_cb)(struct gw_pool_job *job);

/* Embed in the owner; fields are private to common/pool.c. */
struct gw_pool_job {
    gw_pool_work_cb work;
    gw_pool_done_cb done;
    void *data;
    struct gw_pool_job *next;
    struct gw_pool_loop *origin;
};


/* Start @n_threads workers.  Returns 0 or GW_ERR_*. */
int gw_pool_create(size_t n_threads, struct gw_pool **out);
/* Stop the workers after the queued jobs ran.  Every gw_pool_loop must be
 * closed first. */
void gw_pool_destroy(struct gw_pool *p);

/* Attach @loop to the pool (initializes a uv_async_t on it). */
int gw_pool_loop_create(struct gw_pool *p, uv_loop_t *loop, struct gw_pool_loop **out);
/* Close the async handle; jobs still in flight are waited for first. */
void gw_pool_loop_close(struct gw_pool_loop *pl);

void gw_pool_submit(struct gw_pool_loop *pl, struct gw_pool_job *job, gw_pool_work_cb work,
                    gw_pool_done_cb done, void *data);

/* --- For unit tests: a pool that runs jobs only when the test says ---------------------- */

/* A loop attachment with no threads and no loop behind it: gw_pool_submit
 * only queues the job, and gw_pool_manual_run runs the work and then the
 * done of one queued job, in whatever order the test picks, on the calling
 * thread.  So a test can drive every order in which jobs may complete.
 * Destroy it with gw_pool_manual_destroy (it must be empty by then). */
int gw_pool_manual_create(struct gw_pool_loop **out);
void gw_pool_manual_destroy(struct gw_pool_loop *pl);
size_t gw_pool_manual_n_queued(const struct gw_pool_loop *pl);
/* The queued job @i (0: the oldest submitted). */
struct gw_pool_job *gw_pool_manual_job(const struct gw_pool_loop *pl, size_t i);
/* Take job @i off the queue, run its work, then its done (which may submit). */
void gw_pool_manual_run(struct gw_pool_loop *pl, size_t i);

#endif
