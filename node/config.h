/* The daemon's configuration.
 *
 * One table, NODE_CONFIG_MAP, drives everything: the fields of struct node_config, the INI
 * parser (libinih), the defaults, the range checks, `unigw --print-config` and the committed
 * deploy/conf/unigw.conf.example (a unit test regenerates it from this table and compares).
 *
 * Sources, later ones winning: the table's defaults, the file named by --config, then the
 * command-line flags (--listen, --set section.key=value, ...).  The environment supplies only
 * the root user's first key (UNIGW_ROOT_ACCESS_KEY, UNIGW_ROOT_SECRET_KEY), which never appears
 * in printed output.  The struct is filled once at start and is read-only afterwards; it is
 * passed explicitly, there is no global configuration. */
#ifndef UNIGW_NODE_CONFIG_H
#define UNIGW_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "unigw/buf.h"
#include "unigw/log.h"

#ifndef UNIGW_VERSION
#define UNIGW_VERSION "0.1.0-dev"
#endif

/* A BYTES_AUTO field set to "auto". */
#define NODE_CONFIG_AUTO UINT64_MAX

/* Units for the table's min/max columns: BYTES are in bytes, MS in milliseconds. */
#define NODE_CONFIG_KIB 1024ULL
#define NODE_CONFIG_MIB (1024ULL * NODE_CONFIG_KIB)
#define NODE_CONFIG_GIB (1024ULL * NODE_CONFIG_MIB)
#define NODE_CONFIG_TIB (1024ULL * NODE_CONFIG_GIB)
#define NODE_CONFIG_SEC 1000ULL
#define NODE_CONFIG_MIN (60ULL * NODE_CONFIG_SEC)
#define NODE_CONFIG_HOUR (60ULL * NODE_CONFIG_MIN)
#define NODE_CONFIG_DAY (24ULL * NODE_CONFIG_HOUR)

/* Sections in output order: S(name, help). */
#define NODE_CONFIG_SECTIONS(S)                                                                    \
    S(node, "This node: its identity and its local (non-shared) state")                            \
    S(server, "The S3 HTTP listener and its limits")                                               \
    S(storage, "The shared POSIX mount that holds buckets and objects")                            \
    S(s3, "S3 protocol behaviour")                                                                 \
    S(cluster, "The cluster: Raft membership, the internal RPC and shared secrets")                \
    S(cache, "The hot-object cache: object bodies held in memory by their owner node")             \
    S(admin, "The admin API (no keys yet)")

/* X(type, section, name, default, min, max, help)
 *
 * Types: STR (char *; min/max bound its length in bytes), U64, U32, BOOL (true/false, yes/no,
 * on/off, 1/0), BYTES (uint64_t; "64KiB", "512MiB", "5GiB", "5TiB" or a plain number),
 * BYTES_AUTO (a BYTES value or "auto", stored as NODE_CONFIG_AUTO and resolved by the
 * key's accessor), MS (uint64_t milliseconds; "500ms", "30s", "2m", "1h", "7d" or a plain
 * number of ms) and LOGLEVEL (debug, info, warn, error).  Defaults are written as the file would spell them and
 * go through the same parser.  String lengths stay below 161 bytes because libinih reads at
 * most 198 bytes per line.  Some keys get extra syntax checks in config.c (key_check). */
#define NODE_CONFIG_MAP_NODE(X)                                                                    \
    X(STR, node, id, "", 0, 64,                                                                    \
      "Node id, unique in the cluster, of [A-Za-z0-9._-]; empty: the host name")                   \
    X(STR, node, data_dir, "/var/lib/unigw", 1, 160,                                               \
      "Local directory (absolute) for the Raft log, LMDB and the generated cluster key")           \
    X(LOGLEVEL, node, log_level, "info", 0, 0, "Log threshold: debug, info, warn or error")      \
    X(BYTES, node, meta_map_size, "1GiB", 16 * NODE_CONFIG_MIB, 4 * NODE_CONFIG_TIB,             \
      "Size of the local metadata store (LMDB map); raise it if a node stops on a full store")

