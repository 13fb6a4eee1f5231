/* Fuzz the internal RPC decoder: decode frames from the input until it is used up. */
#include <stddef.h>
#include <stdint.h>

#include "forward.h"
#include "unigw/err.h"

#define FUZZ_KEY "unigw-fuzz-rpc-key-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct repl__msg m;
    size_t used = 0;

    while (size > 0 &&
           repl__msg_decode(data, size, FUZZ_KEY, sizeof FUZZ_KEY - 1, &m, &used) == GW_OK) {
        data += used;
        size -= used;
    }
    return 0;
}
