/* unigw-admin user create|list|show|disable|enable|delete. */
#include <string.h>

#include "admin.h"

static int usage_error(struct adm_ctx *c, const char *what)
{
    fprintf(c->errf, "unigw-admin: usage: unigw-admin user %s\n", what);
    return ADM_EXIT_USAGE;
}

static const char *const user_head[] = {"NAME", "ID", "ADMIN", "DISABLED", "CREATED"};

static void user_row(struct adm_table *t, json_t *u)
{
    char b[5][32];
    const char *cells[5] = {
        adm_json_text(json_object_get(u, "name"), b[0], sizeof b[0]),
        adm_json_text(json_object_get(u, "id"), b[4], sizeof b[4]),
        adm_json_text(json_object_get(u, "admin"), b[1], sizeof b[1]),
        adm_json_text(json_object_get(u, "disabled"), b[2], sizeof b[2]),
        adm_json_text(json_object_get(u, "created"), b[3], sizeof b[3]),
    };

    adm_table_row(t, cells);
}

/* Print one user (and its keys when the answer lists them) or a list. */
static void print_users(struct adm_ctx *c, json_t *j)
{
    struct adm_table t;
    struct gw_buf out = GW_BUF_INIT;
    json_t *users = json_object_get(j, "users");
    json_t *keys = json_object_get(j, "keys");
    json_t *v;
    size_t i;

    adm_table_init(&t, 5, user_head);
    if (json_is_array(users)) {
        json_array_foreach(users, i, v) {
            user_row(&t, v);
        }
    } else {
        user_row(&t, j);
    }
    adm_table_print(&t, &out);
    if (json_is_array(keys)) {
        gw_buf_printf(&out, "\nACCESS KEYS (%zu)\n", json_array_size(keys));
        json_array_foreach(keys, i, v) {
            gw_buf_printf(&out, "%s\n", json_string_value(json_object_get(v, "access_key")));
        }
    }
    fwrite(out.data, 1, out.len, c->out);
    gw_buf_free(&out);
    adm_table_free(&t);
}

/* @verb: what to print ("user NAME VERB") instead of the user table. */
static int finish(struct adm_ctx *c, int code, json_t *j, const char *verb, const char *name)
{
    if (code == ADM_EXIT_OK) {
        if (c->o->is_json) {
            adm_json_print(c, j);
        } else if (verb != NULL) {
            fprintf(c->out, "user %s %s\n", name, verb);
        } else {
            print_users(c, j);
        }
    }
    json_decref(j);
    return code;
}

int adm_cmd_user(struct adm_ctx *c)
{
    const struct adm_opts *o = c->o;
    const char *cmd = o->command;
    const char *name = o->n_args == 1 ? o->args[0] : NULL;
    struct gw_buf path = GW_BUF_INIT;
    json_t *j = NULL;
    int code;

    if (strcmp(cmd, "list") == 0 && o->n_args == 0) {
        adm_path(&path, "users", NULL, NULL);
        code = adm_call(c, "GET", path.data, NULL, &j);
        code = finish(c, code, j, NULL, NULL);
    } else if (strcmp(cmd, "create") == 0 && name != NULL) {
        json_t *body = json_pack("{s:s, s:b}", "name", name, "admin", o->is_admin);
        adm_path(&path, "users", NULL, NULL);
        code = adm_call(c, "POST", path.data, body, &j);
        json_decref(body);
        code = finish(c, code, j, NULL, NULL);
    } else if (strcmp(cmd, "show") == 0 && name != NULL) {
        adm_path(&path, "users", name, NULL);
        code = adm_call(c, "GET", path.data, NULL, &j);
        code = finish(c, code, j, NULL, NULL);
    } else if ((strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0) && name != NULL) {
        adm_path(&path, "users", name, cmd);
        code = adm_call(c, "POST", path.data, NULL, &j);
        code = finish(c, code, j,
                      cmd[0] == 'd' ? "disabled" : "enabled", name);
    } else if (strcmp(cmd, "delete") == 0 && name != NULL) {
        adm_path(&path, "users", name, NULL);
        code = adm_call(c, "DELETE", path.data, NULL, &j);
        code = finish(c, code, j, "deleted",
                      name);
    } else {
        code = usage_error(c, "create NAME [--admin] | list | show NAME | disable NAME | "
                              "enable NAME | delete NAME");
    }
    gw_buf_free(&path);
    return code;
}