#define NODE_CONFIG_MAP_SERVER(X)                                                                  \
    X(STR, server, listen, "127.0.0.1:9000", 1, 64,                                                \
      "S3 listen address: a.b.c.d:port or [IPv6]:port")                                            \
    X(STR, server, vhost_domain, "", 0, 160,                                                       \
      "Domain for virtual-hosted-style requests (bucket.DOMAIN); empty: path style only")          \
    X(STR, server, region, "us-east-1", 1, 32, "Region name that clients sign requests for")       \
    X(STR, server, tls_cert, "", 0, 255,                                                           \
      "PEM certificate chain (leaf first); with tls_key: the S3 listener speaks HTTPS only")       \
    X(STR, server, tls_key, "", 0, 255, "PEM private key of tls_cert")                             \
    X(BYTES, server, max_header_bytes, "64KiB", 4 * NODE_CONFIG_KIB, NODE_CONFIG_MIB,              \
      "Largest request line plus header section")                                                  \
    X(U32, server, max_headers, "100", 8, 1000, "Most header fields in one request")               \
    X(U32, server, max_url_len, "16384", 256, 65536, "Longest request target (path and query)")    \
    X(MS, server, idle_timeout, "1m", 100, NODE_CONFIG_HOUR,                                       \
      "Close a keep-alive connection idle this long")                                              \
    X(MS, server, header_timeout, "30s", 100, 10 * NODE_CONFIG_MIN,                                \
      "Time allowed to receive a request's header section")                                        \
    X(MS, server, body_timeout, "1m", 100, NODE_CONFIG_HOUR,                                       \
      "Longest wait for the next body bytes of a request")                                         \
    X(MS, server, write_timeout, "1m", 100, NODE_CONFIG_HOUR,                                      \
      "Longest wait for the client to accept response bytes")                                      \
    X(U32, server, max_connections, "4096", 1, 1000000, "Most client connections open at once")    \
    X(U32, server, io_threads, "16", 1, 1024,                                                      \
      "Data-path worker threads (file I/O and hashing on the shared mount)")                       \
    X(BYTES, server, io_chunk_size, "1MiB", 4 * NODE_CONFIG_KIB, 64 * NODE_CONFIG_MIB,             \
      "Bytes per body read or write job")                                                          \
    X(BYTES, server, max_object_size, "5GiB", 1, 5 * NODE_CONFIG_TIB,                              \
      "Largest single PutObject body (AWS: 5GiB; multipart objects may be larger)")

#define NODE_CONFIG_MAP_STORAGE(X)                                                                 \
    X(STR, storage, mount, "/srv/unigw", 1, 160,                                                   \
      "Root of the shared mount (absolute path); each top-level directory is a bucket")            \
    X(BOOL, storage, fsync, "true", 0, 0,                                                          \
      "fsync file, directory and new parents before answering a write")                            \
    X(STR, storage, xattrs, "auto", 1, 4,                                                          \
      "Object metadata in user xattrs: auto (probe at start), on, or off (sidecar files)")         \
    X(BOOL, storage, copy_file_range, "true", 0, 0,                                                \
      "Use copy_file_range(2) for CopyObject and multipart assembly")                              \
    X(BOOL, storage, reflink, "true", 0, 0, "Try reflinks (FICLONE) before copying data")

#define NODE_CONFIG_MAP_S3(X)                                                                      \
    X(MS, s3, clock_skew, "15m", NODE_CONFIG_SEC, NODE_CONFIG_DAY,                                 \
      "Largest accepted difference between a request's date and this node's clock")                \
    X(MS, s3, presign_max_expiry, "7d", NODE_CONFIG_SEC, 7 * NODE_CONFIG_DAY,                      \
      "Longest X-Amz-Expires accepted on a presigned URL")                                         \
    X(BOOL, s3, background_md5, "true", 0, 0,                                                      \
      "Compute real MD5 ETags in the background for files written through POSIX")           \
    X(MS, s3, multipart_expiry, "7d", NODE_CONFIG_SEC, 365 * NODE_CONFIG_DAY,                      \
      "Remove multipart uploads not completed or aborted within this time")                     \
    X(MS, s3, tag_sweep_interval, "1h", NODE_CONFIG_SEC, NODE_CONFIG_DAY,                          \
      "How often the leader looks for tag records whose object was removed through POSIX")

/* Raft and the internal RPC (raft/, include/unigw/repl.h).  peers is
 * "ID=a.b.c.d:port,ID=a.b.c.d:port,..." (decimal Raft ids > 0, IPv4 literals: libraft 0.15
 * has no host names), parsed by repl_peers_parse().  The RPC HMAC is keyed by cluster_key
 * (no separate secret key: config.c masks only cluster_key in printed output). */
