# config_parse: arbitrary bytes as a config file (node/config.c, built from source so the
# target does not wait for the rest of gw_node).
gw_fuzz_target(config_parse gw_common PkgConfig::INIH)
target_sources(fuzz_config_parse PRIVATE ${PROJECT_SOURCE_DIR}/node/config.c)
target_include_directories(fuzz_config_parse PRIVATE ${PROJECT_SOURCE_DIR}/node)
