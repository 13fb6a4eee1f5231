/* Object and bucket tagging, and the tag helpers of the write paths.
 *
 *   Put/Get/DeleteObjectTagging: open the object (pool) for its identity ->
 *     propose tags_put / tags_delete, or read the tag set (loop)
 *   Put/Get/DeleteBucketTagging: the bucket directory exists (pool) ->
 *     propose bucket_tags_put / bucket_tags_delete, or read
 *
 * A tag set belongs to one version of an object: it is stored with the
 * object's identity (the record's random object id, or, for a file without a
 * fresh record, its fingerprint), so an overwrite through S3 (a new id) or
 * POSIX (the record goes stale, the fingerprint changes) drops the tags.
 * Tag sets are stored in their x-amz-tagging form ("k=v&k2=v2", percent-
 * encoded), which s3_xml_parse_tagging_header reads back. */
#include <stdio.h>
#include <unistd.h>

#include "mpu.h"
#include "obj.h"
#include "xml_in.h"
#include "xml_out.h"
#include "unigw/err.h"
#include "unigw/log.h"

struct gw_str s3__tag_object_id(const struct s3_objmeta *m, bool has_meta, const struct stat *st,
                                struct gw_arena *a)
{
    char *out = gw_arena_alloc(a, 2 * sizeof m->object_id + 4);
    char *fp;

    static const uint8_t zero[sizeof m->object_id];

    /* Records written by the background MD5 carry no object id: the
     * fingerprint, which that record does not change, names the version. */
    if (has_meta && memcmp(m->object_id, zero, sizeof zero) != 0) {
        gw_hex_encode(m->object_id, sizeof m->object_id, out);
        return gw_str_c(out);
    }
    fp = s3_objmeta_fingerprint_etag(st, a); /* "\"<hex>-1\"" */
    return gw_str_c(gw_arena_printf(a, "fp-%.*s", (int)strlen(fp) - 2, fp + 1));
}

/* The canonical stored form of @t. */
static struct gw_str tags_encode(const struct s3_tagset *t, struct gw_arena *a)
{
    size_t cap = 1;
    char *out, *p;

    for (size_t i = 0; i < t->n_tags; i++) {
        cap += 3 * (t->tags[i].key.len + t->tags[i].value.len) + 2;
    }
    p = out = gw_arena_alloc(a, cap);
    for (size_t i = 0; i < t->n_tags; i++) {
        if (i > 0) {
            *p++ = '&';
        }
        p += gw_url_encode(t->tags[i].key, p, false);
        *p++ = '=';
        p += gw_url_encode(t->tags[i].value, p, false);
    }
    *p = '\0';
    return gw_str_make(out, (size_t)(p - out));
}

int s3__tag_header(struct s3_req *q, struct gw_str *out)
{
    struct gw_str h = s3_header_get(q->http, "x-amz-tagging");
    struct s3_tagset t;
    int rv;

    *out = GW_STR_NULL;
    if (h.p == NULL) {
        return GW_OK;
    }
    rv = s3_xml_parse_tagging_header(h, S3_MAX_OBJECT_TAGS, q->a, &t);
    if (rv == 0) {
        *out = tags_encode(&t, q->a);
    }
    return rv;
}

void s3__tag_store(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                   const struct s3_objmeta *m, struct gw_str tags, s3_mpu_done_cb cb, void *arg)
{
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    char oid[2 * sizeof m->object_id + 1];
    int rv;

    if (tags.len == 0) {
        cb(arg, GW_OK);
        return;
    }
    gw_hex_encode(m->object_id, sizeof m->object_id, oid);
    rv = s3__mpu_cmd_hdr(q, &h);
    if (rv == 0) {
        rv = meta_cmd_tags_put(&cmd, &h, bucket, key, gw_str_c(oid), tags);
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        cb(arg, rv);
        return;
    }
    s3__mpu_propose(q, &cmd, cb, arg);
}

struct gw_str s3__tag_drop_due(struct s3_service *s, struct gw_str bucket, struct gw_str key,
                               struct gw_arena *a)
{
    struct gw_buf owner = GW_BUF_INIT;
    struct gw_str id = GW_STR_NULL;
    struct s3_obj o;

    /* Most objects have no tags: one LMDB read, and the object is not opened. */
    if (meta_tags_object_id(s->meta, bucket, key, &owner) == 0 &&
        s3__obj_open(s, bucket, key, a, &o) == 0) {
        id = s3__tag_object_id(&o.meta, o.has_meta, &o.st, a);
        close(o.fd);
        if (!gw_str_eq(id, gw_buf_str(&owner))) {
            id = GW_STR_NULL; /* another object's tags (one being written now): keep them */
        }
    }
    gw_buf_free(&owner);
    return id;
}

