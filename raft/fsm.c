/* The Raft state machine: libraft's struct raft_fsm over the meta store.
 *
 * apply: the entry's index is raft_last_applied(r) + 1 (libraft 0.15 does not pass it and
 * bumps last_applied only after apply returns); meta_apply records it in the same LMDB
 * transaction and skips entries at or below the stored index, so a replay after a restart
 * is harmless.  The business outcome (GW_OK, GW_ERR_BUCKET_EXISTS, ...) travels to the
 * proposer's apply callback encoded in the result pointer (no allocation: a follower's
 * result is never freed by libraft).  apply always returns 0: a non-zero return stalls 0.15
 * forever.  A local fault (LMDB I/O, map full, a command from a newer binary) cannot be
 * skipped without diverging from the other replicas, so the node stops loudly (abort) and
 * is rebuilt from the Raft log and snapshot when it restarts.
 *
 * snapshot (version 1 FSM, on the loop): a logical dump by meta_snapshot, copied into one
 * raft_malloc'ed buffer that libraft frees.  restore: skipped when the local store already
 * holds the snapshot's index (the normal case at restart), else meta_restore replaces the
 * whole store in one transaction.  A snapshot that does not verify fails the restore. */
#include <stdlib.h>
#include <string.h>

#include "unigw/err.h"
#include "unigw/log.h"

#include "core.h"

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct repl_fsm *f = fsm->data;
    uint64_t index = raft_last_applied(f->r) + 1;
    int outcome = GW_OK;
    const void *cmd = buf->base;
    size_t len = buf->len;
    int rv;

    /* A malformed entry goes to meta as it is: every replica then rejects it alike. */
    repl__entry_open(buf, &cmd, &len);
    rv = meta_apply(f->m, index, cmd, len, &outcome);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "apply of entry %llu failed: %s; stopping this node",
               (unsigned long long)index, gw_err_name(rv));
        abort();
    }
    *result = (void *)(uintptr_t)(unsigned)outcome;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct repl_fsm *f = fsm->data;
    struct gw_buf dump = {0};
    struct raft_buffer *b = NULL;
    int rv;

    rv = meta_snapshot(f->m, &dump);
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "snapshot: %s", gw_err_name(rv));
        gw_buf_free(&dump);
        return RAFT_IOERR;
    }
    b = raft_malloc(sizeof *b);
    if (b == NULL) {
        gw_buf_free(&dump);
        return RAFT_NOMEM;
    }
    b->len = dump.len;
    b->base = raft_malloc(dump.len);
    if (b->base == NULL) {
        raft_free(b);
        gw_buf_free(&dump);
        return RAFT_NOMEM;
    }
    memcpy(b->base, dump.data, dump.len);
    gw_buf_free(&dump);
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

/* On success takes ownership of buf->base (libraft's contract). */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct repl_fsm *f = fsm->data;
    uint64_t snap_index = 0;
    uint64_t applied = 0;
    int rv;

    rv = meta_snapshot_index(buf->base, buf->len, &snap_index);
    if (rv == 0) {
        rv = meta_applied_index(f->m, &applied);
    }
    if (rv == 0 && snap_index > applied) {
        rv = meta_restore(f->m, buf->base, buf->len);
    }
    if (rv != 0) {
        GW_LOG(GW_LOG_ERROR, "raft", "restore: %s", gw_err_name(rv));
        return rv == GW_ERR_CORRUPT ? RAFT_CORRUPT : RAFT_IOERR;
    }
    GW_LOG(GW_LOG_INFO, "raft", "snapshot at command index %llu %s",
           (unsigned long long)snap_index, snap_index > applied ? "restored" : "already held");
    raft_free(buf->base);
    return 0;
}

void repl__fsm_init(struct repl_fsm *f, struct meta *m)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    f->base.version = 1;
    f->base.data = f;
    f->base.apply = fsm_apply;
    f->base.snapshot = fsm_snapshot;
    f->base.restore = fsm_restore;
}
