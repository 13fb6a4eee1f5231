/* The admin HTTP API (see admin_api.h for the routes).
 *
 * Happy path of one request: split the path into decoded segments ->
 * authenticate (SigV4 through the S3 service; admin users only) -> read the
 * small JSON body (checked against x-amz-content-sha256) -> run the
 * operation -> answer JSON.  Reads come from the local metadata replica on
 * the loop thread (short LMDB read transactions); changes are proposed and
 * answered from the proposer's callback; work on the mount (mkdir, rmdir,
 * readdir) runs on the data-path pool.  Cluster routes read the local Raft
 * status, probe the members' Raft ports on the pool (never on the loop), and
 * run membership changes through repl_change_submit (forwarded to the leader
 * from a follower).
 *
 * Failure modes: every error ends in node__adm_respond_err() with a JSON body; the
 * exchange is ended exactly once, by the write callback of the response.  A
 * bucket create whose proposal fails removes its directory again, as
 * CreateBucket does. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin_api.h"
#include "admin_op.h"
#include "config.h"
#include "unigw/alloc.h"
#include "unigw/buf.h"
#include "unigw/checksum.h"
#include "unigw/err.h"
#include "unigw/log.h"
#include "unigw/pool.h"

#define ADM_LIST_PAGE 256

static void op_free(void *arg)
{
    struct adm_op *o = arg;

    gw_buf_free(&o->body);
    gw_buf_free(&o->cmd);
    OPENSSL_cleanse(o->secret, sizeof o->secret);
    if (o->in != NULL) {
        json_decref(o->in);
        o->in = NULL;
    }
}

/* ---- Responses ----------------------------------------------------------- */

static void write_done_cb(struct s3_exchange *x, int rv, void *arg)
{
    s3_resp_end(x);
}

void node__adm_respond_text(struct adm_op *o, int status, const char *text, size_t len)
{
    struct s3_header h = {GW_STR("content-type"), GW_STR("application/json")};
    char *p = gw_arena_strndup(o->x->arena, text, len);

    s3_resp_start(o->x, status, &h, 1, (int64_t)len);
    if (s3_resp_write(o->x, p, len, write_done_cb, o) != 0) {
        s3_resp_end(o->x);
    }
}

/* Answer @j (a reference is stolen) with @status. */
void node__adm_respond_json(struct adm_op *o, int status, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    size_t len;

    if (text == NULL) {
        static const char fail[] = "{\"error\":\"InternalError\",\"message\":\"The answer "
                                   "could not be encoded as JSON.\"}\n";
        json_decref(j);
        node__adm_respond_text(o, 500, fail, sizeof fail - 1);
        return;
    }
    len = strlen(text);
    text = gw_realloc(text, len + 2);
    memcpy(text + len, "\n", 2);
    node__adm_respond_text(o, status, text, len + 1);
    gw_free(text);
    json_decref(j);
}

