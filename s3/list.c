/* The listing engine (see list.h for the contract).
 *
 * Happy path: reopen the bucket directory's fd for reading (the caller
 * opened it O_NOFOLLOW beneath the mount root), get its sorted listing
 * (from the cache when the directory's fingerprint matches, else readdir +
 * qsort), binary-search the first entry that can matter (prefix,
 * start-after), then
 * walk entries in order, descending depth first with openat(O_NOFOLLOW) so a
 * directory swapped for a symlink is never followed.  Each candidate key goes
 * through one filter (prefix, delimiter roll-up into a common prefix,
 * start-after, max-keys) and only keys that are returned are stat'ed.
 * Subtrees are skipped whole when they sort entirely before start-after,
 * cannot match the prefix, or roll up into one common prefix.
 *
 * No path is resolved here: every directory is opened from its parent's fd,
 * and every entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW).
 *
 * Failure modes: the bucket directory unreadable (IO), fd exhaustion (IO).
 * Entries and subdirectories that vanish or change type under us are
 * skipped: POSIX writers run concurrently. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "unigw/alloc.h"
#include "unigw/buf.h"
#include "unigw/err.h"

#include "list.h"
#include "path.h"

/* One directory entry of a listing: its sort name is names[off..off+len),
 * which ends with '/' for a subdirectory. */
struct dl_ent {
    uint32_t off;
    uint16_t len;
    bool is_dir;
};

/* A sorted directory listing; shared through the cache, hence counted.
 * Holders: the cache while in_cache, and every walk using it. */
struct dirlist {
    struct dirlist *prev;
    struct dirlist *next;
    uint64_t dev;
    uint64_t ino;
    int64_t mtime_ns;
    int64_t ctime_ns;
    unsigned refs; /* under the cache mutex when shared */
    bool in_cache;
    size_t n;
    struct dl_ent *ents;
    char *names;
    size_t bytes;
};

struct s3_list_cache {
    pthread_mutex_t mu;
    struct dirlist *head; /* most recently used */
    struct dirlist *tail;
    size_t n_dirs;
    size_t bytes;
    size_t max_dirs;
    size_t max_bytes;
    int64_t racy_ns;
    uint64_t hits;
    uint64_t misses;
};

/* Longest key prefix we build: a key plus one more segment and its '/'. */
#define WALK_KEY_CAP (S3_KEY_MAX_LEN + S3_SEGMENT_MAX_LEN + 2)

struct walk {
    const struct s3_list_params *p;
    struct gw_arena *a;
    struct s3_list_result *out;
    struct s3_list_cache *cache;
    size_t max_keys;
    char key[WALK_KEY_CAP]; /* the current directory's key prefix, then an entry */
    size_t key_len;
    char last_cp[WALK_KEY_CAP];
    size_t last_cp_len;
    bool has_last_cp;
    bool stop;
};

static int64_t ts_ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct gw_str ent_name(const struct dirlist *dl, size_t i)
{
    return gw_str_make(dl->names + dl->ents[i].off, dl->ents[i].len);
}

static int ent_cmp(const void *x, const void *y, void *arg)
{
    const struct dl_ent *a = x;
    const struct dl_ent *b = y;
    const char *names = arg;

    return gw_str_cmp(gw_str_make(names + a->off, a->len), gw_str_make(names + b->off, b->len));
}

static void dirlist_free(struct dirlist *dl)
{
    if (dl != NULL) {
        gw_free(dl->ents);
        gw_free(dl->names);
        gw_free(dl);
    }
}

/* File or directory?  0 for anything else (or a vanished entry). */
static int ent_kind(int dir_fd, const struct dirent *e)
{
    struct stat st;

    if (e->d_type == DT_DIR || e->d_type == DT_REG) {
        return e->d_type;
    }
    if (e->d_type != DT_UNKNOWN || fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return 0;
    }
    return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : 0;
}

