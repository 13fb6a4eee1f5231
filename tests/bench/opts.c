/* The command line of unigw-bench (usage() below is the reference; tests/bench/README.md
 * explains every option).
 *
 * Happy path: getopt_long fills a struct bench_cfg preset with the defaults, then
 * check_cfg rejects combinations that cannot work (no bound on the run, signing without
 * keys, presigned with a signed payload, names that would need escaping).  Targets are
 * resolved here, once, before any loop runs.
 *
 * Failure modes: every problem is one line on stderr and a return of 1; nothing is left
 * allocated (the configuration holds pointers into argv and the environment only). */
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unigw/err.h"
#include "bench.h"

static const char *const op_names[BENCH_OP__COUNT] = {
    [BENCH_OP_PUT] = "PUT",
    [BENCH_OP_GET] = "GET",
    [BENCH_OP_STAT] = "STAT",
    [BENCH_OP_LIST] = "LIST",
    [BENCH_OP_DELETE] = "DELETE",
    [BENCH_OP_MPU_CREATE] = "MPU_CREATE",
    [BENCH_OP_MPU_PART] = "MPU_PART",
    [BENCH_OP_MPU_COMPLETE] = "MPU_COMPLETE",
    [BENCH_OP_MULTIPART] = "MULTIPART",
};

static const char *const workload_names[] = {
    [BENCH_WL_PUT] = "put",       [BENCH_WL_GET] = "get",       [BENCH_WL_STAT] = "stat",
    [BENCH_WL_LIST] = "list",     [BENCH_WL_DELETE] = "delete", [BENCH_WL_MULTIPART] = "multipart",
    [BENCH_WL_MIXED] = "mixed",
};

static const char *const sign_names[] = {
    [BENCH_SIGN_HEADER] = "header",
    [BENCH_SIGN_PRESIGN] = "presign",
    [BENCH_SIGN_NONE] = "none",
};

const char *bench_op_name(enum bench_op op)
{
    return op_names[op];
}

const char *bench_workload_name(enum bench_workload w)
{
    return workload_names[w];
}

const char *bench_sign_name(enum bench_sign s)
{
    return sign_names[s];
}

static void usage(FILE *out)
{
    fputs(
        "usage: unigw-bench [options]\n"
        "  -w, --workload W       put | get | stat | list | delete | multipart | mixed (get)\n"
        "  -t, --target HOST:PORT server; repeat or comma-separate to spread the connections\n"
        "                         over several (127.0.0.1:9000)\n"
        "  -c, --connections N    keep-alive connections (16)\n"
        "  -T, --threads N        event-loop threads (the cores, at most N connections)\n"
        "  -d, --duration D       measured time: 10s, 500ms, 2m; 0 = only --ops (10s)\n"
        "  -n, --ops N            stop after N ops; 0 = only --duration (0)\n"
        "  -s, --size DIST        object size: 4KiB | 1KiB-1MiB (uniform) | 4KiB,1MiB:3 (list,\n"
        "                         optional weights) (4KiB)\n"
        "  -b, --bucket NAME      (bench)\n"
        "      --objects N        objects prepared for get/stat/list/delete/mixed (100)\n"
        "      --prefixes N       keys spread over N prefixes (1)\n"
        "      --key-prefix S     key = S<prefix>/<12-digit id> (k)\n"
        "      --no-prepare       the objects exist already (an earlier run with the same\n"
        "                         --objects, --prefixes, --key-prefix made them)\n"
        "      --create-bucket    create the bucket first (an existing one is fine)\n"
        "      --sign MODE        header | presign | none (plain HTTP) (header)\n"
        "      --payload MODE     unsigned | sha256: x-amz-content-sha256 of header-signed\n"
        "                         requests (unsigned)\n"
        "      --access-key K     (env UNIGW_BENCH_ACCESS_KEY, AWS_ACCESS_KEY_ID or\n"
        "                         UNIGW_ROOT_ACCESS_KEY)\n"
        "      --secret-key K     (env UNIGW_BENCH_SECRET_KEY, AWS_SECRET_ACCESS_KEY or\n"
        "                         UNIGW_ROOT_SECRET_KEY; better than the command line)\n"
        "      --region R         (us-east-1)\n"
        "      --path-prefix P    put P before /bucket/key in every path, e.g. /put (none)\n"
        "      --part-size SIZE   multipart part size (5MiB)\n"
        "      --parts N          parts per multipart upload (4)\n"
        "      --mix SPEC         mixed weights (get=45,stat=30,put=15,delete=10,list=0)\n"
        "      --max-keys N       LIST page size (1000)\n"
        "      --timeout D        a request without progress for D fails (60s)\n"
        "      --seed N           random seed (1)\n"
        "      --json             JSON on stdout, the table on stderr\n"
        "  -h, --help\n",
        out);
}

