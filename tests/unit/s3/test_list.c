/* Unit tests for s3/list.c on real temporary directories: order across
 * directory boundaries, prefix, delimiters, pagination, markers, what is
 * skipped, the listing cache, and listing while the tree changes. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/err.h"

#include "list.h"

struct fixture {
    char root[256];
    char bucket[300];
    int root_fd;   /* O_PATH, as s3/store.h opens the mount root */
    int bucket_fd; /* O_PATH, as s3__store_bucket opens a bucket */
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    snprintf(f->root, sizeof f->root, "/tmp/unigw-list-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        return -1;
    }
    snprintf(f->bucket, sizeof f->bucket, "%s/bkt", f->root);
    mkdir(f->bucket, 0755);
    f->root_fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    f->bucket_fd = open(f->bucket, O_PATH | O_DIRECTORY | O_CLOEXEC);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close(f->bucket_fd);
    close(f->root_fd);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Create the file @key (and its parent directories) under the bucket. */
static void put(const struct fixture *f, const char *key)
{
    char path[2048];
    int fd;

    snprintf(path, sizeof path, "%s/%s", f->bucket, key);
    for (char *p = path + strlen(f->bucket) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    if (path[strlen(path) - 1] == '/') {
        return; /* a directory only */
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
}

/* All entries of a listing with @prefix/@delim, paged by @max_keys, as
 * "K:key" / "P:prefix" lines joined with '\n'.  Checks every page's
 * truncation flag and marker. */
static char *list_all(const struct fixture *f, const char *prefix, const char *delim,
                      size_t max_keys, struct s3_list_cache *cache, const char *start)
{
    struct gw_buf out = GW_BUF_INIT;
    char marker[2048];
    bool more = true;

    snprintf(marker, sizeof marker, "%s", start != NULL ? start : "");
    while (more) {
        struct gw_arena a;
        struct s3_list_result r;
        struct s3_list_params p = {
            .bucket_fd = f->bucket_fd,
            .prefix = gw_str_c(prefix),
            .delimiter = gw_str_c(delim),
            .start_after = gw_str_c(marker),
            .max_keys = max_keys,
            .cache = cache,
        };
        gw_arena_init(&a);
        assert_int_equal(s3_list_run(&p, &a, &r), GW_OK);
        assert_true(r.n_entries <= max_keys);
        for (size_t i = 0; i < r.n_entries; i++) {
            gw_buf_printf(&out, "%s:%.*s\n", r.entries[i].is_common_prefix ? "P" : "K",
                          (int)r.entries[i].key.len, r.entries[i].key.p);
        }
        more = r.is_truncated;
        if (more) {
            assert_int_equal(r.n_entries, max_keys);
            assert_true(gw_str_eq(r.next_marker, r.entries[r.n_entries - 1].key));
            snprintf(marker, sizeof marker, "%.*s", (int)r.next_marker.len, r.next_marker.p);
        }
        gw_arena_release(&a);
    }
    gw_buf_append_byte(&out, '\0');
    return out.data;
}

static void order_across_boundaries(void **state)
{
    static const char *const keys[] = {"a0", "a/x", "a-b", "z", "a b", "\xc3\xa9", "A", "a+b",
                                       "a/y/z", "a/y-", "a/y0"};
    char *got;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        put(*state, keys[i]);
    }
    got = list_all(*state, "", "", 1000, NULL, NULL);
    assert_string_equal(got, "K:A\nK:a b\nK:a+b\nK:a-b\nK:a/x\nK:a/y-\nK:a/y/z\nK:a/y0\nK:a0\n"
                             "K:z\nK:\xc3\xa9\n");
    free(got);
}

static void prefix_mid_name(void **state)
{
    static const char *const keys[] = {"photos/2024/a.jpg", "photos/2025/b.jpg", "photo.txt",
                                       "photos-old/c", "photos/2024x"};
    char *got;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        put(*state, keys[i]);
    }
    got = list_all(*state, "photos/202", "", 1000, NULL, NULL);
    assert_string_equal(got, "K:photos/2024/a.jpg\nK:photos/2024x\nK:photos/2025/b.jpg\n");
    free(got);
    got = list_all(*state, "pho", "", 1000, NULL, NULL);
    assert_string_equal(got, "K:photo.txt\nK:photos-old/c\nK:photos/2024/a.jpg\nK:photos/2024x\n"
                             "K:photos/2025/b.jpg\n");
    free(got);
    got = list_all(*state, "photos/2024/a", "", 1000, NULL, NULL);
    assert_string_equal(got, "K:photos/2024/a.jpg\n");
    free(got);
    got = list_all(*state, "photos/2024/", "/", 1000, NULL, NULL);
    assert_string_equal(got, "K:photos/2024/a.jpg\n");
    free(got);
    got = list_all(*state, "q", "", 1000, NULL, NULL);
    assert_string_equal(got, "");
    free(got);
}

