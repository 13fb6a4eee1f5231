/* Unit tests for meta/user.c: user commands and queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "env.h"
#include "meta_test.h"

static int user_cmd(struct mt *t, int type, const char *name, bool flag)
{
    struct meta_cmd_hdr h = mt_hdr(0, 77);
    struct gw_buf b = GW_BUF_INIT;
    int result;

    if (type == META_CMD_USER_SET_DISABLED) {
        assert_int_equal(meta_cmd_user_set_disabled(&b, &h, gw_str_c(name), flag), 0);
    } else {
        assert_int_equal(meta_cmd_user_delete(&b, &h, gw_str_c(name)), 0);
    }
    result = mt_apply(t, &b);
    gw_buf_free(&b);
    return result;
}

static void user_create_and_get(void **state)
{
    struct meta_user u;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", true), GW_OK);
    assert_int_equal(mt_user(&t, "alice", false), GW_ERR_EXISTS);
    assert_int_equal(mt_user(&t, "", false), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), 0);
    assert_string_equal(u.name, "alice");
    assert_int_equal(u.name_len, 5);
    assert_true(u.is_admin);
    assert_false(u.is_disabled);
    assert_int_equal(u.created_ms, 1000); /* the header's timestamp */
    assert_int_equal(meta_user_get(t.m, GW_STR("bob"), &u), GW_ERR_NOT_FOUND);
    assert_int_equal(meta_user_get(t.m, GW_STR(""), &u), GW_ERR_NOT_FOUND);
    mt_close(&t);
}

static void user_disable(void **state)
{
    struct meta_user u;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(user_cmd(&t, META_CMD_USER_SET_DISABLED, "alice", true), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), 0);
    assert_true(u.is_disabled);
    assert_int_equal(u.created_ms, 1000);
    assert_int_equal(user_cmd(&t, META_CMD_USER_SET_DISABLED, "alice", false), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), 0);
    assert_false(u.is_disabled);
    assert_int_equal(user_cmd(&t, META_CMD_USER_SET_DISABLED, "nobody", true), GW_ERR_NOT_FOUND);
    mt_close(&t);
}

/* Deleting a user deletes its keys, not other users' keys. */
static void user_delete_cascades_keys(void **state)
{
    struct meta_key_info ki;
    struct meta_user u;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(mt_user(&t, "bob", false), GW_OK);
    assert_int_equal(mt_key_create(&t, "AK1", "alice", "x"), 0);
    assert_int_equal(mt_key_create(&t, "AK2", "alice", "y"), 0);
    assert_int_equal(mt_key_create(&t, "AK3", "bob", "z"), 0);
    assert_int_equal(user_cmd(&t, META_CMD_USER_DELETE, "alice", false), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &u), GW_ERR_NOT_FOUND);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AK1"), &ki), GW_ERR_INVALID_ACCESS_KEY);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AK2"), &ki), GW_ERR_INVALID_ACCESS_KEY);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AK3"), &ki), GW_OK);
    assert_int_equal(user_cmd(&t, META_CMD_USER_DELETE, "alice", false), GW_ERR_NOT_FOUND);
    mt_close(&t);
}

/* A user who owns a bucket cannot be deleted until the bucket moves. */
static void user_delete_refused_with_buckets(void **state)
{
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(mt_bucket(&t, "b1", "alice"), GW_OK);
    assert_int_equal(user_cmd(&t, META_CMD_USER_DELETE, "alice", false), GW_ERR_INVALID_REQUEST);
    mt_close(&t);
}