/* Housekeeping of tag records after a write (drop the replaced object's,
 * put back the old ones): its failure leaves a stale or missing record, not a
 * failed request, so it is logged here, once, and @cb always hears the result. */
struct tag_step {
    struct s3_req *q;
    const char *what;
    s3_mpu_done_cb cb;
    void *arg;
};

static void tag_step_cb(void *arg, int rv)
{
    struct tag_step *t = arg;

    if (rv != 0) {
        GW_RLOG(GW_LOG_WARN, "s3", t->q->http->request_id, "op=%s msg=\"%s: %s\"",
                t->q->x->op_name, t->what, gw_err_name(rv));
    }
    t->cb(t->arg, rv);
}

/* Propose @cmd (encoded with result @rv, freed here) as the step @what. */
static void tag_step(struct s3_req *q, int rv, struct gw_buf *cmd, const char *what,
                     s3_mpu_done_cb cb, void *arg)
{
    struct tag_step *t = gw_arena_alloc(q->a, sizeof *t);

    *t = (struct tag_step){q, what, cb, arg};
    if (rv != 0) {
        gw_buf_free(cmd);
        tag_step_cb(t, rv);
        return;
    }
    s3__mpu_propose(q, cmd, tag_step_cb, t);
}

void s3__tag_drop(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                  struct gw_str object_id, s3_mpu_done_cb cb, void *arg)
{
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    int rv = s3__mpu_cmd_hdr(q, &h);

    if (rv == 0) {
        rv = meta_cmd_tags_drop(&cmd, &h, bucket, key, object_id);
    }
    tag_step(q, rv, &cmd, "old tags not dropped", cb, arg);
}


void s3__tag_prior_read(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                        struct s3_tag_prior *out)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_obj o;

    memset(out, 0, sizeof *out);
    if (s3__obj_open(q->svc, bucket, key, q->a, &o) != 0) {
        return; /* nothing there to lose */
    }
    out->object_id = s3__tag_object_id(&o.meta, o.has_meta, &o.st, q->a);
    close(o.fd);
    if (meta_tags_get(q->svc->meta, bucket, key, out->object_id, &b) == 0) {
        out->tags = gw_str_make(gw_arena_strndup(q->a, b.data != NULL ? b.data : "", b.len),
                                b.len);
        out->has_tags = true;
    }
    gw_buf_free(&b);
}

void s3__tag_restore(struct s3_req *q, struct gw_str bucket, struct gw_str key,
                     const struct s3_tag_prior *pr, s3_mpu_done_cb cb, void *arg)
{
    struct gw_buf cmd = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    int rv = s3__mpu_cmd_hdr(q, &h);

    if (rv == 0) {
        rv = meta_cmd_tags_put(&cmd, &h, bucket, key, pr->object_id, pr->tags);
    }
    tag_step(q, rv, &cmd, "old tags not restored", cb, arg);
}

size_t s3__tag_count(struct s3_req *q, struct gw_str object_id)
{
    struct gw_buf b = GW_BUF_INIT;
    struct s3_tagset t = {0};

    if (meta_tags_get(q->svc->meta, q->rt.bucket, q->rt.key, object_id, &b) == 0) {
        char *copy = gw_arena_alloc(q->a, b.len + 1);
        if (b.len > 0) {
            memcpy(copy, b.data, b.len);
        }
        if (s3_xml_parse_tagging_header(gw_str_make(copy, b.len), S3_MAX_BUCKET_TAGS, q->a, &t) !=
            0) {
            t.n_tags = 0;
        }
    }
    gw_buf_free(&b);
    return t.n_tags;
}

/* ---- the handlers --------------------------------------------------------- */

struct tag_op {
    struct s3_req *q;
    bool is_bucket;
    struct s3_tagset set;
    struct gw_str object_id;
    int rv;
};

