/* Multipart uploads: apply of upload_create / part_put / upload_claim /
 * upload_finish / upload_abort, and the queries ListMultipartUploads,
 * ListParts and CompleteMultipartUpload read.
 *
 * db "uploads": "bucket\0upload_id" -> record
 *   u8 version (1) | bytes key | bytes owner | u64 initiated_ms | u8 state |
 *   bytes claim | u64 done_ms | bytes etag | u64 size | bytes info
 * db "parts": "bucket\0upload_id\0" + big-endian u32 number -> record
 *   u8 version (1) | u64 size | bytes md5 | bytes cksum | bytes file | u64 ts_ms
 *
 * The life of an upload: OPEN (parts come and go) -> CLAIMED (a Complete won
 * the claim with the digest of its part list and is assembling) -> COMPLETED
 * (its parts are gone; the record stays with the final ETag so that a retried
 * Complete with the same list gets the same answer, until the cleanup task
 * aborts it).  Abort removes it in any state.  Staged files on the mount are
 * the s3 layer's business: apply never touches the filesystem. */
#include <stdlib.h>
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define UPLOAD_REC_VERSION 1
#define PART_REC_VERSION 1

static void upload_lkey(struct gw_buf *b, struct gw_str bucket, struct gw_str upload_id)
{
    gw_buf_append_str(b, bucket);
    gw_buf_append_byte(b, '\0');
    gw_buf_append_str(b, upload_id);
}

static void part_lkey(struct gw_buf *b, struct gw_str bucket, struct gw_str upload_id,
                      uint32_t number)
{
    upload_lkey(b, bucket, upload_id);
    gw_buf_append_byte(b, '\0');
    gw_buf_append_byte(b, (char)(number >> 24));
    gw_buf_append_byte(b, (char)(number >> 16));
    gw_buf_append_byte(b, (char)(number >> 8));
    gw_buf_append_byte(b, (char)number);
}

static void upload_rec_encode(struct gw_buf *b, const struct meta_upload *u, struct gw_str info)
{
    gw_buf_put_u8(b, UPLOAD_REC_VERSION);
    gw_buf_put_bytes(b, gw_str_make(u->key, u->key_len));
    gw_buf_put_bytes(b, gw_str_make(u->owner, u->owner_len));
    gw_buf_put_u64(b, u->initiated_ms);
    gw_buf_put_u8(b, (uint8_t)u->state);
    gw_buf_put_bytes(b, gw_str_make((const char *)u->claim, u->claim_len));
    gw_buf_put_u64(b, u->done_ms);
    gw_buf_put_bytes(b, gw_str_make(u->etag, u->etag_len));
    gw_buf_put_u64(b, u->size);
    gw_buf_put_bytes(b, info);
}

/* Decode the record stored under @lkey ("bucket\0id"); *@info views into @v. */
static int upload_rec_decode(struct gw_str lkey, struct gw_str v, struct meta_upload *out,
                             struct gw_str *info)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    struct gw_str key, owner, claim, etag, bucket = lkey;
    uint8_t ver = 0, state = 0;
    bool ok;

    memset(out, 0, sizeof *out);
    ok = gw_str_split(&lkey, '\0', &bucket) && gw_reader_u8(&r, &ver) &&
         gw_reader_bytes(&r, &key) && gw_reader_bytes(&r, &owner) &&
         gw_reader_u64(&r, &out->initiated_ms) && gw_reader_u8(&r, &state) &&
         gw_reader_bytes(&r, &claim) && gw_reader_u64(&r, &out->done_ms) &&
         gw_reader_bytes(&r, &etag) && gw_reader_u64(&r, &out->size) &&
         gw_reader_bytes(&r, info) && r.len == 0 && ver == UPLOAD_REC_VERSION &&
         state <= META_UPLOAD_COMPLETED && claim.len <= META_CLAIM_MAX;
    ok = ok && meta__str_copy(out->bucket, sizeof out->bucket, &out->bucket_len, bucket) &&
         meta__str_copy(out->upload_id, sizeof out->upload_id, &out->upload_id_len, lkey) &&
         meta__str_copy(out->key, sizeof out->key, &out->key_len, key) &&
         meta__str_copy(out->owner, sizeof out->owner, &out->owner_len, owner) &&
         meta__str_copy(out->etag, sizeof out->etag, &out->etag_len, etag);
    if (!ok) {
        return GW_ERR_CORRUPT;
    }
    out->state = (enum meta_upload_state)state;
    memcpy(out->claim, claim.p, claim.len);
    out->claim_len = claim.len;
    return GW_OK;
}

