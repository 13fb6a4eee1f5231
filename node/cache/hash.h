/* node/cache/hash: the 64-bit hash of an object name that the cache room shares.
 *
 * One function names an object everywhere in the room: the cache's index and
 * frequency sketch, the rendezvous owner choice and the digest a node sends
 * its peers.  The owner choice and the digest cross the network, so every node
 * of a cluster must compute the same value: the definition below (FNV-1a 64
 * over "bucket" '/' "key", then MurmurHash3's 64-bit finalizer so that every
 * output bit depends on every input bit) is part of the peer wire contract.
 * Changing it is a format change of node/cache/digest.c (bump its version).
 *
 * Bucket names never contain '/', so "bucket/key" names one object exactly. */
#ifndef UNIGW_NODE_CACHE_HASH_H
#define UNIGW_NODE_CACHE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "unigw/str.h"

#define NODE_CACHE_FNV_OFFSET 0xcbf29ce484222325ULL
#define NODE_CACHE_FNV_PRIME 0x100000001b3ULL

/* MurmurHash3 fmix64: a bijective avalanche of @x. */
static inline uint64_t node_cache_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t node_cache__fnv(uint64_t h, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= NODE_CACHE_FNV_PRIME;
    }
    return h;
}

/* The hash of "@bucket/@key"; stable across nodes, builds and versions. */
static inline uint64_t node_cache_key_hash(struct gw_str bucket, struct gw_str key)
{
    uint64_t h = node_cache__fnv(NODE_CACHE_FNV_OFFSET, bucket.p, bucket.len);

    h = node_cache__fnv(h, "/", 1);
    return node_cache_mix64(node_cache__fnv(h, key.p, key.len));
}

#endif
