/* Tests of node/cache/cache: hits, staleness, admission, fills racing
 * invalidations, memory bounds, pinned entries, S3-FIFO scan resistance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/err.h"

#include "cache.h"
#include "hash.h"

#define MIB (1024u * 1024u)

static struct node_cache_fp fp_of(uint64_t n)
{
    struct node_cache_fp fp = {.dev = 1, .ino = n, .size = 100, .mtime_ns = 5, .ctime_ns = 6};

    return fp;
}

static struct node_cache *cache_new(uint64_t size, uint32_t admit_after)
{
    struct node_cache_opts o = {
        .size = size, .max_object_size = 64 * MIB, .admit_after = admit_after};

    return node_cache_create(&o);
}

static char *name_of(char *buf, size_t cap, const char *prefix, unsigned i)
{
    snprintf(buf, cap, "%s%u", prefix, i);
    return buf;
}

/* GET-path shape: lookup; on a miss, fill if admitted.  Returns true on a hit. */
static bool get(struct node_cache *c, const char *key, size_t len, uint64_t ino)
{
    static char body[64 * 1024];
    struct node_cache_fp fp = fp_of(ino);
    struct node_cache_entry *e;

    if (node_cache_lookup(c, GW_STR("b"), gw_str_c(key), &fp, &e) == GW_OK) {
        node_cache_entry_unref(e);
        return true;
    }
    if (node_cache_admits(c, GW_STR("b"), gw_str_c(key), len)) {
        (void)node_cache_insert(c, GW_STR("b"), gw_str_c(key), &fp, "m", 1, body, len);
    }
    return false;
}

/* The key hash is FNV-1a 64 of "bucket/key" through fmix64: fixed values
 * (computed independently from the definition), since it crosses the network. */
static void key_hash_is_stable(void **state)
{
    (void)state;
    assert_true(node_cache_key_hash(GW_STR("b"), GW_STR("k")) == 0xa72540d54f3a27f6ULL);
    assert_true(node_cache_key_hash(GW_STR("photos"), GW_STR("2024/a.jpg")) ==
                0x2bda8075b4c73464ULL);
}

/* An inserted object is found with its body, metadata and name; the views
 * outlive an invalidation while the reference is held. */
static void hit_returns_body_and_meta(void **state)
{
    struct node_cache *c = cache_new(MIB, 1);
    struct node_cache_fp fp = fp_of(7);
    struct node_cache_entry *e;
    struct node_cache_stats st;

    (void)state;
    assert_int_equal(node_cache_lookup(c, GW_STR("bk"), GW_STR("a/b"), &fp, &e),
                     GW_ERR_NOT_FOUND);
    assert_null(e);
    assert_int_equal(node_cache_insert(c, GW_STR("bk"), GW_STR("a/b"), &fp, "etag=1", 6,
                                       "hello world", 11),
                     GW_OK);
    assert_int_equal(node_cache_lookup(c, GW_STR("bk"), GW_STR("a/b"), &fp, &e), GW_OK);
    assert_true(gw_str_eq_c(node_cache_entry_body(e), "hello world"));
    assert_true(gw_str_eq_c(node_cache_entry_meta(e), "etag=1"));
    assert_true(gw_str_eq_c(node_cache_entry_bucket(e), "bk"));
    assert_true(gw_str_eq_c(node_cache_entry_key(e), "a/b"));
    assert_int_equal(node_cache_entry_fp(e)->ino, 7);
    assert_int_equal(node_cache_entry_hits(e), 1);
    /* The same key in another bucket is another object. */
    node_cache_entry_unref(e);
    assert_int_equal(node_cache_lookup(c, GW_STR("bk2"), GW_STR("a/b"), &fp, &e),
                     GW_ERR_NOT_FOUND);
    node_cache_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.admissions, 1);
    node_cache_destroy(c);
}

/* Any change of the fingerprint (each field on its own) is a miss that drops
 * the entry and counts stale: a write on the mount is never hidden. */