/* Append one valid entry to the listing being built. */
static void dirlist_add(struct dirlist *dl, struct gw_buf *names, size_t *cap, const char *name,
                        size_t len, bool is_dir)
{
    if (dl->n == *cap) {
        *cap = *cap == 0 ? 64 : *cap * 2;
        dl->ents = gw_realloc(dl->ents, *cap * sizeof dl->ents[0]);
    }
    dl->ents[dl->n].off = (uint32_t)names->len;
    dl->ents[dl->n].len = (uint16_t)(len + (is_dir ? 1 : 0));
    dl->ents[dl->n].is_dir = is_dir;
    dl->n++;
    gw_buf_append(names, name, len);
    if (is_dir) {
        gw_buf_append_byte(names, '/');
    }
}

/* Read and sort the directory open at @fd.  GW_ERR_IO when it cannot be read. */
static int dirlist_read(int fd, struct dirlist **out)
{
    struct dirlist *dl = gw_calloc(1, sizeof *dl);
    struct gw_buf names = GW_BUF_INIT;
    size_t cap = 0;
    struct dirent *e;
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

    if (d == NULL) {
        if (dfd >= 0) {
            close(dfd);
        }
        dirlist_free(dl);
        return GW_ERR_IO;
    }
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        int kind;
        if ((len == 1 && e->d_name[0] == '.') || (len == 2 && memcmp(e->d_name, "..", 2) == 0) ||
            len > S3_SEGMENT_MAX_LEN || !s3__utf8_check(gw_str_make(e->d_name, len), NULL)) {
            continue;
        }
        kind = ent_kind(fd, e);
        if (kind != 0) {
            dirlist_add(dl, &names, &cap, e->d_name, len, kind == DT_DIR);
        }
    }
    closedir(d);
    dl->names = names.data;
    dl->bytes = names.len + dl->n * sizeof dl->ents[0] + sizeof *dl;
    if (dl->n > 1) {
        qsort_r(dl->ents, dl->n, sizeof dl->ents[0], ent_cmp, dl->names);
    }
    *out = dl;
    return GW_OK;
}

/* Take @dl out of the LRU list (no accounting). */
static void lru_remove(struct s3_list_cache *c, struct dirlist *dl)
{
    if (dl->prev != NULL) {
        dl->prev->next = dl->next;
    } else {
        c->head = dl->next;
    }
    if (dl->next != NULL) {
        dl->next->prev = dl->prev;
    } else {
        c->tail = dl->prev;
    }
    dl->prev = dl->next = NULL;
}

static void lru_push_front(struct s3_list_cache *c, struct dirlist *dl)
{
    dl->prev = NULL;
    dl->next = c->head;
    if (c->head != NULL) {
        c->head->prev = dl;
    } else {
        c->tail = dl;
    }
    c->head = dl;
}

/* Evict @dl (under the lock); the cache's reference goes with it. */
static void cache_evict(struct s3_list_cache *c, struct dirlist *dl)
{
    lru_remove(c, dl);
    dl->in_cache = false;
    c->n_dirs--;
    c->bytes -= dl->bytes;
    if (--dl->refs == 0) {
        dirlist_free(dl);
    }
}

/* Find the listing of @st (under the lock) and take a reference; a stale
 * listing of the same directory is evicted on the way. */
static struct dirlist *cache_lookup(struct s3_list_cache *c, const struct stat *st)
{
    struct dirlist *dl = c->head;

    while (dl != NULL) {
        struct dirlist *next = dl->next;
        if (dl->dev == (uint64_t)st->st_dev && dl->ino == (uint64_t)st->st_ino) {
            if (dl->mtime_ns == ts_ns(st->st_mtim) && dl->ctime_ns == ts_ns(st->st_ctim)) {
                break;
            }
            cache_evict(c, dl);
        }
        dl = next;
    }
    if (dl == NULL) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    lru_remove(c, dl);
    lru_push_front(c, dl);
    dl->refs++;
    return dl;
}

/* Insert @dl (which the caller holds one reference to) under the lock,
 * evicting from the tail to stay within bounds. */
