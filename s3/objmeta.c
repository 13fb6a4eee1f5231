/* The per-object metadata record: a small versioned binary record (u16
 * version, then little-endian fields, lengths checked on decode), stored as
 * the xattr user.unigw or in a sidecar file under .unigw/meta/.
 *
 * Field order (version 1): ino u64, size u64, mtime_ns u64, md5[16],
 * n_parts u32, object_id[16], flags u8 (bit0 marker, bit1 composite),
 * cksum alg u8, cksum bytes, the six stored headers as bytes, n_user u32 and
 * n_user (name, value) pairs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "objmeta.h"
#include "publish.h"
#include "path.h"
#include "unigw/checksum.h"
#include "unigw/err.h"

int s3_objmeta_encode(const struct s3_objmeta *m, struct gw_buf *out)
{
    uint8_t flags = (uint8_t)((m->is_marker ? 1 : 0) | (m->cksum_composite ? 2 : 0));

    gw_buf_put_u16(out, S3_OBJMETA_VERSION);
    gw_buf_put_u64(out, m->ino);
    gw_buf_put_u64(out, m->size);
    gw_buf_put_u64(out, (uint64_t)m->mtime_ns);
    gw_buf_append(out, m->md5, 16);
    gw_buf_put_u32(out, m->n_parts);
    gw_buf_append(out, m->object_id, 16);
    gw_buf_put_u8(out, flags);
    gw_buf_put_u8(out, (uint8_t)m->cksum);
    gw_buf_put_bytes(out, gw_str_make((const char *)m->cksum_value, m->cksum_len));
#define S3__OM_PUT(f, h) gw_buf_put_bytes(out, m->f);
    S3_STORED_HEADERS(S3__OM_PUT)
#undef S3__OM_PUT
    gw_buf_put_u32(out, (uint32_t)m->n_user);
    for (size_t i = 0; i < m->n_user; i++) {
        gw_buf_put_bytes(out, m->user[i].key);
        gw_buf_put_bytes(out, m->user[i].value);
    }
    return out->len > S3_OBJMETA_MAX_LEN ? GW_ERR_METADATA_TOO_LARGE : GW_OK;
}

static bool get_raw(struct gw_reader *r, void *dst, size_t n)
{
    if (r->failed || r->len < n) {
        r->failed = true;
        return false;
    }
    memcpy(dst, r->p, n);
    r->p += n;
    r->len -= n;
    return true;
}

static int decode_user(struct gw_reader *r, struct gw_arena *a, struct s3_objmeta *out)
{
    uint32_t n = 0;

    gw_reader_u32(r, &n);
    if (r->failed || n > r->len / 8) {
        return GW_ERR_CORRUPT;
    }
    out->n_user = n;
    out->user = gw_arena_zalloc(a, (n ? n : 1) * sizeof *out->user);
    for (uint32_t i = 0; i < n; i++) {
        gw_reader_bytes(r, &out->user[i].key);
        gw_reader_bytes(r, &out->user[i].value);
    }
    return r->failed ? GW_ERR_CORRUPT : GW_OK;
}

int s3_objmeta_decode(struct gw_str in, struct gw_arena *a, struct s3_objmeta *out)
{
    struct gw_reader r = gw_reader_make(in.p, in.len);
    uint16_t version = 0;
    uint8_t flags = 0;
    uint8_t alg = 0;
    uint64_t mtime = 0;
    struct gw_str ck;

    memset(out, 0, sizeof *out);
    if (!gw_reader_u16(&r, &version)) {
        return GW_ERR_CORRUPT;
    }
    if (version > S3_OBJMETA_VERSION) {
        return GW_ERR_TOO_NEW;
    }
    gw_reader_u64(&r, &out->ino);
    gw_reader_u64(&r, &out->size);
    gw_reader_u64(&r, &mtime);
    out->mtime_ns = (int64_t)mtime;
    get_raw(&r, out->md5, 16);
    gw_reader_u32(&r, &out->n_parts);
    get_raw(&r, out->object_id, 16);
    gw_reader_u8(&r, &flags);
    gw_reader_u8(&r, &alg);
    if (!gw_reader_bytes(&r, &ck) || ck.len > sizeof out->cksum_value || alg > S3_CKSUM_SHA256) {
        return GW_ERR_CORRUPT;
    }
    memcpy(out->cksum_value, ck.p, ck.len);
    out->cksum_len = (uint8_t)ck.len;
    out->cksum = (enum s3_cksum)alg;
    out->is_marker = flags & 1;
    out->cksum_composite = (flags & 2) != 0;
#define S3__OM_GET(f, h) gw_reader_bytes(&r, &out->f);
    S3_STORED_HEADERS(S3__OM_GET)
#undef S3__OM_GET
    if (r.failed) {
        return GW_ERR_CORRUPT;
    }
    return decode_user(&r, a, out);
}

static int64_t stat_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

bool s3_objmeta_fresh(const struct s3_objmeta *m, const struct stat *st)
{
    return m->ino == (uint64_t)st->st_ino && m->size == (uint64_t)st->st_size &&
           m->mtime_ns == stat_mtime_ns(st);
}

void s3_objmeta_set_fingerprint(struct s3_objmeta *m, const struct stat *st)
{
    m->ino = (uint64_t)st->st_ino;
    m->size = (uint64_t)st->st_size;
    m->mtime_ns = stat_mtime_ns(st);
}

char *s3_objmeta_etag(const struct s3_objmeta *m, struct gw_arena *a)
{
    char hex[33];

    gw_hex_encode(m->md5, 16, hex);
    if (m->n_parts > 0) {
        return gw_arena_printf(a, "\"%s-%u\"", hex, m->n_parts);
    }
    return gw_arena_printf(a, "\"%s\"", hex);
}

char *s3_objmeta_fingerprint_etag(const struct stat *st, struct gw_arena *a)
{
    unsigned char fp[24];
    unsigned char md[GW_MD5_LEN];
    char hex[33];
    uint64_t ino = (uint64_t)st->st_ino;
    uint64_t size = (uint64_t)st->st_size;
    int64_t mt = stat_mtime_ns(st);

    memcpy(fp, &ino, 8);
    memcpy(fp + 8, &size, 8);
    memcpy(fp + 16, &mt, 8);
    gw_md5(fp, sizeof fp, md);
    gw_hex_encode(md, sizeof md, hex);
    return gw_arena_printf(a, "\"%s-1\"", hex);
}

bool s3_objstore_probe_xattr(const struct s3_objstore *st)
{
    char rel[64];
    int fd;
    bool ok;

    snprintf(rel, sizeof rel, S3_RESERVED_DIR "/tmp/xattr-probe-%d", (int)getpid());
    fd = s3__store_openat(st->root_fd, rel, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) {
        return false;
    }
    ok = fsetxattr(fd, S3_OBJMETA_XATTR, "p", 1, 0) == 0;
    close(fd);
    s3__store_unlinkat(st->root_fd, rel, 0);
    return ok;
}

/* Sidecar path below the root: .unigw/meta/<bucket>/<key without trailing '/'>#unigw. */
static bool sidecar_rel(struct gw_str bucket, struct gw_str key, char *out, size_t cap)
{
    int n;

    if (key.len > 0 && key.p[key.len - 1] == '/') {
        key.len--;
    }
    n = snprintf(out, cap, S3_RESERVED_DIR "/meta/%.*s/%.*s#unigw", (int)bucket.len, bucket.p,
                 (int)key.len, key.p);
    return n > 0 && (size_t)n < cap;
}

