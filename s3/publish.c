/* Atomic, durable publication of a staged file.
 *
 *   fsync(file) -> fstat -> record (xattr) -> mkdir parents ->
 *   conditions -> rename (or renameat2 NOREPLACE) -> record (sidecar) ->
 *   fsync(parent dirs)
 *
 * A sidecar record is keyed by the object's name, not its inode, so it is
 * written only after the rename: written earlier, a refused write (a failed
 * condition, a path conflict) would clobber the existing object's record.
 *
 * A reader sees the old object or the new one, never a prefix.  Failures
 * before the rename leave nothing visible (the caller unlinks the temp file);
 * directories created for the key may stay behind empty, and are harmless:
 * they list as nothing unless they carry a marker record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "obj.h"
#include "path.h"
#include "publish.h"
#include "unigw/err.h"

int s3__write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return gw_err_from_errno(errno);
        }
        c += w;
        n -= (size_t)w;
    }
    return GW_OK;
}

int s3__object_id_new(struct s3_objmeta *m)
{
    return RAND_bytes(m->object_id, sizeof m->object_id) == 1 ? GW_OK : GW_ERR_INTERNAL;
}

int s3__stage_create(struct s3_service *s, char *path, size_t cap, int *fd)
{
    int rv = s3_path_tmp_file(path, cap, s->mount, gw_str_c(s->node_id));

    if (rv != 0) {
        return rv;
    }
    *fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
    return *fd < 0 ? gw_err_from_errno(errno) : GW_OK;
}

/* mkdir each missing parent of @key inside the bucket dir; EEXIST on a
 * non-directory is the file-vs-directory conflict. */
static int make_parents(struct s3_publish *p, const char *bucket_dir, bool *created)
{
    struct gw_str dirs[S3_KEY_MAX_LEN / 2 + 1];
    size_t n = 0;
    char path[S3_PATH_MAX];
    struct stat st;

    s3_path_parent_dirs(p->key, dirs, sizeof dirs / sizeof dirs[0], &n);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(path, sizeof path, "%s/%.*s", bucket_dir, (int)dirs[i].len, dirs[i].p);
        if (w < 0 || (size_t)w >= sizeof path) {
            return GW_ERR_KEY_TOO_LONG;
        }
        if (mkdir(path, 0755) == 0) {
            *created = true;
            continue;
        }
        if (errno == ENOTDIR) {
            return GW_ERR_PATH_CONFLICT;
        }
        if (errno != EEXIST) {
            return gw_err_from_errno(errno);
        }
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            return GW_ERR_PATH_CONFLICT;
        }
    }
    return GW_OK;
}

static int check_if_match(struct s3_publish *p, struct gw_arena *a)
{
    struct s3_obj o;
    int rv;

    if (p->if_match.p == NULL) {
        return GW_OK;
    }
    rv = s3__obj_open(p->svc, p->bucket, p->key, a, &o);
    if (rv != 0) {
        return rv;
    }
    close(o.fd);
    return s3__etag_matches(p->if_match, o.etag) ? GW_OK : GW_ERR_PRECONDITION_FAILED;
}

static int rename_into_place(struct s3_publish *p, const char *final)
{
    struct stat st;
    int rv;

    if (p->no_replace) {
        rv = renameat2(AT_FDCWD, p->tmp_path, AT_FDCWD, final, RENAME_NOREPLACE);
        if (rv != 0 && errno == EINVAL) {
            /* No RENAME_NOREPLACE on this filesystem: link() also refuses to replace. */
            rv = link(p->tmp_path, final);
            if (rv == 0) {
                unlink(p->tmp_path);
            }
        }
        if (rv != 0 && errno == EEXIST) {
            return GW_ERR_PRECONDITION_FAILED;
        }
    } else {
        rv = rename(p->tmp_path, final);
    }
    if (rv == 0) {
        return GW_OK;
    }
    if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR ||
        (lstat(final, &st) == 0 && S_ISDIR(st.st_mode))) {
        return GW_ERR_PATH_CONFLICT;
    }
    return gw_err_from_errno(errno);
}

static void parent_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    snprintf(out, cap, "%.*s", (int)n, path);
}

static int publish_marker(struct s3_publish *p, const char *final)
{
    int fd;
    int rv;

    if (mkdir(final, 0755) != 0 && errno != EEXIST) {
        return errno == ENOTDIR ? GW_ERR_PATH_CONFLICT : gw_err_from_errno(errno);
    }
    fd = open(final, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOTDIR || errno == ELOOP ? GW_ERR_PATH_CONFLICT : gw_err_from_errno(errno);
    }
    p->meta->is_marker = true;
    rv = s3_objmeta_store(&p->svc->store, fd, p->bucket, p->key, p->meta);
    close(fd);
    return rv;
}

static int prepare_record(struct s3_publish *p)
{
    struct stat st;

    if (p->svc->cfg.fsync && fsync(p->fd) != 0) {
        return gw_err_from_errno(errno);
    }
    if (fstat(p->fd, &st) != 0) {
        return gw_err_from_errno(errno);
    }
    s3_objmeta_set_fingerprint(p->meta, &st);
    if (!p->svc->store.use_xattr) {
        return GW_OK; /* a sidecar is keyed by name: written only once the rename succeeded */
    }
    return s3_objmeta_store(&p->svc->store, p->fd, p->bucket, p->key, p->meta);
}

int s3__publish(struct s3_publish *p, struct gw_arena *a)
{
    char bucket_dir[S3_PATH_MAX];
    char final[S3_PATH_MAX];
    char dir[S3_PATH_MAX];
    bool created = false;
    struct stat st;
    bool is_marker = s3_path_key_is_marker(p->key);
    int rv;

    if (!p->has_object_id && s3__object_id_new(p->meta) != 0) {
        return GW_ERR_INTERNAL;
    }
    rv = s3_path_for_bucket(bucket_dir, sizeof bucket_dir, p->svc->mount, p->bucket);
    if (rv == 0) {
        rv = s3_path_for_key(final, sizeof final, p->svc->mount, p->bucket, p->key);
    }
    if (rv != 0) {
        return rv;
    }
    if (stat(bucket_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    rv = is_marker ? GW_OK : prepare_record(p);
    if (rv == 0) {
        rv = make_parents(p, bucket_dir, &created);
    }
    if (rv == 0) {
        rv = check_if_match(p, a);
    }
    if (rv == 0) {
        rv = is_marker ? publish_marker(p, final) : rename_into_place(p, final);
    }
    if (rv == 0 && !is_marker && !p->svc->store.use_xattr) {
        rv = s3_objmeta_store(&p->svc->store, p->fd, p->bucket, p->key, p->meta);
    }
    if (rv != 0 || !p->svc->cfg.fsync) {
        return rv;
    }
    parent_of(final, dir, sizeof dir);
    rv = s3__fsync_dir(dir);
    /* New directories must reach disk in their parents too, up to the bucket. */
    while (rv == 0 && created && strlen(dir) > strlen(bucket_dir)) {
        char up[S3_PATH_MAX];
        parent_of(dir, up, sizeof up);
        memcpy(dir, up, strlen(up) + 1);
        rv = s3__fsync_dir(dir);
    }
    return rv;
}
