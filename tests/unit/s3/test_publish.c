/* Unit tests for s3/publish.c on a real temporary mount with one bucket
 * directory, with records both as xattrs (when the filesystem has them) and
 * as sidecars: a staged file becomes the object with its bytes and record,
 * parents are created, file/directory conflicts, If-None-Match: * and
 * If-Match, a missing bucket, and directory-marker keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unigw/arena.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/str.h"

#include "obj.h"
#include "path.h"
#include "publish.h"

struct fixture {
    struct gw_arena a;
    struct s3_service svc;
    char root[64];
};

/* Conditions for one publication. */
struct cond {
    bool no_replace;
    const char *if_match;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup_mode(void **state, bool want_xattr)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[128];

    if (f == NULL) {
        return -1;
    }
    gw_arena_init(&f->a);
    snprintf(f->root, sizeof f->root, "/tmp/unigw-publish-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    snprintf(path, sizeof path, "%s/.unigw", f->root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/.unigw/tmp", f->root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/bkt", f->root);
    mkdir(path, 0755);
    f->svc.mount = f->root;
    f->svc.node_id = "n1";
    f->svc.cfg.mount = f->root;
    f->svc.cfg.node_id = "n1";
    f->svc.cfg.fsync = true; /* exercise the directory fsync walk too */
    assert_int_equal(s3_objstore_open(&f->svc.store, f->root), GW_OK);
    f->svc.store.use_xattr = want_xattr && s3_objstore_probe_xattr(&f->svc.store);
    *state = f;
    return 0;
}

static int setup_xattr(void **state)
{
    return setup_mode(state, true);
}

static int setup_sidecar(void **state)
{
    return setup_mode(state, false);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    s3_objstore_close(&f->svc.store);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    gw_arena_release(&f->a);
    free(f);
    return 0;
}

/* Stage @body and publish it as @bucket/@key with content type @ctype under
 * @c (may be NULL).  The staged file is removed when publication fails. */
static int publish(struct fixture *f, const char *bucket, const char *key, const char *body,
                   const struct cond *c)
{
    struct s3_objmeta *m = gw_arena_zalloc(&f->a, sizeof *m);
    struct s3_publish p;
    char tmp[S3_PATH_MAX];
    int fd = -1;
    int rv;

    memset(&p, 0, sizeof p);
    p.svc = &f->svc;
    p.bucket = gw_str_c(bucket);
    p.key = gw_str_c(key);
    p.meta = m;
    p.fd = -1;
    p.no_replace = c != NULL && c->no_replace;
    p.if_match = c != NULL && c->if_match != NULL ? gw_str_c(c->if_match) : GW_STR_NULL;
    m->content_type = GW_STR("text/x-test");
    if (!s3_path_key_is_marker(p.key)) {
        assert_int_equal(s3__stage_create(&f->svc, tmp, sizeof tmp, &fd), GW_OK);
        assert_int_equal(s3__write_all(fd, body, strlen(body)), GW_OK);
        gw_md5(body, strlen(body), m->md5);
        p.tmp_path = tmp;
        p.fd = fd;
    }
    rv = s3__publish(&p, &f->a);
    if (fd >= 0) {
        close(fd);
        if (rv != 0) {
            assert_int_equal(unlink(tmp), 0);
        }
    }
    if (rv == 0 && !s3_path_key_is_marker(p.key)) {
        assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
    }
    return rv;
}

/* The bytes of the file at <root>/<rel> must be @want. */
static void assert_file(struct fixture *f, const char *rel, const char *want)
{
    char path[256];
    char buf[256];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/%s", f->root, rel);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof buf);
    close(fd);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_memory_equal(buf, want, strlen(want));
}

static bool is_dir(struct fixture *f, const char *rel)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", f->root, rel);
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Number of entries in .unigw/tmp (every staged file must be gone after each test step). */
static int n_staged(struct fixture *f)
{
    char path[128];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof path, "%s/.unigw/tmp", f->root);
    d = opendir(path);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* The ETag s3__obj_open serves for bucket "bkt", key @key (asserting a fresh record). */
static const char *etag_of(struct fixture *f, const char *key)
{
    struct s3_obj o;

    assert_int_equal(s3__obj_open(&f->svc, GW_STR("bkt"), gw_str_c(key), &f->a, &o), GW_OK);
    close(o.fd);
    assert_true(o.has_meta);
    return o.etag;
}

/* A published file is the object: its bytes, a fresh record, its MD5 ETag. */
static void publish_visible(void **state)
{
    struct fixture *f = *state;
    struct s3_obj o;
    static const uint8_t zero[16];

    assert_int_equal(publish(f, "bkt", "k", "hello", NULL), GW_OK);
    assert_file(f, "bkt/k", "hello");
    assert_int_equal(s3__obj_open(&f->svc, GW_STR("bkt"), GW_STR("k"), &f->a, &o), GW_OK);
    close(o.fd);
    assert_true(o.has_meta);
    assert_false(o.is_marker);
    assert_string_equal(o.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    assert_true(gw_str_eq_c(o.meta.content_type, "text/x-test"));
    assert_true(o.meta.ino == (uint64_t)o.st.st_ino);
    assert_true(o.meta.size == 5);
    assert_memory_not_equal(o.meta.object_id, zero, 16);
    assert_int_equal(n_staged(f), 0);

    /* Publishing again replaces it, with a new object id. */
    assert_int_equal(publish(f, "bkt", "k", "bye", NULL), GW_OK);
    assert_file(f, "bkt/k", "bye");
    assert_string_equal(etag_of(f, "k"), "\"bfa99df33b137bc8fb5f5407d7e58da8\"");
    assert_int_equal(n_staged(f), 0);
}

/* Missing parent directories are created, however deep. */
static void publish_parents(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(publish(f, "bkt", "a/b/c/d.txt", "deep", NULL), GW_OK);
    assert_true(is_dir(f, "bkt/a"));
    assert_true(is_dir(f, "bkt/a/b"));
    assert_true(is_dir(f, "bkt/a/b/c"));
    assert_file(f, "bkt/a/b/c/d.txt", "deep");
    /* A sibling under existing parents. */
    assert_int_equal(publish(f, "bkt", "a/b/e", "e", NULL), GW_OK);
    assert_file(f, "bkt/a/b/e", "e");
    (void)etag_of(f, "a/b/c/d.txt");
}

/* "a" and "a/b" cannot both hold data, in either order; the first one stays intact. */
static void publish_path_conflict(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(publish(f, "bkt", "a", "file-a", NULL), GW_OK);
    assert_int_equal(publish(f, "bkt", "a/b", "file-ab", NULL), GW_ERR_PATH_CONFLICT);
    assert_int_equal(publish(f, "bkt", "a/b/c", "file-abc", NULL), GW_ERR_PATH_CONFLICT);
    assert_file(f, "bkt/a", "file-a");

    assert_int_equal(publish(f, "bkt", "x/y", "file-xy", NULL), GW_OK);
    assert_int_equal(publish(f, "bkt", "x", "file-x", NULL), GW_ERR_PATH_CONFLICT);
    assert_file(f, "bkt/x/y", "file-xy");
    assert_true(is_dir(f, "bkt/x"));

    /* A marker over a file is the same conflict. */
    assert_int_equal(publish(f, "bkt", "a/", "", NULL), GW_ERR_PATH_CONFLICT);
    assert_file(f, "bkt/a", "file-a");
    assert_int_equal(n_staged(f), 0);
}

/* If-None-Match: * on an existing key fails and leaves the original untouched. */
static void publish_no_replace(void **state)
{
    struct fixture *f = *state;
    const struct cond nr = {true, NULL};
    const char *before;

    assert_int_equal(publish(f, "bkt", "k", "first", &nr), GW_OK);
    before = etag_of(f, "k");
    assert_int_equal(publish(f, "bkt", "k", "second", &nr), GW_ERR_PRECONDITION_FAILED);
    assert_file(f, "bkt/k", "first");
    assert_string_equal(etag_of(f, "k"), before); /* the record was not overwritten */
    assert_int_equal(publish(f, "bkt", "d/k", "new", &nr), GW_OK);
    assert_file(f, "bkt/d/k", "new");
    assert_int_equal(n_staged(f), 0);
}

/* If-Match replaces only the version named; on a missing key it is NoSuchKey. */
static void publish_if_match(void **state)
{
    struct fixture *f = *state;
    struct cond c = {false, "\"00000000000000000000000000000000\""};
    const char *etag;

    assert_int_equal(publish(f, "bkt", "k", "v1", &c), GW_ERR_NO_SUCH_KEY);
    assert_int_equal(publish(f, "bkt", "k", "v1", NULL), GW_OK);
    etag = etag_of(f, "k");
    assert_int_equal(publish(f, "bkt", "k", "v2", &c), GW_ERR_PRECONDITION_FAILED);
    assert_file(f, "bkt/k", "v1");
    assert_string_equal(etag_of(f, "k"), etag);

    c.if_match = etag;
    assert_int_equal(publish(f, "bkt", "k", "v2", &c), GW_OK);
    assert_file(f, "bkt/k", "v2");
    assert_string_not_equal(etag_of(f, "k"), etag);
    c.if_match = "*";
    assert_int_equal(publish(f, "bkt", "k", "v3", &c), GW_OK);
    assert_file(f, "bkt/k", "v3");
    assert_int_equal(n_staged(f), 0);
}

/* No bucket directory: NoSuchBucket, and nothing is created. */
static void publish_no_bucket(void **state)
{
    struct fixture *f = *state;
    char path[128];

    assert_int_equal(publish(f, "nobkt", "a/b", "x", NULL), GW_ERR_NO_SUCH_BUCKET);
    assert_int_equal(publish(f, "nobkt", "m/", "", NULL), GW_ERR_NO_SUCH_BUCKET);
    snprintf(path, sizeof path, "%s/nobkt", f->root);
    assert_int_not_equal(access(path, F_OK), 0);
    /* A file where the bucket should be is no bucket either. */
    snprintf(path, sizeof path, "%s/filebkt", f->root);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    assert_int_equal(publish(f, "filebkt", "k", "x", NULL), GW_ERR_NO_SUCH_BUCKET);
    /* Names that cannot be paths are refused before anything is touched. */
    assert_int_equal(publish(f, ".unigw", "k", "x", NULL), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(publish(f, "bkt", "a/../k", "x", NULL), GW_ERR_INVALID_KEY);
    assert_int_equal(n_staged(f), 0);
}

/* A marker key "dir/" becomes the directory "dir", carrying a record. */
static void publish_marker(void **state)
{
    struct fixture *f = *state;
    struct s3_obj o;

    assert_int_equal(publish(f, "bkt", "dir/", "", NULL), GW_OK);
    assert_true(is_dir(f, "bkt/dir"));
    assert_int_equal(s3__obj_open(&f->svc, GW_STR("bkt"), GW_STR("dir/"), &f->a, &o), GW_OK);
    close(o.fd);
    assert_true(o.is_marker);
    assert_true(o.has_meta);
    assert_true(o.meta.is_marker);
    assert_true(gw_str_eq_c(o.meta.content_type, "text/x-test"));

    /* A nested marker creates its parents; one over an implicit directory adds a record. */
    assert_int_equal(publish(f, "bkt", "p/q/r/", "", NULL), GW_OK);
    assert_true(is_dir(f, "bkt/p/q/r"));
    assert_int_equal(publish(f, "bkt", "s/t", "file", NULL), GW_OK);
    assert_int_equal(s3__obj_open(&f->svc, GW_STR("bkt"), GW_STR("s/"), &f->a, &o), GW_OK);
    close(o.fd);
    assert_false(o.has_meta);
    assert_int_equal(publish(f, "bkt", "s/", "", NULL), GW_OK);
    assert_int_equal(s3__obj_open(&f->svc, GW_STR("bkt"), GW_STR("s/"), &f->a, &o), GW_OK);
    close(o.fd);
    assert_true(o.has_meta);
    assert_file(f, "bkt/s/t", "file");
    /* Publishing the marker again is fine; a file under it still works. */
    assert_int_equal(publish(f, "bkt", "dir/", "", NULL), GW_OK);
    assert_int_equal(publish(f, "bkt", "dir/f", "in-dir", NULL), GW_OK);
    assert_file(f, "bkt/dir/f", "in-dir");
}

/* s3__stage_create makes distinct files under .unigw/tmp; s3__write_all writes everything. */
static void publish_stage(void **state)
{
    struct fixture *f = *state;
    char a[S3_PATH_MAX];
    char b[S3_PATH_MAX];
    char prefix[128];
    char *big = malloc(1 << 20);
    struct stat st;
    int fa;
    int fb;

    snprintf(prefix, sizeof prefix, "%s/.unigw/tmp/n1-", f->root);
    assert_int_equal(s3__stage_create(&f->svc, a, sizeof a, &fa), GW_OK);
    assert_int_equal(s3__stage_create(&f->svc, b, sizeof b, &fb), GW_OK);
    assert_string_not_equal(a, b);
    assert_true(strncmp(a, prefix, strlen(prefix)) == 0);
    memset(big, 'z', 1 << 20);
    assert_int_equal(s3__write_all(fa, big, 1 << 20), GW_OK);
    assert_int_equal(fstat(fa, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    close(fa);
    close(fb);
    unlink(a);
    unlink(b);
    free(big);
    /* Without the tmp directory, staging fails with an error (no crash, no fd). */
    snprintf(prefix, sizeof prefix, "%s/.unigw/tmp", f->root);
    assert_int_equal(rmdir(prefix), 0);
    fa = 0;
    assert_int_equal(s3__stage_create(&f->svc, a, sizeof a, &fa), GW_ERR_NOT_FOUND);
    assert_true(fa < 0);
    assert_int_equal(mkdir(prefix, 0755), 0);
}

/* A write through a directory symlink (to outside the mount, to another
 * bucket) or into a top-level symlink is refused and creates nothing behind
 * the link; a symlink in the object's own place is replaced, not written
 * through. */
static void publish_through_symlink(void **state)
{
    struct fixture *f = *state;
    char out[128];
    char path[256];
    DIR *d;
    struct dirent *e;
    struct stat st;
    int n = 0;

    snprintf(out, sizeof out, "%s-out", f->root);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(path, sizeof path, "%s/bkt/lnk", f->root);
    assert_int_equal(symlink(out, path), 0);
    snprintf(path, sizeof path, "%s/other", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/bkt/rel", f->root);
    assert_int_equal(symlink("../other", path), 0);
    snprintf(path, sizeof path, "%s/toplnk", f->root);
    assert_int_equal(symlink(out, path), 0);
    snprintf(path, sizeof path, "%s/bkt/flnk", f->root);
    assert_int_equal(symlink(out, path), 0);
    assert_int_equal(publish(f, "bkt", "lnk/x", "evil", NULL), GW_ERR_PATH_CONFLICT);
    assert_int_equal(publish(f, "bkt", "lnk/deep/x", "evil", NULL), GW_ERR_PATH_CONFLICT);
    assert_int_equal(publish(f, "bkt", "lnk/", "", NULL), GW_ERR_PATH_CONFLICT);
    assert_int_equal(publish(f, "bkt", "lnk/d/", "", NULL), GW_ERR_PATH_CONFLICT);
    assert_int_equal(publish(f, "bkt", "rel/x", "evil", NULL), GW_ERR_PATH_CONFLICT);
    assert_int_equal(publish(f, "toplnk", "x", "evil", NULL), GW_ERR_NO_SUCH_BUCKET);
    d = opendir(out);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(n, 0);
    snprintf(path, sizeof path, "%s/other", f->root);
    assert_int_equal(rmdir(path), 0); /* still empty */
    /* "flnk" itself is replaced by the object: the link is gone, out/ untouched. */
    assert_int_equal(publish(f, "bkt", "flnk", "obj", NULL), GW_OK);
    assert_file(f, "bkt/flnk", "obj");
    snprintf(path, sizeof path, "%s/bkt/flnk", f->root);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(n_staged(f), 0);
    assert_int_equal(rmdir(out), 0);
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_setup_teardown(fn, setup_xattr, teardown),                                    \
        cmocka_unit_test_setup_teardown(fn, setup_sidecar, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(publish_visible), BOTH(publish_parents),  BOTH(publish_path_conflict),
        BOTH(publish_no_replace), BOTH(publish_if_match), BOTH(publish_no_bucket),
        BOTH(publish_marker),  BOTH(publish_through_symlink),
        cmocka_unit_test_setup_teardown(publish_stage, setup_sidecar, teardown),
    };

    return cmocka_run_group_tests_name("s3/publish", tests, NULL, NULL);
}
