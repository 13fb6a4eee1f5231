/* Unit tests for s3/rehash.c on a real temporary mount: s3_rehash_one stores
 * the real MD5 of a plain file (xattr and sidecar records), refuses what is
 * not a plain file and a file written to while it is read; the background
 * thread processes queued keys, drops duplicates and keeps its queue bounded.
 * The thread is held deterministically with s3__rehash_pause.  A FIFO (or a
 * socket) planted under a key's name is refused at once, never opened
 * blocking: no writer ever comes, and the thread goes on to the next key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "unigw/arena.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/str.h"

#include "objmeta.h"
#include "rehash.h"

struct fixture {
    struct gw_arena a;
    struct s3_objstore store;
    char root[64];
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
    snprintf(f->root, sizeof f->root, "/tmp/unigw-rehash-XXXXXX");
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
    assert_int_equal(s3_objstore_open(&f->store, f->root), GW_OK);
    f->store.use_xattr = want_xattr && s3_objstore_probe_xattr(&f->store);
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

    s3_objstore_close(&f->store);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    gw_arena_release(&f->a);
    free(f);
    return 0;
}

static void key_path(const struct fixture *f, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "%s/bkt/%s", f->root, key);
}

/* Create bkt/@key holding @body (POSIX-written: no record). */
static void put_file(const struct fixture *f, const char *key, const char *body)
{
    char path[256];
    int fd;

    key_path(f, key, path, sizeof path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
}

/* True when bkt/@key has a record that matches the file; its MD5 into @md5. */
static bool fresh_record(struct fixture *f, const char *key, uint8_t md5[16])
{
    char path[256];
    struct s3_objmeta m;
    struct stat st;
    int fd;
    int rv;

    key_path(f, key, path, sizeof path);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return false;
    }
    rv = s3_objmeta_load(&f->store, fd, GW_STR("bkt"), gw_str_c(key), &f->a, &m);
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    if (rv != 0 || !s3_objmeta_fresh(&m, &st)) {
        return false;
    }
    if (md5 != NULL) {
        memcpy(md5, m.md5, 16);
    }
    return m.n_parts == 0 && !m.is_marker;
}

/* The real MD5 of a POSIX-written file is stored, with a matching fingerprint. */
static void rehash_one_plain(void **state)
{
    struct fixture *f = *state;
    uint8_t got[16];
    uint8_t want[16];
    char path[256];

    put_file(f, "hello.txt", "hello world");
    assert_false(fresh_record(f, "hello.txt", NULL));
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("hello.txt")), GW_OK);
    assert_true(fresh_record(f, "hello.txt", got));
    gw_md5("hello world", 11, want);
    assert_memory_equal(got, want, 16);

    /* An empty file in a subdirectory. */
    key_path(f, "sub", path, sizeof path);
    assert_int_equal(mkdir(path, 0755), 0);
    put_file(f, "sub/e", "");
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("sub/e")), GW_OK);
    assert_true(fresh_record(f, "sub/e", got));
    gw_md5("", 0, want);
    assert_memory_equal(got, want, 16);

    /* After a POSIX rewrite the old record is stale; hashing again refreshes it. */
    put_file(f, "hello.txt", "HELLO WORLD, longer");
    assert_false(fresh_record(f, "hello.txt", NULL));
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("hello.txt")), GW_OK);
    assert_true(fresh_record(f, "hello.txt", got));
    gw_md5("HELLO WORLD, longer", 19, want);
    assert_memory_equal(got, want, 16);
}

/* Only plain files are hashed: missing keys, markers, directories and symlinks are not. */
static void rehash_one_not_found(void **state)
{
    struct fixture *f = *state;
    char path[256];
    char target[256];

    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("missing")),
                     GW_ERR_NOT_FOUND);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("nobkt"), GW_STR("k")), GW_ERR_NOT_FOUND);
    key_path(f, "dir", path, sizeof path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("dir/")), GW_ERR_NOT_FOUND);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("dir")), GW_ERR_NOT_FOUND);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("dir/x")), GW_ERR_NOT_FOUND);

    put_file(f, "real", "data");
    key_path(f, "real", target, sizeof target);
    key_path(f, "link", path, sizeof path);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("link")), GW_ERR_NOT_FOUND);
    assert_false(fresh_record(f, "real", NULL));

    /* Keys that cannot be paths are refused by the path checks. */
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("a/../real")),
                     GW_ERR_INVALID_KEY);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR(".unigw"), GW_STR("tmp")),
                     GW_ERR_INVALID_BUCKET_NAME);
}

