/* Unit tests for s3/path.c: name rules and the key -> path mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "unigw/err.h"

#include "path.h"

static void bucket_new_rules(void **state)
{
    static const char *const good[] = {"abc", "my-bucket.example", "a1b", "123", "a.b-c.d"};
    static const char *const bad[] = {
        "ab",     "Abc",           "a_b",         "-abc",         "abc-",          ".abc",
        "abc.",   "a..b",          "192.168.1.1", "xn--abc",      "abc-s3alias",   "abc--ol-s3",
        "sthree-x", "a b",         "abc/",        "",
    };
    char long_name[65];

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(s3_path_bucket_check_new(gw_str_c(good[i])), GW_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s3_path_bucket_check_new(gw_str_c(bad[i])), GW_ERR_INVALID_BUCKET_NAME);
    }
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_int_equal(s3_path_bucket_check_new(gw_str_make(long_name, 63)), GW_OK);
    assert_int_equal(s3_path_bucket_check_new(gw_str_make(long_name, 64)),
                     GW_ERR_INVALID_BUCKET_NAME);
    /* Not an IP address: five groups, or a 4-digit group. */
    assert_int_equal(s3_path_bucket_check_new(GW_STR("1.2.3.4.5")), GW_OK);
    assert_int_equal(s3_path_bucket_check_new(GW_STR("1.2.3.4444")), GW_OK);
}

static void bucket_existing_rules(void **state)
{
    (void)state;
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("Data_Set 1")), GW_OK);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("ab")), GW_OK);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR(".unigw")), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR(".hidden")),
                     GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("..")), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("a/b")), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("a\0b")), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("\xff")), GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_bucket_check_existing(GW_STR("")), GW_ERR_INVALID_BUCKET_NAME);
}

static void key_rules(void **state)
{
    static const char *const good[] = {
        "a",       "a/b/c",   "dir/",         ".unigw/x",     ".unigw", "a b+c=d",
        "...",     "a/.b",    "a/..b/c",      "caf\xc3\xa9",  "\xf0\x9f\x98\x80/x", "a/b/",
    };
    static const char *const bad[] = {
        "/a",  "a//b", ".",   "..",    "a/./b", "a/../b", "a/..",  "../x",   "//",
        "/",   "a//",  "./",  "../",   "\xc3",  "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
    };
    char big[1100];

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(s3_path_key_check(gw_str_c(good[i])), GW_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s3_path_key_check(gw_str_c(bad[i])), GW_ERR_INVALID_KEY);
    }
    assert_int_equal(s3_path_key_check(GW_STR("")), GW_ERR_INVALID_KEY);
    assert_int_equal(s3_path_key_check(GW_STR("a\0b")), GW_ERR_INVALID_KEY);
    /* 1024 bytes in segments of 255 is fine; 1025 is too long; a 256-byte segment is not. */
    memset(big, 'x', sizeof big);
    for (size_t i = 255; i < sizeof big; i += 256) {
        big[i] = '/';
    }
    assert_int_equal(s3_path_key_check(gw_str_make(big, 1024)), GW_OK);
    assert_int_equal(s3_path_key_check(gw_str_make(big, 1025)), GW_ERR_KEY_TOO_LONG);
    memset(big, 'x', sizeof big);
    assert_int_equal(s3_path_key_check(gw_str_make(big, 255)), GW_OK);
    assert_int_equal(s3_path_key_check(gw_str_make(big, 256)), GW_ERR_INVALID_KEY);
}

static void for_key_maps_inside_bucket(void **state)
{
    char out[S3_PATH_MAX];

    (void)state;
    assert_int_equal(s3_path_for_key(out, sizeof out, "/mnt/data/", GW_STR("b"), GW_STR("a/b c")),
                     GW_OK);
    assert_string_equal(out, "/mnt/data/b/a/b c");
    assert_int_equal(s3_path_for_key(out, sizeof out, "/mnt/data", GW_STR("b"), GW_STR("dir/")),
                     GW_OK);
    assert_string_equal(out, "/mnt/data/b/dir");
    assert_int_equal(s3_path_for_key(out, sizeof out, "/", GW_STR("b"), GW_STR("k")), GW_OK);
    assert_string_equal(out, "/b/k");
    assert_int_equal(s3_path_for_bucket(out, sizeof out, "/srv", GW_STR("bkt")), GW_OK);
    assert_string_equal(out, "/srv/bkt");
}

/* Every way out of <root>/<bucket>/ is refused before a path is written. */
static void for_key_refuses_escapes(void **state)
{
    static const char *const keys[] = {"..", "a/../../x", "../x", "/etc/passwd", "a/..", "./x"};
    char out[S3_PATH_MAX];
    char decoded[16];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        strcpy(out, "untouched");
        assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR("b"), gw_str_c(keys[i])),
                         GW_ERR_INVALID_KEY);
        assert_string_equal(out, "untouched");
    }
    assert_true(gw_url_decode(GW_STR("%2e%2e"), decoded, &n, false));
    assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR("b"), gw_str_make(decoded, n)),
                     GW_ERR_INVALID_KEY);
    assert_true(gw_url_decode(GW_STR("a%2F..%2F..%2Fx"), decoded, &n, false));
    assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR("b"), gw_str_make(decoded, n)),
                     GW_ERR_INVALID_KEY);
    assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR("b"), GW_STR("a\0/../x")),
                     GW_ERR_INVALID_KEY);
    /* A bad bucket is refused too: "..", ".unigw", a slash. */
    assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR(".."), GW_STR("x")),
                     GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR(".unigw"), GW_STR("tmp/x")),
                     GW_ERR_INVALID_BUCKET_NAME);
    assert_int_equal(s3_path_for_key(out, sizeof out, "/srv", GW_STR("a/b"), GW_STR("x")),
                     GW_ERR_INVALID_BUCKET_NAME);
}

