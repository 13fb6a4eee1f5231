/* node/cache/cache: S3-FIFO object-body cache (contract in cache.h).
 *
 * Happy path of a hit: hash the name, lock, probe the chained index, compare
 * fingerprints, bump the entry's 2-bit frequency and its reference count,
 * unlock; the caller reads the body without the lock.  A fill reserves its
 * bytes first (evicting under the lock), allocates outside the lock, is
 * written by its caller and linked at commit.
 *
 * Failure modes, none of which the client sees: no room left because every
 * entry is pinned by readers (fill refused), the allocator failing (fill
 * refused), a name invalidated while a fill of it was in flight (commit
 * refused, detected by per-stripe generation counters and a global epoch).
 *
 * Reference holders of an entry: the index while the entry is linked (one),
 * each lookup/top caller (one each) and the filler until it unrefs.  The
 * entry's bytes stay charged until its last reference is gone, so pinned
 * evicted entries still count against the size.
 *
 * Queues are doubly-linked FIFOs, head = newest, tail = oldest. */
#include <assert.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "cache.h"
#include "hash.h"
#include "sketch.h"

#define GEN_STRIPES 256
#define FREQ_MAX 3
/* The small FIFO's share of the entry bytes, in percent (the paper's 10 %). */
#define SMALL_PERCENT 10
/* Bytes of cache per index bucket: about one bucket per 2 KiB (0.4 % overhead). */
#define BYTES_PER_BUCKET 2048
#define MIN_BUCKETS 64
#define GHOST_MIN 64
/* Sketch counters per index bucket, and the default window of one read per
 * bucket: a window then adds at most width / 8 keys, which keeps the chance
 * that a key read once looks read twice near 2 % (sketch.h). */
#define SKETCH_PER_BUCKET 8

enum where { IN_NONE = 0, IN_SMALL, IN_MAIN };

struct node_cache_entry {
    struct node_cache *cache;
    atomic_uint refs;
    atomic_uint_fast64_t hits;
    struct node_cache_entry *hnext; /* index chain */
    struct node_cache_entry *prev;  /* towards the head (newer) */
    struct node_cache_entry *next;  /* towards the tail (older) */
    uint64_t hash;
    uint64_t charge;
    struct node_cache_fp fp;
    uint64_t epoch; /* c->epoch and the stripe's generation at fill_begin */
    uint32_t gen;
    uint8_t freq;
    uint8_t where;
    size_t bucket_len;
    size_t key_len;
    size_t meta_len;
    size_t body_len;
    /* body, then "bucket/key", then meta; the body starts aligned. */
    alignas(16) unsigned char data[];
};

struct fifo {
    struct node_cache_entry *head;
    struct node_cache_entry *tail;
    uint64_t bytes;
    uint64_t n;
};

struct ghost_slot {
    uint64_t hash;
    uint64_t seq; /* ghost sequence number when it was recorded; 0: empty */
};

struct node_cache {
    pthread_mutex_t mu;
    struct node_cache_opts o;
    struct node_cache_entry **buckets;
    size_t bucket_mask;
    struct fifo small;
    struct fifo main;
    struct ghost_slot *ghost;
    size_t ghost_mask;
    uint64_t ghost_seq;
    struct node_cache_sketch sketch;
    uint32_t gens[GEN_STRIPES];
    uint64_t epoch;
    uint64_t version;
    uint64_t fixed_bytes; /* index, ghost and sketch arrays */
    struct node_cache_stats st;
};

/* The bytes an entry costs: what it asks the allocator for plus an estimate
 * of glibc's rounding (16-byte chunks, whole pages for mmap-sized blocks). */
static uint64_t entry_charge(size_t total)
{
    uint64_t n = ((uint64_t)total + 16 + 15) & ~(uint64_t)15;

    if (n >= 128 * 1024) {
        n = (n + 4095) & ~(uint64_t)4095;
    }
    return n;
}

static size_t pow2_at_least(uint64_t n, size_t min)
{
    size_t v = min;

    while (v < n && v < ((size_t)1 << 40)) {
        v <<= 1;
    }
    return v;
}

