/* unigw-bench: a load generator for S3 servers (and plain HTTP ones) on libuv.
 *
 * The pieces, one concept per file:
 *   dist.c    sizes, durations and size distributions (pure, unit tested)
 *   hist.c    the latency histogram, HDR-style log-linear buckets (pure, unit tested)
 *   req.c     one request's head: request line, Host, SigV4 (header or presigned) or none
 *   conn.c    one keep-alive HTTP/1.1 client connection and its llhttp response parser
 *   work.c    a worker thread's tasks: which request comes next and what its answer means
 *   opts.c    the command line
 *   report.c  the table and the JSON
 *   main.c    threads and phases: connect, prepare, measure
 *
 * Every worker thread owns one uv loop, its connections and its statistics; threads share
 * only the read-only configuration, the random body buffer, an atomic op budget and the
 * phase barrier.  Names are prefixed bench_ (bench__ for what only the unit tests reach). */
#ifndef UNIGW_TESTS_BENCH_BENCH_H
#define UNIGW_TESTS_BENCH_BENCH_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <llhttp.h>
#include <uv.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/checksum.h"

/* ---- sizes, durations, distributions (dist.c) ------------------------------------------ */

#define BENCH_DIST_MAX 32

enum bench_dist_kind {
    BENCH_DIST_FIXED = 1, /* "4KiB" */
    BENCH_DIST_UNIFORM,   /* "1KiB-1MiB": every size in the range equally likely */
    BENCH_DIST_LIST,      /* "4KiB,1MiB:3": the sizes listed, with optional weights */
};

struct bench_dist {
    enum bench_dist_kind kind;
    uint64_t lo, hi; /* FIXED: lo == hi; UNIFORM: inclusive range */
    uint64_t sizes[BENCH_DIST_MAX];
    unsigned weights[BENCH_DIST_MAX];
    size_t n_sizes;
    unsigned total_weight;
};

/* A byte count: digits, optionally followed by B, K/KiB, M/MiB, G/GiB (powers of 1024) or
 * kB/KB, MB, GB (powers of 1000).  GW_OK or GW_ERR_INVALID_ARGUMENT. */
int bench_size_parse(const char *s, uint64_t *out);
/* A duration in milliseconds: digits with ms, s, m or h (plain digits are seconds). */
int bench_duration_parse(const char *s, uint64_t *out_ms);
/* A distribution (see enum bench_dist_kind); 0 is a valid size (an empty object).
 * GW_OK or GW_ERR_INVALID_ARGUMENT. */
int bench_dist_parse(const char *s, struct bench_dist *out);
/* The size a 64-bit random number @r picks. */
uint64_t bench_dist_sample(const struct bench_dist *d, uint64_t r);
uint64_t bench_dist_max(const struct bench_dist *d);
/* "4 KiB", "1-64 KiB" ...: a short human description into @out. */
void bench_dist_describe(const struct bench_dist *d, char *out, size_t cap);
/* @n bytes as "4 KiB", "1.5 MiB" into @out. */
void bench_size_format(uint64_t n, char *out, size_t cap);

/* xorshift64*: the workers' cheap random numbers (not for anything secret). */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- latency histogram (hist.c) --------------------------------------------------------- */

/* Log-linear buckets as HdrHistogram lays them out: values below 2^BENCH_HIST_SUB_BITS are
 * exact, above that every power of two is split into 2^(BENCH_HIST_SUB_BITS-1) equal
 * buckets, so a reported value is within 1/128 (0.8 %) of the true one. */
#define BENCH_HIST_SUB_BITS 8
#define BENCH_HIST_N                                                                               \
    ((1u << BENCH_HIST_SUB_BITS) + (64u - BENCH_HIST_SUB_BITS) * (1u << (BENCH_HIST_SUB_BITS - 1)))

