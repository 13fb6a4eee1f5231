/* Unit tests for node/config.c and node/config_cli.c: defaults, the INI syntax, every value
 * type good and bad (with the line in the message), unknown keys and sections, ranges, flags
 * over the file, the root key from the environment, the committed example file and the
 * --print-config round trip.
 *
 * UNIGW_REGEN_EXAMPLE=1 makes example_file_matches_table rewrite
 * deploy/conf/unigw.conf.example instead of comparing it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka 1.1 needs the four headers above first. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unigw/buf.h"
#include "unigw/err.h"

#include "config.h"

static int parse(struct node_config *cfg, const char *text, char *err, size_t err_len)
{
    return node_config_parse_text(cfg, "t.conf", text, strlen(text), err, err_len);
}

/* Parse @text into a fresh config and expect an error containing @want. */
static void expect_error(const char *text, const char *want)
{
    struct node_config cfg;
    char err[256] = "";

    node_config_init(&cfg);
    assert_int_equal(parse(&cfg, text, err, sizeof err), GW_ERR_CONFIG);
    if (strstr(err, want) == NULL) {
        fail_msg("input:\n%s\nerror:  %s\nwanted: %s", text, err, want);
    }
    node_config_free(&cfg);
}

/* Write @text to a new temp file; the caller unlinks @path. */
static void temp_file_write(char *path, const char *text)
{
    int fd;

    strcpy(path, "/tmp/unigw-test-conf-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void defaults_are_sane(void **state)
{
    struct node_config cfg;

    (void)state;
    node_config_init(&cfg);
    assert_string_equal(cfg.server.listen, "127.0.0.1:9000");
    assert_string_equal(cfg.server.vhost_domain, "");
    assert_string_equal(cfg.server.region, "us-east-1");
    assert_string_equal(cfg.node.data_dir, "/var/lib/unigw");
    assert_string_equal(cfg.node.id, "");
    assert_int_equal(cfg.node.log_level, GW_LOG_INFO);
    assert_int_equal(cfg.server.max_object_size, 5 * NODE_CONFIG_GIB);
    assert_int_equal(cfg.server.max_header_bytes, 64 * 1024);
    assert_int_equal(cfg.server.idle_timeout, 60000);
    assert_int_equal(cfg.server.io_chunk_size, NODE_CONFIG_MIB);
    assert_true(cfg.storage.fsync);
    assert_string_equal(cfg.storage.xattrs, "auto");
    assert_int_equal(cfg.s3.clock_skew, 15 * 60 * 1000);
    assert_int_equal(cfg.s3.presign_max_expiry, 7 * 24 * 3600 * 1000ULL);
    assert_string_equal(cfg.cluster.cluster_key, "");
    assert_null(cfg.root_access_key);
    assert_null(cfg.config_path);
    assert_int_equal(cfg.action, NODE_CONFIG_RUN);
    node_config_free(&cfg);
    node_config_free(&cfg); /* zeroed: a second free is harmless */
}

/* [cache]: defaults, "auto" resolved against the RAM (a quarter, at most 4 GiB), explicit
 * sizes with suffixes, 0 switching the cache (and so the mode) off. */
static void cache_section(void **state)
{
    struct node_config cfg;
    char err[256] = "";

    (void)state;
    node_config_init(&cfg);
    assert_true(cfg.cache.size == NODE_CONFIG_AUTO);
    assert_int_equal(cfg.cache.max_object_size, 64 * NODE_CONFIG_MIB);
    assert_int_equal(cfg.cache.admit_after, 2);
    assert_string_equal(cfg.cache.mode, "proxy");
    assert_int_equal(cfg.cache.token_ttl, 30 * NODE_CONFIG_SEC);
    assert_int_equal(node_config_cache_size(&cfg, 8 * NODE_CONFIG_GIB), 2 * NODE_CONFIG_GIB);
    assert_int_equal(node_config_cache_size(&cfg, 64 * NODE_CONFIG_GIB), 4 * NODE_CONFIG_GIB);
    assert_true(node_config_cache_size(&cfg, 0) > 0); /* this machine's RAM */
    assert_true(node_config_cache_size(&cfg, 0) <= 4 * NODE_CONFIG_GIB);
    assert_int_equal(node_config_cache_mode(&cfg), NODE_CONFIG_CACHE_PROXY);
    assert_int_equal(parse(&cfg,
                           "[cache]\nsize = 512MiB\nmax_object_size = 1MiB\nadmit_after = 1\n"
                           "mode = redirect\ntoken_ttl = 5s\n",
                           err, sizeof err),
                     GW_OK);
    assert_int_equal(node_config_cache_size(&cfg, 8 * NODE_CONFIG_GIB), 512 * NODE_CONFIG_MIB);
    assert_int_equal(cfg.cache.max_object_size, NODE_CONFIG_MIB);
    assert_int_equal(cfg.cache.admit_after, 1);
    assert_int_equal(cfg.cache.token_ttl, 5000);
    assert_int_equal(node_config_cache_mode(&cfg), NODE_CONFIG_CACHE_REDIRECT);
    assert_int_equal(node_config_set(&cfg, "cache", "size", "auto", err, sizeof err), GW_OK);
    assert_true(cfg.cache.size == NODE_CONFIG_AUTO);
    assert_int_equal(node_config_set(&cfg, "cache", "mode", "off", err, sizeof err), GW_OK);
    assert_int_equal(node_config_cache_mode(&cfg), NODE_CONFIG_CACHE_OFF);
    assert_int_equal(node_config_set(&cfg, "cache", "mode", "proxy", err, sizeof err), GW_OK);
    assert_int_equal(node_config_set(&cfg, "cache", "size", "0", err, sizeof err), GW_OK);
    assert_int_equal(node_config_cache_size(&cfg, 8 * NODE_CONFIG_GIB), 0);
    assert_int_equal(node_config_cache_mode(&cfg), NODE_CONFIG_CACHE_OFF);
    node_config_free(&cfg);
    expect_error("[cache]\nsize = automatic\n",
                 "t.conf:2: bad value 'automatic' for 'size' in [cache]: expected auto or a size");
    expect_error("[cache]\nsize = 17TiB\n", "is out of range 0..16TiB");
    expect_error("[cache]\nmode = push\n",
                 "t.conf:2: bad value 'push' for 'mode' in [cache]: expected proxy, redirect or off");
    expect_error("[cache]\nadmit_after = 0\n", "is out of range 1..255");
    expect_error("[cache]\ntoken_ttl = 500ms\n", "is out of range 1s..1h");
    expect_error("[cache]\nmax_object_size = 0\n", "is out of range 1..1TiB");
}

static void file_with_comments_and_sections(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    const char *text = "# leading comment\n"
                       "; another\n"
                       "\n"
                       "[node]\n"
                       "id = node-1\n"
                       "  log_level = debug\n" /* indented: a key, not a continuation */
                       "[server]\r\n"
                       "listen = [::1]:9443\r\n"
                       "vhost_domain = s3.example.com ; inline comment\n"
                       "max_connections=10\n"
                       "\t# indented comment\n"
                       "[admin]\n"
                       "[storage]\n"
                       "fsync = off\n"
                       "mount = /mnt/shared data\n";

    (void)state;
    node_config_init(&cfg);
    assert_int_equal(parse(&cfg, text, err, sizeof err), GW_OK);
    assert_string_equal(cfg.node.id, "node-1");
    assert_int_equal(cfg.node.log_level, GW_LOG_DEBUG);
    assert_string_equal(cfg.server.listen, "[::1]:9443");
    assert_string_equal(cfg.server.vhost_domain, "s3.example.com");
    assert_int_equal(cfg.server.max_connections, 10);
    assert_false(cfg.storage.fsync);
    assert_string_equal(cfg.storage.mount, "/mnt/shared data");
    assert_string_equal(cfg.server.region, "us-east-1"); /* untouched keys keep defaults */
    node_config_free(&cfg);
}

static void good_values_of_every_type(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    const char *text =
        "[server]\n"
        "max_header_bytes = 8KiB\n"
        "io_chunk_size = 65536\n"
        "max_object_size = 5TiB\n"
        "idle_timeout = 500ms\n"
        "header_timeout = 2m\n"
        "body_timeout = 1500\n"
        "write_timeout = 1h\n"
        "max_headers = 8\n"
        "[s3]\n"
        "clock_skew = 30s\n"
        "presign_max_expiry = 1d\n"
        "background_md5 = No\n"
        "[storage]\n"
        "reflink = 0\n"
        "copy_file_range = yes\n"
        "xattrs = off\n"
        "[node]\n"
        "log_level = error\n"
        "[cluster]\n"
        "cluster_key = 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n";

    (void)state;
    node_config_init(&cfg);
    assert_int_equal(parse(&cfg, text, err, sizeof err), GW_OK);
    assert_int_equal(cfg.server.max_header_bytes, 8192);
    assert_int_equal(cfg.server.io_chunk_size, 65536);
    assert_int_equal(cfg.server.max_object_size, 5 * NODE_CONFIG_TIB);
    assert_int_equal(cfg.server.idle_timeout, 500);
    assert_int_equal(cfg.server.header_timeout, 120000);
    assert_int_equal(cfg.server.body_timeout, 1500);
    assert_int_equal(cfg.server.write_timeout, 3600000);
    assert_int_equal(cfg.server.max_headers, 8);
    assert_int_equal(cfg.s3.clock_skew, 30000);
    assert_int_equal(cfg.s3.presign_max_expiry, 86400000);
    assert_false(cfg.s3.background_md5);
    assert_false(cfg.storage.reflink);
    assert_true(cfg.storage.copy_file_range);
    assert_string_equal(cfg.storage.xattrs, "off");
    assert_int_equal(cfg.node.log_level, GW_LOG_ERROR);
    assert_int_equal(strlen(cfg.cluster.cluster_key), 64);
    node_config_free(&cfg);
}

/* Each bad value is reported with its file, line, key and section. */
static void bad_values_name_line_and_key(void **state)
{
    static const char *const cases[][2] = {
        {"[server]\n\nidle_timeout = 5x\n",
         "t.conf:3: bad value '5x' for 'idle_timeout' in [server]: expected a duration"},
        {"[server]\nidle_timeout = 10 s\n", "t.conf:2: bad value '10 s' for 'idle_timeout'"},
        {"[server]\nidle_timeout = 1w\n", "t.conf:2: bad value '1w'"},
        {"[server]\nidle_timeout = -5\n", "t.conf:2: bad value '-5'"},
        {"[server]\nidle_timeout =\n", "t.conf:2: bad value '' for 'idle_timeout'"},
        {"[server]\nmax_object_size = 5GB\n",
         "t.conf:2: bad value '5GB' for 'max_object_size' in [server]: expected a size"},
        {"[server]\nmax_object_size = 1.5GiB\n", "t.conf:2: bad value '1.5GiB'"},
        {"[server]\nmax_object_size = 99999999999TiB\n", "t.conf:2: bad value"},
        {"[server]\nmax_object_size = 99999999999999999999999\n", "t.conf:2: bad value"},
        {"[server]\nmax_headers = 12a\n",
         "t.conf:2: bad value '12a' for 'max_headers' in [server]: expected a decimal number"},
        {"[server]\nmax_headers = +12\n", "t.conf:2: bad value '+12'"},
        {"[storage]\nfsync = maybe\n",
         "t.conf:2: bad value 'maybe' for 'fsync' in [storage]: expected true or false"},
        {"[node]\nlog_level = verbose\n",
         "t.conf:2: bad value 'verbose' for 'log_level' in [node]: expected debug, info"},
        {"[server]\nlisten = localhost:9000\n",
         "t.conf:2: bad value 'localhost:9000' for 'listen' in [server]: expected a.b.c.d:port"},
        {"[server]\nlisten = 1.2.3.4\n", "t.conf:2: bad value '1.2.3.4' for 'listen'"},
        {"[server]\nlisten = 1.2.3.4:0\n", "t.conf:2: bad value '1.2.3.4:0'"},
        {"[server]\nlisten = 1.2.3.4:65536\n", "t.conf:2: bad value '1.2.3.4:65536'"},
        {"[server]\nlisten = 1.2.3:80\n", "t.conf:2: bad value '1.2.3:80'"},
        {"[server]\nlisten = ::1:80\n", "t.conf:2: bad value '::1:80'"},
        {"[server]\nlisten = [::1]\n", "t.conf:2: bad value '[::1]'"},
        {"[server]\nlisten = [::zz]:80\n", "t.conf:2: bad value '[::zz]:80'"},
        {"[server]\nvhost_domain = .example.com\n", "t.conf:2: bad value '.example.com'"},
        {"[server]\nregion = US_EAST\n", "t.conf:2: bad value 'US_EAST' for 'region'"},
        {"[node]\nid = a/b\n", "t.conf:2: bad value 'a/b' for 'id' in [node]"},
        {"[node]\ndata_dir = var/lib\n",
         "t.conf:2: bad value 'var/lib' for 'data_dir' in [node]: expected an absolute path"},
        {"[server]\ntls_cert = certs/server.pem\n",
         "t.conf:2: bad value 'certs/server.pem' for 'tls_cert' in [server]: expected an absolute"},
        {"[server]\ntls_key = server.key\n", "t.conf:2: bad value 'server.key' for 'tls_key'"},
        {"[storage]\nxattrs = sometimes\n",
         "t.conf:2: bad value 'sometimes' for 'xattrs' in [storage]: expected auto, on or off"},
        {"[cluster]\ncluster_key = abc\n",
         "t.conf:2: bad value '<hidden>' for 'cluster_key' in [cluster]: expected 64 hex"},
        {"[storage]\nmount = /a\x01z\n", "t.conf:2: bad value '/a?z' for 'mount'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(cases[i][0], cases[i][1]);
    }
}

static void range_errors(void **state)
{
    (void)state;
    expect_error("[server]\nidle_timeout = 2h\n",
                 "t.conf:2: value '2h' for 'idle_timeout' in [server] is out of range 100ms..1h");
    expect_error("[server]\nidle_timeout = 99\n", "is out of range 100ms..1h");
    expect_error("[server]\nmax_headers = 7\n",
                 "t.conf:2: value '7' for 'max_headers' in [server] is out of range 8..1000");
    expect_error("[server]\nio_chunk_size = 1KiB\n", "is out of range 4KiB..64MiB");
    expect_error("[server]\nmax_object_size = 6TiB\n", "is out of range 1..5TiB");
    expect_error("[server]\nmax_object_size = 0\n", "is out of range 1..5TiB");
    expect_error("[s3]\npresign_max_expiry = 8d\n", "is out of range 1s..7d");
    expect_error("[server]\nregion =\n", "'region' in [server] is out of range 1..32 bytes");
    expect_error("[node]\nid = 0123456789012345678901234567890123456789012345678901234567890123x\n",
                 "'id' in [node] is out of range 0..64 bytes");
}

static void unknown_keys_and_sections(void **state)
{
    (void)state;
    expect_error("[server]\nlisten = 127.0.0.1:1\n\n# x\nlistn = 1\n",
                 "t.conf:5: unknown key 'listn' in [server]");
    expect_error("[node]\n[srver]\nlisten = 1\n", "t.conf:2: unknown section [srver]");
    expect_error("[node]\nid = a\n[bogus]\n", "t.conf:3: unknown section [bogus]");
    expect_error("listen = 127.0.0.1:1\n", "t.conf:1: key 'listen' outside any section");
    expect_error("[server]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n",
                 "t.conf:3: duplicate key 'listen' in [server]");
    /* The same key in a repeated section is still a duplicate. */
    expect_error("[s3]\nclock_skew = 1m\n[node]\n[s3]\nclock_skew = 2m\n",
                 "t.conf:5: duplicate key 'clock_skew' in [s3]");
    expect_error("[admin]\nport = 1\n", "t.conf:2: unknown key 'port' in [admin]");
    expect_error("\xEF\xBB\xBF[bogus]\n", "t.conf:1: unknown section [bogus]");
}

/* A UTF-8 byte order mark on the first line is skipped. */
static void byte_order_mark(void **state)
{
    struct node_config cfg;
    char err[256] = "";

    (void)state;
    node_config_init(&cfg);
    assert_int_equal(parse(&cfg, "\xEF\xBB\xBF[server]\nregion = ap-south-1\n", err, sizeof err),
                     GW_OK);
    assert_string_equal(cfg.server.region, "ap-south-1");
    node_config_free(&cfg);
}

static void syntax_errors_and_first_error_wins(void **state)
{
    char line[400];

    (void)state;
    expect_error("[server]\nlisten\n", "t.conf:2: syntax error");
    expect_error("[server\nlisten = 1.2.3.4:5\n", "t.conf:1: syntax error");
    /* A syntax error before a bad value, and a bad value before a syntax error. */
    expect_error("[server]\noops\nmax_headers = 1\n", "t.conf:2: syntax error");
    expect_error("[server]\nmax_headers = 1\noops\n", "t.conf:2: value '1' for 'max_headers'");
    expect_error("[server]\nmax_headers = 1\nlistn = 2\n", "t.conf:2:");
    expect_error("[server]\nmax_headers = 10\nlistn = 2\nfoo\n", "t.conf:3: unknown key");
    /* NUL bytes and lines inih cannot hold are errors, not silently split lines. */
    memset(line, 'a', sizeof line);
    memcpy(line, "[server]\nregion = ", 18);
    line[sizeof line - 1] = '\0';
    expect_error(line, "t.conf:2: line longer than 198 bytes");
}

static void parse_nul_in_counted_text(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    static const char text[] = "[server]\nregion = us\0east\n";

    (void)state;
    node_config_init(&cfg);
    assert_int_equal(node_config_parse_text(&cfg, "t.conf", text, sizeof text - 1, err, sizeof err),
                     GW_ERR_CONFIG);
    assert_string_equal(err, "t.conf:2: NUL byte in line");
    node_config_free(&cfg);
}

static void set_reports_without_location(void **state)
{
    struct node_config cfg;
    char err[256] = "";

    (void)state;
    node_config_init(&cfg);
    assert_int_equal(node_config_set(&cfg, "server", "max_headers", "50", err, sizeof err), GW_OK);
    assert_int_equal(cfg.server.max_headers, 50);
    assert_int_equal(node_config_set(&cfg, "nope", "x", "1", err, sizeof err), GW_ERR_CONFIG);
    assert_string_equal(err, "unknown section [nope]");
    /* A rejected value leaves the old one in place. */
    assert_int_equal(node_config_set(&cfg, "server", "listen", "x", err, sizeof err),
                     GW_ERR_CONFIG);
    assert_string_equal(cfg.server.listen, "127.0.0.1:9000");
    /* Values that could not be written back to a file are refused. */
    assert_int_equal(node_config_set(&cfg, "storage", "mount", "/a ;b", err, sizeof err),
                     GW_ERR_CONFIG);
    assert_int_equal(node_config_set(&cfg, "storage", "mount", "/a ", err, sizeof err),
                     GW_ERR_CONFIG);
    node_config_free(&cfg);
}

static int load(struct node_config *cfg, char **argv, char **envp, char *err, size_t err_len)
{
    int argc = 0;

    while (argv[argc] != NULL) {
        argc++;
    }
    return node_config_load(cfg, argc, argv, envp, err, err_len);
}

static void flags_override_file(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    char path[64];

    (void)state;
    temp_file_write(path, "[server]\nlisten = 10.0.0.1:80\nregion = eu-west-1\n"
                          "[node]\ndata_dir = /file/data\nlog_level = warn\n");
    {
        char *argv[] = {"unigw",
                        "--listen",
                        "0.0.0.0:8080",
                        "--config",
                        path,
                        "--mount",
                        "/mnt/x",
                        "--data",
                        "/flag/data",
                        "--node-id",
                        "n7",
                        "--vhost-domain",
                        "s3.local",
                        "--log-level",
                        "debug",
                        "--set",
                        "s3.clock_skew=5m",
                        NULL};
        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_OK);
    }
    assert_int_equal(cfg.action, NODE_CONFIG_RUN);
    assert_string_equal(cfg.config_path, path);
    assert_string_equal(cfg.server.listen, "0.0.0.0:8080");
    assert_string_equal(cfg.server.region, "eu-west-1"); /* from the file */
    assert_string_equal(cfg.node.data_dir, "/flag/data");
    assert_string_equal(cfg.storage.mount, "/mnt/x");
    assert_string_equal(cfg.node.id, "n7");
    assert_string_equal(cfg.server.vhost_domain, "s3.local");
    assert_int_equal(cfg.node.log_level, GW_LOG_DEBUG);
    assert_int_equal(cfg.s3.clock_skew, 300000);
    node_config_free(&cfg);
    unlink(path);
}

static void flag_errors(void **state)
{
    static const char *const cases[][3] = {
        {"--bogus", NULL, "unknown option '--bogus'"},
        {"-x", NULL, "unknown option"},
        {"--listen", NULL, "option '--listen' needs an argument"},
        {"--listen", "nohost", "--listen: bad value 'nohost' for 'listen' in [server]"},
        {"--log-level", "loud", "--log-level: bad value 'loud'"},
        {"--set", "server.listn=1", "--set server.listn: unknown key 'listn' in [server]"},
        {"--set", "serverlisten=1", "--set 'serverlisten=1': expected SECTION.KEY=VALUE"},
        {"--set", "server.listen", "expected SECTION.KEY=VALUE"},
        {"--set", "s3.clock_skew=0", "--set s3.clock_skew: value '0' for 'clock_skew' in [s3] is"},
        {"--config", "/nonexistent/unigw.conf", "/nonexistent/unigw.conf: cannot open"},
        {"stray", NULL, "unexpected argument 'stray'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct node_config cfg;
        char err[256] = "";
        char *argv[] = {"unigw", (char *)cases[i][0], (char *)cases[i][1], NULL};

        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_ERR_CONFIG);
        if (strstr(err, cases[i][2]) == NULL) {
            fail_msg("case %zu: error '%s', wanted '%s'", i, err, cases[i][2]);
        }
        assert_null(cfg.server.listen); /* freed on error */
        node_config_free(&cfg);
    }
}

static void file_errors_through_load(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    char path[64];
    char want[128];

    (void)state;
    temp_file_write(path, "[server]\nlisten = 1.2.3.4:5\n\nlistn = 1\n");
    {
        char *argv[] = {"unigw", "-c", path, NULL};
        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_ERR_CONFIG);
    }
    snprintf(want, sizeof want, "%s:4: unknown key 'listn' in [server]", path);
    assert_string_equal(err, want);
    node_config_free(&cfg);
    unlink(path);
}

static void help_version_print_actions(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    struct gw_buf out = GW_BUF_INIT;

    (void)state;
    {
        /* --help works even with a missing config file and a bad flag value. */
        char *argv[] = {"unigw", "--config", "/nonexistent", "--listen", "x", "--help", NULL};
        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_OK);
        assert_int_equal(cfg.action, NODE_CONFIG_HELP);
        node_config_free(&cfg);
    }
    {
        char *argv[] = {"unigw", "-V", NULL};
        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_OK);
        assert_int_equal(cfg.action, NODE_CONFIG_VERSION);
        node_config_free(&cfg);
    }
    {
        char *argv[] = {"unigw", "--print-config", "--listen", "[::]:9000", NULL};
        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_OK);
        assert_int_equal(cfg.action, NODE_CONFIG_PRINT);
        node_config_print(&cfg, &out);
        gw_buf_append_byte(&out, '\0');
        assert_non_null(strstr(out.data, "\nlisten = [::]:9000\n"));
        node_config_free(&cfg);
    }
    {
        /* --print-config still validates. */
        char *argv[] = {"unigw", "--print-config", "--listen", "bad", NULL};
        assert_int_equal(load(&cfg, argv, NULL, err, sizeof err), GW_ERR_CONFIG);
        node_config_free(&cfg);
    }
    gw_buf_reset(&out);
    node_config_usage("unigw", &out);
    gw_buf_append_byte(&out, '\0');
    assert_non_null(strstr(out.data, "--listen ADDR:PORT"));
    assert_non_null(strstr(out.data, "--set SECTION.KEY=VALUE"));
    assert_non_null(strstr(out.data, "UNIGW_ROOT_ACCESS_KEY"));
    gw_buf_free(&out);
}

