/* Unit tests for s3/store.c on a real temporary tree: a mount with two
 * buckets and a directory outside it, and symlinks planted at every depth
 * (to the outside directory, to the other bucket, to a file, at the top
 * level).  Every resolution test runs twice, with openat2 and with the
 * component walk; one test takes openat2 away with a seccomp filter in a
 * child process to check the automatic fallback.  Each test also checks
 * that nothing outside the mount changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unigw/err.h"
#include "unigw/str.h"

#include "store.h"

struct fixture {
    char base[64];
    char mnt[96];
    char out[96];
    struct s3_objstore st;
    int bfd; /* the bucket "bkt" */
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Create @rel under @base: a directory when it ends with '/', a file holding
 * "data" otherwise, or with @target a symlink to it. */
static void make(const char *base, const char *rel, const char *target)
{
    char path[256];
    size_t n;
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", base, rel);
    n = strlen(path);
    if (target != NULL) {
        assert_int_equal(symlink(target, path), 0);
    } else if (path[n - 1] == '/') {
        assert_int_equal(mkdir(path, 0755), 0);
    } else {
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("data", fp);
        fclose(fp);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char lnk[128];

    snprintf(f->base, sizeof f->base, "/tmp/unigw-store-XXXXXX");
    if (mkdtemp(f->base) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->mnt, sizeof f->mnt, "%s/mnt", f->base);
    snprintf(f->out, sizeof f->out, "%s/out", f->base);
    make(f->base, "out/", NULL);
    make(f->base, "out/secret.txt", NULL);
    make(f->base, "out/sub/", NULL);
    make(f->base, "mnt/", NULL);
    make(f->mnt, ".unigw/", NULL);
    make(f->mnt, ".unigw/tmp/", NULL);
    make(f->mnt, "other/", NULL);
    make(f->mnt, "other/priv.txt", NULL);
    make(f->mnt, "topfile", NULL);
    make(f->mnt, "toplnk", "../out");
    make(f->mnt, "bkt/", NULL);
    make(f->mnt, "bkt/a/", NULL);
    make(f->mnt, "bkt/a/b/", NULL);
    make(f->mnt, "bkt/a/b/c/", NULL);
    make(f->mnt, "bkt/a/b/c/f.txt", NULL);
    make(f->mnt, "bkt/lnk", f->out);                    /* depth 1, absolute */
    make(f->mnt, "bkt/a/lnk", "../../../out");           /* depth 2, relative */
    make(f->mnt, "bkt/a/b/lnk", f->out);                 /* depth 3 */
    make(f->mnt, "bkt/a/b/c/lnk", f->out);               /* depth 4 */
    make(f->mnt, "bkt/rel", "../other");                 /* another bucket */
    snprintf(lnk, sizeof lnk, "%s/secret.txt", f->out);
    make(f->mnt, "bkt/flnk", lnk);                       /* a file outside */
    make(f->mnt, "bkt/a/b/c/flnk", "f.txt");             /* a file inside */
    assert_int_equal(s3_objstore_open(&f->st, f->mnt), GW_OK);
    assert_int_equal(s3__store_bucket(&f->st, GW_STR("bkt"), &f->bfd), GW_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close(f->bfd);
    s3_objstore_close(&f->st);
    nftw(f->base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    s3__store_force_walk(false);
    return 0;
}

/* The outside directory holds exactly secret.txt ("data") and sub/ (empty). */
static void assert_outside_intact(const struct fixture *f)
{
    char path[160];
    char buf[16] = {0};
    size_t n = 0;
    struct dirent *e;
    DIR *d = opendir(f->out);
    FILE *fp;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
        assert_true(e->d_name[0] == '.' || strcmp(e->d_name, "secret.txt") == 0 ||
                    strcmp(e->d_name, "sub") == 0);
    }
    closedir(d);
    assert_int_equal(n, 2);
    snprintf(path, sizeof path, "%s/secret.txt", f->out);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_int_equal(fread(buf, 1, sizeof buf - 1, fp), 4);
    fclose(fp);
    assert_string_equal(buf, "data");
    snprintf(path, sizeof path, "%s/sub", f->out);
    assert_int_equal(rmdir(path), 0); /* empty */
    assert_int_equal(mkdir(path, 0755), 0);
}

static const bool modes[] = {false, true}; /* openat2, then the walk */


/* Expect @fd to be -1 with errno ELOOP. */
static void assert_loop(int fd)
{
    int e = errno;

    if (fd >= 0) {
        close(fd);
    }
    assert_int_equal(fd, -1);
    assert_int_equal(e, ELOOP);
}

/* Plain paths open in both modes, and a directory opens as one. */
static void openat_plain(void **state)
{
    struct fixture *f = *state;
    char buf[8] = {0};

    for (size_t m = 0; m < 2; m++) {
        int fd;
        s3__store_force_walk(modes[m]);
        fd = s3__store_openat(f->bfd, "a/b/c/f.txt", O_RDONLY, 0);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, sizeof buf - 1), 4);
        assert_string_equal(buf, "data");
        close(fd);
        fd = s3__store_openat(f->bfd, "a/b", O_RDONLY | O_DIRECTORY, 0);
        assert_true(fd >= 0);
        close(fd);
        fd = s3__store_openat(f->bfd, "a/b/c/f.txt/x", O_RDONLY, 0);
        assert_int_equal(fd, -1);
        assert_int_equal(errno, ENOTDIR);
        fd = s3__store_openat(f->bfd, "a/nope/x", O_RDONLY, 0);
        assert_int_equal(fd, -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(s3__store_is_walk(), modes[m]);
    }
}

/* A directory symlink at every depth, to outside and to another bucket, and
 * a file symlink outside or inside: ELOOP, for every kind of open. */
static void openat_symlink_every_depth(void **state)
{
    struct fixture *f = *state;
    static const char *const through[] = {
        "lnk/secret.txt", "a/lnk/secret.txt", "a/b/lnk/secret.txt", "a/b/c/lnk/secret.txt",
        "rel/priv.txt",   "flnk",             "a/b/c/flnk",         "lnk/sub/x",
    };
    static const char *const dirs[] = {"lnk", "a/lnk", "a/b/lnk", "a/b/c/lnk", "rel", "lnk/sub"};

    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        for (size_t i = 0; i < sizeof through / sizeof through[0]; i++) {
            assert_loop(s3__store_openat(f->bfd, through[i], O_RDONLY, 0));
            assert_loop(s3__store_openat(f->bfd, through[i], O_PATH, 0));
        }
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
            assert_loop(s3__store_openat(f->bfd, dirs[i], O_RDONLY | O_DIRECTORY, 0));
            assert_loop(s3__store_openat(f->bfd, dirs[i], O_PATH | O_DIRECTORY, 0));
        }
        /* Creating through a link creates nothing behind it. */
        assert_loop(s3__store_openat(f->bfd, "lnk/new", O_CREAT | O_EXCL | O_WRONLY, 0644));
        assert_loop(s3__store_openat(f->bfd, "a/b/lnk/new", O_CREAT | O_WRONLY, 0644));
        assert_loop(s3__store_openat(f->bfd, "flnk", O_WRONLY | O_TRUNC, 0));
        assert_outside_intact(f);
    }
}

