/* The S3 layer's body cache (include/unigw/s3.h struct s3_body_cache) on the
 * node's hot-object cache (node/cache/cache.h), with the mount-read metric.
 * Local only: each node caches what its own GETs read; choosing one owner per
 * object and the peer path (issue 10) come on top of this. */
#include <string.h>

#include "cache.h"
#include "cache_body.h"
#include "metrics.h"
#include "unigw/alloc.h"
#include "unigw/err.h"

struct cache_body {
    struct s3_body_cache ops;
    struct node_cache *c;
};

static struct node_cache *cache_of(struct s3_body_cache *bc)
{
    return ((struct cache_body *)bc)->c;
}

static struct node_cache_fp fp_of(const struct s3_body_fp *f)
{
    struct node_cache_fp fp = {f->dev, f->ino, f->size, f->mtime_ns, f->ctime_ns};
    return fp;
}

static void *body_lookup(struct s3_body_cache *bc, struct gw_str bucket, struct gw_str key,
                         const struct s3_body_fp *f, struct gw_str *body)
{
    struct node_cache_fp fp = fp_of(f);
    struct node_cache_entry *e = NULL;

    if (node_cache_lookup(cache_of(bc), bucket, key, &fp, &e) != 0) {
        return NULL;
    }
    *body = node_cache_entry_body(e);
    return e;
}

static void *body_fill_begin(struct s3_body_cache *bc, struct gw_str bucket, struct gw_str key,
                             const struct s3_body_fp *f, uint64_t size, char **dst)
{
    struct node_cache_fp fp = fp_of(f);
    struct node_cache_entry *e = NULL;

    if (!node_cache_admits(cache_of(bc), bucket, key, size) ||
        node_cache_fill_begin(cache_of(bc), bucket, key, &fp, NULL, 0, size, 0, &e) != 0) {
        return NULL;
    }
    *dst = node_cache_fill_body(e);
    return e;
}

static void body_fill_end(struct s3_body_cache *bc, void *h, bool ok)
{
    if (ok) {
        (void)node_cache_fill_commit(cache_of(bc), h); /* CANCELED: served, not kept */
    } else {
        node_cache_fill_abort(cache_of(bc), h);
    }
}

static void body_release(struct s3_body_cache *bc, void *h)
{
    (void)bc;
    node_cache_entry_unref(h);
}

static void body_invalidate(struct s3_body_cache *bc, struct gw_str bucket, struct gw_str key)
{
    node_cache_invalidate(cache_of(bc), bucket, key);
}

static void body_mount_read(struct s3_body_cache *bc, uint64_t bytes)
{
    (void)bc;
    node_metrics_mount_read(bytes);
}

struct s3_body_cache *node_cache_body_create(struct node_cache *c)
{
    struct cache_body *b = gw_calloc(1, sizeof *b);

    b->c = c;
    b->ops.lookup = body_lookup;
    b->ops.fill_begin = body_fill_begin;
    b->ops.fill_end = body_fill_end;
    b->ops.release = body_release;
    b->ops.invalidate = body_invalidate;
    b->ops.mount_read = body_mount_read;
    return &b->ops;
}

void node_cache_body_destroy(struct s3_body_cache *bc)
{
    gw_free(bc);
}
