/* A seeded, model-based test of the metadata state machine (issue 7).
 *
 * Each sequence draws random commands from small pools (model.h): users,
 * access keys, buckets (create, delete, set owner), policies, bucket and
 * object tags (put, delete, drop), multipart uploads (create, part, claim,
 * finish, abort, and expiry as the cleanup task proposes it), no-ops,
 * undecodable entries, retries of earlier requests at a new index (dedup),
 * replays of earlier entries at their old index (the index guard), index
 * jumps past the dedup window and close/reopen of the store.  Every entry
 * goes to meta on replica A, to replica B (a second env) and, from a random
 * step on, to replica C, restored from a snapshot A took at that step; and
 * to the reference model.  After every step every query of A (each meta_*
 * lookup and listing, over every pool name) is compared with the model;
 * results must be the model's and equal on every replica; at the end the
 * dumps of A, B and C must be equal byte for byte.  A deterministic fault
 * (model_fault_due) is injected through meta's test seam, so the item-2
 * rule runs inside random sequences too (and the failure counters agree).
 *
 * Runs: the fixed seeds 1..MODEL_FIXED_SEEDS, then random seeds for
 * MODEL_SECONDS more seconds (default 2; set the env var to run longer;
 * MODEL_STATS=1 prints how many commands of each type applied / refused).  A
 * failure prints the seed, the step and the last commands; MODEL_SEED=N
 * reruns that one sequence.  MODEL_VERBOSE=1 prints one line per sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "unigw/log.h"
#include "meta_test.h"
#include "model.h"

#define MODEL_FIXED_SEEDS 20
#define MAX_STEPS 120
#define TRACE_LEN 24
#define MAX_DEDUP (MAX_STEPS * 2)

struct entry {
    struct gcmd g;
    struct gw_buf bytes;
    uint64_t index;
    bool is_garbage;
};

struct dedup {
    uint8_t id[META_REQ_ID_LEN];
    uint64_t index;
    int result;
};

struct run {
    uint64_t seed, rng;
    int step;
    struct mt a, b, c;
    bool has_c;
    uint64_t index;   /* the last index handed out */
    uint64_t applied; /* the highest index applied */
    struct m_state st;
    struct dedup dd[MAX_DEDUP];
    size_t n_dd;
    uint64_t failures[META_CMD__MAX + 1];   /* since B opened */
    uint64_t failures_a[META_CMD__MAX + 1]; /* since A (re)opened */
    struct entry hist[MAX_STEPS];
    size_t n_hist;
    char trace[TRACE_LEN][200];
    int n_trace;
    struct gw_buf frames; /* the entries as fuzz_meta_seq input (MODEL_SEED_DIR) */
    uint64_t last_framed;
};

static struct {
    uint64_t sequences, steps, queries, faults, restores, reopens;
    uint64_t ok[META_CMD__MAX + 1], refused[META_CMD__MAX + 1]; /* new entries by outcome */
} stats;

/* ---- failure reporting -------------------------------------------------- */

static struct run *cur;

__attribute__((format(printf, 2, 3))) static void model_fail(int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\nmodel test FAILED: seed=%llu step=%d (test_model.c:%d): ",
            (unsigned long long)cur->seed, cur->step, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nlast steps:\n");
    for (int i = cur->n_trace > TRACE_LEN ? cur->n_trace - TRACE_LEN : 0; i < cur->n_trace; i++) {
        fprintf(stderr, "  %s\n", cur->trace[i % TRACE_LEN]);
    }
    fprintf(stderr, "replay: MODEL_SEED=%llu ./test_meta_model\n", (unsigned long long)cur->seed);
    fail();
}

#define MCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            model_fail(__LINE__, __VA_ARGS__);                                                     \
        }                                                                                          \
    } while (0)

#define MCHECK_RV(got, want, what, ...)                                                            \
    MCHECK((got) == (want), what ": got %s, want %s", ##__VA_ARGS__, gw_err_name(got),            \
           gw_err_name(want))

__attribute__((format(printf, 2, 3))) static void trace(struct run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->trace[r->n_trace % TRACE_LEN], sizeof r->trace[0], fmt, ap);
    va_end(ap);
    r->n_trace++;
}

/* ---- randomness ----------------------------------------------------------- */