static void tagset_respond(struct tag_op *t, struct gw_str stored)
{
    struct s3_req *q = t->q;
    struct s3_xml_writer w;
    struct s3_tagset set = {0};
    char *copy = gw_arena_alloc(q->a, stored.len + 1);
    int rv;

    if (stored.len > 0) {
        memcpy(copy, stored.p, stored.len);
    }
    rv = s3_xml_parse_tagging_header(gw_str_make(copy, stored.len), S3_MAX_BUCKET_TAGS, q->a, &set);
    if (rv != 0) {
        s3_err_respond(q, GW_ERR_CORRUPT);
        return;
    }
    s3_xml_begin(&w, &q->body_out, "Tagging", S3_XML_NS);
    s3_xml_open(&w, "TagSet");
    for (size_t i = 0; i < set.n_tags; i++) {
        s3_xml_open(&w, "Tag");
        s3_xml_elem(&w, "Key", set.tags[i].key);
        s3_xml_elem(&w, "Value", set.tags[i].value);
        s3_xml_close(&w);
    }
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

static void get_tags(struct tag_op *t)
{
    struct s3_req *q = t->q;
    struct gw_buf b = GW_BUF_INIT;
    int rv;

    if (t->is_bucket) {
        rv = meta_bucket_tags_get(q->svc->meta, q->rt.bucket, &b);
    } else {
        rv = meta_tags_get(q->svc->meta, q->rt.bucket, q->rt.key, t->object_id, &b);
        if (rv == GW_ERR_NO_SUCH_TAG_SET) {
            rv = GW_OK; /* an object without tags has an empty TagSet */
        }
    }
    if (rv != 0) {
        gw_buf_free(&b);
        s3_err_respond(q, rv);
        return;
    }
    tagset_respond(t, gw_buf_str(&b));
    gw_buf_free(&b);
}

static void changed_cb(void *arg, int rv)
{
    struct tag_op *t = arg;
    enum s3_op op = t->q->rt.op;

    if (rv != 0) {
        s3_err_respond(t->q, rv);
        return;
    }
    s3_req_respond_empty(t->q, op == S3_OP_PUT_OBJECT_TAGGING || op == S3_OP_PUT_BUCKET_TAGGING
                                   ? 200
                                   : 204);
}

static int change_tags(struct tag_op *t, struct gw_buf *cmd)
{
    struct s3_req *q = t->q;
    struct meta_cmd_hdr h;
    struct gw_str enc = tags_encode(&t->set, q->a);
    int rv = s3__mpu_cmd_hdr(q, &h);

    if (rv != 0) {
        return rv;
    }
    switch (q->rt.op) {
    case S3_OP_PUT_OBJECT_TAGGING:
        return meta_cmd_tags_put(cmd, &h, q->rt.bucket, q->rt.key, t->object_id, enc);
    case S3_OP_DELETE_OBJECT_TAGGING:
        return meta_cmd_tags_delete(cmd, &h, q->rt.bucket, q->rt.key);
    case S3_OP_PUT_BUCKET_TAGGING:
        return meta_cmd_bucket_tags_put(cmd, &h, q->rt.bucket, enc);
    default:
        return meta_cmd_bucket_tags_delete(cmd, &h, q->rt.bucket);
    }
}

/* Pool: the object's identity, or the bucket's existence. */
static void target_work_cb(struct gw_pool_job *job)
{
    struct tag_op *t = job->data;
    struct s3_req *q = t->q;
    struct s3_obj o;
    struct stat st;

    if (t->is_bucket) {
        t->rv = s3__bucket_stat(q->svc, q->rt.bucket, &st);
        return;
    }
    t->rv = s3__obj_open(q->svc, q->rt.bucket, q->rt.key, q->a, &o);
    if (t->rv == 0) {
        t->object_id = s3__tag_object_id(&o.meta, o.has_meta, &o.st, q->a);
        close(o.fd);
    }
}

static void target_done_cb(struct gw_pool_job *job)
{
    struct tag_op *t = job->data;
    struct gw_buf cmd = GW_BUF_INIT;
    enum s3_op op = t->q->rt.op;
    int rv = t->rv;

    if (rv == 0 && (op == S3_OP_GET_OBJECT_TAGGING || op == S3_OP_GET_BUCKET_TAGGING)) {
        get_tags(t);
        return;
    }
    if (rv == 0) {
        rv = change_tags(t, &cmd);
    }
    if (rv != 0) {
        gw_buf_free(&cmd);
        s3_err_respond(t->q, rv);
        return;
    }
    s3__mpu_propose(t->q, &cmd, changed_cb, t);
}

static void body_cb(struct s3_req *q, int rv, struct gw_str body)
{
    struct tag_op *t = q->op;

    if (rv == 0) {
        rv = s3_xml_parse_tagging(body, t->is_bucket ? S3_MAX_BUCKET_TAGS : S3_MAX_OBJECT_TAGS,
                                  q->a, &t->set);
    }
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, target_work_cb, target_done_cb, t);
}

void s3_op_tagging(struct s3_req *q)
{
    struct tag_op *t = gw_arena_zalloc(q->a, sizeof *t);
    enum s3_op op = q->rt.op;

    t->q = q;
    q->op = t;
    t->is_bucket = op == S3_OP_PUT_BUCKET_TAGGING || op == S3_OP_GET_BUCKET_TAGGING ||
                   op == S3_OP_DELETE_BUCKET_TAGGING;
    if (!t->is_bucket && s3_path_key_check(q->rt.key) != 0) {
        s3_err_respond(q, s3_path_key_check(q->rt.key));
        return;
    }
    if (op == S3_OP_PUT_OBJECT_TAGGING || op == S3_OP_PUT_BUCKET_TAGGING) {
        s3__read_small_body(q, S3_XML_TAGGING_MAX_LEN, body_cb);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, target_work_cb, target_done_cb, t);
}