/* Read an upload in @txn: GW_OK, GW_ERR_NOT_FOUND, GW_ERR_CORRUPT or a fault. */
static int upload_read(struct meta *m, MDB_txn *txn, struct gw_str bucket, struct gw_str id,
                       struct meta_upload *out, struct gw_str *info)
{
    struct gw_buf lkey = GW_BUF_INIT;
    struct gw_str v = GW_STR_NULL;
    int rv;

    if (bucket.len > META_NAME_MAX || id.len == 0 || id.len > META_UPLOAD_ID_MAX) {
        return GW_ERR_NOT_FOUND;
    }
    upload_lkey(&lkey, bucket, id);
    rv = meta__get(m, txn, META_DB_UPLOADS, gw_buf_str(&lkey), &v);
    if (rv == 0) {
        rv = upload_rec_decode(gw_buf_str(&lkey), v, out, info);
    }
    gw_buf_free(&lkey);
    return rv;
}

static int upload_write(struct meta *m, MDB_txn *txn, const struct meta_upload *u,
                        struct gw_str info)
{
    struct gw_buf lkey = GW_BUF_INIT, rec = GW_BUF_INIT;
    int rv;

    upload_lkey(&lkey, gw_str_make(u->bucket, u->bucket_len),
                gw_str_make(u->upload_id, u->upload_id_len));
    upload_rec_encode(&rec, u, info);
    rv = meta__put(m, txn, META_DB_UPLOADS, gw_buf_str(&lkey), gw_buf_str(&rec));
    gw_buf_free(&lkey);
    gw_buf_free(&rec);
    return rv;
}

/* Delete the part records of an upload. */
static int parts_drop(struct meta *m, MDB_txn *txn, struct gw_str bucket, struct gw_str id)
{
    struct gw_buf prefix = GW_BUF_INIT;
    int rv;

    upload_lkey(&prefix, bucket, id);
    gw_buf_append_byte(&prefix, '\0');
    rv = meta__del_prefix(m, txn, META_DB_PARTS, gw_buf_str(&prefix));
    gw_buf_free(&prefix);
    return rv;
}

int meta__mpu_delete_bucket(struct meta *m, MDB_txn *txn, struct gw_str bucket)
{
    struct gw_buf prefix = GW_BUF_INIT;
    int rv;

    gw_buf_append_str(&prefix, bucket);
    gw_buf_append_byte(&prefix, '\0');
    rv = meta__del_prefix(m, txn, META_DB_UPLOADS, gw_buf_str(&prefix));
    if (rv == 0) {
        rv = meta__del_prefix(m, txn, META_DB_PARTS, gw_buf_str(&prefix));
    }
    gw_buf_free(&prefix);
    return rv;
}

static int apply_create(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct meta_upload u;
    struct gw_str info;
    int rv;

    if (!meta__name_ok(c->u.upload_create.bucket) || c->u.upload_create.key.len == 0 ||
        c->u.upload_create.upload_id.len == 0 || c->hdr.user.len == 0) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    rv = upload_read(m, txn, c->u.upload_create.bucket, c->u.upload_create.upload_id, &u, &info);
    if (rv == 0) {
        *result = GW_ERR_CONDITIONAL_CONFLICT;
        return GW_OK;
    }
    if (rv != GW_ERR_NOT_FOUND) {
        return rv;
    }
    memset(&u, 0, sizeof u);
    meta__str_copy(u.bucket, sizeof u.bucket, &u.bucket_len, c->u.upload_create.bucket);
    meta__str_copy(u.upload_id, sizeof u.upload_id, &u.upload_id_len,
                   c->u.upload_create.upload_id);
    meta__str_copy(u.key, sizeof u.key, &u.key_len, c->u.upload_create.key);
    meta__str_copy(u.owner, sizeof u.owner, &u.owner_len, c->hdr.user);
    u.initiated_ms = c->hdr.ts_ms;
    u.state = META_UPLOAD_OPEN;
    return upload_write(m, txn, &u, c->u.upload_create.info);
}

