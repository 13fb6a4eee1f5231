/* unigw-admin internals: options, the HTTP client, the SigV4 signer, output.
 *
 * The CLI is a thin client of the node's admin API (/admin/v1/, see
 * node/admin_api.h): it never opens the data dir or the metadata store. */
#ifndef UNIGW_ADMIN_ADMIN_H
#define UNIGW_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/str.h"

/* Exit codes. */
#define ADM_EXIT_OK 0
#define ADM_EXIT_SERVER 1 /* the node answered an error */
#define ADM_EXIT_USAGE 2
#define ADM_EXIT_CONNECT 3 /* no answer: connection refused, reset, timeout, bad HTTP */

#define ADM_MAX_ARGS 4

/* The parsed command line.  Strings point into argv or the environment, or
 * are owned copies from the config file (freed by adm_opts_free). */
struct adm_opts {
    const char *endpoint;
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *config; /* --config FILE */
    const char *ca_file; /* --ca-file FILE: the CA that signed an https endpoint */
    bool is_json;
    bool is_admin; /* user create --admin */
    bool is_standby; /* cluster add-node --standby */
    bool is_help;
    const char *owner; /* bucket create --owner */
    const char *group;
    const char *command;
    const char *args[ADM_MAX_ARGS];
    size_t n_args;
    char *owned[4]; /* values read from the config file */
};

/* Parse @argv (options may come anywhere; "--opt value" or "--opt=value").
 * Returns GW_OK or GW_ERR_INVALID_ARGUMENT with a sentence in @err. */
int adm_opts_parse(int argc, char **argv, struct adm_opts *o, char *err, size_t err_cap);
/* Fill what the flags left unset from @envp (UNIGW_ENDPOINT, UNIGW_ACCESS_KEY,
 * UNIGW_SECRET_KEY, UNIGW_REGION), then from the config file (--config, else
 * $HOME/.config/unigw/admin.conf when it exists).  GW_OK, or
 * GW_ERR_INVALID_ARGUMENT with a sentence in @err (unreadable --config,
 * malformed file, unknown key, or still no endpoint or credentials). */
int adm_opts_resolve(struct adm_opts *o, char **envp, char *err, size_t err_cap);
void adm_opts_free(struct adm_opts *o);
/* The usage text. */
void adm_usage(FILE *f);

/* An endpoint "http://host[:port][/]" split for connecting and signing. */
struct adm_endpoint {
    bool is_tls;        /* https:// */
    char host[256];     /* without brackets */
    char port[8];
    char host_hdr[300]; /* the Host header: host[:port] as given */
};
int adm_endpoint_parse(const char *url, struct adm_endpoint *out);

/* SigV4 for a request with an empty query: Authorization header value into
 * @out.  @names/@values are the headers to sign (names lower-case, any
 * order; include host, x-amz-date and x-amz-content-sha256). */
struct adm_sign_req {
    const char *method;
    const char *path; /* as sent: percent-encoded */
    const char *query; /* as sent, without '?', parameters sorted; "" when none */
    const char *const *names;
    const char *const *values;
    size_t n_headers;
    const char *payload_hash; /* lower-case hex SHA-256 of the body */
    const char *amz_date;     /* YYYYMMDDTHHMMSSZ */
    const char *access_key;
    const char *secret_key;
    const char *region;
};
int adm_sign(const struct adm_sign_req *r, struct gw_buf *out);

/* One exchange with the node: send @method @path with @body (may be NULL)
 * signed with @o's credentials, read the whole answer.  GW_OK with
 * *@status and @resp (the body), or GW_ERR_IO with a sentence in @err when
 * there was no (well-formed) answer. */
int adm_http(const struct adm_opts *o, const char *method, const char *path, const char *body,
             size_t body_len, int *status, struct gw_buf *resp, char *err, size_t err_cap);
/* Parse a raw HTTP/1.1 response (status line, headers, Content-Length,
 * chunked or close-delimited body).  GW_OK, GW_ERR_AGAIN (incomplete: read
 * more), or GW_ERR_BAD_REQUEST (malformed).  @is_eof: the peer closed. */
int adm_http_parse(struct gw_str raw, bool is_eof, int *status, struct gw_buf *body);

/* Output: a table of rows, aligned columns, a header line. */
#define ADM_TABLE_MAX_COLS 10
struct adm_table {
    size_t n_cols;
    const char *const *head;
    char **cells; /* n_rows * n_cols, owned */
    size_t n_rows;
};
void adm_table_init(struct adm_table *t, size_t n_cols, const char *const *head);
/* Append a row of @t->n_cols strings (copied; NULL prints "-"). */
void adm_table_row(struct adm_table *t, const char *const *cells);
void adm_table_print(const struct adm_table *t, struct gw_buf *out);
void adm_table_free(struct adm_table *t);
/* A JSON value of an answer as display text into @buf (strings bare, true as
 * "yes", null as "-"). */
const char *adm_json_text(json_t *v, char *buf, size_t cap);

/* Commands: run one, write to @out (stdout) and @errf (stderr); return an exit code. */
struct adm_ctx {
    const struct adm_opts *o;
    FILE *out;
    FILE *errf;
};
int adm_cmd_user(struct adm_ctx *c);
int adm_cmd_key(struct adm_ctx *c);
int adm_cmd_bucket(struct adm_ctx *c);
int adm_cmd_policy(struct adm_ctx *c);
int adm_cmd_cluster(struct adm_ctx *c);
/* Shared by the commands: call the API and decode the JSON answer into
 * *@json (NULL when the body is not JSON).  Prints the error and returns
 * the exit code when it is not a 2xx. */
int adm_call(struct adm_ctx *c, const char *method, const char *path, json_t *body,
             json_t **json);
/* The same with a raw body and raw answer (policy documents). */
int adm_call_raw(struct adm_ctx *c, const char *method, const char *path, const char *body,
                 size_t len, struct gw_buf *resp);
/* "/admin/v1/" + @a + "/" + encoded @b (+ "/" + @c when not NULL), in @out. */
void adm_path(struct gw_buf *out, const char *a, const char *b, const char *c);
/* Print @j pretty (2-space indent) and a newline. */
void adm_json_print(struct adm_ctx *c, json_t *j);

#endif