static void fingerprint_mismatch_is_stale(void **state)
{
    struct node_cache *c = cache_new(MIB, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *e;
    struct node_cache_stats st;

    (void)state;
    for (int field = 0; field < 5; field++) {
        struct node_cache_fp cur = fp;

        assert_int_equal(node_cache_insert(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, "x", 1),
                         GW_OK);
        switch (field) {
        case 0: cur.dev++; break;
        case 1: cur.ino++; break;
        case 2: cur.size++; break;
        case 3: cur.mtime_ns++; break;
        default: cur.ctime_ns++; break;
        }
        assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &cur, &e),
                         GW_ERR_NOT_FOUND);
        /* Dropped: even the old fingerprint misses now. */
        assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &fp, &e),
                         GW_ERR_NOT_FOUND);
    }
    node_cache_stats(c, &st);
    assert_int_equal(st.stale, 5);
    assert_int_equal(st.objects, 0);
    assert_int_equal(st.hits, 0);
    node_cache_destroy(c);
}

/* With admit_after = 2 the first read is not admitted, the second is; a key
 * whose reads are a window apart is not (aging). */
static void admission_after_reads(void **state)
{
    struct node_cache_opts o = {.size = MIB, .max_object_size = 1000, .admit_after = 2,
                                .window = 64};
    struct node_cache *c = node_cache_create(&o);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *e;
    char k[32];

    (void)state;
    assert_false(get(c, "hot", 10, 1));
    assert_false(node_cache_admits(c, GW_STR("b"), GW_STR("hot"), 10));
    assert_false(get(c, "hot", 10, 1)); /* second read: admitted and filled */
    assert_true(get(c, "hot", 10, 1));
    /* Over max_object_size: never admitted. */
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("big"), &fp, &e), GW_ERR_NOT_FOUND);
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("big"), &fp, &e), GW_ERR_NOT_FOUND);
    assert_false(node_cache_admits(c, GW_STR("b"), GW_STR("big"), 1001));
    assert_true(node_cache_admits(c, GW_STR("b"), GW_STR("big"), 1000));
    /* One read, then a whole window of other reads, then one more: forgotten. */
    assert_false(get(c, "rare", 10, 1));
    for (unsigned i = 0; i < 200; i++) {
        assert_false(get(c, name_of(k, sizeof k, "cold", i), 10, 1));
    }
    assert_false(get(c, "rare", 10, 1));
    assert_false(node_cache_admits(c, GW_STR("b"), GW_STR("rare"), 10));
    node_cache_destroy(c);
}

/* Reads that other nodes served count towards admission at the owner. */
static void remote_reads_count(void **state)
{
    struct node_cache *c = cache_new(MIB, 3);

    (void)state;
    assert_false(node_cache_admits(c, GW_STR("b"), GW_STR("k"), 1));
    node_cache_note_reads(c, node_cache_key_hash(GW_STR("b"), GW_STR("k")), 2);
    assert_false(node_cache_admits(c, GW_STR("b"), GW_STR("k"), 1));
    assert_false(get(c, "k", 1, 1)); /* the third read, local: admitted */
    assert_true(get(c, "k", 1, 1));
    node_cache_destroy(c);
}

/* A fill that began before an invalidation of its name (a PUT raced the
 * read) or before a drop is refused at commit; fills of other names are not. */
