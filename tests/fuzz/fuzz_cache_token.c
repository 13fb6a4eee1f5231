/* libFuzzer target: node/cache/token.  The input is tried as a token for a
 * fixed request (never crash; anything accepted must be the canonical token
 * of its claims), then split at NUL bytes into method, bucket, key, range
 * and principal for a round trip: a made token verifies, and with any one
 * character changed it does not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/err.h"

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct node_cache_token_key fuzz_key(void)
{
    static const char cluster[32] = "fuzz cluster key, 32 bytes long";
    struct node_cache_token_key k;

    node_cache_token_key_derive(&k, cluster, sizeof cluster);
    return k;
}

/* The input as a token for GET data/obj: accepted only if canonical. */
static void as_token(const struct node_cache_token_key *k, const uint8_t *data, size_t size)
{
    struct node_cache_token_req r = {GW_STR("GET"), GW_STR("data"), GW_STR("obj"), GW_STR(""),
                                     GW_STR_NULL};
    struct node_cache_token_claims cl;
    char again[NODE_CACHE_TOKEN_CAP];
    size_t len;

    if (node_cache_token_verify(k, gw_str_make((const char *)data, size), &r, 0, &cl) != GW_OK) {
        return;
    }
    r.principal = gw_str_c(cl.principal);
    if (node_cache_token_make(k, &r, cl.expiry, again, sizeof again, &len) != GW_OK ||
        len != size || memcmp(again, data, size) != 0) {
        abort();
    }
}

/* Cut the next NUL-terminated field off @p. */
static struct gw_str next_field(const uint8_t **p, size_t *left)
{
    const uint8_t *nul = memchr(*p, 0, *left);
    size_t n = nul != NULL ? (size_t)(nul - *p) : *left;
    struct gw_str s = gw_str_make((const char *)*p, n);

    *p += n < *left ? n + 1 : n;
    *left -= n < *left ? n + 1 : n;
    return s;
}

static void round_trip(const struct node_cache_token_key *k, const uint8_t *data, size_t size)
{
    struct node_cache_token_req r;
    char tok[NODE_CACHE_TOKEN_CAP];
    size_t len;

    r.method = next_field(&data, &size);
    r.bucket = next_field(&data, &size);
    r.key = next_field(&data, &size);
    r.range = next_field(&data, &size);
    r.principal = next_field(&data, &size);
    if (node_cache_token_make(k, &r, 1000, tok, sizeof tok, &len) != GW_OK) {
        return; /* principal too long */
    }
    if (node_cache_token_verify(k, gw_str_make(tok, len), &r, 1000, NULL) != GW_OK ||
        node_cache_token_verify(k, gw_str_make(tok, len), &r, 1001, NULL) != GW_ERR_EXPIRED) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        char saved = tok[i];

        tok[i] = saved == 'A' ? 'B' : 'A';
        if (node_cache_token_verify(k, gw_str_make(tok, len), &r, 0, NULL) == GW_OK) {
            abort();
        }
        tok[i] = saved;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct node_cache_token_key k = fuzz_key();

    as_token(&k, data, size);
    round_trip(&k, data, size);
    return 0;
}
