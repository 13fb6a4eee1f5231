/* Fuzz target: arbitrary bytes through node/http, the llhttp glue, as a
 * pipelined stream fed in pieces whose sizes come from the input itself.
 * After each request the arena is released and the next one is parsed, as
 * the connection does; any crash, leak or UB is a finding. */
#include <stdint.h>
#include <string.h>

#include "unigw/arena.h"
#include "unigw/buf.h"

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *arg, const char *p, size_t len)
{
    struct gw_buf *b = arg;

    /* Bounded like the connection's body buffer: consume in place. */
    gw_buf_append(b, p, len);
    if (b->len > 65536) {
        b->len = 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct node_http_limits lim = {1024, 16, 256};
    struct gw_arena arena;
    struct s3_http_request req;
    struct gw_buf body = GW_BUF_INIT;
    struct node_http h;
    size_t step;
    const char *p;
    size_t len;

    if (size < 1) {
        return 0;
    }
    step = (size_t)data[0] % 17 + 1; /* the first byte picks the read size */
    p = (const char *)data + 1;
    len = size - 1;
    gw_arena_init(&arena);
    node__http_init(&h, &lim, &arena, &req, sink, &body);
    for (int guard = 0; guard < 100000; guard++) {
        size_t n = len < step ? len : step;
        size_t used;
        enum node_http_event ev = node__http_feed(&h, p, n, &used);

        p += used;
        len -= used;
        if (ev == NODE_HTTP_ERROR) {
            break;
        }
        if (ev == NODE_HTTP_HEAD) {
            /* What a handler would look at. */
            (void)node__http_header(&req, "host");
            (void)node__http_keep_alive(&h);
        } else if (ev == NODE_HTTP_DONE) {
            node__http_next(&h);
            gw_arena_release(&arena);
        } else if (len == 0) {
            break;
        }
    }
    node__http_close(&h);
    gw_arena_release(&arena);
    gw_buf_free(&body);
    return 0;
}