static void fill_raced_by_invalidate_is_refused(void **state)
{
    struct node_cache *c = cache_new(MIB, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *e;
    struct node_cache_entry *other;
    struct node_cache_stats st;

    (void)state;
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, 3, 0, &e),
                     GW_OK);
    memcpy(node_cache_fill_body(e), "old", 3);
    node_cache_invalidate(c, GW_STR("b"), GW_STR("k"));
    assert_int_equal(node_cache_fill_commit(c, e), GW_ERR_CANCELED);
    assert_true(gw_str_eq_c(node_cache_entry_body(e), "old")); /* still the caller's copy */
    node_cache_entry_unref(e);
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &fp, &e), GW_ERR_NOT_FOUND);

    /* A prefix drop cancels every fill in flight. */
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, 3, 0, &e),
                     GW_OK);
    assert_int_equal(node_cache_drop(c, GW_STR("b"), GW_STR("zzz")), 0);
    assert_int_equal(node_cache_fill_commit(c, e), GW_ERR_CANCELED);
    node_cache_entry_unref(e);

    /* An invalidation of another name (another stripe) does not. */
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, 3, 0, &e),
                     GW_OK);
    for (unsigned i = 0;; i++) {
        char k[16];
        struct gw_str ks = gw_str_c(name_of(k, sizeof k, "o", i));

        if (node_cache_key_hash(GW_STR("b"), ks) % 256 !=
            node_cache_key_hash(GW_STR("b"), GW_STR("k")) % 256) {
            node_cache_invalidate(c, GW_STR("b"), ks);
            break;
        }
    }
    assert_int_equal(node_cache_fill_commit(c, e), GW_OK);
    node_cache_entry_unref(e);
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &fp, &other), GW_OK);
    node_cache_entry_unref(other);
    node_cache_stats(c, &st);
    assert_int_equal(st.fill_refused, 2);
    node_cache_destroy(c);
}

/* invalidate drops one name; drop(bucket, prefix) the matching ones; drop of
 * the empty bucket everything. */
static void drop_by_prefix(void **state)
{
    static const char *const keys[] = {"data/a", "data/b", "datb", "other/x"};
    struct node_cache *c = cache_new(MIB, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *e;
    struct node_cache_stats st;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(node_cache_insert(c, GW_STR("b1"), gw_str_c(keys[i]), &fp, NULL, 0, "x",
                                           1),
                         GW_OK);
        assert_int_equal(node_cache_insert(c, GW_STR("b2"), gw_str_c(keys[i]), &fp, NULL, 0, "x",
                                           1),
                         GW_OK);
    }
    node_cache_invalidate(c, GW_STR("b1"), GW_STR("other/x"));
    assert_int_equal(node_cache_lookup(c, GW_STR("b1"), GW_STR("other/x"), &fp, &e),
                     GW_ERR_NOT_FOUND);
    assert_int_equal(node_cache_drop(c, GW_STR("b1"), GW_STR("data/")), 2);
    assert_int_equal(node_cache_lookup(c, GW_STR("b1"), GW_STR("datb"), &fp, &e), GW_OK);
    node_cache_entry_unref(e);
    assert_int_equal(node_cache_lookup(c, GW_STR("b2"), GW_STR("data/a"), &fp, &e), GW_OK);
    node_cache_entry_unref(e);
    assert_int_equal(node_cache_drop(c, GW_STR("b2"), GW_STR("")), 4);
    assert_int_equal(node_cache_drop(c, GW_STR("b1"), GW_STR("")), 1);
    node_cache_stats(c, &st);
    assert_int_equal(st.objects, 0);
    assert_int_equal(st.invalidations, 8);
    assert_int_equal(node_cache_insert(c, GW_STR("b3"), GW_STR("k"), &fp, NULL, 0, "x", 1), GW_OK);
    assert_int_equal(node_cache_drop(c, GW_STR(""), GW_STR("")), 1);
    node_cache_destroy(c);
}

/* A reader streaming from an entry keeps it valid while the entry is evicted
 * (ASan would catch a use after free); its bytes stay charged until then. */
