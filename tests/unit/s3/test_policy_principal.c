/* s3/policy_principal.c: users in a policy are stored by id and shown by
 * ARN, against a real store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meta_test.h"
#include "policy.h"
#include "unigw/buf.h"
#include "unigw/s3.h"

#define DOC(principal)                                                                      \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":" \
    principal "},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bkt/*\"}]}"

static void bind_ok(struct mt *t, const char *doc, const char *want)
{
    struct gw_buf out = GW_BUF_INIT;
    char err[128];

    assert_int_equal(s3_policy_bind_users(t->m, gw_str_c(doc), &out, err, sizeof err), GW_OK);
    gw_buf_append(&out, "", 1);
    assert_string_equal(out.data, want);
    gw_buf_free(&out);
}

static void show(struct mt *t, const char *doc, const char *want)
{
    struct gw_buf out = GW_BUF_INIT;

    assert_int_equal(s3_policy_show_users(t->m, gw_str_c(doc), &out), GW_OK);
    gw_buf_append(&out, "", 1);
    assert_string_equal(out.data, want);
    gw_buf_free(&out);
}

static void users_bound_to_ids_and_shown_by_arn(void **state)
{
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    assert_int_equal(mt_user(&t, "bob", false), GW_OK);
    bind_ok(&t, DOC("[\"arn:aws:iam::123:user/dev/alice\", \"bob\", \"*\"]"),
         DOC("[\"AIDA0000000000000001\",\"AIDA0000000000000002\",\"*\"]"));
    bind_ok(&t, DOC("\"alice\""), DOC("\"AIDA0000000000000001\""));
    show(&t, DOC("[\"AIDA0000000000000001\",\"AIDA0000000000000002\",\"*\"]"),
         DOC("[\"arn:aws:iam:::user/alice\",\"arn:aws:iam:::user/bob\",\"*\"]"));
    mt_close(&t);
}

/* Without users the document is kept byte for byte (spacing included). */
static void document_without_users_unchanged(void **state)
{
    static const char doc[] = "{ \"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\"} }";
    struct mt t;

    (void)state;
    mt_open(&t);
    bind_ok(&t, doc, doc);
    show(&t, doc, doc);
    bind_ok(&t, DOC("\"arn:aws:iam::1:root\""), DOC("\"arn:aws:iam::1:root\""));
    mt_close(&t);
}

static void unknown_user_refused(void **state)
{
    struct gw_buf out = GW_BUF_INIT;
    char err[128];
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(s3_policy_bind_users(t.m, GW_STR(DOC("\"ghost\"")), &out, err, sizeof err),
                     GW_ERR_MALFORMED_POLICY);
    assert_non_null(strstr(err, "ghost"));
    assert_int_equal(s3_policy_bind_users(t.m, GW_STR("{not json"), &out, err, sizeof err),
                     GW_ERR_MALFORMED_POLICY);
    gw_buf_free(&out);
    mt_close(&t);
}

/* A deleted user's id stays in the document and is shown as the id; a new
 * user of the same name is not that principal. */
static void deleted_user_shown_as_id(void **state)
{
    struct meta_cmd_hdr h = mt_hdr(0, 5);
    struct gw_buf cmd = GW_BUF_INIT;
    struct mt t;

    (void)state;
    mt_open(&t);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    bind_ok(&t, DOC("\"alice\""), DOC("\"AIDA0000000000000001\""));
    assert_int_equal(meta_cmd_user_delete(&cmd, &h, GW_STR("alice")), 0);
    assert_int_equal(mt_apply(&t, &cmd), GW_OK);
    assert_int_equal(mt_user(&t, "alice", false), GW_OK);
    show(&t, DOC("\"AIDA0000000000000001\""), DOC("\"AIDA0000000000000001\""));
    show(&t, DOC("\"AIDA0000000000000002\""), DOC("\"arn:aws:iam:::user/alice\""));
    gw_buf_free(&cmd);
    mt_close(&t);
}

static void user_id_form(void **state)
{
    (void)state;
    assert_true(s3_policy_is_user_id(GW_STR("AIDA0123456789ABCDEF")));
    assert_true(s3_policy_is_user_id(GW_STR("AIDL0123456789ABCDEF")));
    assert_false(s3_policy_is_user_id(GW_STR("AIDA0123456789abcdef")));
    assert_false(s3_policy_is_user_id(GW_STR("AIDA0123456789ABCDE")));
    assert_false(s3_policy_is_user_id(GW_STR("AKIA0123456789ABCDEF")));
    assert_false(s3_policy_is_user_id(GW_STR("alice")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(users_bound_to_ids_and_shown_by_arn),
        cmocka_unit_test(document_without_users_unchanged),
        cmocka_unit_test(unknown_user_refused),
        cmocka_unit_test(deleted_user_shown_as_id),
        cmocka_unit_test(user_id_form),
    };
    return cmocka_run_group_tests_name("s3/policy_principal", tests, NULL, NULL);
}
