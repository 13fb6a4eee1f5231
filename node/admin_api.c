/* The admin HTTP API (see admin_api.h for the routes).
 *
 * Happy path of one request: split the path into decoded segments ->
 * authenticate (SigV4 through the S3 service; admin users only) -> read the
 * small JSON body (checked against x-amz-content-sha256) -> run the
 * operation -> answer JSON.  Reads come from the local metadata replica on
 * the loop thread (short LMDB read transactions); changes are proposed and
 * answered from the proposer's callback; work on the mount (mkdir, rmdir,
 * readdir) runs on the data-path pool.
 *
 * Failure modes: every error ends in node__adm_respond_err() with a JSON body; the
 * exchange is ended exactly once, by the write callback of the response.  A
 * bucket create whose proposal fails removes its directory again, as
 * CreateBucket does. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin_api.h"
#include "admin_op.h"
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
    return json_pack("{s:s, s:b, s:b, s:o}", "name", u->name, "admin", u->is_admin, "disabled",
                     u->is_disabled, "created", node__adm_json_time(u->created_ms));
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
        node__adm_respond_json(o, gw_str_eq_c(o->x->req.method, "POST") && o->n_seg == 1 ? 201 : 200,
                     user_json(&u));
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
        if (node__adm_body_json(o) && node__adm_body_string(o, "name", &o->name) && body_bool(o, "admin", &o->flag)) {
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
        node__adm_respond_err(o, 404, "NoSuchRoute", "No admin route for %.*s %.*s.", (int)m.len, m.p,
                    (int)o->x->req.target.len, o->x->req.target.p);
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
    } else {
        node__adm_respond_err(o, 404, "NoSuchRoute", "No admin route for %.*s %.*s.", (int)m.len, m.p,
                    (int)o->x->req.target.len, o->x->req.target.p);
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
                      const char *region, struct node_admin **out)
{
    struct node_admin *a = gw_calloc(1, sizeof *a);

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
        node__adm_respond_err(o, 403, "AccessDenied", "The admin API is for admin users; '%s' is not one.",
                    o->id.user);
        return;
    }
    if (o->id.is_streaming) {
        node__adm_respond_err(o, 400, "InvalidRequest", "The admin API takes no aws-chunked bodies.");
        return;
    }
    if (!split_path(o)) {
        node__adm_respond_err(o, 400, "InvalidRequest", "Malformed admin path.");
        return;
    }
    body_pump(o);
}
