/* Streaming multi-hash, CRCs and the S3 checksum helpers.
 *
 * The cryptographic digests come from OpenSSL EVP.  CRC-32 and CRC-32C come
 * from ISA-L, whose conventions differ: crc32_gzip_refl() inverts on entry
 * and exit (so its result chains directly), while crc32_iscsi() works on the
 * raw register (the caller seeds with ~0 and inverts the result).  Debian's
 * ISA-L 2.30 has no CRC-64/NVME, so it is implemented here with a
 * slicing-by-8 table, built once under pthread_once.
 *
 * CRC combination uses the GF(2) polynomial arithmetic of zlib's
 * crc32_combine (x^(8n) mod P by repeated squaring), generic over the width,
 * so multipart checksums can be derived from per-part CRCs.
 *
 * Failure modes: none for hashing (OpenSSL allocation failure aborts, as
 * gw_malloc does); decoding a client's base64 value reports
 * GW_ERR_INVALID_CHECKSUM, a wrong value GW_ERR_CHECKSUM_MISMATCH. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define CRC32_POLY_REFL 0xedb88320u
#define CRC32C_POLY_REFL 0x82f63b78u
#define CRC64NVME_POLY_REFL 0x9a6c9329ac4bc9b5ull

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

/* Build the eight slicing tables of the reflected CRC-64/NVME polynomial. */
static void crc64_table_build(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;

        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ CRC64NVME_POLY_REFL : c >> 1;
        }
        crc64_table[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint64_t prev = crc64_table[t - 1][i];
            crc64_table[t][i] = (prev >> 8) ^ crc64_table[0][prev & 0xff];
        }
    }
}

/* Advance the raw (non-inverted) CRC-64/NVME register over @n bytes. */
static uint64_t crc64_update(uint64_t c, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                     (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                     (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;

        c ^= w;
        c = crc64_table[7][c & 0xff] ^ crc64_table[6][(c >> 8) & 0xff] ^
            crc64_table[5][(c >> 16) & 0xff] ^ crc64_table[4][(c >> 24) & 0xff] ^
            crc64_table[3][(c >> 32) & 0xff] ^ crc64_table[2][(c >> 40) & 0xff] ^
            crc64_table[1][(c >> 48) & 0xff] ^ crc64_table[0][c >> 56];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) {
        c = (c >> 8) ^ crc64_table[0][(c ^ *p++) & 0xff];
    }
    return c;
}

uint64_t gw_crc64nvme(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&crc64_once, crc64_table_build);
    return ~crc64_update(~crc, p, n);
}

uint32_t gw_crc32(uint32_t crc, const void *p, size_t n)
{
    return crc32_gzip_refl(crc, p, n);
}

/* Advance the raw CRC-32C register; crc32_iscsi takes an int length. */
static uint32_t crc32c_update(uint32_t c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t k = n > (size_t)(INT_MAX / 2) ? (size_t)(INT_MAX / 2) : n;

        c = crc32_iscsi((unsigned char *)p, (int)k, c);
        p += k;
        n -= k;
    }
    return c;
}

uint32_t gw_crc32c(uint32_t crc, const void *p, size_t n)
{
    return ~crc32c_update(~crc, p, n);
}

/* a(x) * b(x) mod P(x) for a reflected polynomial of @width bits (zlib multmodp). */
static uint64_t mult_modp(uint64_t a, uint64_t b, uint64_t poly, unsigned width)
{
    uint64_t m = 1ull << (width - 1);
    uint64_t p = 0;

    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) {
                break;
            }
        }
        m >>= 1;
        b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
    }
    return p;
}

/* x^(8 * @len) mod P(x). */
static uint64_t x8n_modp(uint64_t len, uint64_t poly, unsigned width)
{
    uint64_t p = 1ull << (width - 1); /* x^0 */
    uint64_t sq = 1ull << (width - 2); /* x^1, squared up to x^(2^k) */

    for (int k = 0; k < 3; k++) {
        sq = mult_modp(sq, sq, poly, width); /* x^8 after three squarings */
    }
    while (len != 0) {
        if (len & 1) {
            p = mult_modp(sq, p, poly, width);
        }
        len >>= 1;
        sq = mult_modp(sq, sq, poly, width);
    }
    return p;
}

uint32_t gw_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return (uint32_t)mult_modp(x8n_modp(len_b, CRC32_POLY_REFL, 32), crc_a, CRC32_POLY_REFL, 32) ^
           crc_b;
}

uint32_t gw_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return (uint32_t)mult_modp(x8n_modp(len_b, CRC32C_POLY_REFL, 32), crc_a, CRC32C_POLY_REFL,
                               32) ^
           crc_b;
}

