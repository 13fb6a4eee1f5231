/* Unit tests for node/tls.c: the context loader's errors (missing files, not PEM, a key
 * that does not match the certificate), and the TLS conn_io against an in-process
 * OpenSSL client over a socketpair: the handshake driven by reads that answer EAGAIN,
 * records both ways, writev of many iovecs through a small socket buffer (the staged
 * bytes of a write that must wait are sent exactly once), close_notify on end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka 1.1 needs the four headers above first. */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "conn_int.h"
#include "tls.h"

static char dir[64];
static char cert_a[128], key_a[128], key_b[128], junk[128];

static EVP_PKEY *write_key(const char *path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    FILE *f = fopen(path, "w");

    assert_non_null(k);
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    return k;
}

/* A self-signed certificate for @k, CN=localhost. */
static void write_cert(const char *path, EVP_PKEY *k)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);
    FILE *f = fopen(path, "w");

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    X509_free(x);
}

static int setup(void **state)
{
    EVP_PKEY *a, *b;
    FILE *f;

    snprintf(dir, sizeof dir, "/tmp/unigw-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cert_a, sizeof cert_a, "%s/a.pem", dir);
    snprintf(key_a, sizeof key_a, "%s/a.key", dir);
    snprintf(key_b, sizeof key_b, "%s/b.key", dir);
    snprintf(junk, sizeof junk, "%s/junk.pem", dir);
    a = write_key(key_a);
    b = write_key(key_b);
    write_cert(cert_a, a);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    f = fopen(junk, "w");
    fputs("not a certificate\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    unlink(cert_a);
    unlink(key_a);
    unlink(key_b);
    unlink(junk);
    rmdir(dir);
    return 0;
}

static void expect_load_error(const char *cert, const char *key, const char *want)
{
    struct node_tls *t = NULL;
    char err[512] = "";

    assert_int_equal(node_tls_load(cert, key, &t, err, sizeof err), GW_ERR_CONFIG);
    assert_null(t);
    if (strstr(err, want) == NULL) {
        fail_msg("error '%s' lacks '%s'", err, want);
    }
    assert_int_equal(ERR_peek_error(), 0); /* nothing left on OpenSSL's error queue */
}

static void load_missing_cert(void **state)
{
    char want[256], path[128];

    snprintf(path, sizeof path, "%s/none.pem", dir);
    snprintf(want, sizeof want, "tls_cert '%s': No such file or directory", path);
    expect_load_error(path, key_a, want);
}

static void load_missing_key(void **state)
{
    char want[256], path[128];

    snprintf(path, sizeof path, "%s/none.key", dir);
    snprintf(want, sizeof want, "tls_key '%s': No such file or directory", path);
    expect_load_error(cert_a, path, want);
}

static void load_key_mismatch(void **state)
{
    expect_load_error(cert_a, key_b, "does not match the certificate");
}

static void load_not_pem(void **state)
{
    char want[256];

    snprintf(want, sizeof want, "tls_cert '%s': ", junk);
    expect_load_error(junk, key_a, want);
    snprintf(want, sizeof want, "tls_key '%s': ", junk);
    expect_load_error(cert_a, junk, want);
}

static void load_ok(void **state)
{
    struct node_tls *t = NULL;
    char err[256] = "";

    assert_int_equal(node_tls_load(cert_a, key_a, &t, err, sizeof err), GW_OK);
    assert_non_null(t);
    node_tls_free(t);
    node_tls_free(NULL);
}

/* ---- the conn_io against a client in the same thread ---- */

struct pair {
    struct node_tls *tls;
    struct node_conn *c;
    SSL_CTX *cctx;
    SSL *cli;
    int cfd;
};

static void pair_open(struct pair *p, int sndbuf)
{
    int sv[2];
    char err[256];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    if (sndbuf > 0) {
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    assert_int_equal(node_tls_load(cert_a, key_a, &p->tls, err, sizeof err), GW_OK);
    p->c = gw_calloc(1, sizeof *p->c);
    p->c->fd = sv[0];
    assert_int_equal(node__tls_conn_init(p->c, p->tls), GW_OK);
    node_tls_free(p->tls); /* the connection keeps its own reference */
    assert_true(p->c->io->is_tls);
    assert_false(p->c->io->can_sendfile);
    p->cctx = SSL_CTX_new(TLS_client_method());
    assert_int_equal(SSL_CTX_load_verify_locations(p->cctx, cert_a, NULL), 1);
    SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
    p->cli = SSL_new(p->cctx);
    p->cfd = sv[1];
    SSL_set_fd(p->cli, sv[1]);
    SSL_set_connect_state(p->cli);
}

static void pair_close(struct pair *p)
{
    p->c->io->free(p->c);
    close(p->c->fd);
    gw_free(p->c);
    SSL_free(p->cli);
    SSL_CTX_free(p->cctx);
    close(p->cfd);
}

/* Alternate client handshake steps and server reads until the client is done. */
static void pair_handshake(struct pair *p)
{
    char b[16];
    int i;

    for (i = 0; i < 100 && SSL_do_handshake(p->cli) != 1; i++) {
        ssize_t n = p->c->io->read(p->c, b, sizeof b);

        assert_int_equal(n, -1);
        assert_int_equal(errno, EAGAIN);
    }
    assert_true(i < 100);
    assert_int_equal(SSL_get_verify_result(p->cli), X509_V_OK);
    /* The server's side ends with the client's last flight (TLS 1.3: Finished). */
    assert_int_equal(p->c->io->read(p->c, b, sizeof b), -1);
    assert_int_equal(errno, EAGAIN);
}

/* The server reads what the client wrote (its last handshake flight comes first). */
static void io_read_after_handshake(void **state)
{
    struct pair p;
    char b[64];
    ssize_t n = -1;

    pair_open(&p, 0);
    pair_handshake(&p);
    assert_int_equal(SSL_write(p.cli, "hello", 5), 5);
    for (int i = 0; i < 10 && n < 0; i++) {
        n = p.c->io->read(p.c, b, sizeof b);
    }
    assert_int_equal(n, 5);
    assert_memory_equal(b, "hello", 5);
    assert_false(p.c->io->has_pending(p.c));
    /* A short read leaves decrypted bytes pending without the socket polling readable. */
    assert_int_equal(SSL_write(p.cli, "0123456789", 10), 10);
    assert_int_equal(p.c->io->read(p.c, b, 4), 4);
    assert_true(p.c->io->has_pending(p.c));
    assert_int_equal(p.c->io->read(p.c, b, sizeof b), 6);
    assert_memory_equal(b, "456789", 6);
    pair_close(&p);
}

/* Client drains what is readable now into @out at @got. */
static size_t client_drain(struct pair *p, unsigned char *out, size_t got, size_t cap)
{
    for (;;) {
        int n = SSL_read(p->cli, out + got, (int)(cap - got));

        if (n <= 0) {
            assert_int_equal(SSL_get_error(p->cli, n), SSL_ERROR_WANT_READ);
            return got;
        }
        got += (size_t)n;
    }
}

/* writev semantics through back-pressure: the caller advances by what writev
 * returned, as conn_out.c does, and the client sees every byte once, in order. */
static void io_writev_backpressure(void **state)
{
    enum { TOTAL = 3 * 1024 * 1024 + 11 };
    unsigned char *src = gw_malloc(TOTAL), *dst = gw_malloc(TOTAL);
    size_t sizes[] = {7, 1, 40000, 3, 100000, 16384, 16385, 2};
    size_t off = 0, got = 0, k = 0;
    int eagain = 0;
    struct pair p;

    for (size_t i = 0; i < TOTAL; i++) {
        src[i] = (unsigned char)(i * 131 + (i >> 9));
    }
    pair_open(&p, 4096);
    pair_handshake(&p);
    while (off < TOTAL) {
        struct iovec iov[8];
        int n = 0;
        size_t at = off;
        ssize_t w;

        for (size_t j = 0; j < 8 && at < TOTAL; j++) {
            size_t l = sizes[(k + j) % 8];

            l = l < TOTAL - at ? l : TOTAL - at;
            iov[n].iov_base = src + at;
            iov[n++].iov_len = l;
            at += l;
        }
        w = p.c->io->writev(p.c, iov, n);
        if (w < 0) {
            assert_int_equal(errno, EAGAIN);
            eagain++;
            got = client_drain(&p, dst, got, TOTAL);
            continue;
        }
        assert_true(w > 0 && (size_t)w <= at - off);
        off += (size_t)w;
        k++;
    }
    for (int i = 0; i < 10000 && got < TOTAL; i++) {
        got = client_drain(&p, dst, got, TOTAL);
    }
    assert_int_equal(got, TOTAL);
    assert_memory_equal(src, dst, TOTAL);
    assert_true(eagain > 0); /* the small buffer did push back */
    pair_close(&p);
    gw_free(src);
    gw_free(dst);
}

/* end sends close_notify: the client reads a clean end of stream. */
static void io_end_sends_close_notify(void **state)
{
    struct pair p;
    char b[8];

    pair_open(&p, 0);
    pair_handshake(&p);
    p.c->io->end(p.c);
    p.c->io->end(p.c); /* once only */
    assert_int_equal(SSL_read(p.cli, b, sizeof b), 0);
    assert_int_equal(SSL_get_error(p.cli, 0), SSL_ERROR_ZERO_RETURN);
    pair_close(&p);
}

/* Garbage instead of a ClientHello: the read fails (no EAGAIN) and nothing is sent back
 * on end (no close_notify after a fatal error). */
static void io_garbage_is_fatal(void **state)
{
    struct pair p;
    char b[64];
    ssize_t n;

    pair_open(&p, 0);
    assert_int_equal(write(p.cfd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 27);
    n = p.c->io->read(p.c, b, sizeof b);
    assert_int_equal(n, -1);
    assert_true(errno != EAGAIN);
    p.c->io->end(p.c);
    assert_int_equal(p.c->io->read(p.c, b, sizeof b), -1);
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_missing_cert),      cmocka_unit_test(load_missing_key),
        cmocka_unit_test(load_key_mismatch),      cmocka_unit_test(load_not_pem),
        cmocka_unit_test(load_ok),                cmocka_unit_test(io_read_after_handshake),
        cmocka_unit_test(io_writev_backpressure), cmocka_unit_test(io_end_sends_close_notify),
        cmocka_unit_test(io_garbage_is_fatal),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
