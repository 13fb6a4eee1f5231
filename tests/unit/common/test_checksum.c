/* Tests of common/checksum.c: published check values, streaming over
 * arbitrary splits, CRC combination, S3 header names and base64 forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unigw/checksum.h"
#include "unigw/err.h"

static const char check_input[] = "123456789";

/* If the input is the standard "123456789", then each CRC is its catalogue check value. */
static void crc_check_values(void **state)
{
    (void)state;
    assert_int_equal(gw_crc32(0, check_input, 9), 0xcbf43926u);
    assert_int_equal(gw_crc32c(0, check_input, 9), 0xe3069283u);
    assert_true(gw_crc64nvme(0, check_input, 9) == 0xae8b14860a799888ull);
    assert_int_equal(gw_crc32(0, "", 0), 0);
    assert_int_equal(gw_crc32c(0, "", 0), 0);
    assert_true(gw_crc64nvme(0, "", 0) == 0);
}

/* Fill @p with deterministic pseudo-random bytes. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* Bitwise reference CRC-64/NVME, independent of the slicing tables. */
static uint64_t crc64_ref(const unsigned char *p, size_t n)
{
    uint64_t c = ~0ull;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x9a6c9329ac4bc9b5ull : c >> 1;
        }
    }
    return ~c;
}

/* If data is hashed in pieces, then the CRCs equal the one-shot and reference values. */
static void crc_chaining(void **state)
{
    unsigned char buf[1031];

    (void)state;
    fill(buf, sizeof buf, 7);
    for (size_t cut = 0; cut <= sizeof buf; cut += 37) {
        uint32_t c32 = gw_crc32(gw_crc32(0, buf, cut), buf + cut, sizeof buf - cut);
        uint32_t c32c = gw_crc32c(gw_crc32c(0, buf, cut), buf + cut, sizeof buf - cut);
        uint64_t c64 = gw_crc64nvme(gw_crc64nvme(0, buf, cut), buf + cut, sizeof buf - cut);

        assert_int_equal(c32, gw_crc32(0, buf, sizeof buf));
        assert_int_equal(c32c, gw_crc32c(0, buf, sizeof buf));
        assert_true(c64 == crc64_ref(buf, sizeof buf));
    }
}

/* If two CRCs are combined with the second length, then they equal the CRC of the concatenation. */
static void crc_combine(void **state)
{
    unsigned char buf[4099];

    (void)state;
    fill(buf, sizeof buf, 11);
    for (size_t cut = 0; cut <= sizeof buf; cut += 113) {
        size_t lb = sizeof buf - cut;

        assert_int_equal(gw_crc32_combine(gw_crc32(0, buf, cut), gw_crc32(0, buf + cut, lb), lb),
                         gw_crc32(0, buf, sizeof buf));
        assert_int_equal(
            gw_crc32c_combine(gw_crc32c(0, buf, cut), gw_crc32c(0, buf + cut, lb), lb),
            gw_crc32c(0, buf, sizeof buf));
        assert_true(gw_crc64nvme_combine(gw_crc64nvme(0, buf, cut),
                                         gw_crc64nvme(0, buf + cut, lb),
                                         lb) == gw_crc64nvme(0, buf, sizeof buf));
    }
}

/* Digest of @p with OpenSSL directly, to compare the streaming hash with. */
static void evp_digest(const EVP_MD *md, const void *p, size_t n, unsigned char *out)
{
    assert_int_equal(EVP_Digest(p, n, out, NULL, md, NULL), 1);
}

/* If a buffer is fed in uneven pieces, then every digest equals OpenSSL's and the CRCs'. */
static void hash_streaming_all(void **state)
{
    static unsigned char buf[100003];
    unsigned char want[GW_HASH_MAX_LEN];
    struct gw_hash h;
    struct gw_digests d;
    size_t off = 0;

    (void)state;
    fill(buf, sizeof buf, 3);
    gw_hash_init(&h, GW_HASH_ALL);
    for (size_t step = 1; off < sizeof buf; step = step * 3 + 1) {
        size_t n = step % 7919;

        n = n > sizeof buf - off ? sizeof buf - off : n;
        gw_hash_update(&h, buf + off, n);
        off += n;
    }
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    assert_true(d.n_bytes == sizeof buf);
    evp_digest(EVP_md5(), buf, sizeof buf, want);
    assert_memory_equal(d.md5, want, GW_MD5_LEN);
    evp_digest(EVP_sha1(), buf, sizeof buf, want);
    assert_memory_equal(d.sha1, want, GW_SHA1_LEN);
    evp_digest(EVP_sha256(), buf, sizeof buf, want);
    assert_memory_equal(d.sha256, want, GW_SHA256_LEN);
    assert_int_equal(d.crc32, gw_crc32(0, buf, sizeof buf));
    assert_int_equal(d.crc32c, gw_crc32c(0, buf, sizeof buf));
    assert_true(d.crc64nvme == crc64_ref(buf, sizeof buf));
}