enum long_only {
    OPT_OBJECTS = 256,
    OPT_PREFIXES,
    OPT_KEY_PREFIX,
    OPT_NO_PREPARE,
    OPT_CREATE_BUCKET,
    OPT_SIGN,
    OPT_PAYLOAD,
    OPT_ACCESS_KEY,
    OPT_SECRET_KEY,
    OPT_REGION,
    OPT_PATH_PREFIX,
    OPT_PART_SIZE,
    OPT_PARTS,
    OPT_MIX,
    OPT_MAX_KEYS,
    OPT_TIMEOUT,
    OPT_SEED,
    OPT_JSON,
};

static const struct option long_opts[] = {
    {"workload", required_argument, NULL, 'w'},
    {"target", required_argument, NULL, 't'},
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 'T'},
    {"duration", required_argument, NULL, 'd'},
    {"ops", required_argument, NULL, 'n'},
    {"size", required_argument, NULL, 's'},
    {"bucket", required_argument, NULL, 'b'},
    {"objects", required_argument, NULL, OPT_OBJECTS},
    {"prefixes", required_argument, NULL, OPT_PREFIXES},
    {"key-prefix", required_argument, NULL, OPT_KEY_PREFIX},
    {"no-prepare", no_argument, NULL, OPT_NO_PREPARE},
    {"create-bucket", no_argument, NULL, OPT_CREATE_BUCKET},
    {"sign", required_argument, NULL, OPT_SIGN},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"access-key", required_argument, NULL, OPT_ACCESS_KEY},
    {"secret-key", required_argument, NULL, OPT_SECRET_KEY},
    {"region", required_argument, NULL, OPT_REGION},
    {"path-prefix", required_argument, NULL, OPT_PATH_PREFIX},
    {"part-size", required_argument, NULL, OPT_PART_SIZE},
    {"parts", required_argument, NULL, OPT_PARTS},
    {"mix", required_argument, NULL, OPT_MIX},
    {"max-keys", required_argument, NULL, OPT_MAX_KEYS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *value)
{
    fprintf(stderr, "unigw-bench: bad %s: %s (see --help)\n", what, value);
    return 1;
}

static const char *env_first(const char *a, const char *b, const char *c)
{
    const char *names[] = {a, b, c};

    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);

        if (v != NULL && v[0] != '\0') {
            return v;
        }
    }
    return NULL;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    return gw_str_to_u64(gw_str_c(s), out) && *out >= lo && *out <= hi;
}

static bool parse_unsigned(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    uint64_t v;

    if (!parse_u64(s, lo, hi, &v)) {
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* Only characters that need no escaping in a path or a query value. */
static bool is_plain(const char *s, const char *extra)
{
    for (; *s != '\0'; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL ||
                  strchr(extra, *s) != NULL;

        if (!ok) {
            return false;
        }
    }
    return true;
}

/* One "host:port" (or "[v6]:port") into t->addr, resolved now. */
static int add_target(struct bench_cfg *cfg, const char *spec, size_t len)
{
    struct bench_target *t;
    char buf[300], *port;
    struct addrinfo hints = {0}, *res = NULL;
    char *host;

    if (cfg->n_targets == BENCH_MAX_TARGETS || len == 0 || len >= sizeof buf) {
        return 1;
    }
    memcpy(buf, spec, len);
    buf[len] = '\0';
    t = &cfg->targets[cfg->n_targets];
    snprintf(t->hostport, sizeof t->hostport, "%s", buf);
    port = strrchr(buf, ':');
    if (port == NULL || port == buf || port[1] == '\0') {
        return 1;
    }
    *port++ = '\0';
    host = buf;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        host[strlen(host) - 1] = '\0';
        host++;
    }
    snprintf(t->host, sizeof t->host, "%s", host);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) {
        return 1;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    cfg->n_targets++;
    return 0;
}

static int parse_targets(struct bench_cfg *cfg, const char *s)
{
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);

        if (add_target(cfg, s, n) != 0) {
            return bad("target", s);
        }
        if (comma == NULL) {
            return 0;
        }
        s = comma + 1;
    }
}

/* "get=45,stat=30,put=15,delete=10,list=0": the weights named are set, others are 0. */
static int parse_mix(struct bench_cfg *cfg, const char *s)
{
    static const struct {
        const char *name;
        enum bench_op op;
    } names[] = {{"get", BENCH_OP_GET}, {"stat", BENCH_OP_STAT}, {"put", BENCH_OP_PUT},
                 {"delete", BENCH_OP_DELETE}, {"list", BENCH_OP_LIST}};
    char buf[256], *save = NULL;

    if (strlen(s) >= sizeof buf) {
        return bad("mix", s);
    }
    snprintf(buf, sizeof buf, "%s", s);
    memset(cfg->mix, 0, sizeof cfg->mix);
    for (char *p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');
        bool found = false;

        if (eq == NULL) {
            return bad("mix", s);
        }
        *eq = '\0';
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcmp(p, names[i].name) == 0) {
                found = parse_unsigned(eq + 1, 0, 1000000, &cfg->mix[names[i].op]);
            }
        }
        if (!found) {
            return bad("mix", s);
        }
    }
    return 0;
}

