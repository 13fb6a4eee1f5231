/* The S3 protocol module's contract with the daemon.
 *
 * node/ owns sockets and HTTP framing; s3/ owns everything S3 means.  For each
 * request node fills a struct s3_exchange (embedded in its connection) and
 * calls s3_handle().  From then on s3 owns the exchange until it calls
 * s3_resp_end(); node frees nothing of it before that, even when the client
 * went away (then body reads fail with GW_ERR_CANCELED and pending write
 * callbacks fire with GW_ERR_CANCELED).
 *
 * Body flow is pull-based, which gives back-pressure for free: node stops
 * reading the socket while it holds unconsumed body bytes, so a slow disk or a
 * slow hash never makes the node buffer a whole object.  `Expect:
 * 100-continue` is answered by node the first time s3 reads the body, so a
 * request refused before that (bad signature, no such bucket) never makes the
 * client send its body.
 *
 * Every callback below follows the libuv contract: if the call returns
 * non-zero the callback never fires; otherwise it fires exactly once, later,
 * on the loop thread, never inside the call.  The one exception: resp_end
 * cancels a body_wait still outstanding (its callback never fires).
 *
 * One response per request: s3 calls resp_start exactly once and resp_end
 * exactly once, after it; node asserts both (a second call is a bug in s3).
 * After resp_end nothing of the exchange may be touched, so a handler whose
 * callbacks can still arrive (a body-ready callback, a pool job, a write
 * completion) must have entered a terminal state before it answers and must
 * check it first thing in every callback.
 *
 * The ops are the seam the unit tests use: tests/unit/s3/s3_fixture.c
 * implements them with a fake client that the test steps through every
 * order of events, with @pool a manual pool (gw_pool_manual_create) whose
 * jobs run only when the test says. */
#ifndef UNIGW_INCLUDE_S3_H
#define UNIGW_INCLUDE_S3_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "unigw/arena.h"
#include "unigw/str.h"

struct gw_buf;
struct gw_pool_loop;
struct meta;
struct meta_proposer;

struct s3_header {
    struct gw_str name;  /* lower-case */
    struct gw_str value; /* leading/trailing blanks trimmed */
};

/* The request as parsed by node.  All views live in the exchange's arena. */
struct s3_http_request {
    struct gw_str method; /* "GET", "PUT", ... */
    struct gw_str target; /* raw request-target as sent: /path?query */
    struct s3_header *headers;
    size_t n_headers; /* repeated headers are kept, in order */
    bool has_content_length;
    uint64_t content_length;
    bool is_chunked;       /* Transfer-Encoding: chunked (node de-chunks) */
    bool expects_continue; /* Expect: 100-continue */
    bool is_tls;
    char peer_ip[48];
    char request_id[24]; /* also sent as x-amz-request-id */
};

struct s3_exchange;

typedef void (*s3_ready_cb)(struct s3_exchange *x, void *arg);
typedef void (*s3_write_cb)(struct s3_exchange *x, int rv, void *arg);

struct s3_exchange_ops {
    /* Take the next piece of the (HTTP-de-chunked) body.  On GW_OK, *@chunk
     * views bytes valid until the next body_read or resp_end, and *@eof tells
     * whether the body ended (a zero-length chunk with *@eof false never
     * happens).  GW_ERR_AGAIN: nothing buffered now; call body_wait.  Other
     * codes: the body cannot complete (GW_ERR_INCOMPLETE_BODY,
     * GW_ERR_REQUEST_TIMEOUT, GW_ERR_CANCELED). */
    int (*body_read)(struct s3_exchange *x, struct gw_str *chunk, bool *eof);
    /* @cb fires once data, the end of the body or an error is available.
     * At most one wait is outstanding; body_read is not called while it is. */
    void (*body_wait)(struct s3_exchange *x, s3_ready_cb cb, void *arg);

    /* Queue the status line and @hdrs (node adds Date, Server, Connection
     * and Content-Length, or chunked framing when @content_length < 0).
     * For HEAD and 304 node sends no body whatever is written. */
    void (*resp_start)(struct s3_exchange *x, int status, const struct s3_header *hdrs,
                       size_t n_hdrs, int64_t content_length);
    /* Send @len bytes at @p; @p stays owned by the caller and valid until @cb. */
    int (*resp_write)(struct s3_exchange *x, const void *p, size_t len, s3_write_cb cb,
                      void *arg);
    /* Send @len bytes of @fd from @off with sendfile(2), off the loop thread.
     * @fd stays owned by the caller. */
    int (*resp_sendfile)(struct s3_exchange *x, int fd, uint64_t off, uint64_t len,
                         s3_write_cb cb, void *arg);
    /* The response is complete (or abandoned: when fewer bytes than announced
     * were sent, node closes the connection).  The exchange and its arena are
     * released afterwards; s3 must not touch @x again. */
    void (*resp_end)(struct s3_exchange *x);
};

