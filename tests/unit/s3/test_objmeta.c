/* Unit tests for s3/objmeta.c: the record codec (round trip with every field,
 * every truncation, corrupt and newer records), fingerprints and ETags, the
 * checksum enum mapping, and storing/loading records as an xattr on a real
 * file and as a sidecar under <root>/.unigw/meta/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "unigw/arena.h"
#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/str.h"

#include "objmeta.h"

struct fixture {
    struct gw_arena a;
    char root[64];
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL) {
        return -1;
    }
    gw_arena_init(&f->a);
    snprintf(f->root, sizeof f->root, "/tmp/unigw-objmeta-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    gw_arena_release(&f->a);
    free(f);
    return 0;
}

static struct s3_kv sample_user[] = {
    {{"color", 5}, {"blue", 4}},
    {{"empty", 5}, {"", 0}},
    {{"bin", 3}, {"a\0b\xff", 4}},
};

/* A record with every field set to something distinctive. */
static void sample_fill(struct s3_objmeta *m)
{
    memset(m, 0, sizeof *m);
    m->ino = 0x0102030405060708ull;
    m->size = 5368709120ull;
    m->mtime_ns = -1234567890123ll; /* before the epoch: the sign must survive */
    for (int i = 0; i < 16; i++) {
        m->md5[i] = (uint8_t)(0xa0 + i);
        m->object_id[i] = (uint8_t)(i * 7);
    }
    m->n_parts = 10000;
    m->is_marker = true;
    m->content_type = GW_STR("text/plain; charset=utf-8");
    m->content_encoding = GW_STR("gzip");
    m->content_disposition = GW_STR("attachment; filename=\"a b.txt\"");
    m->content_language = GW_STR("de-CH");
    m->cache_control = GW_STR("max-age=60");
    m->expires = GW_STR("Thu, 01 Dec 1994 16:00:00 GMT");
    m->user = sample_user;
    m->n_user = sizeof sample_user / sizeof sample_user[0];
    m->cksum = S3_CKSUM_SHA256;
    for (int i = 0; i < 32; i++) {
        m->cksum_value[i] = (uint8_t)(255 - i);
    }
    m->cksum_len = 32;
    m->cksum_composite = true;
}

static void assert_same_str(struct gw_str a, struct gw_str b)
{
    assert_int_equal(a.len, b.len);
    if (a.len > 0) {
        assert_memory_equal(a.p, b.p, a.len);
    }
}

static void assert_same_meta(const struct s3_objmeta *a, const struct s3_objmeta *b)
{
    assert_true(a->ino == b->ino);
    assert_true(a->size == b->size);
    assert_true(a->mtime_ns == b->mtime_ns);
    assert_memory_equal(a->md5, b->md5, 16);
    assert_int_equal(a->n_parts, b->n_parts);
    assert_memory_equal(a->object_id, b->object_id, 16);
    assert_int_equal(a->is_marker, b->is_marker);
#define CMP_HDR(f, h) assert_same_str(a->f, b->f);
    S3_STORED_HEADERS(CMP_HDR)
#undef CMP_HDR
    assert_int_equal(a->n_user, b->n_user);
    for (size_t i = 0; i < a->n_user; i++) {
        assert_same_str(a->user[i].key, b->user[i].key);
        assert_same_str(a->user[i].value, b->user[i].value);
    }
    assert_int_equal(a->cksum, b->cksum);
    assert_int_equal(a->cksum_len, b->cksum_len);
    assert_memory_equal(a->cksum_value, b->cksum_value, a->cksum_len);
    assert_int_equal(a->cksum_composite, b->cksum_composite);
}

/* Every field survives encode + decode. */
static void objmeta_round_trip(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta in;
    struct s3_objmeta out;
    struct gw_buf rec = GW_BUF_INIT;

    sample_fill(&in);
    assert_int_equal(s3_objmeta_encode(&in, &rec), GW_OK);
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_OK);
    assert_same_meta(&in, &out);
    gw_buf_free(&rec);

    /* The zero record too (no headers, no user metadata, no checksum). */
    memset(&in, 0, sizeof in);
    assert_int_equal(s3_objmeta_encode(&in, &rec), GW_OK);
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_OK);
    assert_same_meta(&in, &out);
    assert_int_equal(out.cksum, S3_CKSUM_NONE);
    assert_false(out.is_marker);
    gw_buf_free(&rec);
}

