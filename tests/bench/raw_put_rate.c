/* raw_put_rate: how many small files per second this file system makes durable, with
 * no server in the way; the reference of the "PUT 4 KiB new keys" row of `make bench`.
 *
 *   raw_put_rate DIR [--threads 1,8,64] [--seconds 3] [--size 4096]
 *
 * Happy path: for every thread count in turn, that many threads each repeat, until the
 * time is up, what a durable PUT of a new key does at the least:
 *   open(DIR/.tmp-T-I, O_CREAT|O_EXCL) + write SIZE bytes + fsync + close
 *   + rename onto DIR/o-T-I + fsync(DIR)
 * all in the one directory DIR (the same directory, so the directory fsyncs of the
 * threads meet as the PUTs of one bucket do).  Each count prints one line
 * "threads=N ops=K seconds=S ops_per_s=R", and the end "best_threads=N best_ops_per_s=R".
 * The files of a count are removed before the next one starts (not timed).
 *
 * Failure modes: any failed system call prints it and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define MAX_COUNTS 16

struct rate_run {
    const char *dir;
    size_t size;
    const char *buf;
    double deadline;
    pthread_barrier_t go; /* the threads and main: the clock starts when all are ready */
};

struct rate_thread {
    pthread_t thread;
    struct rate_run *run;
    unsigned index;
    uint64_t n_ops;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "raw_put_rate: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

/* One durable new file: create, write, fsync, close, rename, fsync the directory. */
static void put_one(const struct rate_run *r, int dir_fd, unsigned t, uint64_t i)
{
    char tmp[4096], dst[4096];
    int fd;

    snprintf(tmp, sizeof tmp, "%s/.tmp-%u-%llu", r->dir, t, (unsigned long long)i);
    snprintf(dst, sizeof dst, "%s/o-%u-%llu", r->dir, t, (unsigned long long)i);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        die("open", tmp);
    }
    for (size_t done = 0; done < r->size;) {
        ssize_t n = write(fd, r->buf + done, r->size - done);

        if (n < 0 && errno != EINTR) {
            die("write", tmp);
        }
        done += n > 0 ? (size_t)n : 0;
    }
    if (fsync(fd) != 0) {
        die("fsync", tmp);
    }
    close(fd);
    if (rename(tmp, dst) != 0) {
        die("rename", tmp);
    }
    if (fsync(dir_fd) != 0) {
        die("fsync", r->dir);
    }
}

static void *thread_main(void *arg)
{
    struct rate_thread *t = arg;
    int dir_fd = open(t->run->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dir_fd < 0) {
        die("open", t->run->dir);
    }
    pthread_barrier_wait(&t->run->go);
    while (now_s() < t->run->deadline) {
        put_one(t->run, dir_fd, t->index, t->n_ops);
        t->n_ops++;
    }
    close(dir_fd);
    return NULL;
}

/* Remove what a count left (not timed). */
static void cleanup(const struct rate_thread *ts, unsigned n, const char *dir)
{
    char path[4096];

    for (unsigned t = 0; t < n; t++) {
        for (uint64_t i = 0; i < ts[t].n_ops; i++) {
            snprintf(path, sizeof path, "%s/o-%u-%llu", dir, t, (unsigned long long)i);
            if (unlink(path) != 0) {
                die("unlink", path);
            }
        }
    }
}

/* Run @n threads for @seconds; ops per second. */
static double run_count(struct rate_run *r, unsigned n, double seconds)
{
    struct rate_thread *ts = calloc(n, sizeof *ts);
    uint64_t total = 0;
    double start, secs, rate;

    if (ts == NULL) {
        die("calloc", "threads");
    }
    pthread_barrier_init(&r->go, NULL, n + 1);
    for (unsigned i = 0; i < n; i++) {
        ts[i] = (struct rate_thread){.run = r, .index = i};
        if (pthread_create(&ts[i].thread, NULL, thread_main, &ts[i]) != 0) {
            die("pthread_create", "");
        }
    }
    start = now_s();
    r->deadline = start + seconds;
    pthread_barrier_wait(&r->go);
    for (unsigned i = 0; i < n; i++) {
        pthread_join(ts[i].thread, NULL);
        total += ts[i].n_ops;
    }
    pthread_barrier_destroy(&r->go);
    secs = now_s() - start;
    rate = (double)total / secs;
    printf("threads=%u ops=%llu seconds=%.2f ops_per_s=%.1f\n", n, (unsigned long long)total,
           secs, rate);
    fflush(stdout);
    cleanup(ts, n, r->dir);
    free(ts);
    return rate;
}

static int parse_counts(const char *s, unsigned *out, unsigned *n)
{
    char *end;

    *n = 0;
    for (;;) {
        unsigned long v = strtoul(s, &end, 10);

        if (end == s || v == 0 || v > MAX_THREADS || *n == MAX_COUNTS) {
            return -1;
        }
        out[(*n)++] = (unsigned)v;
        if (*end == '\0') {
            return 0;
        }
        if (*end != ',') {
            return -1;
        }
        s = end + 1;
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: raw_put_rate DIR [--threads 1,8,64] [--seconds 3] [--size 4096]\n");
    return 2;
}

/* The options after DIR into @r, @counts and @seconds; false on anything unknown. */
static bool parse_args(int argc, char **argv, struct rate_run *r, unsigned *counts,
                       unsigned *n_counts, double *seconds)
{
    if (argc % 2 != 0) {
        return false; /* argv[0], DIR, then option-value pairs */
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *opt = argv[i], *v = argv[i + 1];

        if (strcmp(opt, "--threads") == 0 && parse_counts(v, counts, n_counts) == 0) {
            continue;
        }
        if (strcmp(opt, "--seconds") == 0 && (*seconds = atof(v)) > 0) {
            continue;
        }
        if (strcmp(opt, "--size") == 0 && (r->size = strtoul(v, NULL, 10)) > 0) {
            continue;
        }
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    unsigned counts[MAX_COUNTS] = {1, 8, 64}, n_counts = 3, best_n = 0;
    struct rate_run r = {.size = 4096};
    double seconds = 3, best = 0;
    char *buf;

    if (argc < 2 || argv[1][0] == '-' || !parse_args(argc, argv, &r, counts, &n_counts, &seconds)) {
        return usage();
    }
    r.dir = argv[1];
    buf = malloc(r.size);
    if (buf == NULL) {
        die("malloc", "buffer");
    }
    for (size_t i = 0; i < r.size; i++) {
        buf[i] = (char)(i * 131 + 7);
    }
    r.buf = buf;
    for (unsigned i = 0; i < n_counts; i++) {
        double rate = run_count(&r, counts[i], seconds);

        if (rate > best) {
            best = rate;
            best_n = counts[i];
        }
    }
    printf("best_threads=%u best_ops_per_s=%.1f\n", best_n, best);
    free(buf);
    return 0;
}