static uint64_t rnd(struct run *r)
{
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int below(struct run *r, int n)
{
    return (int)(rnd(r) % (uint64_t)n);
}

/* A slot of a pool of @n valid values; 1 in 16 draws the invalid slot @n. */
static int slot(struct run *r, int n)
{
    return below(r, 10) == 0 ? n : below(r, n);
}

static bool chance(struct run *r, int one_in)
{
    return below(r, one_in) == 0;
}

/* ---- the commands ------------------------------------------------------- */

static const uint16_t cmd_mix[] = {
    META_CMD_USER_CREATE,   META_CMD_USER_CREATE,   META_CMD_USER_CREATE,
    META_CMD_USER_SET_DISABLED, META_CMD_USER_DELETE, META_CMD_USER_DELETE,
    META_CMD_KEY_CREATE,    META_CMD_KEY_CREATE,    META_CMD_KEY_CREATE,
    META_CMD_KEY_DELETE,    META_CMD_BUCKET_CREATE, META_CMD_BUCKET_CREATE,
    META_CMD_BUCKET_CREATE, META_CMD_BUCKET_CREATE, META_CMD_BUCKET_DELETE,
    META_CMD_BUCKET_DELETE, META_CMD_BUCKET_SET_OWNER, META_CMD_POLICY_PUT,
    META_CMD_POLICY_PUT,    META_CMD_POLICY_DELETE, META_CMD_TAGS_PUT,
    META_CMD_TAGS_PUT,      META_CMD_TAGS_PUT,      META_CMD_TAGS_PUT,
    META_CMD_TAGS_DELETE,   META_CMD_TAGS_DROP,     META_CMD_TAGS_DROP,
    META_CMD_BUCKET_TAGS_PUT, META_CMD_BUCKET_TAGS_PUT, META_CMD_BUCKET_TAGS_DELETE,
    META_CMD_UPLOAD_CREATE, META_CMD_UPLOAD_CREATE, META_CMD_UPLOAD_CREATE,
    META_CMD_PART_PUT,      META_CMD_PART_PUT,      META_CMD_PART_PUT,
    META_CMD_PART_PUT,      META_CMD_UPLOAD_CLAIM,  META_CMD_UPLOAD_CLAIM,
    META_CMD_UPLOAD_FINISH, META_CMD_UPLOAD_FINISH, META_CMD_UPLOAD_ABORT,
    META_CMD_NOOP,
};

/* Three in four draws name something that exists (when anything does), so
 * that sequences reach deep states; the rest are any slot, invalid ones too. */
static int live_user(struct run *r)
{
    int on[N_USERS], n = 0;

    for (int u = 0; u < N_USERS; u++) {
        if (r->st.users[u].on) {
            on[n++] = u;
        }
    }
    return n > 0 && !chance(r, 4) ? on[below(r, n)] : slot(r, N_USERS);
}

static int live_ak(struct run *r)
{
    int on[N_AKS], n = 0;

    for (int a = 0; a < N_AKS; a++) {
        if (r->st.keys[a].on) {
            on[n++] = a;
        }
    }
    return n > 0 && !chance(r, 4) ? on[below(r, n)] : slot(r, N_AKS);
}

static int live_bucket(struct run *r)
{
    int on[N_BUCKETS], n = 0;

    for (int b = 0; b < N_BUCKETS; b++) {
        if (r->st.buckets[b].on) {
            on[n++] = b;
        }
    }
    return n > 0 && !chance(r, 4) ? on[below(r, n)] : slot(r, N_BUCKETS);
}

/* An existing upload's bucket and id into @g, or any slots. */
static void live_upload(struct run *r, struct gcmd *g)
{
    int on[N_BUCKETS * N_IDS], n = 0;

    for (int i = 0; i < N_BUCKETS * N_IDS; i++) {
        if (r->st.ups[i / N_IDS][i % N_IDS].on) {
            on[n++] = i;
        }
    }
    if (n > 0 && !chance(r, 4)) {
        int i = on[below(r, n)];
        g->bucket = i / N_IDS;
        g->id = i % N_IDS;
    }
}

static void gen(struct run *r, uint64_t ts, struct gcmd *g)
{
    memset(g, 0, sizeof *g);
    g->type = cmd_mix[below(r, sizeof cmd_mix / sizeof cmd_mix[0])];
    g->ts = ts;
    if (!chance(r, 3)) { /* two in three carry a request id */
        for (int i = 0; i < META_REQ_ID_LEN; i++) {
            g->req_id[i] = (uint8_t)rnd(r);
        }
    }
    g->who = slot(r, N_WHO);
    g->user = g->type == META_CMD_USER_CREATE ? slot(r, N_USERS) : live_user(r);
    g->owner = live_user(r);
    g->ak = g->type == META_CMD_KEY_CREATE ? slot(r, N_AKS) : live_ak(r);
    g->secret = chance(r, 16) ? 2 : below(r, 2);
    g->bucket = g->type == META_CMD_BUCKET_CREATE ? slot(r, N_BUCKETS) : live_bucket(r);
    g->region = below(r, 3);
    g->policy = chance(r, 8) ? 2 : below(r, 2);
    g->okey = slot(r, N_OKEYS);
    g->oid = chance(r, 10) ? N_OIDS : below(r, N_OIDS);
    g->tagset = below(r, 3);
    g->id = slot(r, N_IDS);
    if (g->type >= META_CMD_PART_PUT && g->type <= META_CMD_UPLOAD_ABORT) {
        live_upload(r, g);
    }
    g->info = below(r, 2);
    g->num = chance(r, 16) ? N_NUMS + below(r, 2) : below(r, N_NUMS);
    g->md5 = chance(r, 16) ? 2 : below(r, 2);
    g->cksum = below(r, 2);
    g->file = chance(r, 16) ? 2 : below(r, 2);
    g->claim = chance(r, 8) ? 2 : below(r, 2);
    g->etag = below(r, 2);
    g->flag = chance(r, 2);
    g->size = rnd(r) % 100000;
}

static void encode(const struct gcmd *g, struct gw_buf *out)
{
    struct meta_cmd_hdr h;
    struct gw_buf sealed = GW_BUF_INIT;
    uint8_t nonce[META_NONCE_LEN] = {7};
    struct gw_str bk = gw_str_c(BUCKETS[g->bucket]), id = gw_str_c(IDS[g->id]);
    int rv = GW_OK;

    memset(&h, 0, sizeof h);
    memcpy(h.req_id, g->req_id, META_REQ_ID_LEN);
    h.ts_ms = g->ts;
    h.user = gw_str_c(WHO[g->who]);
    switch (g->type) {
    case META_CMD_USER_CREATE:
        rv = meta_cmd_user_create(out, &h, gw_str_c(USERS[g->user]), g->flag);
        break;
    case META_CMD_USER_SET_DISABLED:
        rv = meta_cmd_user_set_disabled(out, &h, gw_str_c(USERS[g->user]), g->flag);
        break;
    case META_CMD_USER_DELETE:
        rv = meta_cmd_user_delete(out, &h, gw_str_c(USERS[g->user]));
        break;
    case META_CMD_KEY_CREATE:
        if (SECRETS[g->secret] != NULL) {
            assert_int_equal(meta_secret_seal(mt_key, gw_str_c(SECRETS[g->secret]), nonce, &sealed),
                             0);
        } else {
            gw_buf_append_c(&sealed, "too-short"); /* not a sealed blob */
        }
        rv = meta_cmd_key_create(out, &h, gw_str_c(AKS[g->ak]), gw_str_c(USERS[g->user]),
                                 gw_buf_str(&sealed));
        break;
    case META_CMD_KEY_DELETE:
        rv = meta_cmd_key_delete(out, &h, gw_str_c(AKS[g->ak]));
        break;
    case META_CMD_BUCKET_CREATE:
        rv = meta_cmd_bucket_create(out, &h, bk, gw_str_c(USERS[g->owner]),
                                    gw_str_c(REGIONS[g->region]));
        break;
    case META_CMD_BUCKET_DELETE:
        rv = meta_cmd_bucket_delete(out, &h, bk);
        break;
    case META_CMD_BUCKET_SET_OWNER:
        rv = meta_cmd_bucket_set_owner(out, &h, bk, gw_str_c(USERS[g->owner]));
        break;
    case META_CMD_POLICY_PUT:
        rv = meta_cmd_policy_put(out, &h, bk, gw_str_c(POLICIES[g->policy]));
        break;
    case META_CMD_POLICY_DELETE:
        rv = meta_cmd_policy_delete(out, &h, bk);
        break;
    case META_CMD_TAGS_PUT:
        rv = meta_cmd_tags_put(out, &h, bk, model_okey(g->okey), gw_str_c(OIDS[g->oid]),
                               gw_str_c(TAGSETS[g->tagset]));
        break;
    case META_CMD_TAGS_DELETE:
        rv = meta_cmd_tags_delete(out, &h, bk, model_okey(g->okey));
        break;
    case META_CMD_TAGS_DROP:
        rv = meta_cmd_tags_drop(out, &h, bk, model_okey(g->okey), gw_str_c(OIDS[g->oid]));
        break;
    case META_CMD_BUCKET_TAGS_PUT:
        rv = meta_cmd_bucket_tags_put(out, &h, bk, gw_str_c(TAGSETS[g->tagset]));
        break;
    case META_CMD_BUCKET_TAGS_DELETE:
        rv = meta_cmd_bucket_tags_delete(out, &h, bk);
        break;
    case META_CMD_UPLOAD_CREATE:
        rv = meta_cmd_upload_create(out, &h, bk, model_okey(g->okey), id,
                                    gw_str_c(INFOS[g->info]));
        break;
    case META_CMD_PART_PUT:
        rv = meta_cmd_part_put(out, &h, bk, id, NUMS[g->num], g->size, gw_str_c(MD5S[g->md5]),
                               gw_str_c(CKSUMS[g->cksum]), gw_str_c(FILES[g->file]));
        break;
    case META_CMD_UPLOAD_CLAIM:
        rv = meta_cmd_upload_claim(out, &h, bk, id, gw_str_c(CLAIMS[g->claim]));
        break;
    case META_CMD_UPLOAD_FINISH:
        rv = meta_cmd_upload_finish(out, &h, bk, id, gw_str_c(ETAGS[g->etag]), g->size);
        break;
    case META_CMD_UPLOAD_ABORT:
        rv = meta_cmd_upload_abort(out, &h, bk, id);
        break;
    default:
        rv = meta_cmd_noop(out, &h);
        break;
    }
    gw_buf_free(&sealed);
    assert_int_equal(rv, GW_OK);
}

static const char *bname(int b)
{
    return BUCKETS[b][0] ? BUCKETS[b] : "''";
}

/* ---- the model's side of an entry: dedup, the command, the fault -------- */

static bool has_req_id(const struct gcmd *g)
{
    static const uint8_t zero[META_REQ_ID_LEN];

    return memcmp(g->req_id, zero, META_REQ_ID_LEN) != 0;
}

static struct dedup *dd_find(struct run *r, const struct gcmd *g)
{
    for (size_t i = 0; has_req_id(g) && i < r->n_dd; i++) {
        if (memcmp(r->dd[i].id, g->req_id, META_REQ_ID_LEN) == 0) {
            return &r->dd[i];
        }
    }
    return NULL;
}

/* Entries older than the window go after each new index (as meta prunes,
 * after the lookup of that index). */
static void dd_prune(struct run *r, uint64_t index)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n_dd; i++) {
        if (index <= META_DEDUP_WINDOW || r->dd[i].index >= index - META_DEDUP_WINDOW) {
            r->dd[n++] = r->dd[i];
        }
    }
    r->n_dd = n;
}