static void delimiter_slash(void **state)
{
    static const char *const keys[] = {"a/b/c", "a/d", "b", "c/", "d/e", "d/f/g"};
    char *got;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        put(*state, keys[i]);
    }
    got = list_all(*state, "", "/", 1000, NULL, NULL);
    assert_string_equal(got, "P:a/\nK:b\nP:c/\nP:d/\n");
    free(got);
    got = list_all(*state, "a/", "/", 1000, NULL, NULL);
    assert_string_equal(got, "P:a/b/\nK:a/d\n");
    free(got);
    /* The empty directory c is the marker object "c/", listed under its own prefix. */
    got = list_all(*state, "c/", "/", 1000, NULL, NULL);
    assert_string_equal(got, "K:c/\n");
    free(got);
    /* Paged one at a time, common prefixes come once each. */
    got = list_all(*state, "", "/", 1, NULL, NULL);
    assert_string_equal(got, "P:a/\nK:b\nP:c/\nP:d/\n");
    free(got);
    got = list_all(*state, "d", "/", 1, NULL, NULL);
    assert_string_equal(got, "P:d/\n");
    free(got);
}

static void delimiter_other(void **state)
{
    static const char *const keys[] = {"x-1", "x-2", "y", "z-a/b", "ax/1", "ax/2", "cx/y/z",
                                       "q/ax/r"};
    char *got;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        put(*state, keys[i]);
    }
    got = list_all(*state, "", "-", 1000, NULL, NULL);
    assert_string_equal(got, "K:ax/1\nK:ax/2\nK:cx/y/z\nK:q/ax/r\nP:x-\nK:y\nP:z-\n");
    free(got);
    got = list_all(*state, "", "x/", 1000, NULL, NULL);
    assert_string_equal(got, "P:ax/\nP:cx/\nP:q/ax/\nK:x-1\nK:x-2\nK:y\nK:z-a/b\n");
    free(got);
    /* A delimiter that spans a directory boundary. */
    got = list_all(*state, "", "/a", 1000, NULL, NULL);
    assert_string_equal(got, "K:ax/1\nK:ax/2\nK:cx/y/z\nP:q/a\nK:x-1\nK:x-2\nK:y\nK:z-a/b\n");
    free(got);
    got = list_all(*state, "", "-", 2, NULL, NULL);
    assert_string_equal(got, "K:ax/1\nK:ax/2\nK:cx/y/z\nK:q/ax/r\nP:x-\nK:y\nP:z-\n");
    free(got);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 2,500 keys over nested directories, paged by 1000, 7 and 1: each key
 * exactly once, in order. */
