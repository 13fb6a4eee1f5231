/* node/health: /health/live and /health/ready answers.
 *
 * Both write a tiny body from the exchange arena with a known length and end
 * the exchange from the write callback (or at once when the write is refused,
 * for instance because the client is already gone).  The request body, if
 * any, is left to node, which drains or closes. */
#include <stdio.h>

#include "unigw/buf.h"

#include "health.h"

static void health_done_cb(struct s3_exchange *x, int rv, void *arg)
{
    s3_resp_end(x);
}

static void respond(struct s3_exchange *x, int status, const char *type, const char *body,
                    size_t len)
{
    struct s3_header h = {GW_STR("content-type"), gw_str_c(type)};

    s3_resp_start(x, status, &h, 1, (int64_t)len);
    if (s3_resp_write(x, body, len, health_done_cb, NULL) != 0) {
        s3_resp_end(x);
    }
}

void node_health_live(struct s3_exchange *x)
{
    if (x->op_name == NULL) {
        x->op_name = "HealthLive";
    }
    respond(x, 200, "text/plain", "ok\n", 3);
}

/* @s as a JSON string body (quotes and control characters escaped). */
static void append_json_str(struct gw_buf *b, const char *s)
{
    gw_buf_append_byte(b, '"');
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            gw_buf_append_byte(b, '\\');
            gw_buf_append_byte(b, (char)c);
        } else if (c < 0x20) {
            gw_buf_printf(b, "\\u%04x", c);
        } else {
            gw_buf_append_byte(b, (char)c);
        }
    }
    gw_buf_append_byte(b, '"');
}

void node_health_ready(struct s3_exchange *x, bool ready, const char *detail)
{
    struct gw_buf b = GW_BUF_INIT;
    char *body;
    size_t len;

    if (x->op_name == NULL) {
        x->op_name = "HealthReady";
    }
    gw_buf_printf(&b, "{\"ready\":%s,\"detail\":", ready ? "true" : "false");
    append_json_str(&b, detail != NULL ? detail : "");
    gw_buf_append_c(&b, "}\n");
    len = b.len;
    body = gw_arena_strndup(x->arena, b.data, b.len);
    gw_buf_free(&b);
    respond(x, ready ? 200 : 503, "application/json", body, len);
}
