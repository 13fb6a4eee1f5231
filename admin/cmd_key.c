/* unigw-admin key create|list|delete.  "key create" is the only time the
 * secret key is ever shown: the node keeps it sealed. */
#include <string.h>

#include "admin.h"

static void print_created(struct adm_ctx *c, json_t *j)
{
    json_t *out;

    if (c->o->is_json) {
        out = json_pack("{s:O, s:O, s:O}", "user", json_object_get(j, "user"), "access_key",
                        json_object_get(j, "access_key"), "secret_key",
                        json_object_get(j, "secret_key"));
        adm_json_print(c, out != NULL ? out : j);
        json_decref(out);
        return;
    }
    fprintf(c->out,
            "user:       %s\naccess_key: %s\nsecret_key: %s\n"
            "(the secret key is shown only this once)\n",
            json_string_value(json_object_get(j, "user")),
            json_string_value(json_object_get(j, "access_key")),
            json_string_value(json_object_get(j, "secret_key")));
}

static void print_list(struct adm_ctx *c, json_t *j)
{
    static const char *const head[] = {"ACCESS_KEY", "USER"};
    struct adm_table t;
    struct gw_buf out = GW_BUF_INIT;
    json_t *v;
    size_t i;

    if (c->o->is_json) {
        adm_json_print(c, j);
        return;
    }
    adm_table_init(&t, 2, head);
    json_array_foreach(json_object_get(j, "keys"), i, v) {
        const char *cells[2] = {json_string_value(json_object_get(v, "access_key")),
                                json_string_value(json_object_get(j, "user"))};
        adm_table_row(&t, cells);
    }
    adm_table_print(&t, &out);
    fwrite(out.data, 1, out.len, c->out);
    gw_buf_free(&out);
    adm_table_free(&t);
}

int adm_cmd_key(struct adm_ctx *c)
{
    const struct adm_opts *o = c->o;
    const char *arg = o->n_args == 1 ? o->args[0] : NULL;
    struct gw_buf path = GW_BUF_INIT;
    json_t *j = NULL;
    int code;

    if (arg == NULL) {
        fprintf(c->errf, "unigw-admin: usage: unigw-admin key create USER | list USER | "
                         "delete ACCESS_KEY\n");
        return ADM_EXIT_USAGE;
    }
    if (strcmp(o->command, "create") == 0) {
        adm_path(&path, "users", arg, "keys");
        code = adm_call(c, "POST", path.data, NULL, &j);
        if (code == ADM_EXIT_OK) {
            print_created(c, j);
        }
    } else if (strcmp(o->command, "list") == 0) {
        adm_path(&path, "users", arg, "keys");
        code = adm_call(c, "GET", path.data, NULL, &j);
        if (code == ADM_EXIT_OK) {
            print_list(c, j);
        }
    } else if (strcmp(o->command, "delete") == 0) {
        adm_path(&path, "keys", arg, NULL);
        code = adm_call(c, "DELETE", path.data, NULL, &j);
        if (code == ADM_EXIT_OK && o->is_json) {
            adm_json_print(c, j);
        } else if (code == ADM_EXIT_OK) {
            fprintf(c->out, "access key %s deleted\n", arg);
        }
    } else {
        fprintf(c->errf, "unigw-admin: unknown command 'key %s'\n", o->command);
        code = ADM_EXIT_USAGE;
    }
    json_decref(j);
    gw_buf_free(&path);
    return code;
}
