/* node/health: responders for the health endpoints.  The dispatcher decides
 * which path goes where; these only answer and end the exchange. */
#ifndef UNIGW_NODE_HEALTH_H
#define UNIGW_NODE_HEALTH_H

#include <stdbool.h>

#include "unigw/s3.h"

/* 200 "ok\n" (text/plain): the process serves requests. */
void node_health_live(struct s3_exchange *x);
/* 200 when @ready, else 503, with {"ready":bool,"detail":"..."} (JSON); @detail
 * may be NULL and is copied. */
void node_health_ready(struct s3_exchange *x, bool ready, const char *detail);

#endif