static void pinned_entry_survives_eviction(void **state)
{
    struct node_cache *c = cache_new(256 * 1024, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *pinned;
    struct node_cache_entry *e;
    struct node_cache_stats before;
    struct node_cache_stats st;
    static char body[32 * 1024];
    char k[32];

    (void)state;
    /* The filler keeps its reference while it streams the body it read. */
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("pin"), &fp, NULL, 0,
                                           sizeof body, 0, &pinned),
                     GW_OK);
    memset(node_cache_fill_body(pinned), 'p', sizeof body);
    assert_int_equal(node_cache_fill_commit(c, pinned), GW_OK);
    memset(body, 'o', sizeof body);
    for (unsigned i = 0; i < 64; i++) {
        (void)node_cache_insert(c, GW_STR("b"), gw_str_c(name_of(k, sizeof k, "o", i)), &fp,
                                NULL, 0, body, sizeof body);
    }
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("pin"), &fp, &e),
                     GW_ERR_NOT_FOUND); /* evicted from the index... */
    node_cache_stats(c, &before);
    assert_true(before.bytes <= 256 * 1024);
    for (size_t i = 0; i < sizeof body; i++) {
        assert_int_equal(node_cache_entry_body(pinned).p[i], 'p'); /* ...but still readable */
    }
    node_cache_entry_unref(pinned);
    node_cache_stats(c, &st);
    assert_true(st.bytes < before.bytes); /* its bytes came back with the last reference */
    node_cache_destroy(c);
}

/* When every entry is pinned no room can be made: the fill is refused
 * (GW_ERR_AGAIN) and the bound holds.  Eviction does not wait for readers:
 * the pinned entries left the index, and their bytes come back one by one
 * as the readers let go.  NO_EVICT uses free room only. */
static void no_room_when_all_pinned(void **state)
{
    struct node_cache *c = cache_new(128 * 1024, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *held[8];
    struct node_cache_entry *e;
    struct node_cache_stats st;
    size_t n = 0;
    char k[32];
    int rv = GW_OK;

    (void)state;
    while (rv == GW_OK && n < 8) {
        rv = node_cache_fill_begin(c, GW_STR("b"), gw_str_c(name_of(k, sizeof k, "k", n)), &fp,
                                   NULL, 0, 30 * 1024, 0, &held[n]);
        if (rv == GW_OK) {
            assert_int_equal(node_cache_fill_commit(c, held[n]), GW_OK);
            n++;
        }
    }
    assert_int_equal(rv, GW_ERR_AGAIN);
    assert_int_equal(n, 4);
    node_cache_stats(c, &st);
    assert_true(st.bytes <= 128 * 1024);
    assert_int_equal(st.objects, 0);
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k3"), &fp, &e), GW_ERR_NOT_FOUND);
    /* One reader done: room for one more, without evicting anything. */
    node_cache_entry_unref(held[0]);
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("w"), &fp, NULL, 0, 30 * 1024,
                                           NODE_CACHE_FILL_NO_EVICT, &e),
                     GW_OK);
    assert_int_equal(node_cache_fill_commit(c, e), GW_OK);
    node_cache_entry_unref(e);
    /* Full again: NO_EVICT refuses where a plain fill would evict "w". */
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("x"), &fp, NULL, 0, 30 * 1024,
                                           NODE_CACHE_FILL_NO_EVICT, &e),
                     GW_ERR_AGAIN);
    for (size_t i = 1; i < n; i++) {
        node_cache_entry_unref(held[i]);
    }
    node_cache_destroy(c);
}

static int fail_allocs;

static void *failing_alloc(size_t len)
{
    return fail_allocs > 0 ? (fail_allocs--, NULL) : malloc(len);
}

/* Allocation failure means "do not cache": GW_ERR_NOMEM, nothing charged,
 * the next fill works. */
static void allocation_failure_does_not_cache(void **state)
{
    struct node_cache_opts o = {.size = MIB, .max_object_size = MIB, .admit_after = 1,
                                .alloc_fn = failing_alloc, .free_fn = free};
    struct node_cache *c = node_cache_create(&o);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *e;
    struct node_cache_stats before;
    struct node_cache_stats st;

    (void)state;
    node_cache_stats(c, &before);
    fail_allocs = 1;
    assert_int_equal(node_cache_insert(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, "x", 1),
                     GW_ERR_NOMEM);
    node_cache_stats(c, &st);
    assert_int_equal(st.bytes, before.bytes);
    assert_int_equal(st.fill_refused, 1);
    assert_int_equal(node_cache_lookup(c, GW_STR("b"), GW_STR("k"), &fp, &e), GW_ERR_NOT_FOUND);
    assert_int_equal(node_cache_insert(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, "x", 1), GW_OK);
    node_cache_destroy(c);
}

