/* aws-chunked body decoder: a byte-stream state machine.
 *
 * The HTTP layer has already removed Transfer-Encoding: chunked framing, but
 * aws-chunk boundaries do not line up with what it hands over, so input is
 * fed in arbitrary pieces.  The decoder does no I/O and allocates nothing per
 * byte (one SHA-256 context per signed chunk); it may run on a worker thread.
 * Decoded payload comes back as views into the fed input (no copies).
 *
 * Accepted framings (x-amz-content-sha256 of the request):
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 *       <hex>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n\r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER
 *       <hex>\r\n<data>\r\n ... 0\r\n<name>:<value>\r\n\r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
 *       signed chunks, 0;chunk-signature=<sig>\r\n, trailers,
 *       x-amz-trailer-signature:<sig>\r\n\r\n
 * Every chunk signature chains from the seed signature of the request; the
 * trailer signature chains from the final chunk's. */
#ifndef UNIGW_S3_CHUNKED_H
#define UNIGW_S3_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/checksum.h"
#include "unigw/str.h"
#include "sigv4.h"

#define S3_CHUNKED_LINE_CAP 256     /* longest size line or trailer line */
#define S3_CHUNKED_TRAILER_CAP 1024 /* all trailer lines together */
#define S3_CHUNKED_DEFAULT_MAX_CHUNK (16u << 20)

struct s3_chunked_params {
    enum s3_payload_mode mode; /* one of the three STREAMING modes */
    uint64_t decoded_len;      /* x-amz-decoded-content-length */
    uint64_t max_chunk_size;   /* 0: S3_CHUNKED_DEFAULT_MAX_CHUNK */
    uint64_t min_chunk_size;   /* every chunk but the last must be this big; 0: off */
    struct gw_str trailer;     /* x-amz-trailer (a trailer that must be present); NULL view */
    const struct s3_sigv4 *auth; /* verified request auth, for the signed modes */
};

enum s3_chunked_state {
    S3_CHUNKED_SIZE_LINE,
    S3_CHUNKED_DATA,
    S3_CHUNKED_DATA_CR,
    S3_CHUNKED_DATA_LF,
    S3_CHUNKED_TRAILER_LINE,
    S3_CHUNKED_FINAL_LINE,
    S3_CHUNKED_DONE,
    S3_CHUNKED_FAILED,
};

struct s3_chunked {
    enum s3_chunked_state state;
    int error; /* sticky once FAILED */
    bool is_signed;
    bool has_trailer;
    uint64_t decoded_len;
    uint64_t max_chunk_size;
    uint64_t min_chunk_size;
    uint64_t total;      /* decoded bytes so far */
    uint64_t chunk_size; /* current chunk */
    uint64_t chunk_left;
    bool is_last_seen; /* a chunk smaller than min_chunk_size was seen */
    struct gw_hash chunk_hash;
    unsigned char key[GW_SHA256_LEN];
    char timestamp[17];
    char scope[128];
    char prev_sig[2 * GW_SHA256_LEN + 1];
    unsigned char chunk_sig[GW_SHA256_LEN]; /* claimed signature of the current chunk */
    char line[S3_CHUNKED_LINE_CAP];
    size_t line_len;
    char trailers[S3_CHUNKED_TRAILER_CAP]; /* "name:value\n" lines as signed */
    size_t trailers_len;
    bool has_trailer_sig;
    char expected_trailer[64]; /* lower-case name from x-amz-trailer, "" if none */
    /* The received checksum trailer, if any (views into this struct). */
    unsigned checksum_alg; /* GW_HASH_CRC32 ..., 0 when none */
    struct gw_str checksum_name;
    struct gw_str checksum_value;
    char checksum_buf[S3_CHUNKED_LINE_CAP];
};

/* Prepare @c for one body.  GW_OK; GW_ERR_INVALID_ARGUMENT for a mode that
 * is not aws-chunked, a signed mode without @p->auth, or an unknown
 * x-amz-trailer; GW_ERR_INVALID_ARGUMENT when the scope is too long. */
int s3_chunked_init(struct s3_chunked *c, const struct s3_chunked_params *p);

/* Consume a prefix of @in.  *@used gets how many bytes were consumed (at
 * least one unless @in is empty), *@data the decoded payload found in them:
 * a view into @in, possibly empty.  Call again with the rest of @in.
 * GW_OK, GW_ERR_MALFORMED_CHUNK, GW_ERR_INVALID_CHUNK (chunk below
 * min_chunk_size), GW_ERR_CHUNK_SIGNATURE, GW_ERR_DECODED_LENGTH_MISMATCH
 * (more data than announced).  Errors are sticky. */
int s3_chunked_feed(struct s3_chunked *c, struct gw_str in, size_t *used, struct gw_str *data);

/* The body ended.  GW_OK when the stream was complete and its decoded length
 * equals decoded_len; GW_ERR_DECODED_LENGTH_MISMATCH, GW_ERR_MALFORMED_CHUNK
 * (truncated, or a trailer named in x-amz-trailer missing), or the sticky
 * error. */
int s3_chunked_finish(struct s3_chunked *c);

/* The checksum algorithm (GW_HASH_CRC32 ...) of the trailer that
 * x-amz-trailer announced, 0 when none: the caller must compute it over the
 * decoded body even when no x-amz-sdk-checksum-algorithm header names it
 * (SDKs may announce the checksum by x-amz-trailer alone). */
unsigned s3_chunked_trailer_alg(const struct s3_chunked *c);

/* Release the hash context; safe to call more than once. */
void s3_chunked_close(struct s3_chunked *c);

#endif
