/* The S3 service: request entry (s3_handle), authentication and the
 * authorization seam, then dispatch to the operation handlers.
 *
 *   route -> authenticate (SigV4 header or presigned query; anonymous when
 *   neither) -> authorize (one function: the bucket policy engine plugs in
 *   here) -> handler.
 *
 * Authentication reads the local metadata replica (a short LMDB read
 * transaction; HMAC work is microseconds), so it runs on the loop thread.
 * Everything that touches the mount runs on the data-path pool. */
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "policy.h"
#include "req.h"
#include "sigv4.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

struct gw_str s3_header_get(const struct s3_http_request *r, const char *name)
{
    struct gw_str n = gw_str_c(name);

    for (size_t i = 0; i < r->n_headers; i++) {
        if (gw_str_caseeq(r->headers[i].name, n)) {
            return r->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? gw_strdup(s) : NULL;
}

/* Temp files named for this node cannot belong to a live request at start:
 * they are what a crash or kill -9 left behind. */
static void remove_stale_temps(struct s3_service *s, const char *tmp_dir)
{
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    size_t n = strlen(s->node_id);
    size_t removed = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, s->node_id, n) == 0 && e->d_name[n] == '-' &&
            unlinkat(dirfd(d), e->d_name, 0) == 0) {
            removed++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    if (removed > 0) {
        GW_LOG(GW_LOG_INFO, "s3", "msg=\"removed %zu stale temp files\"", removed);
    }
}

int s3_service_create(const struct s3_config *cfg, struct meta *meta,
                      struct meta_proposer *proposer, struct s3_service **out)
{
    struct s3_service *s = gw_calloc(1, sizeof *s);
    char tmp[4096];

    s->cfg = *cfg;
    s->mount = gw_strdup(cfg->mount);
    s->region = gw_strdup(cfg->region ? cfg->region : "us-east-1");
    s->vhost_domain = dup_or_null(cfg->vhost_domain);
    s->node_id = gw_strdup(cfg->node_id ? cfg->node_id : "1");
    s->cfg.mount = s->mount;
    s->cfg.region = s->region;
    s->cfg.vhost_domain = s->vhost_domain;
    s->cfg.node_id = s->node_id;
    s->meta = meta;
    s->proposer = proposer;
    /* The reserved tree must exist before any upload can stage a temp file. */
    snprintf(tmp, sizeof tmp, "%s/.unigw", s->mount);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof tmp, "%s/.unigw/tmp", s->mount);
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        GW_LOG(GW_LOG_ERROR, "s3", "msg=\"cannot create %s: %s\"", tmp, strerror(errno));
        s3_service_destroy(s);
        return GW_ERR_IO;
    }
    remove_stale_temps(s, tmp);
    s->store.root = s->mount;
    s->store.use_xattr = s3_objstore_probe_xattr(s->mount);
    GW_LOG(GW_LOG_INFO, "s3", "msg=\"object metadata in %s\"",
           s->store.use_xattr ? "xattrs" : "sidecar files (.unigw/meta)");
    *out = s;
    return GW_OK;
}

void s3_service_destroy(struct s3_service *s)
{
    if (s == NULL) {
        return;
    }
    gw_free(s->mount);
    gw_free(s->region);
    gw_free(s->vhost_domain);
    gw_free(s->node_id);
    gw_free(s);
}

/* Verify @r's SigV4 authentication into @auth and @key (secret wiped).
 * GW_ERR_NOT_FOUND when the request is anonymous, else GW_OK or the auth error. */
static int verify_request(struct s3_service *s, const struct s3_http_request *r,
                          struct gw_arena *a, int64_t now, struct s3_sigv4 *auth,
                          struct meta_key_info *key)
{
    int rv = s3_sigv4_parse(r, a, auth);

    if (rv != 0) {
        return rv;
    }
    rv = s3_sigv4_check_region(auth, gw_str_c(s->region));
    if (rv != 0) {
        return rv;
    }
    rv = meta_key_lookup(s->meta, auth->access_key, key);
    if (rv != 0) {
        return rv == GW_ERR_INVALID_ACCESS_KEY ? rv : GW_ERR_INTERNAL;
    }
    rv = s3_sigv4_verify(auth, gw_str_make(key->secret, key->secret_len), r, a, now,
                         s->cfg.clock_skew_s);
    OPENSSL_cleanse(key->secret, sizeof key->secret);
    if (rv != 0) {
        return rv;
    }
    return key->is_disabled ? GW_ERR_USER_DISABLED : GW_OK;
}

