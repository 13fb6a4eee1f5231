/* The response-side XML writer, date formats and the encoding-type=url key
 * encoding.
 *
 * Everything here appends to a struct gw_buf and cannot fail (gw_buf aborts
 * on OOM); only s3_http_date_parse, which reads client input, returns an
 * error.  Dates are computed with plain calendar arithmetic, so no time zone
 * or locale state is touched and every function is thread-safe. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "unigw/err.h"

#include "xml_out.h"

static const char *const wkday_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void s3_xml_escape(struct gw_buf *b, struct gw_str text)
{
    size_t start = 0;

    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.p[i];
        const char *rep = NULL;
        char num[8];
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(num, sizeof num, "&#x%X;", c);
                rep = num;
            }
            break;
        }
        if (rep != NULL) {
            gw_buf_append(b, text.p + start, i - start);
            gw_buf_append_c(b, rep);
            start = i + 1;
        }
    }
    gw_buf_append(b, text.p + start, text.len - start);
}

void s3_xml_begin(struct s3_xml_writer *w, struct gw_buf *buf, const char *root, const char *ns)
{
    w->buf = buf;
    w->depth = 0;
    gw_buf_append_c(buf, S3_XML_DECL);
    if (ns == NULL) {
        s3_xml_open(w, root);
        return;
    }
    gw_buf_printf(buf, "<%s xmlns=\"%s\">", root, ns);
    w->stack[w->depth++] = root;
}

void s3_xml_end(struct s3_xml_writer *w)
{
    while (w->depth > 0) {
        s3_xml_close(w);
    }
}

void s3_xml_open(struct s3_xml_writer *w, const char *name)
{
    assert(w->depth < S3_XML_MAX_DEPTH);
    w->stack[w->depth++] = name;
    gw_buf_printf(w->buf, "<%s>", name);
}

void s3_xml_close(struct s3_xml_writer *w)
{
    assert(w->depth > 0);
    gw_buf_printf(w->buf, "</%s>", w->stack[--w->depth]);
}

void s3_xml_elem(struct s3_xml_writer *w, const char *name, struct gw_str text)
{
    gw_buf_printf(w->buf, "<%s>", name);
    s3_xml_escape(w->buf, text);
    gw_buf_printf(w->buf, "</%s>", name);
}

void s3_xml_elem_c(struct s3_xml_writer *w, const char *name, const char *text)
{
    s3_xml_elem(w, name, gw_str_c(text));
}

void s3_xml_elem_u64(struct s3_xml_writer *w, const char *name, uint64_t v)
{
    gw_buf_printf(w->buf, "<%s>%" PRIu64 "</%s>", name, v, name);
}

void s3_xml_elem_bool(struct s3_xml_writer *w, const char *name, bool v)
{
    gw_buf_printf(w->buf, "<%s>%s</%s>", name, v ? "true" : "false", name);
}

void s3_xml_elem_time(struct s3_xml_writer *w, const char *name, int64_t ns)
{
    char t[S3_ISO8601_LEN + 1];

    s3_time_iso8601(ns, t);
    gw_buf_printf(w->buf, "<%s>%s</%s>", name, t, name);
}

void s3_xml_elem_key(struct s3_xml_writer *w, const char *name, struct gw_str key,
                     bool url_encode)
{
    if (!url_encode) {
        s3_xml_elem(w, name, key);
        return;
    }
    gw_buf_printf(w->buf, "<%s>", name);
    s3_url_encode_key(w->buf, key); /* only [A-Za-z0-9-_.~/%]: nothing to escape */
    gw_buf_printf(w->buf, "</%s>", name);
}

void s3_xml_elem_etag(struct s3_xml_writer *w, const char *name, struct gw_str etag)
{
    gw_buf_printf(w->buf, "<%s>&quot;", name);
    s3_xml_escape(w->buf, etag);
    gw_buf_printf(w->buf, "&quot;</%s>", name);
}