void node__adm_respond_err(struct adm_op *o, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    GW_LOG(GW_LOG_INFO, "admin", "req=%s status=%d error=%s msg=\"%s\"", o->x->req.request_id,
           status, code, msg);
    node__adm_respond_json(o, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

/* An error from the table, for codes that need no admin-specific wording. */
void node__adm_respond_rv(struct adm_op *o, int rv)
{
    node__adm_respond_err(o, gw_err_status(rv), gw_err_code(rv), "%s", gw_err_message(rv));
}

void node__adm_respond_no_user(struct adm_op *o)
{
    node__adm_respond_err(o, 404, "NoSuchUser", "The user '%.*s' does not exist.", (int)o->name.len,
                o->name.p);
}

json_t *node__adm_json_time(uint64_t ms)
{
    char text[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms == 0) {
        return json_null();
    }
    gmtime_r(&t, &tm);
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(text);
}

/* ---- Proposals ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node__adm_hdr_make(struct adm_op *o, struct meta_cmd_hdr *h)
{
    gw_buf_reset(&o->cmd);
    return meta_cmd_hdr_init(h, now_ms(), gw_str_c(o->id.user));
}

/* Submit o->cmd; on refusal answer the error at once. */
void node__adm_propose(struct adm_op *o, int rv, meta_propose_cb cb)
{
    if (rv == 0) {
        rv = meta_propose(o->adm->prop, &o->cmd, cb, o);
    }
    if (rv != 0) {
        node__adm_respond_rv(o, rv);
    }
}

/* The common end of a proposal: a replication fault, or the apply result. */
int node__adm_result(int rv, int result)
{
    return rv != 0 ? rv : result;
}

/* ---- Users --------------------------------------------------------------- */

static json_t *user_json(const struct meta_user *u)
{
    return json_pack("{s:s, s:s, s:b, s:b, s:o}", "name", u->name, "id", u->id, "admin",
                     u->is_admin, "disabled", u->is_disabled, "created",
                     node__adm_json_time(u->created_ms));
}

static void user_list(struct adm_op *o)
{
    json_t *arr = json_array();
    struct gw_str after = GW_STR("");
    char last[META_NAME_MAX + 1] = "";

    for (;;) {
        struct meta_user *v = NULL;
        size_t n = 0;
        int rv = meta_user_list(o->adm->meta, after, ADM_LIST_PAGE, &v, &n);
        if (rv != 0) {
            json_decref(arr);
            node__adm_respond_rv(o, rv);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(arr, user_json(&v[i]));
        }
        if (n > 0) {
            memcpy(last, v[n - 1].name, v[n - 1].name_len + 1);
        }
        gw_free(v);
        if (n < ADM_LIST_PAGE) {
            break;
        }
        after = gw_str_c(last);
    }
    node__adm_respond_json(o, 200, json_pack("{s:o}", "users", arr));
}

/* The access keys of o->name as a JSON array; NULL on a store fault. */
static json_t *keys_json(struct adm_op *o)
{
    char(*keys)[META_NAME_MAX + 1] = NULL;
    size_t n = 0;
    json_t *arr;

    if (meta_key_list(o->adm->meta, o->name, &keys, &n) != 0) {
        return NULL;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:s}", "access_key", keys[i]));
    }
    gw_free(keys);
    return arr;
}

/* GET users/N (with its keys) and GET users/N/keys. */
static void user_show(struct adm_op *o, bool keys_only)
{
    struct meta_user u;
    int rv = meta_user_get(o->adm->meta, o->name, &u);
    json_t *keys;
    json_t *j;

    if (rv == GW_ERR_NOT_FOUND) {
        node__adm_respond_no_user(o);
        return;
    }
    keys = rv == 0 ? keys_json(o) : NULL;
    if (keys == NULL) {
        node__adm_respond_rv(o, rv != 0 ? rv : GW_ERR_INTERNAL);
        return;
    }
    if (keys_only) {
        node__adm_respond_json(o, 200, json_pack("{s:s, s:o}", "user", u.name, "keys", keys));
        return;
    }
    j = user_json(&u);
    json_object_set_new(j, "keys", keys);
    node__adm_respond_json(o, 200, j);
}

static void user_changed_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;
    struct meta_user u;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_NOT_FOUND) {
        node__adm_respond_no_user(o);
    } else if (rv == GW_ERR_EXISTS) {
        node__adm_respond_err(o, 409, "UserAlreadyExists", "The user '%.*s' already exists.",
                    (int)o->name.len, o->name.p);
    } else if (rv == GW_ERR_INVALID_ARGUMENT) {
        node__adm_respond_err(o, 400, "InvalidUserName",
                    "User names are 1 to 255 bytes of letters, digits and .-_@+=,");
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else if (meta_user_get(o->adm->meta, o->name, &u) != 0) {
        node__adm_respond_rv(o, GW_ERR_INTERNAL);
    } else {
        bool is_create = gw_str_eq_c(o->x->req.method, "POST") && o->n_seg == 1;

        node__adm_respond_json(o, is_create ? 201 : 200, user_json(&u));
    }
}

static void user_create(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv = node__adm_hdr_make(o, &h);

    if (rv == 0) {
        rv = meta_cmd_user_create(&o->cmd, &h, o->name, o->flag);
    }
    if (rv == GW_ERR_INVALID_ARGUMENT) {
        user_changed_cb(o, 0, rv);
        return;
    }
    node__adm_propose(o, rv, user_changed_cb);
}

static void user_set_disabled(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv;

    if (o->flag && gw_str_eq_c(o->name, ADM_ROOT_USER)) {
        node__adm_respond_err(o, 400, "InvalidRequest", "The root user cannot be disabled.");
        return;
    }
    rv = node__adm_hdr_make(o, &h);
    if (rv == 0) {
        rv = meta_cmd_user_set_disabled(&o->cmd, &h, o->name, o->flag);
    }
    node__adm_propose(o, rv, user_changed_cb);
}

static void user_deleted_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_NOT_FOUND) {
        node__adm_respond_no_user(o);
    } else if (rv == GW_ERR_INVALID_REQUEST) {
        node__adm_respond_err(o, 409, "UserOwnsBuckets",
                    "The user '%.*s' still owns buckets: delete them or give them to another "
                    "owner first.",
                    (int)o->name.len, o->name.p);
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else {
        node__adm_respond_json(o, 200, json_pack("{s:s%}", "deleted", o->name.p, o->name.len));
    }
}

static void user_delete(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv;

    if (gw_str_eq_c(o->name, ADM_ROOT_USER)) {
        node__adm_respond_err(o, 400, "InvalidRequest", "The root user cannot be deleted.");
        return;
    }
    rv = node__adm_hdr_make(o, &h);
    if (rv == 0) {
        rv = meta_cmd_user_delete(&o->cmd, &h, o->name);
    }
    node__adm_propose(o, rv, user_deleted_cb);
}

/* ---- Access keys --------------------------------------------------------- */

