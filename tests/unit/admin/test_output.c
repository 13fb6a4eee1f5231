/* admin/output.c and the path builder of admin/cmd.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "admin.h"

/* If rows have cells of several widths, then every column is as wide as its widest cell
 * plus two blanks, the last column has no trailing blanks, and NULL prints "-". */
static void table_aligned(void **state)
{
    static const char *const head[] = {"NAME", "OWNER", "POLICY"};
    const char *r1[] = {"a-very-long-bucket", "root", "no"};
    const char *r2[] = {"b", NULL, "yes"};
    struct adm_table t;
    struct gw_buf out = GW_BUF_INIT;

    (void)state;
    adm_table_init(&t, 3, head);
    adm_table_row(&t, r1);
    adm_table_row(&t, r2);
    adm_table_print(&t, &out);
    gw_buf_append_byte(&out, '\0');
    assert_string_equal(out.data, "NAME                OWNER  POLICY\n"
                                  "a-very-long-bucket  root   no\n"
                                  "b                   -      yes\n");
    adm_table_free(&t);
    gw_buf_free(&out);
}

/* If a table has no rows, then only the header prints. */
static void table_empty(void **state)
{
    static const char *const head[] = {"ACCESS_KEY", "USER"};
    struct adm_table t;
    struct gw_buf out = GW_BUF_INIT;

    (void)state;
    adm_table_init(&t, 2, head);
    adm_table_print(&t, &out);
    gw_buf_append_byte(&out, '\0');
    assert_string_equal(out.data, "ACCESS_KEY  USER\n");
    adm_table_free(&t);
    gw_buf_free(&out);
}

/* If JSON values are shown in a table, then strings are bare, booleans yes/no, numbers
 * decimal and anything else "-". */
static void json_text(void **state)
{
    char b[32];
    json_t *s = json_string("x y");
    json_t *n = json_integer(-42);
    json_t *o = json_object();

    (void)state;
    assert_string_equal(adm_json_text(s, b, sizeof b), "x y");
    assert_string_equal(adm_json_text(json_true(), b, sizeof b), "yes");
    assert_string_equal(adm_json_text(json_false(), b, sizeof b), "no");
    assert_string_equal(adm_json_text(n, b, sizeof b), "-42");
    assert_string_equal(adm_json_text(json_null(), b, sizeof b), "-");
    assert_string_equal(adm_json_text(NULL, b, sizeof b), "-");
    assert_string_equal(adm_json_text(o, b, sizeof b), "-");
    json_decref(s);
    json_decref(n);
    json_decref(o);
}

/* If a name has characters outside SigV4's unreserved set, then the path encodes them
 * (a '/' too: a name is one segment). */
static void path_encoding(void **state)
{
    struct gw_buf p = GW_BUF_INIT;

    (void)state;
    adm_path(&p, "users", NULL, NULL);
    assert_string_equal(p.data, "/admin/v1/users");
    adm_path(&p, "users", "a.b-c_d~e", "keys");
    assert_string_equal(p.data, "/admin/v1/users/a.b-c_d~e/keys");
    adm_path(&p, "keys", "a b/+=", NULL);
    assert_string_equal(p.data, "/admin/v1/keys/a%20b%2F%2B%3D");
    assert_int_equal(p.len, strlen(p.data));
    gw_buf_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_aligned),
        cmocka_unit_test(table_empty),
        cmocka_unit_test(json_text),
        cmocka_unit_test(path_encoding),
    };
    return cmocka_run_group_tests_name("admin/output", tests, NULL, NULL);
}