struct node_cache *node_cache_create(const struct node_cache_opts *o)
{
    struct node_cache *c = gw_calloc(1, sizeof *c);
    size_t n_buckets;

    pthread_mutex_init(&c->mu, NULL);
    c->o = *o;
    if (c->o.alloc_fn == NULL || c->o.free_fn == NULL) {
        c->o.alloc_fn = malloc;
        c->o.free_fn = free;
    }
    c->st.size = o->size;
    if (o->size == 0) {
        return c; /* disabled: no arrays at all */
    }
    n_buckets = pow2_at_least(o->size / BYTES_PER_BUCKET, MIN_BUCKETS);
    c->buckets = gw_calloc(n_buckets, sizeof *c->buckets);
    c->bucket_mask = n_buckets - 1;
    c->ghost_mask = pow2_at_least(n_buckets / 4, GHOST_MIN) - 1;
    c->ghost = gw_calloc(c->ghost_mask + 1, sizeof *c->ghost);
    node_cache__sketch_init(&c->sketch, n_buckets * SKETCH_PER_BUCKET,
                            o->window != 0 ? o->window : n_buckets);
    c->fixed_bytes = n_buckets * sizeof *c->buckets + (c->ghost_mask + 1) * sizeof *c->ghost +
                     node_cache__sketch_bytes(&c->sketch);
    c->st.bytes = c->fixed_bytes;
    return c;
}

bool node_cache_is_enabled(const struct node_cache *c)
{
    return c->o.size != 0 && c->fixed_bytes < c->o.size;
}

/* ---- fifo ---- */

static void fifo_push(struct fifo *q, struct node_cache_entry *e)
{
    e->prev = NULL;
    e->next = q->head;
    if (q->head != NULL) {
        q->head->prev = e;
    } else {
        q->tail = e;
    }
    q->head = e;
    q->bytes += e->charge;
    q->n++;
}

static void fifo_remove(struct fifo *q, struct node_cache_entry *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        q->head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        q->tail = e->prev;
    }
    e->prev = NULL;
    e->next = NULL;
    q->bytes -= e->charge;
    q->n--;
}

static struct fifo *fifo_of(struct node_cache *c, const struct node_cache_entry *e)
{
    return e->where == IN_SMALL ? &c->small : &c->main;
}

/* ---- ghost: a direct-mapped table of recently evicted key hashes ---- */

static void ghost_add(struct node_cache *c, uint64_t h)
{
    struct ghost_slot *g = &c->ghost[h & c->ghost_mask];

    g->hash = h;
    g->seq = ++c->ghost_seq;
}

/* Was @h evicted from the small FIFO within the last "main queue length"
 * evictions (the paper's ghost size)? */
static bool ghost_has(const struct node_cache *c, uint64_t h)
{
    const struct ghost_slot *g = &c->ghost[h & c->ghost_mask];
    uint64_t span = c->main.n > GHOST_MIN ? c->main.n : GHOST_MIN;

    return g->seq != 0 && g->hash == h && c->ghost_seq - g->seq < span;
}

/* ---- entries and the index ---- */

static struct gw_str entry_name(const struct node_cache_entry *e)
{
    return gw_str_make((const char *)e->data + e->body_len, e->bucket_len + 1 + e->key_len);
}

static bool entry_is(const struct node_cache_entry *e, uint64_t h, struct gw_str bucket,
                     struct gw_str key)
{
    const char *name = (const char *)e->data + e->body_len;

    return e->hash == h && e->bucket_len == bucket.len && e->key_len == key.len &&
           memcmp(name, bucket.p, bucket.len) == 0 &&
           memcmp(name + bucket.len + 1, key.p, key.len) == 0;
}

static struct node_cache_entry **index_slot(struct node_cache *c, uint64_t h)
{
    return &c->buckets[h & c->bucket_mask];
}

static struct node_cache_entry *index_find(struct node_cache *c, uint64_t h, struct gw_str bucket,
                                           struct gw_str key)
{
    struct node_cache_entry *e = *index_slot(c, h);

