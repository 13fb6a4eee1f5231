/* DeleteObject and DeleteObjects.  Deleting a missing key succeeds (204),
 * as S3 does.  After removing a file, parent directories left empty are
 * removed up to the bucket, unless they are directory-marker objects, so a
 * prefix disappears from listings with its last key as it does on S3.  A
 * marker "d/" whose directory still holds objects just loses its record.
 *
 *   identity of a tagged object, remove (pool) -> tags_drop for each removed
 *   object that had tags, one after the other (loop) -> answer
 *
 * The tag set goes with the object it belongs to; a failed tags_drop only
 * leaves a record no object reads, so the answer does not depend on it.
 *
 * Everything acts beneath the bucket directory's fd (s3/store.h).  A key
 * whose path meets a symlink, as a directory on the way or as the object
 * itself, answers NoSuchKey rather than the 204 of a missing key, so the
 * client can tell nothing was removed; the link stays. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mpu.h"
#include "obj.h"
#include "path.h"
#include "store.h"
#include "xml_in.h"
#include "xml_out.h"
#include "unigw/err.h"

/* Whether the directory @rel of the bucket open at @bfd is a marker object
 * (its record is there); one that cannot be opened counts as one, so it is
 * left alone. */
static bool dir_is_marker(struct s3_service *s, int bfd, const char *rel, struct gw_str bucket,
                          struct gw_str dir_key)
{
    bool is_marker;
    int fd;

    if (!s->store.use_xattr) {
        return s3_objmeta_sidecar_exists(&s->store, bucket, dir_key);
    }
    fd = s3__store_openat(bfd, rel, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        return true;
    }
    is_marker = fgetxattr(fd, S3_OBJMETA_XATTR, NULL, 0) >= 0;
    close(fd);
    return is_marker;
}

/* rmdir the empty, unmarked parents of @key, innermost first. */
static void prune_parents(struct s3_service *s, int bfd, struct gw_str bucket, struct gw_str key)
{
    struct gw_str dirs[S3_KEY_MAX_LEN / 2 + 1];
    size_t n = 0;
    char rel[S3_PATH_MAX];

    s3_path_parent_dirs(key, dirs, sizeof dirs / sizeof dirs[0], &n);
    while (n-- > 0) {
        memcpy(rel, dirs[n].p, dirs[n].len);
        rel[dirs[n].len] = '\0';
        if (dir_is_marker(s, bfd, rel, bucket, dirs[n]) ||
            s3__store_unlinkat(bfd, rel, AT_REMOVEDIR) != 0) {
            return;
        }
    }
}

/* A path that meets a symlink names no object: refused, nothing removed. */
static int missing_or(int e)
{
    if (e == ELOOP) {
        return GW_ERR_NO_SUCH_KEY;
    }
    return e == ENOENT || e == ENOTDIR ? GW_OK : gw_err_from_errno(e);
}

static int delete_marker(struct s3_service *s, int bfd, struct gw_str bucket, struct gw_str key,
                         const char *rel)
{
    int fd = s3__store_openat(bfd, rel, O_RDONLY | O_DIRECTORY, 0);

    if (fd < 0) {
        return missing_or(errno);
    }
    if (s->store.use_xattr) {
        fremovexattr(fd, S3_OBJMETA_XATTR);
    }
    close(fd);
    s3_objmeta_forget(&s->store, bucket, key);
    if (s3__store_unlinkat(bfd, rel, AT_REMOVEDIR) != 0 && errno != ENOENT &&
        errno != ENOTEMPTY && errno != ENOTDIR && errno != EEXIST) {
        return gw_err_from_errno(errno);
    }
    return GW_OK;
}

/* Unlink the file @rel through its verified parent.  A directory there is
 * not this key (nothing to do); a symlink there is not an object. */
static int delete_file(struct s3_service *s, int bfd, struct gw_str bucket, struct gw_str key,
                       const char *rel)
{
    const char *leaf;
    struct stat st;
    int pfd = s3__store_parent(bfd, rel, &leaf);
    int rv = GW_OK;

    if (pfd < 0) {
        return missing_or(errno);
    }
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rv = missing_or(errno);
    } else if (S_ISLNK(st.st_mode)) {
        rv = GW_ERR_NO_SUCH_KEY;
    } else if (!S_ISDIR(st.st_mode) && unlinkat(pfd, leaf, 0) != 0) {
        rv = missing_or(errno);
    }
    close(pfd);
    if (rv == 0) {
        s3_objmeta_forget(&s->store, bucket, key);
    }
    return rv;
}

int s3__obj_delete(struct s3_service *s, struct gw_str bucket, struct gw_str key)
{
    char rel[S3_PATH_MAX];
    int bfd = -1;
    int rv = s3_path_key_rel(rel, sizeof rel, key);

    if (rv == 0) {
        rv = s3__store_bucket(&s->store, bucket, &bfd);
    }
    if (rv != 0) {
        return rv;
    }
    if (s3_path_key_is_marker(key)) {
        rv = delete_marker(s, bfd, bucket, key, rel);
    } else {
        rv = delete_file(s, bfd, bucket, key, rel);
    }
    if (rv == 0) {
        prune_parents(s, bfd, bucket, key);
    }
    if (rv == 0 && s->cfg.body_cache != NULL) {
        s->cfg.body_cache->invalidate(s->cfg.body_cache, bucket, key);
    }
    close(bfd);
    return rv;
}

