/* Object lookup and description.  An object is a regular file at
 * <mount>/<bucket>/<key>, or a directory for a marker key ending in '/'.
 * Its ETag is the MD5 from its record when the record is fresh, else the
 * fingerprint ETag "<hex>-1" (stable until the file changes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "obj.h"
#include "path.h"
#include "rehash.h"
#include "store.h"
#include "xml_out.h"
#include "unigw/err.h"

/* What a failed open of an object's path means: a missing path, a file
 * where a directory should be, a symlink anywhere (ELOOP: see s3/store.h),
 * a FIFO, socket or device node (ENXIO: s3__store_open_file) or a name too
 * long are all "no such key". */
static int open_error(int e)
{
    if (e == ENOENT || e == ENOTDIR || e == ELOOP || e == EISDIR || e == ENAMETOOLONG ||
        e == ENXIO) {
        return GW_ERR_NO_SUCH_KEY;
    }
    return gw_err_from_errno(e);
}

/* Keep only what an object can be: a regular file, or a directory for a marker key. */
static int check_kind(struct s3_obj *o, struct gw_str key)
{
    bool want_dir = s3_path_key_is_marker(key);

    if (want_dir && S_ISDIR(o->st.st_mode)) {
        o->is_marker = true;
        o->st.st_size = 0;
        return GW_OK;
    }
    if (!want_dir && S_ISREG(o->st.st_mode)) {
        return GW_OK;
    }
    return GW_ERR_NO_SUCH_KEY;
}

/* Open @key beneath the bucket directory, never through a symlink and
 * never blocking on a special file planted under its name; fstat into @st. */
static int open_beneath(struct s3_service *s, struct gw_str bucket, struct gw_str key, int *fd,
                        struct stat *st)
{
    char rel[S3_PATH_MAX];
    int bfd = -1;
    int rv = s3_path_key_rel(rel, sizeof rel, key);

    if (rv == 0) {
        rv = s3__store_bucket(&s->store, bucket, &bfd);
    }
    if (rv != 0) {
        return rv;
    }
    *fd = s3__store_open_file(bfd, rel, s3_path_key_is_marker(key), st);
    rv = *fd < 0 ? open_error(errno) : GW_OK;
    close(bfd);
    return rv;
}

int s3__obj_open(struct s3_service *s, struct gw_str bucket, struct gw_str key,
                 struct gw_arena *a, struct s3_obj *o)
{
    int rv;

    memset(o, 0, sizeof *o);
    o->fd = -1;
    rv = open_beneath(s, bucket, key, &o->fd, &o->st);
    if (rv != 0) {
        return rv;
    }
    if (check_kind(o, key) != 0) {
        close(o->fd);
        o->fd = -1;
        return GW_ERR_NO_SUCH_KEY;
    }
    if (s3_objmeta_load(&s->store, o->fd, bucket, key, a, &o->meta) == 0) {
        /* A marker directory's mtime moves with its entries: its record has no fingerprint. */
        o->has_meta = o->is_marker || s3_objmeta_fresh(&o->meta, &o->st);
    }
    if (o->has_meta) {
        o->etag = s3_objmeta_etag(&o->meta, a);
    } else if (o->is_marker) {
        o->etag = gw_arena_strndup(a, "\"d41d8cd98f00b204e9800998ecf8427e\"", 34);
    } else {
        o->etag = s3_objmeta_fingerprint_etag(&o->st, a);
        s3_rehash_enqueue(s->rehash, bucket, key);
    }
    return GW_OK;
}

static struct gw_str strip_quotes(struct gw_str s)
{
    s = gw_str_trim(s);
    if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"') {
        s.p++;
        s.len -= 2;
    }
    return s;
}

bool s3__etag_matches(struct gw_str cond, const char *etag)
{
    struct gw_str want = strip_quotes(gw_str_c(etag));
    struct gw_str item;

    while (cond.len > 0) {
        gw_str_split(&cond, ',', &item);
        item = gw_str_trim(item);
        if (gw_str_has_prefix(item, GW_STR("W/"))) {
            item.p += 2;
            item.len -= 2;
        }
        if (gw_str_eq_c(item, "*") || gw_str_eq(strip_quotes(item), want)) {
            return true;
        }
    }
    return false;
}

