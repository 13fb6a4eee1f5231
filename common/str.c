/* String-view helpers: comparison, splitting, numbers, hex, base64 and the
 * percent-encoding rules that SigV4 and S3 share. */
#include <ctype.h>

#include "unigw/str.h"

bool gw_str_eq(struct gw_str a, struct gw_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool gw_str_eq_c(struct gw_str a, const char *b)
{
    return gw_str_eq(a, gw_str_c(b));
}

bool gw_str_caseeq(struct gw_str a, struct gw_str b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (tolower((unsigned char)a.p[i]) != tolower((unsigned char)b.p[i])) {
            return false;
        }
    }
    return true;
}

bool gw_str_caseeq_c(struct gw_str a, const char *b)
{
    return gw_str_caseeq(a, gw_str_c(b));
}

bool gw_str_has_prefix(struct gw_str s, struct gw_str prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

bool gw_str_has_suffix(struct gw_str s, struct gw_str suffix)
{
    return s.len >= suffix.len &&
           (suffix.len == 0 || memcmp(s.p + s.len - suffix.len, suffix.p, suffix.len) == 0);
}

int gw_str_cmp(struct gw_str a, struct gw_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;

    if (c != 0) {
        return c;
    }
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

ptrdiff_t gw_str_chr(struct gw_str s, char c)
{
    const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
    return q ? q - s.p : -1;
}

ptrdiff_t gw_str_find(struct gw_str s, struct gw_str needle)
{
    const char *q;

    if (needle.len == 0) {
        return 0;
    }
    q = s.len ? memmem(s.p, s.len, needle.p, needle.len) : NULL;
    return q ? q - s.p : -1;
}

struct gw_str gw_str_trim(struct gw_str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t')) {
        s.len--;
    }
    return s;
}

bool gw_str_split(struct gw_str *s, char sep, struct gw_str *head)
{
    ptrdiff_t i = gw_str_chr(*s, sep);

    if (i < 0) {
        *head = *s;
        s->p += s->len;
        s->len = 0;
        return false;
    }
    *head = gw_str_make(s->p, (size_t)i);
    s->p += i + 1;
    s->len -= (size_t)i + 1;
    return true;
}

bool gw_str_to_u64(struct gw_str s, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0 || s.len > 20) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static const char hex_lower[] = "0123456789abcdef";

void gw_hex_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_lower[p[i] >> 4];
        out[2 * i + 1] = hex_lower[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool gw_hex_decode(struct gw_str hex, void *out, size_t n)
{
    unsigned char *o = out;

    if (hex.len != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(hex.p[2 * i]);
        int lo = hex_val(hex.p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        o[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t gw_base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= p[i + 2];
        }
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_val(char c)
{
    const char *q = c ? strchr(b64, c) : NULL;
    return q ? (int)(q - b64) : -1;
}

bool gw_base64_decode(struct gw_str in, void *out, size_t cap, size_t *out_len)
{
    unsigned char *o = out;
    size_t n = 0;

    if (in.len % 4 != 0) {
        return false;
    }
    for (size_t i = 0; i < in.len; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t j = 0; j < 4; j++) {
            char c = in.p[i + j];
            if (c == '=' && i + 4 == in.len && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad > 0 || (v[j] = b64_val(c)) < 0) {
                return false;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (n + 3 - pad > cap) {
            return false;
        }
        o[n++] = (unsigned char)(w >> 16);
        if (pad < 2) {
            o[n++] = (unsigned char)(w >> 8);
        }
        if (pad < 1) {
            o[n++] = (unsigned char)w;
        }
    }
    *out_len = n;
    return true;
}

bool gw_url_decode(struct gw_str in, char *out, size_t *out_len, bool plus_is_space)
{
    size_t n = 0;

    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == '%') {
            int hi;
            int lo;
            if (in.len - i < 3) {
                return false;
            }
            hi = hex_val(in.p[i + 1]);
            lo = hex_val(in.p[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[n++] = ' ';
        } else {
            out[n++] = c;
        }
    }
    *out_len = n;
    return true;
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

size_t gw_url_encode(struct gw_str in, char *out, bool keep_slash)
{
    static const char hex_upper[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.p[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex_upper[c >> 4];
            out[n++] = hex_upper[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}