/* Every proper prefix of a record is refused as corrupt, reading nothing past its end. */
static void objmeta_truncated(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta in;
    struct s3_objmeta out;
    struct gw_buf rec = GW_BUF_INIT;

    sample_fill(&in);
    assert_int_equal(s3_objmeta_encode(&in, &rec), GW_OK);
    for (size_t n = 0; n < rec.len; n++) {
        char *copy = malloc(n ? n : 1); /* exact size so ASan sees any overread */
        int rv;
        memcpy(copy, rec.data, n);
        rv = s3_objmeta_decode(gw_str_make(copy, n), &f->a, &out);
        free(copy);
        if (rv != GW_ERR_CORRUPT) {
            print_error("prefix of %zu/%zu bytes: %s\n", n, rec.len, gw_err_name(rv));
            fail();
        }
    }
    gw_buf_free(&rec);
}

/* A version above S3_OBJMETA_VERSION is reported as such, not as corrupt. */
static void objmeta_too_new(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta in;
    struct s3_objmeta out;
    struct gw_buf rec = GW_BUF_INIT;

    sample_fill(&in);
    assert_int_equal(s3_objmeta_encode(&in, &rec), GW_OK);
    rec.data[0] = S3_OBJMETA_VERSION + 1;
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_TOO_NEW);
    rec.data[0] = 0;
    rec.data[1] = 1; /* version 256 */
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_TOO_NEW);
    /* Even with nothing after the version. */
    assert_int_equal(s3_objmeta_decode(GW_STR("\x02\x00"), &f->a, &out), GW_ERR_TOO_NEW);
    gw_buf_free(&rec);
}

/* Offsets in a version-1 record (see the layout comment in objmeta.c). */
#define OFF_FLAGS (2 + 8 + 8 + 8 + 16 + 4 + 16)
#define OFF_ALG (OFF_FLAGS + 1)
#define OFF_CKLEN (OFF_ALG + 1)

/* Bad lengths and enum values are corrupt; a huge user count allocates nothing. */
static void objmeta_corrupt_fields(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta in;
    struct s3_objmeta out;
    struct gw_buf rec = GW_BUF_INIT;

    memset(&in, 0, sizeof in);
    assert_int_equal(s3_objmeta_encode(&in, &rec), GW_OK);
    /* zero record: ... alg, cksum len u32, 6 header lengths, n_user u32 */
    assert_int_equal(rec.len, OFF_CKLEN + 4 + 6 * 4 + 4);

    rec.data[OFF_ALG] = S3_CKSUM_SHA256 + 1;
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_CORRUPT);
    rec.data[OFF_ALG] = (char)0xff;
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_CORRUPT);
    rec.data[OFF_ALG] = 0;

    /* n_user = 0xffffffff with no bytes behind it. */
    memset(rec.data + rec.len - 4, 0xff, 4);
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_CORRUPT);
    memset(rec.data + rec.len - 4, 0, 4);
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_OK);

    /* A header length pointing past the end. */
    rec.data[OFF_CKLEN + 4] = 100;
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_CORRUPT);
    gw_buf_free(&rec);

    /* A checksum longer than any digest (33 bytes). */
    gw_buf_put_u16(&rec, S3_OBJMETA_VERSION);
    gw_buf_append(&rec, (const char[OFF_ALG - 2]){0}, OFF_ALG - 2);
    gw_buf_put_u8(&rec, S3_CKSUM_SHA256);
    gw_buf_put_bytes(&rec, GW_STR("012345678901234567890123456789012"));
    for (int i = 0; i < 7; i++) {
        gw_buf_put_u32(&rec, 0);
    }
    assert_int_equal(s3_objmeta_decode(gw_buf_str(&rec), &f->a, &out), GW_ERR_CORRUPT);
    gw_buf_free(&rec);
}