static void pagination(void **state)
{
    char *keys[2500];
    struct gw_buf want = GW_BUF_INIT;
    struct s3_list_cache *cache = s3_list_cache_create(64, 1 << 20, 0);
    size_t sizes[] = {1000, 7, 1};
    size_t n = 0;

    for (int d = 0; d < 24; d++) {
        for (int i = 0; i < 100; i++) {
            keys[n] = malloc(32);
            snprintf(keys[n++], 32, "d%02d%s/f%03d", d, d % 3 == 0 ? "-x" : "", i);
        }
    }
    for (int i = 0; i < 100; i++) {
        keys[n] = malloc(32);
        snprintf(keys[n++], 32, "d05/sub/g%03d", i);
    }
    for (size_t i = 0; i < n; i++) {
        put(*state, keys[i]);
    }
    qsort(keys, n, sizeof keys[0], cmp_cstr);
    for (size_t i = 0; i < n; i++) {
        gw_buf_printf(&want, "K:%s\n", keys[i]);
    }
    gw_buf_append_byte(&want, '\0');
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *got = list_all(*state, "", "", sizes[s], s == 2 ? cache : NULL, NULL);
        assert_string_equal(got, want.data);
        free(got);
    }
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
    }
    gw_buf_free(&want);
    s3_list_cache_destroy(cache);
}

static void start_after_inside_subtree(void **state)
{
    static const char *const keys[] = {"a/1", "a/b/1", "a/b/2", "a/c", "b/1", "c"};
    char *got;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        put(*state, keys[i]);
    }
    got = list_all(*state, "", "", 1000, NULL, "a/b/1");
    assert_string_equal(got, "K:a/b/2\nK:a/c\nK:b/1\nK:c\n");
    free(got);
    got = list_all(*state, "", "", 1000, NULL, "a/b");
    assert_string_equal(got, "K:a/b/1\nK:a/b/2\nK:a/c\nK:b/1\nK:c\n");
    free(got);
    got = list_all(*state, "", "", 1000, NULL, "a/bz");
    assert_string_equal(got, "K:a/c\nK:b/1\nK:c\n");
    free(got);
    /* A marker equal to a common prefix resumes after the whole prefix. */
    got = list_all(*state, "", "/", 1000, NULL, "a/");
    assert_string_equal(got, "P:b/\nK:c\n");
    free(got);
    /* A marker inside a prefix also skips the rest of that prefix. */
    got = list_all(*state, "", "/", 1000, NULL, "a/b/1");
    assert_string_equal(got, "P:b/\nK:c\n");
    free(got);
    got = list_all(*state, "", "", 1000, NULL, "zzz");
    assert_string_equal(got, "");
    free(got);
}

static bool marker_cb(int dir_fd, struct gw_str dir_key, void *arg)
{
    (void)dir_fd;
    return gw_str_eq_c(dir_key, (const char *)arg);
}

static void markers_and_empty_dirs(void **state)
{
    struct fixture *f = *state;
    struct gw_arena a;
    struct s3_list_result r;
    struct s3_list_params p = {.bucket_fd = f->bucket_fd, .max_keys = 1000};
    char *got;

    put(f, "empty/");
    put(f, "full/x");
    put(f, "nested/empty/");
    got = list_all(f, "", "", 1000, NULL, NULL);
    assert_string_equal(got, "K:empty/\nK:full/x\nK:nested/empty/\n");
    free(got);
    p.is_marker = marker_cb;
    p.is_marker_arg = "full/";
    gw_arena_init(&a);
    assert_int_equal(s3_list_run(&p, &a, &r), GW_OK);
    assert_int_equal(r.n_entries, 4);
    assert_true(gw_str_eq_c(r.entries[1].key, "full/"));
    assert_true(r.entries[1].is_dir);
    assert_int_equal(r.entries[1].size, 0);
    assert_true(r.entries[1].mtime_ns > 0);
    assert_true(gw_str_eq_c(r.entries[2].key, "full/x"));
    assert_false(r.entries[2].is_dir);
    assert_int_equal(r.entries[2].size, 3);
    assert_true(r.entries[2].ino != 0);
    gw_arena_release(&a);
}

