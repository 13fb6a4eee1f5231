/* Tests of node/cache/digest: Bloom digests, their wire form, the peer table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "digest.h"
#include "hash.h"

static uint64_t *hashes_of(size_t n, uint64_t base)
{
    uint64_t *h = gw_malloc((n + 1) * sizeof *h);

    for (size_t i = 0; i < n; i++) {
        h[i] = node_cache_mix64(base + i);
    }
    return h;
}

/* Every built-in hash answers yes; others rarely (about 1 %). */
static void no_false_negatives_few_false_positives(void **state)
{
    const size_t n = 20000;
    uint64_t *h = hashes_of(n, 1);
    struct node_cache_digest d;
    size_t fp = 0;

    (void)state;
    node_cache_digest_build(&d, 7, 42, h, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(node_cache_digest_may_hold(&d, h[i]));
    }
    for (size_t i = 0; i < 100000; i++) {
        fp += node_cache_digest_may_hold(&d, node_cache_mix64(1000000 + i)) ? 1 : 0;
    }
    assert_true(fp < 2000); /* < 2 % */
    assert_true((1u << d.log2_bits) >= 10 * n);
    node_cache_digest_free(&d);
    gw_free(h);
}

/* An empty cache's digest holds nothing and is small. */
static void empty(void **state)
{
    struct node_cache_digest d;
    struct gw_buf b = GW_BUF_INIT;

    (void)state;
    node_cache_digest_build(&d, 1, 0, NULL, 0);
    assert_false(node_cache_digest_may_hold(&d, 12345));
    node_cache_digest_encode(&d, &b);
    assert_int_equal(b.len, NODE_CACHE_DIGEST_HEADER_LEN + 64);
    gw_buf_free(&b);
    node_cache_digest_free(&d);
    node_cache_digest_free(&d); /* twice is safe */
}

/* Encode then decode gives the same digest. */
static void round_trip(void **state)
{
    uint64_t *h = hashes_of(500, 9);
    struct node_cache_digest d;
    struct node_cache_digest e;
    struct gw_buf b = GW_BUF_INIT;

    (void)state;
    node_cache_digest_build(&d, 0xabcdef, 77, h, 500);
    node_cache_digest_encode(&d, &b);
    assert_int_equal(b.len, NODE_CACHE_DIGEST_HEADER_LEN + (1u << d.log2_bits) / 8);
    assert_int_equal(node_cache_digest_decode(&e, b.data, b.len), GW_OK);
    assert_int_equal(e.node_id, 0xabcdef);
    assert_int_equal(e.version, 77);
    assert_int_equal(e.n_entries, 500);
    assert_int_equal(e.n_probes, d.n_probes);
    assert_int_equal(e.log2_bits, d.log2_bits);
    assert_memory_equal(e.bits, d.bits, (1u << d.log2_bits) / 8);
    for (size_t i = 0; i < 500; i++) {
        assert_true(node_cache_digest_may_hold(&e, h[i]));
    }
    node_cache_digest_free(&e);
    node_cache_digest_free(&d);
    gw_buf_free(&b);
    gw_free(h);
}

static int decode_patched(const struct gw_buf *b, size_t off, uint8_t v)
{
    struct node_cache_digest e;
    char copy[1024];
    int rv;

    assert_true(b->len <= sizeof copy);
    memcpy(copy, b->data, b->len);
    copy[off] = (char)v;
    rv = node_cache_digest_decode(&e, copy, b->len);
    node_cache_digest_free(&e);
    return rv;
}

/* Malformed input: every truncation, a trailing byte, bad version, probe
 * count or size; a later version is TOO_NEW.  Nothing leaks (ASan). */
