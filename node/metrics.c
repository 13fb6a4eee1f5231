/* node/metrics: the counters behind /metrics.
 *
 * Families: unigw_http_requests_total{op,code}, unigw_http_request_duration_seconds
 * (histogram with the Prometheus default buckets, by op),
 * unigw_http_received_bytes_total{op}, unigw_http_sent_bytes_total{op} and the
 * unigw_http_open_connections gauge; node_metrics_meta_render adds
 * unigw_meta_apply_failures_total{command}, which meta counts itself; the
 * cache families unigw_cache_* (from the registered cache's stats, zero
 * without one) and unigw_mount_read_bytes_total.  Operation names come from
 * handlers (string literals in practice), so the table is small and fixed; an
 * unexpected flood of names lands in "other" instead of growing memory. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/arena.h"

#include "cache.h"
#include "metrics.h"

static const double bucket_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5,   1.0,  2.5,   5.0,  10.0};
#define N_BUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

struct code_count {
    int code;
    uint64_t n;
};

struct op_stats {
    char name[64];
    struct code_count codes[NODE_METRICS_MAX_CODES];
    size_t n_codes;
    uint64_t buckets[N_BUCKETS]; /* non-cumulative; rendered cumulative */
    uint64_t count;
    double sum_s;
    uint64_t bytes_in;
    uint64_t bytes_out;
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct op_stats metrics_ops[NODE_METRICS_MAX_OPS + 1]; /* + "other" */
static size_t metrics_n_ops;
static int64_t metrics_open_conns;
static struct node_cache *metrics_cache;
static uint64_t metrics_proxied_bytes;
static uint64_t metrics_redirects;
static uint64_t metrics_mount_read_bytes;

/* The stats slot of @op; the caller holds the mutex. */
static struct op_stats *find_op(const char *op)
{
    struct op_stats *s;

    for (size_t i = 0; i < metrics_n_ops; i++) {
        if (strcmp(metrics_ops[i].name, op) == 0) {
            return &metrics_ops[i];
        }
    }
    if (metrics_n_ops == NODE_METRICS_MAX_OPS) {
        s = &metrics_ops[NODE_METRICS_MAX_OPS];
        snprintf(s->name, sizeof s->name, "other");
        return s;
    }
    s = &metrics_ops[metrics_n_ops++];
    snprintf(s->name, sizeof s->name, "%s", op);
    return s;
}

/* Count @status; once all but one slot are taken, unseen codes share code 0. */
static void count_code(struct op_stats *s, int status)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < s->n_codes; i++) {
            if (s->codes[i].code == status) {
                s->codes[i].n++;
                return;
            }
        }
        if (s->n_codes < NODE_METRICS_MAX_CODES - 1 || status == 0) {
            break;
        }
        status = 0;
    }
    s->codes[s->n_codes].code = status;
    s->codes[s->n_codes].n = 1;
    s->n_codes++;
}

void node_metrics_request(const char *op, int status, uint64_t bytes_in, uint64_t bytes_out,
                          uint64_t duration_ns)
{
    double secs = (double)duration_ns / 1e9;
    struct op_stats *s;
    size_t b = 0;

    while (b < N_BUCKETS && secs > bucket_bounds[b]) {
        b++;
    }
    pthread_mutex_lock(&metrics_mu);
    s = find_op(op != NULL ? op : "unknown");
    count_code(s, status);
    if (b < N_BUCKETS) {
        s->buckets[b]++;
    }
    s->count++;
    s->sum_s += secs;
    s->bytes_in += bytes_in;
    s->bytes_out += bytes_out;
    pthread_mutex_unlock(&metrics_mu);
}

void node_metrics_conn_add(int delta)
{
    pthread_mutex_lock(&metrics_mu);
    metrics_open_conns += delta;
    pthread_mutex_unlock(&metrics_mu);
}

