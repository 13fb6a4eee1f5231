/* Bucket policy engine: parse/validate and evaluate, as tables of
 * (policy, request, expected decision) and (document, expected error).
 * Policies are written with ' for " to keep them readable; q() swaps them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "router.h"
#include "unigw/err.h"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */

enum want { N = S3_POLICY_NONE, A = S3_POLICY_ALLOW, D = S3_POLICY_DENY };

struct rq {
    const char *action; /* default s3:GetObject */
    const char *key;    /* default "k"; "" for the bucket */
    const char *user;   /* NULL: anonymous */
    const char *uid;    /* the user's id */
    const char *ip;
    const char *prefix, *delim, *max_keys, *referer, *ua;
    int64_t now; /* 0: NOW */
    bool secure;
    const char *tag; /* "key=value": the object's one tag */
};

struct ecase {
    const char *name;
    const char *policy;
    struct rq r;
    enum want want;
};

static char *q(const char *s)
{
    char *d = strdup(s);

    for (char *p = d; *p != '\0'; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    return d;
}

#define STMT(body) "{'Version':'2012-10-17','Statement':[" body "]}"
#define ALLOW_ANY(extra) STMT("{'Effect':'Allow','Principal':'*','Action':'s3:*',"  \
                              "'Resource':['arn:aws:s3:::bkt','arn:aws:s3:::bkt/*']" extra "}")
#define PUBLIC_READ STMT("{'Sid':'PublicRead','Effect':'Allow','Principal':'*',"   \
                         "'Action':['s3:GetObject'],'Resource':'arn:aws:s3:::bkt/*'}")

static bool tag_get(void *arg, struct gw_str key, struct gw_str *value)
{
    const char *tag = arg;
    const char *eq = strchr(tag, '=');

    if (!gw_str_eq(key, gw_str_make(tag, (size_t)(eq - tag)))) {
        return false;
    }
    *value = gw_str_c(eq + 1);
    return true;
}

static struct s3_policy_request make_req(const struct rq *c)
{
    struct s3_policy_request r = {0};

    r.action = c->action != NULL ? c->action : "s3:GetObject";
    r.bucket = GW_STR("bkt");
    r.key = gw_str_c(c->key != NULL ? c->key : "k");
    r.is_anonymous = c->user == NULL;
    r.user = gw_str_c(c->user);
    r.user_id = gw_str_c(c->uid);
    r.source_ip = c->ip;
    r.is_secure = c->secure;
    r.now = c->now != 0 ? c->now : NOW;
    r.prefix = gw_str_c(c->prefix);
    r.delimiter = gw_str_c(c->delim);
    r.max_keys = gw_str_c(c->max_keys);
    r.referer = gw_str_c(c->referer);
    r.user_agent = gw_str_c(c->ua);
    if (c->tag != NULL) {
        r.tag_get = tag_get;
        r.tag_arg = (void *)c->tag;
    }
    return r;
}