/* @n random characters of @alphabet (rejection sampling: no modulo bias). */
static int random_string(char *out, size_t n, const char *alphabet)
{
    size_t m = strlen(alphabet);
    unsigned char r;

    for (size_t i = 0; i < n;) {
        if (RAND_bytes(&r, 1) != 1) {
            return GW_ERR_INTERNAL;
        }
        if (r < 256 - 256 % m) {
            out[i++] = alphabet[r % m];
        }
    }
    out[n] = '\0';
    return GW_OK;
}

static void key_created_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_INVALID_ARGUMENT) {
        node__adm_respond_no_user(o); /* the user went away meanwhile */
        return;
    }
    if (rv != 0) {
        node__adm_respond_rv(o, rv);
        return;
    }
    node__adm_respond_json(o, 201, json_pack("{s:s%, s:s, s:s}", "user", o->name.p, o->name.len,
                                   "access_key", o->access, "secret_key", o->secret));
    OPENSSL_cleanse(o->secret, sizeof o->secret);
}

static void key_create(struct adm_op *o)
{
    struct gw_buf sealed = GW_BUF_INIT;
    struct meta_cmd_hdr h;
    struct meta_user u;
    int rv = meta_user_get(o->adm->meta, o->name, &u);

    if (rv == GW_ERR_NOT_FOUND) {
        node__adm_respond_no_user(o);
        return;
    }
    if (rv == 0) {
        rv = random_string(o->access, ADM_ACCESS_LEN, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    }
    if (rv == 0) {
        rv = random_string(o->secret, ADM_SECRET_LEN,
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    }
    if (rv == 0) {
        rv = meta_key_seal(o->adm->meta, gw_str_c(o->secret), &sealed);
    }
    if (rv == 0) {
        rv = node__adm_hdr_make(o, &h);
    }
    if (rv == 0) {
        rv = meta_cmd_key_create(&o->cmd, &h, gw_str_c(o->access), o->name, gw_buf_str(&sealed));
    }
    gw_buf_free(&sealed);
    node__adm_propose(o, rv, key_created_cb);
}

static void key_deleted_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_NOT_FOUND) {
        node__adm_respond_err(o, 404, "NoSuchAccessKey", "The access key '%.*s' does not exist.",
                    (int)o->name.len, o->name.p);
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else {
        node__adm_respond_json(o, 200, json_pack("{s:s%}", "deleted", o->name.p, o->name.len));
    }
}

static void key_delete(struct adm_op *o)
{
    struct meta_cmd_hdr h;
    int rv = node__adm_hdr_make(o, &h);

    if (rv == 0) {
        rv = meta_cmd_key_delete(&o->cmd, &h, o->name);
    }
    if (rv == GW_ERR_INVALID_ARGUMENT) {
        key_deleted_cb(o, 0, GW_ERR_NOT_FOUND); /* no such name can exist */
        return;
    }
    node__adm_propose(o, rv, key_deleted_cb);
}


/* ---- Cluster ------------------------------------------------------------- */

#define ADM_PROBE_MS 500 /* how long a member's Raft port gets to accept a connection */

static const char *role_name(enum repl_role r)
{
    switch (r) {
    case REPL_ROLE_VOTER:
        return "voter";
    case REPL_ROLE_STANDBY:
        return "standby";
    case REPL_ROLE_SPARE:
        return "spare";
    default:
        return "unknown";
    }
}

static const char *state_name(enum repl_state s)
{
    static const char *const names[] = {"unavailable", "follower", "candidate", "leader"};

    return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Start a non-blocking connect to "a.b.c.d:port": the socket while it is in progress, -1
 * when it already finished (*@reach tells how). */
static int probe_open(const char *addr, bool *reach)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char ip[REPL_ADDR_MAX];
    unsigned port = 0;
    int fd;

    *reach = false;
    if (sscanf(addr, "%15[0-9.]:%u", ip, &port) != 2 || port == 0 || port > 65535 ||
        inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        return -1;
    }
    sa.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        *reach = true;
    } else if (errno == EINPROGRESS) {
        return fd;
    }
    close(fd);
    return -1;
}

/* Connect to every member's Raft address at once; reachable = the connect completed within
 * ADM_PROBE_MS.  Runs on a pool thread. */
static void probe_all(const struct repl_member *mb, size_t n, bool *reach)
{
    struct pollfd pfd[REPL_MEMBERS_MAX];
    uint64_t end = mono_ms() + ADM_PROBE_MS;
    size_t left = 0;

    for (size_t i = 0; i < n; i++) {
        pfd[i] = (struct pollfd){.fd = probe_open(mb[i].addr, &reach[i]), .events = POLLOUT};
        left += pfd[i].fd >= 0;
    }
    while (left > 0 && mono_ms() < end) {
        int rc = poll(pfd, n, (int)(end - mono_ms()));
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        for (size_t i = 0; rc > 0 && i < n; i++) {
            int err = 0;
            socklen_t len = sizeof err;
            if (pfd[i].fd < 0 || pfd[i].revents == 0) {
                continue;
            }
            reach[i] = getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
            close(pfd[i].fd);
            pfd[i].fd = -1;
            left--;
        }
        if (rc <= 0) {
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (pfd[i].fd >= 0) {
            close(pfd[i].fd);
        }
    }
}

static void probe_work_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;

    probe_all(o->cl_status->members, o->cl_status->n_members, o->cl_reach);
}

