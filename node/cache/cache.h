/* node/cache/cache: a bounded, thread-safe, in-memory cache of object bodies.
 *
 * Each entry is one object, named by bucket and key, holding its body bytes,
 * the fingerprint of the file they were read from, and an opaque blob the GET
 * path fills with what it needs to answer from memory exactly as from the file
 * (ETag, Content-Type, user metadata, ... : the cache stores bytes and never
 * looks inside).
 *
 * How the GET path uses it (the integrator wires this; nothing calls it yet):
 *
 *   stat/fstat the file -> fp
 *   node_cache_lookup(c, b, k, &fp, &e)
 *     GW_OK:  answer from node_cache_entry_body(e) / _meta(e), any range of it;
 *             node_cache_entry_unref(e) once the last byte is written.
 *     miss:   serve from the file as today; if node_cache_admits(c, b, k, size),
 *             a worker thread may fill: node_cache_fill_begin() (may refuse:
 *             then just do not cache), read the file into node_cache_fill_body(),
 *             fstat again and node_cache_fill_abort() if the fingerprint moved,
 *             else node_cache_fill_commit(); then unref.
 *   PUT/DELETE/Complete/Copy through unigw: node_cache_invalidate(c, b, k).
 *
 * Never stale: a lookup compares the caller's current fingerprint with the
 * entry's; a mismatch drops the entry (counted "stale") and is a miss, so a
 * write from any node or straight on the mount is never hidden.  A fill that
 * raced an invalidation or a drop is refused at commit.
 *
 * Eviction is S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10 % of the
 * bytes) where new entries start, a main FIFO, and a ghost queue of the keys
 * recently evicted from the small one.  An entry leaves the small FIFO for the
 * main one only if it was hit while there; otherwise its key goes to the
 * ghost queue, and a ghost key that comes back enters main directly.  Why
 * this one: a scan (one pass over a dataset larger than the cache) only
 * churns the small FIFO and never reaches the hot set in main (scan
 * resistance, proven by the unit test); it is simple (two FIFOs, a 2-bit
 * counter per entry, no LRU reordering); and a hit only bumps that counter,
 * it moves nothing, so the critical section of a hit is a hash probe and two
 * increments (lock-friendly: a hit never contends on list pointers).
 * In front of it sits the admission filter: an object is admitted after
 * admit_after reads within a window (a count-min sketch with TinyLFU aging,
 * see sketch.h), so a single cold read costs no memory at all.
 *
 * Memory: every entry is charged its body, name and metadata bytes plus the
 * entry header and an estimate of the allocator's rounding; the index, sketch
 * and ghost arrays (about 1 % of the size: 40 MiB for 4 GiB) are charged at
 * creation.  The charged total, including
 * entries that were evicted but are still referenced by a reader, never
 * exceeds opts.size.  Eviction does not wait for readers: an entry evicted
 * while pinned leaves the index at once and its bytes come back when its last
 * reader lets go; a fill that cannot fit even then is refused.  Memory for bodies comes from opts.alloc_fn (malloc by
 * default, never the aborting gw_malloc): an allocation failure means "do not
 * cache", never an error the client sees.
 *
 * Threads: every function may be called from any thread (event loops look up,
 * workers fill).  One mutex guards the index and the queues; bodies are read
 * outside it, protected by the entry's reference count. */
#ifndef UNIGW_NODE_CACHE_CACHE_H
#define UNIGW_NODE_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/str.h"

/* The identity of the file a body was read from.  Equal fingerprints mean the
 * file was not replaced or written (stat's st_dev, st_ino, st_size,
 * st_mtim and st_ctim; ctime catches writes that restore the mtime). */
struct node_cache_fp {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
};

struct node_cache_opts {
    uint64_t size;            /* bytes charged at most; 0 disables the cache */
    uint64_t max_object_size; /* bodies larger than this are never cached */
    uint32_t admit_after;     /* reads within the window before admission; 0 or 1: first read */
    uint64_t window;          /* reads between two agings of the sketch; 0: size / 2048 */
    /* Body allocator (tests inject failures); NULL: malloc and free. */
    void *(*alloc_fn)(size_t len);
    void (*free_fn)(void *p);
};

/* What a snapshot of the counters holds (node_cache_stats). */
struct node_cache_stats {
    uint64_t size;       /* the configured bound */
    uint64_t bytes;      /* charged now: entries (also pinned ones), fills in progress, arrays */
    uint64_t objects;    /* entries in the index */
    uint64_t hits;       /* lookups answered */
    uint64_t misses;     /* lookups not answered (stale ones included) */
    uint64_t evictions;  /* entries pushed out to make room */
    uint64_t stale;      /* entries dropped because the file's fingerprint changed */
    uint64_t admissions; /* fills committed */
    uint64_t invalidations; /* entries dropped by invalidate/drop */
    uint64_t fill_refused;  /* fills refused: no room, too large, allocation failed, raced */
    uint64_t hit_bytes;     /* body bytes of the entries that hits returned */
};

struct node_cache;
struct node_cache_entry;

/* Allocate a cache bounded by @o->size (the index and sketch are sized from
 * it).  Never fails (aborts on OOM, like gw_malloc: called once at start). */
struct node_cache *node_cache_create(const struct node_cache_opts *o);
/* Free the cache and every entry.  Every reference taken by lookup, fill or
 * top must have been dropped before (asserted).  NULL is a no-op. */
