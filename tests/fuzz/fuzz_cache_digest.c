/* libFuzzer target: node/cache/digest decoding.  Never crash or leak; what
 * decodes must encode back to the same bytes and answer lookups. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/buf.h"
#include "unigw/err.h"

#include "digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct node_cache_digest d;
    struct gw_buf b = GW_BUF_INIT;

    if (node_cache_digest_decode(&d, data, size) != GW_OK) {
        if (d.bits != NULL) {
            abort(); /* a refused input holds nothing */
        }
        return 0;
    }
    node_cache_digest_encode(&d, &b);
    if (b.len != size || memcmp(b.data, data, size) != 0) {
        abort();
    }
    (void)node_cache_digest_may_hold(&d, 0x0123456789abcdefULL);
    gw_buf_free(&b);
    node_cache_digest_free(&d);
    return 0;
}