/* A key through a directory symlink (to outside the mount), or in a
 * top-level symlink "bucket", is not hashed, and no record lands behind the
 * link (an xattr or a sidecar on the outside file). */
static void rehash_one_through_symlink(void **state)
{
    struct fixture *f = *state;
    char out[128];
    char path[256];
    char raw[8];

    snprintf(out, sizeof out, "%s-out", f->root);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(path, sizeof path, "%s/f", out);
    assert_int_equal(close(open(path, O_WRONLY | O_CREAT, 0644)), 0);
    key_path(f, "lnk", path, sizeof path);
    assert_int_equal(symlink(out, path), 0);
    snprintf(path, sizeof path, "%s/toplnk", f->root);
    assert_int_equal(symlink(out, path), 0);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("lnk/f")), GW_ERR_NOT_FOUND);
    assert_int_equal(s3_rehash_one(&f->store, GW_STR("toplnk"), GW_STR("f")), GW_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "%s/f", out);
    assert_true(getxattr(path, S3_OBJMETA_XATTR, raw, sizeof raw) < 0);
    assert_false(s3_objmeta_sidecar_exists(&f->store, GW_STR("bkt"), GW_STR("lnk/f")));
    assert_false(s3_objmeta_sidecar_exists(&f->store, GW_STR("toplnk"), GW_STR("f")));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(out), 0);
}

struct appender {
    char path[256];
    bool stop; /* __atomic */
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
};