/* The upload a command names, as a business outcome: NO_SUCH_UPLOAD when absent. */
static int upload_find(struct meta *m, MDB_txn *txn, struct gw_str bucket, struct gw_str id,
                       struct meta_upload *u, struct gw_str *info, int *result)
{
    int rv = upload_read(m, txn, bucket, id, u, info);

    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_NO_SUCH_UPLOAD;
        return GW_OK;
    }
    return rv;
}

static int apply_part(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_buf lkey = GW_BUF_INIT, rec = GW_BUF_INIT;
    struct meta_upload u;
    struct gw_str info;
    int rv;

    rv = upload_find(m, txn, c->u.part_put.bucket, c->u.part_put.upload_id, &u, &info, result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    if (u.state != META_UPLOAD_OPEN) {
        *result = u.state == META_UPLOAD_CLAIMED ? GW_ERR_CONDITIONAL_CONFLICT
                                                 : GW_ERR_NO_SUCH_UPLOAD;
        return GW_OK;
    }
    if (c->u.part_put.number < 1 || c->u.part_put.number > META_PART_NUMBER_MAX ||
        c->u.part_put.md5.len != META_MD5_LEN || c->u.part_put.file.len == 0) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    part_lkey(&lkey, c->u.part_put.bucket, c->u.part_put.upload_id, c->u.part_put.number);
    gw_buf_put_u8(&rec, PART_REC_VERSION);
    gw_buf_put_u64(&rec, c->u.part_put.size);
    gw_buf_put_bytes(&rec, c->u.part_put.md5);
    gw_buf_put_bytes(&rec, c->u.part_put.cksum);
    gw_buf_put_bytes(&rec, c->u.part_put.file);
    gw_buf_put_u64(&rec, c->hdr.ts_ms);
    rv = meta__put(m, txn, META_DB_PARTS, gw_buf_str(&lkey), gw_buf_str(&rec));
    gw_buf_free(&lkey);
    gw_buf_free(&rec);
    return rv;
}

static bool claim_is(const struct meta_upload *u, struct gw_str claim)
{
    return u->claim_len == claim.len && memcmp(u->claim, claim.p, claim.len) == 0;
}

static int apply_claim(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_str claim = c->u.upload_claim.claim;
    struct meta_upload u;
    struct gw_str info;
    int rv;

    rv = upload_find(m, txn, c->u.upload_claim.bucket, c->u.upload_claim.upload_id, &u, &info,
                     result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    if (u.state == META_UPLOAD_COMPLETED) {
        *result = claim_is(&u, claim) ? GW_OK : GW_ERR_NO_SUCH_UPLOAD;
        return GW_OK;
    }
    if (u.state == META_UPLOAD_CLAIMED) {
        *result = claim_is(&u, claim) ? GW_OK : GW_ERR_CONDITIONAL_CONFLICT;
        return GW_OK;
    }
    if (claim.len == 0) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    u.state = META_UPLOAD_CLAIMED;
    memcpy(u.claim, claim.p, claim.len);
    u.claim_len = claim.len;
    u.done_ms = c->hdr.ts_ms;
    return upload_write(m, txn, &u, info);
}

static int apply_finish(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct meta_upload u;
    struct gw_str info;
    int rv;

    rv = upload_find(m, txn, c->u.upload_finish.bucket, c->u.upload_finish.upload_id, &u, &info,
                     result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    if (u.state == META_UPLOAD_OPEN) {
        *result = GW_ERR_NO_SUCH_UPLOAD; /* never claimed: nothing was assembled */
        return GW_OK;
    }
    u.state = META_UPLOAD_COMPLETED;
    u.done_ms = c->hdr.ts_ms;
    meta__str_copy(u.etag, sizeof u.etag, &u.etag_len, c->u.upload_finish.etag);
    u.size = c->u.upload_finish.size;
    rv = upload_write(m, txn, &u, info);
    if (rv == 0) {
        rv = parts_drop(m, txn, c->u.upload_finish.bucket, c->u.upload_finish.upload_id);
    }
    return rv;
}

static int apply_abort(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_buf lkey = GW_BUF_INIT;
    struct meta_upload u;
    struct gw_str info;
    int rv;

    rv = upload_find(m, txn, c->u.upload_abort.bucket, c->u.upload_abort.upload_id, &u, &info,
                     result);
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    upload_lkey(&lkey, c->u.upload_abort.bucket, c->u.upload_abort.upload_id);
    rv = meta__del(m, txn, META_DB_UPLOADS, gw_buf_str(&lkey));
    gw_buf_free(&lkey);
    if (rv == 0) {
        rv = parts_drop(m, txn, c->u.upload_abort.bucket, c->u.upload_abort.upload_id);
    }
    return rv;
}

int meta__mpu_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_UPLOAD_CREATE:
        return apply_create(m, txn, c, result);
    case META_CMD_PART_PUT:
        return apply_part(m, txn, c, result);
    case META_CMD_UPLOAD_CLAIM:
        return apply_claim(m, txn, c, result);
    case META_CMD_UPLOAD_FINISH:
        return apply_finish(m, txn, c, result);
    case META_CMD_UPLOAD_ABORT:
        return apply_abort(m, txn, c, result);
    default:
        return GW_ERR_INTERNAL;
    }
}

/* --- Queries ------------------------------------------------------------------------- */

int meta_upload_get(struct meta *m, struct gw_str bucket, struct gw_str upload_id,
                    struct meta_upload *out, struct gw_buf *info)
{
    MDB_txn *txn = NULL;
    struct gw_str iv;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = upload_read(m, txn, bucket, upload_id, out, &iv);
    if (rv == 0 && info != NULL) {
        gw_buf_append_str(info, iv);
    }
    mdb_txn_abort(txn);
    return rv == GW_ERR_NOT_FOUND ? GW_ERR_NO_SUCH_UPLOAD : rv;
}

struct upload_scan {
    struct gw_str prefix;
    struct meta_upload *v;
    size_t n, cap;
};

static int upload_scan_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct upload_scan *s = arg;
    struct gw_str info;
    struct meta_upload u;
    int rv = upload_rec_decode(key, val, &u, &info);

    if (rv != 0) {
        return rv;
    }
    if (!gw_str_has_prefix(gw_str_make(u.key, u.key_len), s->prefix)) {
        return GW_OK;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = gw_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = u;
    return GW_OK;
}

static int upload_cmp(const void *a, const void *b)
{
    const struct meta_upload *x = a, *y = b;
    int c = gw_str_cmp(gw_str_make(x->key, x->key_len), gw_str_make(y->key, y->key_len));

    if (c == 0) {
        c = gw_str_cmp(gw_str_make(x->upload_id, x->upload_id_len),
                       gw_str_make(y->upload_id, y->upload_id_len));
    }
    if (c == 0) {
        c = gw_str_cmp(gw_str_make(x->bucket, x->bucket_len),
                       gw_str_make(y->bucket, y->bucket_len));
    }
    return c;
}

/* Whether @u sorts after the (key, upload id) marker. */
static bool after_marker(const struct meta_upload *u, struct gw_str km, struct gw_str im)
{
    int c = gw_str_cmp(gw_str_make(u->key, u->key_len), km);

    if (km.len == 0 || c > 0) {
        return true;
    }
    return c == 0 && im.len > 0 && gw_str_cmp(gw_str_make(u->upload_id, u->upload_id_len), im) > 0;
}

int meta_upload_list(struct meta *m, struct gw_str bucket, struct gw_str prefix,
                     struct gw_str key_marker, struct gw_str upload_id_marker, size_t max,
                     struct meta_upload **out, size_t *n_out)
{
    struct upload_scan s = {prefix, NULL, 0, 0};
    struct gw_buf pfx = GW_BUF_INIT;
    MDB_txn *txn = NULL;
    size_t n = 0;
    int rv;

    *out = NULL;
    *n_out = 0;
    if (bucket.len > META_NAME_MAX) {
        return GW_OK;
    }
    if (bucket.len > 0) {
        gw_buf_append_str(&pfx, bucket);
        gw_buf_append_byte(&pfx, '\0');
    }
    rv = meta__txn_ro(m, &txn);
    if (rv == 0) {
        rv = meta__scan(m, txn, META_DB_UPLOADS, gw_buf_str(&pfx), GW_STR_NULL, upload_scan_cb,
                        &s);
        mdb_txn_abort(txn);
    }
    gw_buf_free(&pfx);
    if (rv != 0) {
        gw_free(s.v);
        return rv;
    }
    if (s.n > 0) {
        qsort(s.v, s.n, sizeof *s.v, upload_cmp);
    }
    for (size_t i = 0; i < s.n && (max == 0 || n < max); i++) {
        if (after_marker(&s.v[i], key_marker, upload_id_marker)) {
            s.v[n++] = s.v[i];
        }
    }
    if (n == 0) {
        gw_free(s.v);
        s.v = NULL;
    }
    *out = s.v;
    *n_out = n;
    return GW_OK;
}

struct part_scan {
    size_t max;
    struct meta_part *v;
    size_t n, cap;
};

static int part_rec_decode(struct gw_str key, struct gw_str v, struct meta_part *out)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    const unsigned char *k = (const unsigned char *)key.p + key.len - 4;
    struct gw_str md5, cksum, file;
    uint8_t ver = 0;

    memset(out, 0, sizeof *out);
    if (key.len < 4 || !gw_reader_u8(&r, &ver) || !gw_reader_u64(&r, &out->size) ||
        !gw_reader_bytes(&r, &md5) || !gw_reader_bytes(&r, &cksum) ||
        !gw_reader_bytes(&r, &file) || !gw_reader_u64(&r, &out->ts_ms) || r.len != 0 ||
        ver != PART_REC_VERSION || md5.len != META_MD5_LEN || cksum.len > META_CKSUM_MAX ||
        !meta__str_copy(out->file, sizeof out->file, &out->file_len, file)) {
        return GW_ERR_CORRUPT;
    }
    out->number = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
    memcpy(out->md5, md5.p, META_MD5_LEN);
    memcpy(out->cksum, cksum.p, cksum.len);
    out->cksum_len = cksum.len;
    return GW_OK;
}

