/* aws-chunked decoder (see chunked.h for the framings).
 *
 *   SIZE_LINE --size>0--> DATA --> DATA_CR --> DATA_LF --(verify sig)--> SIZE_LINE
 *       |
 *       +--size 0 (verify sig)--> TRAILER_LINE ... empty line --> DONE   (trailer modes)
 *       +--size 0 (verify sig)--> FINAL_LINE --empty line--> DONE       (signed, no trailer)
 *
 * Framing bytes go through a small line buffer (size lines, trailers); data
 * bytes are never copied: s3_chunked_feed returns them as a view of the
 * caller's input, hashing them on the way for signed chunks.
 *
 * Failure modes: anything off the grammar is MALFORMED_CHUNK; a chunk bigger
 * than allowed or data beyond x-amz-decoded-content-length ends the stream
 * early with MALFORMED_CHUNK / DECODED_LENGTH_MISMATCH, before the bytes
 * are handed out; a signature that does not chain is CHUNK_SIGNATURE.  The
 * first error sticks. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "unigw/err.h"
#include "chunked.h"

#define SHA256_EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIG_EXT ";chunk-signature="
#define TRAILER_SIG_NAME "x-amz-trailer-signature"

static bool mode_is_signed(enum s3_payload_mode m)
{
    return m == S3_PAYLOAD_STREAMING_SIGNED || m == S3_PAYLOAD_STREAMING_SIGNED_TRAILER;
}

/* Copy the signing context of a verified request. */
static int init_signing(struct s3_chunked *c, const struct s3_sigv4 *auth)
{
    if (auth == NULL || auth->timestamp.len != 16 || auth->scope.len >= sizeof c->scope) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    memcpy(c->key, auth->signing_key, sizeof c->key);
    memcpy(c->timestamp, auth->timestamp.p, 16);
    c->timestamp[16] = '\0';
    memcpy(c->scope, auth->scope.p, auth->scope.len);
    c->scope[auth->scope.len] = '\0';
    memcpy(c->prev_sig, auth->seed_signature, sizeof c->prev_sig);
    return GW_OK;
}

int s3_chunked_init(struct s3_chunked *c, const struct s3_chunked_params *p)
{
    memset(c, 0, sizeof *c);
    c->state = S3_CHUNKED_FAILED;
    c->error = GW_ERR_INVALID_ARGUMENT;
    if (p->mode != S3_PAYLOAD_STREAMING_SIGNED && p->mode != S3_PAYLOAD_STREAMING_SIGNED_TRAILER &&
        p->mode != S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    c->is_signed = mode_is_signed(p->mode);
    c->has_trailer = p->mode != S3_PAYLOAD_STREAMING_SIGNED;
    if (c->is_signed && init_signing(c, p->auth) != 0) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (p->trailer.len > 0) {
        if (!c->has_trailer || gw_checksum_alg_from_header(p->trailer) == 0) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        for (size_t i = 0; i < p->trailer.len; i++) {
            c->expected_trailer[i] = (char)(p->trailer.p[i] | 0x20);
        }
    }
    c->decoded_len = p->decoded_len;
    c->max_chunk_size = p->max_chunk_size ? p->max_chunk_size : S3_CHUNKED_DEFAULT_MAX_CHUNK;
    c->min_chunk_size = p->min_chunk_size;
    c->state = S3_CHUNKED_SIZE_LINE;
    c->error = GW_OK;
    return GW_OK;
}

unsigned s3_chunked_trailer_alg(const struct s3_chunked *c)
{
    return c->expected_trailer[0] != '\0'
               ? gw_checksum_alg_from_header(gw_str_c(c->expected_trailer))
               : 0;
}

void s3_chunked_close(struct s3_chunked *c)
{
    gw_hash_cleanup(&c->chunk_hash);
    OPENSSL_cleanse(c->key, sizeof c->key);
}

static int fail(struct s3_chunked *c, int rv)
{
    gw_hash_cleanup(&c->chunk_hash);
    c->state = S3_CHUNKED_FAILED;
    c->error = rv;
    return rv;
}

/* HMAC the string to sign @sts, compare with @claimed, and chain the signature. */
static int check_sig(struct s3_chunked *c, const char *sts, const unsigned char *claimed)
{
    unsigned char sig[GW_SHA256_LEN];

    gw_hmac_sha256(c->key, sizeof c->key, sts, strlen(sts), sig);
    if (CRYPTO_memcmp(sig, claimed, sizeof sig) != 0) {
        return GW_ERR_CHUNK_SIGNATURE;
    }
    gw_hex_encode(sig, sizeof sig, c->prev_sig);
    return GW_OK;
}

/* Verify the signature of the chunk whose data hash is @data_hex. */
static int check_chunk_sig(struct s3_chunked *c, const char *data_hex)
{
    char sts[512];

    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n" SHA256_EMPTY_HEX "\n%s",
             c->timestamp, c->scope, c->prev_sig, data_hex);
    return check_sig(c, sts, c->chunk_sig);
}