static int parse_enum(const char *what, const char *s, const char *const *names, size_t n,
                      int *out)
{
    for (size_t i = 1; i < n; i++) {
        if (names[i] != NULL && strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return bad(what, s);
}

static void set_defaults(struct bench_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->workload = BENCH_WL_GET;
    cfg->bucket = "bench";
    cfg->key_prefix = "k";
    cfg->path_prefix = "";
    cfg->n_conns = 16;
    cfg->duration_ms = 10000;
    bench_dist_parse("4KiB", &cfg->sizes);
    cfg->n_objects = 100;
    cfg->n_prefixes = 1;
    cfg->is_prepare = true;
    cfg->sign = BENCH_SIGN_HEADER;
    cfg->payload = BENCH_PAYLOAD_UNSIGNED;
    cfg->region = "us-east-1";
    cfg->presign_expires = 3600;
    cfg->part_size = 5ULL << 20;
    cfg->n_parts = 4;
    cfg->mix[BENCH_OP_GET] = 45;
    cfg->mix[BENCH_OP_STAT] = 30;
    cfg->mix[BENCH_OP_PUT] = 15;
    cfg->mix[BENCH_OP_DELETE] = 10;
    cfg->max_keys = 1000;
    cfg->timeout_ms = 60000;
    cfg->seed = 1;
}

/* Options with a number or a size. */
static int parse_numeric(struct bench_cfg *cfg, int opt, const char *arg)
{
    uint64_t v;

    switch (opt) {
    case 'c':
        return parse_unsigned(arg, 1, 100000, &cfg->n_conns) ? 0 : bad("connections", arg);
    case 'T':
        return parse_unsigned(arg, 1, 1024, &cfg->n_threads) ? 0 : bad("threads", arg);
    case 'd':
        return bench_duration_parse(arg, &cfg->duration_ms) == 0 ? 0 : bad("duration", arg);
    case 'n':
        return parse_u64(arg, 0, UINT64_MAX, &cfg->max_ops) ? 0 : bad("ops", arg);
    case 's':
        return bench_dist_parse(arg, &cfg->sizes) == 0 ? 0 : bad("size", arg);
    case OPT_OBJECTS:
        return parse_u64(arg, 0, 1ULL << 40, &cfg->n_objects) ? 0 : bad("objects", arg);
    case OPT_PREFIXES:
        return parse_unsigned(arg, 1, 1000000, &cfg->n_prefixes) ? 0 : bad("prefixes", arg);
    case OPT_PART_SIZE:
        return bench_size_parse(arg, &cfg->part_size) == 0 && cfg->part_size > 0
                   ? 0
                   : bad("part size", arg);
    case OPT_PARTS:
        return parse_unsigned(arg, 1, 10000, &cfg->n_parts) ? 0 : bad("parts", arg);
    case OPT_MAX_KEYS:
        return parse_unsigned(arg, 1, 1000000, &cfg->max_keys) ? 0 : bad("max-keys", arg);
    case OPT_TIMEOUT:
        return bench_duration_parse(arg, &cfg->timeout_ms) == 0 && cfg->timeout_ms > 0
                   ? 0
                   : bad("timeout", arg);
    case OPT_SEED:
        return parse_u64(arg, 0, UINT64_MAX, &v) ? (cfg->seed = v, 0) : bad("seed", arg);
    default:
        return bad("option", arg);
    }
}

/* One option; 2 for --help. */
static int parse_one(struct bench_cfg *cfg, int opt, const char *arg)
{
    int v = 0, rv;

    switch (opt) {
    case 'h':
        usage(stdout);
        return 2;
    case 'w':
        rv = parse_enum("workload", arg, workload_names,
                        sizeof workload_names / sizeof workload_names[0], &v);
        cfg->workload = (enum bench_workload)v;
        return rv;
    case 't':
        return parse_targets(cfg, arg);
    case 'b':
        cfg->bucket = arg;
        return 0;
    case OPT_KEY_PREFIX:
        cfg->key_prefix = arg;
        return 0;
    case OPT_NO_PREPARE:
        cfg->is_prepare = false;
        return 0;
    case OPT_CREATE_BUCKET:
        cfg->is_create_bucket = true;
        return 0;
    case OPT_SIGN:
        rv = parse_enum("sign", arg, sign_names, sizeof sign_names / sizeof sign_names[0], &v);
        cfg->sign = (enum bench_sign)v;
        return rv;
    case OPT_PAYLOAD:
        if (strcmp(arg, "unsigned") != 0 && strcmp(arg, "sha256") != 0) {
            return bad("payload", arg);
        }
        cfg->payload = arg[0] == 'u' ? BENCH_PAYLOAD_UNSIGNED : BENCH_PAYLOAD_SHA256;
        return 0;
    case OPT_ACCESS_KEY:
        cfg->access_key = arg;
        return 0;
    case OPT_SECRET_KEY:
        cfg->secret_key = arg;
        return 0;
    case OPT_REGION:
        cfg->region = arg;
        return 0;
    case OPT_PATH_PREFIX:
        cfg->path_prefix = arg;
        return 0;
    case OPT_MIX:
        return parse_mix(cfg, arg);
    case OPT_JSON:
        cfg->is_json = true;
        return 0;
    default:
        return parse_numeric(cfg, opt, arg);
    }
}

static int check_names(const struct bench_cfg *cfg)
{
    if (cfg->bucket[0] == '\0' || !is_plain(cfg->bucket, "")) {
        return bad("bucket", cfg->bucket);
    }
    if (!is_plain(cfg->key_prefix, "")) {
        return bad("key prefix (letters, digits, - . _ ~)", cfg->key_prefix);
    }
    if (cfg->path_prefix[0] != '\0' &&
        (cfg->path_prefix[0] != '/' || !is_plain(cfg->path_prefix, "/"))) {
        return bad("path prefix (/ then letters, digits, - . _ ~ /)", cfg->path_prefix);
    }
    return 0;
}

/* Combinations that cannot work. */
static int check_cfg(struct bench_cfg *cfg)
{
    unsigned mix_total = 0;

    if (check_names(cfg) != 0) {
        return 1;
    }
    if (cfg->sign != BENCH_SIGN_NONE && (cfg->access_key == NULL || cfg->secret_key == NULL)) {
        fprintf(stderr, "unigw-bench: signing needs --access-key and --secret-key (or the "
                        "environment; see --help), or --sign none\n");
        return 1;
    }
    if (cfg->sign == BENCH_SIGN_PRESIGN && cfg->payload == BENCH_PAYLOAD_SHA256) {
        fprintf(stderr, "unigw-bench: presigned URLs carry UNSIGNED-PAYLOAD: "
                        "--payload sha256 needs --sign header\n");
        return 1;
    }
    if (cfg->duration_ms == 0 && cfg->max_ops == 0 && cfg->workload != BENCH_WL_DELETE) {
        fprintf(stderr, "unigw-bench: nothing bounds the run: give --duration or --ops\n");
        return 1;
    }
    if (cfg->workload != BENCH_WL_PUT && cfg->workload != BENCH_WL_MULTIPART &&
        cfg->n_objects == 0) {
        fprintf(stderr, "unigw-bench: the %s workload needs --objects of at least 1\n",
                bench_workload_name(cfg->workload));
        return 1;
    }
    for (size_t i = 0; i < BENCH_OP__COUNT; i++) {
        mix_total += cfg->mix[i];
    }
    if (cfg->workload == BENCH_WL_MIXED && mix_total == 0) {
        fprintf(stderr, "unigw-bench: --mix gives every op a weight of 0\n");
        return 1;
    }
    return 0;
}

static void fill_defaults(struct bench_cfg *cfg)
{
    long n_cores = sysconf(_SC_NPROCESSORS_ONLN);

    if (cfg->access_key == NULL) {
        cfg->access_key =
            env_first("UNIGW_BENCH_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "UNIGW_ROOT_ACCESS_KEY");
    }
    if (cfg->secret_key == NULL) {
        cfg->secret_key = env_first("UNIGW_BENCH_SECRET_KEY", "AWS_SECRET_ACCESS_KEY",
                                    "UNIGW_ROOT_SECRET_KEY");
    }
    if (cfg->n_threads == 0) {
        cfg->n_threads = n_cores > 0 ? (unsigned)n_cores : 1;
    }
    if (cfg->n_threads > cfg->n_conns) {
        cfg->n_threads = cfg->n_conns;
    }
}

int bench_opts_parse(int argc, char **argv, struct bench_cfg *cfg)
{
    int opt;

    set_defaults(cfg);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "w:t:c:T:d:n:s:b:h", long_opts, NULL)) != -1) {
        int rv;

        if (opt == '?') {
            return 1;
        }
        rv = parse_one(cfg, opt, optarg);
        if (rv != 0) {
            return rv;
        }
    }
    if (optind < argc) {
        return bad("argument", argv[optind]);
    }
    if (cfg->n_targets == 0 && parse_targets(cfg, "127.0.0.1:9000") != 0) {
        return 1;
    }
    fill_defaults(cfg);
    return check_cfg(cfg);
}