static void skipped_entries(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[600];
    char *got;
    int sock;

    put(f, ".unigw/inside-bucket-is-a-key");
    put(f, "real/file");
    snprintf(path, sizeof path, "%s/link-dir", f->bucket);
    assert_int_equal(symlink("/etc", path), 0);
    snprintf(path, sizeof path, "%s/real/link-file", f->bucket);
    assert_int_equal(symlink("file", path), 0);
    snprintf(path, sizeof path, "%s/fifo", f->bucket);
    assert_int_equal(mkfifo(path, 0644), 0);
    snprintf(path, sizeof path, "%s/real/fifo", f->bucket);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_true(snprintf(sa.sun_path, sizeof sa.sun_path, "%s/real/sock", f->bucket) <
                (int)sizeof sa.sun_path);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
    snprintf(path, sizeof path, "%s/bad-\xff-utf8", f->bucket);
    assert_int_equal(close(open(path, O_WRONLY | O_CREAT, 0644)), 0);
    got = list_all(f, "", "", 1000, NULL, NULL);
    assert_string_equal(got, "K:.unigw/inside-bucket-is-a-key\nK:real/file\n");
    free(got);
    close(sock);
    got = list_all(f, "link-dir/", "", 1000, NULL, NULL);
    assert_string_equal(got, "");
    free(got);
}

static void bucket_errors_and_zero_keys(void **state)
{
    struct fixture *f = *state;
    struct gw_arena a;
    struct s3_list_result r;
    struct s3_list_params p = {.bucket_fd = f->bucket_fd, .max_keys = 0};

    put(f, "k");
    gw_arena_init(&a);
    assert_int_equal(s3_list_run(&p, &a, &r), GW_OK);
    assert_int_equal(r.n_entries, 0);
    assert_false(r.is_truncated);
    /* A missing or symlinked bucket never gets here: s3__store_bucket refuses
     * it (tests/unit/s3/test_store.c).  A directory that cannot be read: */
    p.bucket_fd = -1;
    p.max_keys = 1;
    assert_int_equal(s3_list_run(&p, &a, &r), GW_ERR_IO);
    p.bucket_fd = f->bucket_fd;
    p.max_keys = 5000; /* capped, not refused */
    assert_int_equal(s3_list_run(&p, &a, &r), GW_OK);
    assert_int_equal(r.n_entries, 1);
    gw_arena_release(&a);
}

static void buckets_of_root(void **state)
{
    struct fixture *f = *state;
    struct gw_arena a;
    struct s3_bucket_info *b = NULL;
    size_t n = 0;
    char path[600];

    snprintf(path, sizeof path, "%s/.unigw", f->root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/.hidden", f->root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/Zeta", f->root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/afile", f->root);
    assert_int_equal(close(open(path, O_WRONLY | O_CREAT, 0644)), 0);
    snprintf(path, sizeof path, "%s/alink", f->root);
    assert_int_equal(symlink(f->bucket, path), 0);
    gw_arena_init(&a);
    assert_int_equal(s3_list_buckets(f->root_fd, &a, &b, &n), GW_OK);
    assert_int_equal(n, 2);
    assert_true(gw_str_eq_c(b[0].name, "Zeta"));
    assert_true(gw_str_eq_c(b[1].name, "bkt"));
    assert_true(b[1].mtime_ns > 0);
    assert_int_equal(s3_list_buckets(-1, &a, &b, &n), GW_ERR_IO);
    gw_arena_release(&a);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* The cache serves repeat listings, and any change to a directory retires
 * its entry (checked with a cache that has no racy window). */
static void cache_invalidation(void **state)
{
    struct fixture *f = *state;
    struct s3_list_cache *c = s3_list_cache_create(16, 1 << 20, 0);
    uint64_t hits = 0;
    uint64_t misses = 0;
    size_t n_dirs = 0;
    char from[600];
    char to[600];
    char *got;

    put(f, "d/a");
    put(f, "d/b");
    sleep_ms(30);
    got = list_all(f, "", "", 1000, c, NULL);
    assert_string_equal(got, "K:d/a\nK:d/b\n");
    free(got);
    s3_list_cache_stats(c, &hits, &misses, &n_dirs);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 2);
    assert_int_equal(n_dirs, 2);
    got = list_all(f, "", "", 1000, c, NULL);
    assert_string_equal(got, "K:d/a\nK:d/b\n");
    free(got);
    s3_list_cache_stats(c, &hits, &misses, &n_dirs);
    assert_int_equal(hits, 2);

    sleep_ms(30);
    put(f, "d/c");
    got = list_all(f, "", "", 1000, c, NULL);
    assert_string_equal(got, "K:d/a\nK:d/b\nK:d/c\n");
    free(got);
    sleep_ms(30);
    snprintf(from, sizeof from, "%s/d/a", f->bucket);
    snprintf(to, sizeof to, "%s/d/z", f->bucket);
    assert_int_equal(rename(from, to), 0);
    got = list_all(f, "", "", 1000, c, NULL);
    assert_string_equal(got, "K:d/b\nK:d/c\nK:d/z\n");
    free(got);
    sleep_ms(30);
    assert_int_equal(unlink(to), 0);
    got = list_all(f, "", "", 1000, c, NULL);
    assert_string_equal(got, "K:d/b\nK:d/c\n");
    free(got);
    s3_list_cache_stats(c, &hits, &misses, &n_dirs);
    assert_true(n_dirs <= 2); /* stale listings were replaced, not piled up */
    s3_list_cache_destroy(c);
}

static void cache_bounded(void **state)
{
    struct fixture *f = *state;
    struct s3_list_cache *c = s3_list_cache_create(3, 1 << 20, 0);
    uint64_t hits = 0;
    uint64_t misses = 0;
    size_t n_dirs = 0;
    char key[32];
    char *got;

    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "d%d/x", i);
        put(f, key);
    }
    sleep_ms(30);
    got = list_all(f, "", "", 1000, c, NULL);
    free(got);
    s3_list_cache_stats(c, &hits, &misses, &n_dirs);
    assert_int_equal(n_dirs, 3);
    s3_list_cache_destroy(c);
    /* With the default racy window nothing just written is cached. */
    c = s3_list_cache_create(16, 1 << 20, S3_LIST_CACHE_RACY_NS);
    got = list_all(f, "", "", 1000, c, NULL);
    free(got);
    s3_list_cache_stats(c, &hits, &misses, &n_dirs);
    assert_int_equal(n_dirs, 0);
    s3_list_cache_destroy(c);
}