static const struct ecase ecases[] = {
    /* Principal */
    {"public read, anonymous GET", PUBLIC_READ, {0}, A},
    {"public read, anonymous PUT", PUBLIC_READ, {.action = "s3:PutObject"}, N},
    {"public read, user GET", PUBLIC_READ, {.user = "alice"}, A},
    {"AWS * principal", STMT("{'Effect':'Allow','Principal':{'AWS':'*'},'Action':'s3:GetObject',"
                             "'Resource':'arn:aws:s3:::bkt/*'}"), {0}, A},
    {"user ARN matches", STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam:::user/alice'},"
                              "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "alice"}, A},
    {"user ARN, other user", STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam:::user/alice'},"
                                  "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "bob"}, N},
    {"user ARN, anonymous", STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam:::user/alice'},"
                                 "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {0}, N},
    {"user ARN with account and path",
     STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::123456789012:user/dev/alice'},"
          "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"), {.user = "alice"}, A},
    {"bare name in a list", STMT("{'Effect':'Allow','Principal':{'AWS':['bob','alice']},"
                                 "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "alice"}, A},
    {"user names are case-sensitive", STMT("{'Effect':'Allow','Principal':{'AWS':'Alice'},"
                                           "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "alice"}, N},
    {"account root: any user", STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::1:root'},"
                                    "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "carol"}, A},
    {"account root: not anonymous", STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::1:root'},"
                                         "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {0}, N},
    {"NotPrincipal deny, other user", STMT("{'Effect':'Deny','NotPrincipal':{'AWS':'alice'},"
                                           "'Action':'s3:*','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "bob"}, D},
    {"NotPrincipal deny, named user", STMT("{'Effect':'Deny','NotPrincipal':{'AWS':'alice'},"
                                           "'Action':'s3:*','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "alice"}, N},
    {"NotPrincipal deny, anonymous", STMT("{'Effect':'Deny','NotPrincipal':{'AWS':'alice'},"
                                          "'Action':'s3:*','Resource':'arn:aws:s3:::bkt/*'}"),
     {0}, D},
    /* Stored documents name users by id (s3/policy_principal.c). */
    {"user id matches its user", STMT("{'Effect':'Allow','Principal':{'AWS':'AIDA0000000000000007'},"
                                      "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "alice", .uid = "AIDA0000000000000007"}, A},
    {"user id: a new user of the same name", STMT("{'Effect':'Allow','Principal':{'AWS':"
                                                  "'AIDA0000000000000007'},'Action':'s3:GetObject',"
                                                  "'Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "alice", .uid = "AIDA0000000000000009"}, N},
    {"user id is not matched as a name", STMT("{'Effect':'Allow','Principal':{'AWS':"
                                              "'AIDA0000000000000007'},'Action':'s3:GetObject',"
                                              "'Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "AIDA0000000000000007", .uid = "AIDA0000000000000001"}, N},
    {"NotPrincipal by id", STMT("{'Effect':'Deny','NotPrincipal':{'AWS':['AIDL00000000000000AB']},"
                                "'Action':'s3:*','Resource':'arn:aws:s3:::bkt/*'}"),
     {.user = "bob", .uid = "AIDL00000000000000AB"}, N},
    {"aws:userid is the id", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                  "'Resource':'arn:aws:s3:::bkt/*','Condition':{'StringEquals':"
                                  "{'aws:userid':'AIDA0000000000000007'}}}"),
     {.user = "alice", .uid = "AIDA0000000000000007"}, A},
    {"aws:userid is not the name", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                        "'Resource':'arn:aws:s3:::bkt/*','Condition':{'StringEquals':"
                                        "{'aws:userid':'alice'}}}"),
     {.user = "alice", .uid = "AIDA0000000000000007"}, N},
    /* Action */
    {"Get* matches GetObject", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:Get*',"
                                    "'Resource':'arn:aws:s3:::bkt/*'}"), {0}, A},
    {"Get* not PutObject", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:Get*',"
                                "'Resource':'arn:aws:s3:::bkt/*'}"), {.action = "s3:PutObject"}, N},
    {"actions are case-insensitive", STMT("{'Effect':'Allow','Principal':'*','Action':'S3:getobject',"
                                          "'Resource':'arn:aws:s3:::bkt/*'}"), {0}, A},
    {"action *", STMT("{'Effect':'Allow','Principal':'*','Action':'*','Resource':'*'}"),
     {.action = "s3:DeleteObject"}, A},
    {"? in an action", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:?etObject',"
                            "'Resource':'arn:aws:s3:::bkt/*'}"), {0}, A},
    {"NotAction allows others", STMT("{'Effect':'Allow','Principal':'*','NotAction':'s3:DeleteObject',"
                                     "'Resource':'arn:aws:s3:::bkt/*'}"), {0}, A},
    {"NotAction excludes its own", STMT("{'Effect':'Allow','Principal':'*','NotAction':'s3:DeleteObject',"
                                        "'Resource':'arn:aws:s3:::bkt/*'}"),
     {.action = "s3:DeleteObject"}, N},
    /* Resource */
    {"prefix resource inside", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                    "'Resource':'arn:aws:s3:::bkt/public/*'}"),
     {.key = "public/a/b.txt"}, A},
    {"prefix resource outside", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                     "'Resource':'arn:aws:s3:::bkt/public/*'}"),
     {.key = "private/a"}, N},
    {"resources are case-sensitive", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                          "'Resource':'arn:aws:s3:::bkt/public/*'}"),
     {.key = "Public/a"}, N},
    {"object ARN does not cover the bucket", PUBLIC_READ, {.action = "s3:ListBucket", .key = ""}, N},
    {"bucket ARN for ListBucket", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:ListBucket',"
                                       "'Resource':'arn:aws:s3:::bkt'}"),
     {.action = "s3:ListBucket", .key = ""}, A},
    {"bucket ARN does not cover objects", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:*',"
                                               "'Resource':'arn:aws:s3:::bkt'}"), {0}, N},
    {"NotResource outside", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                 "'NotResource':'arn:aws:s3:::bkt/secret/*'}"), {.key = "a"}, A},
    {"NotResource inside", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                "'NotResource':'arn:aws:s3:::bkt/secret/*'}"),
     {.key = "secret/x"}, N},
    {"? matches one character", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                     "'Resource':'arn:aws:s3:::bkt/file?.txt'}"),
     {.key = "file1.txt"}, A},
    {"? not two", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                       "'Resource':'arn:aws:s3:::bkt/file?.txt'}"), {.key = "file10.txt"}, N},
    {"stars backtrack", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                             "'Resource':'arn:aws:s3:::bkt/a*b*c'}"), {.key = "aXbYbZc"}, A},
    {"stars backtrack, no match", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                                       "'Resource':'arn:aws:s3:::bkt/a*b*c'}"),
     {.key = "aXbYbZcd"}, N},
    {"bucket wildcard", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject',"
                             "'Resource':'arn:aws:s3:::b*'}"), {.key = "x/y"}, A},
    /* Deny overrides */
    {"deny overrides allow", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:*',"
                                  "'Resource':'arn:aws:s3:::bkt/*'},"
                                  "{'Effect':'Deny','Principal':'*','Action':'s3:GetObject',"
                                  "'Resource':'arn:aws:s3:::bkt/secret/*'}"),
     {.key = "secret/k", .user = "alice"}, D},
    {"deny elsewhere keeps the allow", STMT("{'Effect':'Allow','Principal':'*','Action':'s3:*',"
                                            "'Resource':'arn:aws:s3:::bkt/*'},"
                                            "{'Effect':'Deny','Principal':'*','Action':'s3:GetObject',"
                                            "'Resource':'arn:aws:s3:::bkt/secret/*'}"),
     {.key = "open/k"}, A},
    {"deny first then allow", STMT("{'Effect':'Deny','Principal':'*','Action':'s3:PutObject',"
                                   "'Resource':'arn:aws:s3:::bkt/*'},"
                                   "{'Effect':'Allow','Principal':'*','Action':'s3:*',"
                                   "'Resource':'arn:aws:s3:::bkt/*'}"),
     {.action = "s3:PutObject", .user = "bob"}, D},
    /* IpAddress / NotIpAddress */
    {"IpAddress inside", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'127.0.0.0/8'}}"),
     {.ip = "127.0.0.1"}, A},
    {"IpAddress outside", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'127.0.0.0/8'}}"),
     {.ip = "10.0.0.1"}, N},
    {"IpAddress, v4-mapped v6 peer", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'127.0.0.1/32'}}"),
     {.ip = "::ffff:127.0.0.1"}, A},
    {"IpAddress, bare address", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'192.0.2.7'}}"),
     {.ip = "192.0.2.7"}, A},
    {"IpAddress, odd prefix", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'192.0.2.0/25'}}"),
     {.ip = "192.0.2.200"}, N},
    {"IpAddress, unknown peer", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'127.0.0.0/8'}}"),
     {0}, N},
    {"IpAddress v6", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'2001:db8::/32'}}"),
     {.ip = "2001:db8::1"}, A},
    {"IpAddress v6 outside", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'2001:db8::/32'}}"),
     {.ip = "2001:db9::1"}, N},
    {"IpAddress v4 rule, v6 peer", ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}}"),
     {.ip = "::1"}, N},
    {"IpAddress list is an OR",
     ALLOW_ANY(",'Condition':{'IpAddress':{'aws:SourceIp':['10.0.0.0/8','127.0.0.1/32']}}"),
     {.ip = "127.0.0.1"}, A},
    {"NotIpAddress deny outside", STMT("{'Effect':'Deny','Principal':'*','Action':'s3:*',"
                                       "'Resource':'arn:aws:s3:::bkt/*','Condition':"
                                       "{'NotIpAddress':{'aws:SourceIp':'127.0.0.1/32'}}}"),
     {.ip = "10.1.2.3", .user = "alice"}, D},
    {"NotIpAddress deny inside", STMT("{'Effect':'Deny','Principal':'*','Action':'s3:*',"
                                      "'Resource':'arn:aws:s3:::bkt/*','Condition':"
                                      "{'NotIpAddress':{'aws:SourceIp':'127.0.0.1/32'}}}"),
     {.ip = "127.0.0.1", .user = "alice"}, N},
    /* Bool */
    {"SecureTransport false deny, plain", STMT("{'Effect':'Deny','Principal':'*','Action':'s3:*',"
                                               "'Resource':'arn:aws:s3:::bkt/*','Condition':"
                                               "{'Bool':{'aws:SecureTransport':'false'}}}"),
     {0}, D},
    {"SecureTransport false deny, TLS", STMT("{'Effect':'Deny','Principal':'*','Action':'s3:*',"
                                             "'Resource':'arn:aws:s3:::bkt/*','Condition':"
                                             "{'Bool':{'aws:SecureTransport':false}}}"),
     {.secure = true}, N},
    /* Strings */
    {"StringEquals username", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:username':'alice'}}"),
     {.user = "alice"}, A},
    {"StringEquals username, anonymous", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:username':'alice'}}"),
     {0}, N},
    {"StringEquals OR of values", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:username':['bob','alice']}}"),
     {.user = "alice"}, A},
    {"StringNotEquals, other", ALLOW_ANY(",'Condition':{'StringNotEquals':{'aws:username':'alice'}}"),
     {.user = "bob"}, A},
    {"StringNotEquals, same", ALLOW_ANY(",'Condition':{'StringNotEquals':{'aws:username':['x','alice']}}"),
     {.user = "alice"}, N},
    {"StringNotEquals, absent key holds", ALLOW_ANY(",'Condition':{'StringNotEquals':{'aws:username':'alice'}}"),
     {0}, A},
    {"StringEqualsIgnoreCase", ALLOW_ANY(",'Condition':{'StringEqualsIgnoreCase':{'aws:Referer':'HTTP://EXAMPLE.COM/'}}"),
     {.referer = "http://example.com/"}, A},
    {"StringEquals is case-sensitive", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:Referer':'HTTP://EXAMPLE.COM/'}}"),
     {.referer = "http://example.com/"}, N},
    {"condition keys are case-insensitive", ALLOW_ANY(",'Condition':{'StringEquals':{'AWS:USERNAME':'alice'}}"),
     {.user = "alice"}, A},
    {"StringLike prefix", ALLOW_ANY(",'Condition':{'StringLike':{'s3:prefix':['home/*','']}}"),
     {.action = "s3:ListBucket", .key = "", .prefix = "home/x/"}, A},
    {"StringLike empty prefix", ALLOW_ANY(",'Condition':{'StringLike':{'s3:prefix':['home/*','']}}"),
     {.action = "s3:ListBucket", .key = "", .prefix = ""}, A},
    {"StringLike other prefix", ALLOW_ANY(",'Condition':{'StringLike':{'s3:prefix':['home/*','']}}"),
     {.action = "s3:ListBucket", .key = "", .prefix = "etc/"}, N},
    {"StringLike absent key", ALLOW_ANY(",'Condition':{'StringLike':{'s3:prefix':'home/*'}}"),
     {.action = "s3:ListBucket", .key = ""}, N},
    {"StringLikeIfExists absent key", ALLOW_ANY(",'Condition':{'StringLikeIfExists':{'s3:prefix':'home/*'}}"),
     {.action = "s3:ListBucket", .key = ""}, A},
    {"StringLikeIfExists present, no match", ALLOW_ANY(",'Condition':{'StringLikeIfExists':{'s3:prefix':'home/*'}}"),
     {.action = "s3:ListBucket", .key = "", .prefix = "x"}, N},
    {"StringNotLike", ALLOW_ANY(",'Condition':{'StringNotLike':{'s3:delimiter':'|'}}"),
     {.delim = "/"}, A},
    {"StringNotLike match", ALLOW_ANY(",'Condition':{'StringNotLike':{'s3:delimiter':'|'}}"),
     {.delim = "|"}, N},
    {"UserAgent like", ALLOW_ANY(",'Condition':{'StringLike':{'aws:UserAgent':'curl/*'}}"),
     {.ua = "curl/8.1"}, A},
    {"PrincipalType", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:PrincipalType':'Anonymous'}}"),
     {0}, A},
    /* Numbers */
    {"max-keys <= 100", ALLOW_ANY(",'Condition':{'NumericLessThanEquals':{'s3:max-keys':'100'}}"),
     {.max_keys = "100"}, A},
    {"max-keys 1000 > 100", ALLOW_ANY(",'Condition':{'NumericLessThanEquals':{'s3:max-keys':100}}"),
     {.max_keys = "1000"}, N},
    {"max-keys not a number", ALLOW_ANY(",'Condition':{'NumericLessThanEquals':{'s3:max-keys':100}}"),
     {.max_keys = "ten"}, N},
    {"NumericLessThan is strict", ALLOW_ANY(",'Condition':{'NumericLessThan':{'s3:max-keys':'100'}}"),
     {.max_keys = "100"}, N},
    {"NumericGreaterThan", ALLOW_ANY(",'Condition':{'NumericGreaterThan':{'s3:max-keys':'10.5'}}"),
     {.max_keys = "11"}, A},
    {"NumericGreaterThanEquals", ALLOW_ANY(",'Condition':{'NumericGreaterThanEquals':{'s3:max-keys':'11'}}"),
     {.max_keys = "10"}, N},
    {"NumericEquals", ALLOW_ANY(",'Condition':{'NumericEquals':{'s3:max-keys':'5'}}"),
     {.max_keys = "5"}, A},
    {"NumericNotEquals", ALLOW_ANY(",'Condition':{'NumericNotEquals':{'s3:max-keys':'5'}}"),
     {.max_keys = "5"}, N},
    {"EpochTime", ALLOW_ANY(",'Condition':{'NumericLessThan':{'aws:EpochTime':1800000000}}"),
     {0}, A},
    /* Dates */
    {"DateLessThan before", ALLOW_ANY(",'Condition':{'DateLessThan':{'aws:CurrentTime':'2030-01-01T00:00:00Z'}}"),
     {0}, A},
    {"DateLessThan after", ALLOW_ANY(",'Condition':{'DateLessThan':{'aws:CurrentTime':'2020-01-01'}}"),
     {0}, N},
    {"DateGreaterThan", ALLOW_ANY(",'Condition':{'DateGreaterThan':{'aws:CurrentTime':'2023-11-14T22:13:19Z'}}"),
     {0}, A},
    {"DateGreaterThan, equal is not greater",
     ALLOW_ANY(",'Condition':{'DateGreaterThan':{'aws:CurrentTime':'2023-11-14T22:13:20Z'}}"), {0}, N},
    {"DateGreaterThanEquals equal",
     ALLOW_ANY(",'Condition':{'DateGreaterThanEquals':{'aws:CurrentTime':'2023-11-14T22:13:20Z'}}"), {0}, A},
    {"Date with offset", ALLOW_ANY(",'Condition':{'DateEquals':{'aws:CurrentTime':'2023-11-15T00:13:20+02:00'}}"),
     {0}, A},
    {"Date with fraction", ALLOW_ANY(",'Condition':{'DateLessThan':{'aws:CurrentTime':'2023-11-14T22:13:20.5Z'}}"),
     {0}, A},
    {"Date as epoch seconds", ALLOW_ANY(",'Condition':{'DateLessThanEquals':{'aws:CurrentTime':1700000000}}"),
     {0}, A},
    {"Date window", ALLOW_ANY(",'Condition':{'DateGreaterThan':{'aws:CurrentTime':'2023-01-01T00:00:00Z'},"
                              "'DateLessThan':{'aws:CurrentTime':'2023-06-01T00:00:00Z'}}"), {0}, N},
    /* AND across keys and operators */
    {"AND of keys", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:username':'alice','aws:Referer':'r'}}"),
     {.user = "alice", .referer = "r"}, A},
    {"AND of keys, one fails", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:username':'alice','aws:Referer':'r'}}"),
     {.user = "alice", .referer = "x"}, N},
    {"AND of operators", ALLOW_ANY(",'Condition':{'StringEquals':{'aws:username':'alice'},"
                                   "'IpAddress':{'aws:SourceIp':'127.0.0.1'}}"),
     {.user = "alice", .ip = "10.0.0.1"}, N},
    /* Null */
    {"Null true, absent", ALLOW_ANY(",'Condition':{'Null':{'aws:Referer':'true'}}"), {0}, A},
    {"Null true, present", ALLOW_ANY(",'Condition':{'Null':{'aws:Referer':'true'}}"),
     {.referer = "x"}, N},
    {"Null false, present", ALLOW_ANY(",'Condition':{'Null':{'aws:Referer':false}}"),
     {.referer = "x"}, A},
    /* Object tags */
    {"tag matches", ALLOW_ANY(",'Condition':{'StringEquals':{'s3:ExistingObjectTag/class':'public'}}"),
     {.tag = "class=public"}, A},
    {"tag other value", ALLOW_ANY(",'Condition':{'StringEquals':{'s3:ExistingObjectTag/class':'public'}}"),
     {.tag = "class=secret"}, N},
    {"tag absent", ALLOW_ANY(",'Condition':{'StringEquals':{'s3:ExistingObjectTag/class':'public'}}"),
     {.tag = "other=public"}, N},
    {"no tag lookup", ALLOW_ANY(",'Condition':{'StringEquals':{'s3:ExistingObjectTag/class':'public'}}"),
     {0}, N},
    {"tag keys are case-sensitive", ALLOW_ANY(",'Condition':{'StringEquals':{'s3:existingobjecttag/Class':'public'}}"),
     {.tag = "class=public"}, N},
    /* Document shapes */
    {"Statement as one object", "{'Statement':{'Effect':'Allow','Principal':'*',"
                                "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}}", {0}, A},
    {"Version 2008-10-17", "{'Version':'2008-10-17','Id':'x','Statement':[{'Effect':'Allow','Principal':'*',"
                           "'Action':'s3:GetObject','Resource':'arn:aws:s3:::bkt/*'}]}", {0}, A},
};