void s3_url_encode_key(struct gw_buf *b, struct gw_str key)
{
    static const char hex[] = "0123456789ABCDEF";

    gw_buf_reserve(b, key.len * 3);
    for (size_t i = 0; i < key.len; i++) {
        unsigned char c = (unsigned char)key.p[i];
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == '/';
        if (keep) {
            b->data[b->len++] = (char)c;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = hex[c >> 4];
            b->data[b->len++] = hex[c & 15];
        }
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t s3__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe;
    unsigned doy;
    unsigned doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void s3__civil_from_secs(int64_t sec, struct tm *tm)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;

    tm->tm_year = (int)((int64_t)yoe + era * 400 + (m <= 2) - 1900);
    tm->tm_mon = (int)m - 1;
    tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->tm_hour = (int)(rem / 3600);
    tm->tm_min = (int)(rem / 60 % 60);
    tm->tm_sec = (int)(rem % 60);
    tm->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

size_t s3_time_iso8601(int64_t ns, char *out)
{
    int64_t sec = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
    int ms = (int)((ns - sec * 1000000000) / 1000000);
    struct tm tm;
    int n;

    char tmp[96]; /* room for any int the compiler cannot bound */

    s3__civil_from_secs(sec, &tm);
    n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    n = n < 0 ? 0 : n > S3_ISO8601_LEN ? S3_ISO8601_LEN : n;
    memcpy(out, tmp, (size_t)n);
    out[n] = '\0';
    return (size_t)n;
}

size_t s3_http_date_format(int64_t sec, char *out)
{
    struct tm tm;
    int n;

    s3__civil_from_secs(sec, &tm);
    n = snprintf(out, S3_HTTP_DATE_LEN + 1, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 wkday_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n < 0 ? 0 : (size_t)n > S3_HTTP_DATE_LEN ? S3_HTTP_DATE_LEN : (size_t)n;
}

/* A cursor over the date string; every reader returns false past the end. */
struct date_cur {
    struct gw_str s;
    size_t i;
};

static bool cur_char(struct date_cur *c, char ch)
{
    if (c->i >= c->s.len || c->s.p[c->i] != ch) {
        return false;
    }
    c->i++;
    return true;
}

/* Exactly @n digits. */
static bool cur_digits(struct date_cur *c, size_t n, int *v)
{
    *v = 0;
    for (size_t k = 0; k < n; k++) {
        char ch = c->i < c->s.len ? c->s.p[c->i] : '\0';
        if (ch < '0' || ch > '9') {
            return false;
        }
        *v = *v * 10 + (ch - '0');
        c->i++;
    }
    return true;
}

static bool cur_month(struct date_cur *c, int *mon)
{
    if (c->s.len - c->i < 3) {
        return false;
    }
    for (int m = 0; m < 12; m++) {
        if (memcmp(c->s.p + c->i, month_names[m], 3) == 0) {
            *mon = m + 1;
            c->i += 3;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool cur_time(struct date_cur *c, int *h, int *m, int *s)
{
    return cur_digits(c, 2, h) && cur_char(c, ':') && cur_digits(c, 2, m) && cur_char(c, ':') &&
           cur_digits(c, 2, s) && *h < 24 && *m < 60 && *s <= 60;
}

/* The part after the weekday name: ", DD Mon YYYY HH:MM:SS GMT" (IMF),
 * ", DD-Mon-YY HH:MM:SS GMT" (RFC 850) or " Mon  D HH:MM:SS YYYY" (asctime). */
static bool parse_after_wkday(struct date_cur *c, int *y, int *mon, int *d, int *hms)
{
    if (cur_char(c, ',')) {
        if (!cur_char(c, ' ') || !cur_digits(c, 2, d)) {
            return false;
        }
        if (cur_char(c, '-')) {
            if (!cur_month(c, mon) || !cur_char(c, '-') || !cur_digits(c, 2, y)) {
                return false;
            }
            *y += *y < 70 ? 2000 : 1900;
        } else if (!cur_char(c, ' ') || !cur_month(c, mon) || !cur_char(c, ' ') ||
                   !cur_digits(c, 4, y)) {
            return false;
        }
        return cur_char(c, ' ') && cur_time(c, &hms[0], &hms[1], &hms[2]) && cur_char(c, ' ') &&
               cur_char(c, 'G') && cur_char(c, 'M') && cur_char(c, 'T');
    }
    if (!cur_char(c, ' ') || !cur_month(c, mon) || !cur_char(c, ' ')) {
        return false;
    }
    if (cur_char(c, ' ')) {
        if (!cur_digits(c, 1, d)) {
            return false;
        }
    } else if (!cur_digits(c, 2, d)) {
        return false;
    }
    return cur_char(c, ' ') && cur_time(c, &hms[0], &hms[1], &hms[2]) && cur_char(c, ' ') &&
           cur_digits(c, 4, y);
}

int s3_http_date_parse(struct gw_str s, int64_t *sec)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct date_cur c = {gw_str_trim(s), 0};
    int y = 0;
    int mon = 0;
    int d = 0;
    int hms[3] = {0, 0, 0};

    while (c.i < c.s.len && ((c.s.p[c.i] >= 'A' && c.s.p[c.i] <= 'Z') ||
                             (c.s.p[c.i] >= 'a' && c.s.p[c.i] <= 'z'))) {
        c.i++;
    }
    if (c.i < 3 || !parse_after_wkday(&c, &y, &mon, &d, hms) || c.i != c.s.len) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (d < 1 || d > mdays[mon - 1] ||
        (mon == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    *sec = s3__days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 + hms[0] * 3600 +
           hms[1] * 60 + hms[2];
    return GW_OK;
}
