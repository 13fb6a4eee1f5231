/* node/tls: TLS on the S3 listener (OpenSSL).
 *
 * A struct node_tls is one loaded server context (certificate chain, key,
 * TLS 1.2+ with OpenSSL's default ciphers, ALPN http/1.1).  Each connection
 * holds its own reference through its SSL object, so freeing or replacing a
 * context (certificate reload) never disturbs open connections.
 *
 * The connection side is a struct conn_io (see conn_int.h): a non-blocking
 * SSL object on the connection's socket; the handshake runs inside the reads
 * (accept state), WANT_READ/WANT_WRITE map to EAGAIN, and a read that needs
 * the socket writable says so through read_wants_write so the poll waits for
 * the right direction.  No sendfile: file bodies go through pread + SSL_write
 * (conn_out.c). */
#ifndef UNIGW_NODE_TLS_H
#define UNIGW_NODE_TLS_H

#include <stddef.h>

struct node_tls;
struct node_conn;

/* Load @cert_path (PEM chain, leaf first) and @key_path (PEM private key).
 * Returns GW_OK, or GW_ERR_CONFIG with a one-line reason in @err (missing or
 * unreadable file, not PEM, key does not match the certificate). */
int node_tls_load(const char *cert_path, const char *key_path, struct node_tls **out, char *err,
                  size_t err_len);
/* Drop the loader's reference; connections keep theirs. NULL is fine. */
void node_tls_free(struct node_tls *t);

/* Make @c (socket already in c->fd) speak TLS with context @t: sets c->io
 * and c->tls.  Returns GW_OK or GW_ERR_NOMEM/GW_ERR_IO. */
int node__tls_conn_init(struct node_conn *c, struct node_tls *t);

#endif