/* The result meta must give for @e applied (for the first time) at @index. */
static int model_apply(struct run *r, const struct entry *e, uint64_t index)
{
    struct dedup *d = e->is_garbage ? NULL : dd_find(r, &e->g);
    struct m_state next = r->st;
    int res;

    if (e->is_garbage || d != NULL) {
        res = e->is_garbage ? GW_ERR_CORRUPT : d->result;
        dd_prune(r, index);
        return res;
    }
    res = m_run(&next, &e->g);
    if (res == GW_OK && model_fault_due(e->g.ts)) {
        res = GW_ERR_INTERNAL;
        r->failures[e->g.type]++;
        r->failures_a[e->g.type]++;
        stats.faults++;
    } else if (res == GW_OK) {
        r->st = next;
    }
    if (has_req_id(&e->g)) {
        assert_true(r->n_dd < MAX_DEDUP);
        memcpy(r->dd[r->n_dd].id, e->g.req_id, META_REQ_ID_LEN);
        r->dd[r->n_dd].index = index;
        r->dd[r->n_dd++].result = res;
    }
    dd_prune(r, index);
    return res;
}

static int fault_cb(void *arg, const struct meta_cmd *c)
{
    (void)arg;
    return model_fault_due(c->hdr.ts_ms) ? GW_ERR_INVALID : GW_OK;
}

static void replica_open(struct mt *t)
{
    mt_open(t);
    t->m->fault = fault_cb;
}

/* ---- the queries: every meta_* answer of a replica against the model -------- */

static int pool_find(const char *const *pool, int n, struct gw_str name)
{
    for (int i = 0; i < n; i++) {
        if (gw_str_eq(name, gw_str_c(pool[i]))) {
            return i;
        }
    }
    return n;
}

