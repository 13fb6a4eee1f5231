/* Unit tests for meta/cmd.c: the command codec.
 *
 * With META_SEED_DIR set, the test also writes every sample command there
 * (that is how tests/fuzz/corpus/meta_cmd_decode/ was made). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "meta_test.h"

#define N_SAMPLES META_CMD__MAX

/* One encoded sample of every command type, with distinct field values. */
static void samples_make(struct gw_buf out[N_SAMPLES])
{
    struct meta_cmd_hdr h = mt_hdr(7, 1700000000123ull);
    static char longkey[META_OBJKEY_MAX];

    memset(longkey, 'k', sizeof longkey);
    for (int i = 0; i < N_SAMPLES; i++) {
        out[i] = GW_BUF_INIT;
    }
    assert_int_equal(meta_cmd_user_create(&out[0], &h, GW_STR("alice"), true), 0);
    assert_int_equal(meta_cmd_user_set_disabled(&out[1], &h, GW_STR("bob"), true), 0);
    assert_int_equal(meta_cmd_user_delete(&out[2], &h, GW_STR("carol")), 0);
    assert_int_equal(meta_cmd_key_create(&out[3], &h, GW_STR("AKIA1"), GW_STR("alice"),
                                         GW_STR("0123456789abcdefghijklmnopqrstuvwxyz")),
                     0);
    assert_int_equal(meta_cmd_key_delete(&out[4], &h, GW_STR("AKIA2")), 0);
    assert_int_equal(meta_cmd_bucket_create(&out[5], &h, GW_STR("photos"), GW_STR("alice"),
                                            GW_STR("eu-west-1")),
                     0);
    assert_int_equal(meta_cmd_bucket_delete(&out[6], &h, GW_STR("old")), 0);
    assert_int_equal(meta_cmd_bucket_set_owner(&out[7], &h, GW_STR("photos"), GW_STR("dave")), 0);
    assert_int_equal(meta_cmd_policy_put(&out[8], &h, GW_STR("photos"), GW_STR("{\"V\":1}")), 0);
    assert_int_equal(meta_cmd_policy_delete(&out[9], &h, GW_STR("photos")), 0);
    assert_int_equal(meta_cmd_tags_put(&out[10], &h, GW_STR("photos"),
                                       gw_str_make(longkey, sizeof longkey), GW_STR("oid-1"),
                                       GW_STR("a=b&c=d")),
                     0);
    assert_int_equal(meta_cmd_tags_delete(&out[11], &h, GW_STR("photos"), GW_STR("x/y.jpg")), 0);
    assert_int_equal(meta_cmd_upload_create(&out[12], &h, GW_STR("photos"), GW_STR("big.iso"),
                                            GW_STR("v1-0123abcd"), GW_STR("\x01info")),
                     0);
    assert_int_equal(meta_cmd_part_put(&out[13], &h, GW_STR("photos"), GW_STR("v1-0123abcd"),
                                       10000, 5ull << 30, GW_STR("0123456789abcdef"),
                                       GW_STR("crc1"), GW_STR("10000-ffee")),
                     0);
    assert_int_equal(meta_cmd_upload_claim(&out[14], &h, GW_STR("photos"), GW_STR("v1-0123abcd"),
                                           GW_STR("digest-of-the-part-list")),
                     0);
    assert_int_equal(meta_cmd_upload_finish(&out[15], &h, GW_STR("photos"),
                                            GW_STR("v1-0123abcd"),
                                            GW_STR("0123456789abcdef0123456789abcdef-3"), 77),
                     0);
    assert_int_equal(meta_cmd_upload_abort(&out[16], &h, GW_STR("photos"), GW_STR("v1-x")), 0);
    assert_int_equal(meta_cmd_bucket_tags_put(&out[17], &h, GW_STR("photos"), GW_STR("k=v")), 0);
    assert_int_equal(meta_cmd_bucket_tags_delete(&out[18], &h, GW_STR("photos")), 0);
    assert_int_equal(meta_cmd_noop(&out[19], &h), 0);
    assert_int_equal(meta_cmd_tags_drop(&out[20], &h, GW_STR("photos"), GW_STR("a/b"),
                                        GW_STR("0123abcd")),
                     0);
    assert_int_equal(meta_cmd_member_register(&out[21], &h, 0x0102030405060708ull, 1, 3,
                                              GW_STR("0.1.0-dev")),
                     0);
    {
        const uint64_t voters[] = {1, 2, 3};
        assert_int_equal(meta_cmd_cluster_finalize(&out[22], &h, voters, 3), 0);
    }
}

static void samples_free(struct gw_buf b[N_SAMPLES])
{
    for (int i = 0; i < N_SAMPLES; i++) {
        gw_buf_free(&b[i]);
    }
}

