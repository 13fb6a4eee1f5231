/* The report of unigw-bench: per op throughput, bytes/s and latency percentiles, as a
 * table for people and as one JSON object for scripts (tests/bench/run.sh, the smoke test).
 *
 * Rates are over the measured phase (first start to last answer over all workers);
 * latencies are of the successful requests only, in milliseconds, read from the merged
 * histograms (0.8 % resolution).  Ops that never ran are left out of both forms.
 *
 * Failure modes: the JSON builder can run out of memory (GW_ERR_NOMEM); the table cannot
 * fail. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "unigw/err.h"
#include "bench.h"

static const struct {
    const char *name;
    double q;
} quantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p99.9", 0.999}};

#define N_QUANTILES (sizeof quantiles / sizeof quantiles[0])

bool bench_loadavg(double load[3])
{
    FILE *f = fopen("/proc/loadavg", "r");
    bool ok;

    if (f == NULL) {
        return false;
    }
    ok = fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3;
    fclose(f);
    return ok;
}

void bench_summary_add(struct bench_summary *s, const struct bench_worker *w)
{
    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        struct bench_stat *d = &s->stats[i];
        const struct bench_stat *from = &w->stats[i];

        d->n_ok += from->n_ok;
        d->n_err += from->n_err;
        d->bytes += from->bytes;
        bench_hist_merge(&d->hist, &from->hist);
        if (d->first_err[0] == '\0' && from->first_err[0] != '\0') {
            d->first_err_status = from->first_err_status;
            memcpy(d->first_err, from->first_err, sizeof d->first_err);
        }
    }
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double per_s(const struct bench_summary *s, double v)
{
    return s->elapsed_s > 0 ? v / s->elapsed_s : 0;
}

static void table_header(const struct bench_summary *s, FILE *out)
{
    const struct bench_cfg *cfg = s->cfg;
    char sizes[160];

    bench_dist_describe(&cfg->sizes, sizes, sizeof sizes);
    fprintf(out,
            "unigw-bench: %s, %u connections on %u threads to %zu target%s, size %s, sign %s%s,"
            " %.2f s measured\n",
            bench_workload_name(cfg->workload), cfg->n_conns, cfg->n_threads, cfg->n_targets,
            cfg->n_targets == 1 ? "" : "s", sizes, bench_sign_name(cfg->sign),
            cfg->sign == BENCH_SIGN_HEADER && cfg->payload == BENCH_PAYLOAD_SHA256 ? " (sha256)"
                                                                                : "",
            s->elapsed_s);
    fprintf(out, "%-13s %10s %7s %11s %10s %9s %9s %9s %9s %9s %9s\n", "op", "ops", "errors",
            "ops/s", "MiB/s", "mean ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
}

void bench_report_table(const struct bench_summary *s, FILE *out)
{
    table_header(s, out);
    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        const struct bench_stat *st = &s->stats[i];
        const struct bench_hist *h = &st->hist;

        if (st->n_ok + st->n_err == 0) {
            continue;
        }
        fprintf(out, "%-13s %10llu %7llu %11.1f %10.1f %9.3f", bench_op_name((enum bench_op)i),
                (unsigned long long)st->n_ok, (unsigned long long)st->n_err,
                per_s(s, (double)st->n_ok), per_s(s, (double)st->bytes) / 1048576.0,
                h->n > 0 ? ms(h->sum) / (double)h->n : 0.0);
        for (size_t q = 0; q < N_QUANTILES; q++) {
            fprintf(out, " %9.3f", ms(bench_hist_quantile(h, quantiles[q].q)));
        }
        fprintf(out, " %9.3f\n", ms(h->n > 0 ? h->max : 0));
    }
    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        if (s->stats[i].n_err > 0) {
            fprintf(out, "%s: %llu errors; the first: %s\n", bench_op_name((enum bench_op)i),
                    (unsigned long long)s->stats[i].n_err, s->stats[i].first_err);
        }
    }
    if (s->machine.is_busy && out != stderr) { /* main warned on stderr already */
        fprintf(out, "warning: load average %.2f on %ld cores before the run: the machine was "
                     "busy, the figures are noisy\n",
                s->machine.load_before[0], s->machine.n_cores);
    }
}

/* jansson's json_object_set_new with a NULL value fails cleanly, so a failed allocation
 * anywhere shows up as one failed set; @ok collects them. */
static void set(json_t *o, const char *k, json_t *v, bool *ok)
{
    if (json_object_set_new(o, k, v) != 0) {
        *ok = false;
    }
}

