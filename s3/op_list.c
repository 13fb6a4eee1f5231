/* ListObjects (v1), ListObjectsV2 and ListObjectVersions.
 *
 *   parse parameters (loop) -> list + describe entries (pool: the listing
 *   engine of list.c, then one open + record read per returned object for
 *   its ETag) -> XML (loop)
 *
 * Continuation tokens are the base64 of the last key or common prefix
 * returned: opaque to clients, and any node can resume them. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "list.h"
#include "obj.h"
#include "path.h"
#include "store.h"
#include "xml_out.h"
#include "unigw/err.h"

struct list_op {
    struct s3_req *q;
    struct s3_list_params lp;
    struct s3_list_result res;
    char **etags;
    bool url;
    bool fetch_owner;
    size_t max_keys;       /* as given (echoed in MaxKeys); the page holds at most 1000 */
    struct gw_str marker;  /* v1 marker / versions key-marker, as given */
    struct gw_str token;   /* v2 continuation token, as given */
    struct gw_str start_after;
    const char *owner; /* see bucket_owner() */
    int rv;
};

static struct gw_str param(struct s3_req *q, const char *name, bool *present)
{
    const struct s3_param *p = s3_route_param(&q->rt, name);

    if (present != NULL) {
        *present = p != NULL;
    }
    return p != NULL ? p->value : GW_STR("");
}

/* max-keys as AWS reads it: an int32 from 0 up ("Argument maxKeys must be an
 * integer between 0 and 2147483647", InvalidArgument, for anything else,
 * negative or not a number).  A value above 1000 is echoed as given in
 * MaxKeys while a page holds at most 1000 keys ("The response might contain
 * fewer keys but will never contain more", ListObjectsV2 MaxKeys); 0 is an
 * empty page that is not truncated (ceph/s3-tests
 * test_bucket_list_maxkeys_zero, which runs against AWS too). */
static int parse_max_keys(struct list_op *l, const char *name)
{
    bool present = false;
    struct gw_str v = param(l->q, name, &present);
    uint64_t n = 0;

    l->max_keys = S3_LIST_MAX_KEYS;
    if (!present) {
        return GW_OK;
    }
    if (!gw_str_to_u64(v, &n) || n > INT32_MAX) {
        s3_req_errmsg(l->q, "%s must be an integer between 0 and 2147483647", name);
        return GW_ERR_INVALID_ARGUMENT;
    }
    l->max_keys = (size_t)n;
    return GW_OK;
}

static int decode_token(struct list_op *l)
{
    char *buf = gw_arena_alloc(l->q->a, l->token.len + 1);
    size_t n = 0;

    if (!gw_base64_decode(l->token, buf, l->token.len, &n) || n == 0) {
        s3_req_errmsg(l->q, "the continuation token provided is incorrect");
        return GW_ERR_INVALID_ARGUMENT;
    }
    l->lp.start_after = gw_str_make(buf, n);
    return GW_OK;
}

static int parse_params(struct list_op *l)
{
    struct s3_req *q = l->q;
    bool has_enc = false;
    struct gw_str enc = param(q, "encoding-type", &has_enc);
    bool v2 = q->rt.op == S3_OP_LIST_OBJECTS_V2;
    bool versions = q->rt.op == S3_OP_LIST_OBJECT_VERSIONS;
    bool has_token = false;
    int rv;

    if (has_enc && !gw_str_eq_c(enc, "url")) {
        s3_req_errmsg(q, "invalid encoding-type");
        return GW_ERR_INVALID_ARGUMENT;
    }
    l->url = has_enc;
    l->lp.prefix = param(q, "prefix", NULL);
    l->lp.delimiter = param(q, "delimiter", NULL);
    rv = parse_max_keys(l, "max-keys");
    if (rv != 0) {
        return rv;
    }
    if (v2) {
        l->fetch_owner = gw_str_eq_c(param(q, "fetch-owner", NULL), "true");
        l->start_after = param(q, "start-after", NULL);
        l->token = param(q, "continuation-token", &has_token);
        l->lp.start_after = l->start_after;
        /* An empty token is no token: the listing starts at the beginning
         * and <ContinuationToken/> is echoed empty (ceph/s3-tests
         * test_bucket_listv2_continuationtoken_empty, run against AWS). */
        return has_token && l->token.len > 0 ? decode_token(l) : GW_OK;
    }
    l->marker = param(q, versions ? "key-marker" : "marker", NULL);
    l->lp.start_after = l->marker;
    l->fetch_owner = true;
    return GW_OK;
}