uint64_t gw_crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
    return mult_modp(x8n_modp(len_b, CRC64NVME_POLY_REFL, 64), crc_a, CRC64NVME_POLY_REFL, 64) ^
           crc_b;
}

/* A fresh EVP context for @md; aborts on OOM like gw_malloc. */
static EVP_MD_CTX *md_ctx_new(const EVP_MD *md)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    if (c == NULL || EVP_DigestInit_ex(c, md, NULL) != 1) {
        GW_LOG(GW_LOG_ERROR, "common", "checksum: EVP digest init failed");
        abort();
    }
    return c;
}

void gw_hash_init(struct gw_hash *h, unsigned algs)
{
    memset(h, 0, sizeof *h);
    h->algs = algs & GW_HASH_ALL;
    if (h->algs & GW_HASH_MD5) {
        h->md5 = md_ctx_new(EVP_md5());
    }
    if (h->algs & GW_HASH_SHA1) {
        h->sha1 = md_ctx_new(EVP_sha1());
    }
    if (h->algs & GW_HASH_SHA256) {
        h->sha256 = md_ctx_new(EVP_sha256());
    }
    h->crc32c = 0xffffffffu;
    h->crc64 = ~0ull;
    if (h->algs & GW_HASH_CRC64NVME) {
        pthread_once(&crc64_once, crc64_table_build);
    }
}

void gw_hash_update(struct gw_hash *h, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }
    h->n_bytes += n;
    if (h->md5 != NULL) {
        EVP_DigestUpdate(h->md5, p, n);
    }
    if (h->sha1 != NULL) {
        EVP_DigestUpdate(h->sha1, p, n);
    }
    if (h->sha256 != NULL) {
        EVP_DigestUpdate(h->sha256, p, n);
    }
    if (h->algs & GW_HASH_CRC32) {
        h->crc32 = crc32_gzip_refl(h->crc32, p, n);
    }
    if (h->algs & GW_HASH_CRC32C) {
        h->crc32c = crc32c_update(h->crc32c, p, n);
    }
    if (h->algs & GW_HASH_CRC64NVME) {
        h->crc64 = crc64_update(h->crc64, p, n);
    }
}

void gw_hash_final(struct gw_hash *h, struct gw_digests *out)
{
    memset(out, 0, sizeof *out);
    out->algs = h->algs;
    out->n_bytes = h->n_bytes;
    if (h->md5 != NULL) {
        EVP_DigestFinal_ex(h->md5, out->md5, NULL);
    }
    if (h->sha1 != NULL) {
        EVP_DigestFinal_ex(h->sha1, out->sha1, NULL);
    }
    if (h->sha256 != NULL) {
        EVP_DigestFinal_ex(h->sha256, out->sha256, NULL);
    }
    out->crc32 = h->crc32;
    out->crc32c = ~h->crc32c;
    out->crc64nvme = ~h->crc64;
}

void gw_hash_cleanup(struct gw_hash *h)
{
    EVP_MD_CTX_free(h->md5);
    EVP_MD_CTX_free(h->sha1);
    EVP_MD_CTX_free(h->sha256);
    h->md5 = NULL;
    h->sha1 = NULL;
    h->sha256 = NULL;
    h->algs = 0;
}

void gw_md5(const void *p, size_t n, unsigned char out[GW_MD5_LEN])
{
    EVP_Digest(p, n, out, NULL, EVP_md5(), NULL);
}

void gw_sha256(const void *p, size_t n, unsigned char out[GW_SHA256_LEN])
{
    EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

void gw_sha256_hex(const void *p, size_t n, char hex[2 * GW_SHA256_LEN + 1])
{
    unsigned char d[GW_SHA256_LEN];

    gw_sha256(p, n, d);
    gw_hex_encode(d, sizeof d, hex);
}

void gw_hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
                    unsigned char out[GW_SHA256_LEN])
{
    unsigned int len = GW_SHA256_LEN;
    static const unsigned char empty;

    /* HMAC() treats a NULL key as "reuse"; give it a real pointer. */
    if (HMAC(EVP_sha256(), key_len ? key : &empty, (int)key_len, p ? p : &empty, n, out, &len) ==
        NULL) {
        GW_LOG(GW_LOG_ERROR, "common", "checksum: HMAC failed");
        abort();
    }
}

