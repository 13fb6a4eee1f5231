/* Test helpers for code that runs on a libuv loop. */
#ifndef UNIGW_TESTS_LIB_LOOP_H
#define UNIGW_TESTS_LIB_LOOP_H

#include <stdbool.h>

#include <uv.h>

/* Run @loop one iteration at a time until *@flag is true or @max_iter
 * iterations ran; returns *@flag. */
bool tl_run_until(uv_loop_t *loop, const bool *flag, int max_iter);
/* Close every handle left, run the loop until they are gone and assert that
 * uv_loop_close() returns 0; prints any handle that leaked. */
void tl_loop_close(uv_loop_t *loop);
/* A fresh temporary directory (mkdtemp) under $TMPDIR; caller frees. */
char *tl_tmpdir(void);
/* rm -rf @path. */
void tl_rmrf(const char *path);

#endif
