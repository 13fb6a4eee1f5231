/* unigw-admin bucket create|list|show|delete|set-owner. */
#include <string.h>

#include "admin.h"

static const char *const bucket_head[] = {"NAME", "OWNER", "CREATED", "POLICY"};

static void bucket_row(struct adm_table *t, json_t *b)
{
    char s[4][32];
    const char *cells[4] = {
        adm_json_text(json_object_get(b, "name"), s[0], sizeof s[0]),
        adm_json_text(json_object_get(b, "owner"), s[1], sizeof s[1]),
        adm_json_text(json_object_get(b, "created"), s[2], sizeof s[2]),
        adm_json_text(json_object_get(b, "policy"), s[3], sizeof s[3]),
    };

    adm_table_row(t, cells);
}

static int print_buckets(struct adm_ctx *c, int code, json_t *j)
{
    struct adm_table t;
    struct gw_buf out = GW_BUF_INIT;
    json_t *list = json_object_get(j, "buckets");
    json_t *v;
    size_t i;

    if (code != ADM_EXIT_OK || c->o->is_json) {
        if (code == ADM_EXIT_OK) {
            adm_json_print(c, j);
        }
        json_decref(j);
        return code;
    }
    adm_table_init(&t, 4, bucket_head);
    if (json_is_array(list)) {
        json_array_foreach(list, i, v) {
            bucket_row(&t, v);
        }
    } else {
        bucket_row(&t, j);
    }
    adm_table_print(&t, &out);
    fwrite(out.data, 1, out.len, c->out);
    gw_buf_free(&out);
    adm_table_free(&t);
    json_decref(j);
    return code;
}

static int done(struct adm_ctx *c, int code, json_t *j, const char *verb, const char *name)
{
    if (code == ADM_EXIT_OK && c->o->is_json) {
        adm_json_print(c, j);
    } else if (code == ADM_EXIT_OK) {
        fprintf(c->out, "bucket %s %s\n", name, verb);
    }
    json_decref(j);
    return code;
}

/* Calls that send a small JSON object. */
static int call_with(struct adm_ctx *c, const char *method, const char *path, json_t *body,
                     json_t **j)
{
    int code = adm_call(c, method, path, body, j);

    json_decref(body);
    return code;
}

int adm_cmd_bucket(struct adm_ctx *c)
{
    const struct adm_opts *o = c->o;
    const char *cmd = o->command;
    const char *name = o->n_args >= 1 ? o->args[0] : NULL;
    struct gw_buf path = GW_BUF_INIT;
    json_t *j = NULL;
    int code;

    if (strcmp(cmd, "list") == 0 && o->n_args == 0) {
        adm_path(&path, "buckets", NULL, NULL);
        code = adm_call(c, "GET", path.data, NULL, &j);
        code = print_buckets(c, code, j);
    } else if (strcmp(cmd, "create") == 0 && o->n_args == 1 && o->owner != NULL) {
        adm_path(&path, "buckets", NULL, NULL);
        code = call_with(c, "POST", path.data,
                         json_pack("{s:s, s:s}", "name", name, "owner", o->owner), &j);
        code = print_buckets(c, code, j);
    } else if (strcmp(cmd, "show") == 0 && o->n_args == 1) {
        adm_path(&path, "buckets", name, NULL);
        code = adm_call(c, "GET", path.data, NULL, &j);
        code = print_buckets(c, code, j);
    } else if (strcmp(cmd, "delete") == 0 && o->n_args == 1) {
        adm_path(&path, "buckets", name, NULL);
        code = adm_call(c, "DELETE", path.data, NULL, &j);
        code = done(c, code, j, "deleted",
                    name);
    } else if (strcmp(cmd, "set-owner") == 0 && o->n_args == 2) {
        adm_path(&path, "buckets", name, "owner");
        code = call_with(c, "PUT", path.data, json_pack("{s:s}", "owner", o->args[1]), &j);
        code = print_buckets(c, code, j);
    } else {
        fprintf(c->errf, "unigw-admin: usage: unigw-admin bucket create NAME --owner USER | "
                         "list | show NAME | delete NAME | set-owner NAME USER\n");
        code = ADM_EXIT_USAGE;
    }
    gw_buf_free(&path);
    return code;
}
