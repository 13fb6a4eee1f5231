/* The one guard of the write pipelines (s3/op_put.c, s3/op_copy.c,
 * s3/mpu_copy.c, s3/mpu_complete.c).
 *
 * Each pipeline has its own state enum whose last two values are DISCARD
 * and DONE; the guard keeps the state as an int and knows only which value
 * is DISCARD.  The rules it enforces:
 *   - at most one pool job runs at a time (n_jobs is 0 or 1), so the
 *     pipeline's buffers and fds need no lock;
 *   - the first failure enters DISCARD; a failure after that, or after DONE,
 *     is ignored (the first error is the answer);
 *   - a failure that comes while a job runs waits for it: the job's
 *     completion (s3__pipe_job_back) runs the discard instead of the next
 *     step, so nothing is closed under a running job;
 *   - once DISCARD or DONE is entered no step is submitted again (asserted).
 * Loop thread only. */
#ifndef UNIGW_S3_PIPE_H
#define UNIGW_S3_PIPE_H

#include <stdbool.h>

#include "unigw/pool.h"

struct s3_pipe {
    struct gw_pool_loop *pool;
    int state;
    int discard;     /* the owner's DISCARD; DONE is the one state after it */
    unsigned n_jobs; /* pool jobs in flight: 0 or 1 */
    int rv;          /* what DISCARD answers */
    struct gw_pool_job job;
    void *owner; /* handed to the work and done callbacks as job->data */
    void (*discard_run)(void *owner);
};

/* Start in state @initial; @discard_run runs once no job is in flight after
 * the first failure. */
void s3__pipe_init(struct s3_pipe *g, struct gw_pool_loop *pool, int initial, int discard,
                   void *owner, void (*discard_run)(void *owner));
/* Hand a step to the pool; @done must start with s3__pipe_job_back. */
void s3__pipe_submit(struct s3_pipe *g, gw_pool_work_cb work, gw_pool_done_cb done);
/* A step's job came back: true when the pipeline goes on, false when a
 * failure came in meanwhile (the discard has run). */
bool s3__pipe_job_back(struct s3_pipe *g);
/* Enter DISCARD with @rv, unless DISCARD or DONE was entered before. */
void s3__pipe_fail(struct s3_pipe *g, int rv);
/* From discard_run: the discard's own pool job; @done starts with
 * s3__pipe_discard_back. */
void s3__pipe_discard_submit(struct s3_pipe *g, gw_pool_work_cb work, gw_pool_done_cb done);
void s3__pipe_discard_back(struct s3_pipe *g);

#endif
