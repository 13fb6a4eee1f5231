/* Micro-benchmark of the node/cache room (not part of `make bench`, no server involved):
 *
 *   build/tests/bench/cache_bench [seconds per figure, default 1]
 *
 * Figures: cache hits per second from 1, 2 and 4 threads (the one mutex is the limit we
 * want to see), fills of 4 KiB and 1 MiB bodies (GB/s, memcpy-bound), the hit ratio of a
 * hot set under a scan 4x the cache, redirect tokens made and verified per second,
 * rendezvous owner picks per second over 3 and 16 members, and the time and size of a
 * digest of 100k entries. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unigw/alloc.h"
#include "unigw/buf.h"
#include "unigw/err.h"

#include "cache.h"
#include "digest.h"
#include "hash.h"
#include "owner.h"
#include "token.h"

#define N_KEYS 10000

static double seconds_per_figure = 1.0;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct gw_str key_name(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "train/shard-%06u.bin", i);
    return gw_str_c(buf);
}

static struct node_cache_fp fp_of(unsigned i)
{
    return (struct node_cache_fp){1, i, 4096, 7, 8};
}

struct hit_thread {
    struct node_cache *c;
    unsigned seed;
    unsigned long n;
};

static void *hit_main(void *arg)
{
    struct hit_thread *t = arg;
    double end = now_s() + seconds_per_figure;
    char k[64];

    while (now_s() < end) {
        for (int j = 0; j < 1000; j++) {
            unsigned i = (unsigned)rand_r(&t->seed) % N_KEYS;
            struct node_cache_fp fp = fp_of(i);
            struct node_cache_entry *e;

            if (node_cache_lookup(t->c, GW_STR("data"), key_name(k, sizeof k, i), &fp, &e) ==
                GW_OK) {
                node_cache_entry_unref(e);
            }
            t->n++;
        }
    }
    return NULL;
}

static void bench_hits(void)
{
    struct node_cache_opts o = {.size = 256ULL << 20, .max_object_size = 1 << 20, .admit_after = 1};
    struct node_cache *c = node_cache_create(&o);
    static char body[4096];
    char k[64];

    for (unsigned i = 0; i < N_KEYS; i++) {
        struct node_cache_fp fp = fp_of(i);

        (void)node_cache_insert(c, GW_STR("data"), key_name(k, sizeof k, i), &fp, "meta", 4,
                                body, sizeof body);
    }
    for (int n_threads = 1; n_threads <= 4; n_threads *= 2) {
        struct hit_thread t[4];
        pthread_t tid[4];
        unsigned long total = 0;

        for (int i = 0; i < n_threads; i++) {
            t[i] = (struct hit_thread){c, (unsigned)i + 1, 0};
            pthread_create(&tid[i], NULL, hit_main, &t[i]);
        }
        for (int i = 0; i < n_threads; i++) {
            pthread_join(tid[i], NULL);
            total += t[i].n;
        }
        printf("cache hits, %d thread(s):        %8.2f M lookups/s\n", n_threads,
               (double)total / seconds_per_figure / 1e6);
    }
    node_cache_destroy(c);
}

static void bench_fill(size_t len)
{
    struct node_cache_opts o = {.size = 512ULL << 20, .max_object_size = 64 << 20, .admit_after = 1};
    struct node_cache *c = node_cache_create(&o);
    char *body = gw_malloc(len);
    double start = now_s();
    unsigned long n = 0;
    char k[64];

    memset(body, 'x', len);
    while (now_s() - start < seconds_per_figure) {
        struct node_cache_fp fp = fp_of((unsigned)n);

        (void)node_cache_insert(c, GW_STR("data"), key_name(k, sizeof k, (unsigned)n), &fp, NULL,
                                0, body, len);
        n++;
    }
    printf("fills of %7zu B (with eviction): %8.0f fills/s, %6.2f GB/s\n", len,
           (double)n / (now_s() - start), (double)n * (double)len / (now_s() - start) / 1e9);
    gw_free(body);
    node_cache_destroy(c);
}

/* A hot set of 200 x 64 KiB read round-robin between scan reads of 4x the cache. */
static void bench_scan(void)
{
    struct node_cache_opts o = {.size = 64ULL << 20, .max_object_size = 1 << 20, .admit_after = 2};
    struct node_cache *c = node_cache_create(&o);
    static char body[64 * 1024];
    unsigned n_scan = 4 * (64u << 20) / sizeof body;
    unsigned long hot_reads = 0;
    unsigned long hot_hits = 0;
    char k[64];

    for (unsigned i = 0; i < n_scan; i++) {
        for (int r = 0; r < 2; r++) {
            unsigned id = r == 0 ? 1000000 + i : i % 200;
            struct node_cache_fp fp = fp_of(id);
            struct node_cache_entry *e;
            struct gw_str name = key_name(k, sizeof k, id);

            if (node_cache_lookup(c, GW_STR("data"), name, &fp, &e) == GW_OK) {
                node_cache_entry_unref(e);
                hot_hits += r == 1 ? 1 : 0;
            } else if (node_cache_admits(c, GW_STR("data"), name, sizeof body)) {
                (void)node_cache_insert(c, GW_STR("data"), name, &fp, NULL, 0, body, sizeof body);
            }
            hot_reads += r == 1 ? 1 : 0;
        }
    }
    printf("hot set under a 4x scan:          %8.1f %% hot hits (%lu reads)\n",
           100.0 * (double)hot_hits / (double)hot_reads, hot_reads);
    node_cache_destroy(c);
}