/* Append to the file until told to stop (at most 64 MiB), signalling after the first write. */
static void *append_main(void *arg)
{
    struct appender *ap = arg;
    static char chunk[64 * 1024];
    int fd = open(ap->path, O_WRONLY | O_APPEND);

    for (int i = 0; fd >= 0 && i < 1024 && !__atomic_load_n(&ap->stop, __ATOMIC_RELAXED); i++) {
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
            break;
        }
        if (i == 0) {
            pthread_mutex_lock(&ap->mu);
            ap->started = true;
            pthread_cond_signal(&ap->cond);
            pthread_mutex_unlock(&ap->mu);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    pthread_mutex_lock(&ap->mu);
    ap->started = true;
    pthread_cond_signal(&ap->cond);
    pthread_mutex_unlock(&ap->mu);
    return NULL;
}

/* A file that grows while it is hashed gets no record (GW_ERR_AGAIN). */
static void rehash_one_changing(void **state)
{
    struct fixture *f = *state;
    char *big = calloc(1, 8 << 20);
    int n_again = 0;

    for (int attempt = 0; attempt < 5 && n_again == 0; attempt++) {
        struct appender ap;
        pthread_t t;
        int fd;
        int rv;

        memset(&ap, 0, sizeof ap);
        key_path(f, "growing", ap.path, sizeof ap.path);
        fd = open(ap.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, big, 8 << 20), 8 << 20);
        close(fd);
        pthread_mutex_init(&ap.mu, NULL);
        pthread_cond_init(&ap.cond, NULL);
        assert_int_equal(pthread_create(&t, NULL, append_main, &ap), 0);
        pthread_mutex_lock(&ap.mu);
        while (!ap.started) {
            pthread_cond_wait(&ap.cond, &ap.mu);
        }
        pthread_mutex_unlock(&ap.mu);
        rv = s3_rehash_one(&f->store, GW_STR("bkt"), GW_STR("growing"));
        __atomic_store_n(&ap.stop, true, __ATOMIC_RELAXED);
        pthread_join(t, NULL);
        pthread_cond_destroy(&ap.cond);
        pthread_mutex_destroy(&ap.mu);
        assert_true(rv == GW_OK || rv == GW_ERR_AGAIN);
        if (rv == GW_ERR_AGAIN) {
            n_again++;
            assert_false(fresh_record(f, "growing", NULL));
        }
    }
    free(big);
    assert_int_equal(n_again, 1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Poll until bkt/@key has a fresh record and done >= @n_done; false after ~10 s. */
static bool wait_record(struct fixture *f, struct s3_rehash *r, const char *key,
                        unsigned long n_done)
{
    for (int i = 0; i < 2000; i++) {
        if (s3_rehash_done(r) >= n_done && fresh_record(f, key, NULL)) {
            return true;
        }
        sleep_ms(5);
    }
    return false;
}

/* Make bkt/@key a FIFO nobody writes to. */
static void make_fifo(struct fixture *f, const char *key)
{
    char path[256];

    key_path(f, key, path, sizeof path);
    assert_int_equal(mkfifo(path, 0644), 0);
}

/* Open the writer end of the FIFO bkt/@key if a reader waits on it: lets a
 * thread that (wrongly) blocked in open() go, so a failing test ends. */
static void release_fifo(struct fixture *f, const char *key)
{
    char path[256];
    int fd;

    key_path(f, key, path, sizeof path);
    fd = open(path, O_WRONLY | O_NONBLOCK);
    if (fd >= 0) {
        close(fd);
    }
}

struct one_call {
    struct fixture *f;
    const char *key;
    int rv;
    bool done; /* __atomic */
};

static void *one_main(void *arg)
{
    struct one_call *c = arg;

    c->rv = s3_rehash_one(&c->f->store, GW_STR("bkt"), gw_str_c(c->key));
    __atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* A FIFO under a key's name is not hashed and does not block: s3_rehash_one
 * answers NOT_FOUND at once (given ~5 s before the test releases it). */
static void rehash_one_fifo(void **state)
{
    struct fixture *f = *state;
    struct one_call c = {f, "fifo", -1, false};
    bool blocked;
    pthread_t t;

    make_fifo(f, "fifo");
    assert_int_equal(pthread_create(&t, NULL, one_main, &c), 0);
    for (int i = 0; i < 1000 && !__atomic_load_n(&c.done, __ATOMIC_ACQUIRE); i++) {
        sleep_ms(5);
    }
    blocked = !__atomic_load_n(&c.done, __ATOMIC_ACQUIRE);
    if (blocked) {
        release_fifo(f, "fifo");
    }
    pthread_join(t, NULL);
    assert_false(blocked);
    assert_int_equal(c.rv, GW_ERR_NOT_FOUND);
    assert_false(s3_objmeta_sidecar_exists(&f->store, GW_STR("bkt"), GW_STR("fifo")));
}

/* The thread passes a queued FIFO and hashes the key after it. */
static void rehash_thread_passes_fifo(void **state)
{
    struct fixture *f = *state;
    struct s3_rehash *r = NULL;
    bool ok;

    make_fifo(f, "fifo");
    put_file(f, "after", "after");
    assert_int_equal(s3_rehash_create(&f->store, &r), GW_OK);
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("fifo"));
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("after"));
    ok = wait_record(f, r, "after", 1);
    release_fifo(f, "fifo");
    s3_rehash_destroy(r);
    assert_true(ok);
}

/* The thread hashes what is queued; files that are not there are not counted. */
static void rehash_thread_processes(void **state)
{
    struct fixture *f = *state;
    struct s3_rehash *r = NULL;
    uint8_t got[16];
    uint8_t want[16];

    put_file(f, "a", "alpha");
    put_file(f, "b", "beta");
    assert_int_equal(s3_rehash_create(&f->store, &r), GW_OK);
    assert_int_equal(s3_rehash_done(r), 0);
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("missing"));
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("a"));
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("b"));
    assert_true(wait_record(f, r, "a", 1));
    assert_true(wait_record(f, r, "b", 2));
    assert_true(fresh_record(f, "b", got));
    gw_md5("beta", 4, want);
    assert_memory_equal(got, want, 16);
    sleep_ms(20);
    assert_int_equal(s3_rehash_done(r), 2);
    s3_rehash_destroy(r);

    /* The NULL rehasher (background MD5 off) ignores work; destroy(NULL) is a no-op. */
    s3_rehash_enqueue(NULL, GW_STR("bkt"), GW_STR("a"));
    s3_rehash_destroy(NULL);
}

