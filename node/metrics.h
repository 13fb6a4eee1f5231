/* node/metrics: process-wide request counters in Prometheus text format.
 *
 * Every finished exchange is recorded once (node/conn does it); /metrics
 * renders the lot, with the hot-object cache's counters (node/cache).  The registry is shared by every event loop of the process
 * and guarded by a mutex: a record is a handful of additions. */
#ifndef UNIGW_NODE_METRICS_H
#define UNIGW_NODE_METRICS_H

#include <stdint.h>

#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/s3.h"

/* At most this many distinct operation names; later ones count as "other". */
#define NODE_METRICS_MAX_OPS 96
/* At most this many distinct status codes per operation; later ones count as 0. */
#define NODE_METRICS_MAX_CODES 24

/* Record one finished request.  @op NULL counts as "unknown"; the name is
 * copied (at most 63 bytes). */
void node_metrics_request(const char *op, int status, uint64_t bytes_in, uint64_t bytes_out,
                          uint64_t duration_ns);
/* Add @delta (+1 on accept, -1 on close) to the open-connections gauge. */
void node_metrics_conn_add(int delta);
struct node_cache;

/* The hot-object cache whose counters /metrics shows (unigw_cache_*), or NULL.  The cache
 * must outlive its registration: set NULL before node_cache_destroy(). */
void node_metrics_set_cache(struct node_cache *c);
/* Counters the GET path adds to (nothing calls them until the cache is wired into GET):
 * body bytes streamed from an owner's memory for a client of this node, 307 redirects to
 * an owner, and body bytes of GETs read from the mount (so a test can tell that a GET was
 * served from memory). */
void node_metrics_cache_proxied(uint64_t bytes);
void node_metrics_cache_redirect(void);
void node_metrics_mount_read(uint64_t bytes);

/* Append the exposition text (# HELP / # TYPE lines, one sample a line) to @out. */
void node_metrics_render(struct gw_buf *out);
/* Append unigw_meta_apply_failures_total{command}, one sample per command
 * type (zeros included), from @m's counters. */
void node_metrics_meta_render(struct meta *m, struct gw_buf *out);
/* Forget everything (tests). */
void node_metrics_reset(void);

/* Answer @x with 200 and the exposition text, then end it. */
void node_metrics_respond(struct s3_exchange *x);
/* The same, with @extra(@arg, out) appending more families (Raft state). */
void node_metrics_respond_with(struct s3_exchange *x, void (*extra)(void *arg, struct gw_buf *out),
                               void *arg);

#endif