static struct gw_str cond_header(struct s3_req *q, const char *prefix, const char *name)
{
    char full[64];

    snprintf(full, sizeof full, "%s%s", prefix, name);
    return s3_header_get(q->http, full);
}

/* RFC 7232 section 6 order, as S3 applies it: If-Match, then
 * If-Unmodified-Since (only without If-Match), If-None-Match, then
 * If-Modified-Since (only without If-None-Match).  A date that does not parse
 * is ignored, as AWS does. */
int s3__obj_conditions(struct s3_req *q, const struct s3_obj *o, const char *prefix)
{
    struct gw_str im = cond_header(q, prefix, "if-match");
    struct gw_str inm = cond_header(q, prefix, "if-none-match");
    struct gw_str ius = cond_header(q, prefix, "if-unmodified-since");
    struct gw_str ims = cond_header(q, prefix, "if-modified-since");
    bool is_copy = prefix[0] != '\0';
    int64_t mtime = o->st.st_mtim.tv_sec;
    int64_t t;

    if (im.p != NULL && !s3__etag_matches(im, o->etag)) {
        return GW_ERR_PRECONDITION_FAILED;
    }
    if (im.p == NULL && ius.p != NULL && s3_http_date_parse(ius, &t) == 0 && mtime > t) {
        return GW_ERR_PRECONDITION_FAILED;
    }
    if (inm.p != NULL && s3__etag_matches(inm, o->etag)) {
        return is_copy ? GW_ERR_PRECONDITION_FAILED : GW_ERR_NOT_MODIFIED;
    }
    if (inm.p == NULL && ims.p != NULL && s3_http_date_parse(ims, &t) == 0 && mtime <= t &&
        t <= q->now) {
        return is_copy ? GW_ERR_PRECONDITION_FAILED : GW_ERR_NOT_MODIFIED;
    }
    return GW_OK;
}

void s3__obj_headers(struct s3_req *q, const struct s3_obj *o)
{
    char *date = gw_arena_alloc(q->a, S3_HTTP_DATE_LEN + 1);

    s3_http_date_format(o->st.st_mtim.tv_sec, date);
    s3_req_header(q, "ETag", o->etag);
    s3_req_header(q, "Last-Modified", date);
    if (!o->has_meta) {
        s3_req_header(q, "Content-Type", o->is_marker ? "application/x-directory"
                                                      : "binary/octet-stream");
        return;
    }
    s3_req_header_str(q, "Content-Type", o->meta.content_type.len > 0
                                             ? o->meta.content_type
                                             : GW_STR("binary/octet-stream"));
#define S3__OM_HDR(f, h)                                                                           \
    if (o->meta.f.len > 0 && strcmp(h, "content-type") != 0) {                                     \
        s3_req_header_str(q, h, o->meta.f);                                                        \
    }
    S3_STORED_HEADERS(S3__OM_HDR)
#undef S3__OM_HDR
    for (size_t i = 0; i < o->meta.n_user; i++) {
        char *name = gw_arena_printf(q->a, "x-amz-meta-%.*s", (int)o->meta.user[i].key.len,
                                     o->meta.user[i].key.p);
        s3_req_header_str(q, name, o->meta.user[i].value);
    }
}

int s3__copy_source_parse(struct gw_str header, struct gw_arena *a, struct gw_str *bucket,
                          struct gw_str *key)
{
    struct gw_str path;
    char *dec = gw_arena_alloc(a, header.len + 1);
    size_t n = 0;

    gw_str_split(&header, '?', &path);
    if (path.len > 0 && path.p[0] == '/') {
        path = gw_str_make(path.p + 1, path.len - 1);
    }
    if (!gw_url_decode(path, dec, &n, false)) {
        return GW_ERR_INVALID_COPY_SOURCE;
    }
    path = gw_str_make(dec, n);
    if (!gw_str_split(&path, '/', bucket) || bucket->len == 0 || path.len == 0) {
        return GW_ERR_INVALID_COPY_SOURCE;
    }
    *key = path;
    return s3_path_key_check(path);
}