/* Directory markers in sidecar mode: the sidecar record's presence. */
static bool sidecar_marker_cb(int dir_fd, struct gw_str dir_key, void *arg)
{
    struct list_op *l = arg;

    (void)dir_fd;
    return s3_objmeta_sidecar_exists(&l->q->svc->store, l->q->rt.bucket, dir_key);
}

/* The ETag of one listed object, as GET would report it. */
static char *entry_etag(struct list_op *l, const struct s3_list_entry *e)
{
    struct s3_obj o;

    if (s3__obj_open(l->q->svc, l->q->rt.bucket, e->key, l->q->a, &o) != 0) {
        struct stat st = {0};
        st.st_ino = (ino_t)e->ino;
        st.st_size = (off_t)e->size;
        st.st_mtim.tv_sec = e->mtime_ns / 1000000000;
        st.st_mtim.tv_nsec = e->mtime_ns % 1000000000;
        return s3_objmeta_fingerprint_etag(&st, l->q->a);
    }
    close(o.fd);
    return o.etag;
}

static void list_work_cb(struct gw_pool_job *job)
{
    struct list_op *l = job->data;
    struct s3_req *q = l->q;
    int bfd = -1;
    int rv = s3__store_bucket(&q->svc->store, q->rt.bucket, &bfd);

    if (rv == 0) {
        l->lp.bucket_fd = bfd;
        l->lp.max_keys = l->max_keys;
        l->lp.cache = q->svc->list_cache;
        if (!q->svc->store.use_xattr) {
            l->lp.is_marker = sidecar_marker_cb;
            l->lp.is_marker_arg = l;
        }
        rv = s3_list_run(&l->lp, q->a, &l->res);
        close(bfd);
    }
    if (rv == 0) {
        l->etags = gw_arena_zalloc(q->a, (l->res.n_entries + 1) * sizeof *l->etags);
        for (size_t i = 0; i < l->res.n_entries; i++) {
            if (!l->res.entries[i].is_common_prefix) {
                l->etags[i] = entry_etag(l, &l->res.entries[i]);
            }
        }
    }
    l->rv = rv;
}

/* The bucket's owner, looked up once per listing (every entry carries it). */
static const char *bucket_owner(struct list_op *l)
{
    struct meta_bucket mb;

    if (l->owner == NULL) {
        l->owner = meta_bucket_get(l->q->svc->meta, l->q->rt.bucket, &mb) == 0
                       ? gw_arena_strndup(l->q->a, mb.owner, mb.owner_len)
                       : "root";
    }
    return l->owner;
}

static void write_owner(struct s3_xml_writer *w, struct list_op *l)
{
    const char *owner = bucket_owner(l);

    s3_xml_open(w, "Owner");
    s3_xml_elem_c(w, "ID", owner);
    s3_xml_elem_c(w, "DisplayName", owner);
    s3_xml_close(w);
}

static struct gw_str bare_etag(const char *quoted)
{
    struct gw_str s = gw_str_c(quoted);
    return s.len >= 2 ? gw_str_make(s.p + 1, s.len - 2) : s;
}

static void write_entry(struct list_op *l, struct s3_xml_writer *w, size_t i)
{
    const struct s3_list_entry *e = &l->res.entries[i];
    bool versions = l->q->rt.op == S3_OP_LIST_OBJECT_VERSIONS;

    s3_xml_open(w, versions ? "Version" : "Contents");
    s3_xml_elem_key(w, "Key", e->key, l->url);
    if (versions) {
        s3_xml_elem_c(w, "VersionId", "null");
        s3_xml_elem_bool(w, "IsLatest", true);
    }
    s3_xml_elem_time(w, "LastModified", e->mtime_ns);
    s3_xml_elem_etag(w, "ETag", bare_etag(l->etags[i]));
    s3_xml_elem_u64(w, "Size", e->is_dir ? 0 : e->size);
    if (l->fetch_owner) {
        write_owner(w, l);
    }
    s3_xml_elem_c(w, "StorageClass", "STANDARD");
    s3_xml_close(w);
}