/* A key already waiting in the queue is not queued twice. */
static void rehash_thread_dedup(void **state)
{
    struct fixture *f = *state;
    struct s3_rehash *r = NULL;

    put_file(f, "x", "x");
    put_file(f, "y", "y");
    put_file(f, "z", "z");
    assert_int_equal(s3_rehash_create(&f->store, &r), GW_OK);
    s3__rehash_pause(r, true);
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("x"));
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("x"));
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("y"));
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("x"));
    s3_rehash_enqueue(r, GW_STR("bkt2"), GW_STR("x")); /* another bucket: not a duplicate */
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("z"));
    s3__rehash_pause(r, false);
    /* FIFO order: once z is done, every x before it is done too. */
    assert_true(wait_record(f, r, "z", 3));
    sleep_ms(50);
    assert_int_equal(s3_rehash_done(r), 3);
    assert_true(fresh_record(f, "x", NULL));
    assert_true(fresh_record(f, "y", NULL));
    s3_rehash_destroy(r);
}

/* A full queue drops new work instead of growing. */
static void rehash_thread_bound(void **state)
{
    struct fixture *f = *state;
    struct s3_rehash *r = NULL;
    char key[32];

    put_file(f, "dropped", "d");
    put_file(f, "later", "l");
    assert_int_equal(s3_rehash_create(&f->store, &r), GW_OK);
    s3__rehash_pause(r, true);
    for (int i = 0; i < S3_REHASH_QUEUE_MAX; i++) {
        snprintf(key, sizeof key, "nothing-%d", i);
        s3_rehash_enqueue(r, GW_STR("bkt"), gw_str_c(key));
    }
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("dropped"));
    s3__rehash_pause(r, false);
    /* Once the queue has room again, new work is taken (retried: it may still be full). */
    s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("later"));
    for (int i = 0; i < 2000 && !fresh_record(f, "later", NULL); i++) {
        sleep_ms(5);
        s3_rehash_enqueue(r, GW_STR("bkt"), GW_STR("later"));
    }
    assert_true(wait_record(f, r, "later", 1));
    /* FIFO order: had "dropped" been queued, it would have been hashed before "later". */
    assert_false(fresh_record(f, "dropped", NULL));
    s3_rehash_destroy(r);
}

/* Destroying with work still queued frees it (LeakSanitizer checks) and joins the thread. */
static void rehash_destroy_with_queue(void **state)
{
    struct fixture *f = *state;
    struct s3_rehash *r = NULL;
    char key[32];

    assert_int_equal(s3_rehash_create(&f->store, &r), GW_OK);
    s3__rehash_pause(r, true);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "pending-%d", i);
        s3_rehash_enqueue(r, GW_STR("bkt"), gw_str_c(key));
    }
    s3_rehash_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rehash_one_plain, setup_xattr, teardown),
        cmocka_unit_test_setup_teardown(rehash_one_plain, setup_sidecar, teardown),
        cmocka_unit_test_setup_teardown(rehash_one_not_found, setup_xattr, teardown),
        cmocka_unit_test_setup_teardown(rehash_one_through_symlink, setup_xattr, teardown),
        cmocka_unit_test_setup_teardown(rehash_one_through_symlink, setup_sidecar, teardown),
        cmocka_unit_test_setup_teardown(rehash_one_changing, setup_sidecar, teardown),
        cmocka_unit_test_setup_teardown(rehash_one_fifo, setup_sidecar, teardown),
        cmocka_unit_test_setup_teardown(rehash_thread_passes_fifo, setup_xattr, teardown),
        cmocka_unit_test_setup_teardown(rehash_thread_processes, setup_xattr, teardown),
        cmocka_unit_test_setup_teardown(rehash_thread_dedup, setup_sidecar, teardown),
        cmocka_unit_test_setup_teardown(rehash_thread_bound, setup_sidecar, teardown),
        cmocka_unit_test_setup_teardown(rehash_destroy_with_queue, setup_sidecar, teardown),
    };

    return cmocka_run_group_tests_name("s3/rehash", tests, NULL, NULL);
}
