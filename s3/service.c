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
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "list.h"
#include "mpu.h"
#include "obj.h"
#include "path.h"
#include "rehash.h"
#include "policy.h"
#include "tag_sweep.h"
#include "req.h"
#include "sigv2.h"
#include "sigv4.h"
#include "store.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

/* Sorted directory listings kept per node (list.h): enough for a few large
 * directories being paged through at once. */
#define S3_LIST_CACHE_DIRS 256
#define S3_LIST_CACHE_BYTES (256u << 20)

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
static void remove_stale_temps(struct s3_service *s)
{
    int fd = s3__store_openat(s->store.root_fd, S3_RESERVED_DIR "/tmp", O_RDONLY | O_DIRECTORY, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    size_t n = strlen(s->node_id);
    size_t removed = 0;

    if (d == NULL && fd >= 0) {
        close(fd);
    }
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

/* The reserved tree must exist before any upload can stage a temp file; it
 * is made beneath the root fd like everything else on the mount. */
static int reserved_tree_make(struct s3_service *s)
{
    int fd = s3__store_mkdirs(s->store.root_fd, S3_RESERVED_DIR "/tmp", 0755, false, NULL);

    if (fd < 0) {
        GW_LOG(GW_LOG_ERROR, "s3", "msg=\"cannot create %s/" S3_RESERVED_DIR "/tmp: %s\"",
               s->mount, strerror(errno));
        return GW_ERR_IO;
    }
    close(fd);
    return GW_OK;
}

int s3_service_create(const struct s3_config *cfg, struct meta *meta,
                      struct meta_proposer *proposer, struct s3_service **out)
{
    struct s3_service *s = gw_calloc(1, sizeof *s);

    s->store.root_fd = -1;
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
    s->policy_cache = s3_policy_cache_create(0);
    s->tag_sweep = s3__tag_sweep_create();
    if (s3_objstore_open(&s->store, s->mount) != 0) {
        GW_LOG(GW_LOG_ERROR, "s3", "msg=\"cannot open the mount %s: %s\"", s->mount,
               strerror(errno));
        s3_service_destroy(s);
        return GW_ERR_IO;
    }
    if (reserved_tree_make(s) != 0) {
        s3_service_destroy(s);
        return GW_ERR_IO;
    }
    remove_stale_temps(s);
    s->store.use_xattr = cfg->xattrs != S3_XATTRS_OFF && s3_objstore_probe_xattr(&s->store);
    if (cfg->xattrs == S3_XATTRS_ON && !s->store.use_xattr) {
        GW_LOG(GW_LOG_ERROR, "s3", "msg=\"[storage] xattrs = on, but %s has no user xattrs\"",
               s->mount);
        s3_service_destroy(s);
        return GW_ERR_CONFIG;
    }
    GW_LOG(GW_LOG_INFO, "s3", "msg=\"object metadata in %s\"",
           s->store.use_xattr ? "xattrs" : "sidecar files (.unigw/meta)");
    s->list_cache = s3_list_cache_create(S3_LIST_CACHE_DIRS, S3_LIST_CACHE_BYTES,
                                         S3_LIST_CACHE_RACY_NS);
    if (cfg->background_md5 && s3_rehash_create(&s->store, &s->rehash) != 0) {
        s3_service_destroy(s);
        return GW_ERR_NOMEM;
    }
    *out = s;
    return GW_OK;
}

void s3_service_destroy(struct s3_service *s)
{
    if (s == NULL) {
        return;
    }
    s3_rehash_destroy(s->rehash);
    s3_list_cache_destroy(s->list_cache);
    s3_objstore_close(&s->store);
    gw_free(s->mount);
    gw_free(s->region);
    gw_free(s->vhost_domain);
    gw_free(s->node_id);
    s3_policy_cache_destroy(s->policy_cache);
    s3__tag_sweep_destroy(s->tag_sweep);
    gw_free(s);
}

/* Look @access_key up into @key: GW_OK, GW_ERR_INVALID_ACCESS_KEY or
 * GW_ERR_INTERNAL.  The caller wipes key->secret (key_finish). */
static int key_lookup(struct s3_service *s, struct gw_str access_key, struct meta_key_info *key)
{
    int rv = meta_key_lookup(s->meta, access_key, key);

    if (rv != 0) {
        return rv == GW_ERR_INVALID_ACCESS_KEY ? rv : GW_ERR_INTERNAL;
    }
    return GW_OK;
}

/* The common tail of every signature check: wipe the secret, then refuse
 * a disabled key once the signature (@rv) is good. */
static int key_finish(struct meta_key_info *key, int rv)
{
    OPENSSL_cleanse(key->secret, sizeof key->secret);
    if (rv != 0) {
        return rv;
    }
    return key->is_disabled ? GW_ERR_USER_DISABLED : GW_OK;
}

/* [s3] presign_max_expiry in seconds (S3's week when unset). */
static int64_t presign_max_expiry(const struct s3_service *s)
{
    return s->cfg.presign_max_expiry_s > 0 ? s->cfg.presign_max_expiry_s : S3_SIGV4_MAX_EXPIRES;
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
    if (rv == 0) {
        rv = s3_sigv4_check_expires(auth, presign_max_expiry(s));
    }
    if (rv != 0) {
        return rv;
    }
    rv = key_lookup(s, auth->access_key, key);
    if (rv != 0) {
        return rv;
    }
    rv = s3_sigv4_verify(auth, gw_str_make(key->secret, key->secret_len), r, a, now,
                         s->cfg.clock_skew_s);
    return key_finish(key, rv);
}

/* Verify @q's SigV2 authentication (header or presigned query) into @key
 * (secret wiped).  SigV2 signs no payload hash, so q->auth stays NULL and
 * PUT treats the body as UNSIGNED-PAYLOAD (Content-MD5, when sent, is
 * signed and still checked). */
static int verify_sigv2(struct s3_req *q, struct meta_key_info *key)
{
    struct s3_service *s = q->svc;
    struct s3_sigv2 auth;
    int rv = s3_sigv2_parse(q->http, q->a, &auth);

    if (rv != 0) {
        return rv;
    }
    rv = key_lookup(s, auth.access_key, key);
    if (rv != 0) {
        return rv;
    }
    rv = s3_sigv2_verify(&auth, gw_str_make(key->secret, key->secret_len), q->http,
                         s->vhost_domain ? gw_str_c(s->vhost_domain) : GW_STR_NULL, q->a,
                         q->now, s->cfg.clock_skew_s);
    return key_finish(key, rv);
}

/* The <HeadersNotSigned> element of a GW_ERR_HEADERS_NOT_SIGNED answer. */
static struct gw_str headers_not_signed_xml(struct gw_arena *a, struct gw_str names)
{
    struct gw_buf b = {0};
    struct gw_str out;

    gw_buf_append_c(&b, "<HeadersNotSigned>");
    gw_buf_append_xml(&b, names);
    gw_buf_append_c(&b, "</HeadersNotSigned>");
    out = gw_arena_str(a, gw_buf_str(&b));
    gw_buf_free(&b);
    return out;
}

/* What the error document of @rv says beyond the table: the unsigned
 * headers, or this node's expiry limit when it is below S3's week. */
static void auth_error_detail(struct s3_req *q, int rv, const struct s3_sigv4 *auth)
{
    if (rv == GW_ERR_HEADERS_NOT_SIGNED) {
        q->err_xml = headers_not_signed_xml(q->a, auth->unsigned_headers);
        s3_req_errmsg(q, "sigv4: unsigned headers: %.*s", (int)auth->unsigned_headers.len,
                      auth->unsigned_headers.p);
    } else if (presign_max_expiry(q->svc) < S3_SIGV4_MAX_EXPIRES) {
        q->err_message = gw_arena_printf(q->a, "X-Amz-Expires must be at most %lld (seconds), "
                                         "the longest this service accepts",
                                         (long long)presign_max_expiry(q->svc));
    }
}

/* The authenticated identity of @key becomes @q's. */
static void identity_set(struct s3_req *q, const struct meta_key_info *key)
{
    memcpy(q->user, key->user, key->user_len + 1);
    memcpy(q->user_id, key->user_id, sizeof q->user_id);
    q->is_admin = key->is_admin;
}

/* Returns GW_OK with q->user set, GW_OK anonymous, or the auth error.
 * SigV4 first; what it does not support may be SigV2. */
static int authenticate(struct s3_req *q)
{
    struct s3_sigv4 auth;
    struct meta_key_info key;
    int rv = verify_request(q->svc, q->http, q->a, q->now, &auth, &key);

    if (rv == GW_ERR_NOT_FOUND) {
        q->is_anonymous = true;
        return GW_OK;
    }
    if (rv == GW_ERR_HEADERS_NOT_SIGNED || rv == GW_ERR_EXPIRES_TOO_LONG) {
        auth_error_detail(q, rv, &auth);
        return rv;
    }
    if (rv == GW_ERR_UNSUPPORTED_AUTH) {
        rv = verify_sigv2(q, &key); /* q->auth stays NULL: unsigned payload */
        if (rv == 0) {
            identity_set(q, &key);
        }
        return rv;
    }
    if (rv != 0) {
        return rv;
    }
    identity_set(q, &key);
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
    out->is_presigned = auth.is_presigned;
    return GW_OK;
}

int s3_policy_validate(struct gw_str doc, struct gw_str bucket, char *err, size_t err_cap)
{
    struct s3_policy *p = NULL;
    int rv = s3_policy_parse(doc, bucket, &p, err, err_cap);

    s3_policy_unref(p);
    return rv;
}

/* A query parameter as a policy condition value: NULL view when absent. */
static struct gw_str param_value(const struct s3_req *q, const char *name)
{
    const struct s3_param *p = s3_route_param(&q->rt, name);

    if (p == NULL) {
        return GW_STR_NULL;
    }
    return p->value.p != NULL ? p->value : GW_STR("");
}

static void policy_request_fill(const struct s3_req *q, struct gw_str bucket, struct gw_str key,
                                const char *action, struct s3_policy_request *r)
{
    enum s3_op op = q->rt.op;

    memset(r, 0, sizeof *r);
    r->action = action;
    r->bucket = bucket;
    r->key = key;
    r->is_anonymous = q->is_anonymous;
    r->user = gw_str_c(q->user);
    r->user_id = gw_str_c(q->user_id);
    r->source_ip = q->http->peer_ip[0] != '\0' ? q->http->peer_ip : NULL;
    r->is_secure = q->http->is_tls;
    r->now = q->now;
    r->referer = s3_header_get(q->http, "referer");
    r->user_agent = s3_header_get(q->http, "user-agent");
    if (op == S3_OP_LIST_OBJECTS || op == S3_OP_LIST_OBJECTS_V2 ||
        op == S3_OP_LIST_OBJECT_VERSIONS) {
        r->prefix = param_value(q, "prefix");
        r->delimiter = param_value(q, "delimiter");
        r->max_keys = param_value(q, "max-keys");
    }
    /* TODO(policy): s3:ExistingObjectTag needs the object's tags, which live
     * behind an object id read from the mount; until a handler evaluates the
     * policy again with tag_get set, tag conditions see no tags. */
}

/* The decision of @bucket's policy on @action over @bucket/@key.  No policy:
 * S3_POLICY_NONE.  A stored policy that does not parse (written by another
 * version) fails closed: everyone but root and admins is denied. */
static int policy_decide(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                         const char *action, enum s3_policy_decision *out)
{
    struct gw_buf doc = {0};
    struct s3_policy *p = NULL;
    struct s3_policy_request r;
    char err[sizeof q->errmsg];
    int rv = meta_policy_get(q->svc->meta, bucket, &doc);

    *out = S3_POLICY_NONE;
    if (rv == 0) {
        rv = s3_policy_cache_get(q->svc->policy_cache, bucket, gw_buf_str(&doc), &p, err,
                                 sizeof err);
    }
    gw_buf_free(&doc);
    if (rv == GW_ERR_NO_SUCH_POLICY) {
        return GW_OK;
    }
    if (rv == GW_ERR_MALFORMED_POLICY) {
        s3_req_errmsg(q, "the stored policy of %.*s does not parse: %s", (int)bucket.len,
                      bucket.p, err);
        *out = S3_POLICY_DENY;
        return GW_OK;
    }
    if (rv != 0) {
        return GW_ERR_INTERNAL;
    }
    policy_request_fill(q, bucket, key, action, &r);
    *out = s3_policy_eval(p, &r);
    s3_policy_unref(p);
    return GW_OK;
}

/* May the caller do @action on @bucket/@key?  An explicit Deny in the
 * bucket's policy refuses even the owner (as AWS does for all but the
 * account root); otherwise the owner may, and anyone else (anonymous
 * included) only what the policy allows.  A bucket that exists only as a
 * directory on the mount belongs to root. */
static int bucket_access(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                         const char *action)
{
    struct meta_bucket b;
    enum s3_policy_decision d = S3_POLICY_NONE;
    bool is_owner;
    int rv = meta_bucket_get(q->svc->meta, bucket, &b);

    if (rv == GW_ERR_NO_SUCH_BUCKET) {
        snprintf(b.owner, sizeof b.owner, "%s", "root");
    } else if (rv != 0) {
        return GW_ERR_INTERNAL;
    }
    is_owner = !q->is_anonymous && strcmp(b.owner, q->user) == 0;
    rv = policy_decide(q, bucket, key, action, &d);
    if (rv != 0) {
        return rv;
    }
    if (d == S3_POLICY_DENY) {
        if (q->errmsg[0] == '\0') {
            s3_req_errmsg(q, "%s denied by the policy of bucket %.*s", action, (int)bucket.len,
                          bucket.p);
        }
        return GW_ERR_ACCESS_DENIED;
    }
    return is_owner || d == S3_POLICY_ALLOW ? GW_OK : GW_ERR_ACCESS_DENIED;
}

/* CopyObject and UploadPartCopy also read their source: s3:GetObject on it.
 * A header that does not parse is left to the handler (InvalidCopySource). */
static int copy_source_access(struct s3_req *q)
{
    struct gw_str src = s3_header_get(q->http, "x-amz-copy-source");
    struct gw_str bucket;
    struct gw_str key;

    if (src.p == NULL || s3__copy_source_parse(src, q->a, &bucket, &key) != 0) {
        return GW_OK;
    }
    return bucket_access(q, bucket, key, "s3:GetObject");
}

/* The one authorization decision.  Root and admins may do everything; any
 * authenticated user may list and create buckets; inside a bucket,
 * bucket_access() combines ownership with the bucket policy (s3/policy.h). */
int s3__authorize_object(struct s3_req *q, struct gw_str key, const char *action)
{
    return q->is_admin ? GW_OK : bucket_access(q, q->rt.bucket, key, action);
}

static int authorize(struct s3_req *q)
{
    int rv;

    if (q->is_admin) {
        return GW_OK;
    }
    /* DeleteObjects is s3:DeleteObject on each key: decided per key by its handler. */
    if (q->rt.op == S3_OP_DELETE_OBJECTS) {
        return GW_OK;
    }
    if (q->rt.op == S3_OP_LIST_BUCKETS || q->rt.op == S3_OP_CREATE_BUCKET ||
        q->rt.bucket.len == 0) {
        return q->is_anonymous ? GW_ERR_ACCESS_DENIED : GW_OK;
    }
    rv = bucket_access(q, q->rt.bucket, q->rt.key, s3_op_action(q->rt.op));
    if (rv == 0 && (q->rt.op == S3_OP_COPY_OBJECT || q->rt.op == S3_OP_UPLOAD_PART_COPY)) {
        rv = copy_source_access(q);
    }
    return rv;
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
    case S3_OP_PUT_BUCKET_POLICY:
    case S3_OP_GET_BUCKET_POLICY:
    case S3_OP_DELETE_BUCKET_POLICY:
    case S3_OP_GET_BUCKET_POLICY_STATUS:
        s3_op_policy(q);
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
    case S3_OP_CREATE_MULTIPART_UPLOAD:
    case S3_OP_UPLOAD_PART:
    case S3_OP_UPLOAD_PART_COPY:
    case S3_OP_COMPLETE_MULTIPART_UPLOAD:
    case S3_OP_ABORT_MULTIPART_UPLOAD:
    case S3_OP_LIST_PARTS:
    case S3_OP_LIST_MULTIPART_UPLOADS:
        s3_op_mpu(q);
        break;
    case S3_OP_PUT_OBJECT_TAGGING:
    case S3_OP_GET_OBJECT_TAGGING:
    case S3_OP_DELETE_OBJECT_TAGGING:
    case S3_OP_PUT_BUCKET_TAGGING:
    case S3_OP_GET_BUCKET_TAGGING:
    case S3_OP_DELETE_BUCKET_TAGGING:
        s3_op_tagging(q);
        break;
    default:
        s3_err_respond(q, GW_ERR_NOT_IMPLEMENTED);
        break;
    }
}

/* Reads S3 promises to be strongly consistent: tags, bucket policies and
 * multipart listings, and the multipart steps that check the committed
 * parts (Complete validates the list against them, UploadPartCopy replaces
 * one, Abort removes them).  On a cluster they wait for a read barrier, so
 * a write acknowledged by any node (a part uploaded a moment ago through
 * another node) is visible to them on every node. */
static bool needs_barrier(enum s3_op op)
{
    switch (op) {
    case S3_OP_GET_OBJECT_TAGGING:
    case S3_OP_GET_BUCKET_TAGGING:
    case S3_OP_GET_BUCKET_POLICY:
    case S3_OP_GET_BUCKET_POLICY_STATUS:
    case S3_OP_LIST_PARTS:
    case S3_OP_LIST_MULTIPART_UPLOADS:
    case S3_OP_COMPLETE_MULTIPART_UPLOAD:
    case S3_OP_UPLOAD_PART_COPY:
    case S3_OP_ABORT_MULTIPART_UPLOAD:
        return true;
    default:
        return false;
    }
}

static void barrier_done_cb(void *arg, int rv, int result)
{
    struct s3_req *q = arg;

    (void)result;
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    dispatch(q);
}

/* Requests naming an upload that this replica does not hold yet (created a
 * moment ago through another node) wait for a read barrier before they look
 * again; when the upload is here already they go ahead at once. */
static bool upload_missing_here(struct s3_req *q)
{
    const struct s3_param *id = s3_route_param(&q->rt, "uploadId");
    struct meta_upload u;

    switch (q->rt.op) {
    case S3_OP_UPLOAD_PART:
    case S3_OP_UPLOAD_PART_COPY:
    case S3_OP_COMPLETE_MULTIPART_UPLOAD:
    case S3_OP_ABORT_MULTIPART_UPLOAD:
        break;
    default:
        return false;
    }
    return id != NULL && meta_upload_get(q->svc->meta, q->rt.bucket, id->value, &u, NULL) != 0;
}

static void dispatch_consistent(struct s3_req *q)
{
    struct meta_proposer *p = q->svc->proposer;
    int rv;

    if ((!needs_barrier(q->rt.op) && !upload_missing_here(q)) || p->barrier == NULL) {
        dispatch(q);
        return;
    }
    rv = p->barrier(p, barrier_done_cb, q);
    if (rv != 0) {
        s3_err_respond(q, rv);
    }
}

/* This replica holds no record of the bucket: it may have been created
 * through another node a moment ago, with an owner this replica does not
 * know yet.  (A bucket made through POSIX has no record either; refusing
 * one of those costs a read barrier, which is cheap and rare.) */
static bool record_missing_here(struct s3_req *q)
{
    struct meta_bucket b;

    return q->rt.bucket.len > 0 && !q->is_anonymous && q->svc->proposer->barrier != NULL &&
           meta_bucket_get(q->svc->meta, q->rt.bucket, &b) == GW_ERR_NO_SUCH_BUCKET;
}

static void reauthorize_cb(void *arg, int rv, int result)
{
    struct s3_req *q = arg;

    (void)result;
    if (rv == 0) {
        rv = authorize(q);
    }
    if (rv != 0) {
        s3_err_respond(q, rv == GW_ERR_NOT_LEADER ? GW_ERR_ACCESS_DENIED : rv);
        return;
    }
    dispatch_consistent(q);
}

/* Decide again once this replica has caught up with every committed write. */
static bool reauthorize_after_barrier(struct s3_req *q)
{
    struct meta_proposer *p = q->svc->proposer;

    return p->barrier(p, reauthorize_cb, q) == 0;
}

void s3_service_tick(struct s3_service *s, struct gw_pool_loop *pool)
{
    s3__mpu_cleanup_run(s, pool);
    s3__tag_sweep_run(s, s->tag_sweep, pool);
}

void s3_service_set_available(struct s3_service *s, bool available)
{
    s->is_unavailable = !available;
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
    /* A name that cannot be a bucket is refused before anything else looks
     * at it (CreateBucket applies the stricter rules for new names). */
    if (rv == 0 && q->rt.bucket.len > 0 && q->rt.op != S3_OP_CREATE_BUCKET) {
        rv = s3_path_bucket_check_existing(q->rt.bucket);
    }
    if (rv == 0 && s->is_unavailable) {
        rv = GW_ERR_SERVICE_UNAVAILABLE;
    }
    if (rv == 0) {
        rv = authenticate(q);
    }
    if (rv == 0) {
        rv = authorize(q);
    }
    if (rv == GW_ERR_ACCESS_DENIED && record_missing_here(q) && reauthorize_after_barrier(q)) {
        return;
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    dispatch_consistent(q);
}