void node_cache_destroy(struct node_cache *c);
/* False when opts.size was 0: lookups miss and fills are refused at once. */
bool node_cache_is_enabled(const struct node_cache *c);

/* Look @bucket/@key up, counting one read towards its admission.  If an entry
 * exists and its fingerprint equals @cur, returns GW_OK and *@out with a
 * reference the caller must drop with node_cache_entry_unref().  Otherwise
 * returns GW_ERR_NOT_FOUND (a mismatching entry is dropped first, counted
 * stale); *@out is then NULL. */
int node_cache_lookup(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                      const struct node_cache_fp *cur, struct node_cache_entry **out);
/* Should the caller fill @bucket/@key (@size body bytes) after a miss?  True
 * when the cache is on, @size fits max_object_size and the key was read
 * admit_after times in the window (or was evicted recently: a ghost).  Counts
 * nothing. */
bool node_cache_admits(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                       uint64_t size);
/* Count @n reads of the key hashed @key_hash (node_cache_key_hash) that
 * another node served from the mount, towards admission here (the owner). */
void node_cache_note_reads(struct node_cache *c, uint64_t key_hash, uint32_t n);

/* Flags of node_cache_fill_begin. */
#define NODE_CACHE_FILL_NO_EVICT 1u /* only into free room (warm-up stops at the size) */

/* Reserve room for @bucket/@key with @body_len body bytes and a copy of the
 * @meta_len bytes at @meta, read from the file @fp, evicting as needed (unless
 * NODE_CACHE_FILL_NO_EVICT).  Returns GW_OK and *@out, an entry not yet
 * visible to lookups whose body the caller writes through
 * node_cache_fill_body(); the caller holds its one reference and must end
 * with node_cache_fill_commit() or node_cache_fill_abort().  Refusals (the
 * caller simply does not cache): GW_ERR_INVALID (cache off or @body_len over
 * max_object_size), GW_ERR_ENTITY_TOO_LARGE (larger than the whole cache),
 * GW_ERR_AGAIN (no room: everything left is pinned, or NO_EVICT),
 * GW_ERR_NOMEM (the allocator failed). */
int node_cache_fill_begin(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                          const struct node_cache_fp *fp, const void *meta, size_t meta_len,
                          uint64_t body_len, unsigned flags, struct node_cache_entry **out);
/* Where the caller writes the body of an entry from fill_begin. */
void *node_cache_fill_body(struct node_cache_entry *e);
/* Make @e visible, replacing any entry of the same name.  The caller keeps
 * its reference either way (unref it when done).  GW_ERR_CANCELED, and @e is
 * not cached, when the name was invalidated or dropped since fill_begin. */
int node_cache_fill_commit(struct node_cache *c, struct node_cache_entry *e);
/* Give up a fill: drops the caller's reference and the reservation. */
void node_cache_fill_abort(struct node_cache *c, struct node_cache_entry *e);
/* fill_begin, copy @body, commit, unref: for callers holding the whole body. */
int node_cache_insert(struct node_cache *c, struct gw_str bucket, struct gw_str key,
                      const struct node_cache_fp *fp, const void *meta, size_t meta_len,
                      const void *body, uint64_t body_len);

/* Drop @bucket/@key's entry if any (readers holding it keep their copy), and
 * make fills of that name that began before refuse to commit. */
void node_cache_invalidate(struct node_cache *c, struct gw_str bucket, struct gw_str key);
/* Drop every entry of @bucket whose key starts with @prefix (empty: the whole
 * bucket), or every entry when @bucket is empty; fills in progress are
 * refused at commit.  Walks all entries under the lock.  Returns the count. */
size_t node_cache_drop(struct node_cache *c, struct gw_str bucket, struct gw_str prefix);

/* Take another reference to @e (another reader of the same body). */
void node_cache_entry_ref(struct node_cache_entry *e);
/* Drop a reference; the last one frees the entry and returns its bytes. */
void node_cache_entry_unref(struct node_cache_entry *e);
/* Views valid while the caller holds a reference. */
struct gw_str node_cache_entry_body(const struct node_cache_entry *e);
struct gw_str node_cache_entry_meta(const struct node_cache_entry *e);
struct gw_str node_cache_entry_bucket(const struct node_cache_entry *e);
struct gw_str node_cache_entry_key(const struct node_cache_entry *e);
const struct node_cache_fp *node_cache_entry_fp(const struct node_cache_entry *e);
/* Hits since the entry was admitted. */
uint64_t node_cache_entry_hits(const struct node_cache_entry *e);

/* A consistent snapshot of the counters. */
void node_cache_stats(struct node_cache *c, struct node_cache_stats *out);
/* The up to @n entries with the most hits, most first, each with a reference
 * the caller drops.  Returns how many were written to @out. */
size_t node_cache_top(struct node_cache *c, struct node_cache_entry **out, size_t n);
/* The key hashes (node_cache_key_hash) of every entry, in a gw_malloc'd array
 * the caller frees, *@n_out of them, and the version they belong to (see
 * node_cache_version); for the digest sent to peers. */
uint64_t *node_cache_key_hashes(struct node_cache *c, size_t *n_out, uint64_t *version);
/* A number that changes whenever the set of entries changes. */
uint64_t node_cache_version(struct node_cache *c);

#endif