    while (e != NULL && !entry_is(e, h, bucket, key)) {
        e = e->hnext;
    }
    return e;
}

static void index_remove(struct node_cache *c, struct node_cache_entry *e)
{
    struct node_cache_entry **p = index_slot(c, e->hash);

    while (*p != e) {
        p = &(*p)->hnext;
    }
    *p = e->hnext;
    e->hnext = NULL;
}

/* Drop a reference with the lock held; the last one frees. */
static void entry_release_locked(struct node_cache *c, struct node_cache_entry *e)
{
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        c->st.bytes -= e->charge;
        c->o.free_fn(e);
    }
}

/* Take @e out of the index and its queue and drop the index's reference. */
static void entry_unlink(struct node_cache *c, struct node_cache_entry *e)
{
    index_remove(c, e);
    fifo_remove(fifo_of(c, e), e);
    e->where = IN_NONE;
    c->st.objects--;
    c->version++;
    entry_release_locked(c, e);
}

/* ---- S3-FIFO eviction ---- */

/* Evict from the small FIFO: entries hit while there move to main, the first
 * one that was not is evicted and its key remembered in the ghost table. */
static bool evict_small(struct node_cache *c)
{
    struct node_cache_entry *t;

    while ((t = c->small.tail) != NULL) {
        if (t->freq >= 1) {
            fifo_remove(&c->small, t);
            t->freq = 0;
            t->where = IN_MAIN;
            fifo_push(&c->main, t);
            continue;
        }
        ghost_add(c, t->hash);
        c->st.evictions++;
        entry_unlink(c, t);
        return true;
    }
    return false;
}

/* Evict from the main FIFO: CLOCK-like, an entry with frequency left gets
 * another round with one less; the first at zero goes. */
static bool evict_main(struct node_cache *c)
{
    struct node_cache_entry *t;

    while ((t = c->main.tail) != NULL) {
        if (t->freq > 0) {
            t->freq--;
            fifo_remove(&c->main, t);
            fifo_push(&c->main, t);
            continue;
        }
        c->st.evictions++;
        entry_unlink(c, t);
        return true;
    }
    return false;
}

static bool evict_one(struct node_cache *c)
{
    uint64_t small_target = (c->o.size - c->fixed_bytes) / 100 * SMALL_PERCENT;

    if (c->small.n > 0 && (c->small.bytes >= small_target || c->main.n == 0)) {
        return evict_small(c) || evict_main(c);
    }
    return evict_main(c) || evict_small(c);
}

/* Make room for @charge more bytes; false if it cannot be done. */
static bool reserve_locked(struct node_cache *c, uint64_t charge, bool may_evict)
{
    while (c->st.bytes + charge > c->o.size) {
        if (!may_evict || !evict_one(c)) {
            return false;
        }
    }
    c->st.bytes += charge;
    return true;
}

/* ---- lookup and admission ---- */

static bool fp_eq(const struct node_cache_fp *a, const struct node_cache_fp *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int node_cache_lookup(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                      const struct node_cache_fp *cur, struct node_cache_entry **out)
{
    uint64_t h = node_cache_key_hash(bucket, key);
    struct node_cache_entry *e;

    *out = NULL;
    if (!node_cache_is_enabled(c)) {
        return GW_ERR_NOT_FOUND;
    }
    pthread_mutex_lock(&c->mu);
    node_cache__sketch_add(&c->sketch, h);
    e = index_find(c, h, bucket, key);
    if (e != NULL && !fp_eq(&e->fp, cur)) {
        c->st.stale++;
        entry_unlink(c, e);
        e = NULL;
    }
    if (e == NULL) {
        c->st.misses++;
        pthread_mutex_unlock(&c->mu);
        return GW_ERR_NOT_FOUND;
    }
    if (e->freq < FREQ_MAX) {
        e->freq++;
    }
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->hits, 1, memory_order_relaxed);
    c->st.hits++;
    c->st.hit_bytes += e->body_len;
    pthread_mutex_unlock(&c->mu);
    *out = e;
    return GW_OK;
}

