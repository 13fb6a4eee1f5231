/* Bucket/key validation and the key -> POSIX path mapping.
 *
 * Happy path: a handler calls s3_path_for_key() with the decoded bucket and
 * key and gets "<root>/<bucket>/<key>".  Failure modes are all input errors
 * (GW_ERR_INVALID_BUCKET_NAME, GW_ERR_INVALID_KEY, GW_ERR_KEY_TOO_LONG,
 * GW_ERR_NO_SUCH_UPLOAD) reported before any path is written, plus
 * GW_ERR_INTERNAL when the caller's buffer is too small.  The validation is
 * what keeps every produced path inside <root>/<bucket>/: a key made only of
 * non-empty segments other than "." and "..", with no NUL, cannot climb. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>

#include "unigw/err.h"

#include "path.h"

#define S3_NS_TMP "tmp"
#define S3_NS_MULTIPART "multipart"

/* Length of the UTF-8 sequence starting with @c, or 0 for an invalid lead byte. */
static size_t utf8_seq_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        return 4;
    }
    return 0;
}

/* Check one multi-byte sequence of @n bytes at @p (lead byte already sized). */
static bool utf8_seq_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return false;
        }
    }
    if (n == 3 && p[0] == 0xe0 && p[1] < 0xa0) {
        return false; /* overlong */
    }
    if (n == 3 && p[0] == 0xed && p[1] >= 0xa0) {
        return false; /* UTF-16 surrogate */
    }
    if (n == 4 && p[0] == 0xf0 && p[1] < 0x90) {
        return false; /* overlong */
    }
    if (n == 4 && p[0] == 0xf4 && p[1] >= 0x90) {
        return false; /* above U+10FFFF */
    }
    return true;
}

bool s3__utf8_check(struct gw_str s, size_t *n_chars)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t count = 0;
    size_t i = 0;

    while (i < s.len) {
        size_t n = utf8_seq_len(p[i]);
        if (n == 0 || s.len - i < n || !utf8_seq_ok(p + i, n)) {
            return false;
        }
        i += n;
        count++;
    }
    if (n_chars != NULL) {
        *n_chars = count;
    }
    return true;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* True for a dotted-quad of 1..3-digit decimal groups ("192.168.5.4"). */
static bool looks_like_ipv4(struct gw_str s)
{
    size_t groups = 0;
    size_t digits = 0;

    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.p[i] == '.') {
            if (digits == 0 || digits > 3) {
                return false;
            }
            groups++;
            digits = 0;
        } else if (s.p[i] >= '0' && s.p[i] <= '9') {
            digits++;
        } else {
            return false;
        }
    }
    return groups == 4;
}

int s3_path_bucket_check_new(struct gw_str name)
{
    static const char *const bad_prefix[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const bad_suffix[] = {"-s3alias", "--ol-s3", "--x-s3", ".mrap"};

    if (name.len < S3_BUCKET_MIN_LEN || name.len > S3_BUCKET_MAX_LEN) {
        return GW_ERR_INVALID_BUCKET_NAME;
    }
    for (size_t i = 0; i < name.len; i++) {
        char c = name.p[i];
        if (!is_lower_alnum(c) && c != '.' && c != '-') {
            return GW_ERR_INVALID_BUCKET_NAME;
        }
        /* "..", ".-" and "-." : every dot-separated label must start and end
         * with a letter or digit, as DNS names (and AWS) require. */
        if (i > 0 && (c == '.' || name.p[i - 1] == '.') && (c == '.' || c == '-') &&
            (name.p[i - 1] == '.' || name.p[i - 1] == '-')) {
            return GW_ERR_INVALID_BUCKET_NAME;
        }
    }
    if (!is_lower_alnum(name.p[0]) || !is_lower_alnum(name.p[name.len - 1])) {
        return GW_ERR_INVALID_BUCKET_NAME;
    }
    for (size_t i = 0; i < sizeof bad_prefix / sizeof bad_prefix[0]; i++) {
        if (gw_str_has_prefix(name, gw_str_c(bad_prefix[i]))) {
            return GW_ERR_INVALID_BUCKET_NAME;
        }
    }
    for (size_t i = 0; i < sizeof bad_suffix / sizeof bad_suffix[0]; i++) {
        if (gw_str_has_suffix(name, gw_str_c(bad_suffix[i]))) {
            return GW_ERR_INVALID_BUCKET_NAME;
        }
    }
    return looks_like_ipv4(name) ? GW_ERR_INVALID_BUCKET_NAME : GW_OK;
}

int s3_path_bucket_check_existing(struct gw_str name)
{
    if (name.len == 0 || name.len > S3_BUCKET_EXISTING_MAX_LEN || name.p[0] == '.') {
        return GW_ERR_INVALID_BUCKET_NAME;
    }
    if (memchr(name.p, '/', name.len) != NULL || memchr(name.p, '\0', name.len) != NULL) {
        return GW_ERR_INVALID_BUCKET_NAME;
    }
    return s3__utf8_check(name, NULL) ? GW_OK : GW_ERR_INVALID_BUCKET_NAME;
}

/* Check one segment (between slashes) of a key. */
static bool segment_ok(const char *p, size_t len)
{
    if (len == 0 || len > S3_SEGMENT_MAX_LEN) {
        return false;
    }
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
        return false;
    }
    return true;
}

