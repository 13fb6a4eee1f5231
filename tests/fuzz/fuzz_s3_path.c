/* libFuzzer target: s3/path key and bucket checks and the key -> path
 * mapping.  Whatever the input, a produced path must stay inside
 * <root>/<bucket>/ (no "." or ".." segment, no "//"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless @path starts with "/r/b/" and has no ".", ".." or empty segment. */
static void check_contained(const char *path)
{
    const char *seg = path + strlen("/r/b/");

    if (strncmp(path, "/r/b/", 5) != 0) {
        abort();
    }
    while (*seg != '\0') {
        const char *end = strchr(seg, '/');
        size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            abort();
        }
        seg = end != NULL ? end + 1 : seg + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_str in = gw_str_make((const char *)data, size);
    struct gw_str dirs[8];
    char out[S3_PATH_MAX];
    size_t n = 0;

    (void)s3_path_bucket_check_new(in);
    (void)s3_path_bucket_check_existing(in);
    (void)s3_path_upload_id_valid(in);
    if (s3_path_for_key(out, sizeof out, "/r", GW_STR("b"), in) == 0) {
        check_contained(out);
        s3_path_parent_dirs(in, dirs, 8, &n);
        for (size_t i = 0; i < n && i < 8; i++) {
            if (dirs[i].len == 0 || dirs[i].len >= in.len) {
                abort();
            }
        }
    }
    return 0;
}