bool node_cache_admits(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                       uint64_t size)
{
    uint64_t h = node_cache_key_hash(bucket, key);
    bool yes;

    if (!node_cache_is_enabled(c) || size > c->o.max_object_size) {
        return false;
    }
    if (c->o.admit_after <= 1) {
        return true;
    }
    pthread_mutex_lock(&c->mu);
    yes = node_cache__sketch_estimate(&c->sketch, h) >= c->o.admit_after || ghost_has(c, h);
    pthread_mutex_unlock(&c->mu);
    return yes;
}

void node_cache_note_reads(struct node_cache *c, uint64_t key_hash, uint32_t n)
{
    if (!node_cache_is_enabled(c)) {
        return;
    }
    n = n > 255 ? 255 : n; /* a counter saturates there anyway */
    pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < n; i++) {
        node_cache__sketch_add(&c->sketch, key_hash);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- fills ---- */

/* Check a fill request against the configuration and compute its allocation
 * (*@total) and charge; GW_OK or the refusal.  The body is bounded first, so
 * the sums below cannot overflow. */
static int fill_check(const struct node_cache *c, uint64_t body_len, size_t name_meta_len,
                      size_t *total, uint64_t *charge)
{
    if (!node_cache_is_enabled(c) || body_len > c->o.max_object_size) {
        return GW_ERR_INVALID;
    }
    if (body_len > c->o.size || name_meta_len > c->o.size) {
        return GW_ERR_ENTITY_TOO_LARGE;
    }
    *total = sizeof(struct node_cache_entry) + (size_t)body_len + name_meta_len;
    *charge = entry_charge(*total);
    if (*charge > c->o.size - c->fixed_bytes) {
        return GW_ERR_ENTITY_TOO_LARGE;
    }
    return GW_OK;
}

/* Fill in a fresh entry's header and copy its name and metadata. */
static void entry_setup(struct node_cache *c, struct node_cache_entry *e, struct gw_str bucket,
                        struct gw_str key, const struct node_cache_fp *fp, const void *meta,
                        size_t meta_len, uint64_t body_len, uint64_t charge)
{
    char *name;

    memset(e, 0, sizeof *e);
    e->cache = c;
    atomic_init(&e->refs, 1);
    atomic_init(&e->hits, 0);
    e->hash = node_cache_key_hash(bucket, key);
    e->charge = charge;
    e->fp = *fp;
    e->bucket_len = bucket.len;
    e->key_len = key.len;
    e->meta_len = meta_len;
    e->body_len = (size_t)body_len;
    name = (char *)e->data + e->body_len;
    memcpy(name, bucket.p, bucket.len);
    name[bucket.len] = '/';
    memcpy(name + bucket.len + 1, key.p, key.len);
    if (meta_len > 0) {
        memcpy(name + bucket.len + 1 + key.len, meta, meta_len);
    }
}

int node_cache_fill_begin(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                          const struct node_cache_fp *fp, const void *meta, size_t meta_len,
                          uint64_t body_len, unsigned flags, struct node_cache_entry **out)
{
    uint64_t h = node_cache_key_hash(bucket, key);
    struct node_cache_entry *e;
    uint64_t charge = 0;
    size_t total = 0;
    uint64_t epoch;
    uint32_t gen;
    int rv;

    *out = NULL;
    rv = fill_check(c, body_len, bucket.len + 1 + key.len + meta_len, &total, &charge);
    pthread_mutex_lock(&c->mu);
    if (rv == GW_OK && !reserve_locked(c, charge, (flags & NODE_CACHE_FILL_NO_EVICT) == 0)) {
        rv = GW_ERR_AGAIN;
    }
    if (rv != GW_OK) {
        c->st.fill_refused++;
        pthread_mutex_unlock(&c->mu);
        return rv;
    }
    epoch = c->epoch;
    gen = c->gens[h % GEN_STRIPES];
    pthread_mutex_unlock(&c->mu);
    e = c->o.alloc_fn(total);
    if (e == NULL) {
        pthread_mutex_lock(&c->mu);
        c->st.bytes -= charge;
        c->st.fill_refused++;
        pthread_mutex_unlock(&c->mu);
        return GW_ERR_NOMEM;
    }
    entry_setup(c, e, bucket, key, fp, meta, meta_len, body_len, charge);
    e->epoch = epoch;
    e->gen = gen;
    *out = e;
    return GW_OK;
}

void *node_cache_fill_body(struct node_cache_entry *e)
{
    return e->data;
}

int node_cache_fill_commit(struct node_cache *c, struct node_cache_entry *e)
{
    struct node_cache_entry *old;
    struct gw_str bucket = node_cache_entry_bucket(e);
    struct gw_str key = node_cache_entry_key(e);

    assert(e->where == IN_NONE && e->cache == c);
    pthread_mutex_lock(&c->mu);
    if (e->epoch != c->epoch || e->gen != c->gens[e->hash % GEN_STRIPES]) {
        c->st.fill_refused++;
        pthread_mutex_unlock(&c->mu);
        return GW_ERR_CANCELED;
    }
    old = index_find(c, e->hash, bucket, key);
    if (old != NULL) {
        entry_unlink(c, old); /* a newer read of the same name replaces it */
    }
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed); /* the index's */
    e->hnext = *index_slot(c, e->hash);
    *index_slot(c, e->hash) = e;
    e->where = ghost_has(c, e->hash) ? IN_MAIN : IN_SMALL;
    fifo_push(fifo_of(c, e), e);
    c->st.objects++;
    c->st.admissions++;
    c->version++;
    pthread_mutex_unlock(&c->mu);
    return GW_OK;
}