/* Flipping any bit of a record never crashes the decoder or reads out of bounds. */
static void objmeta_bit_flips(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta in;
    struct s3_objmeta out;
    struct gw_buf rec = GW_BUF_INIT;
    size_t n_ok = 0;

    sample_fill(&in);
    assert_int_equal(s3_objmeta_encode(&in, &rec), GW_OK);
    for (size_t i = 0; i < rec.len * 8; i++) {
        char *copy = malloc(rec.len);
        int rv;
        memcpy(copy, rec.data, rec.len);
        copy[i / 8] = (char)(copy[i / 8] ^ (1 << (i % 8)));
        rv = s3_objmeta_decode(gw_str_make(copy, rec.len), &f->a, &out);
        assert_true(rv == GW_OK || rv == GW_ERR_CORRUPT || rv == GW_ERR_TOO_NEW);
        n_ok += rv == GW_OK;
        if (i % 512 == 0) {
            gw_arena_release(&f->a);
        }
        free(copy);
    }
    assert_true(n_ok > 0); /* flips in fixed-size fields still decode */
    gw_buf_free(&rec);
}

/* A record over S3_OBJMETA_MAX_LEN is refused at encode time. */
static void objmeta_encode_too_large(void **state)
{
    struct s3_objmeta m;
    struct gw_buf rec = GW_BUF_INIT;
    char *big = calloc(1, S3_OBJMETA_MAX_LEN);
    struct s3_kv kv = {GW_STR("big"), {big, S3_OBJMETA_MAX_LEN}};

    (void)state;
    memset(&m, 0, sizeof m);
    m.user = &kv;
    m.n_user = 1;
    assert_int_equal(s3_objmeta_encode(&m, &rec), GW_ERR_METADATA_TOO_LARGE);
    gw_buf_free(&rec);
    kv.value.len = S3_OBJMETA_MAX_LEN - 200;
    assert_int_equal(s3_objmeta_encode(&m, &rec), GW_OK);
    assert_true(rec.len <= S3_OBJMETA_MAX_LEN);
    gw_buf_free(&rec);
    free(big);
}

/* Write @n bytes of 'x' to @path (created or truncated); returns an fd open for reading. */
static int make_file(const char *path, size_t n)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[256];

    assert_true(fd >= 0);
    memset(buf, 'x', sizeof buf);
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        assert_int_equal(write(fd, buf, k), (ssize_t)k);
        n -= k;
    }
    return fd;
}

