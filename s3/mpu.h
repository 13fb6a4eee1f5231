/* Private to s3/: multipart uploads (s3/op_mpu.c, s3/mpu_complete.c,
 * s3/mpu_cleanup.c), the UploadPart hooks that s3/op_put.c's body pipeline
 * calls, and the tag helpers of s3/op_tagging.c that the write paths use. */
#ifndef UNIGW_S3_MPU_H
#define UNIGW_S3_MPU_H

#include <stdbool.h>
#include <stdint.h>

#include "objmeta.h"
#include "path.h"
#include "req.h"
#include "unigw/checksum.h"
#include "unigw/meta.h"

#define S3_MPU_MIN_PART_SIZE (5ull << 20) /* every part but the last */
#define S3_MPU_ID_PREFIX "v1-"            /* the layout version of upload ids */
#define S3_MPU_EXPIRY_DEFAULT_MS (7ull * 24 * 3600 * 1000)

/* What CreateMultipartUpload stores for the object (the upload's opaque info
 * in meta): the stored headers and x-amz-meta-* (an objmeta record), the
 * checksum algorithm and type, and the tag set from x-amz-tagging. */
struct s3_mpu_info {
    struct s3_objmeta meta; /* meta.cksum: the algorithm (no value) */
    bool is_full_object;    /* x-amz-checksum-type: FULL_OBJECT */
    struct gw_str tags;     /* canonical "k=v&k2=v2", may be empty */
};

void s3__mpu_info_encode(const struct s3_mpu_info *in, struct gw_buf *out);
/* GW_OK or GW_ERR_CORRUPT; views point into @in or @a. */
int s3__mpu_info_decode(struct gw_str in, struct gw_arena *a, struct s3_mpu_info *out);

/* Run @cmd through the proposer; @cb(arg, rv) gets the replication error or
 * the apply result (GW_OK or a business code).  @cmd is freed here. */
typedef void (*s3_mpu_done_cb)(void *arg, int rv);
void s3__mpu_propose(struct s3_req *q, struct gw_buf *cmd, s3_mpu_done_cb cb, void *arg);

/* --- UploadPart (s3/op_put.c's pipeline) ----------------------------------- */

struct s3_mpu_part {
    struct gw_str upload_id;
    uint32_t number;
    unsigned upload_alg; /* GW_HASH_* bit of the upload's checksum, or 0 */
    char dir[S3_PATH_MAX];
    char file[64];
    char path[S3_PATH_MAX];
};

/* Loop thread: read ?partNumber and ?uploadId and check the upload is open
 * for this key.  GW_OK, GW_ERR_INVALID_ARGUMENT (part number outside
 * 1..10000), GW_ERR_NO_SUCH_UPLOAD. */
int s3__mpu_part_begin(struct s3_req *q, struct s3_mpu_part **out);
/* Pool thread: create the staged file <mount>/.unigw/multipart/<id>/<n>-<rnd>. */
int s3__mpu_part_stage(struct s3_req *q, struct s3_mpu_part *pt, int *fd);
/* Loop thread: commit the part record (the file was fsynced); on success the
 * part it replaces loses its staged file.  @cb(arg, rv) later. */
void s3__mpu_part_commit(struct s3_req *q, struct s3_mpu_part *pt, const struct gw_digests *d,
                         uint64_t size, s3_mpu_done_cb cb, void *arg);

/* Validate a CompleteMultipartUpload list (already in ascending order)
 * against the committed parts @all (ascending): every listed part exists
 * with that ETag (GW_ERR_INVALID_PART), and every part but the last holds at
 * least S3_MPU_MIN_PART_SIZE bytes (GW_ERR_ENTITY_TOO_SMALL).  On GW_OK,
 * @out (doc->n_parts entries) gets the listed records and *@size the total. */
struct s3_xml_complete;
int s3__mpu_check_parts(const struct s3_xml_complete *doc, const struct meta_part *all,
                        size_t n_all, struct meta_part *out, uint64_t *size);