static void env_root_keys(void **state)
{
    struct node_config cfg;
    char err[256] = "";
    struct gw_buf out = GW_BUF_INIT;
    char *argv[] = {"unigw", NULL};

    (void)state;
    {
        char *envp[] = {"PATH=/bin", "UNIGW_ROOT_ACCESS_KEY=ROOTKEY123",
                        "UNIGW_ROOT_SECRET_KEY=s3cr3t/with+symbols and space", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_OK);
    }
    assert_string_equal(cfg.root_access_key, "ROOTKEY123");
    assert_string_equal(cfg.root_secret_key, "s3cr3t/with+symbols and space");
    node_config_print(&cfg, &out);
    gw_buf_append_byte(&out, '\0');
    assert_null(strstr(out.data, "ROOTKEY123"));
    assert_null(strstr(out.data, "s3cr3t"));
    assert_non_null(strstr(out.data, "# UNIGW_ROOT_ACCESS_KEY: <set>\n"));
    assert_non_null(strstr(out.data, "# UNIGW_ROOT_SECRET_KEY: <set>\n"));
    node_config_free(&cfg);
    gw_buf_free(&out);

    {
        char *envp[] = {"UNIGW_ROOT_ACCESS_KEY=ab", "UNIGW_ROOT_SECRET_KEY=12345678", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_ERR_CONFIG);
        assert_non_null(strstr(err, "UNIGW_ROOT_ACCESS_KEY: expected 3..128"));
    }
    {
        char *envp[] = {"UNIGW_ROOT_ACCESS_KEY=abc-def", "UNIGW_ROOT_SECRET_KEY=12345678", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_ERR_CONFIG);
    }
    {
        char *envp[] = {"UNIGW_ROOT_ACCESS_KEY=abc", "UNIGW_ROOT_SECRET_KEY=1234567", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_ERR_CONFIG);
        assert_non_null(strstr(err, "UNIGW_ROOT_SECRET_KEY: expected 8..128 printable"));
        assert_null(strstr(err, "1234567"));
    }
    {
        char *envp[] = {"UNIGW_ROOT_ACCESS_KEY=abc", "UNIGW_ROOT_SECRET_KEY=1234567\t8", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_ERR_CONFIG);
    }
    {
        char *envp[] = {"UNIGW_ROOT_ACCESS_KEY=abcdef", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_ERR_CONFIG);
        assert_non_null(strstr(err, "set both or neither"));
    }
    {
        /* A prefix of the name is not the variable. */
        char *envp[] = {"UNIGW_ROOT_ACCESS_KEYX=abc", NULL};
        assert_int_equal(load(&cfg, argv, envp, err, sizeof err), GW_OK);
        assert_null(cfg.root_access_key);
        node_config_free(&cfg);
    }
}