/* The fingerprint follows inode, size and mtime (to the nanosecond). */
static void objmeta_fingerprint_fresh(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct s3_objmeta m;
    struct stat st;
    struct timespec ts[2];
    int fd;

    snprintf(path, sizeof path, "%s/obj", f->root);
    fd = make_file(path, 10);
    assert_int_equal(fstat(fd, &st), 0);
    memset(&m, 0, sizeof m);
    s3_objmeta_set_fingerprint(&m, &st);
    assert_true(m.ino == (uint64_t)st.st_ino);
    assert_true(m.size == 10);
    assert_true(s3_objmeta_fresh(&m, &st));

    /* A POSIX append changes the size. */
    assert_int_equal(write(fd, "y", 1), 1);
    assert_int_equal(fstat(fd, &st), 0);
    assert_false(s3_objmeta_fresh(&m, &st));
    s3_objmeta_set_fingerprint(&m, &st);
    assert_true(s3_objmeta_fresh(&m, &st));

    /* A same-size rewrite shows only in mtime: one nanosecond is enough. */
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
    ts[1].tv_nsec = (ts[1].tv_nsec + 1) % 1000000000;
    assert_int_equal(futimens(fd, ts), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_false(s3_objmeta_fresh(&m, &st));
    s3_objmeta_set_fingerprint(&m, &st);

    /* Another inode with the same size and mtime is another file. */
    st.st_ino++;
    assert_false(s3_objmeta_fresh(&m, &st));
    close(fd);
}

/* ETags from a record: plain MD5, or "<md5>-N" for multipart. */
static void objmeta_etag(void **state)
{
    struct fixture *f = *state;
    struct s3_objmeta m;

    memset(&m, 0, sizeof m);
    gw_md5("", 0, m.md5);
    assert_string_equal(s3_objmeta_etag(&m, &f->a), "\"d41d8cd98f00b204e9800998ecf8427e\"");
    m.n_parts = 3;
    assert_string_equal(s3_objmeta_etag(&m, &f->a), "\"d41d8cd98f00b204e9800998ecf8427e-3\"");
}

static bool is_fingerprint_etag(const char *e)
{
    if (strlen(e) != 36 || e[0] != '"' || strcmp(e + 33, "-1\"") != 0) {
        return false;
    }
    for (int i = 1; i < 33; i++) {
        if (strchr("0123456789abcdef", e[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* The fingerprint ETag is stable for a file and changes with size, mtime or inode. */
static void objmeta_fingerprint_etag(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    struct stat st2;
    const char *base;

    memset(&st, 0, sizeof st);
    st.st_ino = 42;
    st.st_size = 1000;
    st.st_mtim.tv_sec = 1700000000;
    st.st_mtim.tv_nsec = 5;
    base = s3_objmeta_fingerprint_etag(&st, &f->a);
    assert_true(is_fingerprint_etag(base));

    st2 = st;
    st2.st_ctim.tv_sec = 99; /* ctime and others are not part of it */
    st2.st_nlink = 3;
    assert_string_equal(s3_objmeta_fingerprint_etag(&st2, &f->a), base);
    st2 = st;
    st2.st_size++;
    assert_string_not_equal(s3_objmeta_fingerprint_etag(&st2, &f->a), base);
    st2 = st;
    st2.st_mtim.tv_nsec++;
    assert_string_not_equal(s3_objmeta_fingerprint_etag(&st2, &f->a), base);
    st2 = st;
    st2.st_mtim.tv_sec++;
    assert_string_not_equal(s3_objmeta_fingerprint_etag(&st2, &f->a), base);
    st2 = st;
    st2.st_ino++;
    assert_string_not_equal(s3_objmeta_fingerprint_etag(&st2, &f->a), base);
}

/* Each stored checksum maps to its GW_HASH_* bit and back; anything else is NONE/0. */
static void objmeta_cksum_mapping(void **state)
{
    static const struct {
        enum s3_cksum c;
        unsigned alg;
    } map[] = {
        {S3_CKSUM_CRC32, GW_HASH_CRC32},   {S3_CKSUM_CRC32C, GW_HASH_CRC32C},
        {S3_CKSUM_CRC64NVME, GW_HASH_CRC64NVME}, {S3_CKSUM_SHA1, GW_HASH_SHA1},
        {S3_CKSUM_SHA256, GW_HASH_SHA256},
    };

    (void)state;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        assert_int_equal(s3_objmeta_cksum_from_alg(map[i].alg), map[i].c);
        assert_int_equal(s3_objmeta_cksum_alg(map[i].c), map[i].alg);
    }
    /* The stored values are a file format: they must never move. */
    assert_int_equal(S3_CKSUM_CRC32, 1);
    assert_int_equal(S3_CKSUM_SHA256, 5);
    assert_int_equal(s3_objmeta_cksum_from_alg(0), S3_CKSUM_NONE);
    assert_int_equal(s3_objmeta_cksum_from_alg(GW_HASH_MD5), S3_CKSUM_NONE);
    assert_int_equal(s3_objmeta_cksum_from_alg(GW_HASH_CRC32 | GW_HASH_SHA1), S3_CKSUM_NONE);
    assert_int_equal(s3_objmeta_cksum_alg(S3_CKSUM_NONE), 0);
    assert_int_equal(s3_objmeta_cksum_alg((enum s3_cksum)6), 0);
    assert_int_equal(s3_objmeta_cksum_alg((enum s3_cksum)200), 0);
}

static void make_tmp_dir(const struct fixture *f)
{
    char path[128];

    snprintf(path, sizeof path, "%s/.unigw", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/.unigw/tmp", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
}

/* Records as the xattr user.unigw on the file itself. */
static void objmeta_xattr_store_load(void **state)
{
    struct fixture *f = *state;
    struct s3_objstore store;
    struct s3_objmeta in;
    struct s3_objmeta out;
    char path[128];
    char raw[64];
    int fd;

    make_tmp_dir(f);
    assert_int_equal(s3_objstore_open(&store, f->root), GW_OK);
    store.use_xattr = true;
    if (!s3_objstore_probe_xattr(&store)) {
        s3_objstore_close(&store);
        skip(); /* this filesystem has no user xattrs; the sidecar test covers it */
    }
    snprintf(path, sizeof path, "%s/obj", f->root);
    fd = make_file(path, 3);
    assert_int_equal(s3_objmeta_load(&store, fd, GW_STR("b"), GW_STR("obj"), &f->a, &out),
                     GW_ERR_NOT_FOUND);

    sample_fill(&in);
    assert_int_equal(s3_objmeta_store(&store, fd, GW_STR("b"), GW_STR("obj"), &in), GW_OK);
    assert_true(fgetxattr(fd, S3_OBJMETA_XATTR, raw, 0) > 0);
    assert_int_equal(s3_objmeta_load(&store, fd, GW_STR("b"), GW_STR("obj"), &f->a, &out),
                     GW_OK);
    assert_same_meta(&in, &out);

    /* The record travels with the inode, whatever name it has. */
    close(fd);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(s3_objmeta_load(&store, fd, GW_STR("x"), GW_STR("y"), &f->a, &out), GW_OK);
    assert_same_meta(&in, &out);
    close(fd);

    /* A damaged xattr is corrupt, not absent. */
    fd = open(path, O_RDWR);
    assert_int_equal(fsetxattr(fd, S3_OBJMETA_XATTR, "\x01", 1, 0), 0);
    assert_int_equal(s3_objmeta_load(&store, fd, GW_STR("b"), GW_STR("obj"), &f->a, &out),
                     GW_ERR_CORRUPT);
    /* s3_objmeta_forget leaves xattrs alone. */
    s3_objmeta_forget(&store, GW_STR("b"), GW_STR("obj"));
    assert_true(fgetxattr(fd, S3_OBJMETA_XATTR, raw, sizeof raw) == 1);
    close(fd);
    s3_objstore_close(&store);
}

/* Records as sidecar files <root>/.unigw/meta/<bucket>/<key>#unigw. */
static void objmeta_sidecar_store_load(void **state)
{
    struct fixture *f = *state;
    struct s3_objstore store;
    struct s3_objmeta in;
    struct s3_objmeta out;
    char path[256];
    struct stat st;

    assert_int_equal(s3_objstore_open(&store, f->root), GW_OK);
    sample_fill(&in);
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("a/b/c"), &f->a, &out),
                     GW_ERR_NOT_FOUND);
    assert_int_equal(s3_objmeta_store(&store, -1, GW_STR("bkt"), GW_STR("a/b/c"), &in), GW_OK);
    snprintf(path, sizeof path, "%s/.unigw/meta/bkt/a/b/c#unigw", f->root);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("a/b/c"), &f->a, &out),
                     GW_OK);
    assert_same_meta(&in, &out);

    /* Overwriting replaces the record. */
    in.n_user = 0;
    in.content_type = GW_STR("image/png");
    assert_int_equal(s3_objmeta_store(&store, -1, GW_STR("bkt"), GW_STR("a/b/c"), &in), GW_OK);
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("a/b/c"), &f->a, &out),
                     GW_OK);
    assert_same_meta(&in, &out);

    /* Other keys and buckets are separate; a marker "d/" is stored as "d#unigw". */
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt2"), GW_STR("a/b/c"), &f->a, &out),
                     GW_ERR_NOT_FOUND);
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("a/b"), &f->a, &out),
                     GW_ERR_NOT_FOUND);
    assert_int_equal(s3_objmeta_store(&store, -1, GW_STR("bkt"), GW_STR("d/"), &in), GW_OK);
    snprintf(path, sizeof path, "%s/.unigw/meta/bkt/d#unigw", f->root);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("d/"), &f->a, &out),
                     GW_OK);

    /* Forget removes the sidecar. */
    s3_objmeta_forget(&store, GW_STR("bkt"), GW_STR("a/b/c"));
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("a/b/c"), &f->a, &out),
                     GW_ERR_NOT_FOUND);
    /* Where a parent of the sidecar is a file, the record is simply absent. */
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("bkt"), GW_STR("d#unigw/x"), &f->a,
                                     &out),
                     GW_ERR_NOT_FOUND);
    assert_true(s3_objmeta_sidecar_exists(&store, GW_STR("bkt"), GW_STR("d/")));
    assert_false(s3_objmeta_sidecar_exists(&store, GW_STR("bkt"), GW_STR("a/b/c")));
    s3_objstore_close(&store);
}

