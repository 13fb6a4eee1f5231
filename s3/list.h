/* The listing engine: objects of a bucket, in S3 order, from the directory
 * tree on the mount; and the buckets (top-level directories) of the mount.
 *
 * Objects are regular files under the bucket directory, '/' in keys being
 * directory boundaries.  A directory is also the object "dir/" (a directory
 * marker) when it is empty or carries a marker record; otherwise directories
 * are implicit.  Keys come out in UTF-8 binary (memcmp) order across
 * directory boundaries: inside a directory entries sort by name with a
 * subdirectory sorting as "name/" (so "a-b" < "a/" < "a0"), depth first.
 *
 * Skipped, silently: symlinks (never followed), sockets, fifos, devices,
 * names that are not valid key segments (invalid UTF-8), keys longer than
 * S3_KEY_MAX_LEN, entries that vanish while we look at them.
 *
 * All of it is blocking I/O for a worker thread; nothing here touches
 * libuv.  Only entries returned are stat'ed.  A concurrent change to the tree
 * never crashes a listing; it may or may not show up in it. */
#ifndef UNIGW_S3_LIST_H
#define UNIGW_S3_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/arena.h"
#include "unigw/str.h"

#define S3_LIST_MAX_KEYS 1000
/* The xattr whose presence makes a non-empty directory a marker object. */
#define S3_LIST_MARKER_XATTR "user.unigw"
/* Directories changed less than this long ago are not cached (a change in
 * the same timestamp granule would go unnoticed). */
#define S3_LIST_CACHE_RACY_NS 2000000000LL

struct s3_list_cache;

/* Tells whether the directory open at @dir_fd, which is the key @dir_key
 * (ending in '/'), carries a directory-marker record.  Called only for
 * non-empty directories whose marker key could be returned. */
typedef bool (*s3_list_marker_cb)(int dir_fd, struct gw_str dir_key, void *arg);

struct s3_list_params {
    int bucket_fd;           /* the bucket directory (s3__store_bucket); not closed here */
    struct gw_str prefix;    /* only keys starting with it; may end mid-name */
    struct gw_str delimiter; /* any string; empty = none */
    /* Exclusive start: start-after, marker, or a decoded continuation token.
     * Keys <= it are skipped, and so are keys that roll up into a common
     * prefix <= it (so a NextMarker that is a common prefix resumes after the
     * whole prefix). */
    struct gw_str start_after;
    size_t max_keys;             /* capped to S3_LIST_MAX_KEYS; 0 returns nothing */
    struct s3_list_cache *cache; /* optional */
    /* NULL: a directory is a marker when it has the S3_LIST_MARKER_XATTR xattr. */
    s3_list_marker_cb is_marker;
    void *is_marker_arg;
};

struct s3_list_entry {
    struct gw_str key;     /* in the arena */
    bool is_common_prefix; /* then nothing below is set */
    bool is_dir;           /* a directory marker object (key ends with '/', size 0) */
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint64_t ino;
    uint64_t dev;
};

struct s3_list_result {
    struct s3_list_entry *entries; /* keys and common prefixes, merged, in order */
    size_t n_entries;
    bool is_truncated;
    /* When truncated: the last key or common prefix returned (NextMarker,
     * and what a continuation token should carry); else empty. */
    struct gw_str next_marker;
};

/* List the bucket open at @p->bucket_fd (O_PATH is enough: it is reopened
 * for reading).  Results live in @a.  GW_ERR_IO when it cannot be read
 * (EMFILE, EIO, permission on the bucket directory).  Unreadable or
 * vanished subdirectories are skipped. */
int s3_list_run(const struct s3_list_params *p, struct gw_arena *a, struct s3_list_result *out);

struct s3_bucket_info {
    struct gw_str name; /* in the arena */
    int64_t mtime_ns;
    int64_t ctime_ns;
};

/* The top-level directories of the mount root open at @root_fd that are
 * valid existing bucket names (s3_path_bucket_check_existing: never ".unigw"
 * or a dot name), sorted by name; symlinks and files are skipped.
 * GW_ERR_IO if the root cannot be read. */
int s3_list_buckets(int root_fd, struct gw_arena *a, struct s3_bucket_info **out, size_t *n);

/* A bounded, thread-safe LRU of sorted directory listings keyed by the
 * directory's fingerprint (dev, inode, mtime ns, ctime ns), so paging through
 * a huge directory reads and sorts it once.  Any create, rename or unlink in
 * a directory changes its mtime and so retires the entry.  It holds at most
 * @max_dirs listings and about @max_bytes of names; directories changed less
 * than @racy_ns ago are not cached (use S3_LIST_CACHE_RACY_NS).  One cache
 * per node, shared by every listing thread. */
struct s3_list_cache *s3_list_cache_create(size_t max_dirs, size_t max_bytes, int64_t racy_ns);
/* Frees the cache; no listing may be running with it.  NULL is a no-op. */
void s3_list_cache_destroy(struct s3_list_cache *c);
/* Counters since creation, for metrics and tests. */
void s3_list_cache_stats(struct s3_list_cache *c, uint64_t *hits, uint64_t *misses,
                         size_t *n_dirs);

#endif