/* A value only the local node knows, or null for the other members. */
static json_t *own_u64(bool is_self, uint64_t v)
{
    return is_self ? json_integer((json_int_t)v) : json_null();
}

/* The registered record of member @id in @reg (NULL: not registered yet). */
static const struct meta_member *member_reg(const struct meta_member *reg, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (reg[i].node_id == id) {
            return &reg[i];
        }
    }
    return NULL;
}

static json_t *level_json(const struct meta_member *r, bool is_max)
{
    return r != NULL ? json_integer(is_max ? r->max_level : r->min_level) : json_null();
}

/* @r: the member's record in the members db (its version and levels), or NULL. */
static json_t *member_json(const struct repl_status *st, size_t i, bool reach,
                           const struct meta_member *r)
{
    const struct repl_member *mb = &st->members[i];
    bool is_self = mb->id == st->id;
    const char *version = r != NULL ? r->version : is_self ? UNIGW_VERSION : NULL;

    return json_pack("{s:I, s:s, s:s, s:b, s:b, s:s?, s:o, s:o, s:o, s:s?, s:o, s:o, s:b}", "id",
                     (json_int_t)mb->id, "raft_address", mb->addr, "role", role_name(mb->role),
                     "leader", mb->id == st->leader_id && st->leader_id != 0, "self", is_self,
                     "state", is_self ? state_name(st->state) : NULL, "term",
                     own_u64(is_self, st->term), "commit_index",
                     own_u64(is_self, st->commit_index), "applied_index",
                     own_u64(is_self, st->applied_index), "version", version, "min_level",
                     level_json(r, false), "max_level", level_json(r, true), "reachable",
                     reach);
}

static void probe_done_cb(struct gw_pool_job *job)
{
    struct adm_op *o = job->data;
    const struct repl_status *st = o->cl_status;
    json_t *arr = json_array();
    struct meta_member *reg = NULL;
    size_t n_reg = 0;
    uint32_t level = 0;
    json_t *j;

    if (meta_member_list(o->adm->meta, &reg, &n_reg) != 0 ||
        meta_level_active(o->adm->meta, &level) != 0) {
        json_decref(arr);
        gw_free(reg);
        node__adm_respond_rv(o, GW_ERR_INTERNAL);
        return;
    }
    for (size_t i = 0; i < st->n_members; i++) {
        const struct meta_member *r = member_reg(reg, n_reg, st->members[i].id);

        json_array_append_new(arr, member_json(st, i, o->cl_reach[i], r));
    }
    gw_free(reg);
    j = json_pack("{s:I, s:s, s:s, s:b, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "id",
                  (json_int_t)st->id, "raft_address", st->addr, "state", state_name(st->state),
                  "leader_ready", st->is_leader_ready, "leader_id",
                  st->leader_id != 0 ? json_integer((json_int_t)st->leader_id) : json_null(),
                  "leader_address", st->leader_addr, "term", (json_int_t)st->term,
                  "commit_index", (json_int_t)st->commit_index, "last_index",
                  (json_int_t)st->last_index, "applied_index", (json_int_t)st->applied_index,
                  "no_leader_ms", (json_int_t)st->no_leader_ms, "version", UNIGW_VERSION,
                  "members", arr);
    json_object_set_new(j, "feature_level", json_integer(level));
    json_object_set_new(j, "feature_level_max", json_integer(META_LEVEL_MAX));
    node__adm_respond_json(o, 200, j);
}

/* GET cluster: the local Raft status now, each member probed on the pool. */
static void cluster_status(struct adm_op *o)
{
    o->cl_status = gw_arena_zalloc(o->x->arena, sizeof *o->cl_status);
    repl_status_get(o->adm->repl, o->cl_status);
    o->cl_reach = gw_arena_zalloc(o->x->arena, REPL_MEMBERS_MAX * sizeof *o->cl_reach);
    gw_pool_submit(o->x->pool, &o->job, probe_work_cb, probe_done_cb, o);
}

/* 503 NoLeader, with the leader this node knows of (if any) for the caller to retry at. */
static void respond_no_leader(struct adm_op *o)
{
    struct repl_status st;
    json_t *j;

    repl_status_get(o->adm->repl, &st);
    j = json_pack("{s:s, s:s, s:o, s:s}", "error", "NoLeader", "message",
                  "No leader is known, or leadership changed while the request ran: retry "
                  "in a moment.",
                  "leader_id",
                  st.leader_id != 0 ? json_integer((json_int_t)st.leader_id) : json_null(),
                  "leader_address", st.leader_addr);
    node__adm_respond_json(o, 503, j);
}

