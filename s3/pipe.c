/* The write pipelines' guard: see s3/pipe.h. */
#include <assert.h>

#include "pipe.h"

void s3__pipe_init(struct s3_pipe *g, struct gw_pool_loop *pool, int initial, int discard,
                   void *owner, void (*discard_run)(void *owner))
{
    g->pool = pool;
    g->state = initial;
    g->discard = discard;
    g->n_jobs = 0;
    g->rv = 0;
    g->owner = owner;
    g->discard_run = discard_run;
}

void s3__pipe_submit(struct s3_pipe *g, gw_pool_work_cb work, gw_pool_done_cb done)
{
    assert(g->n_jobs == 0 && g->state < g->discard);
    g->n_jobs++;
    gw_pool_submit(g->pool, &g->job, work, done, g->owner);
}

bool s3__pipe_job_back(struct s3_pipe *g)
{
    assert(g->n_jobs == 1);
    g->n_jobs--;
    if (g->state == g->discard) {
        g->discard_run(g->owner);
        return false;
    }
    return true;
}

void s3__pipe_fail(struct s3_pipe *g, int rv)
{
    if (g->state >= g->discard) {
        return;
    }
    g->state = g->discard;
    g->rv = rv;
    if (g->n_jobs == 0) {
        g->discard_run(g->owner); /* else the running job's completion does */
    }
}

void s3__pipe_discard_submit(struct s3_pipe *g, gw_pool_work_cb work, gw_pool_done_cb done)
{
    assert(g->state == g->discard && g->n_jobs == 0);
    g->n_jobs++;
    gw_pool_submit(g->pool, &g->job, work, done, g->owner);
}

void s3__pipe_discard_back(struct s3_pipe *g)
{
    assert(g->state == g->discard && g->n_jobs == 1);
    g->n_jobs--;
}