static void bench_token(void)
{
    struct node_cache_token_key key;
    struct node_cache_token_req r = {GW_STR("GET"), GW_STR("data"), GW_STR("train/0001.tar"),
                                     GW_STR("bytes=0-1048575"), GW_STR("alice")};
    char tok[NODE_CACHE_TOKEN_CAP];
    double start = now_s();
    unsigned long n = 0;
    size_t len = 0;

    node_cache_token_key_derive(&key, "0123456789abcdef0123456789abcdef", 32);
    while (now_s() - start < seconds_per_figure) {
        (void)node_cache_token_make(&key, &r, 2000000000u, tok, sizeof tok, &len);
        if (node_cache_token_verify(&key, gw_str_make(tok, len), &r, 1, NULL) != GW_OK) {
            abort();
        }
        n++;
    }
    printf("token make + verify:              %8.0f pairs/s (token %zu chars)\n",
           (double)n / (now_s() - start), len);
}

static void bench_owner(size_t n_members)
{
    uint64_t ids[16];
    double start = now_s();
    unsigned long n = 0;
    uint64_t sink = 0;

    for (size_t i = 0; i < n_members; i++) {
        ids[i] = 1000 + i;
    }
    while (now_s() - start < seconds_per_figure) {
        for (int j = 0; j < 1000; j++) {
            sink ^= node_cache_owner_pick(node_cache_mix64(n++), ids, n_members);
        }
    }
    printf("owner pick over %2zu members:       %8.2f M picks/s%s\n", n_members,
           (double)n / (now_s() - start) / 1e6, sink == 1 ? " " : "");
}

static void bench_digest(void)
{
    size_t n = 100000;
    uint64_t *h = gw_malloc(n * sizeof *h);
    struct node_cache_digest d;
    struct gw_buf b = GW_BUF_INIT;
    double start;

    for (size_t i = 0; i < n; i++) {
        h[i] = node_cache_mix64(i);
    }
    start = now_s();
    node_cache_digest_build(&d, 1, 1, h, n);
    node_cache_digest_encode(&d, &b);
    printf("digest of %zu entries:         %8.2f ms, %zu bytes\n", n, (now_s() - start) * 1e3,
           b.len);
    gw_buf_free(&b);
    node_cache_digest_free(&d);
    gw_free(h);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        seconds_per_figure = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
    }
    bench_hits();
    bench_fill(4096);
    bench_fill(1 << 20);
    bench_scan();
    bench_token();
    bench_owner(3);
    bench_owner(16);
    bench_digest();
    return 0;
}
