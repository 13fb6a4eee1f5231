gw_fuzz_target(sigv2_auth gw_s3)
target_include_directories(fuzz_sigv2_auth PRIVATE ${PROJECT_SOURCE_DIR}/s3)