static void change_respond_err(struct adm_op *o, int rv)
{
    const struct repl_change *ch = &o->cl_change;
    unsigned long long id = (unsigned long long)ch->id;

    if (rv == GW_ERR_NOT_LEADER) {
        respond_no_leader(o);
    } else if (rv == GW_ERR_EXISTS) {
        node__adm_respond_err(o, 409, "MemberExists",
                              "A member with id %llu or address %s is already in the cluster.",
                              id, ch->addr);
    } else if (rv == GW_ERR_NOT_FOUND) {
        node__adm_respond_err(o, 404, "NoSuchMember", "No member has id %llu.", id);
    } else if (rv == GW_ERR_AGAIN && ch->op == REPL_CHANGE_TRANSFER) {
        node__adm_respond_err(o, 409, "TransferFailed",
                              "Leadership did not move (no up-to-date voter took over, or a "
                              "membership change is running); retry.");
    } else if (rv == GW_ERR_AGAIN) {
        node__adm_respond_err(o, 409, "MembershipChangeFailed",
                              "Another membership change is running, or node %llu could not "
                              "catch up; see 'cluster status' and retry.", id);
    } else if (rv == GW_ERR_INVALID) {
        node__adm_respond_err(o, 400, "InvalidRequest",
                              "Member ids are integers > 0 and Raft addresses a.b.c.d:port.");
    } else if (rv == GW_ERR_SLOW_DOWN) {
        node__adm_respond_err(o, 503, "SlowDown",
                              "The leader did not answer in time; the change may still "
                              "complete: see 'cluster status'.");
    } else {
        node__adm_respond_rv(o, rv);
    }
}

static void change_done_cb(void *arg, int rv)
{
    struct adm_op *o = arg;
    const struct repl_change *ch = &o->cl_change;
    struct repl_status st;

    if (rv != 0) {
        change_respond_err(o, rv);
    } else if (ch->op == REPL_CHANGE_ADD) {
        node__adm_respond_json(o, 200, json_pack("{s:I, s:s, s:s}", "added", (json_int_t)ch->id,
                                                 "raft_address", ch->addr, "role",
                                                 ch->as_voter ? "voter" : "standby"));
    } else if (ch->op == REPL_CHANGE_REMOVE) {
        node__adm_respond_json(o, 200, json_pack("{s:I}", "removed", (json_int_t)ch->id));
    } else {
        repl_status_get(o->adm->repl, &st);
        node__adm_respond_json(
            o, 200,
            json_pack("{s:b, s:o, s:s}", "transferred", true, "leader_id",
                      st.leader_id != 0 ? json_integer((json_int_t)st.leader_id) : json_null(),
                      "leader_address", st.leader_addr));
    }
}

static void change_submit(struct adm_op *o)
{
    int rv = repl_change_submit(o->adm->repl, &o->cl_change, change_done_cb, o);

    GW_LOG(GW_LOG_INFO, "admin", "req=%s cluster change op=%d id=%llu addr=%s rv=%s",
           o->x->req.request_id, (int)o->cl_change.op, (unsigned long long)o->cl_change.id,
           o->cl_change.addr, gw_err_name(rv));
    if (rv != 0) {
        change_respond_err(o, rv);
    }
}