static void malformed(void **state)
{
    uint64_t *h = hashes_of(10, 3);
    struct node_cache_digest d;
    struct node_cache_digest e;
    struct gw_buf b = GW_BUF_INIT;

    (void)state;
    node_cache_digest_build(&d, 1, 1, h, 10);
    node_cache_digest_encode(&d, &b);
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(node_cache_digest_decode(&e, b.data, n), GW_ERR_CORRUPT);
        assert_null(e.bits);
    }
    gw_buf_append_byte(&b, 0);
    assert_int_equal(node_cache_digest_decode(&e, b.data, b.len), GW_ERR_CORRUPT);
    b.len--;
    assert_int_equal(decode_patched(&b, 0, 0), GW_ERR_CORRUPT);   /* version 0 */
    assert_int_equal(decode_patched(&b, 0, 2), GW_ERR_TOO_NEW);   /* version 2 */
    assert_int_equal(decode_patched(&b, 1, 0xff), GW_ERR_TOO_NEW); /* version 0xff01 */
    assert_int_equal(decode_patched(&b, 2, 0), GW_ERR_CORRUPT);   /* no probes */
    assert_int_equal(decode_patched(&b, 2, 17), GW_ERR_CORRUPT);  /* too many */
    assert_int_equal(decode_patched(&b, 3, 8), GW_ERR_CORRUPT);   /* too small */
    assert_int_equal(decode_patched(&b, 3, 27), GW_ERR_CORRUPT);  /* too large */
    assert_int_equal(decode_patched(&b, 3, 10), GW_ERR_CORRUPT);  /* length mismatch */
    assert_int_equal(decode_patched(&b, 2, 16), GW_OK);
    node_cache_digest_free(&d);
    gw_buf_free(&b);
    gw_free(h);
}

/* The peer table: latest digest per peer, replaced, aged, forgotten, bounded. */
static void peer_table(void **state)
{
    struct node_cache_digests t;
    struct node_cache_digest d;
    uint64_t one = node_cache_key_hash(GW_STR("b"), GW_STR("one"));
    uint64_t two = node_cache_key_hash(GW_STR("b"), GW_STR("two"));

    (void)state;
    node_cache_digests_init(&t);
    assert_false(node_cache_digests_may_hold(&t, 5, one, 1000, 3000));
    node_cache_digest_build(&d, 5, 1, &one, 1);
    assert_int_equal(node_cache_digests_put(&t, &d, 1000), GW_OK);
    assert_null(d.bits); /* moved */
    assert_true(node_cache_digests_may_hold(&t, 5, one, 1500, 3000));
    assert_false(node_cache_digests_may_hold(&t, 5, two, 1500, 3000));
    assert_false(node_cache_digests_may_hold(&t, 6, one, 1500, 3000));
    assert_false(node_cache_digests_may_hold(&t, 5, one, 4001, 3000)); /* too old */
    node_cache_digest_build(&d, 5, 2, &two, 1);
    assert_int_equal(node_cache_digests_put(&t, &d, 5000), GW_OK);
    assert_true(node_cache_digests_may_hold(&t, 5, two, 5000, 3000));
    assert_int_equal(t.n_slots, 1);
    for (uint64_t id = 100; id < 100 + NODE_CACHE_DIGEST_MAX_PEERS - 1; id++) {
        node_cache_digest_build(&d, id, 1, NULL, 0);
        assert_int_equal(node_cache_digests_put(&t, &d, 5000), GW_OK);
    }
    node_cache_digest_build(&d, 9999, 1, NULL, 0);
    assert_int_equal(node_cache_digests_put(&t, &d, 5000), GW_ERR_AGAIN);
    node_cache_digest_free(&d);
    node_cache_digests_forget(&t, 5);
    assert_false(node_cache_digests_may_hold(&t, 5, two, 5000, 3000));
    node_cache_digest_build(&d, 5, 3, &one, 1);
    assert_int_equal(node_cache_digests_put(&t, &d, 6000), GW_OK);
    assert_true(node_cache_digests_may_hold(&t, 5, one, 6000, 3000));
    node_cache_digests_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_false_negatives_few_false_positives),
        cmocka_unit_test(empty),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(malformed),
        cmocka_unit_test(peer_table),
    };
    return cmocka_run_group_tests_name("node/cache/digest", tests, NULL, NULL);
}