void node_cache_fill_abort(struct node_cache *c, struct node_cache_entry *e)
{
    assert(e->where == IN_NONE);
    node_cache_entry_unref(e);
}

int node_cache_insert(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                      const struct node_cache_fp *fp, const void *meta, size_t meta_len,
                      const void *body, uint64_t body_len)
{
    struct node_cache_entry *e;
    int rv;

    rv = node_cache_fill_begin(c, bucket, key, fp, meta, meta_len, body_len, 0, &e);
    if (rv != GW_OK) {
        return rv;
    }
    if (body_len > 0) {
        memcpy(node_cache_fill_body(e), body, (size_t)body_len);
    }
    rv = node_cache_fill_commit(c, e);
    node_cache_entry_unref(e);
    return rv;
}

/* ---- invalidation ---- */

void node_cache_invalidate(struct node_cache *c, struct gw_str bucket, struct gw_str key)
{
    uint64_t h = node_cache_key_hash(bucket, key);
    struct node_cache_entry *e;

    if (!node_cache_is_enabled(c)) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->gens[h % GEN_STRIPES]++;
    e = index_find(c, h, bucket, key);
    if (e != NULL) {
        c->st.invalidations++;
        entry_unlink(c, e);
    }
    pthread_mutex_unlock(&c->mu);
}

static bool entry_matches(const struct node_cache_entry *e, struct gw_str bucket,
                          struct gw_str prefix)
{
    struct gw_str name = entry_name(e);

    if (bucket.len == 0) {
        return true;
    }
    return e->bucket_len == bucket.len && memcmp(name.p, bucket.p, bucket.len) == 0 &&
           e->key_len >= prefix.len &&
           memcmp(name.p + bucket.len + 1, prefix.p, prefix.len) == 0;
}

static size_t drop_from(struct node_cache *c, struct fifo *q, struct gw_str bucket,
                        struct gw_str prefix)
{
    struct node_cache_entry *e = q->head;
    size_t n = 0;

    while (e != NULL) {
        struct node_cache_entry *next = e->next;

        if (entry_matches(e, bucket, prefix)) {
            entry_unlink(c, e);
            n++;
        }
        e = next;
    }
    return n;
}

