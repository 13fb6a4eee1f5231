/* unigw-admin: the operator CLI of unigw (see admin.h and adm_usage()).
 * Parses the command line, resolves endpoint and credentials, runs one
 * command against the node's admin API and exits 0, 1 (the node refused),
 * 2 (usage) or 3 (no connection). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"

extern char **environ;

static int dispatch(struct adm_ctx *c)
{
    static const struct {
        const char *name;
        int (*run)(struct adm_ctx *c);
    } groups[] = {{"user", adm_cmd_user},
                  {"key", adm_cmd_key},
                  {"bucket", adm_cmd_bucket},
                  {"policy", adm_cmd_policy},
                  {"cluster", adm_cmd_cluster}};

    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (strcmp(c->o->group, groups[i].name) == 0) {
            return groups[i].run(c);
        }
    }
    fprintf(c->errf, "unigw-admin: unknown group '%s'\n", c->o->group);
    adm_usage(c->errf);
    return ADM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct adm_opts o;
    struct adm_ctx c = {&o, stdout, stderr};
    char err[512];
    int code;

    signal(SIGPIPE, SIG_IGN);
    if (adm_opts_parse(argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "unigw-admin: %s\n", err);
        adm_usage(stderr);
        return ADM_EXIT_USAGE;
    }
    if (o.is_help) {
        adm_usage(stdout);
        return ADM_EXIT_OK;
    }
    if (adm_opts_resolve(&o, environ, err, sizeof err) != 0) {
        fprintf(stderr, "unigw-admin: %s\n", err);
        adm_opts_free(&o);
        return ADM_EXIT_USAGE;
    }
    code = dispatch(&c);
    adm_opts_free(&o);
    return code;
}
