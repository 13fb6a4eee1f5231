/* node/cache/owner: which node owns the cache slot of an object.
 *
 * Rendezvous (highest random weight) hashing: every live member gets a weight
 * w(key, id) from the object's name hash and the member's 64-bit node id,
 * and the member with the highest weight owns the object.  All nodes that see
 * the same member set pick the same owner with no coordination, and a change
 * of the set moves only the keys of the member that came or went: a newcomer
 * takes the keys it now outweighs (about 1/n of them), a leaver's keys go to
 * their next-highest member, everything else stays put (checked by the unit
 * test).  The weight function is part of the peer contract (like hash.h).
 *
 * The member set is "Raft membership minus the nodes the liveness signal
 * says are down"; computing it is the caller's job (node/, on a membership or
 * liveness change), this module only holds it.  node_cache_owner_set and
 * node_cache_owner_of may run on different threads. */
#ifndef UNIGW_NODE_CACHE_OWNER_H
#define UNIGW_NODE_CACHE_OWNER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/str.h"

#define NODE_CACHE_MAX_MEMBERS 64

/* The rendezvous weight of node @id for the object hashed @key_hash. */
uint64_t node_cache_owner_weight(uint64_t key_hash, uint64_t id);
/* The owner of @key_hash among the @n ids at @ids (any order): the highest
 * weight, ties to the larger id; 0 when @n is 0. */
uint64_t node_cache_owner_pick(uint64_t key_hash, const uint64_t *ids, size_t n);

/* The live member set, shared by the threads that route GETs. */
struct node_cache_owner {
    pthread_mutex_t mu;
    uint64_t ids[NODE_CACHE_MAX_MEMBERS];
    size_t n_ids;
    uint64_t epoch; /* bumped by every successful set */
};

/* Start with no members (every owner lookup answers 0). */
void node_cache_owner_init(struct node_cache_owner *o);
void node_cache_owner_close(struct node_cache_owner *o);
/* Replace the members with the @n ids at @ids (copied).  GW_ERR_INVALID, and
 * nothing changes, when @n exceeds NODE_CACHE_MAX_MEMBERS or an id is 0 or
 * repeated. */
int node_cache_owner_set(struct node_cache_owner *o, const uint64_t *ids, size_t n);
/* The owner of @bucket/@key, or 0 with no members. */
uint64_t node_cache_owner_of(struct node_cache_owner *o, struct gw_str bucket, struct gw_str key);
/* The same for a name already hashed (node_cache_key_hash). */
uint64_t node_cache_owner_of_hash(struct node_cache_owner *o, uint64_t key_hash);
/* The epoch of the current member set, to notice changes. */
uint64_t node_cache_owner_epoch(struct node_cache_owner *o);

#endif