static void cache_insert(struct s3_list_cache *c, struct dirlist *dl)
{
    if (dl->bytes > c->max_bytes || c->max_dirs == 0) {
        return;
    }
    while (c->tail != NULL && (c->n_dirs + 1 > c->max_dirs || c->bytes + dl->bytes > c->max_bytes)) {
        cache_evict(c, c->tail);
    }
    dl->refs++;
    dl->in_cache = true;
    c->n_dirs++;
    c->bytes += dl->bytes;
    lru_push_front(c, dl);
}

static void dirlist_release(struct s3_list_cache *c, struct dirlist *dl)
{
    bool last;

    if (c == NULL) {
        dirlist_free(dl);
        return;
    }
    pthread_mutex_lock(&c->mu);
    last = --dl->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) {
        dirlist_free(dl);
    }
}

static bool same_fingerprint(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           ts_ns(a->st_mtim) == ts_ns(b->st_mtim) && ts_ns(a->st_ctim) == ts_ns(b->st_ctim);
}

/* Cache a fresh listing only if the directory did not change while we read
 * it and did not change so recently that a later change could share its
 * timestamps. */
static bool cacheable(const struct s3_list_cache *c, int fd, const struct stat *before)
{
    struct stat after;
    struct timespec now;
    int64_t changed;

    if (fstat(fd, &after) != 0 || !same_fingerprint(before, &after)) {
        return false;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    changed = ts_ns(after.st_mtim) > ts_ns(after.st_ctim) ? ts_ns(after.st_mtim)
                                                          : ts_ns(after.st_ctim);
    return ts_ns(now) - changed >= c->racy_ns;
}

/* The sorted listing of the directory open at @fd (whose fstat is @st). */
static int dirlist_get(struct s3_list_cache *c, int fd, const struct stat *st,
                       struct dirlist **out)
{
    struct dirlist *dl = NULL;
    int rv;

    if (c != NULL) {
        pthread_mutex_lock(&c->mu);
        dl = cache_lookup(c, st);
        pthread_mutex_unlock(&c->mu);
        if (dl != NULL) {
            *out = dl;
            return GW_OK;
        }
    }
    rv = dirlist_read(fd, &dl);
    if (rv != 0) {
        return rv;
    }
    dl->refs = 1;
    dl->dev = (uint64_t)st->st_dev;
    dl->ino = (uint64_t)st->st_ino;
    dl->mtime_ns = ts_ns(st->st_mtim);
    dl->ctime_ns = ts_ns(st->st_ctim);
    if (c != NULL && cacheable(c, fd, st)) {
        pthread_mutex_lock(&c->mu);
        cache_insert(c, dl);
        pthread_mutex_unlock(&c->mu);
    }
    *out = dl;
    return GW_OK;
}

struct s3_list_cache *s3_list_cache_create(size_t max_dirs, size_t max_bytes, int64_t racy_ns)
{
    struct s3_list_cache *c = gw_calloc(1, sizeof *c);

    pthread_mutex_init(&c->mu, NULL);
    c->max_dirs = max_dirs;
    c->max_bytes = max_bytes;
    c->racy_ns = racy_ns;
    return c;
}

void s3_list_cache_destroy(struct s3_list_cache *c)
{
    if (c == NULL) {
        return;
    }
    while (c->head != NULL) {
        cache_evict(c, c->head);
    }
    pthread_mutex_destroy(&c->mu);
    gw_free(c);
}

void s3_list_cache_stats(struct s3_list_cache *c, uint64_t *hits, uint64_t *misses,
                         size_t *n_dirs)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    *n_dirs = c->n_dirs;
    pthread_mutex_unlock(&c->mu);
}

/* ---- the walk ---------------------------------------------------------- */

static struct gw_str walk_key(const struct walk *w)
{
    return gw_str_make(w->key, w->key_len);
}

static struct s3_list_entry *walk_push(struct walk *w, struct gw_str key)
{
    struct s3_list_entry *e = &w->out->entries[w->out->n_entries++];

