/* A worker of unigw-bench: one thread, one uv loop, its share of the connections.
 *
 * Happy path: main.c runs the phases on every worker in step (a barrier between phases):
 *   CONNECT  open every connection; the phase ends when all are IDLE;
 *   SETUP    worker 0 creates the bucket (--create-bucket);
 *   PREPARE  upload the worker's share of the objects the workload reads or deletes;
 *   MEASURE  every idle connection takes the next task until the deadline, the op budget
 *            or the work (delete: the objects) runs out, and the tasks in flight end;
 *   DRAIN    close everything, so that uv_loop_close returns 0.
 * A phase ends when no connection carries a task and none can be started: the loop is
 * stopped and the thread returns to main.  A 100 ms tick checks the deadline, the request
 * timeout, a failure elsewhere (run->is_failed), and reconnects after a failed connect.
 *
 * Failure modes: a connection that cannot be opened during CONNECT, or 50 failed
 * reconnects in a row later, a failed setup or prepare request: bench__worker_fatal keeps
 * the message, sets run->is_failed, and the phases end on every worker.  A connection the
 * server closes (keep-alive over) is reopened at once. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unigw/alloc.h"
#include "bench.h"

#define TICK_MS 100
#define MAX_CONNECT_FAILS 50

void bench__worker_fatal(struct bench_worker *w, const char *fmt, ...)
{
    va_list ap;

    if (w->fatal[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(w->fatal, sizeof w->fatal, fmt, ap);
        va_end(ap);
    }
    atomic_store(&w->run->is_failed, true);
    w->is_stopping = true;
}

/* Stop the loop once the phase has nothing in flight and nothing left to start. */
static void worker_maybe_end(struct bench_worker *w)
{
    if (w->n_busy == 0 && w->is_stopping) {
        uv_stop(&w->loop);
    }
}

/* Give the idle connection @c its next task, or note that the phase has none left. */
static void worker_feed(struct bench_worker *w, struct bench_conn *c)
{
    if (c->state != BENCH_CONN_IDLE || c->task.kind != BENCH_TASK_NONE) {
        return;
    }
    if (w->is_stopping || !bench__task_next(w, &c->task)) {
        c->task.kind = BENCH_TASK_NONE;
        w->is_stopping = true;
        worker_maybe_end(w);
        return;
    }
    w->n_busy++;
    bench__task_send(w, c);
}

void bench__worker_task_end(struct bench_worker *w, struct bench_conn *c)
{
    c->task.kind = BENCH_TASK_NONE;
    w->n_busy--;
    if (c->state == BENCH_CONN_IDLE) {
        worker_feed(w, c);
    }
    worker_maybe_end(w);
}

static bool all_idle(const struct bench_worker *w)
{
    for (size_t i = 0; i < w->n_conns; i++) {
        if (w->conns[i].state != BENCH_CONN_IDLE) {
            return false;
        }
    }
    return true;
}

void bench__worker_conn_ready(struct bench_worker *w, struct bench_conn *c)
{
    c->n_connect_fail = 0;
    if (w->phase == BENCH_PHASE_CONNECT) {
        if (all_idle(w)) {
            uv_stop(&w->loop);
        }
        return;
    }
    worker_feed(w, c);
}

void bench__worker_conn_closed(struct bench_worker *w, struct bench_conn *c)
{
    if (w->phase == BENCH_PHASE_DRAIN) {
        return;
    }
    if (c->connect_err != 0) {
        c->n_connect_fail++;
        if (w->phase == BENCH_PHASE_CONNECT || c->n_connect_fail >= MAX_CONNECT_FAILS) {
            bench__worker_fatal(w, "connect to %s: %s", c->target->hostport,
                                uv_strerror(c->connect_err));
            uv_stop(&w->loop);
        }
        return; /* the tick retries */
    }
    if (!w->is_stopping) {
        bench_conn_connect(c); /* the server ended keep-alive, or a request failed */
    }
}

static void tick_cb(uv_timer_t *t)
{
    struct bench_worker *w = t->data;
    uint64_t now = uv_hrtime();

    if (atomic_load(&w->run->is_failed)) {
        w->is_stopping = true;
        if (w->phase == BENCH_PHASE_CONNECT) {
            uv_stop(&w->loop);
        }
    }
    if (w->deadline != 0 && now >= w->deadline) {
        w->is_stopping = true;
    }
    for (size_t i = 0; i < w->n_conns; i++) {
        struct bench_conn *c = &w->conns[i];

        bench_conn_check_timeout(c, now - w->cfg->timeout_ms * 1000000ULL);
        if (c->state == BENCH_CONN_DOWN && !w->is_stopping && w->phase != BENCH_PHASE_CONNECT) {
            bench_conn_connect(c);
        }
    }
    worker_maybe_end(w);
}

/* Connections of worker @index: the global connection k belongs to worker k % n_threads and
 * goes to target k % n_targets, so every target gets its share whatever the thread count. */