struct s3_exchange {
    const struct s3_exchange_ops *ops;
    struct s3_http_request req;
    struct gw_arena *arena; /* released after resp_end */
    uv_loop_t *loop;
    struct gw_pool_loop *pool; /* for blocking filesystem work and hashing */
    uint64_t start_ns;         /* uv_hrtime() at the first byte of the request */
    /* Set by s3 for the access log and metrics. */
    const char *op_name; /* "PutObject", ... */
    struct gw_str log_bucket;
    struct gw_str log_key;
    int status;
};

static inline int s3_body_read(struct s3_exchange *x, struct gw_str *chunk, bool *eof)
{
    return x->ops->body_read(x, chunk, eof);
}

static inline void s3_body_wait(struct s3_exchange *x, s3_ready_cb cb, void *arg)
{
    x->ops->body_wait(x, cb, arg);
}

static inline void s3_resp_start(struct s3_exchange *x, int status, const struct s3_header *hdrs,
                                 size_t n_hdrs, int64_t content_length)
{
    x->status = status;
    x->ops->resp_start(x, status, hdrs, n_hdrs, content_length);
}

static inline int s3_resp_write(struct s3_exchange *x, const void *p, size_t len, s3_write_cb cb,
                                void *arg)
{
    return x->ops->resp_write(x, p, len, cb, arg);
}

static inline int s3_resp_sendfile(struct s3_exchange *x, int fd, uint64_t off, uint64_t len,
                                   s3_write_cb cb, void *arg)
{
    return x->ops->resp_sendfile(x, fd, off, len, cb, arg);
}

static inline void s3_resp_end(struct s3_exchange *x)
{
    x->ops->resp_end(x);
}

/* Header lookup (case-insensitive name); the first occurrence, or a NULL view. */
struct gw_str s3_header_get(const struct s3_http_request *r, const char *name);

/* The identity of the file a body was read from (stat's dev, ino, size,
 * mtime and ctime): equal means the file was not replaced or written. */
struct s3_body_fp {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
};

/* The hot-object body cache as the S3 layer sees it; node wires it to
 * node/cache/ (the S3 layer knows no node code).  GET serves the body of an
 * object the cache holds for the file's current identity from memory, and
 * reads a miss the cache admits into it.  Every call may come from any
 * thread; a handle keeps its body valid until release. */
struct s3_body_cache {
    /* A held body of @bucket/@key read from the file @fp: a handle and
     * *@body, or NULL (this counts one read towards admission). */
    void *(*lookup)(struct s3_body_cache *bc, struct gw_str bucket, struct gw_str key,
                    const struct s3_body_fp *fp, struct gw_str *body);
    /* After a miss: room for @size body bytes if the cache admits the key: a
     * handle and *@dst to write them to, or NULL (do not cache). */
    void *(*fill_begin)(struct s3_body_cache *bc, struct gw_str bucket, struct gw_str key,
                        const struct s3_body_fp *fp, uint64_t size, char **dst);
    /* The body is written (@ok) and becomes visible, the handle still the
     * caller's until release; or the fill is given up (!@ok) and the handle
     * is gone. */
    void (*fill_end)(struct s3_body_cache *bc, void *handle, bool ok);
    void (*release)(struct s3_body_cache *bc, void *handle);
    /* @bucket/@key changed through this node: drop its body at once. */
    void (*invalidate)(struct s3_body_cache *bc, struct gw_str bucket, struct gw_str key);
    /* @bytes of GET bodies were read from the mount (a metric). */
    void (*mount_read)(struct s3_body_cache *bc, uint64_t bytes);
};

/* Service-wide settings, filled by node from its config. */
struct s3_config {
    const char *mount;        /* the shared filesystem root */
    const char *region;       /* "us-east-1" */
    const char *vhost_domain; /* "s3.example.com" enables virtual-hosted style; NULL: off */
    uint64_t max_object_size;
    size_t io_chunk_size;      /* bytes per write job */
    unsigned clock_skew_s;     /* 900 */
    unsigned presign_max_expiry_s; /* longest X-Amz-Expires (0: 604800, S3's limit) */
    bool fsync;                /* fsync file, directory and new parents before 200 */
    const char *node_id;       /* names this node's temp files */
    uint64_t mpu_expiry_ms;    /* incomplete multipart uploads expire (0: 7 days) */
    uint64_t tag_sweep_ms;     /* orphaned tag records are looked for this often (0: 1 h) */
    bool background_md5;       /* compute real MD5s of POSIX-written files */
    int xattrs;                /* enum s3_xattrs: where object metadata records live */
    bool copy_file_range;      /* copy with copy_file_range(2) (off: some NFS servers hang) */
    bool reflink;              /* try FICLONE first when copying a whole object */
    struct s3_body_cache *body_cache; /* NULL: GET always reads the mount */
};

