/* Fuzz the aws-chunked decoder.  Byte 0 picks the mode, byte 1 the feed
 * step, bytes 2-3 the decoded length; the rest is the body, fed in pieces.
 * The decoder must never hand out bytes outside what was fed, and must
 * consume at least one byte per call until it fails. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/checksum.h"
#include "unigw/err.h"
#include "chunked.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed verified-looking auth for the signed modes (key from a fixed secret). */
static void fake_auth(struct s3_sigv4 *auth)
{
    memset(auth, 0, sizeof *auth);
    auth->timestamp = GW_STR("20130524T000000Z");
    auth->scope = GW_STR("20130524/us-east-1/s3/aws4_request");
    s3__sigv4_signing_key(GW_STR("secret"), GW_STR("20130524"), GW_STR("us-east-1"),
                          GW_STR("s3"), auth->signing_key);
    memset(auth->seed_signature, 'a', 64);
}

/* Feed @body in @step-byte pieces; check the decoder's output contract. */
static void run(struct s3_chunked *c, const uint8_t *body, size_t n, size_t step)
{
    size_t off = 0;

    while (off < n) {
        size_t len = n - off < step ? n - off : step;
        struct gw_str piece = gw_str_make((const char *)body + off, len);

        off += len;
        while (piece.len > 0) {
            size_t used = 0;
            struct gw_str out;

            if (s3_chunked_feed(c, piece, &used, &out) != GW_OK) {
                return;
            }
            if (used == 0 || used > piece.len || out.p < piece.p ||
                out.p + out.len > piece.p + used) {
                abort();
            }
            piece.p += used;
            piece.len -= used;
        }
    }
    (void)s3_chunked_finish(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum s3_payload_mode modes[] = {
        S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER, S3_PAYLOAD_STREAMING_SIGNED,
        S3_PAYLOAD_STREAMING_SIGNED_TRAILER};
    struct s3_sigv4 auth;
    struct s3_chunked_params p = {0};
    struct s3_chunked c;

    if (size < 4) {
        return 0;
    }
    fake_auth(&auth);
    p.mode = modes[data[0] % 3];
    p.auth = &auth;
    p.decoded_len = (uint64_t)data[2] << 8 | data[3];
    p.max_chunk_size = 4096;
    p.min_chunk_size = (data[0] & 0x80) ? 16 : 0;
    p.trailer = (data[0] & 0x40) && p.mode != S3_PAYLOAD_STREAMING_SIGNED
                    ? GW_STR("x-amz-checksum-crc32")
                    : GW_STR_NULL;
    if (s3_chunked_init(&c, &p) != GW_OK) {
        abort();
    }
    run(&c, data + 4, size - 4, (size_t)data[1] + 1);
    s3_chunked_close(&c);
    return 0;
}
