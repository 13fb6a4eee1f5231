/* A bounded, thread-safe cache of compiled bucket policies keyed by (bucket,
 * exact document), so that a request does not parse a document it has seen
 * before.
 *
 * Happy path: s3_policy_cache_get finds the entry under the mutex and returns
 * a new reference.  On a miss it parses outside the lock (two threads may
 * both parse a new document, which costs time but never correctness) and
 * stores the result, evicting the least recently used entry when full.  A
 * document that fails to parse is not cached; its error goes back to the
 * caller as s3_policy_parse reports it.  Each entry holds one reference, so
 * a policy outlives its eviction for as long as a request uses it. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"
#include "unigw/alloc.h"
#include "unigw/err.h"

struct cache_ent {
    char *bucket;
    size_t bucket_len;
    char *doc;
    size_t doc_len;
    struct s3_policy *p; /* one reference held by the cache */
    uint64_t used;
};

struct s3_policy_cache {
    pthread_mutex_t mu;
    struct cache_ent *ents;
    size_t n, cap;
    uint64_t tick;
};

struct s3_policy_cache *s3_policy_cache_create(size_t cap)
{
    struct s3_policy_cache *c = gw_calloc(1, sizeof *c);

    c->cap = cap > 0 ? cap : S3_POLICY_CACHE_CAP;
    c->ents = gw_calloc(c->cap, sizeof *c->ents);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void ent_clear(struct cache_ent *e)
{
    gw_free(e->bucket);
    gw_free(e->doc);
    s3_policy_unref(e->p);
    memset(e, 0, sizeof *e);
}

void s3_policy_cache_destroy(struct s3_policy_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        ent_clear(&c->ents[i]);
    }
    pthread_mutex_destroy(&c->mu);
    gw_free(c->ents);
    gw_free(c);
}

static struct s3_policy *cache_find(struct s3_policy_cache *c, struct gw_str bucket,
                                    struct gw_str doc)
{
    for (size_t i = 0; i < c->n; i++) {
        struct cache_ent *e = &c->ents[i];
        if (gw_str_eq(gw_str_make(e->bucket, e->bucket_len), bucket) &&
            gw_str_eq(gw_str_make(e->doc, e->doc_len), doc)) {
            e->used = ++c->tick;
            return s3_policy_ref(e->p);
        }
    }
    return NULL;
}

/* Store @p (taking a new reference) in a free slot or the least recently used one. */
static void cache_insert(struct s3_policy_cache *c, struct gw_str bucket, struct gw_str doc,
                         struct s3_policy *p)
{
    struct cache_ent *e = &c->ents[0];

    if (c->n < c->cap) {
        e = &c->ents[c->n++];
    } else {
        for (size_t i = 1; i < c->n; i++) {
            if (c->ents[i].used < e->used) {
                e = &c->ents[i];
            }
        }
        ent_clear(e);
    }
    e->bucket = gw_malloc(bucket.len + 1);
    e->bucket_len = bucket.len;
    e->doc = gw_malloc(doc.len + 1);
    e->doc_len = doc.len;
    if (bucket.len > 0) {
        memcpy(e->bucket, bucket.p, bucket.len);
    }
    if (doc.len > 0) {
        memcpy(e->doc, doc.p, doc.len);
    }
    e->p = s3_policy_ref(p);
    e->used = ++c->tick;
}

int s3_policy_cache_get(struct s3_policy_cache *c, struct gw_str bucket, struct gw_str doc,
                        struct s3_policy **out, char *err, size_t err_len)
{
    struct s3_policy *p, *cached;
    int rv;

    pthread_mutex_lock(&c->mu);
    p = cache_find(c, bucket, doc);
    pthread_mutex_unlock(&c->mu);
    if (p != NULL) {
        *out = p;
        return GW_OK;
    }
    /* Parse outside the lock; two threads may both parse a new document,
     * which costs time but never correctness. */
    rv = s3_policy_parse(doc, bucket, &p, err, err_len);
    if (rv != 0) {
        return rv;
    }
    pthread_mutex_lock(&c->mu);
    cached = cache_find(c, bucket, doc);
    if (cached == NULL) {
        cache_insert(c, bucket, doc, p);
    }
    pthread_mutex_unlock(&c->mu);
    if (cached != NULL) {
        s3_policy_unref(p); /* another thread cached the same document first */
        p = cached;
    }
    *out = p;
    return GW_OK;
}
