/* Request heads of unigw-bench, signed by the project's own SigV4 signer.
 *
 * Happy path: the request line (path prefix + path, query), Host, then per signing mode
 *   header:  x-amz-date, x-amz-content-sha256 (UNSIGNED-PAYLOAD or the body's hex SHA-256)
 *            and Authorization from s3_sigv4_sign_headers over host and those two;
 *   presign: the X-Amz-* query of s3_sigv4_presign (host signed, UNSIGNED-PAYLOAD);
 *   none:    nothing (plain HTTP for a reference server such as nginx);
 * Content-Length for every request with a body or a method that carries one, and the
 * blank line.  s3/sigv4_sign.c shares its canonical request and key derivation with the
 * verifier (s3/sigv4.c), and its per-thread signing-key cache means a worker derives the
 * key once a day, not once a request.
 *
 * Failure modes: GW_ERR_INVALID_ARGUMENT when the signer refuses (a malformed escape in
 * the path or query); @out is then left as it was. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "unigw/str.h"
#include "bench.h"
#include "sigv4.h"

void bench_key_name(const struct bench_cfg *cfg, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s%" PRIu64 "/%012" PRIu64, cfg->key_prefix, id % cfg->n_prefixes, id);
}

static bool has_body(const struct bench_req *r)
{
    return r->body_len > 0 || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0;
}

/* The signing request common to both SigV4 modes. */
static struct s3_sigv4_sign_req sign_req(const struct bench_cfg *cfg, const char *path,
                                         const struct bench_req *r, int64_t now)
{
    struct s3_sigv4_sign_req in = {0};

    in.method = gw_str_c(r->method);
    in.path = gw_str_c(path);
    in.query = gw_str_c(r->query);
    in.time = now;
    in.access_key = gw_str_c(cfg->access_key);
    in.secret = gw_str_c(cfg->secret_key);
    in.region = gw_str_c(cfg->region);
    in.expires = cfg->presign_expires;
    return in;
}

/* Authorization and its two x-amz headers, appended to @out. */
static int sign_header(const struct bench_cfg *cfg, const struct bench_target *t,
                       const char *path, const struct bench_req *r, int64_t now,
                       struct gw_arena *a, struct gw_buf *out)
{
    char ts[17];
    const char *payload = r->payload_sha256 != NULL ? r->payload_sha256 : "UNSIGNED-PAYLOAD";
    struct s3_header hdrs[3];
    struct s3_sigv4_sign_req in = sign_req(cfg, path, r, now);
    struct gw_str auth;
    int rv;

    s3__sigv4_format_time(now, ts);
    hdrs[0] = (struct s3_header){GW_STR("host"), gw_str_c(t->hostport)};
    hdrs[1] = (struct s3_header){GW_STR("x-amz-content-sha256"), gw_str_c(payload)};
    hdrs[2] = (struct s3_header){GW_STR("x-amz-date"), gw_str_c(ts)};
    in.headers = hdrs;
    in.n_headers = 3;
    in.payload_hash = gw_str_c(payload);
    rv = s3_sigv4_sign_headers(&in, a, &auth);
    if (rv != 0) {
        return rv;
    }
    gw_buf_printf(out, "x-amz-date: %s\r\nx-amz-content-sha256: %s\r\nAuthorization: %.*s\r\n",
                  ts, payload, (int)auth.len, auth.p);
    return 0;
}

/* The request line and Host of a presigned request. */
static int presign_line(const struct bench_cfg *cfg, const struct bench_target *t,
                        const char *path, const struct bench_req *r, int64_t now,
                        struct gw_arena *a, struct gw_buf *out)
{
    struct s3_header host = {GW_STR("host"), gw_str_c(t->hostport)};
    struct s3_sigv4_sign_req in = sign_req(cfg, path, r, now);
    struct gw_str query;
    int rv;

    in.headers = &host;
    in.n_headers = 1;
    rv = s3_sigv4_presign(&in, a, &query);
    if (rv != 0) {
        return rv;
    }
    gw_buf_printf(out, "%s %s?%.*s HTTP/1.1\r\nHost: %s\r\n", r->method, path, (int)query.len,
                  query.p, t->hostport);
    return 0;
}

int bench_req_head(const struct bench_cfg *cfg, const struct bench_target *t,
                   const struct bench_req *r, int64_t now, struct gw_buf *out)
{
    struct gw_arena a;
    size_t mark = out->len;
    const char *path;
    int rv = 0;

    gw_arena_init(&a);
    path = gw_arena_printf(&a, "%s%s", cfg->path_prefix, r->path);
    if (cfg->sign == BENCH_SIGN_PRESIGN) {
        rv = presign_line(cfg, t, path, r, now, &a, out);
    } else {
        gw_buf_printf(out, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n", r->method, path,
                      r->query[0] != '\0' ? "?" : "", r->query, t->hostport);
        if (cfg->sign == BENCH_SIGN_HEADER) {
            rv = sign_header(cfg, t, path, r, now, &a, out);
        }
    }
    gw_arena_release(&a);
    if (rv != 0) {
        out->len = mark;
        return rv;
    }
    if (has_body(r)) {
        gw_buf_printf(out, "Content-Length: %" PRIu64 "\r\n", r->body_len);
    }
    if (r->content_type != NULL) {
        gw_buf_printf(out, "Content-Type: %s\r\n", r->content_type);
    }
    gw_buf_append_c(out, "\r\n");
    return 0;
}
