/* Tests of node/metrics: the Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "env.h" /* meta's private struct: its fault seam */
#include "loop.h"
#include "metrics.h"
#include "unigw/err.h"

static char *render(struct gw_buf *b)
{
    b->len = 0;
    node_metrics_render(b);
    gw_buf_append_byte(b, '\0');
    return b->data;
}

/* Counters, histogram buckets (cumulative) and the gauge. */
static void counters(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    char *t;

    (void)state;
    node_metrics_reset();
    node_metrics_request("GetObject", 200, 100, 5000, 3000000);   /* 3 ms */
    node_metrics_request("GetObject", 200, 100, 5000, 200000000); /* 200 ms */
    node_metrics_request("GetObject", 404, 100, 300, 1000000);
    node_metrics_request(NULL, 400, 10, 200, 1000);
    node_metrics_conn_add(3);
    node_metrics_conn_add(-1);
    t = render(&b);
    assert_non_null(strstr(t, "# TYPE unigw_http_requests_total counter\n"));
    assert_non_null(strstr(t, "# HELP unigw_http_requests_total "));
    assert_non_null(strstr(t, "unigw_http_requests_total{op=\"GetObject\",code=\"200\"} 2\n"));
    assert_non_null(strstr(t, "unigw_http_requests_total{op=\"GetObject\",code=\"404\"} 1\n"));
    assert_non_null(strstr(t, "unigw_http_requests_total{op=\"unknown\",code=\"400\"} 1\n"));
    assert_non_null(strstr(t, "# TYPE unigw_http_request_duration_seconds histogram\n"));
    assert_non_null(strstr(
        t, "unigw_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.005\"} 2\n"));
    assert_non_null(strstr(
        t, "unigw_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.1\"} 2\n"));
    assert_non_null(strstr(
        t, "unigw_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"0.25\"} 3\n"));
    assert_non_null(strstr(
        t, "unigw_http_request_duration_seconds_bucket{op=\"GetObject\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "unigw_http_request_duration_seconds_count{op=\"GetObject\"} 3\n"));
    assert_non_null(strstr(t, "unigw_http_received_bytes_total{op=\"GetObject\"} 300\n"));
    assert_non_null(strstr(t, "unigw_http_sent_bytes_total{op=\"GetObject\"} 10300\n"));
    assert_non_null(strstr(t, "unigw_http_open_connections 2\n"));
    gw_buf_free(&b);
}

/* Too many operation names fold into "other" instead of growing. */
static void bounded(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    char name[32];

    (void)state;
    node_metrics_reset();
    for (int i = 0; i < NODE_METRICS_MAX_OPS + 10; i++) {
        snprintf(name, sizeof name, "Op%d", i);
        node_metrics_request(name, 200, 0, 0, 0);
    }
    for (int i = 0; i < 40; i++) {
        node_metrics_request("Op0", 200 + i, 0, 0, 0);
    }
    assert_non_null(strstr(render(&b), "unigw_http_requests_total{op=\"other\",code=\"200\"} 10\n"));
    assert_non_null(strstr(render(&b), "unigw_http_requests_total{op=\"Op0\",code=\"0\"} "));
    gw_buf_free(&b);
}

static int fail_tags_put(void *arg, const struct meta_cmd *c)
{
    (void)arg;
    return c->type == META_CMD_TAGS_PUT ? GW_ERR_INVALID : GW_OK;
}

/* unigw_meta_apply_failures_total: one sample per command type, counting the
 * entries whose apply failed deterministically on this node's store. */
static void meta_failures(void **state)
{
    static const uint8_t key[META_CLUSTER_KEY_LEN] = {1};
    struct meta_cmd_hdr h = {{0}, 1, GW_STR("admin")};
    struct gw_buf b = GW_BUF_INIT, cmd = GW_BUF_INIT;
    char *dir = tl_tmpdir();
    struct meta *m = NULL;
    int result = -1;

    (void)state;
    assert_int_equal(meta_open(dir, key, 0, &m), 0);
    m->fault = fail_tags_put;
    assert_int_equal(meta_cmd_user_create(&cmd, &h, GW_STR("u"), false), 0);
    assert_int_equal(meta_apply(m, 1, cmd.data, cmd.len, &result), 0);
    gw_buf_reset(&cmd);
    assert_int_equal(meta_cmd_bucket_create(&cmd, &h, GW_STR("b"), GW_STR("u"), GW_STR("")), 0);
    assert_int_equal(meta_apply(m, 2, cmd.data, cmd.len, &result), 0);
    for (uint64_t i = 3; i < 5; i++) {
        gw_buf_reset(&cmd);
        assert_int_equal(meta_cmd_tags_put(&cmd, &h, GW_STR("b"), GW_STR("k"), GW_STR("o"),
                                           GW_STR("t=1")),
                         0);
        assert_int_equal(meta_apply(m, i, cmd.data, cmd.len, &result), 0);
        assert_int_equal(result, GW_ERR_INTERNAL);
    }
    node_metrics_meta_render(m, &b);
    gw_buf_append_byte(&b, '\0');
    assert_non_null(strstr(b.data, "# TYPE unigw_meta_apply_failures_total counter\n"));
    assert_non_null(strstr(b.data, "unigw_meta_apply_failures_total{command=\"tags_put\"} 2\n"));
    assert_non_null(
        strstr(b.data, "unigw_meta_apply_failures_total{command=\"bucket_create\"} 0\n"));
    assert_non_null(strstr(b.data, "unigw_meta_apply_failures_total{command=\"tags_drop\"} 0\n"));
    meta_close(m);
    tl_rmrf(dir);
    free(dir);
    gw_buf_free(&b);
    gw_buf_free(&cmd);
}

/* The cache families: zero without a registered cache, then the registered cache's
 * stats, plus the counters the GET path adds to. */
static void cache_families(void **state)
{
    struct node_cache_opts o = {.size = 1024 * 1024, .max_object_size = 1024, .admit_after = 1};
    struct node_cache *c = node_cache_create(&o);
    struct node_cache_fp fp = {1, 2, 3, 4, 5};
    struct node_cache_entry *e;
    struct node_cache_stats st;
    struct gw_buf b = GW_BUF_INIT;
    char line[128];
    char *t;

    (void)state;
    node_metrics_reset();
    node_metrics_set_cache(NULL);
    t = render(&b);
    assert_non_null(strstr(t, "# TYPE unigw_cache_hits_total counter\nunigw_cache_hits_total 0\n"));
    assert_non_null(strstr(t, "# TYPE unigw_cache_bytes gauge\nunigw_cache_bytes 0\n"));
    assert_non_null(strstr(t, "unigw_mount_read_bytes_total 0\n"));
    assert_int_equal(node_cache_insert(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, "body", 4),
                     GW_OK);
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &fp, &e), GW_OK);
    node_cache_entry_unref(e);
    fp.ino++;
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &fp, &e), GW_ERR_NOT_FOUND);
    node_metrics_set_cache(c);
    node_metrics_cache_proxied(1000);
    node_metrics_cache_proxied(24);
    node_metrics_cache_redirect();
    node_metrics_mount_read(77);
    node_cache_stats(c, &st);
    t = render(&b);
    assert_non_null(strstr(t, "unigw_cache_hits_total 1\n"));
    assert_non_null(strstr(t, "unigw_cache_misses_total 1\n"));
    assert_non_null(strstr(t, "unigw_cache_stale_total 1\n"));
    assert_non_null(strstr(t, "unigw_cache_objects 0\n"));
    assert_non_null(strstr(t, "unigw_cache_evictions_total 0\n"));
    assert_non_null(strstr(t, "unigw_cache_admissions_total 1\n"));
    assert_non_null(strstr(t, "unigw_cache_hit_bytes_total 4\n"));
    assert_non_null(strstr(t, "unigw_cache_size_bytes 1048576\n"));
    snprintf(line, sizeof line, "unigw_cache_bytes %llu\n", (unsigned long long)st.bytes);
    assert_non_null(strstr(t, line));
    assert_non_null(strstr(t, "unigw_cache_proxied_bytes_total 1024\n"));
    assert_non_null(strstr(t, "unigw_cache_redirects_total 1\n"));
    assert_non_null(strstr(t, "unigw_mount_read_bytes_total 77\n"));
    node_metrics_set_cache(NULL);
    node_cache_destroy(c);
    gw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters),
        cmocka_unit_test(bounded),
        cmocka_unit_test(meta_failures),
        cmocka_unit_test(cache_families),
    };
    return cmocka_run_group_tests_name("node/metrics", tests, NULL, NULL);
}