static void worker_conns(struct bench_worker *w)
{
    const struct bench_cfg *cfg = w->cfg;
    size_t k = w->index;

    w->n_conns = cfg->n_conns / cfg->n_threads + (w->index < cfg->n_conns % cfg->n_threads);
    w->conns = gw_calloc(w->n_conns, sizeof *w->conns);
    for (size_t i = 0; i < w->n_conns; i++, k += cfg->n_threads) {
        bench_conn_init(&w->conns[i], w, &cfg->targets[k % cfg->n_targets]);
    }
}

static bool workload_prepares(const struct bench_cfg *cfg)
{
    return cfg->workload != BENCH_WL_PUT && cfg->workload != BENCH_WL_MULTIPART;
}

/* The worker's keys: ids index, index + n_threads, ... below n_objects; a mixed run gets
 * room for as many again (its PUTs fill empty slots, its DELETEs empty them). */
static void worker_slots(struct bench_worker *w)
{
    const struct bench_cfg *cfg = w->cfg;
    uint64_t n_local = 0;

    if (workload_prepares(cfg) && w->index < cfg->n_objects) {
        n_local = (cfg->n_objects - w->index + cfg->n_threads - 1) / cfg->n_threads;
    }
    w->n_slots = (size_t)n_local;
    if (cfg->workload == BENCH_WL_MIXED) {
        w->n_slots += (size_t)n_local + 2 * w->n_conns + 16;
    }
    w->slots = gw_calloc(w->n_slots > 0 ? w->n_slots : 1, sizeof *w->slots);
    for (size_t i = 0; i < w->n_slots; i++) {
        w->slots[i].id = i < n_local ? w->index + (uint64_t)i * cfg->n_threads : UINT64_MAX;
        w->slots[i].state = i < n_local && !cfg->is_prepare ? BENCH_SLOT_READY : BENCH_SLOT_EMPTY;
    }
    w->next_id = (workload_prepares(cfg) ? cfg->n_objects : 0) + w->index;
}

int bench_worker_init(struct bench_worker *w, struct bench_run *run, unsigned index)
{
    int rv;

    memset(w, 0, sizeof *w);
    w->index = index;
    w->run = run;
    w->cfg = run->cfg;
    rv = uv_loop_init(&w->loop);
    if (rv != 0) {
        return rv;
    }
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    w->rng = (run->cfg->seed + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)index + 1) << 32;
    for (int i = 0; i < 4; i++) {
        bench_rand(&w->rng);
    }
    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        bench_hist_init(&w->stats[i].hist);
    }
    worker_conns(w);
    worker_slots(w);
    return 0;
}

/* Start phase @p on every connection. */
static void phase_start(struct bench_worker *w, enum bench_phase p)
{
    w->phase = p;
    w->is_stopping = atomic_load(&w->run->is_failed);
    if (p == BENCH_PHASE_MEASURE) {
        w->t_begin = w->t_end = uv_hrtime();
        w->deadline = w->cfg->duration_ms > 0 ? w->t_begin + w->cfg->duration_ms * 1000000ULL : 0;
    }
    for (size_t i = 0; i < w->n_conns && !w->is_stopping; i++) {
        struct bench_conn *c = &w->conns[i];

        if (p == BENCH_PHASE_CONNECT || c->state == BENCH_CONN_DOWN) {
            bench_conn_connect(c);
        } else {
            worker_feed(w, c);
        }
    }
}

void bench_worker_phase(struct bench_worker *w, enum bench_phase p)
{
    if (p == BENCH_PHASE_DRAIN) {
        w->phase = p;
        uv_close((uv_handle_t *)&w->tick, NULL);
        for (size_t i = 0; i < w->n_conns; i++) {
            bench_conn_close(&w->conns[i]);
        }
        uv_run(&w->loop, UV_RUN_DEFAULT);
        return;
    }
    uv_timer_start(&w->tick, tick_cb, TICK_MS, TICK_MS);
    phase_start(w, p);
    /* always run: a uv_stop made while starting the phase is consumed here, not later */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&w->tick);
    if (p == BENCH_PHASE_MEASURE && w->t_end < w->t_begin) {
        w->t_end = w->t_begin;
    }
}

/* After DRAIN: every handle is closed, so the loop closes cleanly. */
void bench_worker_close(struct bench_worker *w)
{
    int rv = uv_loop_close(&w->loop);

    if (rv != 0) {
        fprintf(stderr, "unigw-bench: worker %u: uv_loop_close: %s\n", w->index, uv_strerror(rv));
    }
    for (size_t i = 0; i < w->n_conns; i++) {
        bench_conn_free(&w->conns[i]);
    }
    for (size_t i = 0; i < BENCH_HEAD_CACHE; i++) {
        gw_buf_free(&w->head_cache[i].head);
    }
    gw_free(w->conns);
    gw_free(w->slots);
    w->conns = NULL;
    w->slots = NULL;
}
