/* First-start state of a node: the cluster key and the root user. */
#ifndef UNIGW_NODE_BOOTSTRAP_H
#define UNIGW_NODE_BOOTSTRAP_H

#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "unigw/meta.h"

#define NODE_ROOT_USER "root"

/* The 32-byte cluster key: from the config, else <data_dir>/cluster.key,
 * else generated there (0600) with a warning to copy it to every node. */
int node_cluster_key(const struct node_config *cfg, uint8_t key[META_CLUSTER_KEY_LEN]);

/* Create the root user and its first key on a fresh store (from
 * UNIGW_ROOT_ACCESS_KEY / UNIGW_ROOT_SECRET_KEY when set, else random), and
 * write them to <data_dir>/root.credentials (0600).  Runs @loop until the
 * proposals are applied.  A store that has a root user is left alone. */
int node_bootstrap_root(const struct node_config *cfg, uv_loop_t *loop, struct meta *m,
                        struct meta_proposer *prop);

#endif