static int read_sidecar(const struct s3_objstore *st, struct gw_str bucket, struct gw_str key,
                        char *buf, size_t cap, ssize_t *n_out)
{
    char rel[8192];
    struct stat sb;
    int fd;

    if (!sidecar_rel(bucket, key, rel, sizeof rel)) {
        return GW_ERR_NOT_FOUND;
    }
    /* The sidecar tree is on the mount too: a FIFO there must not block. */
    fd = s3__store_open_file(st->root_fd, rel, false, &sb);
    if (fd < 0) {
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENXIO
                   ? GW_ERR_NOT_FOUND
                   : gw_err_from_errno(errno);
    }
    *n_out = read(fd, buf, cap);
    close(fd);
    return *n_out < 0 ? GW_ERR_IO : GW_OK;
}

bool s3_objmeta_sidecar_exists(const struct s3_objstore *st, struct gw_str bucket,
                               struct gw_str key)
{
    char rel[8192];
    struct stat sb;

    return sidecar_rel(bucket, key, rel, sizeof rel) &&
           s3__store_statat(st->root_fd, rel, &sb) == 0 && S_ISREG(sb.st_mode);
}

int s3_objmeta_load(const struct s3_objstore *st, int fd, struct gw_str bucket, struct gw_str key,
                    struct gw_arena *a, struct s3_objmeta *out)
{
    char *buf = gw_arena_alloc(a, S3_OBJMETA_MAX_LEN);
    ssize_t n;
    int rv;

