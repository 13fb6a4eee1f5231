/* The admin HTTP API under /admin/v1/: users, access keys, buckets and
 * bucket policies, as JSON, for unigw-admin and scripts.
 *
 * Every request is authenticated with SigV4 (service "s3", the node's region)
 * by the root user or a user with the admin flag; anyone else gets 403
 * AccessDenied.  Every change goes through the metadata proposer, so it is
 * replicated like the S3 layer's own changes.  Errors are
 * {"error": CODE, "message": TEXT} with the matching HTTP status.
 *
 *   GET    /admin/v1/users                   list users
 *   POST   /admin/v1/users                   {"name": N, "admin": bool}
 *   GET    /admin/v1/users/N                 the user and its access keys
 *   DELETE /admin/v1/users/N                 (refused while it owns buckets)
 *   POST   /admin/v1/users/N/disable|enable
 *   GET    /admin/v1/users/N/keys            its access keys
 *   POST   /admin/v1/users/N/keys            new key: access_key and secret_key, once
 *   DELETE /admin/v1/keys/AK
 *   GET    /admin/v1/buckets                 every bucket directory with its owner
 *   POST   /admin/v1/buckets                 {"name": B, "owner": U}
 *   GET    /admin/v1/buckets/B
 *   DELETE /admin/v1/buckets/B               (must be empty)
 *   PUT    /admin/v1/buckets/B/owner         {"owner": U}
 *   GET|PUT|DELETE /admin/v1/buckets/B/policy   the policy document itself */
#ifndef UNIGW_NODE_ADMIN_API_H
#define UNIGW_NODE_ADMIN_API_H

#include <stdbool.h>

#include "unigw/meta.h"
#include "unigw/s3.h"
#include "unigw/str.h"

#define NODE_ADMIN_PREFIX "/admin/v1/"
/* Largest request body (a policy document; AWS allows 20 KiB). */
#define NODE_ADMIN_BODY_MAX (64 * 1024)

struct node_admin;

/* @m, @prop and @s3 stay owned by the caller and must outlive the API.
 * @region is copied (bucket records name it).  Returns GW_OK. */
int node_admin_create(struct meta *m, struct meta_proposer *prop, struct s3_service *s3,
                      const char *region, struct node_admin **out);
/* NULL is a no-op.  No request may be in flight. */
void node_admin_destroy(struct node_admin *a);

/* Does @target (a raw request-target) belong to the admin API? */
bool node_admin_matches(struct gw_str target);

/* Serve one request; owns @x until it calls s3_resp_end (see unigw/s3.h). */
void node_admin_handle(struct node_admin *a, struct s3_exchange *x);

#endif
