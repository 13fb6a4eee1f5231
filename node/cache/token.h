/* node/cache/token: redirect tokens, the owner's proof that another node of
 * the same cluster authorized one GET.
 *
 * In `[cache] mode = redirect` the node that received a GET authenticates
 * and authorizes it as usual, then answers 307 to the owner's S3 endpoint
 * with a token in the query (the client's SigV4 signature names the first
 * host and cannot be replayed there).  The owner accepts the token instead of
 * SigV4 for that one request.  The token is
 *
 *     base64url-no-padding( version u8 | expiry u32 LE (unix seconds)
 *                           | principal_len u8 | principal | mac[16] )
 *
 * and the MAC is HMAC-SHA256, truncated to 128 bits, under a key derived from
 * the cluster key (HMAC-SHA256(cluster_key, "unigw cache token v1"), as the
 * RPC key is derived with its own label), over an unambiguous encoding of:
 * the version, the expiry, the HTTP method, the bucket, the key, the Range
 * header value exactly as sent (empty when none) and the principal (the user
 * name the receiving node authorized; empty for anonymous).  Method, bucket,
 * key and range are not in the token: the owner takes them from the request
 * it got, so a token replayed for another object, method or range, after its
 * expiry, with its principal edited, or on a node of another cluster (another
 * cluster key) fails verification.  With curl -L or a browser the redirected
 * request repeats the Range header, so the owner sees the same value.
 *
 * Pure functions; safe from any thread.  The token is not a secret the
 * client cannot see, but it is a bearer credential for one GET until its
 * expiry: never log it (like presigned query strings). */
#ifndef UNIGW_NODE_CACHE_TOKEN_H
#define UNIGW_NODE_CACHE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "unigw/str.h"

#define NODE_CACHE_TOKEN_VERSION 1
#define NODE_CACHE_TOKEN_KEY_LEN 32
#define NODE_CACHE_TOKEN_MAC_LEN 16
#define NODE_CACHE_TOKEN_MAX_PRINCIPAL 128
/* Longest token text: base64url of 1 + 4 + 1 + 128 + 16 bytes, plus the NUL. */
#define NODE_CACHE_TOKEN_CAP 202

struct node_cache_token_key {
    uint8_t k[NODE_CACHE_TOKEN_KEY_LEN];
};

/* What a token is bound to.  Views; nothing is kept. */
struct node_cache_token_req {
    struct gw_str method;    /* "GET" (HEAD would need its own token) */
    struct gw_str bucket;
    struct gw_str key;
    struct gw_str range;     /* the Range header value as sent; empty: none */
    struct gw_str principal; /* authorized user name; empty: anonymous */
};

/* What a verified token says. */
struct node_cache_token_claims {
    uint64_t expiry; /* unix seconds */
    char principal[NODE_CACHE_TOKEN_MAX_PRINCIPAL + 1]; /* NUL-terminated; "" anonymous */
};

/* Derive the token key from the cluster key (@len bytes at @cluster_key). */
void node_cache_token_key_derive(struct node_cache_token_key *out, const void *cluster_key,
                                 size_t len);

/* Write the token for @r valid until @expiry (unix seconds) to @out
 * (NUL-terminated, URL-safe, needs no escaping in a query), its length in
 * *@out_len.  GW_ERR_INVALID when the principal is longer than
 * NODE_CACHE_TOKEN_MAX_PRINCIPAL, @expiry does not fit 32 bits or @cap is
 * below what the token needs (NODE_CACHE_TOKEN_CAP always suffices). */
int node_cache_token_make(const struct node_cache_token_key *k, const struct node_cache_token_req *r,
                          uint64_t expiry, char *out, size_t cap, size_t *out_len);

/* Check @token for the request @r at time @now (unix seconds).  @r->principal
 * is compared with the token's when @r->principal.p is not NULL; with NULL
 * any principal is accepted and reported in @claims (may be NULL).
 * GW_OK, GW_ERR_EXPIRED once @now is past the expiry, GW_ERR_BAD_SIGNATURE
 * when the MAC does not match (another object, method, range, principal or
 * cluster), GW_ERR_AUTH_QUERY_MALFORMED for anything that is not a token of
 * this version.  The MAC is checked before the expiry is looked at, so an
 * expired-token answer proves the token was genuine. */
int node_cache_token_verify(const struct node_cache_token_key *k, struct gw_str token,
                            const struct node_cache_token_req *r, uint64_t now,
                            struct node_cache_token_claims *claims);

#endif
