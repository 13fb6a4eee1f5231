/* Tasks of unigw-bench: which operation a connection runs next, its requests, and what
 * the answers mean.
 *
 * Happy path: bench__task_next picks the phase's next op (prepare: the worker's next
 * object to upload; measure: per workload, see bench.h), bench__task_send builds and sends
 * its (next) request, and task_done checks the answer, records it in the worker's
 * statistics, moves the key's slot along (EMPTY -> WRITING -> READY -> DELETING -> EMPTY),
 * and either sends the op's next request (a multipart upload) or ends the task.
 *
 * Failure modes: an unexpected status or a transport error counts as an error of the op
 * (the first one is kept with its S3 <Code>/<Message>); during prepare and setup it stops
 * the run, because what follows would measure nothing meaningful.  A request the signer
 * refuses is a bug of ours and stops the run too. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "unigw/str.h"
#include "bench.h"

/* ---- keys and slots --------------------------------------------------------------------- */

/* A slot in @state (and without readers if @is_free): a few random probes, then a scan. */
static int64_t slot_find(struct bench_worker *w, enum bench_slot_state state, bool is_free)
{
    size_t start;

    if (w->n_slots == 0) {
        return -1;
    }
    for (int i = 0; i < 8; i++) {
        size_t k = (size_t)(bench_rand(&w->rng) % w->n_slots);

        if (w->slots[k].state == state && (!is_free || w->slots[k].n_readers == 0)) {
            return (int64_t)k;
        }
    }
    start = (size_t)(bench_rand(&w->rng) % w->n_slots);
    for (size_t i = 0; i < w->n_slots; i++) {
        size_t k = (start + i) % w->n_slots;

        if (w->slots[k].state == state && (!is_free || w->slots[k].n_readers == 0)) {
            return (int64_t)k;
        }
    }
    return -1;
}

static uint64_t new_id(struct bench_worker *w)
{
    uint64_t id = w->next_id;

    w->next_id += w->cfg->n_threads;
    return id;
}

/* The hex SHA-256 of the first @len bytes of the body stream (cached per size). */
static const char *body_sha256(struct bench_worker *w, uint64_t len)
{
    const struct bench_body *b = &w->run->body;
    struct gw_hash h;
    struct gw_digests d;
    unsigned k;

    for (unsigned i = 0; i < BENCH_HASH_CACHE; i++) {
        if (w->hash_cache[i].hex[0] != '\0' && w->hash_cache[i].len == len) {
            return w->hash_cache[i].hex;
        }
    }
    gw_hash_init(&h, GW_HASH_SHA256);
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < b->len ? (size_t)(len - done) : b->len;

        gw_hash_update(&h, b->buf, n);
        done += n;
    }
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    k = w->hash_next++ % BENCH_HASH_CACHE;
    w->hash_cache[k].len = len;
    gw_hex_encode(d.sha256, GW_SHA256_LEN, w->hash_cache[k].hex);
    return w->hash_cache[k].hex;
}

/* ---- choosing ----------------------------------------------------------------------------- */

static void task_reset(struct bench_task *t, enum bench_task_kind kind)
{
    t->kind = kind;
    t->slot = -1;
    t->id = 0;
    t->size = 0;
    t->mpu_step = BENCH_MPU_CREATE;
    t->part = 0;
    t->mpu_bytes = 0;
    t->is_measured = false;
}

static bool pick_prepare(struct bench_worker *w, struct bench_task *t)
{
    struct bench_slot *s;

    while (w->n_prepared < w->n_slots && w->slots[w->n_prepared].state != BENCH_SLOT_EMPTY) {
        w->n_prepared++;
    }
    if (w->n_prepared >= w->n_slots || w->slots[w->n_prepared].id >= w->cfg->n_objects) {
        return false; /* mixed: the slots past the prepared objects stay empty */
    }
    s = &w->slots[w->n_prepared];
    task_reset(t, BENCH_TASK_PUT);
    t->slot = (int64_t)w->n_prepared++;
    t->id = s->id;
    t->size = bench_dist_sample(&w->cfg->sizes, bench_rand(&w->rng));
    s->state = BENCH_SLOT_WRITING;
    return true;
}

static bool pick_read(struct bench_worker *w, struct bench_task *t, enum bench_task_kind kind)
{
    task_reset(t, kind);
    if (w->cfg->workload != BENCH_WL_MIXED) {
        /* read-only runs read any object, whichever worker uploaded it */
        t->id = bench_rand(&w->rng) % w->cfg->n_objects;
        return true;
    }
    t->slot = slot_find(w, BENCH_SLOT_READY, false);
    if (t->slot < 0) {
        return false;
    }
    t->id = w->slots[t->slot].id;
    w->slots[t->slot].n_readers++;
    return true;
}