void node_metrics_set_cache(struct node_cache *c)
{
    pthread_mutex_lock(&metrics_mu);
    metrics_cache = c;
    pthread_mutex_unlock(&metrics_mu);
}

/* Add @n to the counter @v under the mutex. */
static void counter_add(uint64_t *v, uint64_t n)
{
    pthread_mutex_lock(&metrics_mu);
    *v += n;
    pthread_mutex_unlock(&metrics_mu);
}

void node_metrics_cache_proxied(uint64_t bytes)
{
    counter_add(&metrics_proxied_bytes, bytes);
}

void node_metrics_cache_redirect(void)
{
    counter_add(&metrics_redirects, 1);
}

void node_metrics_mount_read(uint64_t bytes)
{
    counter_add(&metrics_mount_read_bytes, bytes);
}

void node_metrics_reset(void)
{
    pthread_mutex_lock(&metrics_mu);
    memset(metrics_ops, 0, sizeof metrics_ops);
    metrics_n_ops = 0;
    metrics_open_conns = 0;
    metrics_proxied_bytes = 0;
    metrics_redirects = 0;
    metrics_mount_read_bytes = 0;
    pthread_mutex_unlock(&metrics_mu);
}

static size_t n_slots(void)
{
    return metrics_n_ops + (metrics_ops[NODE_METRICS_MAX_OPS].count > 0 ? 1 : 0);
}

static const struct op_stats *slot(size_t i)
{
    return i < metrics_n_ops ? &metrics_ops[i] : &metrics_ops[NODE_METRICS_MAX_OPS];
}

static void render_requests(struct gw_buf *out)
{
    gw_buf_append_c(out, "# HELP unigw_http_requests_total HTTP requests by operation and status.\n"
                         "# TYPE unigw_http_requests_total counter\n");
    for (size_t i = 0; i < n_slots(); i++) {
        const struct op_stats *s = slot(i);

        for (size_t j = 0; j < s->n_codes; j++) {
            gw_buf_printf(out, "unigw_http_requests_total{op=\"%s\",code=\"%d\"} %llu\n",
                          s->name, s->codes[j].code, (unsigned long long)s->codes[j].n);
        }
    }
}

static void render_histogram(struct gw_buf *out)
{
    gw_buf_append_c(out, "# HELP unigw_http_request_duration_seconds Request duration.\n"
                         "# TYPE unigw_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n_slots(); i++) {
        const struct op_stats *s = slot(i);
        uint64_t cum = 0;

        for (size_t b = 0; b < N_BUCKETS; b++) {
            cum += s->buckets[b];
            gw_buf_printf(out,
                          "unigw_http_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n",
                          s->name, bucket_bounds[b], (unsigned long long)cum);
        }
        gw_buf_printf(out,
                      "unigw_http_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n"
                      "unigw_http_request_duration_seconds_sum{op=\"%s\"} %.6f\n"
                      "unigw_http_request_duration_seconds_count{op=\"%s\"} %llu\n",
                      s->name, (unsigned long long)s->count, s->name, s->sum_s, s->name,
                      (unsigned long long)s->count);
    }
}

static void render_bytes(struct gw_buf *out, const char *name, const char *help, bool is_in)
{
    gw_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n_slots(); i++) {
        const struct op_stats *s = slot(i);

        gw_buf_printf(out, "%s{op=\"%s\"} %llu\n", name, s->name,
                      (unsigned long long)(is_in ? s->bytes_in : s->bytes_out));
    }
}

static void render_one(struct gw_buf *out, const char *name, const char *type, const char *help,
                       uint64_t v)
{
    gw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  (unsigned long long)v);
}

