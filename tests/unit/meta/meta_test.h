/* Helpers shared by the meta unit tests: a store in a fresh temp dir and a
 * one-line apply.  Include after <cmocka.h>. */
#ifndef UNIGW_TESTS_UNIT_META_META_TEST_H
#define UNIGW_TESTS_UNIT_META_META_TEST_H

#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/meta.h"

static const uint8_t mt_key[META_CLUSTER_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

struct mt {
    char *dir;
    struct meta *m;
    uint64_t index; /* last index handed to meta_apply */
};

static inline void mt_open(struct mt *t)
{
    memset(t, 0, sizeof *t);
    t->dir = tl_tmpdir();
    assert_int_equal(meta_open(t->dir, mt_key, 0, &t->m), GW_OK);
}

/* Close and reopen the same directory. */
static inline void mt_reopen(struct mt *t)
{
    meta_close(t->m);
    t->m = NULL;
    assert_int_equal(meta_open(t->dir, mt_key, 0, &t->m), GW_OK);
}

static inline void mt_close(struct mt *t)
{
    meta_close(t->m);
    tl_rmrf(t->dir);
    free(t->dir);
}

/* A header whose request id is @id in every byte (0: no dedup). */
static inline struct meta_cmd_hdr mt_hdr(uint8_t id, uint64_t ts)
{
    struct meta_cmd_hdr h;

    memset(&h, 0, sizeof h);
    memset(h.req_id, id, sizeof h.req_id);
    h.ts_ms = ts;
    h.user = GW_STR("admin");
    return h;
}

/* Apply @cmd (then emptied) at the next index; return the business result. */
static inline int mt_apply(struct mt *t, struct gw_buf *cmd)
{
    int result = -1;

    assert_int_equal(meta_apply(t->m, ++t->index, cmd->data, cmd->len, &result), GW_OK);
    gw_buf_reset(cmd);
    return result;
}

/* Encode-and-apply shorthands with no request id. */
static inline int mt_user(struct mt *t, const char *name, bool is_admin)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_user_create(&b, &h, gw_str_c(name), is_admin), GW_OK);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static inline int mt_bucket(struct mt *t, const char *name, const char *owner)
{
    struct meta_cmd_hdr h = mt_hdr(0, 2000);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    assert_int_equal(meta_cmd_bucket_create(&b, &h, gw_str_c(name), gw_str_c(owner),
                                            GW_STR("us-east-1")),
                     GW_OK);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

/* Seals with a fixed nonce so that two stores fed the same stream are equal. */
static inline int mt_key_create(struct mt *t, const char *ak, const char *user, const char *secret)
{
    struct meta_cmd_hdr h = mt_hdr(0, 3000);
    struct gw_buf sealed = GW_BUF_INIT, b = GW_BUF_INIT;
    uint8_t nonce[META_NONCE_LEN] = {9};
    int result;

    assert_int_equal(meta_secret_seal(mt_key, gw_str_c(secret), nonce, &sealed), GW_OK);
    assert_int_equal(meta_cmd_key_create(&b, &h, gw_str_c(ak), gw_str_c(user),
                                         gw_buf_str(&sealed)),
                     GW_OK);
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    gw_buf_free(&sealed);
    return result;
}

#endif
