/* Fuzz target: a sequence of log entries applied to the metadata state
 * machine (meta/fsm.c and every handler), not one command.
 *
 * Input: frames of  u8 op | u16 LE length | length bytes (an encoded command,
 * or anything).  op 0 applies the bytes at the next index; op 1..254 replays
 * them at an index that many steps back (the index guard); op 255 first moves
 * the next index past the dedup window (pruning).  A short last frame is
 * applied as it is.
 *
 * What must hold for every input: meta_apply returns GW_OK (a command from a
 * newer binary, GW_ERR_TOO_NEW, is the only way apply may refuse to go on,
 * and then it must not have recorded the index), so no input stops a node;
 * no handler fails inside apply either (meta_apply_failures stays 0: such a
 * failure is survivable, but it is a bug, as the prefix deletion of issue 7
 * was); and two stores fed the same sequence end with byte-identical dumps.  The
 * two stores live in a temp dir (on /dev/shm when there is one) for the
 * whole process and are emptied before each input by restoring the dump of
 * an empty store. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unigw/buf.h"
#include "unigw/err.h"
#include "unigw/log.h"
#include "unigw/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fz_key[META_CLUSTER_KEY_LEN] = {3, 1, 4, 1, 5, 9, 2, 6};

static struct {
    char dir[2][256];
    struct meta *m[2];
    struct gw_buf empty; /* the dump of a fresh store */
} fz;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fz_cleanup(void)
{
    for (int i = 0; i < 2; i++) {
        meta_close(fz.m[i]);
        nftw(fz.dir[i], rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    }
    gw_buf_free(&fz.empty);
}

static void fz_init(void)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL) {
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    }
    gw_log_threshold = GW_LOG_ERROR; /* a failure's own line is the clue */
    for (int i = 0; i < 2; i++) {
        snprintf(fz.dir[i], sizeof fz.dir[i], "%s/unigw-fuzz-seq-XXXXXX", base);
        if (mkdtemp(fz.dir[i]) == NULL || meta_open(fz.dir[i], fz_key, 64u << 20, &fz.m[i]) != 0) {
            abort();
        }
    }
    if (meta_snapshot(fz.m[0], &fz.empty) != 0) {
        abort();
    }
    atexit(fz_cleanup);
}

static uint64_t failures(struct meta *m)
{
    uint64_t n = 0;

    for (uint16_t t = 1; t <= META_CMD__MAX; t++) {
        n += meta_apply_failures(m, t);
    }
    return n;
}

/* Apply one frame's bytes at @index on both stores; abort when apply stops. */
static void apply_both(uint64_t index, const uint8_t *p, size_t len)
{
    int result[2] = {-1, -1};

    for (int i = 0; i < 2; i++) {
        uint64_t before = 0, after = 0;
        int rv;

        meta_applied_index(fz.m[i], &before);
        rv = meta_apply(fz.m[i], index, p, len, &result[i]);
        meta_applied_index(fz.m[i], &after);
        if (rv == GW_ERR_TOO_NEW && after == before) {
            continue; /* a newer binary's command: refusing it is right */
        }
        if (rv != GW_OK) {
            fprintf(stderr, "meta_apply stopped at index %llu: %s\n", (unsigned long long)index,
                    gw_err_name(rv));
            abort();
        }
    }
    if (result[0] != result[1] || failures(fz.m[0]) != 0) {
        abort(); /* same store, same entry: the same outcome; and no handler failed */
    }
}

static void dumps_equal(void)
{
    struct gw_buf d[2] = {GW_BUF_INIT, GW_BUF_INIT};

    if (meta_snapshot(fz.m[0], &d[0]) != 0 || meta_snapshot(fz.m[1], &d[1]) != 0 ||
        d[0].len != d[1].len || memcmp(d[0].data, d[1].data, d[0].len) != 0) {
        abort();
    }
    gw_buf_free(&d[0]);
    gw_buf_free(&d[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t next = 1;

    if (fz.m[0] == NULL) {
        fz_init();
    }
    for (int i = 0; i < 2; i++) {
        if (meta_restore(fz.m[i], fz.empty.data, fz.empty.len) != 0) {
            abort();
        }
    }
    while (size > 0) {
        uint8_t op = data[0];
        size_t len = size >= 3 ? (size_t)(data[1] | data[2] << 8) : 0;
        const uint8_t *p = data + (size >= 3 ? 3 : size);
        size_t left = size - (size_t)(p - data);

        len = len < left ? len : left;
        if (op == 255) {
            next += META_DEDUP_WINDOW + 1;
        }
        if (op == 0 || op == 255 || op >= next) {
            apply_both(next++, p, len);
        } else {
            apply_both(next - op, p, len); /* a replay at an applied index */
        }
        data = p + len;
        size = left - len;
    }
    dumps_equal();
    return 0;
}