struct del_op {
    struct s3_req *q;
    int rv;
    struct s3_xml_delete doc;
    int *results;
    struct gw_str *drop; /* per key: the removed object's tag identity, or NULL */
    size_t next;         /* the next key whose tags_drop is due */
    struct gw_str one_drop;
};

/* Pool: note what must go with the object, then remove it. */
static int delete_one(struct del_op *d, struct gw_str key, struct gw_str *drop)
{
    struct s3_service *s = d->q->svc;
    int rv;

    *drop = s3__tag_drop_due(s, d->q->rt.bucket, key, d->q->a);
    rv = s3__obj_delete(s, d->q->rt.bucket, key);
    if (rv != 0) {
        *drop = GW_STR_NULL;
    }
    return rv;
}

static void delete_work_cb(struct gw_pool_job *job)
{
    struct del_op *d = job->data;

    d->rv = delete_one(d, d->q->rt.key, &d->one_drop);
}

static void one_dropped_cb(void *arg, int rv)
{
    struct del_op *d = arg;

    (void)rv; /* logged by the tag step */
    s3_req_respond_empty(d->q, 204);
}

static void delete_done_cb(struct gw_pool_job *job)
{
    struct del_op *d = job->data;

    if (d->rv != 0) {
        s3_err_respond(d->q, d->rv);
        return;
    }
    if (d->one_drop.len > 0) {
        s3__tag_drop(d->q, d->q->rt.bucket, d->q->rt.key, d->one_drop, one_dropped_cb, d);
        return;
    }
    s3_req_respond_empty(d->q, 204);
}

void s3_op_object_delete(struct s3_req *q)
{
    struct del_op *d = gw_arena_zalloc(q->a, sizeof *d);

    d->q = q;
    gw_pool_submit(q->x->pool, &q->job, delete_work_cb, delete_done_cb, d);
}

/* ---- DeleteObjects ------------------------------------------------------- */

static void multi_work_cb(struct gw_pool_job *job)
{
    struct del_op *d = job->data;
    struct stat st;

    d->rv = s3__bucket_stat(d->q->svc, d->q->rt.bucket, &st);
    for (size_t i = 0; d->rv == 0 && i < d->doc.n_objects; i++) {
        if (d->results[i] == 0) { /* not refused by the per-key authorization */
            d->results[i] = delete_one(d, d->doc.objects[i].key, &d->drop[i]);
        }
    }
}

static void multi_respond(struct del_op *d)
{
    struct s3_req *q = d->q;
    struct s3_xml_writer w;

    s3_xml_begin(&w, &q->body_out, "DeleteResult", S3_XML_NS);
    for (size_t i = 0; i < d->doc.n_objects; i++) {
        int rv = d->results[i];
        if (rv == 0 && d->doc.quiet) {
            continue;
        }
        s3_xml_open(&w, rv == 0 ? "Deleted" : "Error");
        s3_xml_elem(&w, "Key", d->doc.objects[i].key);
        if (rv != 0) {
            s3_xml_elem_c(&w, "Code", gw_err_code(rv));
            s3_xml_elem_c(&w, "Message", gw_err_message(rv));
        }
        s3_xml_close(&w);
    }
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

static void multi_dropped_cb(void *arg, int rv);

/* The next due tags_drop, or the answer once none is left. */
static void multi_drop_next(struct del_op *d)
{
    while (d->next < d->doc.n_objects && d->drop[d->next].len == 0) {
        d->next++;
    }
    if (d->next == d->doc.n_objects) {
        multi_respond(d);
        return;
    }
    d->next++;
    s3__tag_drop(d->q, d->q->rt.bucket, d->doc.objects[d->next - 1].key, d->drop[d->next - 1],
                 multi_dropped_cb, d);
}

static void multi_dropped_cb(void *arg, int rv)
{
    struct del_op *d = arg;

    (void)rv; /* logged by the tag step */
    multi_drop_next(d);
}

static void multi_done_cb(struct gw_pool_job *job)
{
    struct del_op *d = job->data;

    if (d->rv != 0) {
        s3_err_respond(d->q, d->rv);
        return;
    }
    multi_drop_next(d);
}

static void multi_body_cb(struct s3_req *q, int rv, struct gw_str body)
{
    struct del_op *d = q->op;

    if (rv == 0) {
        rv = s3_xml_parse_delete(body, q->a, &d->doc);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    d->results = gw_arena_zalloc(q->a, (d->doc.n_objects + 1) * sizeof *d->results);
    d->drop = gw_arena_zalloc(q->a, (d->doc.n_objects + 1) * sizeof *d->drop);
    /* Each key is its own s3:DeleteObject request (a Deny on a prefix holds here too). */
    for (size_t i = 0; i < d->doc.n_objects; i++) {
        d->results[i] = s3__authorize_object(q, d->doc.objects[i].key, "s3:DeleteObject");
    }
    gw_pool_submit(q->x->pool, &q->job, multi_work_cb, multi_done_cb, d);
}

void s3_op_delete_objects(struct s3_req *q)
{
    struct del_op *d = gw_arena_zalloc(q->a, sizeof *d);

    d->q = q;
    q->op = d;
    s3__read_small_body(q, S3_XML_DELETE_MAX_LEN, multi_body_cb);
}