static char *example_path(void)
{
    const char *src = getenv("UNIGW_SOURCE_DIR");
    char *path;

    assert_non_null(src);
    path = malloc(strlen(src) + 64);
    assert_non_null(path);
    sprintf(path, "%s/deploy/conf/unigw.conf.example", src);
    return path;
}

/* The committed example is exactly what the table renders for the defaults. */
static void example_file_matches_table(void **state)
{
    struct node_config cfg;
    struct gw_buf want = GW_BUF_INIT;
    char *path = example_path();
    char *have = NULL;
    long n;
    FILE *f;

    (void)state;
    node_config_init(&cfg);
    node_config_print(&cfg, &want);
    if (getenv("UNIGW_REGEN_EXAMPLE") != NULL) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(want.data, 1, want.len, f), want.len);
        fclose(f);
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    have = malloc((size_t)n + 1);
    assert_int_equal(fread(have, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    if ((size_t)n != want.len || memcmp(have, want.data, want.len) != 0) {
        fail_msg("%s differs from node_config_print() of the defaults; regenerate it with "
                 "UNIGW_REGEN_EXAMPLE=1",
                 path);
    }
    free(have);
    free(path);
    gw_buf_free(&want);
    node_config_free(&cfg);
}

/* Rendered lines stay within 100 columns, so inih (198 bytes per line) reads them back. */
static void printed_lines_are_short(void **state)
{
    struct node_config cfg;
    struct gw_buf out = GW_BUF_INIT;
    size_t start = 0;

    (void)state;
    node_config_init(&cfg);
    node_config_print(&cfg, &out);
    for (size_t i = 0; i < out.len; i++) {
        if (out.data[i] == '\n') {
            if (i - start > 100) {
                fail_msg("line too long: %.*s", (int)(i - start), out.data + start);
            }
            start = i + 1;
        }
    }
    gw_buf_free(&out);
    node_config_free(&cfg);
}

/* A non-default value for every key; the test checks that none is missing. */
static const char *const every_key[] = {
    "node.id=node-b.2",
    /* One element split over two lines: parenthesised so clang's
     * -Wstring-concatenation knows the join is meant. */
    ("node.data_dir=/data/dir/of/the/longest/path/allowed/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    "node.log_level=warn",
    "node.meta_map_size=3GiB",
    "server.listen=[fe80::1]:65535",
    "server.vhost_domain=s3.example.org",
    "server.region=eu-central-1",
    "server.tls_cert=/etc/unigw/tls/server chain.pem",
    "server.tls_key=/etc/unigw/tls/server.key",
    "server.max_header_bytes=12345",
    "server.max_headers=999",
    "server.max_url_len=300",
    "server.idle_timeout=1500ms",
    "server.header_timeout=2m",
    "server.body_timeout=59s",
    "server.write_timeout=1h",
    "server.max_connections=1000000",
    "server.io_threads=3",
    "server.io_chunk_size=4KiB",
    "server.max_object_size=5TiB",
    "storage.mount=/mnt/a;b#c",
    "storage.fsync=false",
    "storage.xattrs=on",
    "storage.copy_file_range=false",
    "storage.reflink=false",
    "s3.clock_skew=1d",
    "s3.presign_max_expiry=1s",
    "s3.background_md5=false",
    "s3.multipart_expiry=36h",
    "s3.tag_sweep_interval=90s",
    "cluster.cluster_key=",
    "cluster.raft_id=18446744073709551615",
    "cluster.raft_listen=10.0.0.2:9200",
    "cluster.rpc_listen=0.0.0.0:9201",
    "cluster.peers=1=10.0.0.1:9200,2=10.0.0.2:9200,3=10.0.0.3:9200",
    "cluster.snapshot_threshold=8",
    "cluster.snapshot_trailing=100000000",
    "cluster.election_timeout=3s",
    "cluster.heartbeat_timeout=10ms",
    "cache.size=0",
    "cache.max_object_size=1TiB",
    "cache.admit_after=255",
    "cache.mode=redirect",
    "cache.token_ttl=1h",
};

static void set_every_key(struct node_config *cfg, const char *const *settings, size_t n)
{
    char err[256] = "";

    for (size_t i = 0; i < n; i++) {
        char section[32];
        char key[32];
        const char *dot = strchr(settings[i], '.');
        const char *eq = strchr(settings[i], '=');

        snprintf(section, sizeof section, "%.*s", (int)(dot - settings[i]), settings[i]);
        snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
        if (node_config_set(cfg, section, key, eq + 1, err, sizeof err) != GW_OK) {
            fail_msg("%s: %s", settings[i], err);
        }
    }
}

#define CMP_STR(a, b) assert_string_equal(a, b)
#define CMP_NUM(a, b) assert_int_equal(a, b)
#define CMP_U64 CMP_NUM
#define CMP_U32 CMP_NUM
#define CMP_BOOL CMP_NUM
#define CMP_BYTES CMP_NUM
#define CMP_BYTES_AUTO CMP_NUM
#define CMP_MS CMP_NUM
#define CMP_LOGLEVEL CMP_NUM

static void config_assert_equal(const struct node_config *a, const struct node_config *b)
{
#define X(type, section, name, def, min, max, help) CMP_##type(a->section.name, b->section.name);
    NODE_CONFIG_MAP(X)
#undef X
}

static void print_config_round_trip(void **state)
{
    struct node_config a;
    struct node_config b;
    struct gw_buf out = GW_BUF_INIT;
    char err[256] = "";
    size_t n_keys = 0;
    size_t n_settings = sizeof every_key / sizeof every_key[0];

    (void)state;
#define X(type, section, name, def, min, max, help) n_keys++;
    NODE_CONFIG_MAP(X)
#undef X
    assert_int_equal(n_settings, n_keys);
    node_config_init(&a);
    set_every_key(&a, every_key, n_settings);
    node_config_print(&a, &out);
    node_config_init(&b);
    if (node_config_parse_text(&b, "printed", out.data, out.len, err, sizeof err) != GW_OK) {
        fail_msg("%s\n%.*s", err, (int)out.len, out.data);
    }
    config_assert_equal(&a, &b);
    /* The defaults round-trip as well. */
    node_config_free(&a);
    node_config_free(&b);
    gw_buf_reset(&out);
    node_config_init(&a);
    node_config_init(&b);
    node_config_print(&a, &out);
    assert_int_equal(node_config_parse_text(&b, "printed", out.data, out.len, err, sizeof err),
                     GW_OK);
    config_assert_equal(&a, &b);
    node_config_free(&a);
    node_config_free(&b);
    gw_buf_free(&out);
}

/* A set cluster key is printed as "<set>", commented out, so the text still parses. */
static void print_hides_cluster_key(void **state)
{
    struct node_config a;
    struct node_config b;
    struct gw_buf out = GW_BUF_INIT;
    char err[256] = "";
    const char *key = "abababababababababababababababababababababababababababababababab";

    (void)state;
    node_config_init(&a);
    assert_int_equal(node_config_set(&a, "cluster", "cluster_key", key, err, sizeof err), GW_OK);
    node_config_print(&a, &out);
    gw_buf_append_byte(&out, '\0');
    assert_null(strstr(out.data, key));
    assert_non_null(strstr(out.data, "\n# cluster_key = <set>\n"));
    node_config_init(&b);
    assert_int_equal(node_config_parse_text(&b, "printed", out.data, out.len - 1, err, sizeof err),
                     GW_OK);
    assert_string_equal(b.cluster.cluster_key, "");
    node_config_free(&a);
    node_config_free(&b);
    gw_buf_free(&out);
}

static void addr_parse_families(void **state)
{
    struct sockaddr_storage ss;
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)&ss;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

    (void)state;
    assert_int_equal(node_config_addr_parse("10.1.2.3:9000", &ss), GW_OK);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(in4->sin_port), 9000);
    assert_int_equal(ntohl(in4->sin_addr.s_addr), 0x0a010203);
    assert_int_equal(node_config_addr_parse("[::]:1", &ss), GW_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(ntohs(in6->sin6_port), 1);
    assert_int_equal(node_config_addr_parse("[::1]:80x", &ss), GW_ERR_INVALID);
    assert_int_equal(node_config_addr_parse("1.2.3.4:", &ss), GW_ERR_INVALID);
    assert_int_equal(node_config_addr_parse(":80", &ss), GW_ERR_INVALID);
    assert_int_equal(node_config_addr_parse("", &ss), GW_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_sane),
        cmocka_unit_test(cache_section),
        cmocka_unit_test(file_with_comments_and_sections),
        cmocka_unit_test(good_values_of_every_type),
        cmocka_unit_test(bad_values_name_line_and_key),
        cmocka_unit_test(range_errors),
        cmocka_unit_test(unknown_keys_and_sections),
        cmocka_unit_test(byte_order_mark),
        cmocka_unit_test(syntax_errors_and_first_error_wins),
        cmocka_unit_test(parse_nul_in_counted_text),
        cmocka_unit_test(set_reports_without_location),
        cmocka_unit_test(flags_override_file),
        cmocka_unit_test(flag_errors),
        cmocka_unit_test(file_errors_through_load),
        cmocka_unit_test(help_version_print_actions),
        cmocka_unit_test(env_root_keys),
        cmocka_unit_test(example_file_matches_table),
        cmocka_unit_test(printed_lines_are_short),
        cmocka_unit_test(print_config_round_trip),
        cmocka_unit_test(print_hides_cluster_key),
        cmocka_unit_test(addr_parse_families),
    };
    return cmocka_run_group_tests_name("node/config", tests, NULL, NULL);
}
