/* The daemon's command line and environment: node_config_load().
 *
 * Happy path: defaults from the table, one getopt_long() pass that remembers --config and
 * every overriding flag, the file, then the flags in order (so a flag wins wherever it
 * stands), then the root user's key from the environment.  --help and --version return at
 * once, without reading the file; --print-config loads everything and asks the caller to
 * print it.
 *
 * Failure modes: unknown options, missing arguments, stray arguments, a malformed --set, any
 * value the table rejects, and a missing or invalid root key variable.  Each is one message
 * naming the flag or variable; the secret's value is never echoed. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "config.h"

/* Command-line flags that name one table key; --set reaches every key. */
struct cfg_flag {
    const char *flag;
    const char *metavar;
    const char *section;
    const char *key;
};

static const struct cfg_flag cfg_flags[] = {
    {"listen", "ADDR:PORT", "server", "listen"},
    {"mount", "DIR", "storage", "mount"},
    {"data", "DIR", "node", "data_dir"},
    {"node-id", "ID", "node", "id"},
    {"vhost-domain", "DOMAIN", "server", "vhost_domain"},
    {"log-level", "LEVEL", "node", "log_level"},
};

#define N_FLAGS (sizeof cfg_flags / sizeof cfg_flags[0])

enum {
    OPT_FLAG = 0x100, /* OPT_FLAG + i: cfg_flags[i] */
    OPT_SET = 0x200,
    OPT_PRINT,
};

/* A flag value kept until the file has been applied: flags win whatever their position. */
struct cfg_override {
    const struct cfg_flag *target; /* NULL: --set */
    const char *arg;               /* points into argv */
};

static void options_build(struct option *opts)
{
    size_t i;

    for (i = 0; i < N_FLAGS; i++) {
        opts[i] = (struct option){cfg_flags[i].flag, required_argument, NULL, OPT_FLAG + (int)i};
    }
    opts[i++] = (struct option){"config", required_argument, NULL, 'c'};
    opts[i++] = (struct option){"set", required_argument, NULL, OPT_SET};
    opts[i++] = (struct option){"print-config", no_argument, NULL, OPT_PRINT};
    opts[i++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[i++] = (struct option){"version", no_argument, NULL, 'V'};
    opts[i] = (struct option){NULL, 0, NULL, 0};
}

/* Scan argv: remember --config and the overrides, note --help/--version/--print-config. */
static int args_scan(struct node_config *cfg, int argc, char **argv, struct cfg_override *ovr,
                     size_t *n_ovr, char *err, size_t err_len)
{
    struct option opts[N_FLAGS + 6];
    int c;

    options_build(opts);
    optind = 0; /* glibc: full re-initialization, so load() can run more than once */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:hV", opts, NULL)) != -1) {
        if (c == 'c') {
            gw_free(cfg->config_path);
            cfg->config_path = gw_strdup(optarg);
        } else if (c == 'h' && cfg->action != NODE_CONFIG_VERSION) {
            cfg->action = NODE_CONFIG_HELP;
        } else if (c == 'V' && cfg->action != NODE_CONFIG_HELP) {
            cfg->action = NODE_CONFIG_VERSION;
        } else if (c == OPT_PRINT && cfg->action == NODE_CONFIG_RUN) {
            cfg->action = NODE_CONFIG_PRINT;
        } else if (c == OPT_SET) {
            ovr[(*n_ovr)++] = (struct cfg_override){NULL, optarg};
        } else if (c >= OPT_FLAG && c < OPT_FLAG + (int)N_FLAGS) {
            ovr[(*n_ovr)++] = (struct cfg_override){&cfg_flags[c - OPT_FLAG], optarg};
        } else if (c == ':') {
            snprintf(err, err_len, "option '%s' needs an argument", argv[optind - 1]);
            return GW_ERR_CONFIG;
        } else if (c == '?') {
            snprintf(err, err_len, "unknown option '%s' (try --help)", argv[optind - 1]);
            return GW_ERR_CONFIG;
        }
    }
    if (optind < argc) {
        snprintf(err, err_len, "unexpected argument '%s' (try --help)", argv[optind]);
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

/* Apply one "--set section.key=value". */
static int override_set(struct node_config *cfg, const char *arg, char *err, size_t err_len)
{
    const char *eq = strchr(arg, '=');
    const char *dot = strchr(arg, '.');
    char section[64];
    char key[64];
    char reason[256];

    if (eq == NULL || dot == NULL || dot > eq || (size_t)(dot - arg) >= sizeof section ||
        (size_t)(eq - dot - 1) >= sizeof key) {
        snprintf(err, err_len, "--set '%s': expected SECTION.KEY=VALUE", arg);
        return GW_ERR_CONFIG;
    }
    snprintf(section, sizeof section, "%.*s", (int)(dot - arg), arg);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    if (node_config_set(cfg, section, key, eq + 1, reason, sizeof reason) != GW_OK) {
        snprintf(err, err_len, "--set %s.%s: %s", section, key, reason);
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

static int overrides_apply(struct node_config *cfg, const struct cfg_override *ovr, size_t n_ovr,
                           char *err, size_t err_len)
{
    char reason[256];
    int rv;

    for (size_t i = 0; i < n_ovr; i++) {
        if (ovr[i].target == NULL) {
            rv = override_set(cfg, ovr[i].arg, err, err_len);
        } else {
            rv = node_config_set(cfg, ovr[i].target->section, ovr[i].target->key, ovr[i].arg,
                                 reason, sizeof reason);
            if (rv != GW_OK) {
                snprintf(err, err_len, "--%s: %s", ovr[i].target->flag, reason);
            }
        }
        if (rv != GW_OK) {
            return rv;
        }
    }
    return GW_OK;
}

static const char *env_find(char **envp, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=') {
            return envp[i][len + 1] != '\0' ? envp[i] + len + 1 : NULL;
        }
    }
    return NULL;
}

static bool access_key_is_valid(const char *s)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i])) {
            return false;
        }
    }
    return len >= 3 && len <= 128;
}