/* The current (non-empty) chunk's data is complete: check its signature. */
static int end_chunk_data(struct s3_chunked *c)
{
    struct gw_digests d;
    char hex[2 * GW_SHA256_LEN + 1];

    if (!c->is_signed) {
        return GW_OK;
    }
    gw_hash_final(&c->chunk_hash, &d);
    gw_hash_cleanup(&c->chunk_hash);
    gw_hex_encode(d.sha256, sizeof d.sha256, hex);
    return check_chunk_sig(c, hex);
}

/* Parse "<hex>[;chunk-signature=<64 hex>]" into the size and claimed signature. */
static int parse_size_line(struct s3_chunked *c, struct gw_str line, uint64_t *size)
{
    uint64_t v = 0;
    size_t i = 0;
    struct gw_str ext;

    for (; i < line.len && i < 17; i++) {
        char ch = line.p[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0) {
            break;
        }
        v = v << 4 | (uint64_t)d;
    }
    if (i == 0 || i > 16) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    ext = gw_str_make(line.p + i, line.len - i);
    if (!c->is_signed) {
        return ext.len == 0 ? (*size = v, GW_OK) : GW_ERR_MALFORMED_CHUNK;
    }
    if (!gw_str_has_prefix(ext, GW_STR(SIG_EXT)) ||
        !gw_hex_decode(gw_str_make(ext.p + strlen(SIG_EXT), ext.len - strlen(SIG_EXT)),
                       c->chunk_sig, sizeof c->chunk_sig)) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    *size = v;
    return GW_OK;
}

/* Size limits of a new chunk of @size bytes. */
static int check_chunk_size(struct s3_chunked *c, uint64_t size)
{
    if (size > c->max_chunk_size) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    if (size > c->decoded_len - c->total) {
        return GW_ERR_DECODED_LENGTH_MISMATCH;
    }
    if (size > 0 && c->is_last_seen) {
        return GW_ERR_INVALID_CHUNK; /* a short chunk that was not the last one */
    }
    if (size < c->min_chunk_size) {
        c->is_last_seen = true;
    }
    return GW_OK;
}

/* A complete size line: start the chunk, or the end of the data. */
static int on_size_line(struct s3_chunked *c, struct gw_str line)
{
    uint64_t size = 0;
    int rv = parse_size_line(c, line, &size);

    if (rv == 0) {
        rv = check_chunk_size(c, size);
    }
    if (rv != 0) {
        return rv;
    }
    if (size > 0) {
        c->chunk_size = size;
        c->chunk_left = size;
        if (c->is_signed) {
            gw_hash_init(&c->chunk_hash, GW_HASH_SHA256);
        }
        c->state = S3_CHUNKED_DATA;
        return GW_OK;
    }
    if (c->is_signed) {
        rv = check_chunk_sig(c, SHA256_EMPTY_HEX);
    }
    c->state = c->has_trailer ? S3_CHUNKED_TRAILER_LINE : S3_CHUNKED_FINAL_LINE;
    return rv;
}