struct bench_hist {
    uint64_t n;
    uint64_t sum; /* of the recorded values, for the mean */
    uint64_t min, max;
    uint64_t counts[BENCH_HIST_N];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The value at quantile @q (0..1): the highest value of the bucket holding the
 * ceil(q * n)-th smallest recording, clamped to [min, max]; 0 when empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
/* Bucket of @v and the inclusive value range of bucket @i (exposed for the tests). */
size_t bench__hist_index(uint64_t v);
void bench__hist_range(size_t i, uint64_t *lo, uint64_t *hi);

/* ---- configuration (opts.c) ------------------------------------------------------------- */

enum bench_workload {
    BENCH_WL_PUT = 1,  /* new keys */
    BENCH_WL_GET,      /* prepared objects */
    BENCH_WL_STAT,     /* HEAD of prepared objects */
    BENCH_WL_LIST,     /* ListObjectsV2 pages under one of the prefixes */
    BENCH_WL_DELETE,   /* each prepared object once */
    BENCH_WL_MULTIPART, /* create, n_parts UploadPart, complete: one op */
    BENCH_WL_MIXED,    /* weighted mix of GET, STAT, PUT, DELETE, LIST on one key set */
};

/* What is reported, one row each. */
enum bench_op {
    BENCH_OP_PUT,
    BENCH_OP_GET,
    BENCH_OP_STAT,
    BENCH_OP_LIST,
    BENCH_OP_DELETE,
    BENCH_OP_MPU_CREATE,
    BENCH_OP_MPU_PART,
    BENCH_OP_MPU_COMPLETE,
    BENCH_OP_MULTIPART, /* a whole upload, create to complete */
    BENCH_OP__COUNT
};

enum bench_sign {
    BENCH_SIGN_HEADER = 1, /* Authorization header, x-amz-date, x-amz-content-sha256 */
    BENCH_SIGN_PRESIGN,    /* X-Amz-* query parameters, UNSIGNED-PAYLOAD */
    BENCH_SIGN_NONE,       /* plain HTTP (nginx as the reference) */
};

enum bench_payload {
    BENCH_PAYLOAD_UNSIGNED = 1, /* x-amz-content-sha256: UNSIGNED-PAYLOAD */
    BENCH_PAYLOAD_SHA256,       /* the body's hex SHA-256, which the server verifies */
};

struct bench_target {
    char host[300];     /* the host part, for messages */
    char hostport[300]; /* "host:port", the Host header value */
    struct sockaddr_storage addr;
};

#define BENCH_MAX_TARGETS 64

struct bench_cfg {
    enum bench_workload workload;
    struct bench_target targets[BENCH_MAX_TARGETS];
    size_t n_targets;
    const char *bucket;
    const char *key_prefix;  /* key = <key_prefix><prefix index>/<id, 12 digits> */
    const char *path_prefix; /* before "/bucket/key" in every path ("" by default) */
    unsigned n_conns;
    unsigned n_threads;
    uint64_t duration_ms; /* 0: only @max_ops bounds the run */
    uint64_t max_ops;     /* 0: only @duration_ms bounds it */
    struct bench_dist sizes;
    uint64_t n_objects; /* prepared (or assumed, with !is_prepare) objects */
    unsigned n_prefixes;
    bool is_prepare;
    bool is_create_bucket;
    enum bench_sign sign;
    enum bench_payload payload;
    const char *access_key;
    const char *secret_key;
    const char *region;
    int64_t presign_expires;
    uint64_t part_size;
    unsigned n_parts;
    unsigned mix[BENCH_OP__COUNT]; /* weights of GET, STAT, PUT, DELETE, LIST (mixed) */
    unsigned max_keys;             /* LIST page size */
    uint64_t timeout_ms;           /* a request with no progress for this long fails */
    uint64_t seed;
    bool is_json;
};

/* Fill @cfg from the command line; prints usage or the problem to stderr.  Returns 0 on
 * success, 1 for a bad command line, 2 after --help (the caller exits 0). */
int bench_opts_parse(int argc, char **argv, struct bench_cfg *cfg);
const char *bench_op_name(enum bench_op op);
const char *bench_workload_name(enum bench_workload w);
const char *bench_sign_name(enum bench_sign s);

/* ---- request heads (req.c) -------------------------------------------------------------- */

/* One request to build.  @path is percent-encoded as it goes on the wire (the path prefix
 * is added by the builder), @query raw without '?' (may be empty); @payload_sha256 is the
 * body's lower-case hex SHA-256 or NULL for UNSIGNED-PAYLOAD. */
struct bench_req {
    const char *method;
    const char *path;
    const char *query;
    uint64_t body_len;
    const char *payload_sha256;
    const char *content_type; /* NULL: none */
};

/* Append the head of @r for @t to @out: request line, Host, Content-Length when there is a
 * body (or the method sends one), the signature of @cfg->sign made at @now (epoch seconds),
 * and the blank line.  GW_OK or GW_ERR_INVALID_ARGUMENT (the signer refused). */
int bench_req_head(const struct bench_cfg *cfg, const struct bench_target *t,
                   const struct bench_req *r, int64_t now, struct gw_buf *out);
/* "<key_prefix><id % n_prefixes>/<id as 12 digits>" into @out. */
void bench_key_name(const struct bench_cfg *cfg, uint64_t id, char *out, size_t cap);

/* ---- shared run state (main.c) ---------------------------------------------------------- */

/* The bytes every body is cut from: byte i of a body is buf[i % len]. */
struct bench_body {
    const char *buf;
    size_t len;
};

struct bench_run {
    const struct bench_cfg *cfg;
    struct bench_body body;
    atomic_uint_fast64_t n_issued; /* ops started in the measured phase (vs cfg->max_ops) */
    atomic_bool is_failed;         /* a worker could not go on: everyone stops */
    uv_barrier_t barrier;
};

/* ---- statistics ------------------------------------------------------------------------- */

struct bench_stat {
    uint64_t n_ok;
    uint64_t n_err;
    uint64_t bytes; /* payload moved by the successful ops: sent for PUT, received for GET */
    struct bench_hist hist; /* latency in ns of the successful ops */
    int first_err_status;   /* 0: transport error */
    char first_err[200];
};

/* ---- connections (conn.c) --------------------------------------------------------------- */

/*
 *   DOWN --connect--> CONNECTING --ok--> IDLE --send--> BUSY --answer and body sent--> IDLE
 *    ^                     |                             |
 *    |                     | failed                      | error, timeout, close
 *    +------ closed <------+------- CLOSING <------------+
 *
 * A connection carries one request at a time (no pipelining).  Whatever fails a BUSY
 * connection (reset, parse error, no progress for cfg->timeout_ms, the server closing)
 * completes its request with an error and closes it; the worker reconnects it.
 */
enum bench_conn_state {
    BENCH_CONN_DOWN = 1,
    BENCH_CONN_CONNECTING,
    BENCH_CONN_IDLE,
    BENCH_CONN_BUSY,
    BENCH_CONN_CLOSING,
};

struct bench_conn;
struct bench_worker;

/* How a request ended: @status 0 means no answer (transport error, text in @err). */
struct bench_result {
    int status;
    uint64_t bytes_in; /* response body bytes */
    uint64_t latency_ns;
    const char *err;
};

/* The task a connection carries (work.c): one top-level op, maybe several requests. */
enum bench_task_kind {
    BENCH_TASK_NONE = 0,
    BENCH_TASK_PUT,
    BENCH_TASK_GET,
    BENCH_TASK_STAT,
    BENCH_TASK_LIST,
    BENCH_TASK_DELETE,
    BENCH_TASK_MPU,
    BENCH_TASK_BUCKET, /* CreateBucket, before the prepare phase */
};

/*
 * Multipart upload steps:  CREATE --UploadId--> PART (n_parts times) --> COMPLETE --> DONE
 */
enum bench_mpu_step {
    BENCH_MPU_CREATE = 1,
    BENCH_MPU_PART,
    BENCH_MPU_COMPLETE,
};

struct bench_task {
    enum bench_task_kind kind;
    bool is_measured; /* counts in the statistics (not prepare, not setup) */
    uint64_t id;      /* key id */
    int64_t slot;     /* index in the worker's slot table, -1 when none */
    uint64_t size;    /* body bytes of a PUT / part */
    uint64_t t_start; /* uv_hrtime of the whole op (multipart) */
    enum bench_mpu_step mpu_step;
    unsigned part;        /* 1-based part number being sent */
    uint64_t mpu_bytes;   /* sent so far */
    struct gw_buf upload_id;
    struct gw_buf etags;  /* the parts' ETags, one per line */
    struct gw_buf xml;    /* CompleteMultipartUpload body */
    struct bench_body xml_body;
    char xml_sha256[2 * GW_SHA256_LEN + 1];
};

typedef void (*bench_done_cb)(struct bench_conn *c, const struct bench_result *res);

struct bench_conn {
    struct bench_worker *w;
    const struct bench_target *target;
    enum bench_conn_state state;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    llhttp_t parser;
    struct gw_buf head;   /* the request head being sent */
    const struct bench_body *body;
    uint64_t body_len, body_sent;
    size_t write_len;     /* body bytes in the write in flight */
    int connect_err;      /* UV_* of the last connect attempt, 0 when it worked */
    bool is_head_method;  /* HEAD: the answer has no body */
    bool is_writing, is_answered;
    bool is_capture;      /* keep the response body (up to BENCH_CAPTURE_MAX) */
    bool is_keep_alive;
    uint64_t t_start, t_activity; /* uv_hrtime */
    struct bench_result res;
    char hdr_name[32];
    size_t hdr_name_len;
    bool hdr_is_etag;
    struct gw_buf etag;   /* the answer's ETag header */
    struct gw_buf resp;   /* the captured body */
    char *rbuf;
    size_t rbuf_cap;
    bench_done_cb done_cb;
    struct bench_task task;
    unsigned n_connect_fail; /* consecutive */
};

#define BENCH_CAPTURE_MAX (256u * 1024)

/* Ready @c (DOWN) for @t; nothing is opened yet. */
void bench_conn_init(struct bench_conn *c, struct bench_worker *w, const struct bench_target *t);
/* Open the TCP connection: the worker's conn_ready (work.c) is told when it is IDLE; a
 * failed attempt closes it (conn_closed, with c->connect_err set). */
void bench_conn_connect(struct bench_conn *c);
/* Send c->head followed by @body_len bytes of @body (NULL when none) and read the answer;
 * @cb gets the result once both are done.  @c must be IDLE. */
void bench_conn_send(struct bench_conn *c, const struct bench_body *body, uint64_t body_len,
                     bool is_head_method, bool is_capture, bench_done_cb cb);
/* Fail a BUSY (or CONNECTING) connection that made no progress since @deadline
 * (uv_hrtime). */
void bench_conn_check_timeout(struct bench_conn *c, uint64_t deadline);
/* Close (any state but CLOSING/DOWN); w's conn_closed is told after the close. */
void bench_conn_close(struct bench_conn *c);
void bench_conn_free(struct bench_conn *c);

/* ---- workers (work.c) ------------------------------------------------------------------- */

enum bench_phase {
    BENCH_PHASE_CONNECT = 1,
    BENCH_PHASE_SETUP,   /* worker 0: CreateBucket */
    BENCH_PHASE_PREPARE, /* upload the objects the workload reads */
    BENCH_PHASE_MEASURE,
    BENCH_PHASE_DRAIN,   /* closing every connection */
};

enum bench_slot_state {
    BENCH_SLOT_EMPTY = 0,
    BENCH_SLOT_WRITING,
    BENCH_SLOT_READY,
    BENCH_SLOT_DELETING,
};

struct bench_slot {
    uint64_t id;
    uint32_t n_readers;
    uint8_t state;
};

#define BENCH_HASH_CACHE 8
#define BENCH_HEAD_CACHE 64

/* A signed GET/HEAD head made this second: the same request signed again within the same
 * second is byte for byte the same, so it is reused instead of re-signed (the signer's
 * HMACs cost the client ~6 us a request, which would otherwise be CPU the server lacks). */
struct bench_head_cache {
    enum bench_task_kind kind;
    uint64_t id;
    const struct bench_target *target;
    int64_t time;
    struct gw_buf head;
};

struct bench_worker {
    unsigned index;
    struct bench_run *run;
    const struct bench_cfg *cfg;
    uv_loop_t loop;
    uv_timer_t tick;
    uv_thread_t thread;
    enum bench_phase phase;
    bool is_stopping;        /* no new task in this phase */
    struct bench_conn *conns;
    size_t n_conns;
    size_t n_busy;           /* connections carrying a task */
    uint64_t rng;
    uint64_t next_id;        /* the next new key: next_id, then + n_threads */
    struct bench_slot *slots;
    size_t n_slots;
    size_t n_prepared;       /* prepare phase: slots handed out so far */
    size_t delete_cursor;
    uint64_t deadline;       /* uv_hrtime end of the measured phase; 0: none */
    uint64_t t_begin, t_end; /* the measured phase on this worker */
    struct bench_stat stats[BENCH_OP__COUNT];
    struct {
        uint64_t len;
        char hex[2 * GW_SHA256_LEN + 1];
    } hash_cache[BENCH_HASH_CACHE];
    unsigned hash_next;
    struct bench_head_cache head_cache[BENCH_HEAD_CACHE];
    bool is_setup_done;
    char fatal[256];         /* why the worker could not go on */
};

int bench_worker_init(struct bench_worker *w, struct bench_run *run, unsigned index);
/* Run phase @p to its end on this thread (the loop runs until every task is done). */
void bench_worker_phase(struct bench_worker *w, enum bench_phase p);
void bench_worker_close(struct bench_worker *w);
/* Callbacks of conn.c into the worker. */
void bench__worker_conn_ready(struct bench_worker *w, struct bench_conn *c);
void bench__worker_conn_closed(struct bench_worker *w, struct bench_conn *c);
/* The task of @c is over (task.c to work.c): count it, feed @c the next one. */
void bench__worker_task_end(struct bench_worker *w, struct bench_conn *c);
/* Stop the run: the first message is kept and printed by main. */
void bench__worker_fatal(struct bench_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- tasks (task.c) --------------------------------------------------------------------- */

/* Fill @t with the next op of w's phase; false when there is none (phase over). */
bool bench__task_next(struct bench_worker *w, struct bench_task *t);
/* Build and send the current request of c->task (c is IDLE). */
void bench__task_send(struct bench_worker *w, struct bench_conn *c);
/* t->xml = the CompleteMultipartUpload body of the ETags in t->etags. */
void bench__mpu_complete_xml(struct bench_task *t);

/* ---- report (report.c) ------------------------------------------------------------------ */

struct bench_machine {
    long n_cores;
    double load_before[3], load_after[3];
    bool is_busy; /* 1-minute load above the core count before the run */
};

struct bench_summary {
    const struct bench_cfg *cfg;
    struct bench_machine machine;
    double elapsed_s; /* the measured phase, first start to last end over the workers */
    struct bench_stat stats[BENCH_OP__COUNT];
};

/* Merge the workers' statistics into @s. */
void bench_summary_add(struct bench_summary *s, const struct bench_worker *w);
void bench_report_table(const struct bench_summary *s, FILE *out);
/* JSON (one object, see README) to @out; GW_OK or GW_ERR_NOMEM. */
int bench_report_json(const struct bench_summary *s, FILE *out);
/* Read /proc/loadavg into @load; false when it cannot be read. */
bool bench_loadavg(double load[3]);

#endif