/* Size limits: over max_object_size, larger than the cache, cache off. */
static void size_limits(void **state)
{
    struct node_cache_opts o = {.size = 64 * 1024, .max_object_size = MIB, .admit_after = 1};
    struct node_cache *c = node_cache_create(&o);
    struct node_cache *off = cache_new(0, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_entry *e;
    struct node_cache_stats st;

    (void)state;
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, MIB + 1, 0,
                                           &e),
                     GW_ERR_INVALID);
    assert_int_equal(node_cache_fill_begin(c, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, 64 * 1024,
                                           0, &e),
                     GW_ERR_ENTITY_TOO_LARGE);
    /* A body length near 2^64 is refused before any sum could overflow. */
    {
        struct node_cache_opts huge = {.size = 64 * 1024, .max_object_size = UINT64_MAX};
        struct node_cache *h = node_cache_create(&huge);

        assert_int_equal(node_cache_fill_begin(h, GW_STR("b"), GW_STR("k"), &fp, NULL, 0,
                                               UINT64_MAX - 8, 0, &e),
                         GW_ERR_ENTITY_TOO_LARGE);
        node_cache_destroy(h);
    }
    assert_false(node_cache_is_enabled(off));
    assert_int_equal(node_cache_insert(off, GW_STR("b"), GW_STR("k"), &fp, NULL, 0, "x", 1),
                     GW_ERR_INVALID);
    assert_int_equal(node_cache_lookup(off, GW_STR("b"), GW_STR("k"), &fp, &e), GW_ERR_NOT_FOUND);
    assert_false(node_cache_admits(off, GW_STR("b"), GW_STR("k"), 1));
    node_cache_stats(off, &st);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.misses, 0);
    node_cache_destroy(off);
    node_cache_destroy(c);
}

/* Thousands of fills of mixed sizes with overhead: the charged total never
 * exceeds the size, counts every byte (fixed arrays + per-entry cost at least
 * body + name + meta), and returns to the arrays alone after drop-all. */
static void memory_bound_holds(void **state)
{
    const uint64_t size = 512 * 1024;
    struct node_cache *c = cache_new(size, 1);
    struct node_cache_fp fp = fp_of(1);
    struct node_cache_stats base;
    struct node_cache_stats st;
    static char body[40000];
    char k[32];

    (void)state;
    node_cache_stats(c, &base);
    assert_true(base.bytes > 0 && base.bytes < size / 10);
    srand(7);
    for (unsigned i = 0; i < 5000; i++) {
        size_t len = (size_t)rand() % (i % 10 == 0 ? sizeof body : 200);

        (void)node_cache_insert(c, GW_STR("b"), gw_str_c(name_of(k, sizeof k, "k", i)), &fp,
                                "meta", 4, body, len);
        node_cache_stats(c, &st);
        assert_true(st.bytes <= size);
    }
    assert_true(st.evictions > 0);
    /* Every object costs at least its payload plus a header. */
    assert_true(st.bytes - base.bytes >= st.objects * (sizeof(void *) * 4 + 4 + 2));
    node_cache_drop(c, GW_STR(""), GW_STR(""));
    node_cache_stats(c, &st);
    assert_int_equal(st.bytes, base.bytes);
    assert_int_equal(st.objects, 0);
    node_cache_destroy(c);
}

/* Scan resistance: a hot set read repeatedly, then one pass over a dataset 4x
 * the cache during which each hot object is read only once every 400 scan
 * reads (more than the cache's whole turnover, so LRU or FIFO would have
 * evicted it between two of its reads).  Every object is admitted on its
 * first read (admit_after = 1) so this is the eviction policy's doing, not
 * the admission filter's.  Afterwards every hot object is still a hit. */
