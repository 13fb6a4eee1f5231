/* node/cache/token: make and verify redirect tokens (format in token.h).
 *
 * Verification order: length and alphabet, canonical base64url, version,
 * the principal's length against the decoded size, then the MAC (constant
 * time), then the expected principal, then the expiry.  Every malformed input
 * is refused before any MAC is computed; nothing is allocated for input that
 * is longer than a token can be. */
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>

#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/err.h"

#include "token.h"

#define TOKEN_FIXED_LEN (1 + 4 + 1 + NODE_CACHE_TOKEN_MAC_LEN)
#define TOKEN_MAX_RAW (TOKEN_FIXED_LEN + NODE_CACHE_TOKEN_MAX_PRINCIPAL)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void node_cache_token_key_derive(struct node_cache_token_key *out, const void *cluster_key,
                                 size_t len)
{
    static const char label[] = "unigw cache token v1";
    unsigned char mac[GW_SHA256_LEN];

    gw_hmac_sha256(cluster_key, len, label, sizeof label - 1, mac);
    memcpy(out->k, mac, sizeof out->k);
    OPENSSL_cleanse(mac, sizeof mac);
}

/* base64url without padding; returns the length written (no NUL). */
static size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        out[o++] = b64url[in[i] >> 2];
        out[o++] = b64url[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

        out[o++] = b64url[v >> 10];
        out[o++] = b64url[(v >> 4) & 63];
        out[o++] = b64url[(v & 15) << 2];
    }
    return o;
}

static int b64url_value(char c)
{
    const char *p = c != '\0' ? strchr(b64url, c) : NULL;

    return p != NULL ? (int)(p - b64url) : -1;
}

/* Strict decode: only the alphabet, no padding, unused low bits zero (one
 * text per byte string, so a token cannot be re-spelled).  False on any
 * deviation or when the output would exceed @cap. */
static bool b64url_decode(struct gw_str in, unsigned char *out, size_t cap, size_t *out_len)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    if (in.len % 4 == 1 || in.len / 4 * 3 + (in.len % 4 == 0 ? 0 : in.len % 4 - 1) > cap) {
        return false;
    }
    for (size_t i = 0; i < in.len; i++) {
        int v = b64url_value(in.p[i]);

        if (v < 0) {
            return false;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    if (acc != 0) {
        return false; /* non-canonical trailing bits */
    }
    *out_len = o;
    return true;
}

/* The 128-bit MAC of a token's claims for the request @r. */
static void token_mac(const struct node_cache_token_key *k, const struct node_cache_token_req *r,
                      uint64_t expiry, struct gw_str principal,
                      unsigned char out[NODE_CACHE_TOKEN_MAC_LEN])
{
    struct gw_buf b = GW_BUF_INIT;
    unsigned char mac[GW_SHA256_LEN];

    gw_buf_put_u8(&b, NODE_CACHE_TOKEN_VERSION);
    gw_buf_put_u64(&b, expiry);
    gw_buf_put_bytes(&b, r->method);
    gw_buf_put_bytes(&b, r->bucket);
    gw_buf_put_bytes(&b, r->key);
    gw_buf_put_bytes(&b, r->range);
    gw_buf_put_bytes(&b, principal);
    gw_hmac_sha256(k->k, sizeof k->k, b.data, b.len, mac);
    memcpy(out, mac, NODE_CACHE_TOKEN_MAC_LEN);
    gw_buf_free(&b);
}

static void put_u32le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int node_cache_token_make(const struct node_cache_token_key *k, const struct node_cache_token_req *r,
                          uint64_t expiry, char *out, size_t cap, size_t *out_len)
{
    unsigned char raw[TOKEN_MAX_RAW];
    size_t plen = r->principal.len;
    size_t n = TOKEN_FIXED_LEN + plen;

    if (plen > NODE_CACHE_TOKEN_MAX_PRINCIPAL || expiry > UINT32_MAX ||
        (plen > 0 && memchr(r->principal.p, '\0', plen) != NULL) || cap < (n * 4 + 2) / 3 + 1) {
        return GW_ERR_INVALID;
    }
    raw[0] = NODE_CACHE_TOKEN_VERSION;
    put_u32le(raw + 1, (uint32_t)expiry);
    raw[5] = (unsigned char)plen;
    if (plen > 0) {
        memcpy(raw + 6, r->principal.p, plen);
    }
    token_mac(k, r, expiry, r->principal, raw + 6 + plen);
    *out_len = b64url_encode(raw, n, out);
    out[*out_len] = '\0';
    return GW_OK;
}

int node_cache_token_verify(const struct node_cache_token_key *k, struct gw_str token,
                            const struct node_cache_token_req *r, uint64_t now,
                            struct node_cache_token_claims *claims)
{
    unsigned char raw[TOKEN_MAX_RAW];
    unsigned char mac[NODE_CACHE_TOKEN_MAC_LEN];
    struct gw_str principal;
    uint64_t expiry;
    size_t n;

    if (!b64url_decode(token, raw, sizeof raw, &n) || n < TOKEN_FIXED_LEN ||
        raw[0] != NODE_CACHE_TOKEN_VERSION || n != (size_t)TOKEN_FIXED_LEN + raw[5]) {
        return GW_ERR_AUTH_QUERY_MALFORMED;
    }
    principal = gw_str_make((const char *)raw + 6, raw[5]);
    if (principal.len > 0 && memchr(principal.p, '\0', principal.len) != NULL) {
        return GW_ERR_AUTH_QUERY_MALFORMED;
    }
    expiry = get_u32le(raw + 1);
    token_mac(k, r, expiry, principal, mac);
    if (CRYPTO_memcmp(mac, raw + 6 + principal.len, sizeof mac) != 0) {
        return GW_ERR_BAD_SIGNATURE;
    }
    if (r->principal.p != NULL && !gw_str_eq(r->principal, principal)) {
        return GW_ERR_BAD_SIGNATURE;
    }
    if (now > expiry) {
        return GW_ERR_EXPIRED;
    }
    if (claims != NULL) {
        claims->expiry = expiry;
        memcpy(claims->principal, principal.p, principal.len);
        claims->principal[principal.len] = '\0';
    }
    return GW_OK;
}
