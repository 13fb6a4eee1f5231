/* libFuzzer target: the DeleteObjects body parser. */
#include <stdint.h>
#include <stdlib.h>

#include "unigw/arena.h"

#include "xml_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_arena a;
    struct s3_xml_delete d;

    gw_arena_init(&a);
    if (s3_xml_parse_delete(gw_str_make((const char *)data, size), &a, &d) == 0) {
        if (d.n_objects == 0 || d.n_objects > S3_MAX_DELETE_OBJECTS) {
            abort();
        }
        for (size_t i = 0; i < d.n_objects; i++) {
            if (d.objects[i].key.p == NULL) {
                abort();
            }
        }
    }
    gw_arena_release(&a);
    return 0;
}
