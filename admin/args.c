/* unigw-admin's command line, environment and config file.
 *
 * Precedence: flags, then UNIGW_* environment variables, then the config
 * file (--config FILE, else ~/.config/unigw/admin.conf when present), an INI
 * file of "key = value" lines (endpoint, access_key, secret_key, region),
 * optionally under a [default] section.  Usage errors come back as a
 * sentence; the caller prints it with the usage and exits 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "admin.h"
#include "unigw/alloc.h"
#include "unigw/err.h"

/* Options that take a value, and where it goes. */
static const char **value_slot(struct adm_opts *o, const char *name)
{
    static const char *const names[] = {"endpoint", "access-key", "secret-key", "region",
                                        "config",   "owner",      "ca-file"};
    const char **slots[] = {&o->endpoint, &o->access_key, &o->secret_key, &o->region,
                            &o->config,   &o->owner,      &o->ca_file};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return slots[i];
        }
    }
    return NULL;
}

static bool set_flag(struct adm_opts *o, const char *name)
{
    if (strcmp(name, "json") == 0) {
        o->is_json = true;
    } else if (strcmp(name, "admin") == 0) {
        o->is_admin = true;
    } else if (strcmp(name, "standby") == 0) {
        o->is_standby = true;
    } else if (strcmp(name, "help") == 0) {
        o->is_help = true;
    } else {
        return false;
    }
    return true;
}

/* One "--name[=value]" at argv[*i]; consumes the value argument when needed. */
static int parse_option(int argc, char **argv, int *i, struct adm_opts *o, char *err,
                        size_t err_cap)
{
    char name[32];
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const char **slot;

    if (n == 0 || n >= sizeof name) {
        snprintf(err, err_cap, "unknown option '%s'", argv[*i]);
        return GW_ERR_INVALID_ARGUMENT;
    }
    memcpy(name, arg, n);
    name[n] = '\0';
    slot = value_slot(o, name);
    if (slot == NULL) {
        if (eq == NULL && set_flag(o, name)) {
            return GW_OK;
        }
        snprintf(err, err_cap, "unknown option '%s'", argv[*i]);
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (eq != NULL) {
        *slot = eq + 1;
    } else if (*i + 1 < argc) {
        *slot = argv[++*i];
    } else {
        snprintf(err, err_cap, "option --%s needs a value", name);
        return GW_ERR_INVALID_ARGUMENT;
    }
    return GW_OK;
}

static int add_positional(struct adm_opts *o, const char *a, char *err, size_t err_cap)
{
    if (o->group == NULL) {
        o->group = a;
    } else if (o->command == NULL) {
        o->command = a;
    } else if (o->n_args < ADM_MAX_ARGS) {
        o->args[o->n_args++] = a;
    } else {
        snprintf(err, err_cap, "too many arguments");
        return GW_ERR_INVALID_ARGUMENT;
    }
    return GW_OK;
}

int adm_opts_parse(int argc, char **argv, struct adm_opts *o, char *err, size_t err_cap)
{
    bool only_args = false;
    int rv = GW_OK;

    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc && rv == 0; i++) {
        if (!only_args && strcmp(argv[i], "--") == 0) {
            only_args = true;
        } else if (!only_args && (strcmp(argv[i], "-h") == 0)) {
            o->is_help = true;
        } else if (!only_args && strncmp(argv[i], "--", 2) == 0) {
            rv = parse_option(argc, argv, &i, o, err, err_cap);
        } else if (!only_args && argv[i][0] == '-' && argv[i][1] != '\0') {
            snprintf(err, err_cap, "unknown option '%s'", argv[i]);
            rv = GW_ERR_INVALID_ARGUMENT;
        } else {
            rv = add_positional(o, argv[i], err, err_cap);
        }
    }
    if (rv == 0 && !o->is_help && (o->group == NULL || o->command == NULL)) {
        snprintf(err, err_cap, "missing command");
        rv = GW_ERR_INVALID_ARGUMENT;
    }
    return rv;
}

struct ini_state {
    struct adm_opts *o;
    const char *bad_key;
    char bad[64];
    size_t n_owned;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
    struct ini_state *st = user;
    static const char *const keys[] = {"endpoint", "access_key", "secret_key", "region"};
    const char **slots[] = {&st->o->endpoint, &st->o->access_key, &st->o->secret_key,
                            &st->o->region};

    if (section[0] != '\0' && strcmp(section, "default") != 0) {
        snprintf(st->bad, sizeof st->bad, "unknown section [%.40s]", section);
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(name, keys[i]) == 0) {
            if (*slots[i] == NULL) {
                st->o->owned[i] = gw_strdup(value);
                *slots[i] = st->o->owned[i];
            }
            return 1;
        }
    }
    snprintf(st->bad, sizeof st->bad, "unknown key '%.40s'", name);
    return 0;
}

