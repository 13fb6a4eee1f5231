/* Resolution beneath a directory fd, and the mount handle (see store.h).
 *
 * Happy path: s3__store_openat() hands the relative path to openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: one syscall,
 * and the kernel refuses a symlink in any component with ELOOP.  When
 * openat2 answers ENOSYS the process switches to the walk for good: every
 * directory component is opened with openat(O_PATH | O_DIRECTORY |
 * O_NOFOLLOW) from the previous one, and the last with the caller's flags
 * plus O_NOFOLLOW.  O_DIRECTORY reports a symlink as ENOTDIR, so the walk
 * looks at the entry (fstatat, no follow) and says ELOOP when it is one,
 * giving both modes the same errno contract.
 *
 * Failure modes are the syscalls' own (ENOENT, ENOTDIR, EACCES, EMFILE...),
 * plus ELOOP for a symlink in the way, EINVAL for a malformed relative
 * path and, from s3__store_open_file, ENXIO for a name that is no regular
 * file (a FIFO planted there must not hang a worker thread in open()).
 * openat2's EAGAIN (a concurrent rename seen during resolution) is retried
 * a few times; EXDEV (an escape from beneath the start) can only come from
 * a link and is reported as ELOOP. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unigw/err.h"
#include "unigw/log.h"

#include "path.h"
#include "store.h"

#define STORE_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define STORE_OPENAT2_TRIES 4
/* Deeper trees are left in place by rmtree (staged data is one level deep). */
#define STORE_RMTREE_DEPTH 64

static int store_walk; /* 1 once openat2 said ENOSYS, or forced; __atomic */

void s3__store_force_walk(bool on)
{
    __atomic_store_n(&store_walk, on ? 1 : 0, __ATOMIC_RELAXED);
}

bool s3__store_is_walk(void)
{
    return __atomic_load_n(&store_walk, __ATOMIC_RELAXED) != 0;
}

/* close() that leaves errno as the caller's failure set it. */
static void close_keep_errno(int fd)
{
    int e = errno;

    if (fd >= 0) {
        close(fd);
    }
    errno = e;
}

/* Non-empty '/'-separated components, none "." or "..", none over NAME_MAX,
 * the whole shorter than PATH_MAX. */
static bool rel_valid(const char *rel)
{
    const char *c = rel;

    if (rel == NULL || rel[0] == '\0' || strlen(rel) >= PATH_MAX) {
        return false;
    }
    for (const char *s = rel;; s++) {
        if (*s != '/' && *s != '\0') {
            continue;
        }
        size_t n = (size_t)(s - c);
        if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.')) {
            return false;
        }
        if (*s == '\0') {
            return true;
        }
        c = s + 1;
    }
}

/* The errno to report for a failed open of @name in @dir: O_DIRECTORY says
 * ENOTDIR for a symlink, which is ELOOP here. */
static int open_errno(int dir, const char *name, int e)
{
    struct stat st;

    if (e == ENOTDIR && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return ELOOP;
    }
    return e;
}

static int openat2_open(int dir_fd, const char *rel, int flags, mode_t mode)
{
    struct open_how how;
    long fd = -1;

    memset(&how, 0, sizeof how);
    /* No O_NOFOLLOW here: RESOLVE_NO_SYMLINKS refuses a trailing link only
     * when the open would follow it (with O_NOFOLLOW | O_DIRECTORY it says
     * ENOTDIR instead, and O_PATH | O_NOFOLLOW opens the link itself). */
    how.flags = (uint64_t)(unsigned)((flags & ~O_NOFOLLOW) | O_CLOEXEC);
    /* openat2 refuses a mode without a flag that creates. */
    how.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0;
    how.resolve = STORE_RESOLVE;
    for (int i = 0; i < STORE_OPENAT2_TRIES; i++) {
        fd = syscall(SYS_openat2, dir_fd, rel, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN) {
            break;
        }
    }
    if (fd < 0 && errno == EXDEV) {
        errno = ELOOP;
    }
    return (int)fd;
}

/* The fallback: one openat(O_NOFOLLOW) per component.  Directories on the
 * way are opened O_PATH: search permission is all a path walk needs. */
static int walk_open(int dir_fd, const char *rel, int flags, mode_t mode)
{
    char comp[NAME_MAX + 1];
    const char *slash;
    int cur = -1; /* owned; -1 while still at @dir_fd */
    int fd;

    while ((slash = strchr(rel, '/')) != NULL) {
        int base = cur >= 0 ? cur : dir_fd;
        int next;
        memcpy(comp, rel, (size_t)(slash - rel));
        comp[slash - rel] = '\0';
        next = openat(base, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            errno = open_errno(base, comp, errno);
            close_keep_errno(cur);
            return -1;
        }
        if (cur >= 0) {
            close(cur);
        }
        cur = next;
        rel = slash + 1;
    }
    fd = openat(cur >= 0 ? cur : dir_fd, rel, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        errno = open_errno(cur >= 0 ? cur : dir_fd, rel, errno);
    }
    close_keep_errno(cur);
    return fd;
}