static bool pick_put(struct bench_worker *w, struct bench_task *t)
{
    task_reset(t, BENCH_TASK_PUT);
    t->size = bench_dist_sample(&w->cfg->sizes, bench_rand(&w->rng));
    t->id = new_id(w);
    if (w->cfg->workload != BENCH_WL_MIXED) {
        return true;
    }
    t->slot = slot_find(w, BENCH_SLOT_EMPTY, false);
    if (t->slot < 0) {
        return false;
    }
    w->slots[t->slot].state = BENCH_SLOT_WRITING;
    w->slots[t->slot].id = t->id;
    return true;
}

static bool pick_delete(struct bench_worker *w, struct bench_task *t)
{
    task_reset(t, BENCH_TASK_DELETE);
    if (w->cfg->workload == BENCH_WL_MIXED) {
        t->slot = slot_find(w, BENCH_SLOT_READY, true);
    } else {
        while (w->delete_cursor < w->n_slots &&
               w->slots[w->delete_cursor].state != BENCH_SLOT_READY) {
            w->delete_cursor++;
        }
        t->slot = w->delete_cursor < w->n_slots ? (int64_t)w->delete_cursor : -1;
    }
    if (t->slot < 0) {
        return false;
    }
    t->id = w->slots[t->slot].id;
    w->slots[t->slot].state = BENCH_SLOT_DELETING;
    return true;
}

/* The op of a mixed run: by weight, falling back to GET then PUT when its slot is lacking. */
static bool pick_mixed(struct bench_worker *w, struct bench_task *t)
{
    static const enum bench_op ops[] = {BENCH_OP_GET, BENCH_OP_STAT, BENCH_OP_PUT,
                                        BENCH_OP_DELETE, BENCH_OP_LIST};
    const unsigned *mix = w->cfg->mix;
    unsigned total = 0, r;
    enum bench_op op = BENCH_OP_GET;

    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        total += mix[ops[i]];
    }
    r = (unsigned)(bench_rand(&w->rng) % total);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (r < mix[ops[i]]) {
            op = ops[i];
            break;
        }
        r -= mix[ops[i]];
    }
    switch (op) {
    case BENCH_OP_STAT:
        return pick_read(w, t, BENCH_TASK_STAT) || pick_put(w, t);
    case BENCH_OP_PUT:
        return pick_put(w, t) || pick_read(w, t, BENCH_TASK_GET);
    case BENCH_OP_DELETE:
        return pick_delete(w, t) || pick_read(w, t, BENCH_TASK_GET) || pick_put(w, t);
    case BENCH_OP_LIST:
        task_reset(t, BENCH_TASK_LIST);
        t->id = bench_rand(&w->rng);
        return true;
    default:
        return pick_read(w, t, BENCH_TASK_GET) || pick_put(w, t);
    }
}

static bool pick_measured(struct bench_worker *w, struct bench_task *t)
{
    switch (w->cfg->workload) {
    case BENCH_WL_PUT:
        return pick_put(w, t);
    case BENCH_WL_GET:
        return pick_read(w, t, BENCH_TASK_GET);
    case BENCH_WL_STAT:
        return pick_read(w, t, BENCH_TASK_STAT);
    case BENCH_WL_LIST:
        task_reset(t, BENCH_TASK_LIST);
        t->id = bench_rand(&w->rng); /* picks the prefix */
        return true;
    case BENCH_WL_DELETE:
        return pick_delete(w, t);
    case BENCH_WL_MULTIPART:
        task_reset(t, BENCH_TASK_MPU);
        t->id = new_id(w);
        t->size = w->cfg->part_size;
        return true;
    case BENCH_WL_MIXED:
    default:
        return pick_mixed(w, t);
    }
}

bool bench__task_next(struct bench_worker *w, struct bench_task *t)
{
    bool ok;

    switch (w->phase) {
    case BENCH_PHASE_SETUP:
        if (w->index != 0 || !w->cfg->is_create_bucket || w->is_setup_done) {
            return false;
        }
        w->is_setup_done = true;
        task_reset(t, BENCH_TASK_BUCKET);
        return true;
    case BENCH_PHASE_PREPARE:
        return pick_prepare(w, t);
    case BENCH_PHASE_MEASURE:
        if (w->deadline != 0 && uv_hrtime() >= w->deadline) {
            return false;
        }
        if (w->cfg->max_ops > 0 && atomic_fetch_add(&w->run->n_issued, 1) >= w->cfg->max_ops) {
            return false;
        }
        ok = pick_measured(w, t);
        t->is_measured = ok;
        t->t_start = uv_hrtime();
        return ok;
    default:
        return false;
    }
}

