/* First start: generate or load the cluster key, create the root user.
 * Both are idempotent: a restarted node finds its key file and its root
 * user and changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bootstrap.h"
#include "unigw/err.h"
#include "unigw/log.h"

static int write_file_0600(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    size_t n = strlen(text);
    int rv = GW_OK;

    if (fd < 0) {
        return gw_err_from_errno(errno);
    }
    if (write(fd, text, n) != (ssize_t)n || fsync(fd) != 0) {
        rv = GW_ERR_IO;
    }
    close(fd);
    return rv;
}

int node_cluster_key(const struct node_config *cfg, uint8_t key[META_CLUSTER_KEY_LEN])
{
    char path[4096];
    char hex[2 * META_CLUSTER_KEY_LEN + 2] = {0};
    FILE *f;

    if (cfg->cluster.cluster_key != NULL && cfg->cluster.cluster_key[0] != '\0') {
        return gw_hex_decode(gw_str_c(cfg->cluster.cluster_key), key, META_CLUSTER_KEY_LEN)
                   ? GW_OK
                   : GW_ERR_CONFIG;
    }
    snprintf(path, sizeof path, "%s/cluster.key", cfg->node.data_dir);
    f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(hex, 1, 2 * META_CLUSTER_KEY_LEN, f);
        fclose(f);
        return n == 2 * META_CLUSTER_KEY_LEN && gw_hex_decode(gw_str_c(hex), key, META_CLUSTER_KEY_LEN)
                   ? GW_OK
                   : GW_ERR_CORRUPT;
    }
    if (RAND_bytes(key, META_CLUSTER_KEY_LEN) != 1) {
        return GW_ERR_INTERNAL;
    }
    gw_hex_encode(key, META_CLUSTER_KEY_LEN, hex);
    strcat(hex, "\n");
    GW_LOG(GW_LOG_WARN, "node",
           "msg=\"generated a cluster key in %s: copy it to every node of the cluster "
           "(or set [cluster] cluster_key)\"",
           path);
    return write_file_0600(path, hex);
}

/* A random string over @alphabet. */
static int random_string(char *out, size_t n, const char *alphabet)
{
    unsigned char r[128];
    size_t m = strlen(alphabet);

    if (n > sizeof r || RAND_bytes(r, (int)n) != 1) {
        return GW_ERR_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = alphabet[r[i] % m];
    }
    out[n] = '\0';
    return GW_OK;
}

struct boot_wait {
    int n_done;
    int rv;
};

static void boot_done_cb(void *arg, int rv, int result)
{
    struct boot_wait *w = arg;

    if (w->rv == 0) {
        w->rv = rv != 0 ? rv : result;
    }
    w->n_done++;
}

static void wake_cb(uv_timer_t *t)
{
    (void)t;
}

/* Run @loop for about @ms milliseconds. */
static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;

    uv_timer_init(loop, &t);
    uv_timer_start(&t, wake_cb, ms, 0);
    while (uv_is_active((uv_handle_t *)&t)) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static int propose_once(uv_loop_t *loop, struct meta_proposer *prop, struct gw_buf *cmd)
{
    struct boot_wait w = {0, 0};
    int rv = prop->propose(prop, cmd, boot_done_cb, &w);

    for (int i = 0; rv == 0 && w.n_done == 0 && i < 100000; i++) {
        uv_run(loop, UV_RUN_ONCE);
    }
    return rv != 0 ? rv : w.n_done == 0 ? GW_ERR_INTERNAL : w.rv;
}

/* Right after start the cluster may have no leader yet: retry for up to
 * BOOT_WAIT_MS.  EXISTS means another founding node created it first. */
#define BOOT_WAIT_MS 30000
static int propose_and_wait(uv_loop_t *loop, struct meta_proposer *prop, struct gw_buf *cmd)
{
    int rv = GW_ERR_NOT_LEADER;

    for (uint64_t waited = 0; waited < BOOT_WAIT_MS; waited += 100) {
        rv = propose_once(loop, prop, cmd);
        if (rv != GW_ERR_NOT_LEADER && rv != GW_ERR_SLOW_DOWN && rv != GW_ERR_AGAIN) {
            break;
        }
        run_for(loop, 100);
    }
    return rv;
}

static int create_root(uv_loop_t *loop, struct meta *m, struct meta_proposer *prop,
                       const char *access, const char *secret, bool *created)
{
    struct meta_cmd_hdr h;
    struct gw_buf cmd = GW_BUF_INIT;
    struct gw_buf sealed = GW_BUF_INIT;
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;
    int rv = meta_cmd_hdr_init(&h, now_ms, GW_STR(""));

    if (rv == 0) {
        rv = meta_cmd_user_create(&cmd, &h, GW_STR(NODE_ROOT_USER), true);
    }
    if (rv == 0) {
        rv = propose_and_wait(loop, prop, &cmd);
    }
    /* EXISTS: another founding node, or the log this node is replaying,
     * already has the root user and its key. */
    if (rv == GW_ERR_EXISTS) {
        *created = false;
        gw_buf_free(&cmd);
        return GW_OK;
    }
    *created = rv == 0;
    gw_buf_reset(&cmd);
    if (rv == 0) {
        rv = meta_key_seal(m, gw_str_c(secret), &sealed);
    }
    if (rv == 0) {
        rv = meta_cmd_hdr_init(&h, now_ms, GW_STR(""));
    }
    if (rv == 0) {
        rv = meta_cmd_key_create(&cmd, &h, gw_str_c(access), GW_STR(NODE_ROOT_USER),
                                 gw_buf_str(&sealed));
    }
    if (rv == 0) {
        rv = propose_and_wait(loop, prop, &cmd);
    }
    gw_buf_free(&cmd);
    gw_buf_free(&sealed);
    return rv;
}

int node_bootstrap_root(const struct node_config *cfg, uv_loop_t *loop, struct meta *m,
                        struct meta_proposer *prop)
{
    struct meta_user u;
    char access[21];
    char secret[41];
    char path[4096];
    char text[256];
    bool created = false;
    int rv = meta_user_get(m, GW_STR(NODE_ROOT_USER), &u);

    if (rv != GW_ERR_NOT_FOUND) {
        return rv;
    }
    rv = random_string(access, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    if (rv == 0) {
        rv = random_string(secret, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    }
    if (rv != 0) {
        return rv;
    }
    rv = create_root(loop, m, prop, cfg->root_access_key ? cfg->root_access_key : access,
                     cfg->root_secret_key ? cfg->root_secret_key : secret, &created);
    if (rv != 0 || !created) {
        return rv;
    }
    snprintf(path, sizeof path, "%s/root.credentials", cfg->node.data_dir);
    snprintf(text, sizeof text, "access_key=%s\nsecret_key=%s\n",
             cfg->root_access_key ? cfg->root_access_key : access,
             cfg->root_secret_key ? cfg->root_secret_key : secret);
    GW_LOG(GW_LOG_INFO, "node", "msg=\"created the root user; its key is in %s\"", path);
    return write_file_0600(path, text);
}
