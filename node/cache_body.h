/* node/cache_body: the S3 layer's body cache on node/cache/ (see s3.h). */
#ifndef UNIGW_NODE_CACHE_BODY_H
#define UNIGW_NODE_CACHE_BODY_H

#include "unigw/s3.h"

struct node_cache;

/* Wrap @c (which must outlive the result) for s3_config.body_cache. */
struct s3_body_cache *node_cache_body_create(struct node_cache *c);
void node_cache_body_destroy(struct s3_body_cache *bc);

#endif
