/* node/tls: TLS on the S3 listener (see tls.h).
 *
 * Writes: SSL_write is fed from a per-connection staging buffer of one TLS
 * record (16 KiB) gathered from the caller's iovecs, so small pieces (status
 * line, chunk prefixes) share a record.  When SSL_write must wait, the staged
 * bytes stay staged and are not reported as written; the caller's next
 * writev starts with the same bytes (its queue did not move), and OpenSSL's
 * retry rule (same data again) holds because the retry sends the staging
 * buffer itself. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"

#include "conn_int.h"
#include "tls.h"

#define TLS_WBUF_CAP 16384u

struct node_tls {
    SSL_CTX *ctx;
};

struct conn_tls {
    SSL *ssl;
    bool read_wants_write;
    bool is_broken; /* a fatal error: no close_notify, no more I/O */
    bool is_ended;  /* close_notify sent (or attempted) */
    size_t wlen;    /* staged bytes not yet accepted by SSL_write */
    unsigned char wbuf[TLS_WBUF_CAP];
};

/* ---- the context ---- */

static void err_openssl(char *err, size_t err_len, const char *what, const char *path)
{
    char e[256];

    ERR_error_string_n(ERR_get_error(), e, sizeof e);
    ERR_clear_error();
    snprintf(err, err_len, "%s '%s': %s", what, path, e);
}

/* OpenSSL's message for a missing file is cryptic; say it plainly first. */
static bool file_readable(const char *what, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, err_len, "%s '%s': %s", what, path, strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

/* ALPN: http/1.1 when the client offers it; otherwise no ALPN at all (a
 * client that offers only h2 then still talks HTTP/1.1 or gives up). */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *out_len,
                       const unsigned char *in, unsigned int in_len, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel = NULL;

    if (SSL_select_next_proto(&sel, out_len, ours, sizeof ours - 1, in, in_len) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Loading a key that does not match the certificate fails with this error. */
static bool key_mismatch(void)
{
    unsigned long l = ERR_peek_error();

    return ERR_GET_LIB(l) == ERR_LIB_X509 && ERR_GET_REASON(l) == X509_R_KEY_VALUES_MISMATCH;
}

static SSL_CTX *ctx_new(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* Partial writes and a moving buffer fit the non-blocking queue; released
     * buffers keep idle keep-alive connections small. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
}

int node_tls_load(const char *cert_path, const char *key_path, struct node_tls **out, char *err,
                  size_t err_len)
{
    SSL_CTX *ctx;
    struct node_tls *t;

    if (!file_readable("tls_cert", cert_path, err, err_len) ||
        !file_readable("tls_key", key_path, err, err_len)) {
        return GW_ERR_CONFIG;
    }
    ERR_clear_error();
    ctx = ctx_new();
    if (ctx == NULL) {
        err_openssl(err, err_len, "tls", "context");
        return GW_ERR_CONFIG;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
        err_openssl(err, err_len, "tls_cert", cert_path);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 &&
               !key_mismatch()) {
        err_openssl(err, err_len, "tls_key", key_path);
    } else if (key_mismatch() || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, err_len, "tls_key '%s' does not match the certificate in tls_cert '%s'",
                 key_path, cert_path);
    } else {
        t = gw_calloc(1, sizeof *t);
        t->ctx = ctx;
        *out = t;
        return GW_OK;
    }
    SSL_CTX_free(ctx);
    return GW_ERR_CONFIG;
}

void node_tls_free(struct node_tls *t)
{
    if (t != NULL) {
        SSL_CTX_free(t->ctx);
        gw_free(t);
    }
}

/* ---- the connection ---- */

/* A fatal error: log why at debug (handshake failures are the client's
 * business: plain HTTP on the TLS port, an untrusted certificate...). */
static void tls_broken(struct node_conn *c, int code)
{
    char e[256] = "";
    unsigned long l = ERR_get_error();

    c->tls->is_broken = true;
    if (l != 0) {
        ERR_error_string_n(l, e, sizeof e);
    }
    ERR_clear_error();
    GW_LOG(GW_LOG_DEBUG, "tls", "peer=%s msg=\"tls error %d: %s\"", c->peer_ip, code, e);
}

static ssize_t tls_read(struct node_conn *c, void *p, size_t len)
{
    struct conn_tls *t = c->tls;
    int saved, code, n;

    t->read_wants_write = false;
    if (t->is_broken) {
        errno = EPIPE;
        return -1;
    }
    ERR_clear_error();
    errno = 0;
    n = SSL_read(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) {
        return n;
    }
    saved = errno;
    code = SSL_get_error(t->ssl, n);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        t->read_wants_write = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* close_notify */
    default:
        tls_broken(c, code);
        if (code == SSL_ERROR_SYSCALL && (saved == 0 || saved == EAGAIN)) {
            return 0; /* EOF without close_notify */
        }
        errno = saved != 0 && saved != EAGAIN ? saved : EPROTO;
        return -1;
    }
}

