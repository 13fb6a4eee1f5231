/* Bucket and key names, and the one place that turns them into POSIX paths.
 *
 * Layout on the shared mount (DESIGN.md "Data on the shared mount"):
 *
 *     <root>/<bucket>/<key>               an object ('/' in keys = directories)
 *     <root>/<bucket>/<dir>               the object "<dir>/" (a directory marker)
 *     <root>/.unigw/tmp/<node>-<hex>      a write in progress
 *     <root>/.unigw/multipart/<upload-id> staged parts of an upload
 *
 * Every function that produces a path validates its inputs first, so a path
 * built here can never leave <root>/<bucket>/ (no "." or ".." segment, no
 * empty segment, no NUL, no absolute key, no segment longer than NAME_MAX).
 * Keys arrive here already percent-decoded: "%2e%2e" is checked as "..".
 * Everything here is pure (no filesystem access) except s3_path_tmp_file,
 * which reads getrandom(2).  The paths made here are never handed to a
 * syscall that resolves them: s3/store.h opens them beneath a directory fd
 * with no symlink allowed in any component. */
#ifndef UNIGW_S3_PATH_H
#define UNIGW_S3_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "unigw/str.h"

#define S3_KEY_MAX_LEN 1024
#define S3_SEGMENT_MAX_LEN 255 /* NAME_MAX */
#define S3_BUCKET_MIN_LEN 3
#define S3_BUCKET_MAX_LEN 63
/* Longest name accepted for a bucket that already exists on the mount. */
#define S3_BUCKET_EXISTING_MAX_LEN 255
/* Upload ids are [A-Za-z0-9._-], 1..S3_UPLOAD_ID_MAX_LEN, not starting with '.'. */
#define S3_UPLOAD_ID_MAX_LEN 128
/* Node names in temp files follow the same charset, 1..64 bytes. */
#define S3_NODE_NAME_MAX_LEN 64
/* Enough for every path produced here (PATH_MAX). */
#define S3_PATH_MAX 4096
/* The reserved top-level directory; never a bucket, never listed. */
#define S3_RESERVED_DIR ".unigw"

/* Check @name against the AWS rules for a bucket being created: 3..63 bytes
 * of [a-z0-9.-], starting and ending with a letter or digit, no "..", not an
 * IPv4 address, no "xn--"/"sthree-" prefix, no "-s3alias"/"--ol-s3"/
 * "--x-s3"/".mrap" suffix.  GW_OK or GW_ERR_INVALID_BUCKET_NAME. */
int s3_path_bucket_check_new(struct gw_str name);

/* The looser check for a bucket that already exists as a top-level directory
 * (it may have been made through POSIX): 1..255 bytes of valid UTF-8, no '/',
 * no NUL, not starting with '.' (so never ".unigw", ".", "..").  GW_OK or
 * GW_ERR_INVALID_BUCKET_NAME. */
int s3_path_bucket_check_existing(struct gw_str name);

/* Check an (already percent-decoded) object key: 1..1024 bytes
 * (GW_ERR_KEY_TOO_LONG above), valid UTF-8, no NUL, no leading '/', no empty,
 * "." or ".." segment, no segment over 255 bytes; a single trailing '/' is
 * allowed (a directory marker key).  GW_OK or GW_ERR_INVALID_KEY. */
int s3_path_key_check(struct gw_str key);

/* True when @key ends with '/' (a directory marker object). */
bool s3_path_key_is_marker(struct gw_str key);

/* Write "<root>/<bucket>" into @out (NUL-terminated).  @root has no trailing
 * '/' requirement (one is dropped).  @bucket is checked with
 * s3_path_bucket_check_existing.  GW_ERR_INVALID_BUCKET_NAME, or
 * GW_ERR_INTERNAL when @cap is too small (use S3_PATH_MAX). */
int s3_path_for_bucket(char *out, size_t cap, const char *root, struct gw_str bucket);

/* Write "<root>/<bucket>/<key>" into @out; a marker key "d/" maps to
 * "<root>/<bucket>/d" (the directory itself).  Checks @bucket as above and
 * @key with s3_path_key_check and returns their errors; GW_ERR_INTERNAL when
 * @cap is too small. */
int s3_path_for_key(char *out, size_t cap, const char *root, struct gw_str bucket,
                    struct gw_str key);

/* The path of @key relative to its bucket directory ("a/b" for "a/b", "d"
 * for the marker "d/"), for the fd-relative calls of s3/store.h.  Checks
 * @key with s3_path_key_check and returns its errors; GW_ERR_INTERNAL when
 * @cap is too small. */
int s3_path_key_rel(char *out, size_t cap, struct gw_str key);

/* "<root>/.unigw", "<root>/.unigw/tmp" and "<root>/.unigw/multipart". */
int s3_path_reserved_dir(char *out, size_t cap, const char *root);
int s3_path_tmp_dir(char *out, size_t cap, const char *root);
int s3_path_multipart_root(char *out, size_t cap, const char *root);

/* True when @id is a well-formed upload id (see S3_UPLOAD_ID_MAX_LEN). */
bool s3_path_upload_id_valid(struct gw_str id);

/* "<root>/.unigw/multipart/<upload_id>"; GW_ERR_NO_SUCH_UPLOAD when @upload_id
 * is not well-formed (a client-supplied id that cannot exist). */
int s3_path_multipart_dir(char *out, size_t cap, const char *root, struct gw_str upload_id);

/* A fresh temp-file path "<root>/.unigw/tmp/<node>-<32 random hex>" for an
 * atomic write (create it with O_CREAT|O_EXCL).  @node is this node's name,
 * same charset as upload ids.  GW_ERR_INVALID_ARGUMENT for a bad @node,
 * GW_ERR_IO when no randomness is available, GW_ERR_INTERNAL for a short
 * @cap. */
int s3_path_tmp_file(char *out, size_t cap, const char *root, struct gw_str node);

/* The directories (relative to the bucket, without trailing '/') that must
 * exist before @key can be written, outermost first: "a/b/c" -> "a", "a/b";
 * "a/b/" (a marker, i.e. the directory "a/b") -> "a".  The views point into
 * @key.  @key must have passed s3_path_key_check.  At most @cap are stored;
 * *@n gets the total number (<= S3_KEY_MAX_LEN / 2), so *@n > @cap means
 * @dirs was too short. */
void s3_path_parent_dirs(struct gw_str key, struct gw_str *dirs, size_t cap, size_t *n);

/* Module-internal: true when @s is valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF); *@n_chars (may be NULL) gets the number
 * of code points. */
bool s3__utf8_check(struct gw_str s, size_t *n_chars);

#endif