    memset(e, 0, sizeof *e);
    e->key = gw_arena_str(w->a, key);
    return e;
}

/* Whether the listing is full; if so, a further entry makes it truncated. */
static bool walk_full(struct walk *w)
{
    if (w->out->n_entries < w->max_keys) {
        return false;
    }
    w->out->is_truncated = true;
    w->stop = true;
    return true;
}

/* A key rolled up into common prefix @cp: return it once, if past start-after. */
static void emit_common_prefix(struct walk *w, struct gw_str cp)
{
    if (w->has_last_cp && gw_str_eq(cp, gw_str_make(w->last_cp, w->last_cp_len))) {
        return;
    }
    memcpy(w->last_cp, cp.p, cp.len);
    w->last_cp_len = cp.len;
    w->has_last_cp = true;
    if (gw_str_cmp(cp, w->p->start_after) <= 0 || walk_full(w)) {
        return;
    }
    walk_push(w, cp)->is_common_prefix = true;
}

/* The common prefix @key rolls up into, if any (delimiter after the prefix). */
static bool rolls_up(const struct walk *w, struct gw_str key, struct gw_str *cp)
{
    struct gw_str rest;
    ptrdiff_t at;

    if (w->p->delimiter.len == 0 || key.len <= w->p->prefix.len) {
        return false;
    }
    rest = gw_str_make(key.p + w->p->prefix.len, key.len - w->p->prefix.len);
    at = gw_str_find(rest, w->p->delimiter);
    if (at < 0) {
        return false;
    }
    *cp = gw_str_make(key.p, w->p->prefix.len + (size_t)at + w->p->delimiter.len);
    return true;
}

static void fill_stat(struct s3_list_entry *e, const struct stat *st)
{
    e->size = (uint64_t)st->st_size;
    e->mtime_ns = ts_ns(st->st_mtim);
    e->ctime_ns = ts_ns(st->st_ctim);
    e->ino = (uint64_t)st->st_ino;
    e->dev = (uint64_t)st->st_dev;
}

/* Offer the object @key (the file @name in @dir_fd, or with @name NULL the
 * directory marker whose fstat is @dir_st). */
static void emit_object(struct walk *w, struct gw_str key, int dir_fd, const char *name,
                        const struct stat *dir_st)
{
    struct gw_str cp;
    struct stat st;
    struct s3_list_entry *e;

    if (key.len > S3_KEY_MAX_LEN || !gw_str_has_prefix(key, w->p->prefix)) {
        return;
    }
    if (rolls_up(w, key, &cp)) {
        emit_common_prefix(w, cp);
        return;
    }
    if (gw_str_cmp(key, w->p->start_after) <= 0) {
        return;
    }
    if (name != NULL) {
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            return; /* vanished or replaced since readdir */
        }
    } else {
        st = *dir_st;
        st.st_size = 0;
    }
    if (walk_full(w)) {
        return;
    }
    e = walk_push(w, key);
    e->is_dir = name == NULL;
    fill_stat(e, &st);
}

/* The smallest sort name in the directory at the walk's key that can still
 * matter: the rest of the prefix or of start-after beyond the directory's
 * key, whichever is larger (empty: no bound). */
static struct gw_str dir_bound(const struct walk *w)
{
    struct gw_str k = walk_key(w);
    struct gw_str p = w->p->prefix;
    struct gw_str s = w->p->start_after;
    struct gw_str bound = gw_str_make("", 0);

    if (gw_str_has_prefix(p, k)) {
        bound = gw_str_make(p.p + k.len, p.len - k.len);
    }
    if (gw_str_has_prefix(s, k) && gw_str_cmp(gw_str_make(s.p + k.len, s.len - k.len), bound) > 0) {
        bound = gw_str_make(s.p + k.len, s.len - k.len);
    }
    return bound;
}

/* Binary search for the first entry >= @bound, stepping back onto the one
 * subdirectory "n/" that @bound may lie inside. */