/* O_PATH | O_NOFOLLOW opens a symlink itself (both modes): not wanted. */
static int refuse_link(int fd, int flags)
{
    struct stat st;

    if (fd < 0 || !(flags & O_PATH) || (flags & O_DIRECTORY)) {
        return fd;
    }
    if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode)) {
        return fd;
    }
    close(fd);
    errno = ELOOP;
    return -1;
}

int s3__store_openat(int dir_fd, const char *rel, int flags, mode_t mode)
{
    int fd;

    if (!rel_valid(rel)) {
        errno = EINVAL;
        return -1;
    }
    if (!s3__store_is_walk()) {
        fd = openat2_open(dir_fd, rel, flags, mode);
        if (fd >= 0 || errno != ENOSYS) {
            return refuse_link(fd, flags);
        }
        GW_LOG(GW_LOG_WARN, "s3", "msg=\"openat2 is not available: paths on the mount are "
                                  "resolved by a component walk\"");
        s3__store_force_walk(true);
    }
    return refuse_link(walk_open(dir_fd, rel, flags, mode), flags);
}

/* Keep @fd (open O_NONBLOCK, fstat'ed into @st) only as a regular file or an
 * allowed directory, blocking again. */
static int keep_file(int fd, const struct stat *st, bool dir_ok)
{
    int fl;

    if (!S_ISREG(st->st_mode) && !(dir_ok && S_ISDIR(st->st_mode))) {
        close(fd);
        errno = ENXIO;
        return -1;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        close_keep_errno(fd);
        return -1;
    }
    return fd;
}

int s3__store_open_file(int dir_fd, const char *rel, bool dir_ok, struct stat *st)
{
    int fd = s3__store_openat(dir_fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, st) != 0) {
        close_keep_errno(fd);
        return -1;
    }
    return keep_file(fd, st, dir_ok);
}

