/* node/cache/digest: what an owner tells its peers it holds.
 *
 * A digest is a Bloom filter of the key hashes (node_cache_key_hash) of the
 * sender's cache entries, with the sender's node id and the cache version it
 * was built from.  About 10 bits per entry and 7 probes: a non-owner asking
 * "does the owner probably hold bucket/key?" gets no false "no" for an entry
 * present when the digest was built and about 1 % false "yes" (then the
 * owner misses and the request is served from the mount as it would have
 * been; nothing breaks).  Why a Bloom filter rather than a sorted set of
 * 64-bit hashes: 1.25 bytes per entry instead of 8, so a digest of a million
 * small objects is about 1.3 MB instead of 8 MB, and a sender only sends one
 * when node_cache_version() moved.
 *
 * Wire format (little-endian), version 1:
 *
 *     u16 version | u8 probes (1..16) | u8 log2 of the bit count (9..26)
 *     | u64 node id | u64 cache version | u32 entries | bit array (2^log2 / 8 bytes)
 *
 * and nothing after.  Decoding checks every field and the exact length; it
 * allocates only the bit array, whose size the input length already bounds.
 *
 * The peer table (struct node_cache_digests) keeps the latest digest of each
 * peer with its arrival time, so a digest that stopped being refreshed (the
 * peer died or is partitioned) stops answering "yes". */
#ifndef UNIGW_NODE_CACHE_DIGEST_H
#define UNIGW_NODE_CACHE_DIGEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/buf.h"

#define NODE_CACHE_DIGEST_VERSION 1
#define NODE_CACHE_DIGEST_HEADER_LEN 24
#define NODE_CACHE_DIGEST_MIN_LOG2 9
#define NODE_CACHE_DIGEST_MAX_LOG2 26 /* 8 MiB of bits: ~6.7 M entries at 1 % */
#define NODE_CACHE_DIGEST_MAX_PEERS 64

struct node_cache_digest {
    uint64_t node_id;
    uint64_t version; /* the sender's node_cache_version() */
    uint32_t n_entries;
    uint8_t n_probes;
    uint8_t log2_bits;
    uint8_t *bits; /* gw_malloc'd, 2^log2_bits / 8 bytes */
};

/* Build the digest of @n key hashes for @node_id at cache version @version.
 * Never fails (gw_malloc aborts on OOM). */
void node_cache_digest_build(struct node_cache_digest *d, uint64_t node_id, uint64_t version,
                             const uint64_t *hashes, size_t n);
/* Append the wire form of @d to @out. */
void node_cache_digest_encode(const struct node_cache_digest *d, struct gw_buf *out);
/* Parse @len bytes at @p into @d (free it with node_cache_digest_free).
 * GW_OK; GW_ERR_TOO_NEW for a later format version; GW_ERR_CORRUPT for
 * anything else that is not a well-formed digest (then @d holds nothing). */
int node_cache_digest_decode(struct node_cache_digest *d, const void *p, size_t len);
/* Was @key_hash probably among the hashes @d was built from? */
bool node_cache_digest_may_hold(const struct node_cache_digest *d, uint64_t key_hash);
/* Free the bit array; safe on a zeroed or already freed digest. */
void node_cache_digest_free(struct node_cache_digest *d);

/* The latest digest of every peer, shared by the threads that route GETs. */
struct node_cache_digests {
    pthread_mutex_t mu;
    struct node_cache_digests_slot {
        struct node_cache_digest d;
        uint64_t received_ms;
    } slots[NODE_CACHE_DIGEST_MAX_PEERS];
    size_t n_slots;
};

void node_cache_digests_init(struct node_cache_digests *t);
void node_cache_digests_close(struct node_cache_digests *t);
/* Keep @d (its bit array moves into the table; @d is zeroed) as the digest of
 * d->node_id, received at @now_ms, replacing the previous one.
 * GW_ERR_AGAIN, and @d is left to the caller, when the table already holds
 * NODE_CACHE_DIGEST_MAX_PEERS other peers. */
int node_cache_digests_put(struct node_cache_digests *t, struct node_cache_digest *d,
                           uint64_t now_ms);
/* Forget @node_id's digest (it left the cluster). */
void node_cache_digests_forget(struct node_cache_digests *t, uint64_t node_id);
/* Does @node_id's digest, received at most @max_age_ms before @now_ms, say it
 * probably holds @key_hash?  False without a fresh enough digest. */
bool node_cache_digests_may_hold(struct node_cache_digests *t, uint64_t node_id,
                                 uint64_t key_hash, uint64_t now_ms, uint64_t max_age_ms);

#endif
