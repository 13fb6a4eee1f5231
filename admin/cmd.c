/* What every unigw-admin command shares: building API paths, calling the
 * node, turning its answer into output and an exit code. */
#include <string.h>

#include "admin.h"
#include "unigw/alloc.h"
#include "unigw/err.h"

void adm_path(struct gw_buf *out, const char *a, const char *b, const char *c)
{
    char *enc;

    gw_buf_reset(out);
    gw_buf_printf(out, "/admin/v1/%s", a);
    if (b != NULL) {
        enc = gw_malloc(3 * strlen(b) + 1);
        gw_url_encode(gw_str_c(b), enc, false);
        gw_buf_printf(out, "/%s", enc);
        gw_free(enc);
    }
    if (c != NULL) {
        gw_buf_printf(out, "/%s", c);
    }
    gw_buf_append_byte(out, '\0');
    out->len--; /* keep it a C string */
}

void adm_json_print(struct adm_ctx *c, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);

    fprintf(c->out, "%s\n", text != NULL ? text : "null");
    free(text);
}

/* Print the node's error answer: its JSON error and message when it sent one. */
static int server_error(struct adm_ctx *c, int status, const struct gw_buf *resp)
{
    json_t *j = json_loadb(resp->data != NULL ? resp->data : "", resp->len, 0, NULL);
    json_t *code = json_object_get(j, "error");
    json_t *msg = json_object_get(j, "message");

    if (json_is_string(code)) {
        fprintf(c->errf, "unigw-admin: %s: %s\n", json_string_value(code),
                json_is_string(msg) ? json_string_value(msg) : "");
    } else {
        fprintf(c->errf, "unigw-admin: the node answered HTTP %d\n", status);
    }
    json_decref(j);
    return ADM_EXIT_SERVER;
}

int adm_call_raw(struct adm_ctx *c, const char *method, const char *path, const char *body,
                 size_t len, struct gw_buf *resp)
{
    char err[512];
    int status = 0;
    int rv = adm_http(c->o, method, path, body, len, &status, resp, err, sizeof err);

    if (rv != 0) {
        fprintf(c->errf, "unigw-admin: %s: %s\n", c->o->endpoint, err);
        return ADM_EXIT_CONNECT;
    }
    if (status < 200 || status > 299) {
        return server_error(c, status, resp);
    }
    return ADM_EXIT_OK;
}

int adm_call(struct adm_ctx *c, const char *method, const char *path, json_t *body,
             json_t **json)
{
    struct gw_buf resp = GW_BUF_INIT;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    int code = adm_call_raw(c, method, path, text, text != NULL ? strlen(text) : 0, &resp);

    free(text);
    *json = NULL;
    if (code == ADM_EXIT_OK) {
        *json = json_loadb(resp.data != NULL ? resp.data : "", resp.len, 0, NULL);
        if (*json == NULL) {
            fprintf(c->errf, "unigw-admin: the node's answer is not JSON\n");
            code = ADM_EXIT_CONNECT;
        }
    }
    gw_buf_free(&resp);
    return code;
}