static void eval_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ecases / sizeof ecases[0]; i++) {
        const struct ecase *c = &ecases[i];
        char *doc = q(c->policy);
        char err[256];
        struct s3_policy *p = NULL;
        struct s3_policy_request r = make_req(&c->r);
        int rv = s3_policy_parse(gw_str_c(doc), GW_STR("bkt"), &p, err, sizeof err);

        if (rv != 0) {
            fail_msg("%s: parse failed: %s", c->name, err);
        }
        if ((int)s3_policy_eval(p, &r) != (int)c->want) {
            fail_msg("%s: got %d, want %d", c->name, (int)s3_policy_eval(p, &r), (int)c->want);
        }
        s3_policy_unref(p);
        free(doc);
    }
}

struct mcase {
    const char *doc;
    const char *err; /* a substring of the reason */
};

#define RES "'Resource':'arn:aws:s3:::bkt/*'"
#define WITH_COND(c) STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject'," RES \
                          ",'Condition':" c "}")

static const struct mcase mcases[] = {
    {"", "valid JSON"},
    {"{", "valid JSON"},
    {"{'Statement':[]} trailing", "valid JSON"},
    {"[]", "JSON object"},
    {"'x'", "valid JSON"},
    {"{'Version':'2012-10-17','Statement':[],'Statement':[]}", "valid JSON"},
    {"{'Version':'2012-10-17','Statement':{'Effect':'Allow','Effect':'Deny'}}", "valid JSON"},
    {"{'Version':'2012-10-17'}", "Missing required field Statement"},
    {"{'Version':'2012-10-17','Statement':[]}", "must not be empty"},
    {"{'Version':'2012-10-17','Statement':'x'}", "Statement must be"},
    {"{'Version':'2012-10-17','Statement':['x']}", "must be an object"},
    {"{'Version':'2019-01-01','Statement':{}}", "version"},
    {"{'Version':17,'Statement':{}}", "version"},
    {"{'Id':5,'Statement':{}}", "Id must be"},
    {"{'Foo':1,'Statement':{}}", "Unknown field Foo"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject'," RES ",'Effects':1}"),
     "Unknown field Effects"},
    {STMT("{'Principal':'*','Action':'s3:GetObject'," RES "}"), "Missing required field Effect"},
    {STMT("{'Effect':'Maybe','Principal':'*','Action':'s3:GetObject'," RES "}"), "Invalid effect"},
    {STMT("{'Effect':'allow','Principal':'*','Action':'s3:GetObject'," RES "}"), "Invalid effect"},
    {STMT("{'Sid':1,'Effect':'Allow','Principal':'*','Action':'s3:GetObject'," RES "}"),
     "Sid must be"},
    {STMT("{'Sid':'a','Effect':'Allow','Principal':'*','Action':'s3:GetObject'," RES "},"
          "{'Sid':'a','Effect':'Deny','Principal':'*','Action':'s3:GetObject'," RES "}"),
     "unique"},
    {STMT("{'Effect':'Allow','Action':'s3:GetObject'," RES "}"), "Missing required field Principal"},
    {STMT("{'Effect':'Allow','Principal':'*','NotPrincipal':'*','Action':'s3:GetObject'," RES "}"),
     "both Principal and NotPrincipal"},
    {STMT("{'Effect':'Allow','Principal':'alice','Action':'s3:GetObject'," RES "}"),
     "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{'Service':'x'},'Action':'s3:GetObject'," RES "}"),
     "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{},'Action':'s3:GetObject'," RES "}"), "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{'AWS':[]},'Action':'s3:GetObject'," RES "}"),
     "empty list"},
    {STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::1:role/r'},'Action':'s3:GetObject'," RES "}"),
     "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::1:user/'},'Action':'s3:GetObject'," RES "}"),
     "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{'AWS':'ali*'},'Action':'s3:GetObject'," RES "}"),
     "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{'AWS':'arn:aws:sts::1:x'},'Action':'s3:GetObject'," RES "}"),
     "Invalid principal"},
    {STMT("{'Effect':'Allow','Principal':{'AWS':5},'Action':'s3:GetObject'," RES "}"),
     "string or a list"},
    {STMT("{'Effect':'Allow','Principal':'*'," RES "}"), "Missing required field Action"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','NotAction':'s3:PutObject'," RES "}"),
     "both Action and NotAction"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObjekt'," RES "}"), "invalid action"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'iam:CreateUser'," RES "}"), "invalid action"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:Frob*'," RES "}"), "invalid action"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:'," RES "}"), "invalid action"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'GetObject'," RES "}"), "invalid action"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':[]," RES "}"), "empty list"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':5," RES "}"), "string or a list"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':['s3:GetObject',7]," RES "}"),
     "string or a list"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject'}"),
     "Missing required field Resource"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::other/*'}"),
     "invalid resource"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':['arn:aws:s3:::bkt/*',"
          "'arn:aws:s3:::bkt2/*']}"),
     "invalid resource"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'bkt/*'}"),
     "invalid resource"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::'}"),
     "invalid resource"},
    {STMT("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','NotResource':'arn:aws:s3:::x'}"),
     "invalid resource"},
    {WITH_COND("'x'"), "Condition must be an object"},
    {WITH_COND("{'StringEquals':'x'}"), "non-empty object"},
    {WITH_COND("{'StringEquals':{}}"), "non-empty object"},
    {WITH_COND("{'StringSorta':{'aws:username':'a'}}"), "Invalid Condition type : StringSorta"},
    {WITH_COND("{'NullIfExists':{'aws:username':'true'}}"), "Invalid Condition type"},
    {WITH_COND("{'IfExists':{'aws:username':'true'}}"), "Invalid Condition type"},
    {WITH_COND("{'StringEquals':{'aws:Foo':'a'}}"), "invalid condition key"},
    {WITH_COND("{'StringEquals':{'s3:ExistingObjectTag/':'a'}}"), "invalid condition key"},
    {WITH_COND("{'StringEquals':{'aws:username':[]}}"), "empty list"},
    {WITH_COND("{'StringEquals':{'aws:username':{'a':1}}}"), "string or a list"},
    {WITH_COND("{'StringEquals':{'aws:username':null}}"), "string or a list"},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':'300.1.1.1/8'}}"), "Invalid value"},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':'10.0.0.0/33'}}"), "Invalid value"},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':'10.0.0.0/'}}"), "Invalid value"},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':'2001:db8::/129'}}"), "Invalid value"},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':''}}"), "Invalid value"},
    {WITH_COND("{'IpAddress':{'s3:prefix':'10.0.0.0/8'}}"), "aws:SourceIp only"},
    {WITH_COND("{'NumericLessThan':{'s3:max-keys':'12abc'}}"), "Invalid value"},
    {WITH_COND("{'NumericLessThan':{'s3:max-keys':'nan'}}"), "Invalid value"},
    {WITH_COND("{'NumericLessThan':{'s3:max-keys':'0x10'}}"), "Invalid value"},
    {WITH_COND("{'NumericLessThan':{'s3:max-keys':''}}"), "Invalid value"},
    {WITH_COND("{'NumericLessThan':{'s3:max-keys':'1e999'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'yesterday'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'2024-13-01'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'2024-01-01T25:00:00Z'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'2024-01-01T10:00:00X'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'2024-01-01T10:00:00.Z'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'2024-01-01T10:00:00+5'}}"), "Invalid value"},
    {WITH_COND("{'DateLessThan':{'aws:CurrentTime':'1.5'}}"), "Invalid value"},
    {WITH_COND("{'Bool':{'aws:SecureTransport':'maybe'}}"), "Invalid value"},
    {WITH_COND("{'Null':{'aws:Referer':'yes'}}"), "Invalid value"},
};

static void malformed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++) {
        char *doc = q(mcases[i].doc);
        char err[256];
        struct s3_policy *p = (struct s3_policy *)&err; /* must be reset to NULL */
        int rv = s3_policy_parse(gw_str_c(doc), GW_STR("bkt"), &p, err, sizeof err);

        if (rv != GW_ERR_MALFORMED_POLICY || p != NULL) {
            fail_msg("case %zu (%s): accepted", i, doc);
        }
        if (strstr(err, mcases[i].err) == NULL) {
            fail_msg("case %zu (%s): reason '%s' lacks '%s'", i, doc, err, mcases[i].err);
        }
        free(doc);
    }
}