/* An optional member id in the body: a positive integer (absent: 0). */
static bool body_member_id(struct adm_op *o, bool is_required, uint64_t *out)
{
    json_t *v = json_object_get(o->in, "id");

    *out = 0;
    if (v == NULL && !is_required) {
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        node__adm_respond_err(o, 400, "InvalidRequest", "\"id\" must be an integer > 0.");
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* POST cluster/members {"id", "raft_address", "voter"}. */
static void member_add(struct adm_op *o)
{
    struct repl_change *ch = &o->cl_change;
    json_t *voter;
    struct gw_str addr;

    if (!node__adm_body_json(o) || !body_member_id(o, true, &ch->id) ||
        !node__adm_body_string(o, "raft_address", &addr)) {
        return;
    }
    voter = json_object_get(o->in, "voter");
    if (voter != NULL && !json_is_boolean(voter)) {
        node__adm_respond_err(o, 400, "InvalidRequest", "\"voter\" must be true or false.");
        return;
    }
    if (addr.len >= sizeof ch->addr) {
        change_respond_err(o, GW_ERR_INVALID);
        return;
    }
    memcpy(ch->addr, addr.p, addr.len);
    ch->op = REPL_CHANGE_ADD;
    ch->as_voter = voter == NULL || json_is_true(voter);
    change_submit(o);
}

/* DELETE cluster/members/N. */
static void member_remove(struct adm_op *o)
{
    struct repl_change *ch = &o->cl_change;

    if (!gw_str_to_u64(o->seg[2], &ch->id) || ch->id == 0) {
        node__adm_respond_err(o, 400, "InvalidRequest", "Member ids are integers > 0.");
        return;
    }
    ch->op = REPL_CHANGE_REMOVE;
    change_submit(o);
}

/* POST cluster/transfer with {"id": N}, {} or no body (any up-to-date voter). */
static void leader_transfer(struct adm_op *o)
{
    struct repl_change *ch = &o->cl_change;

    ch->op = REPL_CHANGE_TRANSFER;
    if (o->body.len > 0 && (!node__adm_body_json(o) || !body_member_id(o, false, &ch->id))) {
        return;
    }
    change_submit(o);
}

/* Why finalize was refused, naming the voters that hold it back. */
static void finalize_refused(struct adm_op *o)
{
    struct meta_member *reg = NULL;
    const struct meta_member *r;
    const struct repl_status *st = o->cl_status;
    char why[1024] = "";
    size_t n_reg = 0, len = 0;

    (void)meta_member_list(o->adm->meta, &reg, &n_reg);
    for (size_t i = 0; i < st->n_members && len < sizeof why; i++) {
        if (st->members[i].role != REPL_ROLE_VOTER) {
            continue;
        }
        r = member_reg(reg, n_reg, st->members[i].id);
        len += (size_t)snprintf(why + len, sizeof why - len, "%s node %llu: %s",
                                len == 0 ? "" : ";", (unsigned long long)st->members[i].id,
                                r != NULL ? r->version : "not registered");
        if (r != NULL && len < sizeof why) {
            len += (size_t)snprintf(why + len, sizeof why - len, " levels %u-%u",
                                    r->min_level, r->max_level);
        }
    }
    gw_free(reg);
    node__adm_respond_err(o, 409, "UpgradeNotReady",
                          "Not every voter supports a level at or above the active one (or one "
                          "has not registered yet): upgrade or restart them first.%s",
                          why);
}

static void finalized_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;
    uint32_t level = 0;

    rv = node__adm_result(rv, result);
    if (rv == GW_ERR_PRECONDITION_FAILED) {
        finalize_refused(o);
    } else if (rv == GW_ERR_NOT_LEADER) {
        respond_no_leader(o);
    } else if (rv != 0) {
        node__adm_respond_rv(o, rv);
    } else if (meta_level_active(o->adm->meta, &level) != 0) {
        node__adm_respond_rv(o, GW_ERR_INTERNAL);
    } else {
        node__adm_respond_json(o, 200, json_pack("{s:I}", "feature_level", (json_int_t)level));
    }
}

/* POST cluster/finalize-upgrade: raise the active feature level to the highest every
 * voter (of this node's view of the configuration) supports. */
static void finalize_upgrade(struct adm_op *o)
{
    uint64_t voters[REPL_MEMBERS_MAX];
    struct meta_cmd_hdr h;
    size_t n = 0;
    int rv;

    o->cl_status = gw_arena_zalloc(o->x->arena, sizeof *o->cl_status);
    repl_status_get(o->adm->repl, o->cl_status);
    for (size_t i = 0; i < o->cl_status->n_members && n < META_VOTERS_MAX; i++) {
        if (o->cl_status->members[i].role == REPL_ROLE_VOTER) {
            voters[n++] = o->cl_status->members[i].id;
        }
    }
    rv = node__adm_hdr_make(o, &h);
    if (rv == 0) {
        rv = meta_cmd_cluster_finalize(&o->cmd, &h, voters, n);
    }
    GW_LOG(GW_LOG_INFO, "admin", "req=%s cluster finalize-upgrade voters=%zu rv=%s",
           o->x->req.request_id, n, gw_err_name(rv));
    node__adm_propose(o, rv, finalized_cb);
}

void node__adm_cluster_route(struct adm_op *o, struct gw_str m)
{
    struct gw_str sub = o->n_seg >= 2 ? o->seg[1] : GW_STR("");

    if (o->n_seg == 1 && gw_str_eq_c(m, "GET")) {
        cluster_status(o);
    } else if (o->n_seg == 2 && gw_str_eq_c(sub, "members") && gw_str_eq_c(m, "POST")) {
        member_add(o);
    } else if (o->n_seg == 3 && gw_str_eq_c(sub, "members") && gw_str_eq_c(m, "DELETE")) {
        member_remove(o);
    } else if (o->n_seg == 2 && gw_str_eq_c(sub, "transfer") && gw_str_eq_c(m, "POST")) {
        leader_transfer(o);
    } else if (o->n_seg == 2 && gw_str_eq_c(sub, "finalize-upgrade") &&
               gw_str_eq_c(m, "POST")) {
        finalize_upgrade(o);
    } else {
        node__adm_respond_err(o, 404, "NoSuchRoute", "No admin route for %.*s %.*s.", (int)m.len,
                              m.p, (int)o->x->req.target.len, o->x->req.target.p);
    }
}

/* ---- Request entry ------------------------------------------------------- */

/* A user name for a new user: 1 to 64 of A-Z a-z 0-9 and . _ - @ + = , (IAM's set). */
static bool user_name_ok(struct gw_str s)
{
    if (s.len == 0 || s.len > 64) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._-@+=,", c) != NULL)) {
            return false;
        }
    }
    return true;
}