/* Returns GW_OK with q->user set, GW_OK anonymous, or the auth error. */
static int authenticate(struct s3_req *q)
{
    struct s3_sigv4 auth;
    struct meta_key_info key;
    int rv = verify_request(q->svc, q->http, q->a, q->now, &auth, &key);

    if (rv == GW_ERR_NOT_FOUND) {
        q->is_anonymous = true;
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    memcpy(q->user, key.user, key.user_len + 1);
    q->is_admin = key.is_admin;
    q->auth = gw_arena_alloc(q->a, sizeof auth);
    *q->auth = auth;
    return GW_OK;
}

int s3_authenticate(struct s3_service *s, const struct s3_http_request *r, struct gw_arena *a,
                    struct s3_identity *out)
{
    struct s3_sigv4 auth;
    struct meta_key_info key;
    int rv = verify_request(s, r, a, (int64_t)time(NULL), &auth, &key);

    _Static_assert(sizeof out->user == META_NAME_MAX + 1, "user name capacity");
    memset(out, 0, sizeof *out);
    if (rv != 0) {
        return rv == GW_ERR_NOT_FOUND ? GW_ERR_ACCESS_DENIED : rv;
    }
    memcpy(out->user, key.user, key.user_len + 1);
    out->is_admin = key.is_admin;
    out->has_payload_sha256 = auth.payload_mode == S3_PAYLOAD_SHA256;
    memcpy(out->payload_sha256, auth.sha256, sizeof out->payload_sha256);
    out->is_streaming = auth.payload_mode != S3_PAYLOAD_SHA256 &&
                        auth.payload_mode != S3_PAYLOAD_UNSIGNED;
    return GW_OK;
}

int s3_policy_validate(struct gw_str doc, struct gw_str bucket, char *err, size_t err_cap)
{
    struct s3_policy *p = NULL;
    int rv = s3_policy_parse(doc, bucket, &p, err, err_cap);

    s3_policy_unref(p);
    return rv;
}

/* The one authorization decision.  Today: the root user and admins may do
 * everything, any authenticated user may list and create buckets, and a
 * bucket's owner has full access to it (a bucket that exists only as a
 * directory on the mount belongs to root).  Anonymous requests are denied.
 * Bucket policies (a later issue) plug in here and nowhere else. */
static int authorize(struct s3_req *q)
{
    struct meta_bucket b;
    int rv;

    if (q->is_anonymous) {
        return GW_ERR_ACCESS_DENIED;
    }
    if (q->is_admin) {
        return GW_OK;
    }
    if (q->rt.op == S3_OP_LIST_BUCKETS || q->rt.op == S3_OP_CREATE_BUCKET) {
        return GW_OK;
    }
    rv = meta_bucket_get(q->svc->meta, q->rt.bucket, &b);
    if (rv == GW_ERR_NO_SUCH_BUCKET) {
        return GW_ERR_ACCESS_DENIED; /* unowned directories are root's */
    }
    if (rv != 0) {
        return GW_ERR_INTERNAL;
    }
    return strcmp(b.owner, q->user) == 0 ? GW_OK : GW_ERR_ACCESS_DENIED;
}

static void dispatch(struct s3_req *q)
{
    switch (q->rt.op) {
    case S3_OP_LIST_BUCKETS:
    case S3_OP_CREATE_BUCKET:
    case S3_OP_HEAD_BUCKET:
    case S3_OP_DELETE_BUCKET:
    case S3_OP_GET_BUCKET_LOCATION:
    case S3_OP_GET_BUCKET_VERSIONING:
        s3_op_bucket(q);
        break;
    case S3_OP_GET_BUCKET_ACL:
    case S3_OP_PUT_BUCKET_ACL:
    case S3_OP_GET_OBJECT_ACL:
    case S3_OP_PUT_OBJECT_ACL:
        s3_op_acl(q);
        break;
    case S3_OP_LIST_OBJECTS:
    case S3_OP_LIST_OBJECTS_V2:
    case S3_OP_LIST_OBJECT_VERSIONS:
        s3_op_list(q);
        break;
    case S3_OP_PUT_OBJECT:
        s3_op_object_put(q);
        break;
    case S3_OP_COPY_OBJECT:
        s3_op_object_copy(q);
        break;
    case S3_OP_GET_OBJECT:
    case S3_OP_HEAD_OBJECT:
        s3_op_object_get(q);
        break;
    case S3_OP_DELETE_OBJECT:
        s3_op_object_delete(q);
        break;
    case S3_OP_DELETE_OBJECTS:
        s3_op_delete_objects(q);
        break;
    default:
        s3_err_respond(q, GW_ERR_NOT_IMPLEMENTED);
        break;
    }
}

void s3_handle(struct s3_service *s, struct s3_exchange *x)
{
    struct s3_req *q = gw_arena_zalloc(x->arena, sizeof *q);
    int rv;

    q->svc = s;
    q->x = x;
    q->a = x->arena;
    q->http = &x->req;
    q->now = (int64_t)time(NULL);
    x->op_name = "Unknown";
    rv = s3_router_route(q->http, s->vhost_domain, q->a, &q->rt);
    x->op_name = s3_op_name(q->rt.op);
    x->log_bucket = q->rt.bucket;
    x->log_key = q->rt.key;
    if (rv == 0) {
        rv = authenticate(q);
    }
    if (rv == 0) {
        rv = authorize(q);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    dispatch(q);
}