/* The cache families; the caller holds the mutex (lock order: metrics, then cache). */
static void render_cache(struct gw_buf *out)
{
    struct node_cache_stats st;

    memset(&st, 0, sizeof st);
    if (metrics_cache != NULL) {
        node_cache_stats(metrics_cache, &st);
    }
    render_one(out, "unigw_cache_hits_total", "counter", "Cache lookups answered from memory.",
               st.hits);
    render_one(out, "unigw_cache_misses_total", "counter",
               "Cache lookups not answered (stale ones included).", st.misses);
    render_one(out, "unigw_cache_bytes", "gauge",
               "Bytes the cache holds, per-entry overhead and index included.", st.bytes);
    render_one(out, "unigw_cache_size_bytes", "gauge", "The cache's bound ([cache] size).",
               st.size);
    render_one(out, "unigw_cache_objects", "gauge", "Objects in the cache.", st.objects);
    render_one(out, "unigw_cache_evictions_total", "counter", "Objects evicted to make room.",
               st.evictions);
    render_one(out, "unigw_cache_stale_total", "counter",
               "Cached objects dropped because the file changed.", st.stale);
    render_one(out, "unigw_cache_admissions_total", "counter", "Objects admitted to the cache.",
               st.admissions);
    render_one(out, "unigw_cache_hit_bytes_total", "counter",
               "Body bytes of the objects cache hits returned.", st.hit_bytes);
    render_one(out, "unigw_cache_proxied_bytes_total", "counter",
               "Body bytes streamed from an owner's memory for this node's clients.",
               metrics_proxied_bytes);
    render_one(out, "unigw_cache_redirects_total", "counter", "GETs redirected to an owner.",
               metrics_redirects);
    render_one(out, "unigw_mount_read_bytes_total", "counter",
               "Body bytes of GETs read from the mount.", metrics_mount_read_bytes);
}

void node_metrics_render(struct gw_buf *out)
{
    pthread_mutex_lock(&metrics_mu);
    render_requests(out);
    render_histogram(out);
    render_bytes(out, "unigw_http_received_bytes_total", "Request bytes received.", true);
    render_bytes(out, "unigw_http_sent_bytes_total", "Response bytes sent.", false);
    gw_buf_printf(out,
                  "# HELP unigw_http_open_connections Open client connections.\n"
                  "# TYPE unigw_http_open_connections gauge\n"
                  "unigw_http_open_connections %lld\n",
                  (long long)metrics_open_conns);
    render_cache(out);
    pthread_mutex_unlock(&metrics_mu);
}

void node_metrics_meta_render(struct meta *m, struct gw_buf *out)
{
    gw_buf_append_c(out, "# HELP unigw_meta_apply_failures_total Log entries whose apply failed "
                         "deterministically (skipped alike on every replica, answered 500).\n"
                         "# TYPE unigw_meta_apply_failures_total counter\n");
    for (uint16_t t = 1; t <= META_CMD__MAX; t++) {
        gw_buf_printf(out, "unigw_meta_apply_failures_total{command=\"%s\"} %llu\n",
                      meta_cmd_type_name(t), (unsigned long long)meta_apply_failures(m, t));
    }
}

static void buf_free_cb(void *arg)
{
    gw_buf_free(arg);
}

static void respond_done_cb(struct s3_exchange *x, int rv, void *arg)
{
    s3_resp_end(x);
}

void node_metrics_respond(struct s3_exchange *x)
{
    node_metrics_respond_with(x, NULL, NULL);
}

void node_metrics_respond_with(struct s3_exchange *x, void (*extra)(void *arg, struct gw_buf *out),
                               void *arg)
{
    struct gw_buf *b = gw_arena_zalloc(x->arena, sizeof *b);
    struct s3_header h = {GW_STR("content-type"), GW_STR("text/plain; version=0.0.4")};

    if (x->op_name == NULL) {
        x->op_name = "Metrics";
    }
    gw_arena_defer(x->arena, buf_free_cb, b);
    node_metrics_render(b);
    if (extra != NULL) {
        extra(arg, b);
    }
    s3_resp_start(x, 200, &h, 1, (int64_t)b->len);
    if (s3_resp_write(x, b->data, b->len, respond_done_cb, NULL) != 0) {
        s3_resp_end(x);
    }
}
