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
 *   GET|PUT|DELETE /admin/v1/buckets/B/policy   the policy document itself
 *   GET    /admin/v1/cluster                 Raft status of this node and every member
 *   POST   /admin/v1/cluster/members         {"id": N, "raft_address": "a.b.c.d:port",
 *                                             "voter": bool (default true)}: add a node
 *   DELETE /admin/v1/cluster/members/N       remove a node
 *   POST   /admin/v1/cluster/transfer        {"id": N} or no body: hand leadership over
 *
 * Membership changes work on any node: a follower forwards them to the leader over the
 * internal RPC (repl_change_submit).  With no leader known they answer 503 NoLeader.
 * Cluster status knows the term, commit and applied index and the version only of the node
 * that answers (libraft keeps the leader's view of its followers to itself); for the other
 * members it reports what this node can tell: the configuration (id, Raft address, role),
 * who leads, and "reachable" from a TCP connect to the member's Raft address with a short
 * timeout (a listening port, not a healthy replica). */
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

struct repl;

/* @m, @prop, @s3 and @repl stay owned by the caller and must outlive the API.
 * @region is copied (bucket records name it).  Returns GW_OK. */
int node_admin_create(struct meta *m, struct meta_proposer *prop, struct s3_service *s3,
                      struct repl *repl, const char *region, struct node_admin **out);
/* NULL is a no-op.  No request may be in flight. */
void node_admin_destroy(struct node_admin *a);

/* Does @target (a raw request-target) belong to the admin API? */
bool node_admin_matches(struct gw_str target);

/* Serve one request; owns @x until it calls s3_resp_end (see unigw/s3.h). */
void node_admin_handle(struct node_admin *a, struct s3_exchange *x);

#endif