static void seed_write(const char *dir, int type, const struct gw_buf *b)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/type-%02d.bin", dir, type);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

/* Each sample decodes to its type with the header intact, and re-encodes to
 * the same bytes. */
static void cmd_round_trip_every_type(void **state)
{
    struct gw_buf b[N_SAMPLES];
    const char *seed_dir = getenv("META_SEED_DIR");

    (void)state;
    samples_make(b);
    for (int i = 0; i < N_SAMPLES; i++) {
        struct gw_buf again = GW_BUF_INIT;
        struct meta_cmd c;

        assert_int_equal(meta_cmd_decode(b[i].data, b[i].len, &c), GW_OK);
        assert_int_equal(c.type, i + 1);
        assert_int_equal(c.version, 1);
        assert_int_equal(c.hdr.ts_ms, 1700000000123ull);
        assert_int_equal(c.hdr.req_id[15], 7);
        assert_true(gw_str_eq(c.hdr.user, GW_STR("admin")));
        assert_int_equal(meta_cmd_encode(&again, &c), GW_OK);
        assert_int_equal(again.len, b[i].len);
        assert_memory_equal(again.data, b[i].data, b[i].len);
        gw_buf_free(&again);
        if (seed_dir != NULL) {
            seed_write(seed_dir, i + 1, &b[i]);
        }
    }
    samples_free(b);
}

/* Decoded fields carry exactly what was encoded. */
static void cmd_fields_decoded(void **state)
{
    struct gw_buf b[N_SAMPLES];
    struct meta_cmd c;

    (void)state;
    samples_make(b);
    assert_int_equal(meta_cmd_decode(b[0].data, b[0].len, &c), 0);
    assert_true(gw_str_eq(c.u.user_create.name, GW_STR("alice")));
    assert_true(c.u.user_create.is_admin);
    assert_int_equal(meta_cmd_decode(b[1].data, b[1].len, &c), 0);
    assert_true(c.u.user_set_disabled.is_disabled);
    assert_int_equal(meta_cmd_decode(b[3].data, b[3].len, &c), 0);
    assert_true(gw_str_eq(c.u.key_create.access_key, GW_STR("AKIA1")));
    assert_true(gw_str_eq(c.u.key_create.user, GW_STR("alice")));
    assert_int_equal(c.u.key_create.sealed.len, 36);
    assert_int_equal(meta_cmd_decode(b[5].data, b[5].len, &c), 0);
    assert_true(gw_str_eq(c.u.bucket_create.name, GW_STR("photos")));
    assert_true(gw_str_eq(c.u.bucket_create.owner, GW_STR("alice")));
    assert_true(gw_str_eq(c.u.bucket_create.region, GW_STR("eu-west-1")));
    assert_int_equal(meta_cmd_decode(b[7].data, b[7].len, &c), 0);
    assert_true(gw_str_eq(c.u.bucket_set_owner.owner, GW_STR("dave")));
    assert_int_equal(meta_cmd_decode(b[8].data, b[8].len, &c), 0);
    assert_true(gw_str_eq(c.u.policy_put.policy, GW_STR("{\"V\":1}")));
    assert_int_equal(meta_cmd_decode(b[10].data, b[10].len, &c), 0);
    assert_int_equal(c.u.tags_put.key.len, META_OBJKEY_MAX);
    assert_true(gw_str_eq(c.u.tags_put.object_id, GW_STR("oid-1")));
    assert_true(gw_str_eq(c.u.tags_put.tags, GW_STR("a=b&c=d")));
    assert_int_equal(meta_cmd_decode(b[11].data, b[11].len, &c), 0);
    assert_true(gw_str_eq(c.u.tags_delete.key, GW_STR("x/y.jpg")));
    assert_int_equal(meta_cmd_decode(b[12].data, b[12].len, &c), 0);
    assert_true(gw_str_eq(c.u.upload_create.key, GW_STR("big.iso")));
    assert_true(gw_str_eq(c.u.upload_create.upload_id, GW_STR("v1-0123abcd")));
    assert_true(gw_str_eq(c.u.upload_create.info, GW_STR("\x01info")));
    assert_int_equal(meta_cmd_decode(b[13].data, b[13].len, &c), 0);
    assert_int_equal(c.u.part_put.number, 10000);
    assert_int_equal(c.u.part_put.size, 5ull << 30);
    assert_true(gw_str_eq(c.u.part_put.md5, GW_STR("0123456789abcdef")));
    assert_true(gw_str_eq(c.u.part_put.cksum, GW_STR("crc1")));
    assert_true(gw_str_eq(c.u.part_put.file, GW_STR("10000-ffee")));
    assert_int_equal(meta_cmd_decode(b[14].data, b[14].len, &c), 0);
    assert_true(gw_str_eq(c.u.upload_claim.claim, GW_STR("digest-of-the-part-list")));
    assert_int_equal(meta_cmd_decode(b[15].data, b[15].len, &c), 0);
    assert_int_equal(c.u.upload_finish.size, 77);
    assert_int_equal(c.u.upload_finish.etag.len, 34);
    assert_int_equal(meta_cmd_decode(b[16].data, b[16].len, &c), 0);
    assert_true(gw_str_eq(c.u.upload_abort.upload_id, GW_STR("v1-x")));
    assert_int_equal(meta_cmd_decode(b[17].data, b[17].len, &c), 0);
    assert_true(gw_str_eq(c.u.bucket_tags_put.tags, GW_STR("k=v")));
    assert_int_equal(meta_cmd_decode(b[18].data, b[18].len, &c), 0);
    assert_true(gw_str_eq(c.u.bucket_tags_delete.bucket, GW_STR("photos")));
    assert_int_equal(meta_cmd_decode(b[20].data, b[20].len, &c), 0);
    assert_true(gw_str_eq(c.u.tags_drop.bucket, GW_STR("photos")));
    assert_true(gw_str_eq(c.u.tags_drop.key, GW_STR("a/b")));
    assert_true(gw_str_eq(c.u.tags_drop.object_id, GW_STR("0123abcd")));
    samples_free(b);
}

