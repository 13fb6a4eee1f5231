/* The compiled form of a bucket policy, private to s3/policy.c (which builds
 * it) and s3/policy_eval.c (which reads it).
 *
 * The compiled form holds no jansson objects: strings are copied into the
 * policy's arena, condition values are pre-parsed (numbers, dates, CIDR
 * blocks), so evaluation never fails and allocates at most one resource
 * string.  A policy is immutable once s3_policy_parse returns it; only its
 * reference count changes.  The value scanners and the glob matcher are
 * shared because a policy value and a request value use the same syntax. */
#ifndef UNIGW_S3_POLICY_DOC_H
#define UNIGW_S3_POLICY_DOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "unigw/arena.h"
#include "unigw/str.h"

#define ARN_S3 "arn:aws:s3:::"
#define TAG_KEY_PREFIX "s3:ExistingObjectTag/"

enum cond_kind { K_STR, K_STR_CI, K_LIKE, K_NUM, K_DATE, K_BOOL, K_IP, K_NULL };
enum cond_cmp { C_EQ, C_LT, C_LE, C_GT, C_GE };

struct cond_op {
    const char *name;
    enum cond_kind kind;
    enum cond_cmp cmp;
    bool is_negated;
};

struct pol_ip {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned bits;
};

struct pol_val {
    struct gw_str s;
    double num;    /* K_NUM, K_DATE (seconds since the epoch) */
    bool is_true;  /* K_BOOL, K_NULL */
    struct pol_ip ip;
};

struct pol_cond {
    const struct cond_op *op;
    bool if_exists;
    struct gw_str key;
    struct pol_val *vals;
    size_t n_vals;
};

struct pol_list {
    struct gw_str *v;
    size_t n;
};

struct pol_stmt {
    struct gw_str sid;
    bool is_deny;
    bool is_not_principal, is_not_action, is_not_resource;
    bool principal_any;     /* "*" */
    bool principal_account; /* an account ARN: every authenticated user */
    struct pol_list users;
    struct pol_list actions;
    struct pol_list resources; /* whole ARNs, or "*" */
    struct pol_cond *conds;
    size_t n_conds;
};

struct s3_policy {
    struct gw_arena arena;
    atomic_uint refs;
    struct pol_stmt *stmts;
    size_t n_stmts;
};

/* Glob match of @s against @pat with * (any run) and ? (one byte); @fold
 * compares ASCII letters case-insensitively (s3/policy_eval.c). */
bool s3__policy_glob_match(struct gw_str pat, struct gw_str s, bool fold);
/* A strict decimal number ([+-]digits[.digits][e[+-]digits]); no hex, inf or
 * nan (s3/policy.c). */
bool s3__policy_parse_number(struct gw_str s, double *out);
/* ISO 8601 ("2024-05-01", "2024-05-01T12:00:00Z", offsets, fractions) or an
 * integer of seconds since the epoch, to seconds since the epoch (s3/policy.c). */
bool s3__policy_parse_date(struct gw_str s, double *out);
/* An address, as itself, with IPv4-mapped IPv6 addresses turned to IPv4
 * (s3/policy.c). */
bool s3__policy_parse_addr(const char *s, struct pol_ip *ip);

#endif
