/* Cluster members and the feature level: apply of member_register and
 * cluster_finalize, the lookups, and the proposer's level check.
 *
 * db "members": big-endian u64 node id -> member record
 *   u8 record version (1) | u32 min_level | u32 max_level | u64 ts_ms | bytes version
 * db "cluster", key "level": u32 active level (absent: level 1, the level of
 * every store written before levels existed).
 *
 * Finalize is decided from the command (the voters, read by the proposer
 * from the Raft configuration) and the store only, so every replica reaches
 * the same outcome. */
#include <string.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define MEMBER_REC_VERSION 1
#define META_CLUSTER_LEVEL GW_STR("level")

static void member_key(unsigned char k[8], uint64_t id)
{
    for (int i = 7; i >= 0; i--) {
        k[i] = (unsigned char)id;
        id >>= 8;
    }
}

static int member_decode(uint64_t id, struct gw_str v, struct meta_member *out)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    struct gw_str ver = GW_STR_NULL;
    uint8_t rec = 0;

    memset(out, 0, sizeof *out);
    out->node_id = id;
    if (!gw_reader_u8(&r, &rec) || rec == 0) {
        return GW_ERR_CORRUPT;
    }
    if (rec > MEMBER_REC_VERSION) {
        return GW_ERR_TOO_NEW;
    }
    if (!gw_reader_u32(&r, &out->min_level) || !gw_reader_u32(&r, &out->max_level) ||
        !gw_reader_u64(&r, &out->registered_ms) || !gw_reader_bytes(&r, &ver) || r.len != 0 ||
        !meta__str_copy(out->version, sizeof out->version, &out->version_len, ver)) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

static int member_read(struct meta *m, MDB_txn *txn, uint64_t id, struct meta_member *out)
{
    unsigned char k[8];
    struct gw_str v = GW_STR_NULL;
    int rv;

    member_key(k, id);
    rv = meta__get(m, txn, META_DB_MEMBERS, gw_str_make((const char *)k, 8), &v);
    return rv != 0 ? rv : member_decode(id, v, out);
}

static int level_read(struct meta *m, MDB_txn *txn, uint32_t *out)
{
    struct gw_str v = GW_STR_NULL;
    struct gw_reader r;
    int rv;

    rv = meta__get(m, txn, META_DB_CLUSTER, META_CLUSTER_LEVEL, &v);
    if (rv == GW_ERR_NOT_FOUND) {
        *out = 1;
        return GW_OK;
    }
    if (rv != 0) {
        return rv;
    }
    r = gw_reader_make(v.p, v.len);
    if (!gw_reader_u32(&r, out) || r.len != 0 || *out == 0) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

static int apply_register(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    const uint64_t id = c->u.member_register.node_id;
    struct gw_buf rec = GW_BUF_INIT;
    unsigned char k[8];
    int rv;

    if (id == 0 || c->u.member_register.min_level == 0 ||
        c->u.member_register.min_level > c->u.member_register.max_level) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    member_key(k, id);
    gw_buf_put_u8(&rec, MEMBER_REC_VERSION);
    gw_buf_put_u32(&rec, c->u.member_register.min_level);
    gw_buf_put_u32(&rec, c->u.member_register.max_level);
    gw_buf_put_u64(&rec, c->hdr.ts_ms);
    gw_buf_put_bytes(&rec, c->u.member_register.version);
    rv = meta__put(m, txn, META_DB_MEMBERS, gw_str_make((const char *)k, 8), gw_buf_str(&rec));
    gw_buf_free(&rec);
    return rv;
}

/* The highest level every voter of @voters supports, in *@level; 0 when the
 * voters' ranges do not overlap.  *@result is PRECONDITION_FAILED when a voter
 * has no record. */
static int common_level(struct meta *m, MDB_txn *txn, struct gw_str voters, uint32_t *level,
                        int *result)
{
    struct gw_reader r = gw_reader_make(voters.p, voters.len);
    struct meta_member mb;
    uint32_t lo = 0, hi = UINT32_MAX;
    uint64_t id = 0;
    int rv;

    while (r.len > 0 && gw_reader_u64(&r, &id)) {
        rv = member_read(m, txn, id, &mb);
        if (rv == GW_ERR_NOT_FOUND) {
            *result = GW_ERR_PRECONDITION_FAILED;
            return GW_OK;
        }
        if (rv != 0) {
            return rv;
        }
        lo = mb.min_level > lo ? mb.min_level : lo;
        hi = mb.max_level < hi ? mb.max_level : hi;
    }
    *level = lo <= hi ? hi : 0;
    return GW_OK;
}

static int apply_finalize(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_str voters = c->u.cluster_finalize.voters;
    struct gw_buf b = GW_BUF_INIT;
    uint32_t cur = 0, level = 0;
    int rv;

    if (voters.len == 0 || voters.len % 8 != 0) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    rv = level_read(m, txn, &cur);
    if (rv == 0) {
        rv = common_level(m, txn, voters, &level, result);
    }
    if (rv != 0 || *result != GW_OK) {
        return rv;
    }
    if (level < cur) { /* never lowered: a voter cannot run the active level */
        *result = GW_ERR_PRECONDITION_FAILED;
        return GW_OK;
    }
    gw_buf_put_u32(&b, level);
    rv = meta__put(m, txn, META_DB_CLUSTER, META_CLUSTER_LEVEL, gw_buf_str(&b));
    gw_buf_free(&b);
    return rv;
}

int meta__member_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    if (c->type == META_CMD_MEMBER_REGISTER) {
        return apply_register(m, txn, c, result);
    }
    return apply_finalize(m, txn, c, result);
}

