/* Tests of node/admin_api.c: which authenticated requests the admin API
 * refuses before reading a byte of their body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "admin_op.h"

static const char *refusal(struct s3_identity id, int *status, const char **code)
{
    *status = 0;
    *code = NULL;
    return node__adm_refusal(&id, status, code);
}

/* If the body hash is signed in an Authorization header, then the request goes on. */
static void signed_body_accepted(void **state)
{
    struct s3_identity id = {.is_admin = true, .has_payload_sha256 = true};
    const char *code;
    int status;

    (void)state;
    assert_null(refusal(id, &status, &code));
}

/* If the payload is UNSIGNED-PAYLOAD, aws-chunked, or the URL presigned, then
 * the request is refused: its body would not be covered by the signature. */
static void unsigned_body_refused(void **state)
{
    struct s3_identity unsigned_payload = {.is_admin = true};
    struct s3_identity streaming = {.is_admin = true, .is_streaming = true};
    struct s3_identity presigned = {.is_admin = true, .is_presigned = true};
    struct s3_identity presigned_hash = {.is_admin = true, .is_presigned = true,
                                         .has_payload_sha256 = true};
    const char *code;
    int status;

    (void)state;
    assert_non_null(refusal(unsigned_payload, &status, &code));
    assert_int_equal(status, 403);
    assert_string_equal(code, "AccessDenied");
    assert_non_null(refusal(streaming, &status, &code));
    assert_int_equal(status, 400);
    assert_string_equal(code, "InvalidRequest");
    assert_non_null(strstr(refusal(presigned, &status, &code), "presigned"));
    assert_int_equal(status, 403);
    assert_non_null(strstr(refusal(presigned_hash, &status, &code), "presigned"));
    assert_int_equal(status, 403);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signed_body_accepted),
        cmocka_unit_test(unsigned_body_refused),
    };
    return cmocka_run_group_tests_name("node/admin_api", tests, NULL, NULL);
}
