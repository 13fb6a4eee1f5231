/* String views and small string helpers.
 *
 * struct gw_str is a non-owning (pointer, length) view; it is not
 * NUL-terminated.  Whoever produces one documents how long it stays valid. */
#ifndef UNIGW_INCLUDE_STR_H
#define UNIGW_INCLUDE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct gw_str {
    const char *p;
    size_t len;
};

#define GW_STR(lit) ((struct gw_str){(lit), sizeof(lit) - 1})
#define GW_STR_NULL ((struct gw_str){NULL, 0})

static inline struct gw_str gw_str_c(const char *s)
{
    return (struct gw_str){s, s ? strlen(s) : 0};
}

static inline struct gw_str gw_str_make(const char *p, size_t len)
{
    return (struct gw_str){p, len};
}

bool gw_str_eq(struct gw_str a, struct gw_str b);
bool gw_str_eq_c(struct gw_str a, const char *b);
/* ASCII case-insensitive comparison. */
bool gw_str_caseeq(struct gw_str a, struct gw_str b);
bool gw_str_caseeq_c(struct gw_str a, const char *b);
bool gw_str_has_prefix(struct gw_str s, struct gw_str prefix);
bool gw_str_has_suffix(struct gw_str s, struct gw_str suffix);
/* memcmp order (UTF-8 binary order); shorter sorts first on a tie. */
int gw_str_cmp(struct gw_str a, struct gw_str b);
/* Index of the first @c in @s, or -1. */
ptrdiff_t gw_str_chr(struct gw_str s, char c);
/* Index of the first occurrence of @needle in @s, or -1. */
ptrdiff_t gw_str_find(struct gw_str s, struct gw_str needle);
/* Strip ASCII spaces and tabs at both ends. */
struct gw_str gw_str_trim(struct gw_str s);
/* Split at the first @sep: @head gets what is before it, @s what is after; false (and
 * @head = whole @s, @s emptied) when there is no @sep. */
bool gw_str_split(struct gw_str *s, char sep, struct gw_str *head);

/* Parse a whole decimal unsigned number (no sign, no spaces) into @out; false
 * on anything else or on overflow. */
bool gw_str_to_u64(struct gw_str s, uint64_t *out);

/* Lower-case hex of @n bytes into @out (2n+1 bytes with the NUL). */
void gw_hex_encode(const void *in, size_t n, char *out);
/* Decode exactly 2n hex digits (either case) into @out; false on a bad digit or length. */
bool gw_hex_decode(struct gw_str hex, void *out, size_t n);

/* Standard base64 with padding.  @out needs gw_base64_len(n) + 1 bytes. */
#define gw_base64_len(n) ((((n) + 2) / 3) * 4)
size_t gw_base64_encode(const void *in, size_t n, char *out);
/* Strict decode (padding required, no whitespace); returns false on bad input or
 * when the result would not fit @cap.  *out_len gets the decoded size. */
bool gw_base64_decode(struct gw_str in, void *out, size_t cap, size_t *out_len);

/* Percent-decode @in into @out (cap >= in.len).  '+' stays '+' (S3 paths and
 * copy sources); with @plus_is_space it becomes ' ' (form-style query values).
 * False on a malformed escape.  A decoded NUL is kept: callers validate. */
bool gw_url_decode(struct gw_str in, char *out, size_t *out_len, bool plus_is_space);
/* Percent-encode the way SigV4 and S3 do: unreserved A-Z a-z 0-9 - _ . ~ stay;
 * '/' stays when @keep_slash; everything else is %XX (upper-case hex).
 * @out needs 3 * in.len + 1 bytes.  Returns the length written. */
size_t gw_url_encode(struct gw_str in, char *out, bool keep_slash);

#endif
