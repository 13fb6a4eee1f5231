/* struct gw_buf: an owning, growable byte buffer. */
#ifndef UNIGW_INCLUDE_BUF_H
#define UNIGW_INCLUDE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "unigw/str.h"

struct gw_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define GW_BUF_INIT ((struct gw_buf){NULL, 0, 0})

/* Make room for @n more bytes (aborts on OOM). */
void gw_buf_reserve(struct gw_buf *b, size_t n);
void gw_buf_append(struct gw_buf *b, const void *p, size_t n);
void gw_buf_append_str(struct gw_buf *b, struct gw_str s);
void gw_buf_append_c(struct gw_buf *b, const char *s);
void gw_buf_append_byte(struct gw_buf *b, char c);
void gw_buf_printf(struct gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_buf_vprintf(struct gw_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append XML-escaped text (& < > " '). */
void gw_buf_append_xml(struct gw_buf *b, struct gw_str s);
/* Drop the first @n bytes. */
void gw_buf_consume(struct gw_buf *b, size_t n);
static inline struct gw_str gw_buf_str(const struct gw_buf *b)
{
    return (struct gw_str){b->data, b->len};
}
void gw_buf_reset(struct gw_buf *b);
void gw_buf_free(struct gw_buf *b);

/* Little-endian fixed-width encoders used by every binary record. */
void gw_buf_put_u8(struct gw_buf *b, uint8_t v);
void gw_buf_put_u16(struct gw_buf *b, uint16_t v);
void gw_buf_put_u32(struct gw_buf *b, uint32_t v);
void gw_buf_put_u64(struct gw_buf *b, uint64_t v);
/* u32 length then bytes. */
void gw_buf_put_bytes(struct gw_buf *b, struct gw_str s);

/* Bounds-checked reader over a byte string: every get returns false once the
 * input is exhausted, and stays false (sticky error) so a decoder can check once. */
struct gw_reader {
    const unsigned char *p;
    size_t len;
    bool failed;
};
static inline struct gw_reader gw_reader_make(const void *p, size_t len)
{
    return (struct gw_reader){(const unsigned char *)p, len, false};
}
bool gw_reader_u8(struct gw_reader *r, uint8_t *v);
bool gw_reader_u16(struct gw_reader *r, uint16_t *v);
bool gw_reader_u32(struct gw_reader *r, uint32_t *v);
bool gw_reader_u64(struct gw_reader *r, uint64_t *v);
/* A u32-length-prefixed byte string; the view points into the reader's input. */
bool gw_reader_bytes(struct gw_reader *r, struct gw_str *v);

#endif
