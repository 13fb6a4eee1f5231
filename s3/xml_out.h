/* A small streaming XML writer for S3 responses, plus the date and key
 * encodings responses need.
 *
 *     struct s3_xml_writer w;
 *     s3_xml_begin(&w, &buf, "ListBucketResult", S3_XML_NS);
 *     s3_xml_elem(&w, "Name", bucket);
 *     s3_xml_open(&w, "Contents");
 *     s3_xml_elem_key(&w, "Key", key, is_url_encoded);
 *     s3_xml_elem_u64(&w, "Size", size);
 *     s3_xml_close(&w);            closes "Contents"
 *     s3_xml_end(&w);              closes the root
 *
 * The writer appends to a caller-owned struct gw_buf (which the caller may
 * drain between calls to stream a long listing: the writer keeps no pointer
 * into the buffer's bytes).  Element names are trusted literals; text is
 * escaped.  Nesting is checked with assert (a programming error, not input).
 * Output is compact: no whitespace between elements. */
#ifndef UNIGW_S3_XML_OUT_H
#define UNIGW_S3_XML_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "unigw/buf.h"
#include "unigw/str.h"

#ifndef S3_XML_NS
#define S3_XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"
#endif
#define S3_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_XML_MAX_DEPTH 8

/* "2026-11-25T11:16:48.000Z" is 24 characters. */
#define S3_ISO8601_LEN 24
/* "Wed, 25 Nov 2026 11:16:48 GMT" is 29 characters. */
#define S3_HTTP_DATE_LEN 29

struct s3_xml_writer {
    struct gw_buf *buf;
    const char *stack[S3_XML_MAX_DEPTH]; /* open element names (literals) */
    size_t depth;
};

/* Write the XML declaration and open @root, with xmlns="@ns" unless @ns is
 * NULL (the <Error> document has none). */
void s3_xml_begin(struct s3_xml_writer *w, struct gw_buf *buf, const char *root, const char *ns);
/* Close every element still open, root included. */
void s3_xml_end(struct s3_xml_writer *w);

void s3_xml_open(struct s3_xml_writer *w, const char *name);
/* Close the innermost open element. */
void s3_xml_close(struct s3_xml_writer *w);

/* <name>escaped text</name>.  Escapes & < > " ' and CR/LF/TAB as character
 * references; other C0 controls (not representable in XML 1.0) are written as
 * &#xN; the way S3 does, which XML 1.0 parsers refuse: clients that need such
 * keys ask for encoding-type=url. */
void s3_xml_elem(struct s3_xml_writer *w, const char *name, struct gw_str text);
void s3_xml_elem_c(struct s3_xml_writer *w, const char *name, const char *text);
void s3_xml_elem_u64(struct s3_xml_writer *w, const char *name, uint64_t v);
/* "true" / "false". */
void s3_xml_elem_bool(struct s3_xml_writer *w, const char *name, bool v);
/* ISO-8601 with milliseconds, from nanoseconds since the epoch. */
void s3_xml_elem_time(struct s3_xml_writer *w, const char *name, int64_t ns);
/* A key, prefix, delimiter or marker: url-encoded (s3_url_encode_key) when
 * @url_encode (the request had encoding-type=url), else escaped text. */
void s3_xml_elem_key(struct s3_xml_writer *w, const char *name, struct gw_str key,
                     bool url_encode);
/* An ETag element: @etag is the bare value, the quotes are added. */
void s3_xml_elem_etag(struct s3_xml_writer *w, const char *name, struct gw_str etag);

/* Append the XML-escaped form of @text (the rules of s3_xml_elem). */
void s3_xml_escape(struct gw_buf *b, struct gw_str text);

/* Append @key encoded for encoding-type=url: bytes A-Z a-z 0-9 - _ . ~ and '/'
 * stay, everything else (space, '+', '=', '%', every UTF-8 byte) becomes %XX.
 * A space is %20, not '+': botocore (unquote_plus), minio-js ('+' -> ' ' then
 * decodeURIComponent) and plain percent-decoders all get the key back, and a
 * literal '+' (%2B) never turns into a space. */
void s3_url_encode_key(struct gw_buf *b, struct gw_str key);

/* Format @ns (nanoseconds since the epoch, UTC) as "2026-11-25T11:16:48.000Z"
 * into @out (S3_ISO8601_LEN + 1 bytes); returns the length. */
/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); shared with the SigV4 date parser. */
int64_t s3__days_from_civil(int64_t y, unsigned m, unsigned d);
/* The inverse: @sec since the epoch as a UTC calendar date and time (year,
 * mon, mday, hour, min, sec, wday of @tm). */
void s3__civil_from_secs(int64_t sec, struct tm *tm);

size_t s3_time_iso8601(int64_t ns, char *out);
/* Format @sec as an RFC 1123 HTTP date, "Wed, 25 Nov 2026 11:16:48 GMT", into
 * @out (S3_HTTP_DATE_LEN + 1 bytes); returns the length. */
size_t s3_http_date_format(int64_t sec, char *out);
/* Parse an HTTP date in any of the three forms of RFC 9110 5.6.7: IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850 ("Sunday, 06-Nov-94 08:49:37
 * GMT"; two-digit years are 1970..2069) and asctime ("Sun Nov  6 08:49:37
 * 1994").  The weekday is not checked.  GW_OK and *@sec, or
 * GW_ERR_INVALID_ARGUMENT. */
int s3_http_date_parse(struct gw_str s, int64_t *sec);

#endif
