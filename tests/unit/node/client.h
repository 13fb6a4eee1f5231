/* A blocking HTTP/1.1 test client for the node tests: runs on its own thread
 * against a real server socket and parses responses with llhttp. */
#ifndef UNIGW_TESTS_UNIT_NODE_CLIENT_H
#define UNIGW_TESTS_UNIT_NODE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "unigw/buf.h"

struct tc_resp {
    int status;
    struct gw_buf head; /* raw header lines, lower-cased names */
    struct gw_buf body;
    bool is_keep_alive;
};

struct tc_conn {
    int fd;
    char buf[65536];
    size_t len;
    int n_continue; /* 100 Continue interim responses seen */
};

/* Connect to 127.0.0.1:@port (5 s receive timeout). */
bool tc_connect(struct tc_conn *c, int port);
bool tc_send(struct tc_conn *c, const void *p, size_t len);
bool tc_send_str(struct tc_conn *c, const char *s);
/* Read one response; HEAD responses need @is_head.  A reader that sleeps
 * @slow_us between reads of @slow_chunk bytes simulates a slow client. */
bool tc_read_resp(struct tc_conn *c, struct tc_resp *r, bool is_head);
bool tc_read_resp_slow(struct tc_conn *c, struct tc_resp *r, size_t slow_chunk, int slow_us);
/* True when the server closed the connection (EOF or reset) within the timeout. */
bool tc_wait_closed(struct tc_conn *c);
/* Whether the header @name (lower-case) has @value in @r. */
bool tc_has_header(const struct tc_resp *r, const char *name, const char *value);
void tc_resp_free(struct tc_resp *r);
void tc_close(struct tc_conn *c);

/* Run @fn(@arg) on a thread while @loop runs; returns when it finished. */
void tc_run(uv_loop_t *loop, void (*fn)(void *), void *arg);

#endif