int s3_path_key_check(struct gw_str key)
{
    size_t start = 0;
    size_t end;

    if (key.len == 0) {
        return GW_ERR_INVALID_KEY;
    }
    if (key.len > S3_KEY_MAX_LEN) {
        return GW_ERR_KEY_TOO_LONG;
    }
    if (memchr(key.p, '\0', key.len) != NULL || !s3__utf8_check(key, NULL)) {
        return GW_ERR_INVALID_KEY;
    }
    /* A marker's trailing '/' ends the last segment; it does not open an empty one. */
    end = s3_path_key_is_marker(key) ? key.len - 1 : key.len;
    for (size_t i = 0; i <= end; i++) {
        if (i == end || key.p[i] == '/') {
            if (!segment_ok(key.p + start, i - start)) {
                return GW_ERR_INVALID_KEY;
            }
            start = i + 1;
        }
    }
    return GW_OK;
}

bool s3_path_key_is_marker(struct gw_str key)
{
    return key.len > 0 && key.p[key.len - 1] == '/';
}

/* snprintf into @out, GW_ERR_INTERNAL on truncation. */
__attribute__((format(printf, 3, 4))) static int path_printf(char *out, size_t cap,
                                                             const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= cap) ? GW_ERR_INTERNAL : GW_OK;
}

/* @root without its trailing slashes ("/" stays "" so "/x" comes out right). */
static int root_len(const char *root)
{
    size_t n = strlen(root);

    while (n > 0 && root[n - 1] == '/') {
        n--;
    }
    return n > (size_t)S3_PATH_MAX ? S3_PATH_MAX : (int)n;
}

int s3_path_for_bucket(char *out, size_t cap, const char *root, struct gw_str bucket)
{
    int rv = s3_path_bucket_check_existing(bucket);

    if (rv != 0) {
        return rv;
    }
    return path_printf(out, cap, "%.*s/%.*s", root_len(root), root, (int)bucket.len, bucket.p);
}

int s3_path_for_key(char *out, size_t cap, const char *root, struct gw_str bucket,
                    struct gw_str key)
{
    int rv;
    size_t key_len;

    rv = s3_path_bucket_check_existing(bucket);
    if (rv != 0) {
        return rv;
    }
    rv = s3_path_key_check(key);
    if (rv != 0) {
        return rv;
    }
    key_len = s3_path_key_is_marker(key) ? key.len - 1 : key.len;
    return path_printf(out, cap, "%.*s/%.*s/%.*s", root_len(root), root, (int)bucket.len,
                       bucket.p, (int)key_len, key.p);
}

int s3_path_key_rel(char *out, size_t cap, struct gw_str key)
{
    int rv = s3_path_key_check(key);

    if (rv != 0) {
        return rv;
    }
    return path_printf(out, cap, "%.*s",
                       (int)(s3_path_key_is_marker(key) ? key.len - 1 : key.len), key.p);
}

int s3_path_reserved_dir(char *out, size_t cap, const char *root)
{
    return path_printf(out, cap, "%.*s/" S3_RESERVED_DIR, root_len(root), root);
}

int s3_path_tmp_dir(char *out, size_t cap, const char *root)
{
    return path_printf(out, cap, "%.*s/" S3_RESERVED_DIR "/" S3_NS_TMP, root_len(root), root);
}

int s3_path_multipart_root(char *out, size_t cap, const char *root)
{
    return path_printf(out, cap, "%.*s/" S3_RESERVED_DIR "/" S3_NS_MULTIPART, root_len(root),
                       root);
}

/* [A-Za-z0-9._-]{1,max}, not starting with '.'. */
static bool token_valid(struct gw_str s, size_t max)
{
    if (s.len == 0 || s.len > max || s.p[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool s3_path_upload_id_valid(struct gw_str id)
{
    return token_valid(id, S3_UPLOAD_ID_MAX_LEN);
}

int s3_path_multipart_dir(char *out, size_t cap, const char *root, struct gw_str upload_id)
{
    if (!s3_path_upload_id_valid(upload_id)) {
        return GW_ERR_NO_SUCH_UPLOAD;
    }
    return path_printf(out, cap, "%.*s/" S3_RESERVED_DIR "/" S3_NS_MULTIPART "/%.*s",
                       root_len(root), root, (int)upload_id.len, upload_id.p);
}

int s3_path_tmp_file(char *out, size_t cap, const char *root, struct gw_str node)
{
    unsigned char rnd[16];
    char hex[sizeof rnd * 2 + 1];
    size_t got = 0;

    if (!token_valid(node, S3_NODE_NAME_MAX_LEN)) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return GW_ERR_IO;
        }
        got += (size_t)n;
    }
    gw_hex_encode(rnd, sizeof rnd, hex);
    return path_printf(out, cap, "%.*s/" S3_RESERVED_DIR "/" S3_NS_TMP "/%.*s-%s",
                       root_len(root), root, (int)node.len, node.p, hex);
}

void s3_path_parent_dirs(struct gw_str key, struct gw_str *dirs, size_t cap, size_t *n)
{
    size_t count = 0;
    size_t end = s3_path_key_is_marker(key) ? key.len - 1 : key.len;

    for (size_t i = 0; i < end; i++) {
        if (key.p[i] != '/') {
            continue;
        }
        if (count < cap) {
            dirs[count] = gw_str_make(key.p, i);
        }
        count++;
    }
    *n = count;
}
