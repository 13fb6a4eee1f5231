/* admin/args.c: the command line, the environment and the config file, and their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "unigw/err.h"

#define ARGV(...) ((char *[]){"unigw-admin", __VA_ARGS__, NULL})

/* @argc counts the program name, as main() gets it. */
static int parse_v(char **argv, int argc, struct adm_opts *o, char *err)
{
    return adm_opts_parse(argc, argv, o, err, 256);
}

/* If options come before, between and after the positionals, in both spellings, then all
 * are taken. */
static void options_anywhere(void **state)
{
    char *v[] = {"unigw-admin", "--json",    "bucket",      "create",
                 "b1",          "--owner",   "alice",       "--endpoint=http://h:1",
                 "--access-key", "AK",       "--secret-key", "SK", NULL};
    struct adm_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse_v(v, 12, &o, err), GW_OK);
    assert_true(o.is_json);
    assert_string_equal(o.group, "bucket");
    assert_string_equal(o.command, "create");
    assert_int_equal(o.n_args, 1);
    assert_string_equal(o.args[0], "b1");
    assert_string_equal(o.owner, "alice");
    assert_string_equal(o.endpoint, "http://h:1");
    assert_string_equal(o.access_key, "AK");
    assert_string_equal(o.secret_key, "SK");
}

/* If "--" ends the options, then a name starting with "-" is an argument. */
static void double_dash(void **state)
{
    char **v = ARGV("user", "--admin", "create", "--", "--odd");
    struct adm_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse_v(v, 6, &o, err), GW_OK);
    assert_true(o.is_admin);
    assert_int_equal(o.n_args, 1);
    assert_string_equal(o.args[0], "--odd");
}

/* cluster add-node takes --standby anywhere; --standby=x is not a value option. */
static void standby_flag(void **state)
{
    char **v = ARGV("cluster", "add-node", "--standby", "4", "10.0.0.4:9100");
    char **bad = ARGV("cluster", "add-node", "--standby=yes", "4", "10.0.0.4:9100");
    struct adm_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse_v(v, 6, &o, err), GW_OK);
    assert_true(o.is_standby);
    assert_string_equal(o.group, "cluster");
    assert_int_equal(o.n_args, 2);
    assert_string_equal(o.args[1], "10.0.0.4:9100");
    assert_int_equal(parse_v(bad, 6, &o, err), GW_ERR_INVALID_ARGUMENT);
}

/* If the command line is wrong, then parsing fails with a sentence. */
static void usage_errors(void **state)
{
    struct adm_opts o;
    char err[256];
    char **unknown = ARGV("--frobnicate", "user", "list");
    char **no_value = ARGV("user", "list", "--endpoint");
    char **short_opt = ARGV("-x", "user", "list");
    char **no_cmd = ARGV("user");
    char **many = ARGV("a", "b", "1", "2", "3", "4", "5");
    char **flag_value = ARGV("--json=1", "user", "list");

    (void)state;
    assert_int_equal(parse_v(unknown, 4, &o, err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "--frobnicate"));
    assert_int_equal(parse_v(no_value, 4, &o, err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse_v(short_opt, 4, &o, err), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(parse_v(no_cmd, 2, &o, err), GW_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "missing command");
    assert_int_equal(parse_v(many, 8, &o, err), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(parse_v(flag_value, 4, &o, err), GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(adm_opts_parse(1, (char *[]){"unigw-admin", NULL}, &o, err, 256),
                     GW_ERR_INVALID_ARGUMENT);
    assert_int_equal(parse_v(ARGV("--help"), 2, &o, err), GW_OK);
    assert_true(o.is_help);
}

static char *write_conf(const char *text)
{
    static char path[] = "/tmp/unigw-admin-test-XXXXXX";
    int fd;

    strcpy(path, "/tmp/unigw-admin-test-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* If a value is given as a flag, in the environment and in the file, then the flag wins,
 * then the environment, then the file. */
static void precedence(void **state)
{
    char *conf = write_conf("[default]\nendpoint = http://file:1\naccess_key = FILEAK\n"
                            "secret_key = FILESK\nregion = eu-west-1\n");
    char *argv[] = {"unigw-admin", "--access-key", "FLAGAK", "--config", conf,
                    "user",        "list",         NULL};
    char *envp[] = {"UNIGW_ACCESS_KEY=ENVAK", "UNIGW_SECRET_KEY=ENVSK", "HOME=/nonexistent",
                    NULL};
    struct adm_opts o;
    char err[256];

    (void)state;
    assert_int_equal(adm_opts_parse(7, argv, &o, err, sizeof err), GW_OK);
    assert_int_equal(adm_opts_resolve(&o, envp, err, sizeof err), GW_OK);
    assert_string_equal(o.access_key, "FLAGAK");
    assert_string_equal(o.secret_key, "ENVSK");
    assert_string_equal(o.endpoint, "http://file:1");
    assert_string_equal(o.region, "eu-west-1");
    adm_opts_free(&o);
    unlink(conf);
}

/* If the config file has an unknown key or section, or is missing, or nothing gives the
 * credentials, then resolving fails and says why. */
static void config_errors(void **state)
{
    char *envp[] = {"HOME=/nonexistent", NULL};
    struct adm_opts o;
    char err[256];
    char *conf;

    (void)state;
    conf = write_conf("endpoint = http://h:1\nsecret = x\n");
    assert_int_equal(adm_opts_parse(5, ARGV("--config", conf, "user", "list"), &o, err, 256),
                     GW_OK);
    assert_int_equal(adm_opts_resolve(&o, envp, err, sizeof err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "unknown key 'secret'"));
    adm_opts_free(&o);
    unlink(conf);

    conf = write_conf("[other]\nendpoint = http://h:1\n");
    assert_int_equal(adm_opts_parse(5, ARGV("--config", conf, "user", "list"), &o, err, 256),
                     GW_OK);
    assert_int_equal(adm_opts_resolve(&o, envp, err, sizeof err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "unknown section"));
    adm_opts_free(&o);
    unlink(conf);

    assert_int_equal(adm_opts_parse(5, ARGV("--config", "/nonexistent/x", "user", "list"), &o,
                                    err, 256),
                     GW_OK);
    assert_int_equal(adm_opts_resolve(&o, envp, err, sizeof err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "cannot read"));

    assert_int_equal(adm_opts_parse(3, ARGV("user", "list"), &o, err, 256), GW_OK);
    assert_int_equal(adm_opts_resolve(&o, envp, err, sizeof err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "no endpoint"));
    assert_int_equal(adm_opts_parse(5, ARGV("--endpoint", "http://h:1", "user", "list"), &o,
                                    err, 256),
                     GW_OK);
    assert_int_equal(adm_opts_resolve(&o, envp, err, sizeof err), GW_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "no credentials"));
    assert_string_equal(o.region, "us-east-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_anywhere), cmocka_unit_test(double_dash),
        cmocka_unit_test(usage_errors),     cmocka_unit_test(precedence),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(standby_flag),
    };
    return cmocka_run_group_tests_name("admin/args", tests, NULL, NULL);
}
