/* Atomic, durable publication of a staged file.
 *
 *   fsync(file) -> fstat -> record (xattr) -> open bucket -> mkdir parents
 *   (fsyncing each new one's parent) -> conditions -> rename (or renameat2
 *   NOREPLACE) -> record (sidecar) -> fsync(the object's directory)
 *
 * Every step acts on fds (s3/store.h): the bucket is opened O_NOFOLLOW, each
 * parent is made with mkdirat and opened O_NOFOLLOW from the one before, and
 * the rename goes from the temp file's verified directory to the object's.
 * A symlink met on the way refuses the write (GW_ERR_PATH_CONFLICT) before
 * anything is created behind it; a symlink in the object's own place is
 * replaced by the rename, never written through.
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
#include "store.h"
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
    *fd = s3__store_path_open(&s->store, path, O_CREAT | O_EXCL | O_RDWR, 0644);
    return *fd < 0 ? gw_err_from_errno(errno) : GW_OK;
}

/* Open (making what is missing) the directory that will hold @rel's last
 * component, beneath the bucket: *@leaf is that component.  A file or a
 * symlink where a directory must be is the file-vs-directory conflict, and
 * nothing is created behind a symlink. */
static int open_parent(struct s3_publish *p, int bfd, char *rel, int *pfd, const char **leaf)
{
    char *slash = strrchr(rel, '/');

    if (slash != NULL) {
        *slash = '\0';
        *leaf = slash + 1;
    } else {
        *leaf = rel;
    }
    *pfd = s3__store_mkdirs(bfd, slash != NULL ? rel : "", 0755, p->svc->cfg.fsync, NULL);
    if (slash != NULL) {
        *slash = '/';
    }
    if (*pfd >= 0) {
        return GW_OK;
    }
    return errno == ENOTDIR || errno == ELOOP || errno == EEXIST ? GW_ERR_PATH_CONFLICT
                                                                 : gw_err_from_errno(errno);
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

/* renameat2(RENAME_NOREPLACE), or linkat where the filesystem has no
 * NOREPLACE (linkat also refuses to replace).  GW_ERR_PRECONDITION_FAILED
 * when the name is taken; else -1/errno as rename would. */
static int rename_noreplace(int tfd, const char *tmp, int pfd, const char *leaf)
{
    int rv = renameat2(tfd, tmp, pfd, leaf, RENAME_NOREPLACE);

    if (rv != 0 && errno == EINVAL) {
        rv = linkat(tfd, tmp, pfd, leaf, 0);
        if (rv == 0) {
            unlinkat(tfd, tmp, 0);
        }
    }
    return rv != 0 && errno == EEXIST ? GW_ERR_PRECONDITION_FAILED : rv;
}

/* Move the staged file into the directory @pfd as @leaf.  The staged file
 * is reached through its own verified parent in .unigw/tmp. */
static int rename_into_place(struct s3_publish *p, int pfd, const char *leaf)
{
    const char *tmp;
    const char *tmp_rel = s3__store_rel(&p->svc->store, p->tmp_path);
    int tfd = tmp_rel != NULL ? s3__store_parent(p->svc->store.root_fd, tmp_rel, &tmp) : -1;
    struct stat st;
    int rv;
    int e;

    if (tfd < 0) {
        return GW_ERR_INTERNAL;
    }
    rv = p->no_replace ? rename_noreplace(tfd, tmp, pfd, leaf) : renameat(tfd, tmp, pfd, leaf);
    e = errno;
    close(tfd);
    if (rv >= 0) {
        return rv; /* GW_OK or GW_ERR_PRECONDITION_FAILED */
    }
    if (e == EISDIR || e == ENOTEMPTY || e == EEXIST || e == ENOTDIR ||
        (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))) {
        return GW_ERR_PATH_CONFLICT;
    }
    return gw_err_from_errno(e);
}

/* A marker key is the directory itself; it carries the record. */
static int publish_marker(struct s3_publish *p, int pfd, const char *leaf)
{
    int fd;
    int rv;

    if (mkdirat(pfd, leaf, 0755) != 0 && errno != EEXIST) {
        return errno == ENOTDIR ? GW_ERR_PATH_CONFLICT : gw_err_from_errno(errno);
    }
    fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

/* Everything after the bucket is open: parents, conditions, the rename,
 * the sidecar, the directory fsync. */
static int publish_in(struct s3_publish *p, struct gw_arena *a, int bfd, char *rel)
{
    bool is_marker = s3_path_key_is_marker(p->key);
    const char *leaf;
    int pfd = -1;
    int rv = is_marker ? GW_OK : prepare_record(p);

    if (rv == 0) {
        rv = open_parent(p, bfd, rel, &pfd, &leaf);
    }
    if (rv == 0) {
        rv = check_if_match(p, a);
    }
    if (rv == 0) {
        rv = is_marker ? publish_marker(p, pfd, leaf) : rename_into_place(p, pfd, leaf);
    }
    if (rv == 0 && !is_marker && !p->svc->store.use_xattr) {
        rv = s3_objmeta_store(&p->svc->store, p->fd, p->bucket, p->key, p->meta);
    }
    /* New parents reached disk as they were made (s3__store_mkdirs). */
    if (rv == 0 && p->svc->cfg.fsync && fsync(pfd) != 0 && errno != EINVAL) {
        rv = gw_err_from_errno(errno);
    }
    if (pfd >= 0) {
        close(pfd);
    }
    return rv;
}

int s3__publish(struct s3_publish *p, struct gw_arena *a)
{
    char rel[S3_PATH_MAX];
    int bfd = -1;
    int rv;

    /* The id is the caller's when it committed tags for it before this publish. */
    if (!p->has_object_id && s3__object_id_new(p->meta) != 0) {
        return GW_ERR_INTERNAL;
    }
    rv = s3_path_key_rel(rel, sizeof rel, p->key);
    if (rv == 0) {
        rv = s3__store_bucket(&p->svc->store, p->bucket, &bfd);
    }
    if (rv != 0) {
        return rv;
    }
    rv = publish_in(p, a, bfd, rel);
    close(bfd);
    /* The new file has another identity, so a cached body would not be
     * served anyway; dropping it now gives its memory back at once. */
    if (rv == 0 && p->svc->cfg.body_cache != NULL) {
        p->svc->cfg.body_cache->invalidate(p->svc->cfg.body_cache, p->bucket, p->key);
    }
    return rv;
}