/* A string member of the JSON body, as a view into the arena. */
bool node__adm_body_string(struct adm_op *o, const char *name, struct gw_str *out)
{
    json_t *v = json_object_get(o->in, name);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        node__adm_respond_err(o, 400, "InvalidRequest", "The body needs a non-empty string \"%s\".",
                    name);
        return false;
    }
    *out = gw_arena_str(o->x->arena,
                        gw_str_make(json_string_value(v), json_string_length(v)));
    return true;
}

/* A boolean member (absent: false). */
static bool body_bool(struct adm_op *o, const char *name, bool *out)
{
    json_t *v = json_object_get(o->in, name);

    if (v != NULL && !json_is_boolean(v)) {
        node__adm_respond_err(o, 400, "InvalidRequest", "\"%s\" must be true or false.", name);
        return false;
    }
    *out = v != NULL && json_is_true(v);
    return true;
}

/* Parse the body as one JSON object into o->in (for policies: just check). */
bool node__adm_body_json(struct adm_op *o)
{
    json_error_t err;

    o->in = json_loadb(o->body.data != NULL ? o->body.data : "", o->body.len, 0, &err);
    if (o->in == NULL || !json_is_object(o->in)) {
        node__adm_respond_err(o, 400, "MalformedJSON", "The body is not a JSON object: %s",
                    o->in == NULL ? err.text : "wrong type");
        return false;
    }
    return true;
}

static void users_route(struct adm_op *o, struct gw_str m)
{
    struct gw_str verb = o->n_seg == 3 ? o->seg[2] : GW_STR("");

    if (o->n_seg == 1 && gw_str_eq_c(m, "GET")) {
        user_list(o);
    } else if (o->n_seg == 1 && gw_str_eq_c(m, "POST")) {
        if (node__adm_body_json(o) && node__adm_body_string(o, "name", &o->name) &&
            body_bool(o, "admin", &o->flag)) {
            if (!user_name_ok(o->name)) {
                user_changed_cb(o, 0, GW_ERR_INVALID_ARGUMENT);
                return;
            }
            user_create(o);
        }
    } else if (o->n_seg == 2 && gw_str_eq_c(m, "GET")) {
        user_show(o, false);
    } else if (o->n_seg == 2 && gw_str_eq_c(m, "DELETE")) {
        user_delete(o);
    } else if (gw_str_eq_c(m, "POST") && (gw_str_eq_c(verb, "disable") ||
                                          gw_str_eq_c(verb, "enable"))) {
        o->flag = gw_str_eq_c(verb, "disable");
        user_set_disabled(o);
    } else if (gw_str_eq_c(verb, "keys") && gw_str_eq_c(m, "GET")) {
        user_show(o, true);
    } else if (gw_str_eq_c(verb, "keys") && gw_str_eq_c(m, "POST")) {
        key_create(o);
    } else {
        node__adm_respond_err(o, 404, "NoSuchRoute", "No admin route for %.*s %.*s.",
                              (int)m.len, m.p, (int)o->x->req.target.len, o->x->req.target.p);
    }
}

static void route(struct adm_op *o)
{
    struct gw_str m = o->x->req.method;
    struct gw_str top = o->seg[0];

    if (o->n_seg >= 2) {
        o->name = o->seg[1];
    }
    if (gw_str_eq_c(top, "users") && o->n_seg <= 3) {
        users_route(o, m);
    } else if (gw_str_eq_c(top, "buckets") && o->n_seg <= 3) {
        node__adm_buckets_route(o, m);
    } else if (gw_str_eq_c(top, "keys") && o->n_seg == 2 && gw_str_eq_c(m, "DELETE")) {
        key_delete(o);
    } else if (gw_str_eq_c(top, "cluster") && o->n_seg <= 3) {
        node__adm_cluster_route(o, m);
    } else {
        node__adm_respond_err(o, 404, "NoSuchRoute", "No admin route for %.*s %.*s.",
                              (int)m.len, m.p, (int)o->x->req.target.len, o->x->req.target.p);
    }
}

static void body_ready_cb(struct s3_exchange *x, void *arg);