/* The S3 checksum algorithms: bit, header suffix, name. */
static const struct {
    unsigned alg;
    const char *header;
    const char *name;
} checksum_names[] = {
    {GW_HASH_CRC32, "x-amz-checksum-crc32", "CRC32"},
    {GW_HASH_CRC32C, "x-amz-checksum-crc32c", "CRC32C"},
    {GW_HASH_CRC64NVME, "x-amz-checksum-crc64nvme", "CRC64NVME"},
    {GW_HASH_SHA1, "x-amz-checksum-sha1", "SHA1"},
    {GW_HASH_SHA256, "x-amz-checksum-sha256", "SHA256"},
};

#define N_CHECKSUM_NAMES (sizeof checksum_names / sizeof checksum_names[0])

unsigned gw_checksum_alg_from_header(struct gw_str name)
{
    for (size_t i = 0; i < N_CHECKSUM_NAMES; i++) {
        if (gw_str_caseeq_c(name, checksum_names[i].header)) {
            return checksum_names[i].alg;
        }
    }
    return 0;
}

unsigned gw_checksum_alg_from_name(struct gw_str name)
{
    for (size_t i = 0; i < N_CHECKSUM_NAMES; i++) {
        if (gw_str_caseeq_c(name, checksum_names[i].name)) {
            return checksum_names[i].alg;
        }
    }
    return 0;
}

const char *gw_checksum_header_name(unsigned alg)
{
    for (size_t i = 0; i < N_CHECKSUM_NAMES; i++) {
        if (checksum_names[i].alg == alg) {
            return checksum_names[i].header;
        }
    }
    return NULL;
}

const char *gw_checksum_alg_name(unsigned alg)
{
    for (size_t i = 0; i < N_CHECKSUM_NAMES; i++) {
        if (checksum_names[i].alg == alg) {
            return checksum_names[i].name;
        }
    }
    return NULL;
}

size_t gw_hash_len(unsigned alg)
{
    switch (alg) {
    case GW_HASH_MD5:
        return GW_MD5_LEN;
    case GW_HASH_SHA1:
        return GW_SHA1_LEN;
    case GW_HASH_SHA256:
        return GW_SHA256_LEN;
    case GW_HASH_CRC32:
    case GW_HASH_CRC32C:
        return 4;
    case GW_HASH_CRC64NVME:
        return 8;
    default:
        return 0;
    }
}

/* Big-endian bytes of the low @n bytes of @v. */
static void put_be(uint64_t v, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[n - 1 - i] = (unsigned char)(v >> (8 * i));
    }
}

size_t gw_checksum_bytes(const struct gw_digests *d, unsigned alg, unsigned char *out)
{
    size_t n = gw_hash_len(alg);

    if (n == 0 || (d->algs & alg) == 0) {
        return 0;
    }
    switch (alg) {
    case GW_HASH_MD5:
        memcpy(out, d->md5, n);
        break;
    case GW_HASH_SHA1:
        memcpy(out, d->sha1, n);
        break;
    case GW_HASH_SHA256:
        memcpy(out, d->sha256, n);
        break;
    case GW_HASH_CRC32:
        put_be(d->crc32, n, out);
        break;
    case GW_HASH_CRC32C:
        put_be(d->crc32c, n, out);
        break;
    default:
        put_be(d->crc64nvme, n, out);
        break;
    }
    return n;
}

size_t gw_checksum_base64(const struct gw_digests *d, unsigned alg, char *out)
{
    unsigned char raw[GW_HASH_MAX_LEN];
    size_t n = gw_checksum_bytes(d, alg, raw);

    if (n == 0) {
        out[0] = '\0';
        return 0;
    }
    return gw_base64_encode(raw, n, out);
}

int gw_checksum_decode(unsigned alg, struct gw_str b64, unsigned char *out)
{
    size_t want = gw_hash_len(alg);
    size_t got = 0;

    if (want == 0 || b64.len != gw_base64_len(want)) {
        return GW_ERR_INVALID_CHECKSUM;
    }
    if (!gw_base64_decode(b64, out, GW_HASH_MAX_LEN, &got) || got != want) {
        return GW_ERR_INVALID_CHECKSUM;
    }
    return GW_OK;
}

int gw_checksum_check(const struct gw_digests *d, unsigned alg, struct gw_str b64)
{
    unsigned char want[GW_HASH_MAX_LEN];
    unsigned char have[GW_HASH_MAX_LEN];
    size_t n;
    int rv;

    rv = gw_checksum_decode(alg, b64, want);
    if (rv != 0) {
        return rv;
    }
    n = gw_checksum_bytes(d, alg, have);
    if (n == 0) {
        return GW_ERR_INTERNAL;
    }
    return memcmp(want, have, n) == 0 ? GW_OK : GW_ERR_CHECKSUM_MISMATCH;
}