/* The multipart ETag "<md5 of the concatenated part MD5s>-N" (no quotes). */
void s3__mpu_final_etag(const struct meta_part *parts, size_t n, char *out, size_t cap);

/* Handlers. */
void s3__mpu_complete(struct s3_req *q);
void s3__mpu_part_copy(struct s3_req *q);
/* "ChecksumCRC32" ... for a GW_HASH_* checksum bit. */
const char *s3__mpu_checksum_elem(unsigned alg);
/* Shared by the multipart handlers: a command header for this request, and
 * the upload named by ?uploadId for this bucket and key (@info may be NULL). */
int s3__mpu_cmd_hdr(struct s3_req *q, struct meta_cmd_hdr *h);
int s3__mpu_upload_lookup(struct s3_req *q, struct meta_upload *u, struct gw_buf *info);

/* Background cleanup: at most once per interval, scan for expired uploads and
 * staged directories without an upload, off the loop. */
void s3__mpu_cleanup_maybe(struct s3_req *q);
/* The same trigger without a request (s3_service_tick). */
void s3__mpu_cleanup_run(struct s3_service *s, struct gw_pool_loop *pool);
/* Remove the staged directory of upload @id beneath the mount root (pool). */
void s3__mpu_rm_upload_dir(struct s3_service *s, struct gw_str id);

/* --- Tags (s3/op_tagging.c) ---------------------------------------------------- */

/* The tag-set identity of an object: its record's object id while the record
 * is fresh, else its fingerprint (a POSIX overwrite changes it). */
struct gw_str s3__tag_object_id(const struct s3_objmeta *m, bool has_meta, const struct stat *st,
                                struct gw_arena *a);
/* Parse x-amz-tagging (if present) into the canonical encoding *@out (a NULL
 * view when absent).  GW_OK or GW_ERR_INVALID_TAG. */
int s3__tag_header(struct s3_req *q, struct gw_str *out);
/* Store @tags (canonical) under @m's object id (a NULL or empty @tags stores
 * nothing).  Then @cb(arg, rv).  The write paths call it before they
 * publish, with an object id they chose (s3_publish.has_object_id): a
 * refused proposal then leaves the old object as it was, and a tag record
 * for an id that never appeared reads as stale. */
void s3__tag_store(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                   const struct s3_objmeta *m, struct gw_str tags, s3_mpu_done_cb cb, void *arg);
/* Pool thread, before @bucket/@key is removed or replaced: the identity
 * whose tag set must go with it (a NULL view when it has none, or when the
 * stored tags belong to another object id).  The view lives in @a. */
struct gw_str s3__tag_drop_due(struct s3_service *s, struct gw_str bucket, struct gw_str key,
                               struct gw_arena *a);
/* Loop thread, after the removal: propose tags_drop for @object_id (from
 * s3__tag_drop_due).  Then @cb(arg, rv); a failure leaves a stale record
 * that no object reads. */
void s3__tag_drop(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                  struct gw_str object_id, s3_mpu_done_cb cb, void *arg);

/* The tag set an object has before a write replaces it: one tag record per
 * key, so committing the new object's tags replaces the old object's, and a
 * write refused after that (a failed condition, a full disk) puts them back. */
struct s3_tag_prior {
    bool has_tags;
    struct gw_str object_id; /* views in the request's arena */
    struct gw_str tags;
};
/* Blocking (pool): what @bucket/@key has now (has_tags false: no object or no tags). */
void s3__tag_prior_read(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                        struct s3_tag_prior *out);
/* Loop: commit @pr's tags again (it must have some), then @cb(arg, rv). */
void s3__tag_restore(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                     const struct s3_tag_prior *pr, s3_mpu_done_cb cb, void *arg);
/* The number of tags the object has (x-amz-tagging-count), 0 when none. */
size_t s3__tag_count(struct s3_req *q, struct gw_str object_id);

#endif