static int part_scan_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct part_scan *s = arg;
    int rv;

    if (s->max > 0 && s->n == s->max) {
        return META_SCAN_STOP;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = gw_realloc(s->v, s->cap * sizeof *s->v);
    }
    rv = part_rec_decode(key, val, &s->v[s->n]);
    if (rv == 0) {
        s->n++;
    }
    return rv;
}

int meta_part_list(struct meta *m, struct gw_str bucket, struct gw_str upload_id, uint32_t after,
                   size_t max, struct meta_part **out, size_t *n_out)
{
    struct part_scan s = {max, NULL, 0, 0};
    struct gw_buf pfx = GW_BUF_INIT, from = GW_BUF_INIT;
    MDB_txn *txn = NULL;
    int rv;

    *out = NULL;
    *n_out = 0;
    if (bucket.len > META_NAME_MAX || upload_id.len == 0 || upload_id.len > META_UPLOAD_ID_MAX) {
        return GW_OK;
    }
    upload_lkey(&pfx, bucket, upload_id);
    gw_buf_append_byte(&pfx, '\0');
    if (after > 0) {
        part_lkey(&from, bucket, upload_id, after);
    }
    rv = meta__txn_ro(m, &txn);
    if (rv == 0) {
        rv = meta__scan(m, txn, META_DB_PARTS, gw_buf_str(&pfx), gw_buf_str(&from), part_scan_cb,
                        &s);
        mdb_txn_abort(txn);
    }
    gw_buf_free(&pfx);
    gw_buf_free(&from);
    if (rv != 0 || s.n == 0) {
        gw_free(s.v);
        return rv;
    }
    *out = s.v;
    *n_out = s.n;
    return GW_OK;
}