static bool secret_is_valid(const char *s)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
            return false;
        }
    }
    return len >= 8 && len <= 128;
}

/* Capture the root user's first key; both variables or neither.  Values are never echoed. */
static int env_scan(struct node_config *cfg, char **envp, char *err, size_t err_len)
{
    const char *ak = env_find(envp, "UNIGW_ROOT_ACCESS_KEY");
    const char *sk = env_find(envp, "UNIGW_ROOT_SECRET_KEY");

    if ((ak == NULL) != (sk == NULL)) {
        snprintf(err, err_len,
                 "UNIGW_ROOT_ACCESS_KEY and UNIGW_ROOT_SECRET_KEY: set both or "
                 "neither");
        return GW_ERR_CONFIG;
    }
    if (ak == NULL) {
        return GW_OK;
    }
    if (!access_key_is_valid(ak)) {
        snprintf(err, err_len, "UNIGW_ROOT_ACCESS_KEY: expected 3..128 of A-Z a-z 0-9");
        return GW_ERR_CONFIG;
    }
    if (!secret_is_valid(sk)) {
        snprintf(err, err_len, "UNIGW_ROOT_SECRET_KEY: expected 8..128 printable characters");
        return GW_ERR_CONFIG;
    }
    cfg->root_access_key = gw_strdup(ak);
    cfg->root_secret_key = gw_strdup(sk);
    return GW_OK;
}

int node_config_load(struct node_config *cfg, int argc, char **argv, char **envp, char *err,
                     size_t err_len)
{
    struct cfg_override *ovr = gw_calloc((size_t)argc + 1, sizeof *ovr);
    size_t n_ovr = 0;
    int rv;

    node_config_init(cfg);
    rv = args_scan(cfg, argc, argv, ovr, &n_ovr, err, err_len);
    if (rv != GW_OK || cfg->action == NODE_CONFIG_HELP || cfg->action == NODE_CONFIG_VERSION) {
        goto out;
    }
    if (cfg->config_path != NULL) {
        rv = node_config_parse_file(cfg, cfg->config_path, err, err_len);
        if (rv != GW_OK) {
            goto out;
        }
    }
    rv = overrides_apply(cfg, ovr, n_ovr, err, err_len);
    if (rv != GW_OK) {
        goto out;
    }
    rv = env_scan(cfg, envp, err, err_len);
out:
    gw_free(ovr);
    if (rv != GW_OK) {
        node_config_free(cfg);
    }
    return rv;
}

void node_config_usage(const char *argv0, struct gw_buf *out)
{
    gw_buf_printf(out, "Usage: %s [OPTIONS]\nunigw %s, a clustered S3 gateway node.\n\n", argv0,
                  UNIGW_VERSION);
    gw_buf_append_c(out, "  -c, --config FILE            read settings from FILE (INI)\n");
    for (size_t i = 0; i < N_FLAGS; i++) {
        char flag[64];

        snprintf(flag, sizeof flag, "--%s %s", cfg_flags[i].flag, cfg_flags[i].metavar);
        gw_buf_printf(out, "      %-24s set [%s] %s\n", flag, cfg_flags[i].section,
                      cfg_flags[i].key);
    }
    gw_buf_append_c(out,
                    "      --set SECTION.KEY=VALUE  set any key of the file\n"
                    "      --print-config           print the effective configuration, exit\n"
                    "  -h, --help                   print this help, exit\n"
                    "  -V, --version                print the version, exit\n\n"
                    "Flags override the file.  --print-config lists every key with its help.\n"
                    "Environment: UNIGW_ROOT_ACCESS_KEY and UNIGW_ROOT_SECRET_KEY give the root\n"
                    "user's key on first start.\n");
}
