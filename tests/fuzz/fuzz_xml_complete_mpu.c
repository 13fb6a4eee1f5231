/* libFuzzer target: the CompleteMultipartUpload body parser. */
#include <stdint.h>
#include <stdlib.h>

#include "unigw/arena.h"

#include "xml_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_arena a;
    struct s3_xml_complete c;

    gw_arena_init(&a);
    if (s3_xml_parse_complete_mpu(gw_str_make((const char *)data, size), &a, &c) == 0) {
        if (c.n_parts == 0 || c.n_parts > S3_MAX_PARTS) {
            abort();
        }
        for (size_t i = 0; i < c.n_parts; i++) {
            if (c.parts[i].part_number < 1 || c.parts[i].part_number > S3_MAX_PART_NUMBER ||
                c.parts[i].etag.p == NULL) {
                abort();
            }
        }
        (void)s3_xml_complete_check_order(&c);
    }
    gw_arena_release(&a);
    return 0;
}
