/* The tag sweep (s3/tag_sweep.c): drops tag records whose object went away
 * through POSIX.  Loop thread only. */
#ifndef UNIGW_S3_TAG_SWEEP_H
#define UNIGW_S3_TAG_SWEEP_H

#include "unigw/pool.h"

struct s3_service;
struct s3_tag_sweep;

struct s3_tag_sweep *s3__tag_sweep_create(void);
/* Only when no sweep is running (the service is destroyed after its loop). */
void s3__tag_sweep_destroy(struct s3_tag_sweep *ts);
/* Start a sweep on @pool unless one runs or the last began less than
 * s3_config.tag_sweep_ms ago (0: an hour). */
void s3__tag_sweep_run(struct s3_service *s, struct s3_tag_sweep *ts, struct gw_pool_loop *pool);

#endif