/* A symlink planted in the sidecar tree is never followed: records behind
 * it are neither read, written nor removed. */
static void objmeta_sidecar_symlink(void **state)
{
    struct fixture *f = *state;
    struct s3_objstore store;
    struct s3_objmeta in;
    struct s3_objmeta out;
    char path[256];
    char target[256];
    struct stat st;

    assert_int_equal(s3_objstore_open(&store, f->root), GW_OK);
    sample_fill(&in);
    /* A real record outside the tree, reachable only through a link. */
    snprintf(target, sizeof target, "%s/outside", f->root);
    assert_int_equal(mkdir(target, 0755), 0);
    assert_int_equal(s3_objmeta_store(&store, -1, GW_STR("real"), GW_STR("k"), &in), GW_OK);
    snprintf(path, sizeof path, "%s/.unigw/meta/real/k#unigw", f->root);
    snprintf(target, sizeof target, "%s/outside/k#unigw", f->root);
    assert_int_equal(rename(path, target), 0);
    snprintf(path, sizeof path, "%s/.unigw/meta/lnk", f->root);
    snprintf(target, sizeof target, "%s/outside", f->root);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(s3_objmeta_load(&store, -1, GW_STR("lnk"), GW_STR("k"), &f->a, &out),
                     GW_ERR_NOT_FOUND);
    assert_false(s3_objmeta_sidecar_exists(&store, GW_STR("lnk"), GW_STR("k")));
    assert_int_not_equal(s3_objmeta_store(&store, -1, GW_STR("lnk"), GW_STR("new"), &in), GW_OK);
    s3_objmeta_forget(&store, GW_STR("lnk"), GW_STR("k"));
    snprintf(path, sizeof path, "%s/outside/k#unigw", f->root);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/outside/new#unigw", f->root);
    assert_int_not_equal(stat(path, &st), 0);
    s3_objstore_close(&store);
}

/* The probe needs <root>/.unigw/tmp and leaves nothing behind. */
static void objmeta_probe(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct stat st;
    struct s3_objstore store;

    assert_int_equal(s3_objstore_open(&store, f->root), GW_OK);
    assert_false(s3_objstore_probe_xattr(&store));
    make_tmp_dir(f);
    (void)s3_objstore_probe_xattr(&store); /* either answer is valid here */
    s3_objstore_close(&store);
    snprintf(path, sizeof path, "%s/.unigw/tmp/xattr-probe-%d", f->root, (int)getpid());
    assert_int_not_equal(stat(path, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(objmeta_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_too_new, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_corrupt_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_bit_flips, setup, teardown),
        cmocka_unit_test(objmeta_encode_too_large),
        cmocka_unit_test_setup_teardown(objmeta_fingerprint_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_fingerprint_etag, setup, teardown),
        cmocka_unit_test(objmeta_cksum_mapping),
        cmocka_unit_test_setup_teardown(objmeta_xattr_store_load, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_sidecar_store_load, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_sidecar_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(objmeta_probe, setup, teardown),
    };

    return cmocka_run_group_tests_name("s3/objmeta", tests, NULL, NULL);
}
