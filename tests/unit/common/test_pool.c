/* Unit tests for common/pool.c: work runs off the loop thread, done runs on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "loop.h"
#include "unigw/pool.h"

struct job {
    struct gw_pool_job pj;
    pthread_t worker;
    int *n_done;
};

static void work_cb(struct gw_pool_job *pj)
{
    struct job *j = pj->data;
    j->worker = pthread_self();
}

static void done_cb(struct gw_pool_job *pj)
{
    struct job *j = pj->data;

    assert_false(pthread_equal(j->worker, pthread_self()));
    (*j->n_done)++;
}

static void jobs_complete_on_loop(void **state)
{
    uv_loop_t loop;
    struct gw_pool *p = NULL;
    struct gw_pool_loop *pl = NULL;
    struct job jobs[100];
    int n_done = 0;
    bool all = false;

    (void)state;
    uv_loop_init(&loop);
    assert_int_equal(gw_pool_create(4, &p), 0);
    assert_int_equal(gw_pool_loop_create(p, &loop, &pl), 0);
    for (int i = 0; i < 100; i++) {
        jobs[i].n_done = &n_done;
        gw_pool_submit(pl, &jobs[i].pj, work_cb, done_cb, &jobs[i]);
    }
    assert_int_equal(n_done, 0); /* never inside the call */
    for (int i = 0; i < 100000 && n_done < 100; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    all = n_done == 100;
    assert_true(all);
    gw_pool_loop_close(pl);
    tl_loop_close(&loop);
    gw_pool_destroy(p);
}

struct mjob {
    struct gw_pool_job pj;
    int id;
    int *order;
    int *n;
    struct gw_pool_loop *pl;
    struct mjob *then; /* submitted from done */
};

static void mwork_cb(struct gw_pool_job *pj)
{
    struct mjob *j = pj->data;

    j->order[(*j->n)++] = j->id;
}

static void mdone_cb(struct gw_pool_job *pj)
{
    struct mjob *j = pj->data;

    j->order[(*j->n)++] = -j->id;
    if (j->then != NULL) {
        gw_pool_submit(j->pl, &j->then->pj, mwork_cb, mdone_cb, j->then);
    }
}

/* A manual attachment runs nothing until told, then the job the test picks:
 * its work, then its done, which may submit more. */
static void manual_runs_when_told(void **state)
{
    struct gw_pool_loop *pl = NULL;
    int order[8] = {0};
    int n = 0;
    struct mjob j[3] = {{.id = 1}, {.id = 2}, {.id = 3}};

    (void)state;
    assert_int_equal(gw_pool_manual_create(&pl), 0);
    for (int i = 0; i < 3; i++) {
        j[i].order = order;
        j[i].n = &n;
        j[i].pl = pl;
    }
    j[1].then = &j[2];
    gw_pool_submit(pl, &j[0].pj, mwork_cb, mdone_cb, &j[0]);
    gw_pool_submit(pl, &j[1].pj, mwork_cb, mdone_cb, &j[1]);
    assert_int_equal(n, 0);
    assert_int_equal(gw_pool_manual_n_queued(pl), 2);
    assert_ptr_equal(gw_pool_manual_job(pl, 1), &j[1].pj);
    gw_pool_manual_run(pl, 1); /* the younger one first */
    assert_int_equal(gw_pool_manual_n_queued(pl), 2);
    assert_ptr_equal(gw_pool_manual_job(pl, 0), &j[0].pj);
    assert_ptr_equal(gw_pool_manual_job(pl, 1), &j[2].pj);
    gw_pool_manual_run(pl, 1);
    gw_pool_manual_run(pl, 0);
    assert_int_equal(gw_pool_manual_n_queued(pl), 0);
    assert_int_equal(n, 6);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], -2);
    assert_int_equal(order[2], 3);
    assert_int_equal(order[3], -3);
    assert_int_equal(order[4], 1);
    assert_int_equal(order[5], -1);
    gw_pool_manual_destroy(pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(jobs_complete_on_loop),
                                       cmocka_unit_test(manual_runs_when_told)};
    return cmocka_run_group_tests_name("common/pool", tests, NULL, NULL);
}
