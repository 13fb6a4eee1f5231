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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(jobs_complete_on_loop)};
    return cmocka_run_group_tests_name("common/pool", tests, NULL, NULL);
}