static void scan_does_not_evict_hot_set(void **state)
{
    const uint64_t size = MIB;
    const size_t obj = 4096;
    struct node_cache *c = cache_new(size, 1);
    unsigned n_scan = (unsigned)(4 * size / obj);
    unsigned n_hot = 40;
    unsigned next_hot = 0;
    struct node_cache_stats st;
    char k[32];

    (void)state;
    for (int round = 0; round < 3; round++) {
        for (unsigned h = 0; h < n_hot; h++) {
            (void)get(c, name_of(k, sizeof k, "hot", h), obj, 1);
        }
    }
    for (unsigned i = 0; i < n_scan; i++) {
        assert_false(get(c, name_of(k, sizeof k, "scan", i), obj, 1));
        if (i % 10 == 9) {
            assert_true(get(c, name_of(k, sizeof k, "hot", next_hot), obj, 1));
            next_hot = (next_hot + 1) % n_hot;
        }
    }
    for (unsigned h = 0; h < n_hot; h++) {
        assert_true(get(c, name_of(k, sizeof k, "hot", h), obj, 1));
    }
    node_cache_stats(c, &st);
    assert_true(st.evictions >= n_scan - size / obj); /* the scan did churn the cache */
    assert_true(st.bytes <= size);
    node_cache_destroy(c);
}

/* The same with the default admission (2 reads): scanned objects never get
 * in, even read twice in a row they are gone after the pass. */
static void scan_with_admission(void **state)
{
    const uint64_t size = MIB;
    struct node_cache *c = cache_new(size, 2);
    struct node_cache_stats st;
    char k[32];

    (void)state;
    for (int round = 0; round < 4; round++) {
        for (unsigned h = 0; h < 40; h++) {
            (void)get(c, name_of(k, sizeof k, "hot", h), 4096, 1);
        }
    }
    for (unsigned i = 0; i < 1024; i++) {
        (void)get(c, name_of(k, sizeof k, "scan", i), 4096, 1);
        (void)get(c, name_of(k, sizeof k, "scan", i), 4096, 1);
    }
    for (unsigned h = 0; h < 40; h++) {
        assert_true(get(c, name_of(k, sizeof k, "hot", h), 4096, 1));
    }
    node_cache_stats(c, &st);
    assert_true(st.bytes <= size);
    node_cache_destroy(c);
}

/* top-N orders entries by hits and hands out references. */
static void top_by_hits(void **state)
{
    struct node_cache *c = cache_new(MIB, 1);
    struct node_cache_entry *top[2];
    static const char *const keys[] = {"one", "three", "five", "two"};
    static const unsigned reads[] = {1, 3, 5, 2};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_false(get(c, keys[i], 10, 1));
        for (unsigned r = 0; r < reads[i]; r++) {
            assert_true(get(c, keys[i], 10, 1));
        }
    }
    assert_int_equal(node_cache_top(c, top, 2), 2);
    assert_true(gw_str_eq_c(node_cache_entry_key(top[0]), "five"));
    assert_true(gw_str_eq_c(node_cache_entry_key(top[1]), "three"));
    assert_int_equal(node_cache_entry_hits(top[0]), 5);
    node_cache_drop(c, GW_STR(""), GW_STR(""));
    assert_true(gw_str_eq_c(node_cache_entry_key(top[1]), "three")); /* held */
    node_cache_entry_unref(top[0]);
    node_cache_entry_unref(top[1]);
    assert_int_equal(node_cache_top(c, top, 2), 0);
    node_cache_destroy(c);
}

