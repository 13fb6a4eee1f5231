/* Policy principals by user id.
 *
 * A policy names users by ARN ("arn:aws:iam::ACCOUNT:user/NAME") or bare name,
 * but a name can be reused: a user deleted and created again must not inherit
 * the grants of the first one.  So, as AWS does, PutBucketPolicy stores each
 * named user as that user's immutable id ("AIDA..."), and GetBucketPolicy
 * shows the id as the user's ARN again while the user exists (a deleted
 * user's id is shown as it is).  Evaluation matches stored ids against the
 * caller's id (s3/policy_eval.c).  A document that names an unknown user is
 * refused, as AWS refuses a principal it cannot resolve.
 *
 * A document without user principals is stored and shown byte for byte; one
 * with them is rewritten as compact JSON. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "unigw/err.h"
#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/s3.h"

#include "policy.h"

#define ARN_IAM "arn:aws:iam::"

bool s3_policy_is_user_id(struct gw_str s)
{
    if (s.len != META_USER_ID_LEN ||
        (memcmp(s.p, "AIDA", 4) != 0 && memcmp(s.p, "AIDL", 4) != 0)) {
        return false;
    }
    for (size_t i = 4; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* The user name an "AWS" principal entry names, or a NULL view when it names
 * no single user ("*", an account root, an id, or not an IAM user ARN). */
static struct gw_str entry_user_name(struct gw_str e)
{
    struct gw_str rest, account;

    if (gw_str_eq_c(e, "*") || s3_policy_is_user_id(e)) {
        return GW_STR_NULL;
    }
    if (!gw_str_has_prefix(e, GW_STR(ARN_IAM))) {
        return e;
    }
    rest = gw_str_make(e.p + strlen(ARN_IAM), e.len - strlen(ARN_IAM));
    if (!gw_str_split(&rest, ':', &account) || !gw_str_has_prefix(rest, GW_STR("user/"))) {
        return GW_STR_NULL;
    }
    while (gw_str_chr(rest, '/') >= 0) {
        struct gw_str seg;
        gw_str_split(&rest, '/', &seg);
    }
    return rest;
}

struct rewrite {
    struct meta *meta;
    bool to_ids; /* bind (names to ids) or show (ids to ARNs) */
    bool changed;
    char *err;
    size_t err_cap;
};

/* The replacement of one entry string @e, or NULL to keep it.  GW_OK or
 * GW_ERR_MALFORMED_POLICY (bind: an unknown user) or a store fault. */
static int rewrite_entry(struct rewrite *w, struct gw_str e, json_t **out)
{
    char arn[META_NAME_MAX + 32];
    struct meta_user u;
    struct gw_str name;
    int rv;

    *out = NULL;
    if (!w->to_ids) {
        if (!s3_policy_is_user_id(e)) {
            return GW_OK;
        }
        rv = meta_user_get_by_id(w->meta, e, &u);
        if (rv == GW_ERR_NOT_FOUND) {
            return GW_OK;
        }
        if (rv == 0) {
            snprintf(arn, sizeof arn, ARN_IAM ":user/%s", u.name);
            *out = json_string(arn);
        }
        return rv;
    }
    name = entry_user_name(e);
    if (name.p == NULL) {
        return GW_OK;
    }
    rv = meta_user_get(w->meta, name, &u);
    if (rv == GW_ERR_NOT_FOUND) {
        snprintf(w->err, w->err_cap, "Invalid principal in policy: no user %.*s", (int)e.len,
                 e.p);
        return GW_ERR_MALFORMED_POLICY;
    }
    if (rv == 0) {
        *out = json_string(u.id);
    }
    return rv;
}

/* Rewrite the string at @v (held at index @i of array @arr, or under
 * "AWS" of @obj when @arr is NULL). */
static int rewrite_value(struct rewrite *w, json_t *obj, json_t *arr, size_t i, json_t *v)
{
    json_t *nv = NULL;
    int rv;

    if (!json_is_string(v)) {
        return GW_OK;
    }
    rv = rewrite_entry(w, gw_str_make(json_string_value(v), json_string_length(v)), &nv);
    if (rv != 0 || nv == NULL) {
        return rv;
    }
    w->changed = true;
    return (arr != NULL ? json_array_set_new(arr, i, nv) : json_object_set_new(obj, "AWS", nv))
               ? GW_ERR_NOMEM
               : GW_OK;
}

static int rewrite_principal(struct rewrite *w, json_t *principal)
{
    json_t *aws = json_object_get(principal, "AWS");
    size_t i;
    json_t *v;
    int rv = GW_OK;

    if (!json_is_array(aws)) {
        return rewrite_value(w, principal, NULL, 0, aws);
    }
    json_array_foreach(aws, i, v)
    {
        rv = rewrite_value(w, principal, aws, i, v);
        if (rv != 0) {
            break;
        }
    }
    return rv;
}

static int rewrite_stmt(struct rewrite *w, json_t *st)
{
    int rv = rewrite_principal(w, json_object_get(st, "Principal"));

    return rv != 0 ? rv : rewrite_principal(w, json_object_get(st, "NotPrincipal"));
}

static int rewrite_doc(struct rewrite *w, struct gw_str doc, struct gw_buf *out)
{
    json_t *root = json_loadb(doc.p, doc.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *sts = json_object_get(root, "Statement");
    int rv = GW_OK;
    size_t i;
    json_t *st;

    if (root == NULL) {
        snprintf(w->err, w->err_cap, "Policies must be valid JSON");
        return GW_ERR_MALFORMED_POLICY;
    }
    if (!json_is_array(sts)) {
        rv = rewrite_stmt(w, sts);
    }
    json_array_foreach(sts, i, st)
    {
        rv = rewrite_stmt(w, st);
        if (rv != 0) {
            break;
        }
    }
    if (rv == 0 && w->changed) {
        char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        rv = s != NULL ? GW_OK : GW_ERR_NOMEM;
        if (s != NULL) {
            gw_buf_append(out, s, strlen(s));
        }
        free(s);
    } else if (rv == 0) {
        gw_buf_append(out, doc.p, doc.len);
    }
    json_decref(root);
    return rv;
}

int s3_policy_bind_users(struct meta *m, struct gw_str doc, struct gw_buf *out, char *err,
                         size_t err_cap)
{
    struct rewrite w = {m, true, false, err, err_cap};

    if (err_cap > 0) {
        err[0] = '\0';
    }
    return rewrite_doc(&w, doc, out);
}

int s3_policy_show_users(struct meta *m, struct gw_str doc, struct gw_buf *out)
{
    char err[64];
    struct rewrite w = {m, false, false, err, sizeof err};

    return rewrite_doc(&w, doc, out);
}