/* Oversized documents are refused before parsing; a NUL byte is not JSON. */
static void malformed_size_and_nul(void **state)
{
    size_t n = S3_POLICY_MAX_LEN + 1;
    char *big = malloc(n);
    char err[256];
    struct s3_policy *p = NULL;
    static const char nul[] = "{\"Statement\":{}}\0x";

    (void)state;
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    assert_int_equal(s3_policy_parse(gw_str_make(big, n), GW_STR("bkt"), &p, err, sizeof err),
                     GW_ERR_MALFORMED_POLICY);
    assert_non_null(strstr(err, "larger"));
    free(big);
    assert_int_equal(s3_policy_parse(gw_str_make(nul, sizeof nul - 1), GW_STR("bkt"), &p, err,
                                     sizeof err),
                     GW_ERR_MALFORMED_POLICY);
    /* A zero-length error buffer is fine. */
    assert_int_equal(s3_policy_parse(GW_STR("{"), GW_STR("bkt"), &p, NULL, 0),
                     GW_ERR_MALFORMED_POLICY);
}

/* Every action the router assigns is one a policy may name. */
static void router_actions_are_known(void **state)
{
    (void)state;
    for (int op = 0; op < S3_OP__COUNT; op++) {
        char doc[512];
        char err[256];
        struct s3_policy *p = NULL;
        int rv;
        if (op == S3_OP_UNSUPPORTED) {
            continue;
        }
        snprintf(doc, sizeof doc,
                 "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"%s\","
                 "\"Resource\":\"arn:aws:s3:::bkt\"}}",
                 s3_op_action((enum s3_op)op));
        rv = s3_policy_parse(gw_str_c(doc), GW_STR("bkt"), &p, err, sizeof err);
        if (rv != 0) {
            fail_msg("%s -> %s: %s", s3_op_name((enum s3_op)op), s3_op_action((enum s3_op)op),
                     err);
        }
        s3_policy_unref(p);
    }
    assert_string_equal(s3_op_action(S3_OP_HEAD_OBJECT), "s3:GetObject");
    assert_string_equal(s3_op_action(S3_OP_HEAD_BUCKET), "s3:ListBucket");
    assert_string_equal(s3_op_action(S3_OP_LIST_OBJECTS_V2), "s3:ListBucket");
    assert_string_equal(s3_op_action(S3_OP_DELETE_BUCKET_TAGGING), "s3:PutBucketTagging");
    assert_string_equal(s3_op_action(S3_OP_LIST_MULTIPART_UPLOADS),
                        "s3:ListBucketMultipartUploads");
}

