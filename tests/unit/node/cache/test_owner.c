/* Tests of node/cache/owner: rendezvous hashing of names over members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "unigw/err.h"

#include "hash.h"
#include "owner.h"

#define N_KEYS 20000

static uint64_t key_at(unsigned i)
{
    char k[32];

    snprintf(k, sizeof k, "train/shard-%05u.tar", i);
    return node_cache_key_hash(GW_STR("data"), gw_str_c(k));
}

/* Adding a fourth member moves only keys to it, about a quarter of them;
 * every key that moved went to the newcomer. */
static void add_moves_only_to_newcomer(void **state)
{
    const uint64_t three[] = {11, 22, 33};
    const uint64_t four[] = {33, 44, 11, 22}; /* order does not matter */
    unsigned moved = 0;

    (void)state;
    for (unsigned i = 0; i < N_KEYS; i++) {
        uint64_t before = node_cache_owner_pick(key_at(i), three, 3);
        uint64_t after = node_cache_owner_pick(key_at(i), four, 4);

        if (before != after) {
            assert_true(after == 44);
            moved++;
        }
    }
    printf("add: %u of %u keys moved (ideal %u)\n", moved, N_KEYS, N_KEYS / 4);
    assert_in_range(moved, N_KEYS / 4 - N_KEYS / 40, N_KEYS / 4 + N_KEYS / 40);
}

/* Removing a member moves exactly its keys, spread over the others. */
static void remove_moves_only_leavers_keys(void **state)
{
    const uint64_t four[] = {0x1111, 0x2222, 0x3333, 0x4444};
    const uint64_t three[] = {0x1111, 0x3333, 0x4444};
    unsigned moved = 0;
    unsigned got[3] = {0, 0, 0};

    (void)state;
    for (unsigned i = 0; i < N_KEYS; i++) {
        uint64_t before = node_cache_owner_pick(key_at(i), four, 4);
        uint64_t after = node_cache_owner_pick(key_at(i), three, 3);

        assert_true((before == 0x2222) == (before != after));
        if (before == 0x2222) {
            moved++;
            got[after == 0x1111 ? 0 : after == 0x3333 ? 1 : 2]++;
        }
    }
    assert_in_range(moved, N_KEYS / 4 - N_KEYS / 40, N_KEYS / 4 + N_KEYS / 40);
    for (int j = 0; j < 3; j++) {
        assert_in_range(got[j], moved / 3 - moved / 10, moved / 3 + moved / 10);
    }
}

/* Each of n members owns about 1/n of the keys, even for consecutive ids. */
static void balanced(void **state)
{
    uint64_t ids[8];
    unsigned count[8] = {0};

    (void)state;
    for (unsigned j = 0; j < 8; j++) {
        ids[j] = j + 1;
    }
    for (unsigned i = 0; i < N_KEYS; i++) {
        uint64_t o = node_cache_owner_pick(key_at(i), ids, 8);

        count[o - 1]++;
    }
    for (unsigned j = 0; j < 8; j++) {
        assert_in_range(count[j], N_KEYS / 8 - N_KEYS / 80, N_KEYS / 8 + N_KEYS / 80);
    }
}

/* The shared holder: empty answers 0, bad sets are refused unchanged, the
 * epoch moves on each set, and owner_of agrees with pick. */
static void holder(void **state)
{
    struct node_cache_owner o;
    const uint64_t ids[] = {5, 9};
    const uint64_t dup[] = {5, 5};
    const uint64_t zero[] = {5, 0};
    uint64_t many[NODE_CACHE_MAX_MEMBERS + 1];
    uint64_t e0;

    (void)state;
    node_cache_owner_init(&o);
    assert_int_equal(node_cache_owner_of(&o, GW_STR("b"), GW_STR("k")), 0);
    e0 = node_cache_owner_epoch(&o);
    assert_int_equal(node_cache_owner_set(&o, ids, 2), GW_OK);
    assert_true(node_cache_owner_epoch(&o) != e0);
    assert_int_equal(node_cache_owner_of(&o, GW_STR("b"), GW_STR("k")),
                     node_cache_owner_pick(node_cache_key_hash(GW_STR("b"), GW_STR("k")), ids, 2));
    for (size_t i = 0; i < NODE_CACHE_MAX_MEMBERS + 1; i++) {
        many[i] = i + 1;
    }
    assert_int_equal(node_cache_owner_set(&o, dup, 2), GW_ERR_INVALID);
    assert_int_equal(node_cache_owner_set(&o, zero, 2), GW_ERR_INVALID);
    assert_int_equal(node_cache_owner_set(&o, many, NODE_CACHE_MAX_MEMBERS + 1), GW_ERR_INVALID);
    assert_int_equal(o.n_ids, 2);
    assert_int_equal(node_cache_owner_set(&o, many, 1), GW_OK);
    assert_int_equal(node_cache_owner_of(&o, GW_STR("b"), GW_STR("k")), 1);
    assert_int_equal(node_cache_owner_set(&o, NULL, 0), GW_OK);
    assert_int_equal(node_cache_owner_of(&o, GW_STR("b"), GW_STR("k")), 0);
    node_cache_owner_close(&o);
}

/* The weight is a fixed function (nodes of one cluster must agree). */
static void weight_is_stable(void **state)
{
    (void)state;
    assert_true(node_cache_owner_weight(0, 1) ==
                node_cache_mix64(node_cache_mix64(1 ^ 0x6a09e667f3bcc909ULL)));
    assert_true(node_cache_owner_weight(7, 1) != node_cache_owner_weight(7, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_moves_only_to_newcomer),
        cmocka_unit_test(remove_moves_only_leavers_keys),
        cmocka_unit_test(balanced),
        cmocka_unit_test(holder),
        cmocka_unit_test(weight_is_stable),
    };
    return cmocka_run_group_tests_name("node/cache/owner", tests, NULL, NULL);
}
