# admin_http: arbitrary bytes as an HTTP response to unigw-admin (admin/client.c).
gw_fuzz_target(admin_http gw_admin)