/* The first bytes of the wire format are fixed: u16 type, u16 version, LE. */
static void cmd_wire_prefix(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 0x0102030405060708ull);
    struct gw_buf b = GW_BUF_INIT;
    const unsigned char *p;

    (void)state;
    assert_int_equal(meta_cmd_bucket_delete(&b, &h, GW_STR("x")), 0);
    p = (const unsigned char *)b.data;
    assert_int_equal(p[0], META_CMD_BUCKET_DELETE);
    assert_int_equal(p[1], 0);
    assert_int_equal(p[2], 1);
    assert_int_equal(p[3], 0);
    assert_int_equal(p[20], 0x08); /* ts_ms after the 16-byte request id */
    assert_int_equal(p[27], 0x01);
    assert_int_equal(b.len, 4 + 16 + 8 + 4 + 5 + 4 + 1);
    gw_buf_free(&b);
}

/* Every proper prefix of every command fails to decode, and so does one
 * trailing byte. */
static void cmd_truncations_fail(void **state)
{
    struct gw_buf b[N_SAMPLES];
    struct meta_cmd c;

    (void)state;
    samples_make(b);
    for (int i = 0; i < N_SAMPLES; i++) {
        for (size_t n = 0; n < b[i].len; n++) {
            char *copy = gw_malloc(n + 1); /* exact-size copy: ASan sees any over-read */
            memcpy(copy, b[i].data, n);
            assert_int_equal(meta_cmd_decode(copy, n, &c), GW_ERR_CORRUPT);
            gw_free(copy);
        }
        gw_buf_append_byte(&b[i], 0);
        assert_int_equal(meta_cmd_decode(b[i].data, b[i].len, &c), GW_ERR_CORRUPT);
    }
    samples_free(b);
}

/* Unknown types and newer versions are TOO_NEW; type or version 0 is corrupt. */
static void cmd_unknown_type_and_version(void **state)
{
    struct gw_buf b[N_SAMPLES];
    struct meta_cmd c;

    (void)state;
    samples_make(b);
    b[0].data[0] = META_CMD__MAX + 1;
    assert_int_equal(meta_cmd_decode(b[0].data, b[0].len, &c), GW_ERR_TOO_NEW);
    b[0].data[0] = 0;
    assert_int_equal(meta_cmd_decode(b[0].data, b[0].len, &c), GW_ERR_CORRUPT);
    b[1].data[2] = 2;
    assert_int_equal(meta_cmd_decode(b[1].data, b[1].len, &c), GW_ERR_TOO_NEW);
    b[1].data[2] = 0;
    assert_int_equal(meta_cmd_decode(b[1].data, b[1].len, &c), GW_ERR_CORRUPT);
    samples_free(b);
}

/* Hand-build the start of a user_delete command. */
static void raw_user_delete_hdr(struct gw_buf *b)
{
    uint8_t id[META_REQ_ID_LEN] = {0};

    gw_buf_put_u16(b, META_CMD_USER_DELETE);
    gw_buf_put_u16(b, 1);
    gw_buf_append(b, id, sizeof id);
    gw_buf_put_u64(b, 0);
    gw_buf_put_bytes(b, GW_STR(""));
}

