/* Streaming multi-hash and the checksum helpers S3 needs.
 *
 * struct gw_hash computes any subset of MD5, SHA-1, SHA-256 (OpenSSL EVP),
 * CRC-32 (zlib/gzip polynomial), CRC-32C (Castagnoli) and CRC-64/NVME in one
 * pass over the data.  A gw_hash holds no pointer to shared mutable state, so
 * it may be initialised on one thread and updated or finalised on another (a
 * worker of the pool); only one thread may use a given gw_hash at a time.
 *
 * S3 transmits checksums in base64 of the big-endian digest
 * (x-amz-checksum-crc32: 4 bytes, crc32c: 4 bytes, crc64nvme: 8 bytes,
 * sha1: 20 bytes, sha256: 32 bytes). */
#ifndef UNIGW_INCLUDE_CHECKSUM_H
#define UNIGW_INCLUDE_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/str.h"

enum gw_hash_alg {
    GW_HASH_MD5 = 1u << 0,
    GW_HASH_SHA1 = 1u << 1,
    GW_HASH_SHA256 = 1u << 2,
    GW_HASH_CRC32 = 1u << 3,
    GW_HASH_CRC32C = 1u << 4,
    GW_HASH_CRC64NVME = 1u << 5,
};

#define GW_HASH_ALL                                                                                \
    (GW_HASH_MD5 | GW_HASH_SHA1 | GW_HASH_SHA256 | GW_HASH_CRC32 | GW_HASH_CRC32C |               \
     GW_HASH_CRC64NVME)

#define GW_MD5_LEN 16
#define GW_SHA1_LEN 20
#define GW_SHA256_LEN 32
#define GW_HASH_MAX_LEN 32
/* Longest base64 rendering (SHA-256) plus the NUL. */
#define GW_CHECKSUM_B64_CAP (gw_base64_len(GW_HASH_MAX_LEN) + 1)

/* Opaque OpenSSL contexts, so this header does not pull in OpenSSL. */
struct evp_md_ctx_st;

struct gw_hash {
    unsigned algs;
    struct evp_md_ctx_st *md5;
    struct evp_md_ctx_st *sha1;
    struct evp_md_ctx_st *sha256;
    uint32_t crc32;  /* running CRC-32 (isa-l convention: already finalised) */
    uint32_t crc32c; /* running CRC-32C register (not inverted) */
    uint64_t crc64;  /* running CRC-64/NVME register (not inverted) */
    uint64_t n_bytes;
};

/* Raw digests; only the members whose bit is in @algs are meaningful.  CRCs
 * are numbers here; gw_checksum_bytes gives their big-endian wire form. */
struct gw_digests {
    unsigned algs;
    unsigned char md5[GW_MD5_LEN];
    unsigned char sha1[GW_SHA1_LEN];
    unsigned char sha256[GW_SHA256_LEN];
    uint32_t crc32;
    uint32_t crc32c;
    uint64_t crc64nvme;
    uint64_t n_bytes;
};

/* Start hashing with the algorithms in @algs (a mask of enum gw_hash_alg;
 * 0 is allowed and only counts bytes).  Aborts on OOM like gw_malloc. */
void gw_hash_init(struct gw_hash *h, unsigned algs);
void gw_hash_update(struct gw_hash *h, const void *p, size_t n);
/* Write the digests into @out.  @h must then be released with
 * gw_hash_cleanup (or initialised again after cleanup). */
void gw_hash_final(struct gw_hash *h, struct gw_digests *out);
/* Free the contexts; safe on a zeroed or already cleaned-up gw_hash. */
void gw_hash_cleanup(struct gw_hash *h);

/* One-shot helpers. */
void gw_md5(const void *p, size_t n, unsigned char out[GW_MD5_LEN]);
void gw_sha256(const void *p, size_t n, unsigned char out[GW_SHA256_LEN]);
/* Lower-case hex SHA-256 of @p into @hex (65 bytes with the NUL). */
void gw_sha256_hex(const void *p, size_t n, char hex[2 * GW_SHA256_LEN + 1]);
void gw_hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
                    unsigned char out[GW_SHA256_LEN]);

/* CRCs with their standard parameters.  Chain them by passing the previous
 * result as @crc (0 to start):  crc(a||b) == gw_crc32(gw_crc32(0, a), b). */
uint32_t gw_crc32(uint32_t crc, const void *p, size_t n);
uint32_t gw_crc32c(uint32_t crc, const void *p, size_t n);
uint64_t gw_crc64nvme(uint64_t crc, const void *p, size_t n);

/* Combine: given crc(A), crc(B) and len(B), return crc(A||B) without the
 * data (zlib's crc32_combine, via GF(2) operator powers: O(log len)). */
uint32_t gw_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint32_t gw_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint64_t gw_crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* The S3 checksum algorithms (x-amz-checksum-*): exactly one bit of
 * GW_HASH_CRC32 | CRC32C | CRC64NVME | SHA1 | SHA256. */
#define GW_CHECKSUM_ALGS                                                                           \
    (GW_HASH_CRC32 | GW_HASH_CRC32C | GW_HASH_CRC64NVME | GW_HASH_SHA1 | GW_HASH_SHA256)

/* Map a header name ("x-amz-checksum-crc32", any case) to its algorithm bit;
 * 0 when it is not one. */
unsigned gw_checksum_alg_from_header(struct gw_str name);
/* Map an algorithm name as in x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm
 * ("CRC32", "crc64nvme", any case) to its bit; 0 when unknown. */
unsigned gw_checksum_alg_from_name(struct gw_str name);
/* "x-amz-checksum-crc32" etc. for one checksum bit; NULL for anything else. */
const char *gw_checksum_header_name(unsigned alg);
/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"; NULL for anything else. */
const char *gw_checksum_alg_name(unsigned alg);
/* Digest length in bytes of one algorithm bit (MD5 included); 0 if unknown. */
size_t gw_hash_len(unsigned alg);

/* The big-endian wire bytes of one algorithm's digest from @d into @out
 * (GW_HASH_MAX_LEN bytes); returns the length, 0 if @alg is not in @d. */
size_t gw_checksum_bytes(const struct gw_digests *d, unsigned alg, unsigned char *out);
/* Base64 of gw_checksum_bytes into @out (GW_CHECKSUM_B64_CAP bytes, NUL
 * terminated); returns its length, 0 if @alg is not in @d. */
size_t gw_checksum_base64(const struct gw_digests *d, unsigned alg, char *out);
/* Decode a client's base64 value for @alg into @out (GW_HASH_MAX_LEN bytes).
 * GW_OK, or GW_ERR_INVALID_CHECKSUM when it is not valid base64 of the right
 * length. */
int gw_checksum_decode(unsigned alg, struct gw_str b64, unsigned char *out);
/* Does the client's base64 value @b64 equal what @d computed for @alg?
 * GW_OK, GW_ERR_CHECKSUM_MISMATCH, or GW_ERR_INVALID_CHECKSUM if malformed. */
int gw_checksum_check(const struct gw_digests *d, unsigned alg, struct gw_str b64);

#endif
