# repl_msg: arbitrary bytes as an internal RPC stream (raft/forward.c frames and HMAC).  The
# key is fixed so the seeds (valid frames signed with it) reach the body decoder.
gw_fuzz_target(repl_msg gw_raft)
target_include_directories(fuzz_repl_msg PRIVATE ${PROJECT_SOURCE_DIR}/raft)
