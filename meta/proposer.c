/* The local proposer: meta_proposer for a single node without Raft, and for
 * tests of the layers above.
 *
 * propose copies the command into a queue and starts an idle handle; on the
 * next loop iteration the idle callback applies every queued command in order
 * with the next index (continuing from the store's last applied index, as a
 * Raft log would) and fires each callback.  So a callback never runs inside
 * propose, and the apply outcome arrives exactly as it will with Raft.
 *
 * Close: the idle handle is closed; once it is, commands still queued are
 * completed with GW_ERR_CANCELED (they were not applied) and the close
 * callback fires.  propose after close fails with GW_ERR_CANCELED. */
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/log.h"
#include "unigw/meta.h"

struct meta_local_op {
    struct gw_buf cmd;
    meta_propose_cb cb;
    void *arg;
    struct meta_local_op *next;
};

int meta_propose(struct meta_proposer *p, const struct gw_buf *cmd, meta_propose_cb cb, void *arg)
{
    return p->propose(p, cmd, cb, arg);
}

static struct meta_local_op *queue_pop(struct meta_local_proposer *lp)
{
    struct meta_local_op *op = lp->head;

    if (op != NULL) {
        lp->head = op->next;
        if (lp->head == NULL) {
            lp->tail = NULL;
        }
    }
    return op;
}

static void op_finish(struct meta_local_op *op, int rv, int result)
{
    op->cb(op->arg, rv, result);
    gw_buf_free(&op->cmd);
    gw_free(op);
}

/* Apply what is queued now; commands proposed from a callback wait for the
 * next iteration (the idle handle stays active while the queue is not empty). */
static void idle_cb(uv_idle_t *h)
{
    struct meta_local_proposer *lp = h->data;
    struct meta_local_op *last = lp->tail;
    struct meta_local_op *op;
    int result = GW_OK;
    int rv;

    if (lp->closing) {
        return;
    }
    while (last != NULL && (op = queue_pop(lp)) != NULL) {
        bool is_last = op == last;
        rv = meta_apply(lp->m, lp->next_index, op->cmd.data, op->cmd.len, &result);
        if (rv == 0) {
            lp->next_index++;
        } else {
            GW_LOG(GW_LOG_ERROR, "meta", "local apply: %s", gw_err_name(rv));
        }
        op_finish(op, rv, rv == 0 ? result : GW_OK);
        if (is_last || lp->closing) {
            break;
        }
    }
    if (lp->head == NULL && !lp->closing) {
        uv_idle_stop(&lp->idle);
    }
}

static int local_propose(struct meta_proposer *p, const struct gw_buf *cmd, meta_propose_cb cb,
                         void *arg)
{
    struct meta_local_proposer *lp = p->data;
    struct meta_local_op *op;
    int rv;

    if (lp->closing) {
        return GW_ERR_CANCELED;
    }
    rv = meta_cmd_level_check(lp->m, cmd->data, cmd->len);
    if (rv != 0) {
        return rv;
    }
    op = gw_calloc(1, sizeof *op);
    gw_buf_append(&op->cmd, cmd->data, cmd->len);
    op->cb = cb;
    op->arg = arg;
    if (lp->tail != NULL) {
        lp->tail->next = op;
    } else {
        lp->head = op;
    }
    lp->tail = op;
    uv_idle_start(&lp->idle, idle_cb);
    return GW_OK;
}

int meta_local_proposer_init(struct meta_local_proposer *lp, uv_loop_t *loop, struct meta *m)
{
    uint64_t applied = 0;
    int rv;

    memset(lp, 0, sizeof *lp);
    rv = meta_applied_index(m, &applied);
    if (rv != 0) {
        return rv;
    }
    lp->base.propose = local_propose;
    lp->base.barrier = NULL; /* every write is applied here: reads need no barrier */
    lp->base.data = lp;
    lp->loop = loop;
    lp->m = m;
    lp->next_index = applied + 1;
    uv_idle_init(loop, &lp->idle);
    lp->idle.data = lp;
    return GW_OK;
}

static void idle_closed_cb(uv_handle_t *h)
{
    struct meta_local_proposer *lp = h->data;
    struct meta_local_op *op;

    while ((op = queue_pop(lp)) != NULL) {
        op_finish(op, GW_ERR_CANCELED, GW_OK);
    }
    if (lp->close_cb != NULL) {
        lp->close_cb(lp);
    }
}

void meta_local_proposer_close(struct meta_local_proposer *lp, meta_local_close_cb cb)
{
    if (lp->closing) {
        return;
    }
    lp->closing = true;
    lp->close_cb = cb;
    uv_close((uv_handle_t *)&lp->idle, idle_closed_cb);
}