/* Remember a checksum trailer so the caller can compare it. */
static int keep_checksum(struct s3_chunked *c, struct gw_str name, struct gw_str value)
{
    unsigned alg = gw_checksum_alg_from_header(name);

    if (alg == 0) {
        return GW_OK; /* another trailer: signed, but not interpreted */
    }
    if (c->checksum_alg != 0 || name.len + value.len > sizeof c->checksum_buf) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    memcpy(c->checksum_buf, name.p, name.len);
    memcpy(c->checksum_buf + name.len, value.p, value.len);
    c->checksum_alg = alg;
    c->checksum_name = gw_str_make(c->checksum_buf, name.len);
    c->checksum_value = gw_str_make(c->checksum_buf + name.len, value.len);
    return GW_OK;
}

/* "x-amz-trailer-signature:<sig>": check it over the trailer lines seen so far. */
static int on_trailer_sig(struct s3_chunked *c, struct gw_str value)
{
    char sts[512];
    char hex[2 * GW_SHA256_LEN + 1];

    if (!c->is_signed || c->has_trailer_sig ||
        !gw_hex_decode(value, c->chunk_sig, sizeof c->chunk_sig)) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    c->has_trailer_sig = true;
    gw_sha256_hex(c->trailers, c->trailers_len, hex);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", c->timestamp, c->scope,
             c->prev_sig, hex);
    return check_sig(c, sts, c->chunk_sig);
}

/* The end of the trailer section. */
static int on_trailers_end(struct s3_chunked *c)
{
    if (c->is_signed && !c->has_trailer_sig) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    if (c->expected_trailer[0] != '\0' &&
        !gw_str_eq_c(c->checksum_name, c->expected_trailer)) {
        return GW_ERR_MALFORMED_CHUNK; /* announced in x-amz-trailer, not sent */
    }
    c->state = S3_CHUNKED_DONE;
    return GW_OK;
}

/* One "name:value" trailer line (names lower-cased, values trimmed). */
static int on_trailer_line(struct s3_chunked *c, struct gw_str line)
{
    ptrdiff_t colon = gw_str_chr(line, ':');
    struct gw_str name;
    struct gw_str value;

    if (line.len == 0) {
        return on_trailers_end(c);
    }
    if (colon <= 0 || c->has_trailer_sig) {
        return GW_ERR_MALFORMED_CHUNK; /* nothing may follow the trailer signature */
    }
    for (ptrdiff_t i = 0; i < colon; i++) {
        c->line[i] = (char)((c->line[i] >= 'A' && c->line[i] <= 'Z') ? c->line[i] | 0x20
                                                                     : c->line[i]);
    }
    name = gw_str_make(line.p, (size_t)colon);
    value = gw_str_trim(gw_str_make(line.p + colon + 1, line.len - (size_t)colon - 1));
    if (gw_str_eq_c(name, TRAILER_SIG_NAME)) {
        return on_trailer_sig(c, value);
    }
    if (c->trailers_len + name.len + value.len + 2 > sizeof c->trailers) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    memcpy(c->trailers + c->trailers_len, name.p, name.len);
    c->trailers_len += name.len;
    c->trailers[c->trailers_len++] = ':';
    memcpy(c->trailers + c->trailers_len, value.p, value.len);
    c->trailers_len += value.len;
    c->trailers[c->trailers_len++] = '\n';
    return keep_checksum(c, name, value);
}

/* A complete line (without its CRLF) in the current state. */
static int on_line(struct s3_chunked *c, struct gw_str line)
{
    switch (c->state) {
    case S3_CHUNKED_SIZE_LINE:
        return on_size_line(c, line);
    case S3_CHUNKED_TRAILER_LINE:
        return on_trailer_line(c, line);
    case S3_CHUNKED_FINAL_LINE:
        if (line.len != 0) {
            return GW_ERR_MALFORMED_CHUNK;
        }
        c->state = S3_CHUNKED_DONE;
        return GW_OK;
    default:
        return GW_ERR_INTERNAL;
    }
}

