# node/ fuzz targets.
gw_fuzz_target(http_request gw_node llhttp)
