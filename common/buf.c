/* Growable buffers and the little-endian record encoders/decoders. */
#include <stdio.h>

#include "unigw/alloc.h"
#include "unigw/buf.h"

void gw_buf_reserve(struct gw_buf *b, size_t n)
{
    size_t cap;

    if (b->cap - b->len >= n && b->data != NULL) {
        return;
    }
    cap = b->cap ? b->cap : 64;
    while (cap - b->len < n + 1) {
        cap *= 2;
    }
    b->data = gw_realloc(b->data, cap);
    b->cap = cap;
}

void gw_buf_append(struct gw_buf *b, const void *p, size_t n)
{
    gw_buf_reserve(b, n + 1);
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0'; /* handy for logging; never counted */
}

void gw_buf_append_str(struct gw_buf *b, struct gw_str s)
{
    gw_buf_append(b, s.p, s.len);
}

void gw_buf_append_c(struct gw_buf *b, const char *s)
{
    gw_buf_append(b, s, strlen(s));
}

void gw_buf_append_byte(struct gw_buf *b, char c)
{
    gw_buf_append(b, &c, 1);
}

void gw_buf_vprintf(struct gw_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return;
    }
    gw_buf_reserve(b, (size_t)n + 1);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    gw_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void gw_buf_append_xml(struct gw_buf *b, struct gw_str s)
{
    size_t start = 0;

    for (size_t i = 0; i < s.len; i++) {
        const char *rep = NULL;
        switch (s.p[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        case '\n': rep = "&#10;"; break;
        default: break;
        }
        if (rep != NULL) {
            gw_buf_append(b, s.p + start, i - start);
            gw_buf_append_c(b, rep);
            start = i + 1;
        }
    }
    gw_buf_append(b, s.p + start, s.len - start);
}

void gw_buf_consume(struct gw_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void gw_buf_reset(struct gw_buf *b)
{
    b->len = 0;
}

void gw_buf_free(struct gw_buf *b)
{
    gw_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static void put_le(struct gw_buf *b, uint64_t v, size_t n)
{
    unsigned char tmp[8];

    for (size_t i = 0; i < n; i++) {
        tmp[i] = (unsigned char)(v >> (8 * i));
    }
    gw_buf_append(b, tmp, n);
}

void gw_buf_put_u8(struct gw_buf *b, uint8_t v)
{
    put_le(b, v, 1);
}

void gw_buf_put_u16(struct gw_buf *b, uint16_t v)
{
    put_le(b, v, 2);
}

void gw_buf_put_u32(struct gw_buf *b, uint32_t v)
{
    put_le(b, v, 4);
}

void gw_buf_put_u64(struct gw_buf *b, uint64_t v)
{
    put_le(b, v, 8);
}

void gw_buf_put_bytes(struct gw_buf *b, struct gw_str s)
{
    gw_buf_put_u32(b, (uint32_t)s.len);
    gw_buf_append(b, s.p, s.len);
}

static bool get_le(struct gw_reader *r, uint64_t *v, size_t n)
{
    if (r->failed || r->len < n) {
        r->failed = true;
        return false;
    }
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        *v |= (uint64_t)r->p[i] << (8 * i);
    }
    r->p += n;
    r->len -= n;
    return true;
}

bool gw_reader_u8(struct gw_reader *r, uint8_t *v)
{
    uint64_t x = 0;
    bool ok = get_le(r, &x, 1);
    *v = (uint8_t)x;
    return ok;
}

bool gw_reader_u16(struct gw_reader *r, uint16_t *v)
{
    uint64_t x = 0;
    bool ok = get_le(r, &x, 2);
    *v = (uint16_t)x;
    return ok;
}

bool gw_reader_u32(struct gw_reader *r, uint32_t *v)
{
    uint64_t x = 0;
    bool ok = get_le(r, &x, 4);
    *v = (uint32_t)x;
    return ok;
}

bool gw_reader_u64(struct gw_reader *r, uint64_t *v)
{
    return get_le(r, v, 8);
}

bool gw_reader_bytes(struct gw_reader *r, struct gw_str *v)
{
    uint32_t n = 0;

    if (!gw_reader_u32(r, &n)) {
        return false;
    }
    if (r->len < n) {
        r->failed = true;
        return false;
    }
    *v = gw_str_make((const char *)r->p, n);
    r->p += n;
    r->len -= n;
    return true;
}