    if (st->use_xattr) {
        n = fgetxattr(fd, S3_OBJMETA_XATTR, buf, S3_OBJMETA_MAX_LEN);
        if (n < 0) {
            return errno == ENODATA || errno == ENOTSUP ? GW_ERR_NOT_FOUND : GW_ERR_IO;
        }
    } else {
        rv = read_sidecar(st, bucket, key, buf, S3_OBJMETA_MAX_LEN, &n);
        if (rv != 0) {
            return rv;
        }
    }
    return s3_objmeta_decode(gw_str_make(buf, (size_t)n), a, out);
}

/* Write @rec as the sidecar of @bucket/@key: a temp file beside it, then a
 * rename, both through the fd of its directory (made as needed). */
static int write_sidecar(const struct s3_objstore *st, struct gw_str bucket, struct gw_str key,
                         const struct gw_buf *rec)
{
    char rel[8192];
    char tmp[NAME_MAX + 1];
    struct stat sb;
    char *slash;
    int dfd;
    int fd;
    int rv;

    if (!sidecar_rel(bucket, key, rel, sizeof rel)) {
        return GW_ERR_KEY_TOO_LONG;
    }
    slash = strrchr(rel, '/');
    *slash = '\0';
    dfd = s3__store_mkdirs(st->root_fd, rel, 0755, false, NULL);
    if (dfd < 0) {
        return gw_err_from_errno(errno);
    }
    if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", slash + 1, (int)gettid()) >= (int)sizeof tmp) {
        close(dfd);
        return GW_ERR_KEY_TOO_LONG;
    }
    /* O_NONBLOCK: a FIFO a mount user left under the temp name would block an
     * open for writing until someone reads it; it is refused instead (a
     * regular file ignores the flag). */
    fd = openat(dfd, tmp, O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                0644);
    if (fd >= 0 && (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        close(fd);
        fd = -1;
        errno = ENXIO;
    }
    rv = fd < 0 ? gw_err_from_errno(errno) : GW_OK;
    if (rv == 0) {
        rv = s3__write_all(fd, rec->data, rec->len);
        close(fd);
    }
    if (rv == 0 && renameat(dfd, tmp, dfd, slash + 1) != 0) {
        rv = gw_err_from_errno(errno);
    }
    if (rv != 0 && fd >= 0) {
        unlinkat(dfd, tmp, 0);
    }
    close(dfd);
    return rv;
}

int s3_objmeta_store(const struct s3_objstore *st, int fd, struct gw_str bucket,
                     struct gw_str key, const struct s3_objmeta *m)
{
    struct gw_buf rec = GW_BUF_INIT;
    int rv = s3_objmeta_encode(m, &rec);

    if (rv == 0 && st->use_xattr) {
        if (fsetxattr(fd, S3_OBJMETA_XATTR, rec.data, rec.len, 0) != 0) {
            rv = errno == ENOSPC || errno == E2BIG ? GW_ERR_METADATA_TOO_LARGE
                                                   : gw_err_from_errno(errno);
        }
    } else if (rv == 0) {
        rv = write_sidecar(st, bucket, key, &rec);
    }
    gw_buf_free(&rec);
    return rv;
}

void s3_objmeta_forget(const struct s3_objstore *st, struct gw_str bucket, struct gw_str key)
{
    char rel[8192];

    if (!st->use_xattr && sidecar_rel(bucket, key, rel, sizeof rel)) {
        s3__store_unlinkat(st->root_fd, rel, 0);
    }
}

static const unsigned cksum_algs[] = {0, GW_HASH_CRC32, GW_HASH_CRC32C, GW_HASH_CRC64NVME,
                                      GW_HASH_SHA1, GW_HASH_SHA256};

enum s3_cksum s3_objmeta_cksum_from_alg(unsigned alg)
{
    for (size_t i = 1; i < sizeof cksum_algs / sizeof cksum_algs[0]; i++) {
        if (cksum_algs[i] == alg) {
            return (enum s3_cksum)i;
        }
    }
    return S3_CKSUM_NONE;
}

unsigned s3_objmeta_cksum_alg(enum s3_cksum c)
{
    return (size_t)c < sizeof cksum_algs / sizeof cksum_algs[0] ? cksum_algs[c] : 0;
}
