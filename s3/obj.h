/* Opening an object on the mount and describing it in HTTP terms; shared by
 * GET, HEAD, CopyObject and the conditional-write checks. */
#ifndef UNIGW_S3_OBJ_H
#define UNIGW_S3_OBJ_H

#include <sys/stat.h>

#include "objmeta.h"
#include "req.h"

struct s3_obj {
    int fd; /* -1 when not open */
    struct stat st;
    bool is_marker;
    bool has_meta;  /* a record exists and its fingerprint matches */
    struct s3_objmeta meta;
    char *etag;     /* quoted */
};

/* Open @bucket/@key read-only beneath the bucket directory's fd (blocking:
 * worker threads).  Maps a missing bucket (a top-level symlink is none) to
 * GW_ERR_NO_SUCH_BUCKET and anything that is not an object (a missing path,
 * a directory named without '/', a FIFO, socket or device node, a symlink
 * as the object or as any directory on its way) to GW_ERR_NO_SUCH_KEY; a
 * special file is refused without blocking (s3__store_open_file).  On
 * GW_OK the caller closes o->fd. */
int s3__obj_open(struct s3_service *s, struct gw_str bucket, struct gw_str key,
                 struct gw_arena *a, struct s3_obj *o);

/* Evaluate If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since
 * (@prefix "" for GET/HEAD, "x-amz-copy-source-" for copies) with AWS's
 * precedence.  GW_OK, GW_ERR_PRECONDITION_FAILED or GW_ERR_NOT_MODIFIED. */
int s3__obj_conditions(struct s3_req *q, const struct s3_obj *o, const char *prefix);
/* ETag, Last-Modified, the stored headers and x-amz-meta-*. */
void s3__obj_headers(struct s3_req *q, const struct s3_obj *o);
/* True when an If-Match style list (`"a", "b"` or `*`) matches @etag. */
bool s3__etag_matches(struct gw_str cond, const char *etag);

/* Blocking: delete one key (and the empty unmarked directories above it).
 * GW_OK also when it did not exist; GW_ERR_NO_SUCH_KEY when its path meets a
 * symlink (the link, and what it points at, stay). */
int s3__obj_delete(struct s3_service *s, struct gw_str bucket, struct gw_str key);

/* Parse x-amz-copy-source ("bkt/key", "/bkt/key", percent-encoded once, an
 * optional "?versionId=..." ignored; '+' stays '+'): views in @a.  GW_OK,
 * GW_ERR_INVALID_COPY_SOURCE, or the key's error from s3_path_key_check. */
int s3__copy_source_parse(struct gw_str header, struct gw_arena *a, struct gw_str *bucket,
                          struct gw_str *key);

#endif