int meta_member_get(struct meta *m, uint64_t node_id, struct meta_member *out)
{
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = member_read(m, txn, node_id, out);
    mdb_txn_abort(txn);
    return rv;
}

struct member_list {
    struct meta_member *arr;
    size_t n, cap;
};

static int list_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct member_list *l = arg;
    const unsigned char *k = (const unsigned char *)key.p;
    uint64_t id = 0;

    if (key.len != 8) {
        return GW_ERR_CORRUPT;
    }
    for (int i = 0; i < 8; i++) {
        id = (id << 8) | k[i];
    }
    if (l->n == l->cap) {
        l->cap = l->cap == 0 ? 8 : 2 * l->cap;
        l->arr = gw_realloc(l->arr, l->cap * sizeof *l->arr);
    }
    return member_decode(id, val, &l->arr[l->n++]);
}

int meta_member_list(struct meta *m, struct meta_member **out, size_t *n_out)
{
    struct member_list l = {NULL, 0, 0};
    MDB_txn *txn = NULL;
    int rv;

    *out = NULL;
    *n_out = 0;
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__scan(m, txn, META_DB_MEMBERS, GW_STR_NULL, GW_STR_NULL, list_cb, &l);
    mdb_txn_abort(txn);
    if (rv != 0 || l.n == 0) {
        gw_free(l.arr);
        return rv;
    }
    *out = l.arr;
    *n_out = l.n;
    return GW_OK;
}

int meta_level_active(struct meta *m, uint32_t *out)
{
    MDB_txn *txn = NULL;
    int rv;

    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = level_read(m, txn, out);
    mdb_txn_abort(txn);
    return rv;
}

int meta_cmd_level_check(struct meta *m, const void *cmd, size_t len)
{
    const unsigned char *p = cmd;
    uint32_t need, active = 0;
    int rv;

    if (len < 2) {
        return GW_ERR_CORRUPT;
    }
    need = meta_cmd_min_level((uint16_t)(p[0] | p[1] << 8));
    if (need == 0 || need > META_LEVEL_MAX) {
        return GW_ERR_NOT_IMPLEMENTED;
    }
    rv = meta_level_active(m, &active);
    if (rv != 0) {
        return rv;
    }
    return need <= active ? GW_OK : GW_ERR_NOT_IMPLEMENTED;
}