/* If only a subset is asked for, then only that subset is reported. */
static void hash_subset(void **state)
{
    struct gw_hash h;
    struct gw_digests d;
    unsigned char raw[GW_HASH_MAX_LEN];
    char b64[GW_CHECKSUM_B64_CAP];

    (void)state;
    gw_hash_init(&h, GW_HASH_CRC32C);
    gw_hash_update(&h, check_input, 9);
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    gw_hash_cleanup(&h); /* twice is harmless */
    assert_int_equal(d.algs, GW_HASH_CRC32C);
    assert_int_equal(gw_checksum_bytes(&d, GW_HASH_SHA256, raw), 0);
    assert_int_equal(gw_checksum_base64(&d, GW_HASH_CRC32, b64), 0);
    assert_int_equal(gw_checksum_bytes(&d, GW_HASH_CRC32C, raw), 4);
    assert_memory_equal(raw, "\xe3\x06\x92\x83", 4);
}

/* If the body is the sdkv3 sample "hello world\n", then CRC32 renders as its rwg7LQ== header. */
static void checksum_base64_sample(void **state)
{
    struct gw_hash h;
    struct gw_digests d;
    char b64[GW_CHECKSUM_B64_CAP];

    (void)state;
    gw_hash_init(&h, GW_CHECKSUM_ALGS);
    gw_hash_update(&h, "hello world\n", 12);
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    assert_int_equal(gw_checksum_base64(&d, GW_HASH_CRC32, b64), 8);
    assert_string_equal(b64, "rwg7LQ==");
    assert_int_equal(gw_checksum_check(&d, GW_HASH_CRC32, GW_STR("rwg7LQ==")), GW_OK);
    assert_int_equal(gw_checksum_check(&d, GW_HASH_CRC32, GW_STR("rwg7LA==")),
                     GW_ERR_CHECKSUM_MISMATCH);
    assert_int_equal(gw_checksum_check(&d, GW_HASH_CRC32, GW_STR("rwg7LQ")),
                     GW_ERR_INVALID_CHECKSUM);
    assert_int_equal(gw_checksum_check(&d, GW_HASH_CRC32, GW_STR("rwg7LQ==AAAA")),
                     GW_ERR_INVALID_CHECKSUM);
    assert_int_equal(gw_checksum_check(&d, GW_HASH_CRC32C, GW_STR("r!g7LQ==")),
                     GW_ERR_INVALID_CHECKSUM);
    /* sha256 of "hello world\n" is a948904f...; its base64 is 44 characters. */
    assert_int_equal(gw_checksum_base64(&d, GW_HASH_SHA256, b64), 44);
    assert_string_equal(b64, "qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=");
    assert_int_equal(gw_checksum_base64(&d, GW_HASH_CRC64NVME, b64), 12);
}

/* If names are mapped both ways, then each S3 algorithm round-trips and others map to 0. */
static void checksum_names(void **state)
{
    static const unsigned algs[] = {GW_HASH_CRC32, GW_HASH_CRC32C, GW_HASH_CRC64NVME,
                                    GW_HASH_SHA1, GW_HASH_SHA256};

    (void)state;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        assert_int_equal(gw_checksum_alg_from_header(gw_str_c(gw_checksum_header_name(algs[i]))),
                         algs[i]);
        assert_int_equal(gw_checksum_alg_from_name(gw_str_c(gw_checksum_alg_name(algs[i]))),
                         algs[i]);
    }
    assert_int_equal(gw_checksum_alg_from_header(GW_STR("X-Amz-Checksum-CRC64NVME")),
                     GW_HASH_CRC64NVME);
    assert_int_equal(gw_checksum_alg_from_name(GW_STR("crc32c")), GW_HASH_CRC32C);
    assert_int_equal(gw_checksum_alg_from_header(GW_STR("x-amz-checksum-md5")), 0);
    assert_int_equal(gw_checksum_alg_from_header(GW_STR("x-amz-checksum-crc")), 0);
    assert_int_equal(gw_checksum_alg_from_name(GW_STR("")), 0);
    assert_null(gw_checksum_header_name(GW_HASH_MD5));
    assert_null(gw_checksum_alg_name(GW_HASH_CRC32 | GW_HASH_SHA1));
}

/* If the one-shot helpers run on RFC 4231 test case 2, then HMAC and SHA-256 match. */
static void oneshot_helpers(void **state)
{
    unsigned char mac[GW_SHA256_LEN];
    char hex[65];

    (void)state;
    gw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    gw_hex_encode(mac, sizeof mac, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    gw_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    gw_md5("", 0, mac);
    gw_hex_encode(mac, GW_MD5_LEN, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
}

static void *thread_hash(void *arg)
{
    struct gw_hash *h = arg;

    gw_hash_update(h, check_input, 9);
    return NULL;
}

/* If a hash is initialised on one thread and updated on another, then the result is correct. */
static void hash_on_worker_thread(void **state)
{
    struct gw_hash h;
    struct gw_digests d;
    pthread_t t;

    (void)state;
    gw_hash_init(&h, GW_HASH_CRC64NVME | GW_HASH_SHA256);
    assert_int_equal(pthread_create(&t, NULL, thread_hash, &h), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    assert_true(d.crc64nvme == 0xae8b14860a799888ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_check_values),     cmocka_unit_test(crc_chaining),
        cmocka_unit_test(crc_combine),          cmocka_unit_test(hash_streaming_all),
        cmocka_unit_test(hash_subset),          cmocka_unit_test(checksum_base64_sample),
        cmocka_unit_test(checksum_names),       cmocka_unit_test(oneshot_helpers),
        cmocka_unit_test(hash_on_worker_thread),
    };
    return cmocka_run_group_tests_name("common/checksum", tests, NULL, NULL);
}