static void user_list_paginates(void **state)
{
    const char *names[] = {"dave", "alice", "carol", "bob", "erin"};
    struct meta_user *arr = NULL;
    size_t n = 0;
    struct mt t;

    (void)state;
    mt_open(&t);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(mt_user(&t, names[i], false), GW_OK);
    }
    assert_int_equal(meta_user_list(t.m, GW_STR_NULL, 2, &arr, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(arr[0].name, "alice");
    assert_string_equal(arr[1].name, "bob");
    gw_free(arr);
    assert_int_equal(meta_user_list(t.m, GW_STR("bob"), 10, &arr, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(arr[0].name, "carol");
    assert_string_equal(arr[2].name, "erin");
    gw_free(arr);
    assert_int_equal(meta_user_list(t.m, GW_STR("bz"), 10, &arr, &n), 0);
    assert_int_equal(n, 3);
    gw_free(arr);
    assert_int_equal(meta_user_list(t.m, GW_STR("erin"), 10, &arr, &n), 0);
    assert_int_equal(n, 0);
    assert_null(arr);
    assert_int_equal(meta_user_list(t.m, GW_STR_NULL, 0, &arr, &n), 0);
    assert_int_equal(n, 0);
    mt_close(&t);
}

/* Ids come from a replicated counter: distinct, stable, and a user deleted
 * and made again under the same name gets a new one. */
static void user_ids_are_immutable_and_unique(void **state)
{
    struct meta_key_info ki;
    struct meta_user a, b, again, by_id;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(mt_user(&t, "bob", false), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &a), 0);
    assert_int_equal(meta_user_get(t.m, GW_STR("bob"), &b), 0);
    assert_string_equal(a.id, "AIDA0000000000000001");
    assert_string_equal(b.id, "AIDA0000000000000002");
    assert_int_equal(user_cmd(&t, META_CMD_USER_SET_DISABLED, "alice", true), GW_OK);
    mt_reopen(&t);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &again), 0);
    assert_string_equal(again.id, a.id);
    assert_int_equal(mt_key_create(&t, "AK1", "alice", "x"), 0);
    assert_int_equal(meta_key_lookup(t.m, GW_STR("AK1"), &ki), 0);
    assert_string_equal(ki.user_id, a.id);
    assert_int_equal(user_cmd(&t, META_CMD_USER_DELETE, "alice", false), GW_OK);
    assert_int_equal(meta_user_get_by_id(t.m, gw_str_c(a.id), &by_id), GW_ERR_NOT_FOUND);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("alice"), &again), 0);
    assert_string_equal(again.id, "AIDA0000000000000003");
    assert_int_equal(meta_user_get_by_id(t.m, gw_str_c(b.id), &by_id), 0);
    assert_string_equal(by_id.name, "bob");
    mt_close(&t);
}

/* A record written before ids existed (v1) gets a derived id that does not
 * change when it is rewritten, and differs for a same-named user made later. */
static void user_v1_record_gets_a_stable_id(void **state)
{
    static const uint8_t v1[] = {1, 0, 0, 0xe8, 0x03, 0, 0, 0, 0, 0, 0}; /* created 1000 */
    struct meta_user u, again;
    MDB_txn *txn = NULL;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(meta__txn_rw(t.m, &txn), 0);
    assert_int_equal(meta__put(t.m, txn, META_DB_USERS, GW_STR("old"),
                               gw_str_make((const char *)v1, sizeof v1)),
                     0);
    assert_int_equal(meta__txn_commit(txn), 0);
    assert_int_equal(meta_user_get(t.m, GW_STR("old"), &u), 0);
    assert_int_equal(u.seq, 0);
    assert_int_equal(u.created_ms, 1000);
    assert_memory_equal(u.id, "AIDL", 4);
    assert_int_equal(strlen(u.id), META_USER_ID_LEN);
    assert_int_equal(user_cmd(&t, META_CMD_USER_SET_DISABLED, "old", true), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("old"), &again), 0);
    assert_true(again.is_disabled);
    assert_string_equal(again.id, u.id);
    assert_int_equal(meta_user_get_by_id(t.m, gw_str_c(u.id), &again), 0);
    assert_string_equal(again.name, "old");
    assert_int_equal(user_cmd(&t, META_CMD_USER_DELETE, "old", false), GW_OK);
    assert_int_equal(mt_user(&t, "old", false), GW_OK);
    assert_int_equal(meta_user_get(t.m, GW_STR("old"), &again), 0);
    assert_string_equal(again.id, "AIDA0000000000000001");
    mt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(user_create_and_get),
        cmocka_unit_test(user_disable),
        cmocka_unit_test(user_delete_cascades_keys),
        cmocka_unit_test(user_delete_refused_with_buckets),
        cmocka_unit_test(user_list_paginates),
        cmocka_unit_test(user_ids_are_immutable_and_unique),
        cmocka_unit_test(user_v1_record_gets_a_stable_id),
    };
    return cmocka_run_group_tests_name("meta/user", tests, NULL, NULL);
}
