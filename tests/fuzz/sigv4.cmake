gw_fuzz_target(sigv4_auth gw_s3)
target_include_directories(fuzz_sigv4_auth PRIVATE ${PROJECT_SOURCE_DIR}/s3)
gw_fuzz_target(aws_chunked gw_s3)
target_include_directories(fuzz_aws_chunked PRIVATE ${PROJECT_SOURCE_DIR}/s3)