struct churn {
    const struct fixture *f;
    volatile bool stop;
};

static void *churn_main(void *arg)
{
    struct churn *ch = arg;
    char path[700];
    char dir[600];

    for (unsigned i = 0; !ch->stop; i++) {
        snprintf(dir, sizeof dir, "%s/c%u", ch->f->bucket, i % 7);
        snprintf(path, sizeof path, "%s/f%u", dir, i % 13);
        mkdir(dir, 0755);
        close(open(path, O_WRONLY | O_CREAT, 0644));
        if (i % 3 == 0) {
            unlink(path);
            rmdir(dir);
        }
    }
    return NULL;
}

/* Listing while another thread creates and removes files and directories
 * never crashes and always yields a sorted, duplicate-free listing. */
static void concurrent_modification(void **state)
{
    struct churn ch = {*state, false};
    struct s3_list_cache *c = s3_list_cache_create(8, 1 << 20, 0);
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, churn_main, &ch), 0);
    for (int round = 0; round < 200; round++) {
        char *got = list_all(*state, "", round % 2 ? "/" : "", 3, round % 3 ? c : NULL, NULL);
        char *prev = NULL;
        for (char *line = strtok(got, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (prev != NULL) {
                assert_true(strcmp(prev + 2, line + 2) < 0);
            }
            prev = line;
        }
        free(got);
    }
    ch.stop = true;
    pthread_join(t, NULL);
    s3_list_cache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(order_across_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(prefix_mid_name, setup, teardown),
        cmocka_unit_test_setup_teardown(delimiter_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(delimiter_other, setup, teardown),
        cmocka_unit_test_setup_teardown(pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(start_after_inside_subtree, setup, teardown),
        cmocka_unit_test_setup_teardown(markers_and_empty_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(skipped_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(bucket_errors_and_zero_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(buckets_of_root, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_invalidation, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_modification, setup, teardown),
    };
    return cmocka_run_group_tests_name("s3/list", tests, NULL, NULL);
}
