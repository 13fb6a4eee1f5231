# node/cache fuzz targets: the redirect token and the peer digest decoders.
gw_fuzz_target(cache_token gw_node_cache)
gw_fuzz_target(cache_digest gw_node_cache)