/* Read the whole (small) body, check its digest, then route. */
static void body_pump(struct adm_op *o)
{
    unsigned char sha[GW_SHA256_LEN];

    for (;;) {
        struct gw_str c = GW_STR_NULL;
        bool eof = false;
        int rv = s3_body_read(o->x, &c, &eof);
        if (rv == GW_ERR_AGAIN) {
            s3_body_wait(o->x, body_ready_cb, o);
            return;
        }
        if (rv != 0) {
            node__adm_respond_rv(o, rv);
            return;
        }
        if (o->body.len + c.len > NODE_ADMIN_BODY_MAX) {
            node__adm_respond_err(o, 413, "EntityTooLarge", "The body is over %d bytes.",
                        NODE_ADMIN_BODY_MAX);
            return;
        }
        gw_buf_append(&o->body, c.p, c.len);
        if (eof) {
            break;
        }
    }
    gw_sha256(o->body.data != NULL ? o->body.data : "", o->body.len, sha);
    if (o->id.has_payload_sha256 && memcmp(sha, o->id.payload_sha256, sizeof sha) != 0) {
        node__adm_respond_rv(o, GW_ERR_SHA256_MISMATCH);
        return;
    }
    route(o);
}

static void body_ready_cb(struct s3_exchange *x, void *arg)
{
    body_pump(arg);
}

/* Split the path after the prefix into percent-decoded segments. */
static bool split_path(struct adm_op *o)
{
    struct gw_str t = o->x->req.target;
    struct gw_str path;
    struct gw_str seg;

    gw_str_split(&t, '?', &path);
    path.p += strlen(NODE_ADMIN_PREFIX);
    path.len -= strlen(NODE_ADMIN_PREFIX);
    while (path.len > 0) {
        char *buf = gw_arena_alloc(o->x->arena, path.len + 1);
        size_t len = 0;
        gw_str_split(&path, '/', &seg);
        if (o->n_seg == ADM_MAX_SEGS || seg.len == 0 ||
            !gw_url_decode(seg, buf, &len, false) || memchr(buf, '\0', len) != NULL) {
            return false;
        }
        o->seg[o->n_seg++] = gw_str_make(buf, len);
    }
    return o->n_seg > 0;
}

int node_admin_create(struct meta *m, struct meta_proposer *prop, struct s3_service *s3,
                      struct repl *repl, const char *region, struct node_admin **out)
{
    struct node_admin *a = gw_calloc(1, sizeof *a);

    a->repl = repl;
    a->meta = m;
    a->prop = prop;
    a->s3 = s3;
    a->region = gw_strdup(region != NULL ? region : "us-east-1");
    *out = a;
    return GW_OK;
}

void node_admin_destroy(struct node_admin *a)
{
    if (a == NULL) {
        return;
    }
    gw_free(a->region);
    gw_free(a);
}

bool node_admin_matches(struct gw_str target)
{
    size_t n = strlen(NODE_ADMIN_PREFIX);

    return target.len >= n && memcmp(target.p, NODE_ADMIN_PREFIX, n) == 0;
}

static void admin_barrier_cb(void *arg, int rv, int result)
{
    struct adm_op *o = arg;

    (void)result;
    if (rv != 0) {
        node__adm_respond_rv(o, rv);
        return;
    }
    body_pump(o);
}

const char *node__adm_refusal(const struct s3_identity *id, int *status, const char **code)
{
    if (id->is_presigned) {
        *status = 403;
        *code = "AccessDenied";
        return "The admin API takes no presigned URLs; sign the Authorization header.";
    }
    if (id->is_streaming) {
        *status = 400;
        *code = "InvalidRequest";
        return "The admin API takes no aws-chunked bodies.";
    }
    if (!id->has_payload_sha256) {
        *status = 403;
        *code = "AccessDenied";
        return "The admin API needs a signed body: x-amz-content-sha256 must be the hex "
               "SHA-256 of the body, not UNSIGNED-PAYLOAD.";
    }
    return NULL;
}

/* False (answered) when node__adm_refusal refuses the request. */
static bool signed_body_check(struct adm_op *o)
{
    int status = 0;
    const char *code = NULL;
    const char *why = node__adm_refusal(&o->id, &status, &code);

    if (why != NULL) {
        node__adm_respond_err(o, status, code, "%s", why);
        return false;
    }
    return true;
}

void node_admin_handle(struct node_admin *a, struct s3_exchange *x)
{
    struct adm_op *o = gw_arena_zalloc(x->arena, sizeof *o);
    int rv;

    o->adm = a;
    o->x = x;
    x->op_name = "Admin";
    gw_arena_defer(x->arena, op_free, o);
    rv = s3_authenticate(a->s3, &x->req, x->arena, &o->id);
    if (rv != 0) {
        node__adm_respond_rv(o, rv);
        return;
    }
    if (!o->id.is_admin) {
        node__adm_respond_err(o, 403, "AccessDenied",
                              "The admin API is for admin users; '%s' is not one.", o->id.user);
        return;
    }
    if (!signed_body_check(o)) {
        return;
    }
    if (!split_path(o)) {
        node__adm_respond_err(o, 400, "InvalidRequest", "Malformed admin path.");
        return;
    }
    /* Admin requests read before they write (does the user exist? the bucket?):
     * on a cluster they first wait until this replica holds every committed
     * write, so a user created through another node a moment ago is here. */
    if (a->prop->barrier != NULL && a->prop->barrier(a->prop, admin_barrier_cb, o) == 0) {
        return;
    }
    body_pump(o);
}
