/* unigw-admin policy get|set|delete: the bucket policy document as JSON.
 * "set" reads the document from a file ("-": standard input) and sends it
 * unchanged; the node validates it with the S3 policy engine. */
#include <errno.h>
#include <string.h>

#include "admin.h"

#define ADM_POLICY_MAX (64 * 1024)

/* Read @file (or stdin for "-") into @out; false with a message printed. */
static bool read_doc(struct adm_ctx *c, const char *file, struct gw_buf *out)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        fprintf(c->errf, "unigw-admin: cannot open %s: %s\n", file, strerror(errno));
        return false;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && out->len <= ADM_POLICY_MAX) {
        gw_buf_append(out, chunk, n);
    }
    if (f != stdin) {
        fclose(f);
    }
    if (out->len > ADM_POLICY_MAX) {
        fprintf(c->errf, "unigw-admin: %s is over %d bytes\n", file, ADM_POLICY_MAX);
        return false;
    }
    return true;
}

static int policy_get(struct adm_ctx *c, const char *path)
{
    struct gw_buf resp = GW_BUF_INIT;
    int code = adm_call_raw(c, "GET", path, NULL, 0, &resp);
    json_t *j;

    if (code == ADM_EXIT_OK) {
        j = json_loadb(resp.data != NULL ? resp.data : "", resp.len, 0, NULL);
        if (j != NULL) {
            adm_json_print(c, j);
            json_decref(j);
        } else {
            fwrite(resp.data, 1, resp.len, c->out);
        }
    }
    gw_buf_free(&resp);
    return code;
}

static int policy_set(struct adm_ctx *c, const char *path, const char *file)
{
    struct gw_buf doc = GW_BUF_INIT;
    struct gw_buf resp = GW_BUF_INIT;
    int code = ADM_EXIT_USAGE;

    if (read_doc(c, file, &doc)) {
        code = adm_call_raw(c, "PUT", path, doc.data, doc.len, &resp);
    }
    if (code == ADM_EXIT_OK) {
        if (c->o->is_json) {
            fwrite(resp.data, 1, resp.len, c->out);
        } else {
            fprintf(c->out, "policy of %s set\n", c->o->args[0]);
        }
    }
    gw_buf_free(&doc);
    gw_buf_free(&resp);
    return code;
}

int adm_cmd_policy(struct adm_ctx *c)
{
    const struct adm_opts *o = c->o;
    struct gw_buf path = GW_BUF_INIT;
    struct gw_buf resp = GW_BUF_INIT;
    int code;

    if (o->n_args >= 1) {
        adm_path(&path, "buckets", o->args[0], "policy");
    }
    if (strcmp(o->command, "get") == 0 && o->n_args == 1) {
        code = policy_get(c, path.data);
    } else if (strcmp(o->command, "set") == 0 && o->n_args == 2) {
        code = policy_set(c, path.data, o->args[1]);
    } else if (strcmp(o->command, "delete") == 0 && o->n_args == 1) {
        code = adm_call_raw(c, "DELETE", path.data, NULL, 0, &resp);
        if (code == ADM_EXIT_OK) {
            if (o->is_json) {
                fwrite(resp.data, 1, resp.len, c->out);
            } else {
                fprintf(c->out, "policy of %s deleted\n", o->args[0]);
            }
        }
    } else {
        fprintf(c->errf, "unigw-admin: usage: unigw-admin policy get BUCKET | "
                         "set BUCKET FILE | delete BUCKET\n");
        code = ADM_EXIT_USAGE;
    }
    gw_buf_free(&path);
    gw_buf_free(&resp);
    return code;
}
