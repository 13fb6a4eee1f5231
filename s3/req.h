/* The per-request state shared by the S3 handlers, and the response helpers
 * every handler ends with.  A handler owns the request from s3_handle() until
 * it calls one of the s3_req_respond_* / s3_err_respond functions, which end
 * the exchange once the bytes are queued and written. */
#ifndef UNIGW_S3_REQ_H
#define UNIGW_S3_REQ_H

#include <stdint.h>

#include "objmeta.h"
#include "router.h"
#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/pool.h"
#include "unigw/s3.h"

struct s3_list_cache;
struct s3_rehash;
struct s3_policy_cache;
struct s3_sigv4;

struct s3_service {
    struct s3_config cfg;
    char *mount;
    char *region;
    char *vhost_domain;
    char *node_id;
    struct meta *meta;
    struct meta_proposer *proposer;
    struct s3_objstore store;
    struct s3_list_cache *list_cache;
    struct s3_rehash *rehash; /* NULL when background MD5 is off */
    bool is_unavailable;
    struct s3_policy_cache *policy_cache; /* compiled bucket policies (s3/policy.h) */
    struct s3_tag_sweep *tag_sweep;       /* s3/tag_sweep.h */
};

#define S3_MAX_RESP_HEADERS 48

struct s3_req {
    struct s3_service *svc;
    struct s3_exchange *x;
    struct gw_arena *a;
    const struct s3_http_request *http;
    struct s3_route rt;
    int64_t now; /* seconds since the epoch at arrival */
    bool is_anonymous;
    char user[META_NAME_MAX + 1];
    char user_id[META_USER_ID_LEN + 1]; /* the user's immutable id */
    bool is_admin;
    struct s3_sigv4 *auth; /* NULL when anonymous */
    struct s3_header hdrs[S3_MAX_RESP_HEADERS];
    size_t n_hdrs;
    struct gw_buf body_out; /* response body, freed at the end */
    struct gw_pool_job job;
    void *op; /* the running handler's state */
    char errmsg[256];
    /* Extra elements for the error document, after <Message> (escaped XML
     * in the arena), e.g. <HeadersNotSigned>; empty for most errors. */
    struct gw_str err_xml;
    const char *err_message; /* replaces the table's <Message> when set (arena) */
};

/* Add a response header (both strings must live as long as the request). */
void s3_req_header(struct s3_req *q, const char *name, const char *value);
void s3_req_header_str(struct s3_req *q, const char *name, struct gw_str value);

/* Respond with @status, the queued headers and no body, and end. */
void s3_req_respond_empty(struct s3_req *q, int status);
/* Respond with q->body_out as application/xml and end. */
void s3_req_respond_xml(struct s3_req *q, int status);
/* Respond with the S3 error for @rv (status, XML body with Code, Message,
 * Resource, RequestId) and end.  The only writer of <Error> documents. */
void s3_err_respond(struct s3_req *q, int rv);

/* Run @work on the data-path pool, then @done on the loop. */
void s3_req_offload(struct s3_req *q, gw_pool_work_cb work, gw_pool_done_cb done);

/* Write a detail for the log (never sent to the client). */
void s3_req_errmsg(struct s3_req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Handlers (s3/op_*.c). */
void s3_op_bucket(struct s3_req *q);
void s3_op_list(struct s3_req *q);
void s3_op_object_get(struct s3_req *q);
void s3_op_object_put(struct s3_req *q);
void s3_op_object_copy(struct s3_req *q);
void s3_op_object_delete(struct s3_req *q);
void s3_op_delete_objects(struct s3_req *q);
void s3_op_acl(struct s3_req *q);
void s3_op_mpu(struct s3_req *q);
void s3_op_tagging(struct s3_req *q);
void s3_op_policy(struct s3_req *q);

/* Helpers shared by handlers. */
/* The authorization decision for @action on @key of the request's bucket
 * (what s3_handle decides for single-object requests): GW_OK or
 * GW_ERR_ACCESS_DENIED. */
int s3__authorize_object(struct s3_req *q, struct gw_str key, const char *action);
/* Check the bucket directory exists (blocking; worker thread). */
int s3__bucket_stat(struct s3_service *s, struct gw_str bucket, struct stat *st);
/* Read a whole small request body (XML documents) up to @max bytes, then @cb. */
typedef void (*s3_body_done_cb)(struct s3_req *q, int rv, struct gw_str body);
void s3__read_small_body(struct s3_req *q, size_t max, s3_body_done_cb cb);

#endif
