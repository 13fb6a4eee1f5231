/* node/cache/owner: rendezvous hashing over the live members (see owner.h).
 *
 * The weight mixes the key hash with a mixed id and mixes again: fmix64 is a
 * bijection with full avalanche, so for a fixed key the weights of different
 * ids behave like independent random numbers, which is what gives every
 * member its 1/n share and the "only the leaver's keys move" property. */
#include <stdbool.h>
#include <string.h>

#include "unigw/err.h"

#include "hash.h"
#include "owner.h"

#define OWNER_SEED 0x6a09e667f3bcc909ULL /* sqrt(2) bits: any fixed odd constant */

uint64_t node_cache_owner_weight(uint64_t key_hash, uint64_t id)
{
    return node_cache_mix64(key_hash ^ node_cache_mix64(id ^ OWNER_SEED));
}

uint64_t node_cache_owner_pick(uint64_t key_hash, const uint64_t *ids, size_t n)
{
    uint64_t best = 0;
    uint64_t best_w = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t w = node_cache_owner_weight(key_hash, ids[i]);

        if (best == 0 || w > best_w || (w == best_w && ids[i] > best)) {
            best = ids[i];
            best_w = w;
        }
    }
    return best;
}

void node_cache_owner_init(struct node_cache_owner *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->mu, NULL);
}

void node_cache_owner_close(struct node_cache_owner *o)
{
    pthread_mutex_destroy(&o->mu);
}

static bool ids_valid(const uint64_t *ids, size_t n)
{
    if (n > NODE_CACHE_MAX_MEMBERS) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == 0) {
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (ids[j] == ids[i]) {
                return false;
            }
        }
    }
    return true;
}

int node_cache_owner_set(struct node_cache_owner *o, const uint64_t *ids, size_t n)
{
    if (!ids_valid(ids, n)) {
        return GW_ERR_INVALID;
    }
    pthread_mutex_lock(&o->mu);
    if (n > 0) {
        memcpy(o->ids, ids, n * sizeof *ids);
    }
    o->n_ids = n;
    o->epoch++;
    pthread_mutex_unlock(&o->mu);
    return GW_OK;
}

uint64_t node_cache_owner_of_hash(struct node_cache_owner *o, uint64_t key_hash)
{
    uint64_t id;

    pthread_mutex_lock(&o->mu);
    id = node_cache_owner_pick(key_hash, o->ids, o->n_ids);
    pthread_mutex_unlock(&o->mu);
    return id;
}

uint64_t node_cache_owner_of(struct node_cache_owner *o, struct gw_str bucket, struct gw_str key)
{
    return node_cache_owner_of_hash(o, node_cache_key_hash(bucket, key));
}

uint64_t node_cache_owner_epoch(struct node_cache_owner *o)
{
    uint64_t e;

    pthread_mutex_lock(&o->mu);
    e = o->epoch;
    pthread_mutex_unlock(&o->mu);
    return e;
}