static size_t first_index(const struct dirlist *dl, struct gw_str bound)
{
    size_t lo = 0;
    size_t hi = dl->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (gw_str_cmp(ent_name(dl, mid), bound) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0 && dl->ents[lo - 1].is_dir && gw_str_has_prefix(bound, ent_name(dl, lo - 1))) {
        lo--;
    }
    return lo;
}

/* True when entry @i (in the directory whose key is the first @base bytes of
 * w->key) rolls up into the last common prefix: it need not be looked at. */
static bool in_last_cp(const struct walk *w, const struct dirlist *dl, size_t i, size_t base)
{
    struct gw_str cp = gw_str_make(w->last_cp, w->last_cp_len);
    struct gw_str k = gw_str_make(w->key, base);

    if (!w->has_last_cp) {
        return false;
    }
    if (cp.len <= base) {
        return gw_str_has_prefix(k, cp);
    }
    return memcmp(k.p, cp.p, base) == 0 &&
           gw_str_has_prefix(ent_name(dl, i), gw_str_make(cp.p + base, cp.len - base));
}

static int visit_dir(struct walk *w, int fd, bool is_root);

/* A subdirectory entry (the walk's key ends with its '/'): skip it, roll it
 * up into a common prefix, or descend. */
static int visit_subdir(struct walk *w, int fd, struct gw_str name)
{
    struct gw_str x = walk_key(w);
    struct gw_str cp;
    char cname[S3_SEGMENT_MAX_LEN + 1];
    int sub;
    int rv;

    if (gw_str_cmp(x, w->p->start_after) < 0 && !gw_str_has_prefix(w->p->start_after, x)) {
        return GW_OK; /* the whole subtree sorts before start-after */
    }
    if (gw_str_has_prefix(x, w->p->prefix) && rolls_up(w, x, &cp)) {
        emit_common_prefix(w, cp);
        return GW_OK;
    }
    if (x.len > S3_KEY_MAX_LEN) {
        return GW_OK;
    }
    memcpy(cname, name.p, name.len - 1);
    cname[name.len - 1] = '\0';
    sub = openat(fd, cname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        /* Vanished, replaced by a file or a symlink, or unreadable: skip it. */
        return (errno == EMFILE || errno == ENFILE || errno == ENOMEM) ? GW_ERR_IO : GW_OK;
    }
    rv = visit_dir(w, sub, false);
    close(sub);
    return rv;
}

static int visit_entries(struct walk *w, int fd, const struct dirlist *dl)
{
    size_t base = w->key_len;
    int rv = GW_OK;

    for (size_t i = first_index(dl, dir_bound(w)); i < dl->n && !w->stop && rv == 0; i++) {
        struct gw_str name = ent_name(dl, i);
        struct gw_str x;
        char cname[S3_SEGMENT_MAX_LEN + 1];
        if (in_last_cp(w, dl, i, base)) {
            continue;
        }
        memcpy(w->key + base, name.p, name.len);
        w->key_len = base + name.len;
        x = walk_key(w);
        if (!gw_str_has_prefix(x, w->p->prefix) && !gw_str_has_prefix(w->p->prefix, x)) {
            if (gw_str_cmp(x, w->p->prefix) > 0) {
                break; /* every later entry sorts after the prefix too */
            }
        } else if (dl->ents[i].is_dir) {
            rv = visit_subdir(w, fd, name);
        } else {
            memcpy(cname, name.p, name.len);
            cname[name.len] = '\0';
            emit_object(w, x, fd, cname, NULL);
        }
        w->key_len = base;
    }
    w->key_len = base;
    return rv;
}

/* Offer the directory itself as the marker object "dir/" when it is empty or
 * carries a marker record (asked only when the key could be returned). */