#define NODE_CONFIG_MAP_CLUSTER(X)                                                                 \
    X(STR, cluster, cluster_key, "", 0, 64,                                                        \
      "Secret, 64 hex digits; empty: generated on first start and kept in data_dir")               \
    X(U64, cluster, raft_id, "0", 0, UINT64_MAX,                                                   \
      "This node's Raft id (never reused); 0: the id of raft_listen's entry in peers")             \
    X(STR, cluster, raft_listen, "127.0.0.1:9100", 1, 21,                                          \
      "Raft address a.b.c.d:port (IPv4 literal), advertised to peers and bound")                   \
    X(STR, cluster, rpc_listen, "", 0, 21,                                                         \
      "Internal RPC address: empty, or raft_listen's address with port + 1 (peers look there)") \
    X(STR, cluster, peers, "", 0, 160,                                                             \
      "Initial voters ID=a.b.c.d:port,...; bootstraps a pristine node; empty: just this node")  \
    X(U32, cluster, snapshot_threshold, "16384", 8, 100000000,                                     \
      "Raft entries between two snapshots of the metadata store")                                  \
    X(U32, cluster, snapshot_trailing, "16384", 8, 100000000,                                      \
      "Raft entries kept behind a snapshot (at least snapshot_threshold)")                         \
    X(MS, cluster, election_timeout, "1s", 100, NODE_CONFIG_MIN,                                   \
      "Raft election timeout (randomized between 1x and 2x)")                                      \
    X(MS, cluster, heartbeat_timeout, "100ms", 10, 10 * NODE_CONFIG_SEC,                           \
      "Raft heartbeat interval (well below election_timeout)")

/* The hot-object cache (node/cache/, README "Hot-object cache").  size "auto" is a quarter of
 * the RAM capped at 4 GiB (node_config_cache_size); 0 turns the cache off whatever mode says. */
#define NODE_CONFIG_MAP_CACHE(X)                                                                   \
    X(BYTES_AUTO, cache, size, "auto", 0, 16 * NODE_CONFIG_TIB,                                    \
      "Memory for cached bodies, overhead included; auto: RAM / 4, at most 4GiB; 0: off")        \
    X(BYTES, cache, max_object_size, "64MiB", 1, NODE_CONFIG_TIB,                                  \
      "Largest object body the cache holds")                                                     \
    X(U32, cache, admit_after, "2", 1, 255,                                                        \
      "Reads of an object within the admission window before it is cached")                      \
    X(STR, cache, mode, "proxy", 2, 8,                                                             \
      "GET at a non-owner: proxy (stream from the owner), redirect (307 + token) or off")         \
    X(MS, cache, token_ttl, "30s", NODE_CONFIG_SEC, NODE_CONFIG_HOUR,                              \
      "Lifetime of a redirect token (mode = redirect)")

#define NODE_CONFIG_MAP(X)                                                                         \
    NODE_CONFIG_MAP_NODE(X)                                                                        \
    NODE_CONFIG_MAP_SERVER(X)                                                                      \
    NODE_CONFIG_MAP_STORAGE(X)                                                                     \
    NODE_CONFIG_MAP_S3(X)                                                                          \
    NODE_CONFIG_MAP_CLUSTER(X)                                                                     \
    NODE_CONFIG_MAP_CACHE(X)

#define NODE_CONFIG__CTYPE_STR char *
#define NODE_CONFIG__CTYPE_U64 uint64_t
#define NODE_CONFIG__CTYPE_U32 uint32_t
#define NODE_CONFIG__CTYPE_BOOL bool
#define NODE_CONFIG__CTYPE_BYTES uint64_t
#define NODE_CONFIG__CTYPE_BYTES_AUTO uint64_t
#define NODE_CONFIG__CTYPE_MS uint64_t
#define NODE_CONFIG__CTYPE_LOGLEVEL enum gw_log_level
#define NODE_CONFIG__FIELD(type, section, name, def, min, max, help) NODE_CONFIG__CTYPE_##type name;

/* What the process should do once node_config_load() returned GW_OK. */
enum node_config_action {
    NODE_CONFIG_RUN = 0, /* start the daemon */
    NODE_CONFIG_HELP,    /* --help: print node_config_usage() and exit 0 */
    NODE_CONFIG_VERSION, /* --version: print "unigw " UNIGW_VERSION and exit 0 */
    NODE_CONFIG_PRINT,   /* --print-config: print node_config_print() and exit 0 */
};

