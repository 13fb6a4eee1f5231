/* Bucket policy evaluation: does a compiled policy (s3/policy_doc.h) allow
 * or deny a request, and does it grant anything to everyone (is_public).
 *
 * Evaluation never fails: the policy was validated and its values pre-parsed
 * by s3/policy.c, and a request value that does not scan (a non-number for a
 * Numeric operator, say) simply does not match.  It allocates only the
 * request's resource ARN.
 *
 * Matching rules (AWS):
 *  - actions match case-insensitively with * and ? wildcards;
 *  - resources match case-sensitively with * and ? (which cross '/');
 *  - a condition block is an AND of operators, each an AND of keys, each
 *    an OR of values; negated operators (StringNotEquals, NotIpAddress...)
 *    hold when no value matches, and also when the key is absent;
 *    ...IfExists holds when the key is absent; Null tests presence. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "policy_doc.h"
#include "unigw/alloc.h"

/* ---- Matching helpers --------------------------------------------------------------------- */

static bool char_eq(char a, char b, bool fold)
{
    if (fold && a >= 'A' && a <= 'Z') {
        a = (char)(a - 'A' + 'a');
    }
    if (fold && b >= 'A' && b <= 'Z') {
        b = (char)(b - 'A' + 'a');
    }
    return a == b;
}

/* Glob match of @s against @pat with * (any run) and ? (one byte), linear
 * backtracking on the last star only, which is exact for this language. */
bool s3__policy_glob_match(struct gw_str pat, struct gw_str s, bool fold)
{
    size_t p = 0, i = 0, star_p = SIZE_MAX, star_i = 0;

    while (i < s.len) {
        if (p < pat.len && pat.p[p] == '*') {
            star_p = p++;
            star_i = i;
        } else if (p < pat.len && (pat.p[p] == '?' || char_eq(pat.p[p], s.p[i], fold))) {
            p++;
            i++;
        } else if (star_p != SIZE_MAX) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p < pat.len && pat.p[p] == '*') {
        p++;
    }
    return p == pat.len;
}