/* [storage] xattrs: auto probes the mount at start; on requires user xattrs
 * (start fails without them); off keeps records in sidecar files. */
enum s3_xattrs { S3_XATTRS_AUTO = 0, S3_XATTRS_ON, S3_XATTRS_OFF };

struct s3_service;

/* Create the service.  @meta and @proposer stay owned by the caller and must
 * outlive it.  Returns GW_OK or GW_ERR_*. */
int s3_service_create(const struct s3_config *cfg, struct meta *meta,
                      struct meta_proposer *proposer, struct s3_service **out);
void s3_service_destroy(struct s3_service *s);

/* While unavailable (the node has lost its cluster's leader for too long),
 * every S3 request is answered 503 ServiceUnavailable with Retry-After. */
void s3_service_set_available(struct s3_service *s, bool available);

/* Periodic housekeeping (expired multipart uploads and orphaned staged data),
 * each task at most once per its interval; the daemon calls it on one node,
 * the Raft leader.  Work runs on @pool. */
void s3_service_tick(struct s3_service *s, struct gw_pool_loop *pool);

/* Serve one request; see the file comment for the ownership rules. */
void s3_handle(struct s3_service *s, struct s3_exchange *x);

/* --- For the admin API (node/admin_api.c) ------------------------------------------------ */

/* Who signed a request. */
struct s3_identity {
    char user[256]; /* NUL-terminated; META_NAME_MAX + 1 bytes */
    bool is_admin;  /* root or a user with the admin flag */
    /* When x-amz-content-sha256 named a hex digest, the body must hash to it. */
    bool has_payload_sha256;
    unsigned char payload_sha256[32];
    bool is_streaming; /* an aws-chunked body (STREAMING-* payload modes) */
    bool is_presigned; /* query-string (presigned URL) authentication */
};

/* Authenticate @r with SigV4 (header or presigned) exactly as s3_handle does,
 * against the local replica's keys.  Returns GW_OK with *@out filled,
 * GW_ERR_ACCESS_DENIED for an anonymous request, GW_ERR_USER_DISABLED, or the
 * SigV4 error (GW_ERR_INVALID_ACCESS_KEY, GW_ERR_BAD_SIGNATURE, ...). */
int s3_authenticate(struct s3_service *s, const struct s3_http_request *r, struct gw_arena *a,
                    struct s3_identity *out);

/* Blocking bucket-directory helpers (call them on a pool worker).  They are
 * what CreateBucket and DeleteBucket do on the mount.
 * s3_bucket_dir_create: GW_OK, GW_ERR_INVALID_BUCKET_NAME, GW_ERR_EXISTS (the
 * directory is there already), GW_ERR_BUCKET_EXISTS (the name is taken by a
 * symlink or a file, which is no bucket) or an I/O error.
 * s3_bucket_dir_remove: GW_OK, GW_ERR_NO_SUCH_BUCKET, GW_ERR_BUCKET_NOT_EMPTY
 * or an I/O error; the bucket's sidecar metadata directory goes with it.
 * s3_bucket_dir_exists: GW_OK or GW_ERR_NO_SUCH_BUCKET (or an I/O error); a
 * top-level symlink is no bucket for any of them.
 * s3_bucket_dir_list: the names of the bucket directories on the mount,
 * sorted, in @a (views valid while @a lives). */
int s3_bucket_dir_create(struct s3_service *s, struct gw_str name);
int s3_bucket_dir_remove(struct s3_service *s, struct gw_str name);
int s3_bucket_dir_exists(struct s3_service *s, struct gw_str name);
int s3_bucket_dir_list(struct s3_service *s, struct gw_arena *a, struct gw_str **names,
                       size_t *n);

/* Validate the bucket policy document @doc for @bucket as PutBucketPolicy
 * does.  GW_OK, or GW_ERR_MALFORMED_POLICY with a sentence in @err (@err_cap
 * bytes, NUL-terminated). */
int s3_policy_validate(struct gw_str doc, struct gw_str bucket, char *err, size_t err_cap);

/* Principals by user id (s3/policy_principal.c).  Bind: append to @out the
 * document @doc (already validated) with every user it names replaced by that
 * user's immutable id, as it is stored; GW_OK, GW_ERR_MALFORMED_POLICY with a
 * sentence in @err when it names an unknown user, or a store fault.  Show:
 * append @doc with every id of an existing user turned back into its ARN,
 * for GetBucketPolicy.  A document without users is appended unchanged. */
int s3_policy_bind_users(struct meta *m, struct gw_str doc, struct gw_buf *out, char *err,
                         size_t err_cap);
int s3_policy_show_users(struct meta *m, struct gw_str doc, struct gw_buf *out);

#endif