/* A bool other than 0/1 and a string over its limit are rejected. */
static void cmd_bad_fields(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct meta_cmd c;
    char big[META_NAME_MAX + 1];

    (void)state;
    assert_int_equal(meta_cmd_user_create(&b, &h, GW_STR("u"), true), 0);
    b.data[b.len - 1] = 2;
    assert_int_equal(meta_cmd_decode(b.data, b.len, &c), GW_ERR_CORRUPT);
    gw_buf_reset(&b);

    memset(big, 'a', sizeof big);
    assert_int_equal(meta_cmd_user_delete(&b, &h, gw_str_make(big, sizeof big)),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);
    h.user = gw_str_make(big, sizeof big);
    assert_int_equal(meta_cmd_user_delete(&b, &h, GW_STR("u")), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);

    raw_user_delete_hdr(&b); /* a name one byte over the limit */
    gw_buf_put_bytes(&b, gw_str_make(big, sizeof big));
    assert_int_equal(meta_cmd_decode(b.data, b.len, &c), GW_ERR_CORRUPT);
    gw_buf_reset(&b);
    raw_user_delete_hdr(&b); /* a length larger than what follows */
    gw_buf_put_u32(&b, 0xffffffffu);
    assert_int_equal(meta_cmd_decode(b.data, b.len, &c), GW_ERR_CORRUPT);
    gw_buf_reset(&b);
    raw_user_delete_hdr(&b); /* and the well-formed one, to show the builder is right */
    gw_buf_put_bytes(&b, GW_STR("u"));
    assert_int_equal(meta_cmd_decode(b.data, b.len, &c), GW_OK);
    gw_buf_free(&b);
}

/* Multipart limits: an MD5 longer than 16 bytes, a checksum over 32 bytes or
 * an upload id over 128 bytes is refused by the encoder and by the decoder. */
static void cmd_mpu_limits(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 1);
    struct gw_buf b = GW_BUF_INIT;
    struct meta_cmd c;
    char big[META_UPLOAD_ID_MAX + 1];

    (void)state;
    memset(big, 'a', sizeof big);
    assert_int_equal(meta_cmd_part_put(&b, &h, GW_STR("b"), GW_STR("u"), 1, 1,
                                       gw_str_make(big, META_MD5_LEN + 1), GW_STR(""),
                                       GW_STR("f")),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_cmd_part_put(&b, &h, GW_STR("b"), GW_STR("u"), 1, 1,
                                       gw_str_make(big, META_MD5_LEN),
                                       gw_str_make(big, META_CKSUM_MAX + 1), GW_STR("f")),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_cmd_upload_abort(&b, &h, GW_STR("b"), gw_str_make(big, sizeof big)),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);
    /* Hand-build an abort whose upload id is one byte over the limit. */
    assert_int_equal(meta_cmd_upload_abort(&b, &h, GW_STR("b"), GW_STR("u")), 0);
    b.len -= 4 + 1;
    gw_buf_put_bytes(&b, gw_str_make(big, sizeof big));
    assert_int_equal(meta_cmd_decode(b.data, b.len, &c), GW_ERR_CORRUPT);
    gw_buf_free(&b);
}

static void cmd_encode_unknown_type(void **state)
{
    struct gw_buf b = GW_BUF_INIT;
    struct meta_cmd c;

    (void)state;
    memset(&c, 0, sizeof c);
    c.type = META_CMD__MAX + 1;
    assert_int_equal(meta_cmd_encode(&b, &c), GW_ERR_INVALID_ARGUMENT);
    c.type = 0;
    assert_int_equal(meta_cmd_encode(&b, &c), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);
}

/* Request ids and nonces are random; the header keeps time and user. */
static void cmd_hdr_init_random(void **state)
{
    struct meta_cmd_hdr a, b;
    uint8_t n1[META_NONCE_LEN], n2[META_NONCE_LEN];

    (void)state;
    assert_int_equal(meta_cmd_hdr_init(&a, 42, GW_STR("u")), 0);
    assert_int_equal(meta_cmd_hdr_init(&b, 43, GW_STR("u")), 0);
    assert_memory_not_equal(a.req_id, b.req_id, META_REQ_ID_LEN);
    assert_int_equal(a.ts_ms, 42);
    assert_true(gw_str_eq(a.user, GW_STR("u")));
    assert_int_equal(meta_nonce_make(n1), 0);
    assert_int_equal(meta_nonce_make(n2), 0);
    assert_memory_not_equal(n1, n2, META_NONCE_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cmd_round_trip_every_type),
        cmocka_unit_test(cmd_fields_decoded),
        cmocka_unit_test(cmd_wire_prefix),
        cmocka_unit_test(cmd_truncations_fail),
        cmocka_unit_test(cmd_unknown_type_and_version),
        cmocka_unit_test(cmd_bad_fields),
        cmocka_unit_test(cmd_mpu_limits),
        cmocka_unit_test(cmd_encode_unknown_type),
        cmocka_unit_test(cmd_hdr_init_random),
    };
    return cmocka_run_group_tests_name("meta/cmd", tests, NULL, NULL);
}
