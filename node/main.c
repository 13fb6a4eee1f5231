/* unigw: the gateway daemon.
 *
 * Start-up: config -> data dir -> cluster key -> metadata store -> worker
 * pool -> proposer -> root user (first start) -> S3 service -> listener.
 * SIGTERM/SIGINT drain: readiness goes 503, the listener closes, open
 * connections finish (bounded by a deadline), then everything closes in
 * reverse order and the process exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin_api.h"
#include "bootstrap.h"
#include "cluster.h"
#include "config.h"
#include "health.h"
#include "metrics.h"
#include "server.h"
#include "tls.h"
#include "unigw/err.h"
#include "unigw/log.h"
#include "unigw/meta.h"
#include "unigw/pool.h"
#include "unigw/repl.h"
#include "unigw/s3.h"

#include "cache.h"
#include "cache_body.h"

extern char **environ;

struct node {
    struct node_config cfg;
    uv_loop_t loop;
    struct gw_pool *pool;
    struct gw_pool_loop *pool_loop;
    struct meta *meta;
    struct repl *repl;
    struct meta_proposer *proposer; /* repl's */
    char meta_dir[4096];
    struct s3_service *s3;
    struct node_cache *cache;          /* NULL: [cache] off */
    struct s3_body_cache *body_cache; /* the S3 layer's view of it */
    struct node_admin *admin;
    struct node_server *server;
    struct node_tls *tls; /* loaded first (a bad certificate stops the start-up early) */
    uv_timer_t housekeeping; /* s3_service_tick on the leader */
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup; /* reload the TLS certificate */
    bool draining;
    bool is_founder; /* bootstrapped this cluster (or is a single node) */
};

static bool path_is(struct gw_str target, const char *path)
{
    struct gw_str p;

    gw_str_split(&target, '?', &p);
    return gw_str_eq_c(p, path);
}

/* A node that has known no leader for two election timeouts refuses S3
 * requests (503) rather than serve a replica that may hold revoked keys. */
static bool leaderless_too_long(struct node *n)
{
    struct repl_status st;

    repl_status_get(n->repl, &st);
    return st.leader_id == 0 && st.no_leader_ms > 2 * n->cfg.cluster.election_timeout;
}

static void respond_ready(struct node *n, struct s3_exchange *x)
{
    char detail[256];
    bool has_leader = false;

    node_repl_health(n->repl, detail, sizeof detail, &has_leader);
    if (n->draining) {
        node_health_ready(x, false, "draining");
        return;
    }
    node_health_ready(x, has_leader, detail);
}

static void metrics_extra(void *arg, struct gw_buf *out)
{
    struct node *n = arg;

    node_repl_metrics(n->repl, out);
    node_metrics_meta_render(n->meta, out);
}

/* Node endpoints first; everything else is S3. */
static void handle_request(void *data, struct s3_exchange *x)
{
    struct node *n = data;
    struct gw_str t = x->req.target;

    if (gw_str_eq_c(x->req.method, "GET") || gw_str_eq_c(x->req.method, "HEAD")) {
        if (path_is(t, "/health/live")) {
            node_health_live(x);
            return;
        }
        if (path_is(t, "/health/ready")) {
            respond_ready(n, x);
            return;
        }
        if (path_is(t, "/metrics")) {
            node_metrics_respond_with(x, metrics_extra, n);
            return;
        }
    }
    s3_service_set_available(n->s3, !leaderless_too_long(n));
    if (node_admin_matches(t)) {
        node_admin_handle(n->admin, x);
        return;
    }
    s3_handle(n->s3, x);
}

static void closed_handle_cb(uv_handle_t *h)
{
    (void)h;
}

static void repl_closed_cb(void *arg)
{
    struct node *n = arg;

    gw_pool_loop_close(n->pool_loop);
}

static void transferred_cb(void *arg, int rv)
{
    struct node *n = arg;

    GW_LOG(GW_LOG_INFO, "node", "msg=\"leadership transfer: %s\"", gw_err_name(rv));
    repl_close(n->repl, repl_closed_cb, n);
}