static bool field_is(const char *have, size_t have_len, const char *want)
{
    return gw_str_eq(gw_str_make(have, have_len), gw_str_c(want));
}

static void check_user(const struct run *r, const struct meta_user *mu, int u)
{
    const struct m_user *x = &r->st.users[u];
    char id[META_USER_ID_LEN + 1];

    snprintf(id, sizeof id, "AIDA%016" PRIX64, x->seq);
    MCHECK(field_is(mu->name, mu->name_len, USERS[u]) && mu->is_admin == x->is_admin &&
               mu->is_disabled == x->is_disabled && mu->created_ms == x->created &&
               mu->seq == x->seq && strcmp(mu->id, id) == 0,
           "user %s: fields", USERS[u]);
}

static void check_users(struct run *r, struct meta *m)
{
    static const char *const afters[] = {"", "u0", "u1", "u2"};
    struct meta_user mu, *v = NULL;
    int after = below(r, 4);
    size_t max = (size_t)(1 + below(r, 3)) * (chance(r, 2) ? 1 : 100), n = 0, k = 0;

    for (int u = 0; u <= N_USERS; u++) {
        int rv = meta_user_get(m, gw_str_c(USERS[u]), &mu);
        bool on = u < N_USERS && r->st.users[u].on;
        MCHECK_RV(rv, on ? GW_OK : GW_ERR_NOT_FOUND, "meta_user_get(%s)", USERS[u]);
        if (on) {
            check_user(r, &mu, u);
        }
    }
    assert_int_equal(meta_user_list(m, gw_str_c(afters[after]), max, &v, &n), 0);
    for (int u = after == 0 ? 0 : after; u < N_USERS && k < max; u++) {
        if (r->st.users[u].on) {
            MCHECK(k < n, "meta_user_list(after %s, max %zu): %zu users, more expected",
                   afters[after], max, n);
            check_user(r, &v[k++], u);
        }
    }
    MCHECK(k == n, "meta_user_list(after %s, max %zu): %zu users, want %zu", afters[after], max,
           n, k);
    gw_free(v);
    stats.queries += N_USERS + 2;
}

static void check_keys(struct run *r, struct meta *m)
{
    struct meta_key_info ki;
    char(*v)[META_NAME_MAX + 1] = NULL;
    size_t n = 0, k;

    for (int a = 0; a <= N_AKS; a++) {
        int rv = meta_key_lookup(m, gw_str_c(AKS[a]), &ki);
        const struct m_key *x = a < N_AKS ? &r->st.keys[a] : NULL;
        MCHECK_RV(rv, x != NULL && x->on ? GW_OK : GW_ERR_INVALID_ACCESS_KEY,
                  "meta_key_lookup(%s)", AKS[a]);
        if (rv == GW_OK) {
            const struct m_user *u = &r->st.users[x->user];
            MCHECK(field_is(ki.user, ki.user_len, USERS[x->user]) &&
                       field_is(ki.secret, ki.secret_len, SECRETS[x->secret]) &&
                       ki.is_admin == u->is_admin && ki.is_disabled == u->is_disabled,
                   "meta_key_lookup(%s): fields", AKS[a]);
        }
    }
    for (int u = 0; u <= N_USERS; u++) {
        assert_int_equal(meta_key_list(m, gw_str_c(USERS[u]), &v, &n), 0);
        k = 0;
        for (int a = 0; a < N_AKS; a++) {
            if (u < N_USERS && r->st.keys[a].on && r->st.keys[a].user == u) {
                MCHECK(k < n && strcmp(v[k], AKS[a]) == 0, "meta_key_list(%s)[%zu]", USERS[u],
                       k);
                k++;
            }
        }
        MCHECK(k == n, "meta_key_list(%s): %zu keys, want %zu", USERS[u], n, k);
        gw_free(v);
    }
    stats.queries += N_AKS + N_USERS + 2;
}

static void check_bucket(const struct run *r, const struct meta_bucket *mb, int b)
{
    const struct m_bucket *x = &r->st.buckets[b];

    MCHECK(field_is(mb->name, mb->name_len, BUCKETS[b]) &&
               field_is(mb->owner, mb->owner_len, USERS[x->owner]) &&
               field_is(mb->region, mb->region_len, REGIONS[x->region]) &&
               mb->created_ms == x->created,
           "bucket %s: fields", bname(b));
}

static void check_bucket_list(struct run *r, struct meta *m, int owner)
{
    static const char *const afters[] = {"", "b", "b0", "bb"};
    struct meta_bucket *v = NULL;
    int after = below(r, 4);
    size_t max = chance(r, 2) ? (size_t)below(r, 3) : 100, n = 0, k = 0;
    struct gw_str ow = owner < N_USERS ? gw_str_c(USERS[owner]) : GW_STR_NULL;

    assert_int_equal(meta_bucket_list(m, ow, gw_str_c(afters[after]), max, &v, &n), 0);
    for (int b = after; b < N_BUCKETS && k < max; b++) {
        const struct m_bucket *x = &r->st.buckets[b];
        if (x->on && (owner == N_USERS || x->owner == owner)) {
            MCHECK(k < n, "meta_bucket_list(%.*s, after %s, max %zu): too few", (int)ow.len,
                   ow.p, afters[after], max);
            check_bucket(r, &v[k++], b);
        }
    }
    MCHECK(k == n, "meta_bucket_list(%.*s, after %s, max %zu): %zu, want %zu", (int)ow.len, ow.p,
           afters[after], max, n, k);
    gw_free(v);
}

