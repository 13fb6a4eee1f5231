/* The background MD5 thread: a mutex-protected FIFO of "bucket\0key"
 * strings, one worker thread, a condition variable.  See rehash.h.  The
 * file is opened beneath its bucket's fd with no symlink on the way
 * (s3/store.h), so the record can only land on a file of the bucket. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "path.h"
#include "rehash.h"
#include "store.h"
#include "unigw/alloc.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/log.h"

#define REHASH_BUF_SIZE (1u << 20)

struct rehash_item {
    struct rehash_item *next;
    size_t bucket_len;
    size_t key_len;
    char name[]; /* bucket, NUL, key, NUL */
};

struct s3_rehash {
    const struct s3_objstore *store;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct rehash_item *head;
    struct rehash_item *tail;
    size_t n_queued;
    bool stopping;
    bool paused; /* s3__rehash_pause */
    unsigned long n_done;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int hash_fd(int fd, unsigned char md5[GW_MD5_LEN])
{
    char *buf = gw_malloc(REHASH_BUF_SIZE);
    struct gw_hash h;
    struct gw_digests d;
    ssize_t n;

    gw_hash_init(&h, GW_HASH_MD5);
    while ((n = read(fd, buf, REHASH_BUF_SIZE)) > 0) {
        gw_hash_update(&h, buf, (size_t)n);
    }
    gw_hash_final(&h, &d);
    gw_hash_cleanup(&h);
    gw_free(buf);
    memcpy(md5, d.md5, GW_MD5_LEN);
    return n < 0 ? GW_ERR_IO : GW_OK;
}

/* Open the plain file @key beneath its bucket directory, never through a
 * symlink (the record is then written on this fd, so on this file only) and
 * never blocking on a FIFO planted under its name; fstat into @st. */
static int open_object(const struct s3_objstore *store, struct gw_str bucket, struct gw_str key,
                       int *fd, struct stat *st)
{
    char rel[S3_PATH_MAX];
    int bfd = -1;
    int rv = s3_path_key_rel(rel, sizeof rel, key);

    if (rv == 0 && s3_path_key_is_marker(key)) {
        rv = GW_ERR_NOT_FOUND;
    }
    if (rv == 0) {
        rv = s3__store_bucket(store, bucket, &bfd);
    }
    if (rv != 0) {
        return rv == GW_ERR_NO_SUCH_BUCKET ? GW_ERR_NOT_FOUND : rv;
    }
    *fd = s3__store_open_file(bfd, rel, false, st);
    close(bfd);
    return *fd < 0 ? GW_ERR_NOT_FOUND : GW_OK;
}

int s3_rehash_one(const struct s3_objstore *store, struct gw_str bucket, struct gw_str key)
{
    struct s3_objmeta m;
    struct stat before;
    struct stat after;
    int fd = -1;
    int rv = open_object(store, bucket, key, &fd, &before);

    if (rv != 0) {
        return rv;
    }
    memset(&m, 0, sizeof m);
    rv = hash_fd(fd, m.md5);
    if (rv == 0 && (fstat(fd, &after) != 0 || !same_file(&before, &after))) {
        rv = GW_ERR_AGAIN; /* written to while we read it: try again on a later access */
    }
    if (rv == 0) {
        s3_objmeta_set_fingerprint(&m, &after);
        rv = s3_objmeta_store(store, fd, bucket, key, &m);
    }
    close(fd);
    return rv;
}

static struct rehash_item *take(struct s3_rehash *r)
{
    struct rehash_item *it;

    pthread_mutex_lock(&r->mu);
    while ((r->head == NULL || r->paused) && !r->stopping) {
        pthread_cond_wait(&r->cond, &r->mu);
    }
    it = r->stopping ? NULL : r->head;
    if (it != NULL) {
        r->head = it->next;
        if (r->head == NULL) {
            r->tail = NULL;
        }
        r->n_queued--;
    }
    pthread_mutex_unlock(&r->mu);
    return it;
}

static void *rehash_main(void *arg)
{
    struct s3_rehash *r = arg;
    struct rehash_item *it;

    while ((it = take(r)) != NULL) {
        struct gw_str bucket = gw_str_make(it->name, it->bucket_len);
        struct gw_str key = gw_str_make(it->name + it->bucket_len + 1, it->key_len);
        int rv = s3_rehash_one(r->store, bucket, key);
        if (rv == 0) {
            __atomic_add_fetch(&r->n_done, 1, __ATOMIC_RELAXED);
        } else if (rv != GW_ERR_NOT_FOUND && rv != GW_ERR_AGAIN) {
            GW_LOG(GW_LOG_WARN, "s3", "msg=\"background md5 of %s/%s: %s\"", it->name,
                   it->name + it->bucket_len + 1, gw_err_name(rv));
        }
        gw_free(it);
    }
    return NULL;
}

int s3_rehash_create(const struct s3_objstore *store, struct s3_rehash **out)
{
    struct s3_rehash *r = gw_calloc(1, sizeof *r);

    r->store = store;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, rehash_main, r) != 0) {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->mu);
        gw_free(r);
        return GW_ERR_NOMEM;
    }
    *out = r;
    return GW_OK;
}

void s3_rehash_destroy(struct s3_rehash *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    while (r->head != NULL) {
        struct rehash_item *next = r->head->next;
        gw_free(r->head);
        r->head = next;
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    gw_free(r);
}

static bool is_queued(struct s3_rehash *r, struct gw_str bucket, struct gw_str key)
{
    for (struct rehash_item *it = r->head; it != NULL; it = it->next) {
        if (gw_str_eq(gw_str_make(it->name, it->bucket_len), bucket) &&
            gw_str_eq(gw_str_make(it->name + it->bucket_len + 1, it->key_len), key)) {
            return true;
        }
    }
    return false;
}

void s3_rehash_enqueue(struct s3_rehash *r, struct gw_str bucket, struct gw_str key)
{
    struct rehash_item *it;

    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    /* The linear duplicate scan is bounded by S3_REHASH_QUEUE_MAX. */
    if (r->stopping || r->n_queued >= S3_REHASH_QUEUE_MAX || is_queued(r, bucket, key)) {
        pthread_mutex_unlock(&r->mu);
        return;
    }
    it = gw_malloc(sizeof *it + bucket.len + key.len + 2);
    it->next = NULL;
    it->bucket_len = bucket.len;
    it->key_len = key.len;
    memcpy(it->name, bucket.p, bucket.len);
    it->name[bucket.len] = '\0';
    memcpy(it->name + bucket.len + 1, key.p, key.len);
    it->name[bucket.len + 1 + key.len] = '\0';
    if (r->tail != NULL) {
        r->tail->next = it;
    } else {
        r->head = it;
    }
    r->tail = it;
    r->n_queued++;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

unsigned long s3_rehash_done(struct s3_rehash *r)
{
    return __atomic_load_n(&r->n_done, __ATOMIC_RELAXED);
}

void s3__rehash_pause(struct s3_rehash *r, bool on)
{
    pthread_mutex_lock(&r->mu);
    r->paused = on;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
}