static bool cidr_contains(const struct pol_ip *net, const struct pol_ip *ip)
{
    unsigned full = net->bits / 8, rest = net->bits % 8;

    if (net->family != ip->family || memcmp(net->addr, ip->addr, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (ip->addr[full] & mask);
}

/* ---- Evaluation --------------------------------------------------------------------------- */

static bool principal_matches(const struct pol_stmt *st, const struct s3_policy_request *r)
{
    bool hit = st->principal_any || (!r->is_anonymous && st->principal_account);

    /* Stored documents name users by id; a name (a document stored before
     * ids existed) still matches by name until the policy is put again. */
    for (size_t i = 0; !hit && !r->is_anonymous && i < st->users.n; i++) {
        struct gw_str u = st->users.v[i];
        hit = s3_policy_is_user_id(u) ? gw_str_eq(u, r->user_id) : gw_str_eq(u, r->user);
    }
    return hit != st->is_not_principal;
}

static bool action_matches(const struct pol_stmt *st, const char *action)
{
    bool hit = false;

    for (size_t i = 0; !hit && i < st->actions.n; i++) {
        hit = s3__policy_glob_match(st->actions.v[i], gw_str_c(action), true);
    }
    return hit != st->is_not_action;
}

static bool resource_matches(const struct pol_stmt *st, struct gw_str arn)
{
    bool hit = false;

    for (size_t i = 0; !hit && i < st->resources.n; i++) {
        hit = s3__policy_glob_match(st->resources.v[i], arn, false);
    }
    return hit != st->is_not_resource;
}

/* The request's value of @key into *@out (@buf holds formatted values);
 * false when the request does not carry the key. */
static bool request_value(const struct s3_policy_request *r, struct gw_str key, char *buf,
                          size_t cap, struct gw_str *out)
{
    struct tm tm;
    time_t t = (time_t)r->now;

    if (gw_str_eq_c(key, "aws:SourceIp")) {
        *out = gw_str_c(r->source_ip);
    } else if (gw_str_eq_c(key, "aws:SecureTransport")) {
        *out = gw_str_c(r->is_secure ? "true" : "false");
    } else if (gw_str_eq_c(key, "aws:CurrentTime")) {
        gmtime_r(&t, &tm);
        *out = gw_str_make(buf, strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm));
    } else if (gw_str_eq_c(key, "aws:EpochTime")) {
        *out = gw_str_make(buf, (size_t)snprintf(buf, cap, "%lld", (long long)r->now));
    } else if (gw_str_eq_c(key, "aws:username")) {
        *out = r->is_anonymous ? GW_STR_NULL : r->user;
    } else if (gw_str_eq_c(key, "aws:userid")) {
        *out = r->is_anonymous ? GW_STR_NULL : r->user_id;
    } else if (gw_str_eq_c(key, "aws:PrincipalType")) {
        *out = gw_str_c(r->is_anonymous ? "Anonymous" : "User");
    } else if (gw_str_eq_c(key, "aws:Referer")) {
        *out = r->referer;
    } else if (gw_str_eq_c(key, "aws:UserAgent")) {
        *out = r->user_agent;
    } else if (gw_str_eq_c(key, "s3:prefix")) {
        *out = r->prefix;
    } else if (gw_str_eq_c(key, "s3:delimiter")) {
        *out = r->delimiter;
    } else if (gw_str_eq_c(key, "s3:max-keys")) {
        *out = r->max_keys;
    } else {
        struct gw_str tag = gw_str_make(key.p + strlen(TAG_KEY_PREFIX),
                                        key.len - strlen(TAG_KEY_PREFIX));
        *out = GW_STR_NULL;
        if (r->tag_get != NULL && !r->tag_get(r->tag_arg, tag, out)) {
            *out = GW_STR_NULL;
        }
    }
    return out->p != NULL;
}

static bool compare(enum cond_cmp cmp, double a, double b)
{
    switch (cmp) {
    case C_LT:
        return a < b;
    case C_LE:
        return a <= b;
    case C_GT:
        return a > b;
    case C_GE:
        return a >= b;
    default:
        return a == b;
    }
}

/* Does the request value @rv match the policy value @v under @op?  The
 * request value is on the left: NumericLessThan holds when request < value. */
static bool value_matches(const struct cond_op *op, const struct pol_val *v, struct gw_str rv)
{
    double n;
    struct pol_ip ip;
    char tmp[64];

    switch (op->kind) {
    case K_STR:
        return gw_str_eq(rv, v->s);
    case K_STR_CI:
    case K_BOOL:
        return gw_str_caseeq(rv, v->s);
    case K_LIKE:
        return s3__policy_glob_match(v->s, rv, false);
    case K_NUM:
        return s3__policy_parse_number(rv, &n) && compare(op->cmp, n, v->num);
    case K_DATE:
        return s3__policy_parse_date(rv, &n) && compare(op->cmp, n, v->num);
    case K_IP:
        if (rv.len == 0 || rv.len >= sizeof tmp) {
            return false;
        }
        memcpy(tmp, rv.p, rv.len);
        tmp[rv.len] = '\0';
        return s3__policy_parse_addr(tmp, &ip) && cidr_contains(&v->ip, &ip);
    default:
        return false;
    }
}

static bool cond_holds(const struct pol_cond *c, const struct s3_policy_request *r)
{
    char buf[64];
    struct gw_str rv;
    bool present = request_value(r, c->key, buf, sizeof buf, &rv);
    bool hit = false;

    if (c->op->kind == K_NULL) {
        /* "Null": "true" means the key must be absent, "false" present. */
        for (size_t i = 0; !hit && i < c->n_vals; i++) {
            hit = c->vals[i].is_true != present;
        }
        return hit;
    }
    if (!present) {
        return c->if_exists || c->op->is_negated;
    }
    for (size_t i = 0; !hit && i < c->n_vals; i++) {
        hit = value_matches(c->op, &c->vals[i], rv);
    }
    return hit != c->op->is_negated;
}

static bool stmt_applies(const struct pol_stmt *st, const struct s3_policy_request *r,
                         struct gw_str arn)
{
    if (!principal_matches(st, r) || !action_matches(st, r->action) ||
        !resource_matches(st, arn)) {
        return false;
    }
    for (size_t i = 0; i < st->n_conds; i++) {
        if (!cond_holds(&st->conds[i], r)) {
            return false;
        }
    }
    return true;
}

enum s3_policy_decision s3_policy_eval(const struct s3_policy *p,
                                       const struct s3_policy_request *r)
{
    size_t cap = strlen(ARN_S3) + r->bucket.len + 1 + r->key.len + 1;
    char *arn = gw_malloc(cap);
    int n = snprintf(arn, cap, ARN_S3 "%.*s%s%.*s", (int)r->bucket.len, r->bucket.p,
                     r->key.len > 0 ? "/" : "", (int)r->key.len, r->key.p);
    enum s3_policy_decision d = S3_POLICY_NONE;

    for (size_t i = 0; i < p->n_stmts && d != S3_POLICY_DENY; i++) {
        if (stmt_applies(&p->stmts[i], r, gw_str_make(arn, (size_t)n))) {
            d = p->stmts[i].is_deny ? S3_POLICY_DENY : S3_POLICY_ALLOW;
        }
    }
    gw_free(arn);
    return d;
}

/* A condition pins the caller when it is a positive IP range narrower than
 * the whole address space, or a positive exact aws:userid/username. */
static bool cond_restricts(const struct pol_cond *c)
{
    if (c->op->is_negated || c->if_exists) {
        return false;
    }
    if (c->op->kind == K_IP) {
        for (size_t i = 0; i < c->n_vals; i++) {
            if (c->vals[i].ip.bits == 0) {
                return false;
            }
        }
        return true;
    }
    if ((c->op->kind == K_STR || c->op->kind == K_STR_CI) &&
        (gw_str_eq_c(c->key, "aws:userid") || gw_str_eq_c(c->key, "aws:username"))) {
        return true;
    }
    return false;
}

bool s3_policy_is_public(const struct s3_policy *p)
{
    for (size_t i = 0; i < p->n_stmts; i++) {
        const struct pol_stmt *st = &p->stmts[i];
        bool is_restricted = false;
        /* NotPrincipal names who is left out, so it grants to everyone else. */
        if (st->is_deny || st->principal_any == st->is_not_principal) {
            continue;
        }
        for (size_t j = 0; j < st->n_conds && !is_restricted; j++) {
            is_restricted = cond_restricts(&st->conds[j]);
        }
        if (!is_restricted) {
            return true;
        }
    }
    return false;
}