static void check_buckets(struct run *r, struct meta *m)
{
    struct gw_buf out = GW_BUF_INIT;
    struct meta_bucket mb;

    for (int b = 0; b <= N_BUCKETS; b++) {
        const struct m_bucket *x = b < N_BUCKETS ? &r->st.buckets[b] : NULL;
        struct gw_str name = gw_str_c(BUCKETS[b]);
        int rv = meta_bucket_get(m, name, &mb);
        MCHECK_RV(rv, x != NULL && x->on ? GW_OK : GW_ERR_NO_SUCH_BUCKET, "meta_bucket_get(%s)",
                  bname(b));
        if (rv == GW_OK) {
            check_bucket(r, &mb, b);
        }
        gw_buf_reset(&out);
        rv = meta_policy_get(m, name, &out);
        MCHECK_RV(rv, x != NULL && x->on && x->policy >= 0 ? GW_OK : GW_ERR_NO_SUCH_POLICY,
                  "meta_policy_get(%s)", bname(b));
        MCHECK(rv != GW_OK || gw_str_eq(gw_buf_str(&out), gw_str_c(POLICIES[x->policy])),
               "meta_policy_get(%s): document", bname(b));
        gw_buf_reset(&out);
        rv = meta_bucket_tags_get(m, name, &out);
        MCHECK_RV(rv, x != NULL && x->on && x->btags >= 0 ? GW_OK : GW_ERR_NO_SUCH_TAG_SET,
                  "meta_bucket_tags_get(%s)", bname(b));
        MCHECK(rv != GW_OK || gw_str_eq(gw_buf_str(&out), gw_str_c(TAGSETS[x->btags])),
               "meta_bucket_tags_get(%s): tags", bname(b));
    }
    for (int owner = 0; owner <= N_USERS; owner++) {
        check_bucket_list(r, m, owner);
    }
    gw_buf_free(&out);
    stats.queries += 3 * (N_BUCKETS + 1) + N_USERS + 1;
}

/* meta_tags_get for every bucket, key and object id, and meta_tags_object_id. */
static void check_tags(struct run *r, struct meta *m)
{
    struct gw_buf out = GW_BUF_INIT;

    for (int b = 0; b <= N_BUCKETS; b++) {
        for (int k = 0; k <= N_OKEYS; k++) {
            const struct m_tag *x = b < N_BUCKETS && k < N_OKEYS ? &r->st.tags[b][k] : NULL;
            bool on = x != NULL && x->on;
            int rv;
            for (int o = 0; o <= N_OIDS; o++) {
                gw_buf_reset(&out);
                rv = meta_tags_get(m, gw_str_c(BUCKETS[b]), model_okey(k), gw_str_c(OIDS[o]),
                                   &out);
                MCHECK_RV(rv, on && x->oid == o ? GW_OK : GW_ERR_NO_SUCH_TAG_SET,
                          "meta_tags_get(%s, key %d, %s)", bname(b), k, OIDS[o]);
                MCHECK(rv != GW_OK || gw_str_eq(gw_buf_str(&out), gw_str_c(TAGSETS[x->tagset])),
                       "meta_tags_get(%s, key %d): tags", bname(b), k);
            }
            gw_buf_reset(&out);
            rv = meta_tags_object_id(m, gw_str_c(BUCKETS[b]), model_okey(k), &out);
            MCHECK_RV(rv, on ? GW_OK : GW_ERR_NO_SUCH_TAG_SET, "meta_tags_object_id(%s, key %d)",
                      bname(b), k);
            MCHECK(rv != GW_OK || gw_str_eq(gw_buf_str(&out), gw_str_c(OIDS[x->oid])),
                   "meta_tags_object_id(%s, key %d): id", bname(b), k);
        }
    }
    gw_buf_free(&out);
    stats.queries += (N_BUCKETS + 1) * (N_OKEYS + 1) * (N_OIDS + 2);
}

static void check_upload(const struct run *r, const struct meta_upload *mu, int b, int id)
{
    const struct m_upload *x = &r->st.ups[b][id];
    const char *claim = x->claim >= 0 ? CLAIMS[x->claim] : "";
    struct gw_str key = model_okey(x->okey);

    MCHECK(field_is(mu->bucket, mu->bucket_len, BUCKETS[b]) &&
               field_is(mu->upload_id, mu->upload_id_len, IDS[id]) &&
               gw_str_eq(gw_str_make(mu->key, mu->key_len), key) &&
               field_is(mu->owner, mu->owner_len, WHO[x->who]) &&
               mu->initiated_ms == x->initiated && mu->state == x->state &&
               gw_str_eq(gw_str_make((const char *)mu->claim, mu->claim_len), gw_str_c(claim)) &&
               mu->done_ms == x->done &&
               field_is(mu->etag, mu->etag_len, x->etag >= 0 ? ETAGS[x->etag] : "") &&
               mu->size == x->size,
           "upload %s/%s: fields", bname(b), IDS[id]);
}

struct up_ref {
    int b, id;
};

static int up_cmp(const struct run *r, struct up_ref x, struct up_ref y)
{
    int c = gw_str_cmp(model_okey(r->st.ups[x.b][x.id].okey),
                       model_okey(r->st.ups[y.b][y.id].okey));

    if (c == 0) {
        c = strcmp(IDS[x.id], IDS[y.id]);
    }
    return c != 0 ? c : strcmp(BUCKETS[x.b], BUCKETS[y.b]);
}

/* The model's ListMultipartUploads: by key, then id, then bucket, after the markers. */
static size_t model_uploads(const struct run *r, int bucket, struct gw_str prefix,
                            struct gw_str km, struct gw_str im, size_t max, struct up_ref *out)
{
    size_t n = 0, kept = 0;

