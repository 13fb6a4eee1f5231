/* The HTTP/1.1 client of unigw-admin: one request per connection over a
 * TCP socket, or TLS for an https:// endpoint (the certificate verified
 * against --ca-file or the system's CAs, and its name against the host),
 * Connection: close, signed with SigV4.
 *
 * Happy path: resolve the endpoint -> connect -> write the request -> read
 * until the response is complete (Content-Length, chunked, or the peer's
 * close) -> parse.  Failure modes: resolution, connection, a 30-second
 * socket timeout, or a malformed answer all give GW_ERR_IO with a sentence,
 * which the CLI turns into exit code 3. */
#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "unigw/err.h"

#define ADM_IO_TIMEOUT_S 30
#define ADM_RESP_MAX (64u << 20)

int adm_endpoint_parse(const char *url, struct adm_endpoint *out)
{
    const char *p = url;
    const char *end;
    const char *colon;
    size_t n;

    memset(out, 0, sizeof *out);
    if (strncmp(p, "https://", 8) == 0) {
        out->is_tls = true;
        p += 8;
    } else if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else {
        return GW_ERR_INVALID_ARGUMENT;
    }
    end = p + strcspn(p, "/?#");
    if (end == p || (size_t)(end - p) >= sizeof out->host_hdr || (*end != '\0' && strcmp(end, "/") != 0)) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    memcpy(out->host_hdr, p, (size_t)(end - p));
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        n = (size_t)(rb - p - 1);
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        if (rb + 1 < end && colon == NULL) {
            return GW_ERR_INVALID_ARGUMENT;
        }
        memcpy(out->host, p + 1, n);
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon != NULL ? colon : end) - p);
        memcpy(out->host, p, n);
    }
    if (n == 0 || n >= sizeof out->host) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    if (colon == NULL) {
        strcpy(out->port, out->is_tls ? "443" : "80");
        return GW_OK;
    }
    n = (size_t)(end - colon - 1);
    if (n == 0 || n > 5 || strspn(colon + 1, "0123456789") < n) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    memcpy(out->port, colon + 1, n);
    return atoi(out->port) > 0 && atoi(out->port) < 65536 ? GW_OK : GW_ERR_INVALID_ARGUMENT;
}

