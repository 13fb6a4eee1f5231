/* libFuzzer target: the Tagging body parser and the x-amz-tagging header
 * parser (the same input is fed to both). */
#include <stdint.h>
#include <stdlib.h>

#include "unigw/arena.h"

#include "xml_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_str in = gw_str_make((const char *)data, size);
    struct gw_arena a;
    struct s3_tagset t;
    struct gw_str loc;

    gw_arena_init(&a);
    if (s3_xml_parse_tagging(in, S3_MAX_BUCKET_TAGS, &a, &t) == 0 &&
        s3_tagset_check(&t, S3_MAX_BUCKET_TAGS) != 0) {
        abort();
    }
    if (s3_xml_parse_tagging_header(in, S3_MAX_OBJECT_TAGS, &a, &t) == 0 &&
        s3_tagset_check(&t, S3_MAX_OBJECT_TAGS) != 0) {
        abort();
    }
    (void)s3_xml_parse_create_bucket(in, &a, &loc);
    gw_arena_release(&a);
    return 0;
}
