/* Unit tests for s3/mpu_cleanup.c: what the cleanup task removes from
 * .unigw/multipart/ and what it leaves.  The staged directory of a completed
 * upload (a node stopped between upload_finish and removing it) goes at
 * once, not when the completed record expires; open and claimed uploads and
 * young orphans keep theirs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mpu.h"
#include "s3_fixture.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/meta.h"

enum { UP_OPEN, UP_CLAIMED, UP_COMPLETED };

static const char *const ids[] = {"v1-00000000000000000000000000000001",
                                  "v1-00000000000000000000000000000002",
                                  "v1-00000000000000000000000000000003",
                                  "v1-00000000000000000000000000000004"};

static void staged_file(struct fx *f, const char *id)
{
    char path[700];

    snprintf(path, sizeof path, "%s/.unigw/multipart", fx_mount(f));
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/.unigw/multipart/%s", fx_mount(f), id);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/.unigw/multipart/%s/1-left", fx_mount(f), id);
    fx_write_file(path, "part bytes", 10);
}

static void commit(struct fx *f, struct gw_buf *cmd)
{
    assert_int_equal(fx_commit(f, cmd), GW_OK);
    gw_buf_reset(cmd);
}

/* An upload of b/k<i> in @state with one part, its staged file on the mount. */
static void upload_in_state(struct fx *f, int i, int state)
{
    struct meta_cmd_hdr h = fx_cmd_hdr();
    struct s3_mpu_info info = {0};
    struct gw_buf enc = GW_BUF_INIT, cmd = GW_BUF_INIT;
    char key[16];
    unsigned char md5[GW_MD5_LEN] = {1};

    snprintf(key, sizeof key, "k%d", i);
    s3__mpu_info_encode(&info, &enc);
    assert_int_equal(meta_cmd_upload_create(&cmd, &h, GW_STR("b"), gw_str_c(key),
                                            gw_str_c(ids[i]), gw_buf_str(&enc)),
                     GW_OK);
    commit(f, &cmd);
    assert_int_equal(meta_cmd_part_put(&cmd, &h, GW_STR("b"), gw_str_c(ids[i]), 1, 10,
                                       gw_str_make((const char *)md5, GW_MD5_LEN), GW_STR(""),
                                       GW_STR("1-left")),
                     GW_OK);
    commit(f, &cmd);
    if (state >= UP_CLAIMED) {
        assert_int_equal(meta_cmd_upload_claim(&cmd, &h, GW_STR("b"), gw_str_c(ids[i]),
                                               GW_STR("0123456789abcdef0123456789abcdef")),
                         GW_OK);
        commit(f, &cmd);
    }
    if (state >= UP_COMPLETED) {
        assert_int_equal(meta_cmd_upload_finish(&cmd, &h, GW_STR("b"), gw_str_c(ids[i]),
                                                GW_STR("0123456789abcdef0123456789abcdef-1"),
                                                10),
                         GW_OK);
        commit(f, &cmd);
    }
    staged_file(f, ids[i]);
    gw_buf_free(&enc);
    gw_buf_free(&cmd);
}

static bool staged(struct fx *f, const char *id)
{
    char path[700];
    struct stat st;

    snprintf(path, sizeof path, "%s/.unigw/multipart/%s", fx_mount(f), id);
    return stat(path, &st) == 0;
}

static void completed_upload_loses_its_staged_data(void **state)
{
    struct fx *f = fx_create(8, false);
    struct meta_upload u;

    (void)state;
    upload_in_state(f, 0, UP_OPEN);
    upload_in_state(f, 1, UP_CLAIMED);
    upload_in_state(f, 2, UP_COMPLETED);
    staged_file(f, ids[3]); /* an orphan, younger than the grace */
    s3__mpu_cleanup_run(fx_service(f), fx_pool(f));
    fx_settle(f);
    assert_true(staged(f, ids[0]));
    assert_true(staged(f, ids[1]));
    assert_false(staged(f, ids[2]));
    assert_true(staged(f, ids[3]));
    /* The completed record stays for idempotent retries of Complete. */
    assert_int_equal(meta_upload_get(fx_meta(f), GW_STR("b"), gw_str_c(ids[2]), &u, NULL), GW_OK);
    assert_int_equal(u.state, META_UPLOAD_COMPLETED);
    fx_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(completed_upload_loses_its_staged_data),
    };
    fx_filter_from_env();
    return cmocka_run_group_tests_name("s3/mpu_cleanup", tests, NULL, NULL);
}