/* Add one framing byte to the line buffer; complete lines end in CRLF. */
static int line_byte(struct s3_chunked *c, char ch)
{
    struct gw_str line;

    if (ch != '\n') {
        if (c->line_len == sizeof c->line) {
            return GW_ERR_MALFORMED_CHUNK;
        }
        c->line[c->line_len++] = ch;
        return GW_OK;
    }
    if (c->line_len == 0 || c->line[c->line_len - 1] != '\r') {
        return GW_ERR_MALFORMED_CHUNK; /* a bare LF */
    }
    line = gw_str_make(c->line, c->line_len - 1);
    c->line_len = 0;
    if (gw_str_chr(line, '\r') >= 0) {
        return GW_ERR_MALFORMED_CHUNK;
    }
    return on_line(c, line);
}

/* One byte of the CRLF after a chunk's data. */
static int crlf_byte(struct s3_chunked *c, char ch)
{
    if (c->state == S3_CHUNKED_DATA_CR) {
        if (ch != '\r') {
            return GW_ERR_MALFORMED_CHUNK;
        }
        c->state = S3_CHUNKED_DATA_LF;
        return GW_OK;
    }
    if (ch != '\n') {
        return GW_ERR_MALFORMED_CHUNK;
    }
    c->state = S3_CHUNKED_SIZE_LINE;
    return end_chunk_data(c);
}

/* Hand out the next piece of the current chunk's data. */
static void take_data(struct s3_chunked *c, struct gw_str in, size_t *used, struct gw_str *data)
{
    size_t n = c->chunk_left < in.len ? (size_t)c->chunk_left : in.len;

    *data = gw_str_make(in.p, n);
    *used = n;
    if (c->is_signed) {
        gw_hash_update(&c->chunk_hash, in.p, n);
    }
    c->chunk_left -= n;
    c->total += n;
    if (c->chunk_left == 0) {
        c->state = S3_CHUNKED_DATA_CR;
    }
}

int s3_chunked_feed(struct s3_chunked *c, struct gw_str in, size_t *used, struct gw_str *data)
{
    size_t i = 0;
    int rv = GW_OK;

    *used = 0;
    *data = gw_str_make(in.p, 0);
    if (c->state == S3_CHUNKED_FAILED) {
        return c->error;
    }
    if (c->state == S3_CHUNKED_DATA && in.len > 0) {
        take_data(c, in, used, data);
        return GW_OK;
    }
    for (; i < in.len && c->state != S3_CHUNKED_DATA && rv == 0; i++) {
        switch (c->state) {
        case S3_CHUNKED_DATA_CR:
        case S3_CHUNKED_DATA_LF:
            rv = crlf_byte(c, in.p[i]);
            break;
        case S3_CHUNKED_DONE:
            rv = GW_ERR_MALFORMED_CHUNK; /* bytes after the end */
            break;
        default:
            rv = line_byte(c, in.p[i]);
            break;
        }
    }
    *used = i;
    return rv != 0 ? fail(c, rv) : GW_OK;
}

int s3_chunked_finish(struct s3_chunked *c)
{
    if (c->state == S3_CHUNKED_FAILED) {
        return c->error;
    }
    /* The final empty line of a signed body without trailers carries nothing;
     * tolerate a client that ends the body before it. */
    if (c->state == S3_CHUNKED_FINAL_LINE && c->line_len == 0) {
        c->state = S3_CHUNKED_DONE;
    }
    if (c->state != S3_CHUNKED_DONE) {
        return fail(c, GW_ERR_MALFORMED_CHUNK);
    }
    if (c->total != c->decoded_len) {
        return fail(c, GW_ERR_DECODED_LENGTH_MISMATCH);
    }
    return GW_OK;
}