size_t node_cache_drop(struct node_cache *c, struct gw_str bucket, struct gw_str prefix)
{
    size_t n;

    if (!node_cache_is_enabled(c)) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    c->epoch++;
    n = drop_from(c, &c->small, bucket, prefix) + drop_from(c, &c->main, bucket, prefix);
    c->st.invalidations += n;
    if (bucket.len == 0) {
        node_cache__sketch_clear(&c->sketch); /* drop-all forgets popularity too */
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- references and views ---- */

void node_cache_entry_ref(struct node_cache_entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void node_cache_entry_unref(struct node_cache_entry *e)
{
    struct node_cache *c = e->cache;

    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->st.bytes -= e->charge;
    pthread_mutex_unlock(&c->mu);
    c->o.free_fn(e);
}

struct gw_str node_cache_entry_body(const struct node_cache_entry *e)
{
    return gw_str_make((const char *)e->data, e->body_len);
}

struct gw_str node_cache_entry_meta(const struct node_cache_entry *e)
{
    struct gw_str name = entry_name(e);

    return gw_str_make(name.p + name.len, e->meta_len);
}

struct gw_str node_cache_entry_bucket(const struct node_cache_entry *e)
{
    return gw_str_make(entry_name(e).p, e->bucket_len);
}

struct gw_str node_cache_entry_key(const struct node_cache_entry *e)
{
    return gw_str_make(entry_name(e).p + e->bucket_len + 1, e->key_len);
}

const struct node_cache_fp *node_cache_entry_fp(const struct node_cache_entry *e)
{
    return &e->fp;
}

uint64_t node_cache_entry_hits(const struct node_cache_entry *e)
{
    return atomic_load_explicit(&e->hits, memory_order_relaxed);
}

/* ---- reporting ---- */

void node_cache_stats(struct node_cache *c, struct node_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
}

/* Insert @e into @top (sorted, most hits first, @n used of @cap). */
static size_t top_insert(struct node_cache_entry **top, size_t n, size_t cap,
                         struct node_cache_entry *e)
{
    uint64_t hits = node_cache_entry_hits(e);
    size_t i = n < cap ? n : cap;

    if (i == cap && (cap == 0 || node_cache_entry_hits(top[cap - 1]) >= hits)) {
        return n;
    }
    if (i == cap) {
        i--; /* the last one falls off */
    }
    while (i > 0 && node_cache_entry_hits(top[i - 1]) < hits) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = e;
    return n < cap ? n + 1 : n;
}

size_t node_cache_top(struct node_cache *c, struct node_cache_entry **out, size_t n)
{
    const struct fifo *queues[2] = {&c->small, &c->main};
    size_t got = 0;

    pthread_mutex_lock(&c->mu);
    for (size_t q = 0; q < 2; q++) {
        for (struct node_cache_entry *e = queues[q]->head; e != NULL; e = e->next) {
            got = top_insert(out, got, n, e);
        }
    }
    for (size_t i = 0; i < got; i++) {
        node_cache_entry_ref(out[i]);
    }
    pthread_mutex_unlock(&c->mu);
    return got;
}

uint64_t *node_cache_key_hashes(struct node_cache *c, size_t *n_out, uint64_t *version)
{
    uint64_t *v;
    size_t n = 0;

    pthread_mutex_lock(&c->mu);
    v = gw_malloc((c->st.objects + 1) * sizeof *v);
    for (struct node_cache_entry *e = c->small.head; e != NULL; e = e->next) {
        v[n++] = e->hash;
    }
    for (struct node_cache_entry *e = c->main.head; e != NULL; e = e->next) {
        v[n++] = e->hash;
    }
    *version = c->version;
    pthread_mutex_unlock(&c->mu);
    *n_out = n;
    return v;
}

uint64_t node_cache_version(struct node_cache *c)
{
    uint64_t v;

    pthread_mutex_lock(&c->mu);
    v = c->version;
    pthread_mutex_unlock(&c->mu);
    return v;
}

void node_cache_destroy(struct node_cache *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    while (c->small.head != NULL) {
        entry_unlink(c, c->small.head);
    }
    while (c->main.head != NULL) {
        entry_unlink(c, c->main.head);
    }
    assert(c->st.bytes == c->fixed_bytes); /* nobody holds a reference any more */
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_destroy(&c->mu);
    node_cache__sketch_free(&c->sketch);
    gw_free(c->ghost);
    gw_free(c->buckets);
    gw_free(c);
}