static void write_header(struct list_op *l, struct s3_xml_writer *w)
{
    struct s3_req *q = l->q;
    enum s3_op op = q->rt.op;
    size_t n_keys = l->res.n_entries;

    s3_xml_elem(w, "Name", q->rt.bucket);
    s3_xml_elem_key(w, "Prefix", l->lp.prefix, l->url);
    if (op == S3_OP_LIST_OBJECTS) {
        s3_xml_elem_key(w, "Marker", l->marker, l->url);
    } else if (op == S3_OP_LIST_OBJECT_VERSIONS) {
        s3_xml_elem_key(w, "KeyMarker", l->marker, l->url);
        s3_xml_elem_c(w, "VersionIdMarker", "");
    } else {
        if (s3_route_param(&q->rt, "continuation-token") != NULL) {
            s3_xml_elem(w, "ContinuationToken", l->token);
        }
        if (s3_route_param(&q->rt, "start-after") != NULL) {
            s3_xml_elem_key(w, "StartAfter", l->start_after, l->url);
        }
        s3_xml_elem_u64(w, "KeyCount", n_keys);
    }
    s3_xml_elem_u64(w, "MaxKeys", l->max_keys);
    /* delimiter= (empty) is no delimiter, and AWS then omits the element
     * (ceph/s3-tests test_bucket_list_delimiter_empty). */
    if (l->lp.delimiter.len > 0) {
        s3_xml_elem_key(w, "Delimiter", l->lp.delimiter, l->url);
    }
    if (l->url) {
        s3_xml_elem_c(w, "EncodingType", "url");
    }
    s3_xml_elem_bool(w, "IsTruncated", l->res.is_truncated);
}

static void write_next(struct list_op *l, struct s3_xml_writer *w)
{
    struct gw_str next = l->res.next_marker;
    char *tok;

    if (!l->res.is_truncated) {
        return;
    }
    switch (l->q->rt.op) {
    case S3_OP_LIST_OBJECTS:
        /* "This element is returned only if you have delimiter request
         * parameter specified" (ListObjects NextMarker); without one the
         * client resumes after the last Key. */
        if (l->lp.delimiter.len > 0) {
            s3_xml_elem_key(w, "NextMarker", next, l->url);
        }
        break;
    case S3_OP_LIST_OBJECT_VERSIONS:
        s3_xml_elem_key(w, "NextKeyMarker", next, l->url);
        s3_xml_elem_c(w, "NextVersionIdMarker", "null");
        break;
    default:
        tok = gw_arena_alloc(l->q->a, gw_base64_len(next.len) + 1);
        gw_base64_encode(next.p, next.len, tok);
        s3_xml_elem_c(w, "NextContinuationToken", tok);
        break;
    }
}

static void list_done_cb(struct gw_pool_job *job)
{
    struct list_op *l = job->data;
    struct s3_req *q = l->q;
    struct s3_xml_writer w;
    const char *root = q->rt.op == S3_OP_LIST_OBJECT_VERSIONS ? "ListVersionsResult"
                                                              : "ListBucketResult";

    if (l->rv != 0) {
        s3_err_respond(q, l->rv);
        return;
    }
    s3_xml_begin(&w, &q->body_out, root, S3_XML_NS);
    write_header(l, &w);
    write_next(l, &w);
    for (size_t i = 0; i < l->res.n_entries; i++) {
        if (!l->res.entries[i].is_common_prefix) {
            write_entry(l, &w, i);
        }
    }
    for (size_t i = 0; i < l->res.n_entries; i++) {
        if (l->res.entries[i].is_common_prefix) {
            s3_xml_open(&w, "CommonPrefixes");
            s3_xml_elem_key(&w, "Prefix", l->res.entries[i].key, l->url);
            s3_xml_close(&w);
        }
    }
    s3_xml_end(&w);
    s3_req_respond_xml(q, 200);
}

void s3_op_list(struct s3_req *q)
{
    struct list_op *l = gw_arena_zalloc(q->a, sizeof *l);
    int rv;

    l->q = q;
    rv = parse_params(l);
    if (rv != 0) {
        s3_err_respond(q, rv);
        return;
    }
    gw_pool_submit(q->x->pool, &q->job, list_work_cb, list_done_cb, l);
}
