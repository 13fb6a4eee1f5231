/* Private to node/admin_*.c: the state of one admin request and the helpers
 * the route handlers share.  Every handler ends by calling exactly one of the
 * node__adm_respond_* functions (directly or from a callback). */
#ifndef UNIGW_NODE_ADMIN_OP_H
#define UNIGW_NODE_ADMIN_OP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/pool.h"
#include "unigw/repl.h"
#include "unigw/s3.h"
#include "unigw/str.h"

#define ADM_ROOT_USER "root"
#define ADM_MAX_SEGS 4
#define ADM_ACCESS_LEN 20
#define ADM_SECRET_LEN 40

struct node_admin {
    struct meta *meta;
    struct meta_proposer *prop;
    struct s3_service *s3;
    char *region;
    struct repl *repl;
};

struct adm_op;
typedef void (*adm_step_cb)(struct adm_op *o);

struct adm_op {
    struct node_admin *adm;
    struct s3_exchange *x;
    struct s3_identity id;
    struct gw_str seg[ADM_MAX_SEGS];
    size_t n_seg;
    struct gw_buf body;
    struct gw_buf cmd;
    json_t *in;           /* the parsed JSON body, when the route takes one */
    struct gw_pool_job job;
    int rv;               /* result of pool work */
    struct gw_str name;   /* the user, key or bucket the route names */
    struct gw_str owner;  /* bucket create / set-owner */
    bool flag;            /* user create: admin; user disable: disabled */
    bool made_dir;
    struct gw_str *dirs;  /* bucket list */
    size_t n_dirs;
    adm_step_cb then;     /* what follows ensure_record() */
    char access[ADM_ACCESS_LEN + 1];
    char secret[ADM_SECRET_LEN + 1];
    struct repl_status *cl_status; /* cluster status: the snapshot taken for the answer */
    bool *cl_reach;                /* ... and each member's probe outcome (pool) */
    struct repl_change cl_change;  /* the membership change being run */
};

/* The admin API's signature must cover its body: an Authorization header
 * (a presigned URL names no body) whose x-amz-content-sha256 is the hex
 * SHA-256 of the body, which the body reader then checks.  UNSIGNED-PAYLOAD
 * (or a presigned URL) would let a captured request be replayed with
 * another body, e.g. {"admin": true}.  Returns why @id's request is
 * refused, with its @status and error @code, or NULL when it may go on. */
const char *node__adm_refusal(const struct s3_identity *id, int *status, const char **code);

/* Responses; each ends the exchange.  node__adm_respond_json steals @j (NULL
 * answers 500). */
void node__adm_respond_text(struct adm_op *o, int status, const char *text, size_t len);
void node__adm_respond_json(struct adm_op *o, int status, json_t *j);
void node__adm_respond_err(struct adm_op *o, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The error table's status, code and message for @rv. */
void node__adm_respond_rv(struct adm_op *o, int rv);
void node__adm_respond_no_user(struct adm_op *o);

/* "YYYY-MM-DDTHH:MM:SSZ" of @ms, or JSON null for 0. */
json_t *node__adm_json_time(uint64_t ms);

/* Reset o->cmd and fill @h for a command proposed by the caller. */
int node__adm_hdr_make(struct adm_op *o, struct meta_cmd_hdr *h);
/* Propose o->cmd when @rv is 0 (else answer @rv); @cb gets @o. */
void node__adm_propose(struct adm_op *o, int rv, meta_propose_cb cb);
/* A proposal's outcome: the replication fault, else the apply result. */
int node__adm_result(int rv, int result);

/* Parse the body into o->in, which must be an object; false: answered 400. */
bool node__adm_body_json(struct adm_op *o);
/* A non-empty string member of o->in (copied to the arena); false: answered 400. */
bool node__adm_body_string(struct adm_op *o, const char *name, struct gw_str *out);

/* /admin/v1/buckets... (admin_bucket.c); @m is the method. */
void node__adm_buckets_route(struct adm_op *o, struct gw_str m);
/* /admin/v1/cluster... (admin_api.c, cluster section). */
void node__adm_cluster_route(struct adm_op *o, struct gw_str m);

#endif