struct pcase {
    const char *doc;
    bool is_public;
};

static const struct pcase pcases[] = {
    {PUBLIC_READ, true},
    {STMT("{'Effect':'Allow','Principal':{'AWS':'alice'},'Action':'s3:*'," RES "}"), false},
    {STMT("{'Effect':'Allow','Principal':{'AWS':['alice','*']},'Action':'s3:*'," RES "}"), true},
    {STMT("{'Effect':'Deny','Principal':'*','Action':'s3:*'," RES "}"), false},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':'10.0.0.0/8'}}"), false},
    {WITH_COND("{'IpAddress':{'aws:SourceIp':'0.0.0.0/0'}}"), true},
    {WITH_COND("{'NotIpAddress':{'aws:SourceIp':'10.0.0.0/8'}}"), true},
    {WITH_COND("{'StringEquals':{'aws:username':'alice'}}"), false},
    {WITH_COND("{'Bool':{'aws:SecureTransport':'true'}}"), true},
    {WITH_COND("{'StringLike':{'aws:Referer':'http://x/*'}}"), true},
    {STMT("{'Effect':'Allow','NotPrincipal':{'AWS':'bob'},'Action':'s3:*'," RES "}"), true},
    {STMT("{'Effect':'Allow','NotPrincipal':'*','Action':'s3:*'," RES "}"), false},
};