/* ---- requests ----------------------------------------------------------------------------- */

struct send_args {
    struct bench_req req;
    const struct bench_body *body;
    bool is_head;
    bool is_capture;
};

static void task_done(struct bench_conn *c, const struct bench_result *res);

/* Method, query and body of a multipart step; @query gets the encoded upload id. */
static void mpu_args(struct bench_worker *w, struct bench_task *t, char *query, size_t cap,
                     struct send_args *a)
{
    char id[3 * 300 + 1];

    /* upload ids are short (unigw: 32 hex digits); a longer one fails the upload */
    gw_url_encode(gw_str_make(t->upload_id.data, t->upload_id.len < 300 ? t->upload_id.len : 300),
                  id, false);
    switch (t->mpu_step) {
    case BENCH_MPU_CREATE:
        a->req.method = "POST";
        snprintf(query, cap, "uploads=");
        a->is_capture = true;
        return;
    case BENCH_MPU_PART:
        a->req.method = "PUT";
        snprintf(query, cap, "partNumber=%u&uploadId=%s", t->part, id);
        a->req.body_len = t->size;
        a->body = &w->run->body;
        return;
    case BENCH_MPU_COMPLETE:
    default:
        a->req.method = "POST";
        snprintf(query, cap, "uploadId=%s", id);
        t->xml_body.buf = t->xml.data;
        t->xml_body.len = t->xml.len;
        a->req.body_len = t->xml.len;
        a->req.content_type = "application/xml";
        a->body = &t->xml_body;
        a->is_capture = true;
        return;
    }
}

/* What the current request of @t is. */
static void task_args(struct bench_worker *w, struct bench_task *t, char *path, char *query,
                      size_t cap, struct send_args *a)
{
    const struct bench_cfg *cfg = w->cfg;
    char key[256];

    memset(a, 0, sizeof *a);
    bench_key_name(cfg, t->id, key, sizeof key);
    snprintf(path, cap, "/%s/%s", cfg->bucket, key);
    query[0] = '\0';
    a->req.path = path;
    a->req.query = query;
    switch (t->kind) {
    case BENCH_TASK_PUT:
        a->req.method = "PUT";
        a->req.body_len = t->size;
        a->body = &w->run->body;
        break;
    case BENCH_TASK_GET:
        a->req.method = "GET";
        break;
    case BENCH_TASK_STAT:
        a->req.method = "HEAD";
        a->is_head = true;
        break;
    case BENCH_TASK_DELETE:
        a->req.method = "DELETE";
        break;
    case BENCH_TASK_LIST:
        a->req.method = "GET";
        snprintf(path, cap, "/%s", cfg->bucket);
        snprintf(query, cap, "list-type=2&max-keys=%u&prefix=%s%" PRIu64 "%%2F", cfg->max_keys,
                 cfg->key_prefix, t->id % cfg->n_prefixes);
        break;
    case BENCH_TASK_BUCKET:
        a->req.method = "PUT";
        snprintf(path, cap, "/%s", cfg->bucket);
        a->is_capture = true;
        break;
    case BENCH_TASK_MPU:
    default:
        mpu_args(w, t, query, cap, a);
        break;
    }
}

/* The cache entry of a GET/HEAD of @t on @c (NULL for other requests). */
static struct bench_head_cache *head_cache_slot(struct bench_worker *w, struct bench_conn *c)
{
    const struct bench_task *t = &c->task;
    size_t k;

    if (t->kind != BENCH_TASK_GET && t->kind != BENCH_TASK_STAT) {
        return NULL;
    }
    k = (size_t)((t->id * 2 + (t->kind == BENCH_TASK_STAT)) * 0x9E3779B97F4A7C15ULL >> 58) ^
        (size_t)(c->target - w->cfg->targets);
    return &w->head_cache[k % BENCH_HEAD_CACHE];
}

static bool head_cache_hit(const struct bench_head_cache *e, const struct bench_conn *c,
                           int64_t now)
{
    return e != NULL && e->kind == c->task.kind && e->id == c->task.id &&
           e->target == c->target && e->time == now;
}

static void head_cache_store(struct bench_head_cache *e, const struct bench_conn *c, int64_t now)
{
    if (e == NULL) {
        return;
    }
    e->kind = c->task.kind;
    e->id = c->task.id;
    e->target = c->target;
    e->time = now;
    gw_buf_reset(&e->head);
    gw_buf_append_str(&e->head, gw_buf_str(&c->head));
}