/* A leader hands leadership over before it stops, so the cluster does not
 * wait for an election timeout. */
static void stop_repl(struct node *n)
{
    struct repl_status st;

    repl_status_get(n->repl, &st);
    if (st.state == REPL_STATE_LEADER && st.n_members > 1 &&
        repl_leader_transfer(n->repl, 0, transferred_cb, n) == 0) {
        return;
    }
    repl_close(n->repl, repl_closed_cb, n);
}

static void server_closed_cb(void *arg)
{
    struct node *n = arg;

    n->server = NULL;
    stop_repl(n);
    uv_close((uv_handle_t *)&n->housekeeping, closed_handle_cb);
    uv_close((uv_handle_t *)&n->sigterm, closed_handle_cb);
    uv_close((uv_handle_t *)&n->sigint, closed_handle_cb);
    uv_close((uv_handle_t *)&n->sighup, closed_handle_cb);
}

/* Cluster-wide chores run once, on the leader. */
static void housekeeping_cb(uv_timer_t *t)
{
    struct node *n = t->data;
    struct repl_status st;

    repl_status_get(n->repl, &st);
    if (!n->draining && st.state == REPL_STATE_LEADER) {
        s3_service_tick(n->s3, n->pool_loop);
    }
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct node *n = s->data;

    if (n->draining) {
        return;
    }
    n->draining = true;
    GW_LOG(GW_LOG_INFO, "node", "msg=\"signal %d: draining\"", signum);
    node_server_stop_listening(n->server);
    node_server_close(n->server, server_closed_cb, n);
}

static bool tls_on(const struct node_config_server *c)
{
    return c->tls_cert[0] != '\0' || c->tls_key[0] != '\0';
}

static int load_tls(const struct node_config_server *c, struct node_tls **out)
{
    char err[512];
    int rv;

    if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"[server] tls_cert and tls_key go together\"");
        return GW_ERR_CONFIG;
    }
    rv = node_tls_load(c->tls_cert, c->tls_key, out, err, sizeof err);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"%s\"", err);
    }
    return rv;
}

/* SIGHUP: new connections get the re-read certificate, open ones keep theirs;
 * a bad file keeps the old one. */
static void sighup_cb(uv_signal_t *s, int signum)
{
    struct node *n = s->data;
    struct node_tls *t;

    if (n->draining || n->server == NULL || !tls_on(&n->cfg.server)) {
        return;
    }
    if (load_tls(&n->cfg.server, &t) != 0) {
        GW_LOG(GW_LOG_WARN, "node", "msg=\"SIGHUP: TLS reload failed, keeping the old certificate\"");
        return;
    }
    node_server_set_tls(n->server, t);
    GW_LOG(GW_LOG_INFO, "node", "msg=\"SIGHUP: TLS certificate reloaded\"");
}

static int make_dirs(const struct node_config *cfg)
{
    char path[4096];
    struct stat st;

    if (mkdir(cfg->node.data_dir, 0700) != 0 && errno != EEXIST) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"cannot create data dir %s: %s\"", cfg->node.data_dir,
               strerror(errno));
        return GW_ERR_CONFIG;
    }
    snprintf(path, sizeof path, "%s/meta", cfg->node.data_dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return GW_ERR_IO;
    }
    if (stat(cfg->storage.mount, &st) != 0 || !S_ISDIR(st.st_mode)) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"mount %s is not a directory\"", cfg->storage.mount);
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

static int open_meta(struct node *n)
{
    uint8_t key[META_CLUSTER_KEY_LEN];
    int rv = node_cluster_key(&n->cfg, key);

    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"cluster key: %s\"", gw_err_name(rv));
        return rv;
    }
    snprintf(n->meta_dir, sizeof n->meta_dir, "%s/meta", n->cfg.node.data_dir);
    rv = node_meta_check_clean(n->meta_dir);
    if (rv == 0) {
        rv = meta_open(n->meta_dir, key, n->cfg.node.meta_map_size, &n->meta);
    }
    if (rv == 0) {
        rv = node_repl_start(&n->cfg, &n->loop, n->meta, key, &n->repl, &n->is_founder);
    }
    OPENSSL_cleanse(key, sizeof key);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"metadata store %s: %s\"", n->meta_dir,
               gw_err_name(rv));
        return rv;
    }
    n->proposer = repl_proposer(n->repl);
    return GW_OK;
}

