/* unigw-admin cluster status|add-node|remove-node|transfer-leader|finalize-upgrade.
 *
 * Any node takes these: a follower forwards membership changes to the leader itself, so the
 * CLI needs only one S3 endpoint.  "status" shows what the answering node knows: its own
 * term, commit and applied index and version, and for every member the id, Raft address,
 * role, leader mark, registered version and feature levels, and whether its Raft port
 * accepts a connection (see node/admin_api.h), then the cluster's active feature level.
 * "finalize-upgrade" raises that level to the highest every voter supports. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

static int usage_error(struct adm_ctx *c, const char *what)
{
    fprintf(c->errf, "unigw-admin: usage: unigw-admin cluster %s\n", what);
    return ADM_EXIT_USAGE;
}

/* A member id: a decimal integer > 0. */
static bool parse_id(const char *s, json_int_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > (unsigned long long)INT64_MAX) {
        return false;
    }
    *out = (json_int_t)v;
    return true;
}

#define STATUS_COLS 10

static const char *const status_head[STATUS_COLS] = {
    "ID",      "RAFT_ADDRESS", "ROLE",    "LEADER", "TERM", "COMMIT",
    "APPLIED", "VERSION",      "LEVELS", "REACHABLE"};

static void member_row(struct adm_table *t, json_t *m)
{
    char b[STATUS_COLS][72];
    const char *keys[STATUS_COLS] = {"id",           "raft_address",  "role",    "leader",
                                     "term",         "commit_index", "applied_index",
                                     "version",      "max_level",    "reachable"};
    const char *cells[STATUS_COLS];
    json_t *lo = json_object_get(m, "min_level"), *hi = json_object_get(m, "max_level");

    for (size_t i = 0; i < STATUS_COLS; i++) {
        cells[i] = adm_json_text(json_object_get(m, keys[i]), b[i], sizeof b[i]);
    }
    cells[3] = json_is_true(json_object_get(m, "leader")) ? "*" : "";
    if (json_is_integer(lo) && json_is_integer(hi)) {
        snprintf(b[8], sizeof b[8], "%lld-%lld", (long long)json_integer_value(lo),
                 (long long)json_integer_value(hi));
        cells[8] = b[8];
    }
    adm_table_row(t, cells);
}

static void print_status(struct adm_ctx *c, json_t *j)
{
    struct adm_table t;
    struct gw_buf out = GW_BUF_INIT;
    json_t *leader = json_object_get(j, "leader_id");
    char b[3][32];
    json_t *m;
    size_t i;

    gw_buf_printf(&out, "node %s (%s), term %s, leader %s%s%s\n",
                  adm_json_text(json_object_get(j, "id"), b[0], sizeof b[0]),
                  adm_json_text(json_object_get(j, "state"), b[1], sizeof b[1]),
                  adm_json_text(json_object_get(j, "term"), b[2], sizeof b[2]),
                  json_is_integer(leader) ? "" : "unknown",
                  json_is_integer(leader) ? "at " : "",
                  json_is_integer(leader) ? json_string_value(json_object_get(j, "leader_address"))
                                          : "");
    adm_table_init(&t, STATUS_COLS, status_head);
    json_array_foreach(json_object_get(j, "members"), i, m) {
        member_row(&t, m);
    }
    adm_table_print(&t, &out);
    gw_buf_printf(&out, "feature level %s (this node supports up to %s)\n",
                  adm_json_text(json_object_get(j, "feature_level"), b[0], sizeof b[0]),
                  adm_json_text(json_object_get(j, "feature_level_max"), b[1], sizeof b[1]));
    fwrite(out.data, 1, out.len, c->out);
    gw_buf_free(&out);
    adm_table_free(&t);
}

/* Print the outcome of a change in a sentence (or the answer as JSON). */
static void print_change(struct adm_ctx *c, json_t *j)
{
    json_t *leader = json_object_get(j, "leader_id");

    if (c->o->is_json) {
        adm_json_print(c, j);
    } else if (json_object_get(j, "added") != NULL) {
        fprintf(c->out, "node %lld added as %s (%s)\n",
                (long long)json_integer_value(json_object_get(j, "added")),
                json_string_value(json_object_get(j, "role")),
                json_string_value(json_object_get(j, "raft_address")));
    } else if (json_object_get(j, "removed") != NULL) {
        fprintf(c->out, "node %lld removed\n",
                (long long)json_integer_value(json_object_get(j, "removed")));
    } else if (json_object_get(j, "feature_level") != NULL) {
        fprintf(c->out, "feature level %lld\n",
                (long long)json_integer_value(json_object_get(j, "feature_level")));
    } else if (json_is_integer(leader)) {
        fprintf(c->out, "leadership transferred: node %lld leads\n",
                (long long)json_integer_value(leader));
    } else {
        fprintf(c->out, "leadership transferred: the new leader is being elected\n");
    }
}

/* Run one change: @body may be NULL (no body). */
static int change(struct adm_ctx *c, const char *method, const char *path, json_t *body)
{
    json_t *j = NULL;
    int code = adm_call(c, method, path, body, &j);

    if (code == ADM_EXIT_OK) {
        print_change(c, j);
    }
    json_decref(j);
    json_decref(body);
    return code;
}

static int status(struct adm_ctx *c)
{
    json_t *j = NULL;
    int code = adm_call(c, "GET", "/admin/v1/cluster", NULL, &j);

    if (code == ADM_EXIT_OK) {
        if (c->o->is_json) {
            adm_json_print(c, j);
        } else {
            print_status(c, j);
        }
    }
    json_decref(j);
    return code;
}

int adm_cmd_cluster(struct adm_ctx *c)
{
    const struct adm_opts *o = c->o;
    const char *cmd = o->command;
    struct gw_buf path = GW_BUF_INIT;
    json_int_t id = 0;
    int code;

    if (strcmp(cmd, "status") == 0 && o->n_args == 0) {
        code = status(c);
    } else if (strcmp(cmd, "add-node") == 0 && o->n_args == 2 && parse_id(o->args[0], &id)) {
        code = change(c, "POST", "/admin/v1/cluster/members",
                      json_pack("{s:I, s:s, s:b}", "id", id, "raft_address", o->args[1],
                                "voter", !o->is_standby));
    } else if (strcmp(cmd, "remove-node") == 0 && o->n_args == 1 && parse_id(o->args[0], &id)) {
        adm_path(&path, "cluster/members", o->args[0], NULL);
        code = change(c, "DELETE", path.data, NULL);
    } else if (strcmp(cmd, "transfer-leader") == 0 && o->n_args == 0) {
        code = change(c, "POST", "/admin/v1/cluster/transfer", NULL);
    } else if (strcmp(cmd, "transfer-leader") == 0 && o->n_args == 1 &&
               parse_id(o->args[0], &id)) {
        code = change(c, "POST", "/admin/v1/cluster/transfer", json_pack("{s:I}", "id", id));
    } else if (strcmp(cmd, "finalize-upgrade") == 0 && o->n_args == 0) {
        code = change(c, "POST", "/admin/v1/cluster/finalize-upgrade", NULL);
    } else {
        code = usage_error(c, "status | add-node ID RAFT_ADDRESS [--standby] | "
                              "remove-node ID | transfer-leader [ID] | finalize-upgrade");
    }
    gw_buf_free(&path);
    return code;
}