void bench__task_send(struct bench_worker *w, struct bench_conn *c)
{
    struct bench_task *t = &c->task;
    struct bench_head_cache *e = head_cache_slot(w, c);
    int64_t now = (int64_t)time(NULL);
    char path[512], query[1024];
    struct send_args a;
    int rv;

    task_args(w, t, path, query, sizeof query, &a);
    gw_buf_reset(&c->head);
    if (head_cache_hit(e, c, now)) {
        gw_buf_append_str(&c->head, gw_buf_str(&e->head));
        bench_conn_send(c, NULL, 0, a.is_head, a.is_capture, task_done);
        return;
    }
    if (w->cfg->payload == BENCH_PAYLOAD_SHA256 && w->cfg->sign == BENCH_SIGN_HEADER) {
        if (a.body == &w->run->body) {
            a.req.payload_sha256 = body_sha256(w, a.req.body_len);
        } else if (a.body != NULL) {
            gw_sha256_hex(a.body->buf, a.body->len, t->xml_sha256);
            a.req.payload_sha256 = t->xml_sha256;
        } else {
            a.req.payload_sha256 = body_sha256(w, 0);
        }
    }
    rv = bench_req_head(w->cfg, c->target, &a.req, now, &c->head);
    if (rv != 0) {
        bench__worker_fatal(w, "the signer refused %s %s?%s", a.req.method, path, query);
        bench__worker_task_end(w, c);
        return;
    }
    head_cache_store(e, c, now);
    bench_conn_send(c, a.body, a.req.body_len, a.is_head, a.is_capture, task_done);
}

/* ---- answers ------------------------------------------------------------------------------ */

/* The text between <@tag> and </@tag> in @body, or an empty view. */
static struct gw_str xml_text(struct gw_str body, const char *tag)
{
    char open[64], close[64];
    ptrdiff_t i, j;
    struct gw_str rest;

    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    i = gw_str_find(body, gw_str_c(open));
    if (i < 0) {
        return gw_str_make("", 0);
    }
    rest = gw_str_make(body.p + i + strlen(open), body.len - (size_t)i - strlen(open));
    j = gw_str_find(rest, gw_str_c(close));
    return j < 0 ? gw_str_make("", 0) : gw_str_make(rest.p, (size_t)j);
}

static enum bench_op task_op(const struct bench_task *t)
{
    static const enum bench_op mpu_ops[] = {
        [BENCH_MPU_CREATE] = BENCH_OP_MPU_CREATE,
        [BENCH_MPU_PART] = BENCH_OP_MPU_PART,
        [BENCH_MPU_COMPLETE] = BENCH_OP_MPU_COMPLETE,
    };

    switch (t->kind) {
    case BENCH_TASK_GET:
        return BENCH_OP_GET;
    case BENCH_TASK_STAT:
        return BENCH_OP_STAT;
    case BENCH_TASK_LIST:
        return BENCH_OP_LIST;
    case BENCH_TASK_DELETE:
        return BENCH_OP_DELETE;
    case BENCH_TASK_MPU:
        return mpu_ops[t->mpu_step];
    default:
        return BENCH_OP_PUT;
    }
}

/* Is @res the answer the request wanted?  Multipart steps also take what they need. */
static bool answer_ok(struct bench_conn *c, const struct bench_result *res)
{
    struct bench_task *t = &c->task;
    struct gw_str body = gw_buf_str(&c->resp);
    struct gw_str v;

    if (t->kind == BENCH_TASK_BUCKET) {
        return res->status == 200 || res->status == 409; /* 409: it is there already */
    }
    if (res->status < 200 || res->status > 299) {
        return false;
    }
    if (t->kind != BENCH_TASK_MPU) {
        return true;
    }
    switch (t->mpu_step) {
    case BENCH_MPU_CREATE:
        v = xml_text(body, "UploadId");
        gw_buf_reset(&t->upload_id);
        gw_buf_append_str(&t->upload_id, v);
        return v.len > 0;
    case BENCH_MPU_PART:
        gw_buf_append(&t->etags, c->etag.data, c->etag.len);
        gw_buf_append_byte(&t->etags, '\n');
        return c->etag.len > 0;
    case BENCH_MPU_COMPLETE:
    default:
        return gw_str_find(body, GW_STR("<Error>")) < 0; /* S3 may fail it inside a 200 */
    }
}

