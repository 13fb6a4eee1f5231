/* The shared mount, reached only through directory file descriptors.
 *
 * The mount is shared with POSIX programs unigw does not control: any mount
 * user may make a directory entry a symlink at any moment.  So no path under
 * the mount is ever handed to a syscall that resolves it.  The mount root is
 * opened once at start (its own path is configuration, trusted like the
 * config file); everything below it is reached from a directory fd:
 *
 *   - a bucket is openat(root, name, O_DIRECTORY | O_NOFOLLOW): a top-level
 *     symlink is not a bucket;
 *   - a path below a directory is opened with openat2(RESOLVE_BENEATH |
 *     RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or, where the kernel has
 *     no openat2 (ENOSYS: before Linux 5.6, or a seccomp filter), by a walk
 *     that opens one component at a time with openat(O_NOFOLLOW |
 *     O_DIRECTORY).  Either way a symlink in ANY component, the last one
 *     included, fails with ELOOP;
 *   - unlink, rename, stat and mkdir act on the verified parent fd
 *     (unlinkat, renameat2 / renameat / linkat, fstatat(AT_SYMLINK_NOFOLLOW),
 *     mkdirat); xattrs are read and written (fgetxattr, fsetxattr,
 *     fremovexattr) on an fd of the object itself, opened O_NOFOLLOW.
 *
 * What follows for S3 (the handlers map ELOOP): a key whose path meets a
 * symlink does not exist (404 NoSuchKey), whether the link points at a
 * directory or a file, inside the bucket or outside; a write through one is
 * refused before anything is created behind it.  Hard links are ordinary
 * files: a hard link is a name for an inode in the bucket (it cannot cross
 * filesystems, and making one needs access to the file already), and a PUT
 * replaces the name by rename, never writing through it.
 *
 * The dirfd-level calls below stand in for the syscalls they replace and
 * keep their contract (an fd or 0, else -1 with errno), so each caller keeps
 * its one errno -> GW_ERR_* mapping; ELOOP always means "a symlink was in the
 * way".  A @rel path is relative: '/'-separated components, none empty, "."
 * or "..", no leading or trailing '/' (EINVAL otherwise).  Every call is
 * blocking I/O: worker threads only. */
#ifndef UNIGW_S3_STORE_H
#define UNIGW_S3_STORE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "unigw/str.h"

/* The mount as the S3 service and the background jobs see it. */
struct s3_objstore {
    const char *root; /* mount root, for mount paths (s3/path.h) and messages */
    int root_fd;      /* the mount root, O_PATH | O_DIRECTORY; -1 when closed */
    bool use_xattr;   /* object records in xattrs, else in the sidecar tree (probed at start) */
};

/* Open the mount root @root (kept, not copied) into @st; use_xattr starts
 * false.  GW_OK or GW_ERR_IO. */
int s3_objstore_open(struct s3_objstore *st, const char *root);
/* Close the root fd (idempotent). */
void s3_objstore_close(struct s3_objstore *st);

/* ---- resolution beneath a directory fd (errno contract) ------------------ */

/* Open @rel beneath the directory @dir_fd with open(2) @flags (O_NOFOLLOW and
 * O_CLOEXEC are added) and @mode for O_CREAT.  No component may be a
 * symlink: ELOOP.  An O_PATH open without O_DIRECTORY of a symlink, which
 * the kernel would grant, is refused the same way.  Returns the fd or -1. */
int s3__store_openat(int dir_fd, const char *rel, int flags, mode_t mode);

/* Open @rel beneath @dir_fd for reading, whatever a mount user has put
 * under that name, without blocking: open(2) of a FIFO for reading waits
 * for a writer (forever, if none comes), so the open is O_RDONLY |
 * O_NONBLOCK | O_NOCTTY, then fstat'ed into *@st.  A regular file, or a
 * directory when @dir_ok, is kept, with O_NONBLOCK cleared again; anything
 * else (a FIFO, a socket, a device node) is closed and fails with ENXIO,
 * the errno open(2) itself gives for a socket.  Symlinks are refused with
 * ELOOP as by s3__store_openat.  Returns the fd or -1.  (A device node is
 * opened, and so reaches its driver, before it can be refused: mount the
 * share nodev.) */
int s3__store_open_file(int dir_fd, const char *rel, bool dir_ok, struct stat *st);

/* Open the directory holding @rel's last component (O_PATH | O_DIRECTORY);
 * *@leaf points at that component inside @rel.  For a one-component @rel it
 * is @dir_fd itself, reopened.  Returns the fd or -1. */
int s3__store_parent(int dir_fd, const char *rel, const char **leaf);

/* unlinkat, fstatat(AT_SYMLINK_NOFOLLOW) and mkdirat of @rel through its
 * verified parent.  None follows a symlink leaf: unlinkat removes the link
 * itself and statat reports it as S_ISLNK, so a caller that must refuse one
 * looks first.  (Renames need both parents' fds: s3/publish.c opens them.) */
int s3__store_unlinkat(int dir_fd, const char *rel, int flags);
int s3__store_statat(int dir_fd, const char *rel, struct stat *st);
int s3__store_mkdirat(int dir_fd, const char *rel, mode_t mode);

/* Make every component of @rel ("" for @dir_fd itself) a directory, keeping
 * those that exist, and return an fd of the last one (O_RDONLY |
 * O_DIRECTORY).  A component that is a file fails with ENOTDIR, a symlink
 * with ELOOP.  With @sync, the parent of every directory made here is
 * fsynced; *@created (may be NULL) tells whether one was.  Returns the fd or
 * -1. */
int s3__store_mkdirs(int dir_fd, const char *rel, mode_t mode, bool sync, bool *created);

/* Remove @rel and everything below it.  Directories are opened O_NOFOLLOW
 * and read through their fds, so a symlink anywhere in the tree is removed
 * itself, never followed.  A missing @rel is success.  0 or -1. */
int s3__store_rmtree(int dir_fd, const char *rel);

/* Resolution mode.  The walk is used once openat2 has answered ENOSYS (for
 * the whole process), or when forced (tests). */
void s3__store_force_walk(bool on);
bool s3__store_is_walk(void);

/* ---- the mount (GW_ERR_* contract) --------------------------------------- */

/* Open the bucket directory @bucket (O_PATH | O_DIRECTORY) into *@fd.
 * GW_ERR_INVALID_BUCKET_NAME for a name that cannot be a bucket,
 * GW_ERR_NO_SUCH_BUCKET when it is missing or not a directory (a symlink is
 * not one), else the errno's error. */
int s3__store_bucket(const struct s3_objstore *st, struct gw_str bucket, int *fd);

/* A mount path ("<root>/.unigw/tmp/x", as s3/path.h makes for the reserved
 * tree) relative to the root, or NULL when it is not below the root. */
const char *s3__store_rel(const struct s3_objstore *st, const char *path);

/* open, unlink, mkdir and rmtree of a mount path beneath the root fd (errno
 * contract; EXDEV for a path not below the root). */
int s3__store_path_open(const struct s3_objstore *st, const char *path, int flags, mode_t mode);
/* s3__store_open_file of a mount path (staged parts, records): a regular
 * file (or an allowed directory) opened for reading without blocking, ENXIO
 * for a special file. */
int s3__store_path_open_file(const struct s3_objstore *st, const char *path, bool dir_ok,
                             struct stat *sb);
int s3__store_path_unlink(const struct s3_objstore *st, const char *path);
int s3__store_path_mkdir(const struct s3_objstore *st, const char *path, mode_t mode);
int s3__store_path_rmtree(const struct s3_objstore *st, const char *path);

#endif