/* The hot-object cache ([cache]), unless its size is 0 or its mode off. */
static void start_cache(struct node *n)
{
    struct node_cache_opts o = {0};

    if (node_config_cache_mode(&n->cfg) == NODE_CONFIG_CACHE_OFF) {
        return;
    }
    o.size = node_config_cache_size(&n->cfg, 0);
    o.max_object_size = n->cfg.cache.max_object_size;
    o.admit_after = n->cfg.cache.admit_after;
    n->cache = node_cache_create(&o);
    n->body_cache = node_cache_body_create(n->cache);
    node_metrics_set_cache(n->cache);
    GW_LOG(GW_LOG_INFO, "node", "msg=\"hot-object cache of %llu bytes, objects up to %llu\"",
           (unsigned long long)o.size, (unsigned long long)o.max_object_size);
}

static void stop_cache(struct node *n)
{
    node_metrics_set_cache(NULL);
    node_cache_body_destroy(n->body_cache);
    node_cache_destroy(n->cache);
}

static int start_s3(struct node *n)
{
    struct s3_config c = {0};

    c.mount = n->cfg.storage.mount;
    c.region = n->cfg.server.region;
    c.vhost_domain = n->cfg.server.vhost_domain;
    c.max_object_size = n->cfg.server.max_object_size;
    c.io_chunk_size = (size_t)n->cfg.server.io_chunk_size;
    c.clock_skew_s = (unsigned)(n->cfg.s3.clock_skew / 1000);
    c.presign_max_expiry_s = (unsigned)(n->cfg.s3.presign_max_expiry / 1000);
    c.fsync = n->cfg.storage.fsync;
    c.background_md5 = n->cfg.s3.background_md5;
    c.xattrs = strcmp(n->cfg.storage.xattrs, "on") == 0    ? S3_XATTRS_ON
               : strcmp(n->cfg.storage.xattrs, "off") == 0 ? S3_XATTRS_OFF
                                                           : S3_XATTRS_AUTO;
    c.copy_file_range = n->cfg.storage.copy_file_range;
    c.reflink = n->cfg.storage.reflink;
    c.node_id = n->cfg.node.id != NULL && n->cfg.node.id[0] ? n->cfg.node.id : "n";
    c.mpu_expiry_ms = n->cfg.s3.multipart_expiry;
    c.tag_sweep_ms = n->cfg.s3.tag_sweep_interval;
    start_cache(n);
    c.body_cache = n->body_cache;
    return s3_service_create(&c, n->meta, n->proposer, &n->s3);
}

static int start_server(struct node *n)
{
    struct node_server_config sc = {0};
    const struct node_config_server *c = &n->cfg.server;

    sc.listen = c->listen;
    sc.max_header_bytes = (size_t)c->max_header_bytes;
    sc.max_headers = c->max_headers;
    sc.max_url_len = c->max_url_len;
    sc.max_connections = c->max_connections;
    sc.idle_timeout_ms = (uint32_t)c->idle_timeout;
    sc.header_timeout_ms = (uint32_t)c->header_timeout;
    sc.body_timeout_ms = (uint32_t)c->body_timeout;
    sc.write_timeout_ms = (uint32_t)c->write_timeout;
    sc.close_timeout_ms = 10000;
    sc.tls = n->tls; /* the server owns it from here on */
    n->tls = NULL;
    return node_server_start(&n->server, &n->loop, n->pool_loop, &sc, handle_request, n);
}

