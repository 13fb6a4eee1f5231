/* Unit tests for meta/proposer.c: the local proposer's async contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"
#include "meta_test.h"

struct done {
    bool in_propose; /* set while propose runs: the callback must not see it */
    int n_calls;
    int rv;
    int result;
    struct meta_local_proposer *lp; /* for proposing from a callback */
    struct done *next;              /* ...this one */
    struct gw_buf *next_cmd;
};

static void done_cb(void *arg, int rv, int result)
{
    struct done *d = arg;

    assert_false(d->in_propose);
    d->n_calls++;
    d->rv = rv;
    d->result = result;
    if (d->next != NULL) {
        assert_int_equal(meta_propose(&d->lp->base, d->next_cmd, done_cb, d->next), 0);
    }
}

static void closed_cb(struct meta_local_proposer *lp)
{
    lp->m = NULL; /* marks the close callback as run */
}

static void user_cmd(struct gw_buf *b, const char *name)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);

    gw_buf_reset(b);
    assert_int_equal(meta_cmd_user_create(b, &h, gw_str_c(name), false), 0);
}

/* Callbacks fire later, in order, with apply outcomes; indexes continue from
 * the stored last index. */
static void proposer_applies_later(void **state)
{
    struct meta_local_proposer lp;
    struct gw_buf b = GW_BUF_INIT;
    struct done d1 = {0}, d2 = {0};
    uv_loop_t loop;
    struct mt t;
    uint64_t idx = 0;
    bool flag = false;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "first", false), 0);
    assert_int_equal(mt_user(&t, "second", false), 0); /* last index 2 */
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(meta_local_proposer_init(&lp, &loop, t.m), 0);

    user_cmd(&b, "alice");
    d1.in_propose = true;
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, &d1), 0);
    d1.in_propose = false;
    gw_buf_free(&b); /* the proposer copied it */
    user_cmd(&b, "alice");
    d2.in_propose = true;
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, &d2), 0);
    d2.in_propose = false;
    assert_int_equal(d1.n_calls, 0);

    for (int i = 0; i < 10 && d2.n_calls == 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(d1.n_calls, 1);
    assert_int_equal(d1.rv, 0);
    assert_int_equal(d1.result, GW_OK);
    assert_int_equal(d2.n_calls, 1);
    assert_int_equal(d2.result, GW_ERR_EXISTS);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 4);

    meta_local_proposer_close(&lp, closed_cb);
    tl_run_until(&loop, &flag, 5);
    assert_null(lp.m);
    tl_loop_close(&loop);
    gw_buf_free(&b);
    mt_close(&t);
}

/* A command proposed from a callback also completes on a later iteration. */
static void proposer_propose_from_callback(void **state)
{
    struct meta_local_proposer lp;
    struct gw_buf b1 = GW_BUF_INIT, b2 = GW_BUF_INIT;
    struct done d1 = {0}, d2 = {0};
    uv_loop_t loop;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(meta_local_proposer_init(&lp, &loop, t.m), 0);
    user_cmd(&b1, "a");
    user_cmd(&b2, "b");
    d1.lp = &lp;
    d1.next = &d2;
    d1.next_cmd = &b2;
    assert_int_equal(meta_propose(&lp.base, &b1, done_cb, &d1), 0);
    uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(d1.n_calls, 1);
    assert_int_equal(d2.n_calls, 0); /* not inside the first round */
    for (int i = 0; i < 10 && d2.n_calls == 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(d2.n_calls, 1);
    assert_int_equal(d2.result, GW_OK);
    meta_local_proposer_close(&lp, NULL);
    tl_loop_close(&loop);
    gw_buf_free(&b1);
    gw_buf_free(&b2);
    mt_close(&t);
}

/* Close cancels what is queued, exactly once; later proposals fail at once. */
static void proposer_close_cancels(void **state)
{
    struct meta_local_proposer lp;
    struct gw_buf b = GW_BUF_INIT;
    struct done d1 = {0}, d2 = {0};
    struct meta_user u;
    uv_loop_t loop;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(meta_local_proposer_init(&lp, &loop, t.m), 0);
    user_cmd(&b, "alice");
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, &d1), 0);
    meta_local_proposer_close(&lp, closed_cb);
    assert_int_equal(d1.n_calls, 0);
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, &d2), GW_ERR_CANCELED);
    tl_loop_close(&loop);
    assert_int_equal(d1.n_calls, 1);
    assert_int_equal(d1.rv, GW_ERR_CANCELED);
    assert_int_equal(d2.n_calls, 0);
    assert_null(lp.m);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), GW_ERR_NOT_FOUND);
    gw_buf_free(&b);
    mt_close(&t);
}

static int fail_user_create(void *arg, const struct meta_cmd *c)
{
    (void)arg;
    return c->type == META_CMD_USER_CREATE ? GW_ERR_INVALID : GW_OK;
}

/* A deterministic apply failure reaches the proposer as the result INTERNAL
 * (rv 0: it was applied, as a refusal), and the next command gets the next
 * index: the failed entry took its own. */
static void proposer_apply_failure_is_a_result(void **state)
{
    struct meta_local_proposer lp;
    struct gw_buf b = GW_BUF_INIT;
    struct done d1 = {0}, d2 = {0};
    struct meta_user u;
    uv_loop_t loop;
    struct mt t;
    uint64_t idx = 0;

    (void)state;
    mt_open(&t);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(meta_local_proposer_init(&lp, &loop, t.m), 0);
    t.m->fault = fail_user_create;
    user_cmd(&b, "alice");
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, &d1), 0);
    for (int i = 0; i < 10 && d1.n_calls == 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(d1.n_calls, 1);
    assert_int_equal(d1.rv, GW_OK);
    assert_int_equal(d1.result, GW_ERR_INTERNAL);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), GW_ERR_NOT_FOUND);
    t.m->fault = NULL;
    assert_int_equal(meta_propose(&lp.base, &b, done_cb, &d2), 0);
    for (int i = 0; i < 10 && d2.n_calls == 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(d2.result, GW_OK);
    assert_int_equal(meta_applied_index(t.m, &idx), 0);
    assert_int_equal(idx, 2);
    meta_local_proposer_close(&lp, NULL);
    tl_loop_close(&loop);
    gw_buf_free(&b);
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proposer_applies_later),
        cmocka_unit_test(proposer_propose_from_callback),
        cmocka_unit_test(proposer_close_cancels),
        cmocka_unit_test(proposer_apply_failure_is_a_result),
    };
    return cmocka_run_group_tests_name("meta/proposer", tests, NULL, NULL);
}