/* Relative paths that could climb or are malformed never reach a syscall. */
static void openat_invalid_rel(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"", "/etc/passwd", "a//b", "a/./b", "../out", "a/..",
                                      "a/", ".", ".."};
    const char *leaf;

    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            assert_int_equal(s3__store_openat(f->bfd, bad[i], O_RDONLY, 0), -1);
            assert_int_equal(errno, EINVAL);
            assert_int_equal(s3__store_parent(f->bfd, bad[i], &leaf), -1);
            assert_int_equal(errno, EINVAL);
        }
    }
}

/* unlinkat / statat / mkdirat act on the verified parent: through a link
 * they fail with ELOOP; on a link leaf they see the link, not its target. */
static void at_calls_through_links(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        assert_int_equal(s3__store_unlinkat(f->bfd, "lnk/secret.txt", 0), -1);
        assert_int_equal(errno, ELOOP);
        assert_int_equal(s3__store_unlinkat(f->bfd, "a/b/lnk/sub", AT_REMOVEDIR), -1);
        assert_int_equal(errno, ELOOP);
        assert_int_equal(s3__store_statat(f->bfd, "rel/priv.txt", &st), -1);
        assert_int_equal(errno, ELOOP);
        assert_int_equal(s3__store_mkdirat(f->bfd, "lnk/made", 0755), -1);
        assert_int_equal(errno, ELOOP);
        assert_int_equal(s3__store_statat(f->bfd, "flnk", &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(s3__store_statat(f->bfd, "a/b/c/f.txt", &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(s3__store_mkdirat(f->bfd, "a/b/new", 0755), 0);
        assert_int_equal(s3__store_unlinkat(f->bfd, "a/b/new", AT_REMOVEDIR), 0);
        assert_outside_intact(f);
    }
    assert_int_equal(s3__store_unlinkat(f->bfd, "a/b/c/f.txt", 0), 0);
    assert_int_equal(s3__store_statat(f->bfd, "a/b/c/f.txt", &st), -1);
    assert_int_equal(errno, ENOENT);
}

/* mkdirs makes what is missing, keeps what is there, and stops at a file
 * (ENOTDIR) or a link (ELOOP) without creating anything behind it. */
static void mkdirs_refuses_links(void **state)
{
    struct fixture *f = *state;
    bool created;
    struct stat st;
    int fd;

    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        fd = s3__store_mkdirs(f->bfd, m == 0 ? "x/y/z" : "x/y/w", 0755, true, &created);
        assert_true(fd >= 0);
        assert_true(created);
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        close(fd);
        fd = s3__store_mkdirs(f->bfd, "a/b", 0755, true, &created);
        assert_true(fd >= 0);
        assert_false(created);
        close(fd);
        fd = s3__store_mkdirs(f->bfd, "", 0755, false, &created); /* the bucket itself */
        assert_true(fd >= 0);
        close(fd);
        assert_loop(s3__store_mkdirs(f->bfd, "lnk/made/deeper", 0755, false, NULL));
        assert_loop(s3__store_mkdirs(f->bfd, "a/b/c/lnk", 0755, false, NULL));
        assert_loop(s3__store_mkdirs(f->bfd, "rel/made", 0755, false, NULL));
        assert_int_equal(s3__store_mkdirs(f->bfd, "a/b/c/f.txt/z", 0755, false, NULL), -1);
        assert_int_equal(errno, ENOTDIR);
        assert_int_equal(s3__store_mkdirs(f->bfd, "a/../x", 0755, false, NULL), -1);
        assert_int_equal(errno, EINVAL);
        assert_outside_intact(f);
    }
}

/* rmtree removes a tree whose entries include links to outside directories
 * and files: the links go, what they point at stays. */
static void rmtree_never_follows(void **state)
{
    struct fixture *f = *state;
    char target[160];
    struct stat st;

    snprintf(target, sizeof target, "%s/secret.txt", f->out);
    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        make(f->mnt, "bkt/t/", NULL);
        make(f->mnt, "bkt/t/sub/", NULL);
        make(f->mnt, "bkt/t/sub/file", NULL);
        make(f->mnt, "bkt/t/sub/dlnk", f->out);
        make(f->mnt, "bkt/t/flnk", target);
        make(f->mnt, "bkt/t/olnk", "../../other");
        assert_int_equal(s3__store_rmtree(f->bfd, "t"), 0);
        assert_int_equal(s3__store_statat(f->bfd, "t", &st), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(s3__store_rmtree(f->bfd, "t"), 0); /* missing: fine */
        assert_int_equal(s3__store_rmtree(f->bfd, "lnk/sub"), -1);
        assert_int_equal(errno, ELOOP);
        assert_outside_intact(f);
    }
    assert_int_equal(s3__store_statat(f->bfd, "rel", &st), 0); /* untouched */
    assert_int_equal(s3__store_statat(f->st.root_fd, "other/priv.txt", &st), 0);
}

struct opener {
    int dir_fd;
    const char *rel;
    bool dir_ok;
    struct stat st;
    int fd;
    int err;
    bool done; /* __atomic */
};

static void *opener_main(void *arg)
{
    struct opener *o = arg;

    o->fd = s3__store_open_file(o->dir_fd, o->rel, o->dir_ok, &o->st);
    o->err = errno;
    __atomic_store_n(&o->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* s3__store_open_file(@rel) in a thread, given ~5 s: a regression to a
 * blocking open fails the test (the FIFO's writer end, @fifo_path, is then
 * opened to let the thread go) instead of hanging it.  Returns the fd. */
static int open_file_bounded(int dir_fd, const char *rel, bool dir_ok, const char *fifo_path,
                             struct stat *st)
{
    struct opener o = {dir_fd, rel, dir_ok, {0}, -1, 0, false};
    struct timespec tick = {0, 5000000};
    bool blocked;
    pthread_t t;
    int w;

    assert_int_equal(pthread_create(&t, NULL, opener_main, &o), 0);
    for (int i = 0; i < 1000 && !__atomic_load_n(&o.done, __ATOMIC_ACQUIRE); i++) {
        nanosleep(&tick, NULL);
    }
    blocked = !__atomic_load_n(&o.done, __ATOMIC_ACQUIRE);
    if (blocked && fifo_path != NULL) {
        w = open(fifo_path, O_WRONLY | O_NONBLOCK);
        if (w >= 0) {
            close(w);
        }
    }
    pthread_join(t, NULL);
    assert_false(blocked);
    if (st != NULL) {
        *st = o.st;
    }
    errno = o.err;
    return o.fd;
}

/* Expect @fd to be -1 with errno ENXIO (a special file, refused). */
static void assert_special(int fd)
{
    int e = errno;

    if (fd >= 0) {
        close(fd);
    }
    assert_int_equal(fd, -1);
    assert_int_equal(e, ENXIO);
}

/* A FIFO, a socket or a device node under an object's name is refused with
 * ENXIO at once, in both modes (no writer ever opens the FIFO); a regular
 * file opens blocking, a directory only when asked for; a link is ELOOP. */
static void open_file_refuses_special(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char fifo[192];
    struct stat st;
    int sock;
    int fd;

    snprintf(fifo, sizeof fifo, "%s/bkt/a/fifo", f->mnt);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/bkt/a/sock", f->mnt);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
    make(f->mnt, "bkt/a/fifolnk", "fifo");
    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        assert_special(open_file_bounded(f->bfd, "a/fifo", false, fifo, NULL));
        assert_special(open_file_bounded(f->bfd, "a/fifo", true, fifo, NULL));
        assert_special(open_file_bounded(f->bfd, "a/sock", false, NULL, NULL));
        assert_loop(open_file_bounded(f->bfd, "a/fifolnk", false, fifo, NULL));
        fd = open_file_bounded(f->bfd, "a/b/c/f.txt", false, NULL, &st);
        assert_true(fd >= 0 && S_ISREG(st.st_mode) && st.st_size == 4);
        assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
        close(fd);
        assert_special(open_file_bounded(f->bfd, "a/b", false, NULL, NULL));
        fd = open_file_bounded(f->bfd, "a/b", true, NULL, &st);
        assert_true(fd >= 0 && S_ISDIR(st.st_mode));
        close(fd);
        assert_int_equal(open_file_bounded(f->bfd, "a/nope", false, NULL, NULL), -1);
        assert_int_equal(errno, ENOENT);
    }
    close(sock);
    /* A device node, where this process may make one (root, CAP_MKNOD). */
    snprintf(fifo, sizeof fifo, "%s/bkt/a/null", f->mnt);
    if (mknod(fifo, S_IFCHR | 0644, makedev(1, 3)) == 0) {
        assert_special(open_file_bounded(f->bfd, "a/null", false, NULL, NULL));
    }
}

/* A bucket is a real top-level directory: a link, a file, a missing name
 * are not buckets, the reserved tree is not a bucket name. */
static void bucket_open(void **state)
{
    struct fixture *f = *state;
    int fd = -1;

    assert_int_equal(s3__store_bucket(&f->st, GW_STR("other"), &fd), GW_OK);
    close(fd);
    assert_int_equal(s3__store_bucket(&f->st, GW_STR("toplnk"), &fd), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(fd, -1);
    assert_int_equal(s3__store_bucket(&f->st, GW_STR("topfile"), &fd), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(s3__store_bucket(&f->st, GW_STR("missing"), &fd), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(s3__store_bucket(&f->st, GW_STR(".unigw"), &fd), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3__store_bucket(&f->st, GW_STR("a/b"), &fd), GW_ERR_INVALID_BUCKET_NAME);
}

/* Mount paths (the reserved tree's, from s3/path.h) resolve beneath the
 * root fd; a path not below the root is refused with EXDEV. */
static void mount_paths(void **state)
{
    struct fixture *f = *state;
    char path[192];
    char slashed[128];
    struct s3_objstore st2;
    struct stat sb;
    int fd;

    for (size_t m = 0; m < 2; m++) {
        s3__store_force_walk(modes[m]);
        snprintf(path, sizeof path, "%s/.unigw/tmp/x", f->mnt);
        assert_string_equal(s3__store_rel(&f->st, path), ".unigw/tmp/x");
        fd = s3__store_path_open(&f->st, path, O_CREAT | O_EXCL | O_RDWR, 0644);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(s3__store_path_unlink(&f->st, path), 0);
        snprintf(path, sizeof path, "%s/.unigw/multipart", f->mnt);
        assert_int_equal(s3__store_path_mkdir(&f->st, path, 0755), 0);
        assert_int_equal(s3__store_path_rmtree(&f->st, path), 0);
        snprintf(path, sizeof path, "%s/toplnk/secret.txt", f->mnt);
        assert_int_equal(s3__store_path_unlink(&f->st, path), -1);
        assert_int_equal(errno, ELOOP);
        assert_loop(s3__store_path_open_file(&f->st, path, false, &sb));
        snprintf(path, sizeof path, "%s/other/priv.txt", f->mnt);
        fd = s3__store_path_open_file(&f->st, path, false, &sb);
        assert_true(fd >= 0 && S_ISREG(sb.st_mode));
        close(fd);
        snprintf(path, sizeof path, "%s/.unigw/tmp", f->mnt);
        assert_special(s3__store_path_open_file(&f->st, path, false, &sb));
        snprintf(path, sizeof path, "%s/secret.txt", f->out);
        assert_int_equal(s3__store_path_open_file(&f->st, path, false, &sb), -1);
        assert_int_equal(errno, EXDEV);
        snprintf(path, sizeof path, "%s/secret.txt", f->out);
        assert_int_equal(s3__store_path_open(&f->st, path, O_RDONLY, 0), -1);
        assert_int_equal(errno, EXDEV);
        snprintf(path, sizeof path, "%s/../out/secret.txt", f->mnt);
        assert_int_equal(s3__store_path_unlink(&f->st, path), -1);
        assert_int_equal(errno, EINVAL);
        assert_outside_intact(f);
    }
    /* A root given with a trailing slash matches the same paths. */
    snprintf(slashed, sizeof slashed, "%s/", f->mnt);
    assert_int_equal(s3_objstore_open(&st2, slashed), GW_OK);
    snprintf(path, sizeof path, "%s/.unigw/tmp", f->mnt);
    assert_string_equal(s3__store_rel(&st2, path), ".unigw/tmp");
    s3_objstore_close(&st2);
    s3_objstore_close(&st2); /* idempotent */
    snprintf(path, sizeof path, "%s/no-such-mount", f->base);
    assert_int_equal(s3_objstore_open(&st2, path), GW_ERR_IO);
}

/* In a child without openat2 (a seccomp filter answers ENOSYS), the first
 * resolution switches the process to the walk, with the same answers. */
static int run_without_openat2(struct fixture *f)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    int fd;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        return 77; /* cannot filter here: skipped */
    }
    s3__store_force_walk(false);
    fd = s3__store_openat(f->bfd, "a/b/c/f.txt", O_RDONLY, 0);
    if (fd < 0 || !s3__store_is_walk()) {
        return 1;
    }
    close(fd);
    fd = s3__store_openat(f->bfd, "a/b/lnk/secret.txt", O_RDONLY, 0);
    return fd == -1 && errno == ELOOP ? 0 : 2;
}

static void enosys_falls_back_to_walk(void **state)
{
    struct fixture *f = *state;
    int status = 0;
    pid_t pid;

    s3__store_force_walk(false);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(run_without_openat2(f));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_false(s3__store_is_walk()); /* the parent kept openat2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(openat_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(openat_symlink_every_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(openat_invalid_rel, setup, teardown),
        cmocka_unit_test_setup_teardown(at_calls_through_links, setup, teardown),
        cmocka_unit_test_setup_teardown(mkdirs_refuses_links, setup, teardown),
        cmocka_unit_test_setup_teardown(rmtree_never_follows, setup, teardown),
        cmocka_unit_test_setup_teardown(open_file_refuses_special, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_open, setup, teardown),
        cmocka_unit_test_setup_teardown(mount_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(enosys_falls_back_to_walk, setup, teardown),
    };
    return cmocka_run_group_tests_name("s3/store", tests, NULL, NULL);
}