    for (int b = 0; b < N_BUCKETS; b++) {
        for (int id = 0; id < N_IDS; id++) {
            const struct m_upload *x = &r->st.ups[b][id];
            if (x->on && (bucket == N_BUCKETS || b == bucket) &&
                gw_str_has_prefix(model_okey(x->okey), prefix)) {
                out[n++] = (struct up_ref){b, id};
            }
        }
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort: a dozen entries at most */
        for (size_t j = i; j > 0 && up_cmp(r, out[j - 1], out[j]) > 0; j--) {
            struct up_ref t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    }
    for (size_t i = 0; i < n && (max == 0 || kept < max); i++) {
        int c = gw_str_cmp(model_okey(r->st.ups[out[i].b][out[i].id].okey), km);
        if (km.len == 0 || c > 0 ||
            (c == 0 && im.len > 0 && gw_str_cmp(gw_str_c(IDS[out[i].id]), im) > 0)) {
            out[kept++] = out[i];
        }
    }
    return kept;
}

static void check_upload_list(struct run *r, struct meta *m, int bucket, bool full)
{
    static const char *const prefixes[] = {"", "a", "x"};
    struct up_ref want[N_BUCKETS * N_IDS];
    struct gw_str prefix = gw_str_c(full ? "" : prefixes[below(r, 3)]);
    int marker = full ? 0 : below(r, 4);
    struct gw_str km = marker == 0 ? GW_STR_NULL : marker == 3 ? model_okey(2) : GW_STR("a");
    struct gw_str im = marker == 2 ? GW_STR("v1-b") : GW_STR_NULL;
    size_t max = full ? 0 : (size_t)below(r, 3), n = 0, k;
    struct meta_upload *v = NULL;

    assert_int_equal(meta_upload_list(m, bucket < N_BUCKETS ? gw_str_c(BUCKETS[bucket])
                                                            : GW_STR_NULL,
                                      prefix, km, im, max, &v, &n),
                     0);
    k = model_uploads(r, bucket, prefix, km, im, max, want);
    MCHECK(n == k, "meta_upload_list(%s, prefix %.*s, marker %d, max %zu): %zu, want %zu",
           bucket < N_BUCKETS ? bname(bucket) : "all", (int)prefix.len, prefix.p, marker, max, n,
           k);
    for (size_t i = 0; i < n; i++) {
        check_upload(r, &v[i], want[i].b, want[i].id);
    }
    gw_free(v);
}

static void check_parts(struct run *r, struct meta *m, int b, int id)
{
    uint32_t after = chance(r, 2) ? 0 : (uint32_t)below(r, 3);
    size_t max = chance(r, 2) ? 0 : 1, n = 0, k = 0;
    struct meta_part *v = NULL;

    assert_int_equal(meta_part_list(m, gw_str_c(BUCKETS[b]), gw_str_c(IDS[id]), after, max, &v,
                                    &n),
                     0);
    for (int p = 0; p < N_NUMS && (max == 0 || k < max); p++) {
        const struct m_part *x = &r->st.parts[b][id][p];
        if (!x->on || NUMS[p] <= after) {
            continue;
        }
        MCHECK(k < n && v[k].number == NUMS[p] && v[k].size == x->size &&
                   memcmp(v[k].md5, MD5S[x->md5], META_MD5_LEN) == 0 &&
                   gw_str_eq(gw_str_make((const char *)v[k].cksum, v[k].cksum_len),
                             gw_str_c(CKSUMS[x->cksum])) &&
                   field_is(v[k].file, v[k].file_len, FILES[x->file]) && v[k].ts_ms == x->ts,
               "meta_part_list(%s, %s, after %u, max %zu)[%zu]", bname(b), IDS[id],
               (unsigned)after, max, k);
        k++;
    }
    MCHECK(k == n, "meta_part_list(%s, %s, after %u, max %zu): %zu parts, want %zu", bname(b),
           IDS[id], (unsigned)after, max, n, k);
    gw_free(v);
}

static void check_uploads(struct run *r, struct meta *m)
{
    struct gw_buf info = GW_BUF_INIT;
    struct meta_upload mu;

    for (int b = 0; b <= N_BUCKETS; b++) {
        for (int id = 0; id <= N_IDS; id++) {
            bool on = b < N_BUCKETS && id < N_IDS && r->st.ups[b][id].on;
            int rv;
            gw_buf_reset(&info);
            rv = meta_upload_get(m, gw_str_c(BUCKETS[b]), gw_str_c(IDS[id]), &mu, &info);
            MCHECK_RV(rv, on ? GW_OK : GW_ERR_NO_SUCH_UPLOAD, "meta_upload_get(%s, %s)",
                      bname(b), IDS[id]);
            if (on) {
                check_upload(r, &mu, b, id);
                MCHECK(gw_str_eq(gw_buf_str(&info), gw_str_c(INFOS[r->st.ups[b][id].info])),
                       "meta_upload_get(%s, %s): info", bname(b), IDS[id]);
            }
            if (b < N_BUCKETS && id < N_IDS) {
                check_parts(r, m, b, id);
            }
        }
        check_upload_list(r, m, b, true);
        check_upload_list(r, m, b, false);
    }
    gw_buf_free(&info);
    stats.queries += (N_BUCKETS + 1) * (N_IDS + 1) + N_BUCKETS * N_IDS + 2 * (N_BUCKETS + 1);
}

/* Every query, plus the applied index and (with @failures) the counters. */
static void check_all(struct run *r, struct meta *m, const uint64_t *failures)
{
    uint64_t idx = 0;

    check_users(r, m);
    check_keys(r, m);
    check_buckets(r, m);
    check_tags(r, m);
    check_uploads(r, m);
    assert_int_equal(meta_applied_index(m, &idx), 0);
    MCHECK(idx == r->applied, "applied index %llu, want %llu", (unsigned long long)idx,
           (unsigned long long)r->applied);
    for (uint16_t t = 1; failures != NULL && t <= META_CMD__MAX; t++) {
        MCHECK(meta_apply_failures(m, t) == failures[t], "apply failures of %s: %llu, want %llu",
               meta_cmd_type_name(t), (unsigned long long)meta_apply_failures(m, t),
               (unsigned long long)failures[t]);
    }
    stats.queries += 1;
}

/* ---- steps ------------------------------------------------------------------ */

/* Apply @e at @index on every replica and check each result against @want. */
static void frame_add(struct run *r, const struct entry *e, uint64_t index)
{
    uint64_t back = r->last_framed + 1 - index;
    uint8_t op = index == r->last_framed + 1 ? 0 : index > r->last_framed ? 255 : (uint8_t)back;

    if (index <= r->last_framed && back > 254) {
        return; /* a replay further back than a frame can say */
    }
    gw_buf_put_u8(&r->frames, op);
    gw_buf_put_u16(&r->frames, (uint16_t)e->bytes.len);
    gw_buf_append(&r->frames, e->bytes.data, e->bytes.len);
    r->last_framed = index > r->last_framed ? index : r->last_framed;
}

static void apply_everywhere(struct run *r, const struct entry *e, uint64_t index, int want)
{
    struct mt *reps[3] = {&r->a, &r->b, r->has_c ? &r->c : NULL};

    frame_add(r, e, index);
    for (int i = 0; i < 3 && reps[i] != NULL; i++) {
        int result = -1;
        int rv = meta_apply(reps[i]->m, index, e->bytes.data, e->bytes.len, &result);
        MCHECK_RV(rv, GW_OK, "meta_apply on replica %c stopped", "ABC"[i]);
        MCHECK_RV(result, want, "result on replica %c", "ABC"[i]);
    }
    if (index > r->applied) {
        r->applied = index;
    }
}

static void step_new(struct run *r, uint64_t ts)
{
    struct entry *e = &r->hist[r->n_hist++];
    uint64_t index = ++r->index;
    int want;

    gen(r, ts, &e->g);
    e->bytes = (struct gw_buf)GW_BUF_INIT;
    encode(&e->g, &e->bytes);
    e->index = index;
    e->is_garbage = chance(r, 40);
    if (e->is_garbage) {
        e->bytes.len = (size_t)below(r, (int)e->bytes.len); /* truncated: undecodable */
    }
    want = model_apply(r, e, index);
    if (!e->is_garbage) {
        (want == GW_OK ? stats.ok : stats.refused)[e->g.type]++;
    }
    trace(r, "#%llu %s%s bucket=%s key=%d id=%d user=%d owner=%d ak=%d ts=%llu -> %s",
          (unsigned long long)index, e->is_garbage ? "garbage:" : "",
          meta_cmd_type_name(e->g.type), bname(e->g.bucket), e->g.okey, e->g.id, e->g.user,
          e->g.owner, e->g.ak, (unsigned long long)ts, gw_err_name(want));
    apply_everywhere(r, e, index, want);
}

/* A client retry: an earlier entry's bytes again, at a new index. */
static void step_retry(struct run *r)
{
    const struct entry *old = &r->hist[below(r, (int)r->n_hist)];
    uint64_t index = ++r->index;
    int want = model_apply(r, old, index);

    trace(r, "#%llu retry of #%llu (%s) -> %s", (unsigned long long)index,
          (unsigned long long)old->index, meta_cmd_type_name(old->g.type), gw_err_name(want));
    apply_everywhere(r, old, index, want);
}

/* A replay after a restart: an earlier entry at its own index changes
 * nothing and reports its recorded result. */
static void step_replay(struct run *r)
{
    const struct entry *old = &r->hist[below(r, (int)r->n_hist)];
    struct dedup *d = old->is_garbage ? NULL : dd_find(r, &old->g);
    int want = d != NULL ? d->result : GW_OK;

    trace(r, "replay #%llu (%s) -> %s", (unsigned long long)old->index,
          meta_cmd_type_name(old->g.type), gw_err_name(want));
    apply_everywhere(r, old, old->index, want);
}

/* What the cleanup task does: abort every upload older than the expiry. */
static void step_expire(struct run *r, uint64_t now)
{
    const uint64_t expiry = 20000;
    struct meta_upload *v = NULL;
    size_t n = 0;

    assert_int_equal(meta_upload_list(r->a.m, GW_STR_NULL, GW_STR_NULL, GW_STR_NULL,
                                      GW_STR_NULL, 0, &v, &n),
                     0);
    trace(r, "expire at %llu: %zu uploads", (unsigned long long)now, n);
    for (size_t i = 0; i < n && r->n_hist < MAX_STEPS; i++) {
        uint64_t t = v[i].state == META_UPLOAD_OPEN ? v[i].initiated_ms : v[i].done_ms;
        struct entry *e;
        uint64_t index;
        if (t + expiry >= now) {
            continue;
        }
        e = &r->hist[r->n_hist++];
        memset(e, 0, sizeof *e);
        e->g.type = META_CMD_UPLOAD_ABORT;
        e->g.ts = now;
        e->g.who = N_WHO; /* a system command: no user */
        e->g.bucket = pool_find(BUCKETS, N_BUCKETS, gw_str_make(v[i].bucket, v[i].bucket_len));
        e->g.id = pool_find(IDS, N_IDS, gw_str_make(v[i].upload_id, v[i].upload_id_len));
        for (int j = 0; j < META_REQ_ID_LEN; j++) {
            e->g.req_id[j] = (uint8_t)rnd(r);
        }
        encode(&e->g, &e->bytes);
        index = e->index = ++r->index;
        apply_everywhere(r, e, index, model_apply(r, e, index));
    }
    gw_free(v);
}

static void step_restore(struct run *r)
{
    struct gw_buf snap = GW_BUF_INIT;
    uint64_t idx = 0;

    assert_int_equal(meta_snapshot(r->a.m, &snap), 0);
    replica_open(&r->c);
    MCHECK_RV(meta_restore(r->c.m, snap.data, snap.len), GW_OK, "restore");
    assert_int_equal(meta_applied_index(r->c.m, &idx), 0);
    MCHECK(idx == r->applied, "restored index %llu, want %llu", (unsigned long long)idx,
           (unsigned long long)r->applied);
    r->has_c = true;
    stats.restores++;
    trace(r, "snapshot of A (%zu bytes) restored into C", snap.len);
    gw_buf_free(&snap);
}

static void step_reopen(struct run *r)
{
    mt_reopen(&r->a);
    r->a.m->fault = fault_cb;
    memset(r->failures_a, 0, sizeof r->failures_a);
    stats.reopens++;
    trace(r, "A closed and reopened");
}

static void step(struct run *r, uint64_t *clock)
{
    int k = below(r, 100);

    *clock += 1 + rnd(r) % 2000;
    if (r->n_hist == 0 || k < 78) {
        step_new(r, *clock);
    } else if (k < 86) {
        step_retry(r);
    } else if (k < 91) {
        step_replay(r);
    } else if (k < 95) {
        step_expire(r, *clock);
    } else if (k < 97) {
        step_reopen(r);
    } else {
        r->index += META_DEDUP_WINDOW / 2 + rnd(r) % META_DEDUP_WINDOW; /* a long gap */
        trace(r, "index jumps to %llu", (unsigned long long)r->index);
    }
}

/* ---- a sequence ----------------------------------------------------------- */

static void dumps_equal(struct run *r)
{
    struct gw_buf s[3] = {GW_BUF_INIT, GW_BUF_INIT, GW_BUF_INIT};
    struct mt *reps[3] = {&r->a, &r->b, &r->c};
    int n = r->has_c ? 3 : 2;

    for (int i = 0; i < n; i++) {
        assert_int_equal(meta_snapshot(reps[i]->m, &s[i]), 0);
    }
    for (int i = 1; i < n; i++) {
        MCHECK(s[i].len == s[0].len && memcmp(s[i].data, s[0].data, s[0].len) == 0,
               "dump of replica %c differs from A's (%zu vs %zu bytes)", "ABC"[i], s[i].len,
               s[0].len);
    }
    for (int i = 0; i < n; i++) {
        gw_buf_free(&s[i]);
    }
}

/* With MODEL_SEED_DIR set, the first fixed sequences become seeds of
 * tests/fuzz/corpus/meta_seq/ (that is how seq-01..10 were made). */
static void seed_write(const struct run *r)
{
    const char *dir = getenv("MODEL_SEED_DIR");
    char path[4096];
    FILE *f;

    if (dir == NULL || r->seed > 10 || r->frames.len > 65536) {
        return;
    }
    snprintf(path, sizeof path, "%s/seq-%02llu.bin", dir, (unsigned long long)r->seed);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(r->frames.data, 1, r->frames.len, f), r->frames.len);
    fclose(f);
}

