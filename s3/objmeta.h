/* Per-object metadata record ("objmeta"): what S3 stores with an object
 * besides its bytes.  It travels with the file as the xattr `user.unigw`, or,
 * on filesystems without user xattrs, in a sidecar tree under
 * `<root>/.unigw/meta/`.  It never goes through Raft.
 *
 * The record stores the file's fingerprint (inode, size, mtime) from when it
 * was written.  A record whose fingerprint no longer matches the file was
 * made stale by a POSIX write: its digests are not served.  ctime is not part
 * of the fingerprint because setting the xattr and the publishing rename both
 * change it. */
#ifndef UNIGW_S3_OBJMETA_H
#define UNIGW_S3_OBJMETA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/str.h"

#include "store.h"

#define S3_OBJMETA_VERSION 1
#define S3_OBJMETA_XATTR "user.unigw"
#define S3_OBJMETA_MAX_LEN 16384

/* Which flexible checksum an object carries (values are stored: never renumber). */
enum s3_cksum {
    S3_CKSUM_NONE = 0,
    S3_CKSUM_CRC32 = 1,
    S3_CKSUM_CRC32C = 2,
    S3_CKSUM_CRC64NVME = 3,
    S3_CKSUM_SHA1 = 4,
    S3_CKSUM_SHA256 = 5,
};

struct s3_kv {
    struct gw_str key;
    struct gw_str value;
};

/* Stored headers, in the order they are returned. */
#define S3_STORED_HEADERS(X)                                                                       \
    X(content_type, "content-type")                                                                \
    X(content_encoding, "content-encoding")                                                        \
    X(content_disposition, "content-disposition")                                                  \
    X(content_language, "content-language")                                                        \
    X(cache_control, "cache-control")                                                              \
    X(expires, "expires")

struct s3_objmeta {
    /* fingerprint of the file when the record was written */
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
    uint8_t md5[16];    /* MD5 of the body, or of the part MD5s when n_parts > 0 */
    uint32_t n_parts;   /* 0: single PUT/copy; N: multipart ETag "<hex>-N" */
    uint8_t object_id[16];
    bool is_marker;     /* a directory-marker object ("dir/") */
#define S3__OM_FIELD(f, h) struct gw_str f;
    S3_STORED_HEADERS(S3__OM_FIELD)
#undef S3__OM_FIELD
    struct s3_kv *user; /* x-amz-meta-* with the prefix stripped, lower-case names */
    size_t n_user;
    enum s3_cksum cksum;
    uint8_t cksum_value[32];
    uint8_t cksum_len;
    bool cksum_composite; /* multipart composite checksum: "<b64>-N" */
};

/* Map between the stored enum and the GW_HASH_* bit of include/unigw/checksum.h. */
enum s3_cksum s3_objmeta_cksum_from_alg(unsigned alg);
unsigned s3_objmeta_cksum_alg(enum s3_cksum c);

int s3_objmeta_encode(const struct s3_objmeta *m, struct gw_buf *out);
/* Decode @in; views point into @in or @a.  GW_ERR_CORRUPT on a malformed
 * record, GW_ERR_TOO_NEW when written by a newer version. */
int s3_objmeta_decode(struct gw_str in, struct gw_arena *a, struct s3_objmeta *out);

/* True when @m's fingerprint matches @st. */
bool s3_objmeta_fresh(const struct s3_objmeta *m, const struct stat *st);
void s3_objmeta_set_fingerprint(struct s3_objmeta *m, const struct stat *st);
/* The ETag with quotes: "\"<32 hex>\"" or "\"<32 hex>-N\"".  For a file with
 * no valid record, the fingerprint ETag "<32 hex>-1" derived from
 * (inode, size, mtime). */
char *s3_objmeta_etag(const struct s3_objmeta *m, struct gw_arena *a);
char *s3_objmeta_fingerprint_etag(const struct stat *st, struct gw_arena *a);

/* Where records live: struct s3_objstore (s3/store.h).  Blocking calls:
 * worker threads only. */

/* Probe whether the mount of @st supports user xattrs (writes a probe file
 * under .unigw/tmp). */
bool s3_objstore_probe_xattr(const struct s3_objstore *st);

/* Read the record of the object open at @fd (path @path, key @bucket/@key for
 * the sidecar).  GW_ERR_NOT_FOUND when there is none. */
int s3_objmeta_load(const struct s3_objstore *st, int fd, struct gw_str bucket, struct gw_str key,
                    struct gw_arena *a, struct s3_objmeta *out);
/* Write the record for the file at @fd (before it is renamed into place, for
 * xattrs; the sidecar is written for @bucket/@key). */
int s3_objmeta_store(const struct s3_objstore *st, int fd, struct gw_str bucket,
                     struct gw_str key, const struct s3_objmeta *m);
/* True when @bucket/@key has a sidecar record (a regular file). */
bool s3_objmeta_sidecar_exists(const struct s3_objstore *st, struct gw_str bucket,
                               struct gw_str key);
/* Remove a sidecar record (no-op with xattrs). */
void s3_objmeta_forget(const struct s3_objstore *st, struct gw_str bucket, struct gw_str key);

#endif