static int read_config(struct adm_opts *o, char **envp, char *err, size_t err_cap)
{
    char path[4096];
    const char *file = o->config;
    struct ini_state st = {o, NULL, "", 0};
    int line;

    if (file == NULL) {
        const char *home = NULL;
        for (char **e = envp; e != NULL && *e != NULL; e++) {
            if (strncmp(*e, "HOME=", 5) == 0) {
                home = *e + 5;
            }
        }
        if (home == NULL) {
            return GW_OK;
        }
        snprintf(path, sizeof path, "%s/.config/unigw/admin.conf", home);
        if (access(path, F_OK) != 0) {
            return GW_OK;
        }
        file = path;
    }
    line = ini_parse(file, ini_cb, &st);
    if (line == 0) {
        return GW_OK;
    }
    if (line < 0) {
        snprintf(err, err_cap, "cannot read config file %s", file);
    } else {
        snprintf(err, err_cap, "config file %s, line %d: %s", file, line,
                 st.bad[0] != '\0' ? st.bad : "malformed line");
    }
    return GW_ERR_INVALID_ARGUMENT;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);

    for (char **e = envp; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=' && (*e)[n + 1] != '\0') {
            return *e + n + 1;
        }
    }
    return NULL;
}

int adm_opts_resolve(struct adm_opts *o, char **envp, char *err, size_t err_cap)
{
    int rv;

    o->endpoint = o->endpoint != NULL ? o->endpoint : env_get(envp, "UNIGW_ENDPOINT");
    o->access_key = o->access_key != NULL ? o->access_key : env_get(envp, "UNIGW_ACCESS_KEY");
    o->secret_key = o->secret_key != NULL ? o->secret_key : env_get(envp, "UNIGW_SECRET_KEY");
    o->region = o->region != NULL ? o->region : env_get(envp, "UNIGW_REGION");
    o->ca_file = o->ca_file != NULL ? o->ca_file : env_get(envp, "UNIGW_CA_FILE");
    rv = read_config(o, envp, err, err_cap);
    if (rv != 0) {
        return rv;
    }
    if (o->region == NULL) {
        o->region = "us-east-1";
    }
    if (o->endpoint == NULL || o->access_key == NULL || o->secret_key == NULL) {
        snprintf(err, err_cap, "no %s: use --%s, %s or the config file",
                 o->endpoint == NULL ? "endpoint" : "credentials",
                 o->endpoint == NULL ? "endpoint" : "access-key/--secret-key",
                 o->endpoint == NULL ? "UNIGW_ENDPOINT" : "UNIGW_ACCESS_KEY/UNIGW_SECRET_KEY");
        return GW_ERR_INVALID_ARGUMENT;
    }
    return GW_OK;
}

void adm_opts_free(struct adm_opts *o)
{
    for (size_t i = 0; i < sizeof o->owned / sizeof o->owned[0]; i++) {
        gw_free(o->owned[i]);
        o->owned[i] = NULL;
    }
}

void adm_usage(FILE *f)
{
    fputs("usage: unigw-admin [--endpoint URL] [--access-key K] [--secret-key S]\n"
          "                   [--region R] [--config FILE] [--ca-file FILE] [--json]\n"
          "                   GROUP COMMAND [ARGS]\n"
          "\n"
          "  user   create NAME [--admin] | list | show NAME | disable NAME | enable NAME |\n"
          "         delete NAME\n"
          "  key    create USER | list USER | delete ACCESS_KEY\n"
          "  bucket create NAME --owner USER | list | show NAME | delete NAME |\n"
          "         set-owner NAME USER\n"
          "  policy get BUCKET | set BUCKET FILE (- for stdin) | delete BUCKET\n"
          "  cluster status | add-node ID RAFT_ADDRESS [--standby] | remove-node ID |\n"
          "         transfer-leader [ID] | finalize-upgrade\n"
          "\n"
          "Endpoint and credentials: flags, else UNIGW_ENDPOINT, UNIGW_ACCESS_KEY,\n"
          "UNIGW_SECRET_KEY, else ~/.config/unigw/admin.conf (endpoint = ..., access_key = ...,\n"
          "secret_key = ...).  An https:// endpoint is verified against --ca-file (or\n"
          "UNIGW_CA_FILE), else the system's CAs.\n"
          "Exit codes: 0 ok, 1 error from the node, 2 usage, 3 connection.\n",
          f);
}