/* Plain fields, one per table row (cfg->server.listen, cfg->storage.fsync, ...).  Strings are
 * owned by the struct and never NULL after node_config_init(). */
struct node_config {
    struct node_config_node {
        NODE_CONFIG_MAP_NODE(NODE_CONFIG__FIELD)
    } node;
    struct node_config_server {
        NODE_CONFIG_MAP_SERVER(NODE_CONFIG__FIELD)
    } server;
    struct node_config_storage {
        NODE_CONFIG_MAP_STORAGE(NODE_CONFIG__FIELD)
    } storage;
    struct node_config_s3 {
        NODE_CONFIG_MAP_S3(NODE_CONFIG__FIELD)
    } s3;
    struct node_config_cluster {
        NODE_CONFIG_MAP_CLUSTER(NODE_CONFIG__FIELD)
    } cluster;
    struct node_config_cache {
        NODE_CONFIG_MAP_CACHE(NODE_CONFIG__FIELD)
    } cache;
    char *config_path;     /* --config FILE, or NULL */
    char *root_access_key; /* UNIGW_ROOT_ACCESS_KEY (3..128 of [A-Za-z0-9]), or NULL */
    char *root_secret_key; /* UNIGW_ROOT_SECRET_KEY (8..128 printable), or NULL */
    enum node_config_action action;
};

/* Fill @cfg with the table's defaults.  Never fails. */
void node_config_init(struct node_config *cfg);

/* Set one table key from its text form, as the file would spell it.  Nothing changes on
 * error.  Returns GW_OK or GW_ERR_CONFIG with the reason in @err (no location prefix), e.g.
 * "unknown key 'listn' in [server]". */
int node_config_set(struct node_config *cfg, const char *section, const char *key,
                    const char *value, char *err, size_t err_len);

/* Apply the INI text @text (@len bytes, need not be NUL-terminated) to @cfg.  @name is used
 * in messages.  Returns GW_OK or GW_ERR_CONFIG with the first error in @err, as
 * "<name>:<line>: <reason>".  On error @cfg may hold part of the text's values. */
int node_config_parse_text(struct node_config *cfg, const char *name, const char *text, size_t len,
                           char *err, size_t err_len);

/* Read the file @path (at most 1 MiB) and apply it as node_config_parse_text() does. */
int node_config_parse_file(struct node_config *cfg, const char *path, char *err, size_t err_len);

/* Build the configuration from defaults, `--config FILE`, the other flags (see
 * node_config_usage) and @envp ("NAME=value" strings, NULL-terminated; NULL: no
 * environment).  getopt_long() permutes @argv.  Returns GW_OK, with cfg->action telling
 * whether to run or to print something and exit 0, or GW_ERR_CONFIG with the message in
 * @err; then @cfg holds nothing (node_config_free() is still safe).  Not thread-safe:
 * getopt keeps global state. */
int node_config_load(struct node_config *cfg, int argc, char **argv, char **envp, char *err,
                     size_t err_len);

/* Append the effective configuration as INI text that node_config_parse_text() accepts,
 * every key with its help, default and range.  Secrets are never printed: a set
 * cluster_key appears commented out as "<set>", and so do the root keys. */
void node_config_print(const struct node_config *cfg, struct gw_buf *out);

/* Append the --help text. */
void node_config_usage(const char *argv0, struct gw_buf *out);

/* Free the strings of @cfg (the secret is wiped first) and zero it.  Safe on a zeroed
 * struct and after a failed node_config_load(). */
void node_config_free(struct node_config *cfg);

/* [cache] mode as an enum. */
enum node_config_cache_mode {
    NODE_CONFIG_CACHE_PROXY = 0,
    NODE_CONFIG_CACHE_REDIRECT,
    NODE_CONFIG_CACHE_OFF,
};

/* The cache's byte bound: [cache] size, with "auto" resolved against @ram_bytes (0: the
 * machine's physical memory) as ram / 4, at most 4 GiB.  0 means the cache is off. */
uint64_t node_config_cache_size(const struct node_config *cfg, uint64_t ram_bytes);
/* [cache] mode; OFF also when the size resolves to 0. */
enum node_config_cache_mode node_config_cache_mode(const struct node_config *cfg);

/* Parse a listen address, "a.b.c.d:port" or "[v6]:port" (port 1..65535), into @out.
 * Returns GW_OK or GW_ERR_INVALID. */
int node_config_addr_parse(const char *s, struct sockaddr_storage *out);

#endif
