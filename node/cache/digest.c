/* node/cache/digest: Bloom-filter digests of a node's cache (see digest.h).
 *
 * Probe positions use double hashing of the 64-bit key hash, the same way on
 * every node (part of the wire contract with the format version).  Sizing:
 * the smallest power of two of at least 10 bits per entry, 7 probes, which
 * keeps false positives near 1 % (0.8 % at exactly 10 bits). */
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "digest.h"
#include "hash.h"

#define DIGEST_BITS_PER_ENTRY 10
#define DIGEST_PROBES 7
#define DIGEST_MAX_PROBES 16

static size_t digest_bytes(const struct node_cache_digest *d)
{
    return ((size_t)1 << d->log2_bits) / 8;
}

static uint64_t probe(const struct node_cache_digest *d, uint64_t h, unsigned i)
{
    uint64_t h2 = node_cache_mix64(h ^ 0xc2b2ae3d27d4eb4fULL) | 1;

    return (h + i * h2) & (((uint64_t)1 << d->log2_bits) - 1);
}

void node_cache_digest_build(struct node_cache_digest *d, uint64_t node_id, uint64_t version,
                             const uint64_t *hashes, size_t n)
{
    uint8_t log2 = NODE_CACHE_DIGEST_MIN_LOG2;

    while (log2 < NODE_CACHE_DIGEST_MAX_LOG2 && ((uint64_t)1 << log2) < DIGEST_BITS_PER_ENTRY * n) {
        log2++;
    }
    memset(d, 0, sizeof *d);
    d->node_id = node_id;
    d->version = version;
    d->n_entries = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    d->n_probes = DIGEST_PROBES;
    d->log2_bits = log2;
    d->bits = gw_calloc(digest_bytes(d), 1);
    for (size_t j = 0; j < n; j++) {
        for (unsigned i = 0; i < d->n_probes; i++) {
            uint64_t b = probe(d, hashes[j], i);

            d->bits[b / 8] |= (uint8_t)(1u << (b % 8));
        }
    }
}

bool node_cache_digest_may_hold(const struct node_cache_digest *d, uint64_t key_hash)
{
    for (unsigned i = 0; i < d->n_probes; i++) {
        uint64_t b = probe(d, key_hash, i);

        if ((d->bits[b / 8] & (1u << (b % 8))) == 0) {
            return false;
        }
    }
    return d->n_probes > 0;
}

void node_cache_digest_encode(const struct node_cache_digest *d, struct gw_buf *out)
{
    gw_buf_put_u16(out, NODE_CACHE_DIGEST_VERSION);
    gw_buf_put_u8(out, d->n_probes);
    gw_buf_put_u8(out, d->log2_bits);
    gw_buf_put_u64(out, d->node_id);
    gw_buf_put_u64(out, d->version);
    gw_buf_put_u32(out, d->n_entries);
    gw_buf_append(out, d->bits, digest_bytes(d));
}

int node_cache_digest_decode(struct node_cache_digest *d, const void *p, size_t len)
{
    struct gw_reader r = gw_reader_make(p, len);
    uint16_t version = 0;

    memset(d, 0, sizeof *d);
    gw_reader_u16(&r, &version);
    gw_reader_u8(&r, &d->n_probes);
    gw_reader_u8(&r, &d->log2_bits);
    gw_reader_u64(&r, &d->node_id);
    gw_reader_u64(&r, &d->version);
    gw_reader_u32(&r, &d->n_entries);
    if (!r.failed && version > NODE_CACHE_DIGEST_VERSION) {
        memset(d, 0, sizeof *d);
        return GW_ERR_TOO_NEW;
    }
    if (r.failed || version != NODE_CACHE_DIGEST_VERSION || d->n_probes == 0 ||
        d->n_probes > DIGEST_MAX_PROBES || d->log2_bits < NODE_CACHE_DIGEST_MIN_LOG2 ||
        d->log2_bits > NODE_CACHE_DIGEST_MAX_LOG2 || r.len != digest_bytes(d)) {
        memset(d, 0, sizeof *d);
        return GW_ERR_CORRUPT;
    }
    d->bits = gw_malloc(r.len);
    memcpy(d->bits, r.p, r.len);
    return GW_OK;
}

void node_cache_digest_free(struct node_cache_digest *d)
{
    gw_free(d->bits);
    d->bits = NULL;
}

/* ---- the peer table ---- */

void node_cache_digests_init(struct node_cache_digests *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
}

void node_cache_digests_close(struct node_cache_digests *t)
{
    for (size_t i = 0; i < t->n_slots; i++) {
        node_cache_digest_free(&t->slots[i].d);
    }
    t->n_slots = 0;
    pthread_mutex_destroy(&t->mu);
}

/* The slot of @node_id, or NULL; the caller holds the mutex. */
static struct node_cache_digests_slot *slot_find(struct node_cache_digests *t, uint64_t node_id)
{
    for (size_t i = 0; i < t->n_slots; i++) {
        if (t->slots[i].d.node_id == node_id) {
            return &t->slots[i];
        }
    }
    return NULL;
}

int node_cache_digests_put(struct node_cache_digests *t, struct node_cache_digest *d,
                           uint64_t now_ms)
{
    struct node_cache_digests_slot *s;

    pthread_mutex_lock(&t->mu);
    s = slot_find(t, d->node_id);
    if (s == NULL && t->n_slots == NODE_CACHE_DIGEST_MAX_PEERS) {
        pthread_mutex_unlock(&t->mu);
        return GW_ERR_AGAIN;
    }
    if (s == NULL) {
        s = &t->slots[t->n_slots++];
    } else {
        node_cache_digest_free(&s->d);
    }
    s->d = *d;
    s->received_ms = now_ms;
    memset(d, 0, sizeof *d);
    pthread_mutex_unlock(&t->mu);
    return GW_OK;
}

void node_cache_digests_forget(struct node_cache_digests *t, uint64_t node_id)
{
    struct node_cache_digests_slot *s;

    pthread_mutex_lock(&t->mu);
    s = slot_find(t, node_id);
    if (s != NULL) {
        node_cache_digest_free(&s->d);
        *s = t->slots[--t->n_slots]; /* the last slot fills the hole */
    }
    pthread_mutex_unlock(&t->mu);
}

bool node_cache_digests_may_hold(struct node_cache_digests *t, uint64_t node_id,
                                 uint64_t key_hash, uint64_t now_ms, uint64_t max_age_ms)
{
    struct node_cache_digests_slot *s;
    bool yes = false;

    pthread_mutex_lock(&t->mu);
    s = slot_find(t, node_id);
    if (s != NULL && now_ms >= s->received_ms && now_ms - s->received_ms <= max_age_ms) {
        yes = node_cache_digest_may_hold(&s->d, key_hash);
    }
    pthread_mutex_unlock(&t->mu);
    return yes;
}
