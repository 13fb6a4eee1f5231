/* Fuzz target: arbitrary bytes as a metadata command (meta/cmd.c).  Decoding
 * must never crash or read out of bounds; whatever decodes must re-encode to
 * exactly the input bytes (the format is canonical), and then decode again to
 * the same command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/buf.h"
#include "unigw/err.h"
#include "unigw/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_buf again = GW_BUF_INIT;
    struct meta_cmd c, c2;
    int rv;

    rv = meta_cmd_decode(data, size, &c);
    if (rv != GW_OK) {
        if (rv != GW_ERR_CORRUPT && rv != GW_ERR_TOO_NEW) {
            abort();
        }
        return 0;
    }
    if (meta_cmd_encode(&again, &c) != GW_OK || again.len != size ||
        memcmp(again.data, data, size) != 0) {
        abort();
    }
    if (meta_cmd_decode(again.data, again.len, &c2) != GW_OK || c2.type != c.type ||
        c2.hdr.ts_ms != c.hdr.ts_ms || memcmp(c2.hdr.req_id, c.hdr.req_id, META_REQ_ID_LEN) != 0) {
        abort();
    }
    gw_buf_free(&again);
    return 0;
}