int s3__store_parent(int dir_fd, const char *rel, const char **leaf)
{
    char dir[PATH_MAX];
    const char *slash;

    if (!rel_valid(rel)) {
        errno = EINVAL;
        return -1;
    }
    slash = strrchr(rel, '/');
    if (slash == NULL) {
        *leaf = rel;
        return openat(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    memcpy(dir, rel, (size_t)(slash - rel));
    dir[slash - rel] = '\0';
    *leaf = slash + 1;
    return s3__store_openat(dir_fd, dir, O_PATH | O_DIRECTORY, 0);
}

int s3__store_unlinkat(int dir_fd, const char *rel, int flags)
{
    const char *leaf;
    int pfd = s3__store_parent(dir_fd, rel, &leaf);
    int rv;

    if (pfd < 0) {
        return -1;
    }
    rv = unlinkat(pfd, leaf, flags);
    close_keep_errno(pfd);
    return rv;
}

int s3__store_statat(int dir_fd, const char *rel, struct stat *st)
{
    const char *leaf;
    int pfd = s3__store_parent(dir_fd, rel, &leaf);
    int rv;

    if (pfd < 0) {
        return -1;
    }
    rv = fstatat(pfd, leaf, st, AT_SYMLINK_NOFOLLOW);
    close_keep_errno(pfd);
    return rv;
}

int s3__store_mkdirat(int dir_fd, const char *rel, mode_t mode)
{
    const char *leaf;
    int pfd = s3__store_parent(dir_fd, rel, &leaf);
    int rv;

    if (pfd < 0) {
        return -1;
    }
    rv = mkdirat(pfd, leaf, mode);
    close_keep_errno(pfd);
    return rv;
}

/* Make @name in the directory @dir (consumed) unless it is there, and return
 * an fd of it (never through a symlink). */
static int mkdir_step(int dir, const char *name, mode_t mode, bool sync, bool *created)
{
    int next = -1;
    int e = 0;

    if (mkdirat(dir, name, mode) == 0) {
        if (created != NULL) {
            *created = true;
        }
        /* The new entry must reach disk in its parent (EINVAL: no dir fsync here). */
        if (sync && fsync(dir) != 0 && errno != EINVAL) {
            e = errno;
        }
    } else if (errno != EEXIST) {
        e = errno;
    }
    if (e == 0) {
        next = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        e = next < 0 ? open_errno(dir, name, errno) : 0;
    }
    close(dir);
    errno = e;
    return next;
}

int s3__store_mkdirs(int dir_fd, const char *rel, mode_t mode, bool sync, bool *created)
{
    char comp[NAME_MAX + 1];
    const char *p = rel;
    int cur;

    if (created != NULL) {
        *created = false;
    }
    if (rel[0] != '\0' && !rel_valid(rel)) {
        errno = EINVAL;
        return -1;
    }
    cur = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (cur >= 0 && *p != '\0') {
        const char *end = strchrnul(p, '/');
        memcpy(comp, p, (size_t)(end - p));
        comp[end - p] = '\0';
        cur = mkdir_step(cur, comp, mode, sync, created);
        p = *end == '/' ? end + 1 : end;
    }
    return cur;
}

static int rm_entry(int dir, const char *name, int depth);

/* Remove every entry of the directory open at @fd (consumed). */
static int rm_children(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    int rv = 0;

    if (d == NULL) {
        close_keep_errno(fd);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (rm_entry(dirfd(d), e->d_name, depth + 1) != 0) {
            rv = -1;
        }
    }
    closedir(d);
    return rv;
}

/* Remove the entry @name of @dir: a file or a link by unlinkat, a directory
 * by emptying it through its own fd first. */
static int rm_entry(int dir, const char *name, int depth)
{
    int fd;

    if (unlinkat(dir, name, 0) == 0 || errno == ENOENT) {
        return 0;
    }
    if ((errno != EISDIR && errno != EPERM) || depth >= STORE_RMTREE_DEPTH) {
        return -1;
    }
    fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 0 : -1;
    }
    if (rm_children(fd, depth) != 0) {
        return -1;
    }
    return unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

int s3__store_rmtree(int dir_fd, const char *rel)
{
    const char *leaf;
    int pfd = s3__store_parent(dir_fd, rel, &leaf);
    int rv;

    if (pfd < 0) {
        return errno == ENOENT ? 0 : -1;
    }
    rv = rm_entry(pfd, leaf, 0);
    close_keep_errno(pfd);
    return rv;
}

/* ---- the mount ------------------------------------------------------------ */

int s3_objstore_open(struct s3_objstore *st, const char *root)
{
    st->root = root;
    st->use_xattr = false;
    /* The root's own path is configuration: the one path resolved as given. */
    st->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return st->root_fd < 0 ? GW_ERR_IO : GW_OK;
}

void s3_objstore_close(struct s3_objstore *st)
{
    if (st->root_fd >= 0) {
        close(st->root_fd);
        st->root_fd = -1;
    }
}

int s3__store_bucket(const struct s3_objstore *st, struct gw_str bucket, int *fd)
{
    char name[S3_BUCKET_EXISTING_MAX_LEN + 1];

    *fd = -1;
    if (s3_path_bucket_check_existing(bucket) != 0) {
        return GW_ERR_INVALID_BUCKET_NAME;
    }
    memcpy(name, bucket.p, bucket.len);
    name[bucket.len] = '\0';
    *fd = openat(st->root_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd >= 0) {
        return GW_OK;
    }
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        return GW_ERR_NO_SUCH_BUCKET;
    }
    return gw_err_from_errno(errno);
}

const char *s3__store_rel(const struct s3_objstore *st, const char *path)
{
    size_t n = strlen(st->root);

    while (n > 0 && st->root[n - 1] == '/') {
        n--;
    }
    if (strncmp(path, st->root, n) != 0 || path[n] != '/') {
        return NULL;
    }
    return path + n + 1;
}

/* The part of @path below the root, or NULL with errno EXDEV. */
static const char *mount_rel(const struct s3_objstore *st, const char *path)
{
    const char *rel = s3__store_rel(st, path);

    if (rel == NULL) {
        errno = EXDEV;
    }
    return rel;
}

int s3__store_path_open(const struct s3_objstore *st, const char *path, int flags, mode_t mode)
{
    const char *rel = mount_rel(st, path);

    return rel != NULL ? s3__store_openat(st->root_fd, rel, flags, mode) : -1;
}

int s3__store_path_open_file(const struct s3_objstore *st, const char *path, bool dir_ok,
                             struct stat *sb)
{
    const char *rel = mount_rel(st, path);

    return rel != NULL ? s3__store_open_file(st->root_fd, rel, dir_ok, sb) : -1;
}

int s3__store_path_unlink(const struct s3_objstore *st, const char *path)
{
    const char *rel = mount_rel(st, path);

    return rel != NULL ? s3__store_unlinkat(st->root_fd, rel, 0) : -1;
}

int s3__store_path_mkdir(const struct s3_objstore *st, const char *path, mode_t mode)
{
    const char *rel = mount_rel(st, path);

    return rel != NULL ? s3__store_mkdirat(st->root_fd, rel, mode) : -1;
}

int s3__store_path_rmtree(const struct s3_objstore *st, const char *path)
{
    const char *rel = mount_rel(st, path);

    return rel != NULL ? s3__store_rmtree(st->root_fd, rel) : -1;
}