static void public_status(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
        char *doc = q(pcases[i].doc);
        char err[256];
        struct s3_policy *p = NULL;

        if (s3_policy_parse(gw_str_c(doc), GW_STR("bkt"), &p, err, sizeof err) != 0) {
            fail_msg("case %zu: %s", i, err);
        }
        if (s3_policy_is_public(p) != pcases[i].is_public) {
            fail_msg("case %zu (%s): want %d", i, doc, pcases[i].is_public);
        }
        s3_policy_unref(p);
        free(doc);
    }
}

/* The cache returns the same compiled policy for the same (bucket, document),
 * a new one when either changes, and evicts the least recently used. */
static void cache_hits_and_evicts(void **state)
{
    struct s3_policy_cache *c = s3_policy_cache_create(2);
    char *d1 = q(PUBLIC_READ);
    char *d2 = q(STMT("{'Effect':'Deny','Principal':'*','Action':'s3:*'," RES "}"));
    char *d3 = q(STMT("{'Effect':'Allow','Principal':'*','Action':'s3:*'," RES "}"));
    struct s3_policy *a, *b, *x, *y;
    char err[256];

    (void)state;
    assert_int_equal(s3_policy_cache_get(c, GW_STR("bkt"), gw_str_c(d1), &a, err, sizeof err), 0);
    assert_int_equal(s3_policy_cache_get(c, GW_STR("bkt"), gw_str_c(d1), &b, err, sizeof err), 0);
    assert_ptr_equal(a, b);
    s3_policy_unref(b);
    assert_int_equal(s3_policy_cache_get(c, GW_STR("bkt"), gw_str_c(d2), &x, err, sizeof err), 0);
    assert_ptr_not_equal(a, x);
    /* d1 was used last before d2: d3 evicts d1, but our reference keeps it alive. */
    assert_int_equal(s3_policy_cache_get(c, GW_STR("bkt"), gw_str_c(d3), &y, err, sizeof err), 0);
    assert_int_equal(s3_policy_cache_get(c, GW_STR("bkt"), gw_str_c(d1), &b, err, sizeof err), 0);
    assert_ptr_not_equal(a, b);
    assert_true(s3_policy_is_public(a));
    s3_policy_unref(b);
    /* Another bucket: the same text names a foreign bucket, so it fails and is not cached. */
    assert_int_equal(s3_policy_cache_get(c, GW_STR("other"), gw_str_c(d1), &b, err, sizeof err),
                     GW_ERR_MALFORMED_POLICY);
    assert_int_equal(s3_policy_cache_get(c, GW_STR("bkt"), GW_STR("{"), &b, err, sizeof err),
                     GW_ERR_MALFORMED_POLICY);
    s3_policy_cache_destroy(c);
    /* References outlive the cache. */
    assert_true(s3_policy_is_public(a));
    s3_policy_unref(a);
    s3_policy_unref(x);
    s3_policy_unref(y);
    s3_policy_cache_destroy(NULL);
    s3_policy_unref(NULL);
    free(d1);
    free(d2);
    free(d3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eval_table),
        cmocka_unit_test(malformed_table),
        cmocka_unit_test(malformed_size_and_nul),
        cmocka_unit_test(router_actions_are_known),
        cmocka_unit_test(public_status),
        cmocka_unit_test(cache_hits_and_evicts),
    };
    return cmocka_run_group_tests_name("s3/policy", tests, NULL, NULL);
}