static void visit_marker(struct walk *w, int fd, const struct stat *st, const struct dirlist *dl)
{
    struct gw_str k = walk_key(w);
    bool is_marker = dl->n == 0;

    if (!gw_str_has_prefix(k, w->p->prefix) || gw_str_cmp(k, w->p->start_after) <= 0) {
        return;
    }
    if (!is_marker && w->p->is_marker != NULL) {
        is_marker = w->p->is_marker(fd, k, w->p->is_marker_arg);
    } else if (!is_marker) {
        is_marker = fgetxattr(fd, S3_LIST_MARKER_XATTR, NULL, 0) >= 0;
    }
    if (is_marker) {
        emit_object(w, k, fd, NULL, st);
    }
}

/* List the directory open at @fd, whose key prefix is in w->key. */
static int visit_dir(struct walk *w, int fd, bool is_root)
{
    struct stat st;
    struct dirlist *dl = NULL;
    int rv;

    if (fstat(fd, &st) != 0 || dirlist_get(w->cache, fd, &st, &dl) != 0) {
        return is_root ? GW_ERR_IO : GW_OK;
    }
    if (!is_root) {
        visit_marker(w, fd, &st, dl);
    }
    rv = visit_entries(w, fd, dl);
    dirlist_release(w->cache, dl);
    return rv;
}

int s3_list_run(const struct s3_list_params *p, struct gw_arena *a, struct s3_list_result *out)
{
    struct walk *w;
    int fd;
    int rv;

    memset(out, 0, sizeof *out);
    fd = openat(p->bucket_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return GW_ERR_IO;
    }
    w = gw_arena_zalloc(a, sizeof *w);
    w->p = p;
    w->a = a;
    w->out = out;
    w->cache = p->cache;
    w->max_keys = p->max_keys > S3_LIST_MAX_KEYS ? S3_LIST_MAX_KEYS : p->max_keys;
    out->entries = gw_arena_alloc(a, (w->max_keys + 1) * sizeof out->entries[0]);
    rv = w->max_keys == 0 ? GW_OK : visit_dir(w, fd, true);
    close(fd);
    if (rv == 0 && out->is_truncated && out->n_entries > 0) {
        out->next_marker = out->entries[out->n_entries - 1].key;
    }
    return rv;
}

static int bucket_cmp(const void *x, const void *y)
{
    const struct s3_bucket_info *a = x;
    const struct s3_bucket_info *b = y;

    return gw_str_cmp(a->name, b->name);
}

/* One top-level entry: a bucket if it is a real directory with a valid name. */
static bool bucket_entry(int root_fd, const struct dirent *e, struct gw_arena *a,
                         struct s3_bucket_info *info)
{
    struct gw_str name = gw_str_c(e->d_name);
    struct stat st;

    if (s3_path_bucket_check_existing(name) != 0) {
        return false;
    }
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) {
        return false;
    }
    if (fstatat(root_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
        return false;
    }
    info->name = gw_arena_str(a, name);
    info->mtime_ns = ts_ns(st.st_mtim);
    info->ctime_ns = ts_ns(st.st_ctim);
    return true;
}

int s3_list_buckets(int root_fd, struct gw_arena *a, struct s3_bucket_info **out, size_t *n)
{
    int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct s3_bucket_info *v = NULL;
    size_t cap = 0;
    struct dirent *e;

    *out = NULL;
    *n = 0;
    if (d == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return GW_ERR_IO;
    }
    while ((e = readdir(d)) != NULL) {
        struct s3_bucket_info info;
        if (!bucket_entry(dirfd(d), e, a, &info)) {
            continue;
        }
        if (*n == cap) {
            struct s3_bucket_info *nv;
            cap = cap == 0 ? 16 : cap * 2;
            nv = gw_arena_alloc(a, cap * sizeof *nv);
            if (*n > 0) {
                memcpy(nv, v, *n * sizeof *nv);
            }
            v = nv;
        }
        v[(*n)++] = info;
    }
    closedir(d);
    if (*n > 1) {
        qsort(v, *n, sizeof *v, bucket_cmp);
    }
    *out = v;
    return GW_OK;
}