/* Copy up to one record of the bytes after @skip in @iov into the staging buffer. */
static size_t tls_stage(struct conn_tls *t, const struct iovec *iov, int n, size_t skip)
{
    size_t got = 0;

    for (int i = 0; i < n && got < TLS_WBUF_CAP; i++) {
        size_t l = iov[i].iov_len;
        size_t take;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        take = l - skip < TLS_WBUF_CAP - got ? l - skip : TLS_WBUF_CAP - got;
        memcpy(t->wbuf + got, (const char *)iov[i].iov_base + skip, take);
        got += take;
        skip = 0;
    }
    return got;
}

static ssize_t tls_writev(struct node_conn *c, const struct iovec *iov, int n)
{
    struct conn_tls *t = c->tls;
    size_t total = 0;

    while (!t->is_broken) {
        int w, code;

        if (t->wlen == 0) {
            t->wlen = tls_stage(t, iov, n, total);
            if (t->wlen == 0) {
                return (ssize_t)total;
            }
        }
        ERR_clear_error();
        w = SSL_write(t->ssl, t->wbuf, (int)t->wlen);
        if (w > 0) {
            total += (size_t)w;
            t->wlen -= (size_t)w;
            memmove(t->wbuf, t->wbuf + w, t->wlen);
            continue;
        }
        code = SSL_get_error(t->ssl, w);
        /* WANT_READ on a write would need renegotiation, which is off; should it
         * come, waiting for writability retries until write_timeout at worst. */
        if (code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ) {
            if (total > 0) {
                return (ssize_t)total;
            }
            errno = EAGAIN;
            return -1;
        }
        tls_broken(c, code);
    }
    if (total > 0) {
        return (ssize_t)total;
    }
    errno = EPIPE;
    return -1;
}

static bool tls_has_pending(const struct node_conn *c)
{
    return !c->tls->is_broken && SSL_pending(c->tls->ssl) > 0;
}

static bool tls_read_wants_write(const struct node_conn *c)
{
    return c->tls->read_wants_write;
}

/* One non-blocking close_notify attempt; a peer that is gone loses nothing. */
static void tls_end(struct node_conn *c)
{
    struct conn_tls *t = c->tls;

    /* Nor with a record still staged: close_notify must not pass unsent data. */
    if (t->is_ended || t->is_broken || t->wlen != 0 || !SSL_is_init_finished(t->ssl)) {
        return;
    }
    t->is_ended = true;
    ERR_clear_error();
    if (SSL_shutdown(t->ssl) < 0) {
        ERR_clear_error();
    }
}

static void tls_free(struct node_conn *c)
{
    SSL_free(c->tls->ssl);
    gw_free(c->tls);
    c->tls = NULL;
}

static const struct conn_io tls_io = {
    .read = tls_read,
    .writev = tls_writev,
    .has_pending = tls_has_pending,
    .read_wants_write = tls_read_wants_write,
    .end = tls_end,
    .free = tls_free,
    .can_sendfile = false,
    .is_tls = true,
};

int node__tls_conn_init(struct node_conn *c, struct node_tls *t)
{
    SSL *ssl = SSL_new(t->ctx);

    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        return GW_ERR_NOMEM;
    }
    SSL_set_accept_state(ssl);
    c->tls = gw_calloc(1, sizeof *c->tls);
    c->tls->ssl = ssl;
    c->io = &tls_io;
    return GW_OK;
}