/* The key hashes and the version the digest is built from. */
static void key_hashes_and_version(void **state)
{
    struct node_cache *c = cache_new(MIB, 1);
    struct node_cache_fp fp = fp_of(1);
    uint64_t v0 = node_cache_version(c);
    uint64_t version;
    uint64_t *h;
    size_t n;

    (void)state;
    assert_int_equal(node_cache_insert(c, GW_STR("b"), GW_STR("x"), &fp, NULL, 0, "1", 1), GW_OK);
    assert_int_equal(node_cache_insert(c, GW_STR("b"), GW_STR("y"), &fp, NULL, 0, "1", 1), GW_OK);
    h = node_cache_key_hashes(c, &n, &version);
    assert_int_equal(n, 2);
    assert_true(version != v0);
    assert_true((h[0] == node_cache_key_hash(GW_STR("b"), GW_STR("x")) &&
                 h[1] == node_cache_key_hash(GW_STR("b"), GW_STR("y"))) ||
                (h[1] == node_cache_key_hash(GW_STR("b"), GW_STR("x")) &&
                 h[0] == node_cache_key_hash(GW_STR("b"), GW_STR("y"))));
    free(h);
    node_cache_invalidate(c, GW_STR("b"), GW_STR("x"));
    assert_true(node_cache_version(c) != version);
    node_cache_destroy(c);
}

struct worker {
    struct node_cache *c;
    unsigned seed;
    unsigned hits;
};

/* One thread of the stress test: GETs, invalidations and drops at random. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char k[32];

    for (unsigned i = 0; i < 20000; i++) {
        unsigned r = (unsigned)rand_r(&w->seed);
        const char *key = name_of(k, sizeof k, "k", r % 1000);

        if (r % 97 == 0) {
            node_cache_invalidate(w->c, GW_STR("b"), gw_str_c(key));
        } else if (r % 5003 == 0) {
            node_cache_drop(w->c, GW_STR("b"), GW_STR("k1"));
        } else {
            w->hits += get(w->c, key, 1 + r % 5000, (r >> 20) % 16 == 0 ? 2 : 1) ? 1u : 0u;
        }
    }
    return NULL;
}

/* Four threads at once: no crash, no leak (ASan), the bound holds, and the
 * accounting returns to the arrays alone. */
static void threads_stress(void **state)
{
    struct node_cache *c = cache_new(256 * 1024, 2);
    struct worker w[4];
    pthread_t t[4];
    struct node_cache_stats base;
    struct node_cache_stats st;

    (void)state;
    node_cache_stats(c, &base);
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct worker){c, i + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    node_cache_stats(c, &st);
    printf("stress: hits %llu misses %llu stale %llu evictions %llu admissions %llu\n",
           (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.stale, (unsigned long long)st.evictions,
           (unsigned long long)st.admissions);
    assert_true(st.bytes <= 256 * 1024);
    assert_true(st.hits > 0 && st.stale > 0 && st.evictions > 0);
    assert_int_equal(st.hits, w[0].hits + w[1].hits + w[2].hits + w[3].hits);
    node_cache_drop(c, GW_STR(""), GW_STR(""));
    node_cache_stats(c, &st);
    assert_int_equal(st.bytes, base.bytes);
    node_cache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_hash_is_stable),
        cmocka_unit_test(hit_returns_body_and_meta),
        cmocka_unit_test(fingerprint_mismatch_is_stale),
        cmocka_unit_test(admission_after_reads),
        cmocka_unit_test(remote_reads_count),
        cmocka_unit_test(fill_raced_by_invalidate_is_refused),
        cmocka_unit_test(drop_by_prefix),
        cmocka_unit_test(pinned_entry_survives_eviction),
        cmocka_unit_test(no_room_when_all_pinned),
        cmocka_unit_test(allocation_failure_does_not_cache),
        cmocka_unit_test(size_limits),
        cmocka_unit_test(memory_bound_holds),
        cmocka_unit_test(scan_does_not_evict_hot_set),
        cmocka_unit_test(scan_with_admission),
        cmocka_unit_test(top_by_hits),
        cmocka_unit_test(key_hashes_and_version),
        cmocka_unit_test(threads_stress),
    };
    return cmocka_run_group_tests_name("node/cache/cache", tests, NULL, NULL);
}