static void for_key_short_buffer(void **state)
{
    char out[16];

    (void)state;
    /* "/srv/bkt/key" is 12 bytes plus the NUL. */
    assert_int_equal(s3_path_for_key(out, 12, "/srv", GW_STR("bkt"), GW_STR("key")),
                     GW_ERR_INTERNAL);
    assert_int_equal(s3_path_for_key(out, 13, "/srv", GW_STR("bkt"), GW_STR("key")), GW_OK);
    assert_string_equal(out, "/srv/bkt/key");
}

static void reserved_paths(void **state)
{
    char out[S3_PATH_MAX];
    char out2[S3_PATH_MAX];
    size_t prefix_len = strlen("/srv/.unigw/tmp/node-1-");

    (void)state;
    assert_int_equal(s3_path_reserved_dir(out, sizeof out, "/srv/"), GW_OK);
    assert_string_equal(out, "/srv/.unigw");
    assert_int_equal(s3_path_tmp_dir(out, sizeof out, "/srv"), GW_OK);
    assert_string_equal(out, "/srv/.unigw/tmp");
    assert_int_equal(s3_path_multipart_root(out, sizeof out, "/srv"), GW_OK);
    assert_string_equal(out, "/srv/.unigw/multipart");
    assert_int_equal(s3_path_multipart_dir(out, sizeof out, "/srv", GW_STR("2~abc_DEF-9.x")),
                     GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(s3_path_multipart_dir(out, sizeof out, "/srv", GW_STR("1.abc_DEF-9")), GW_OK);
    assert_string_equal(out, "/srv/.unigw/multipart/1.abc_DEF-9");
    assert_int_equal(s3_path_multipart_dir(out, sizeof out, "/srv", GW_STR("..")),
                     GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(s3_path_multipart_dir(out, sizeof out, "/srv", GW_STR("a/b")),
                     GW_ERR_NO_SUCH_UPLOAD);
    assert_int_equal(s3_path_multipart_dir(out, sizeof out, "/srv", GW_STR("")),
                     GW_ERR_NO_SUCH_UPLOAD);

    assert_int_equal(s3_path_tmp_file(out, sizeof out, "/srv", GW_STR("node-1")), GW_OK);
    assert_int_equal(s3_path_tmp_file(out2, sizeof out2, "/srv", GW_STR("node-1")), GW_OK);
    assert_int_equal(strlen(out), prefix_len + 32);
    assert_memory_equal(out, "/srv/.unigw/tmp/node-1-", prefix_len);
    for (size_t i = prefix_len; i < strlen(out); i++) {
        assert_non_null(strchr("0123456789abcdef", out[i]));
    }
    assert_string_not_equal(out, out2);
    assert_int_equal(s3_path_tmp_file(out, sizeof out, "/srv", GW_STR("../x")),
                     GW_ERR_INVALID_ARGUMENT);
}

static void parent_dirs(void **state)
{
    struct gw_str dirs[4];
    size_t n = 0;

    (void)state;
    s3_path_parent_dirs(GW_STR("a/bb/c"), dirs, 4, &n);
    assert_int_equal(n, 2);
    assert_true(gw_str_eq_c(dirs[0], "a"));
    assert_true(gw_str_eq_c(dirs[1], "a/bb"));
    s3_path_parent_dirs(GW_STR("a/bb/"), dirs, 4, &n);
    assert_int_equal(n, 1);
    assert_true(gw_str_eq_c(dirs[0], "a"));
    s3_path_parent_dirs(GW_STR("top"), dirs, 4, &n);
    assert_int_equal(n, 0);
    s3_path_parent_dirs(GW_STR("d/"), dirs, 4, &n);
    assert_int_equal(n, 0);
    s3_path_parent_dirs(GW_STR("1/2/3/4/5/6"), dirs, 2, &n);
    assert_int_equal(n, 5);
    assert_true(gw_str_eq_c(dirs[1], "1/2"));
}

static void utf8_counts(void **state)
{
    size_t n = 0;

    (void)state;
    assert_true(s3__utf8_check(GW_STR("caf\xc3\xa9 \xf0\x9f\x98\x80"), &n));
    assert_int_equal(n, 6);
    assert_false(s3__utf8_check(GW_STR("\xe0\x80\xaf"), NULL)); /* overlong '/' */
    assert_false(s3__utf8_check(GW_STR("\xf8\x88\x80\x80\x80"), NULL));
    assert_false(s3__utf8_check(GW_STR("\xe2\x82"), NULL)); /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_new_rules),       cmocka_unit_test(bucket_existing_rules),
        cmocka_unit_test(key_rules),              cmocka_unit_test(for_key_maps_inside_bucket),
        cmocka_unit_test(for_key_refuses_escapes), cmocka_unit_test(for_key_short_buffer),
        cmocka_unit_test(reserved_paths),         cmocka_unit_test(parent_dirs),
        cmocka_unit_test(utf8_counts),
    };
    return cmocka_run_group_tests_name("s3/path", tests, NULL, NULL);
}