static json_t *latency_json(const struct bench_hist *h, bool *ok)
{
    json_t *o = json_object();

    set(o, "min", json_real(ms(h->n > 0 ? h->min : 0)), ok);
    set(o, "mean", json_real(h->n > 0 ? ms(h->sum) / (double)h->n : 0), ok);
    for (size_t q = 0; q < N_QUANTILES; q++) {
        set(o, quantiles[q].name, json_real(ms(bench_hist_quantile(h, quantiles[q].q))), ok);
    }
    set(o, "max", json_real(ms(h->n > 0 ? h->max : 0)), ok);
    return o;
}

static json_t *op_json(const struct bench_summary *s, enum bench_op op, bool *ok)
{
    const struct bench_stat *st = &s->stats[op];
    json_t *o = json_object();

    set(o, "op", json_string(bench_op_name(op)), ok);
    set(o, "ops", json_integer((json_int_t)st->n_ok), ok);
    set(o, "errors", json_integer((json_int_t)st->n_err), ok);
    set(o, "ops_per_s", json_real(per_s(s, (double)st->n_ok)), ok);
    set(o, "bytes", json_integer((json_int_t)st->bytes), ok);
    set(o, "bytes_per_s", json_real(per_s(s, (double)st->bytes)), ok);
    set(o, "latency_ms", latency_json(&st->hist, ok), ok);
    if (st->n_err > 0) {
        set(o, "first_error", json_string(st->first_err), ok);
        set(o, "first_error_status", json_integer(st->first_err_status), ok);
    }
    return o;
}

static json_t *load_json(const double v[3], bool *ok)
{
    json_t *a = json_array();

    for (size_t i = 0; i < 3; i++) {
        if (json_array_append_new(a, json_real(v[i])) != 0) {
            *ok = false;
        }
    }
    return a;
}

static json_t *config_json(const struct bench_cfg *cfg, bool *ok)
{
    json_t *o = json_object(), *targets = json_array();
    char sizes[160];

    for (size_t i = 0; i < cfg->n_targets; i++) {
        if (json_array_append_new(targets, json_string(cfg->targets[i].hostport)) != 0) {
            *ok = false;
        }
    }
    bench_dist_describe(&cfg->sizes, sizes, sizeof sizes);
    set(o, "workload", json_string(bench_workload_name(cfg->workload)), ok);
    set(o, "targets", targets, ok);
    set(o, "connections", json_integer(cfg->n_conns), ok);
    set(o, "threads", json_integer(cfg->n_threads), ok);
    set(o, "duration_s", json_real((double)cfg->duration_ms / 1000.0), ok);
    set(o, "max_ops", json_integer((json_int_t)cfg->max_ops), ok);
    set(o, "size", json_string(sizes), ok);
    set(o, "objects", json_integer((json_int_t)cfg->n_objects), ok);
    set(o, "prefixes", json_integer(cfg->n_prefixes), ok);
    set(o, "sign", json_string(bench_sign_name(cfg->sign)), ok);
    set(o, "payload",
        json_string(cfg->payload == BENCH_PAYLOAD_SHA256 ? "sha256" : "unsigned"), ok);
    set(o, "bucket", json_string(cfg->bucket), ok);
    return o;
}

static json_t *machine_json(const struct bench_machine *m, bool *ok)
{
    json_t *o = json_object();

    set(o, "cores", json_integer(m->n_cores), ok);
    set(o, "loadavg_before", load_json(m->load_before, ok), ok);
    set(o, "loadavg_after", load_json(m->load_after, ok), ok);
    set(o, "busy", json_boolean(m->is_busy), ok);
    return o;
}

int bench_report_json(const struct bench_summary *s, FILE *out)
{
    const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9);
    json_t *root = json_object(), *ops = json_array();
    bool ok = root != NULL && ops != NULL;
    uint64_t n_err = 0;

    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        const struct bench_stat *st = &s->stats[i];

        n_err += st->n_err;
        if (st->n_ok + st->n_err > 0 &&
            json_array_append_new(ops, op_json(s, (enum bench_op)i, &ok)) != 0) {
            ok = false;
        }
    }
    set(root, "tool", json_string("unigw-bench"), &ok);
    set(root, "config", config_json(s->cfg, &ok), &ok);
    set(root, "machine", machine_json(&s->machine, &ok), &ok);
    set(root, "elapsed_s", json_real(s->elapsed_s), &ok);
    set(root, "errors", json_integer((json_int_t)n_err), &ok);
    set(root, "ops", ops, &ok);
    if (ok && json_dumpf(root, out, flags) != 0) {
        ok = false;
    }
    fputc('\n', out);
    json_decref(root);
    return ok ? GW_OK : GW_ERR_NOMEM;
}