static int start(struct node *n)
{
    int rv = tls_on(&n->cfg.server) ? load_tls(&n->cfg.server, &n->tls) : GW_OK;

    if (rv == 0) {
        rv = make_dirs(&n->cfg);
    }
    if (rv == 0) {
        rv = open_meta(n);
    }
    if (rv == 0) {
        rv = gw_pool_create(n->cfg.server.io_threads, &n->pool);
    }
    if (rv == 0) {
        rv = gw_pool_loop_create(n->pool, &n->loop, &n->pool_loop);
    }
    /* A node that joins an existing cluster finds the root user there. */
    if (rv == 0 && n->is_founder) {
        rv = node_bootstrap_root(&n->cfg, &n->loop, n->meta, n->proposer);
    }
    if (rv == 0) {
        rv = start_s3(n);
    }
    if (rv == 0) {
        rv = node_admin_create(n->meta, n->proposer, n->s3, n->repl, n->cfg.server.region,
                               &n->admin);
    }
    if (rv == 0) {
        rv = start_server(n);
    }
    return rv;
}

static int run_action(struct node_config *cfg, const char *argv0)
{
    struct gw_buf out = GW_BUF_INIT;

    if (cfg->action == NODE_CONFIG_HELP) {
        node_config_usage(argv0, &out);
    } else if (cfg->action == NODE_CONFIG_VERSION) {
        gw_buf_append_c(&out, "unigw " UNIGW_VERSION "\n");
    } else {
        node_config_print(cfg, &out);
    }
    fwrite(out.data, 1, out.len, stdout);
    gw_buf_free(&out);
    return 0;
}

/* Thousands of client connections need thousands of descriptors: take the
 * hard limit, which is often far above the soft default of 1024. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    static struct node n;
    char err[512];
    int rv;

    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    rv = node_config_load(&n.cfg, argc, argv, environ, err, sizeof err);
    if (rv != 0) {
        fprintf(stderr, "unigw: %s\n", err);
        return 2;
    }
    if (n.cfg.action != NODE_CONFIG_RUN) {
        rv = run_action(&n.cfg, argv[0]);
        node_config_free(&n.cfg);
        return rv;
    }
    gw_log_threshold = n.cfg.node.log_level;
    uv_loop_init(&n.loop);
    rv = start(&n);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "node", "msg=\"start-up failed: %s\"", gw_err_name(rv));
        node_tls_free(n.tls);
        return 1;
    }
    uv_timer_init(&n.loop, &n.housekeeping);
    n.housekeeping.data = &n;
    /* Every second: each task keeps its own, longer interval and returns at
     * once when it is not due, so a short [s3] tag_sweep_interval works. */
    uv_timer_start(&n.housekeeping, housekeeping_cb, 5000, 1000);
    uv_signal_init(&n.loop, &n.sigterm);
    uv_signal_init(&n.loop, &n.sigint);
    n.sigterm.data = &n;
    n.sigint.data = &n;
    uv_signal_start(&n.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&n.sigint, signal_cb, SIGINT);
    uv_signal_init(&n.loop, &n.sighup);
    n.sighup.data = &n;
    uv_signal_start(&n.sighup, sighup_cb, SIGHUP);
    GW_LOG(GW_LOG_INFO, "node", "msg=\"serving S3 on %s (%s), mount %s\"", n.cfg.server.listen,
           tls_on(&n.cfg.server) ? "https" : "http", n.cfg.storage.mount);
    uv_run(&n.loop, UV_RUN_DEFAULT);
    rv = uv_loop_close(&n.loop);
    node_admin_destroy(n.admin);
    s3_service_destroy(n.s3);
    repl_destroy(n.repl);
    meta_close(n.meta);
    if (rv == 0) {
        node_meta_mark_clean(n.meta_dir);
    }
    gw_pool_destroy(n.pool);
    stop_cache(&n); /* after the pool: no job holds a cached body any more */
    node_config_free(&n.cfg);
    GW_LOG(GW_LOG_INFO, "node", "msg=\"stopped\"");
    return rv == 0 ? 0 : 1;
}
