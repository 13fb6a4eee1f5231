# Bucket policy documents (s3/policy.c, jansson).
gw_fuzz_target(policy_parse gw_s3)
target_include_directories(fuzz_policy_parse PRIVATE ${PROJECT_SOURCE_DIR}/s3)
