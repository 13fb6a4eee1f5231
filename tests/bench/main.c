/* unigw-bench: threads and phases (see bench.h for the pieces, README.md for the use).
 *
 * Happy path: parse the command line, note the load average (a warning when the machine is
 * busier than its core count before the run), make the random body buffer, start one
 * worker thread per --threads, and let every worker run CONNECT, SETUP, PREPARE and
 * MEASURE in step, a barrier after each; then DRAIN, merge the statistics and print the
 * table, or the JSON on stdout and the table on stderr.
 *
 * Exit status: 0 when every measured request succeeded, 1 when some failed (they are in
 * the report), 2 when the run could not be made (bad command line, a server that cannot be
 * reached, a failed setup or prepare request: one line on stderr, no report). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "bench.h"

#define BODY_BUF_LEN (1u << 20)

static const enum bench_phase phases[] = {BENCH_PHASE_CONNECT, BENCH_PHASE_SETUP,
                                          BENCH_PHASE_PREPARE, BENCH_PHASE_MEASURE};

static void worker_main(void *arg)
{
    struct bench_worker *w = arg;

    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
        if (!atomic_load(&w->run->is_failed)) {
            bench_worker_phase(w, phases[i]);
        }
        uv_barrier_wait(&w->run->barrier);
    }
    bench_worker_phase(w, BENCH_PHASE_DRAIN);
}

/* Random bytes (the seed's), so that no layer can compress or deduplicate the bodies. */
static char *body_make(uint64_t seed)
{
    char *buf = gw_malloc(BODY_BUF_LEN);
    uint64_t state = (seed + 1) * 0xD1B54A32D192ED03ULL;

    for (size_t i = 0; i < BODY_BUF_LEN; i += 8) {
        uint64_t v = bench_rand(&state);

        memcpy(buf + i, &v, 8);
    }
    return buf;
}

static void machine_before(struct bench_machine *m)
{
    memset(m, 0, sizeof *m);
    m->n_cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (bench_loadavg(m->load_before) && m->load_before[0] > (double)m->n_cores) {
        m->is_busy = true;
        fprintf(stderr,
                "unigw-bench: warning: load average %.2f %.2f %.2f on %ld cores: the machine "
                "is busy, the figures will be noisy\n",
                m->load_before[0], m->load_before[1], m->load_before[2], m->n_cores);
    }
}

/* Run every worker to the end; false (after printing why) when one could not go on. */
static bool run_workers(struct bench_run *run, struct bench_worker *w, unsigned n)
{
    bool ok = true;
    unsigned n_started = 0;

    for (unsigned i = 0; i < n; i++) {
        if (bench_worker_init(&w[i], run, i) != 0) {
            fprintf(stderr, "unigw-bench: uv_loop_init failed\n");
            exit(2); /* nothing runs yet: nothing to unwind that the exit does not */
        }
    }
    for (; n_started < n; n_started++) {
        if (uv_thread_create(&w[n_started].thread, worker_main, &w[n_started]) != 0) {
            fprintf(stderr, "unigw-bench: cannot start thread %u\n", n_started);
            abort(); /* the others wait at the barrier for it */
        }
    }
    for (unsigned i = 0; i < n; i++) {
        uv_thread_join(&w[i].thread);
    }
    for (unsigned i = 0; i < n && ok; i++) {
        if (w[i].fatal[0] != '\0') {
            fprintf(stderr, "unigw-bench: %s\n", w[i].fatal); /* the others say the same */
            ok = false;
        }
    }
    return ok;
}

static void summarize(struct bench_summary *s, struct bench_worker *w, unsigned n)
{
    uint64_t begin = UINT64_MAX, end = 0;

    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        bench_hist_init(&s->stats[i].hist);
    }
    for (unsigned i = 0; i < n; i++) {
        bench_summary_add(s, &w[i]);
        begin = w[i].t_begin < begin ? w[i].t_begin : begin;
        end = w[i].t_end > end ? w[i].t_end : end;
    }
    s->elapsed_s = end > begin ? (double)(end - begin) / 1e9 : 0;
    bench_loadavg(s->machine.load_after);
}

static int report(const struct bench_summary *s)
{
    uint64_t n_err = 0;

    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        n_err += s->stats[i].n_err;
    }
    if (s->cfg->is_json) {
        bench_report_table(s, stderr);
        if (bench_report_json(s, stdout) != 0) {
            fprintf(stderr, "unigw-bench: out of memory writing the JSON\n");
            return 2;
        }
    } else {
        bench_report_table(s, stdout);
    }
    return n_err > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct bench_cfg cfg;
    static struct bench_summary summary;
    struct bench_run run;
    struct bench_worker *workers;
    char *body;
    int rv;

    rv = bench_opts_parse(argc, argv, &cfg);
    if (rv != 0) {
        return rv == 2 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a reset connection is an error of its request, not a death */
    machine_before(&summary.machine);
    summary.cfg = &cfg;
    body = body_make(cfg.seed);
    memset(&run, 0, sizeof run);
    run.cfg = &cfg;
    run.body = (struct bench_body){body, BODY_BUF_LEN};
    atomic_init(&run.n_issued, 0);
    atomic_init(&run.is_failed, false);
    uv_barrier_init(&run.barrier, cfg.n_threads);
    workers = gw_calloc(cfg.n_threads, sizeof *workers);
    rv = run_workers(&run, workers, cfg.n_threads) ? 0 : 2;
    if (rv == 0) {
        summarize(&summary, workers, cfg.n_threads);
        rv = report(&summary);
    }
    for (unsigned i = 0; i < cfg.n_threads; i++) {
        bench_worker_close(&workers[i]);
    }
    uv_barrier_destroy(&run.barrier);
    gw_free(workers);
    gw_free(body);
    return rv;
}
