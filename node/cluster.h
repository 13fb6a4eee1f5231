/* The node's side of replication: Raft configuration from the node config,
 * the LMDB crash rule, and waiting for a usable leader. */
#ifndef UNIGW_NODE_CLUSTER_H
#define UNIGW_NODE_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/repl.h"

/* LMDB runs with MDB_NOSYNC: after an unclean stop its files may be torn, so
 * they are thrown away and Raft rebuilds the store from its snapshot and log.
 * Call before meta_open (removes the store unless the clean marker exists,
 * then removes the marker); node_meta_mark_clean after meta_close. */
int node_meta_check_clean(const char *meta_dir);
void node_meta_mark_clean(const char *meta_dir);

/* Create and start the replicator from @cfg's [cluster] keys.  *@is_founder:
 * this node is one of the cluster's initial voters (or a single node), so it
 * may create the root user on a fresh store. */
int node_repl_start(const struct node_config *cfg, uv_loop_t *loop, struct meta *m,
                    const uint8_t cluster_key[META_CLUSTER_KEY_LEN], struct repl **out,
                    bool *is_founder);

/* Append Raft gauges to a Prometheus text body. */
void node_repl_metrics(struct repl *r, struct gw_buf *out);
/* A one-line JSON summary of Raft state for /health/ready. */
void node_repl_health(struct repl *r, char *out, size_t cap, bool *has_leader);

#endif