static int dial(const struct adm_endpoint *ep, char *err, size_t err_cap)
{
    struct addrinfo hints = {0};
    struct addrinfo *res = NULL;
    struct timeval tv = {ADM_IO_TIMEOUT_S, 0};
    int fd = -1;
    int rv;

    hints.ai_socktype = SOCK_STREAM;
    rv = getaddrinfo(ep->host, ep->port, &hints, &res);
    if (rv != 0) {
        snprintf(err, err_cap, "cannot resolve %s: %s", ep->host, gai_strerror(rv));
        return -1;
    }
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            snprintf(err, err_cap, "cannot connect to %s: %s", ep->host_hdr, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static void amz_date(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* The request bytes, headers signed. */
static int build_request(const struct adm_opts *o, const struct adm_endpoint *ep,
                         const char *method, const char *path, const char *body, size_t len,
                         struct gw_buf *out)
{
    char date[17];
    char hash[2 * GW_SHA256_LEN + 1];
    const char *names[] = {"host", "x-amz-content-sha256", "x-amz-date"};
    const char *values[] = {ep->host_hdr, hash, date};
    struct adm_sign_req r = {method, path, "", names, values, 3, hash, date,
                             o->access_key, o->secret_key, o->region};
    struct gw_buf auth = GW_BUF_INIT;
    int rv;

    amz_date(date);
    gw_sha256_hex(body != NULL ? body : "", len, hash);
    rv = adm_sign(&r, &auth);
    if (rv == 0) {
        gw_buf_printf(out,
                      "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\n"
                      "x-amz-content-sha256: %s\r\nAuthorization: %.*s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "User-Agent: unigw-admin\r\nConnection: close\r\n\r\n",
                      method, path, ep->host_hdr, date, hash, (int)auth.len, auth.data, len);
        gw_buf_append(out, body != NULL ? body : "", len);
    }
    gw_buf_free(&auth);
    return rv;
}

/* The connection: a socket, with TLS on it for https. */
struct adm_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static void conn_close(struct adm_conn *c)
{
    if (c->ssl != NULL) {
        if (SSL_is_init_finished(c->ssl)) {
            SSL_shutdown(c->ssl); /* not after a failed handshake */
        }
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0) {
        close(c->fd);
    }
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* TLS 1.2+ over @c->fd, the peer's certificate checked against @ca_file
 * (NULL: the system's CAs) and @host. */
static int conn_tls(struct adm_conn *c, const struct adm_endpoint *ep, const char *ca_file,
                    char *err, size_t err_cap)
{
    unsigned long e;

    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION)) {
        snprintf(err, err_cap, "TLS: cannot make a client context");
        return GW_ERR_IO;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if ((ca_file != NULL ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(c->ctx)) != 1) {
        snprintf(err, err_cap, "TLS: cannot load the CA file %s", ca_file ? ca_file : "(system)");
        return GW_ERR_IO;
    }
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set1_host(c->ssl, ep->host) != 1) {
        snprintf(err, err_cap, "TLS: cannot set up the connection");
        return GW_ERR_IO;
    }
    /* SNI names a host; RFC 6066 forbids an address literal there. */
    if (!is_ip_literal(ep->host) && SSL_set_tlsext_host_name(c->ssl, ep->host) != 1) {
        snprintf(err, err_cap, "TLS: cannot set the server name %s", ep->host);
        return GW_ERR_IO;
    }
    if (SSL_connect(c->ssl) != 1) {
        e = ERR_get_error();
        snprintf(err, err_cap, "TLS handshake with %s failed: %s", ep->host_hdr,
                 e != 0 ? ERR_reason_error_string(e) : "connection closed");
        return GW_ERR_IO;
    }
    return GW_OK;
}

static ssize_t conn_send(struct adm_conn *c, const char *p, size_t n)
{
    if (c->ssl != NULL) {
        int w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        return w > 0 ? w : -1;
    }
    return send(c->fd, p, n, MSG_NOSIGNAL);
}

/* Bytes read, 0 at the end of the stream, -1 on an error. */
static ssize_t conn_recv(struct adm_conn *c, char *p, size_t n)
{
    if (c->ssl != NULL) {
        int r = SSL_read(c->ssl, p, (int)n);
        if (r > 0) {
            return r;
        }
        return SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    return recv(c->fd, p, n, 0);
}

static bool write_all(struct adm_conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = conn_send(c, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Read until the response parses complete. */
static int read_response(struct adm_conn *c, int *status, struct gw_buf *body, char *err,
                         size_t err_cap)
{
    struct gw_buf raw = GW_BUF_INIT;
    char chunk[16384];
    int rv = GW_ERR_AGAIN;

    while (rv == GW_ERR_AGAIN) {
        ssize_t n = conn_recv(c, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 || raw.len + (size_t)n > ADM_RESP_MAX) {
            snprintf(err, err_cap, "reading the answer: %s",
                     n < 0 ? strerror(errno) : "too large");
            rv = GW_ERR_IO;
            break;
        }
        gw_buf_append(&raw, chunk, (size_t)n);
        gw_buf_reset(body);
        rv = adm_http_parse(gw_buf_str(&raw), n == 0, status, body);
        if (rv == GW_ERR_AGAIN && n == 0) {
            rv = GW_ERR_BAD_REQUEST;
        }
        if (rv == GW_ERR_BAD_REQUEST) {
            snprintf(err, err_cap, "the endpoint's answer is not a well-formed HTTP response");
            rv = GW_ERR_IO;
        }
    }
    gw_buf_free(&raw);
    return rv;
}

int adm_http(const struct adm_opts *o, const char *method, const char *path, const char *body,
             size_t body_len, int *status, struct gw_buf *resp, char *err, size_t err_cap)
{
    struct adm_conn c = {-1, NULL, NULL};
    struct adm_endpoint ep;
    struct gw_buf req = GW_BUF_INIT;
    int rv = adm_endpoint_parse(o->endpoint, &ep);

    if (rv != 0) {
        snprintf(err, err_cap, "bad endpoint '%s' (want http[s]://HOST[:PORT])", o->endpoint);
        return GW_ERR_IO;
    }
    c.fd = dial(&ep, err, err_cap);
    if (c.fd < 0) {
        return GW_ERR_IO;
    }
    if (ep.is_tls) {
        rv = conn_tls(&c, &ep, o->ca_file, err, err_cap);
    }
    if (rv == 0) {
        rv = build_request(o, &ep, method, path, body, body_len, &req);
    }
    if (rv == 0 && !write_all(&c, req.data, req.len)) {
        snprintf(err, err_cap, "sending the request: %s", strerror(errno));
        rv = GW_ERR_IO;
    }
    if (rv == 0) {
        rv = read_response(&c, status, resp, err, err_cap);
    }
    conn_close(&c);
    gw_buf_free(&req);
    return rv;
}

/* ---- Response parsing ----------------------------------------------------- */

/* The value of header @name in the header block @h, or a NULL view. */
static struct gw_str header_value(struct gw_str h, const char *name)
{
    struct gw_str line;
    size_t n = strlen(name);

    while (h.len > 0) {
        gw_str_split(&h, '\n', &line);
        if (line.len > n && line.p[n] == ':' && strncasecmp(line.p, name, n) == 0) {
            struct gw_str v = gw_str_make(line.p + n + 1, line.len - n - 1);
            while (v.len > 0 && (v.p[0] == ' ' || v.p[0] == '\t')) {
                v.p++;
                v.len--;
            }
            while (v.len > 0 && (v.p[v.len - 1] == '\r' || v.p[v.len - 1] == ' ')) {
                v.len--;
            }
            return v;
        }
    }
    return GW_STR_NULL;
}

/* The chunk size at the start of @line (the bytes before its LF): hex
 * digits only, then CR, ';' or the end.  Parsed by hand within the view:
 * strtoull would skip leading blanks and LFs past the view's end (it is not
 * NUL-terminated), and accept signs and "0x". */
static bool chunk_size_parse(struct gw_str line, uint64_t *out)
{
    uint64_t n = 0;
    size_t i = 0;

    for (; i < line.len && isxdigit((unsigned char)line.p[i]); i++) {
        if (n > ADM_RESP_MAX) {
            return false; /* stops the digits long before n could wrap */
        }
        n = n * 16 + (uint64_t)(isdigit((unsigned char)line.p[i]) ? line.p[i] - '0'
                                                                  : (line.p[i] | 0x20) - 'a' + 10);
    }
    if (i == 0 || n > ADM_RESP_MAX || (i < line.len && line.p[i] != '\r' && line.p[i] != ';')) {
        return false;
    }
    *out = n;
    return true;
}

/* Decode a chunked body from @in.  GW_OK, GW_ERR_AGAIN, GW_ERR_BAD_REQUEST. */
static int dechunk(struct gw_str in, struct gw_buf *body)
{
    for (;;) {
        const char *eol = memchr(in.p, '\n', in.len);
        uint64_t n;
        if (eol == NULL) {
            return in.len > 32 ? GW_ERR_BAD_REQUEST : GW_ERR_AGAIN;
        }
        if (!chunk_size_parse(gw_str_make(in.p, (size_t)(eol - in.p)), &n)) {
            return GW_ERR_BAD_REQUEST;
        }
        in.len -= (size_t)(eol + 1 - in.p);
        in.p = eol + 1;
        if (n == 0) {
            return GW_OK; /* trailers are ignored */
        }
        if (in.len < n + 2) {
            return GW_ERR_AGAIN;
        }
        gw_buf_append(body, in.p, n);
        in.p += n + 2;
        in.len -= n + 2;
    }
}

int adm_http_parse(struct gw_str raw, bool is_eof, int *status, struct gw_buf *body)
{
    const char *hend = memmem(raw.p, raw.len, "\r\n\r\n", 4);
    struct gw_str head;
    struct gw_str rest;
    struct gw_str cl;
    struct gw_str te;
    uint64_t n;

    if (hend == NULL) {
        return raw.len > 65536 ? GW_ERR_BAD_REQUEST : GW_ERR_AGAIN;
    }
    head = gw_str_make(raw.p, (size_t)(hend - raw.p) + 2);
    rest = gw_str_make(hend + 4, raw.len - head.len - 2);
    /* "HTTP/1.x NNN": three digits, read within the view (no strspn/atoi,
     * which would run to a NUL the view does not have). */
    if (head.len < 14 || memcmp(head.p, "HTTP/1.", 7) != 0 || head.p[8] != ' ' ||
        !isdigit((unsigned char)head.p[9]) || !isdigit((unsigned char)head.p[10]) ||
        !isdigit((unsigned char)head.p[11]) || isdigit((unsigned char)head.p[12])) {
        return GW_ERR_BAD_REQUEST;
    }
    *status = (head.p[9] - '0') * 100 + (head.p[10] - '0') * 10 + (head.p[11] - '0');
    cl = header_value(head, "content-length");
    te = header_value(head, "transfer-encoding");
    if (te.p != NULL && gw_str_caseeq(te, GW_STR("chunked"))) {
        return dechunk(rest, body);
    }
    if (cl.p != NULL) {
        if (!gw_str_to_u64(cl, &n) || n > ADM_RESP_MAX) {
            return GW_ERR_BAD_REQUEST;
        }
        if (rest.len < n) {
            return is_eof ? GW_ERR_BAD_REQUEST : GW_ERR_AGAIN;
        }
        gw_buf_append(body, rest.p, (size_t)n);
        return GW_OK;
    }
    if (!is_eof) {
        return GW_ERR_AGAIN;
    }
    gw_buf_append(body, rest.p, rest.len);
    return GW_OK;
}