/* The first error of an op, kept for the report. */
static void note_error(struct bench_stat *st, const struct bench_conn *c,
                       const struct bench_result *res)
{
    struct gw_str body = gw_buf_str(&c->resp);
    struct gw_str code = xml_text(body, "Code"), msg = xml_text(body, "Message");

    st->n_err++;
    if (st->first_err[0] != '\0') {
        return;
    }
    st->first_err_status = res->status;
    if (res->status == 0) {
        snprintf(st->first_err, sizeof st->first_err, "%s", res->err);
    } else if (code.len > 0) {
        snprintf(st->first_err, sizeof st->first_err, "HTTP %d %.*s: %.*s", res->status,
                 (int)(code.len < 64 ? code.len : 64), code.p,
                 (int)(msg.len < 100 ? msg.len : 100), msg.p);
    } else {
        snprintf(st->first_err, sizeof st->first_err, "HTTP %d", res->status);
    }
}

static void record(struct bench_worker *w, enum bench_op op, const struct bench_conn *c,
                   const struct bench_result *res, bool ok, uint64_t bytes)
{
    struct bench_stat *st = &w->stats[op];

    if (!ok) {
        note_error(st, c, res);
        return;
    }
    st->n_ok++;
    st->bytes += bytes;
    bench_hist_record(&st->hist, res->latency_ns);
}

/* Move the key's slot on once its request is over. */
static void slot_settle(struct bench_worker *w, struct bench_task *t, bool ok)
{
    struct bench_slot *s;

    if (t->slot < 0) {
        return;
    }
    s = &w->slots[t->slot];
    switch (t->kind) {
    case BENCH_TASK_GET:
    case BENCH_TASK_STAT:
        s->n_readers--;
        break;
    case BENCH_TASK_DELETE:
        s->state = ok ? BENCH_SLOT_EMPTY : BENCH_SLOT_READY;
        break;
    default:
        s->state = ok ? BENCH_SLOT_READY : BENCH_SLOT_EMPTY;
        break;
    }
    t->slot = -1;
}

/* A multipart step succeeded: the next one (true), or the upload is complete (false). */
static bool mpu_advance(struct bench_worker *w, struct bench_task *t)
{
    if (t->mpu_step == BENCH_MPU_CREATE) {
        gw_buf_reset(&t->etags);
        t->mpu_step = BENCH_MPU_PART;
        t->part = 1;
        return true;
    }
    if (t->mpu_step == BENCH_MPU_PART) {
        t->mpu_bytes += t->size;
        if (t->part < w->cfg->n_parts) {
            t->part++;
            return true;
        }
        bench__mpu_complete_xml(t);
        t->mpu_step = BENCH_MPU_COMPLETE;
        return true;
    }
    return false;
}

static void task_done(struct bench_conn *c, const struct bench_result *res)
{
    struct bench_worker *w = c->w;
    struct bench_task *t = &c->task;
    bool ok = answer_ok(c, res);
    enum bench_op op = task_op(t);
    uint64_t bytes = op == BENCH_OP_PUT || op == BENCH_OP_MPU_PART ? t->size : res->bytes_in;

    if (t->is_measured) {
        record(w, op, c, res, ok, bytes);
        w->t_end = uv_hrtime();
    } else if (!ok) {
        struct bench_stat tmp = {0};

        note_error(&tmp, c, res);
        bench__worker_fatal(w, "%s of %s: %s", t->kind == BENCH_TASK_BUCKET ? "CreateBucket"
                                                                              : "prepare PUT",
                            c->target->hostport, tmp.first_err);
    }
    if (t->kind == BENCH_TASK_MPU) {
        bool is_more = ok && mpu_advance(w, t);

        if (is_more && c->state == BENCH_CONN_IDLE) {
            bench__task_send(w, c);
            return;
        }
        if (t->is_measured) {
            struct bench_result whole = *res;

            /* a step that succeeded on a connection the server then closed ends the
             * upload unfinished: an error of the whole op */
            whole.latency_ns = uv_hrtime() - t->t_start;
            record(w, BENCH_OP_MULTIPART, c, &whole, ok && !is_more, t->mpu_bytes);
        }
    }
    slot_settle(w, t, ok);
    bench__worker_task_end(w, c);
}

void bench__mpu_complete_xml(struct bench_task *t)
{
    struct gw_str rest = gw_buf_str(&t->etags), etag;
    unsigned n = 0;

    gw_buf_reset(&t->xml);
    gw_buf_append_c(&t->xml, "<CompleteMultipartUpload>");
    while (rest.len > 0 && gw_str_split(&rest, '\n', &etag)) {
        gw_buf_printf(&t->xml, "<Part><PartNumber>%u</PartNumber><ETag>", ++n);
        gw_buf_append_xml(&t->xml, etag);
        gw_buf_append_c(&t->xml, "</ETag></Part>");
    }
    gw_buf_append_c(&t->xml, "</CompleteMultipartUpload>");
}