static void run_sequence(uint64_t seed)
{
    struct run *r = gw_calloc(1, sizeof *r);
    uint64_t clock = 1700000000000ull;
    int n_steps, restore_at;

    cur = r;
    r->seed = r->rng = seed;
    n_steps = 1 + below(r, MAX_STEPS / 2) + below(r, MAX_STEPS / 2);
    restore_at = below(r, n_steps);
    replica_open(&r->a);
    replica_open(&r->b);
    for (r->step = 0; r->step < n_steps && r->n_hist < MAX_STEPS - 8; r->step++) {
        if (r->step == restore_at) {
            step_restore(r);
        }
        step(r, &clock);
        check_all(r, r->a.m, r->failures_a);
        stats.steps++;
    }
    check_all(r, r->b.m, r->failures);
    if (r->has_c) {
        check_all(r, r->c.m, NULL);
    }
    dumps_equal(r);
    seed_write(r);
    if (getenv("MODEL_VERBOSE") != NULL) {
        fprintf(stderr, "model: seed %llu: %d steps, %zu entries, last index %llu\n",
                (unsigned long long)seed, r->step, r->n_hist, (unsigned long long)r->index);
    }
    for (size_t i = 0; i < r->n_hist; i++) {
        gw_buf_free(&r->hist[i].bytes);
    }
    mt_close(&r->a);
    mt_close(&r->b);
    if (r->has_c) {
        mt_close(&r->c);
    }
    gw_buf_free(&r->frames);
    gw_free(r);
    cur = NULL;
    stats.sequences++;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The fixed seeds, then random ones until MODEL_SECONDS have passed. */
static void model_sequences(void **state)
{
    const char *one = getenv("MODEL_SEED");
    const char *secs = getenv("MODEL_SECONDS");
    double budget = secs != NULL ? atof(secs) : 2.0;
    double t0 = now_s(), t1;
    uint64_t base, n_random = 0;

    (void)state;
    gw_log_threshold = (enum gw_log_level)(GW_LOG_ERROR + 1); /* injected faults log lines */
    if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0) {
        setenv("TMPDIR", "/dev/shm", 1); /* thousands of stores: spare the disk their fsyncs */
    }
    if (one != NULL) {
        run_sequence(strtoull(one, NULL, 10));
        return;
    }
    for (uint64_t s = 1; s <= MODEL_FIXED_SEEDS; s++) {
        run_sequence(s);
    }
    t1 = now_s();
    base = (uint64_t)time(NULL) * 1000003ull;
    fprintf(stderr, "model: random seeds from %llu for %.1f s\n", (unsigned long long)base,
            budget);
    while (now_s() - t1 < budget) {
        run_sequence(base + n_random++);
    }
    fprintf(stderr,
            "model: %llu sequences (%d fixed, %llu random), %llu steps, %llu queries, "
            "%llu injected apply failures, %llu restores, %llu reopens, %.1f s\n",
            (unsigned long long)stats.sequences, MODEL_FIXED_SEEDS,
            (unsigned long long)n_random, (unsigned long long)stats.steps,
            (unsigned long long)stats.queries, (unsigned long long)stats.faults,
            (unsigned long long)stats.restores, (unsigned long long)stats.reopens, now_s() - t0);
    for (uint16_t t = 1; getenv("MODEL_STATS") != NULL && t <= META_CMD__MAX; t++) {
        fprintf(stderr, "model:   %-20s %6llu applied, %6llu refused\n", meta_cmd_type_name(t),
                (unsigned long long)stats.ok[t], (unsigned long long)stats.refused[t]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_sequences),
    };
    return cmocka_run_group_tests_name("meta/model", tests, NULL, NULL);
}
