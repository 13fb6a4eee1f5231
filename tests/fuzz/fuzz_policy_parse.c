/* libFuzzer target: bucket policy parsing, then evaluation of the parsed
 * policy against a few fixed requests and the public-status check.  A
 * refused document must say why; an accepted one must evaluate without
 * faults, the same way every time. */
#include <stdint.h>
#include <stdlib.h>

#include "policy.h"
#include "unigw/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct s3_policy_request reqs[] = {
    {.action = "s3:GetObject", .bucket = GW_STR("bkt"), .key = GW_STR("public/a"),
     .is_anonymous = true, .source_ip = "127.0.0.1", .now = 1700000000},
    {.action = "s3:ListBucket", .bucket = GW_STR("bkt"), .user = GW_STR("alice"),
     .source_ip = "2001:db8::1", .now = 1700000000, .prefix = GW_STR("home/"),
     .delimiter = GW_STR("/"), .max_keys = GW_STR("100"), .referer = GW_STR("http://x/"),
     .user_agent = GW_STR("curl/8")},
    {.action = "s3:PutObject", .bucket = GW_STR("bkt"), .key = GW_STR("k"),
     .user = GW_STR("bob"), .is_secure = true},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_str doc = gw_str_make((const char *)data, size);
    struct s3_policy *p = NULL;
    char err[256];
    int rv = s3_policy_parse(doc, GW_STR("bkt"), &p, err, sizeof err);

    if (rv != 0) {
        if (rv != GW_ERR_MALFORMED_POLICY || p != NULL || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        if (s3_policy_eval(p, &reqs[i]) != s3_policy_eval(p, &reqs[i])) {
            abort();
        }
    }
    (void)s3_policy_is_public(p);
    s3_policy_unref(p);
    return 0;
}
