/* Loop and temp-dir helpers shared by the unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "loop.h"

bool tl_run_until(uv_loop_t *loop, const bool *flag, int max_iter)
{
    for (int i = 0; i < max_iter && !*flag; i++) {
        uv_run(loop, UV_RUN_ONCE);
    }
    return *flag;
}

static void walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        fprintf(stderr, "leaked handle: %s\n", uv_handle_type_name(uv_handle_get_type(h)));
        uv_close(h, NULL);
    }
}

void tl_loop_close(uv_loop_t *loop)
{
    int leaked = 0;

    uv_run(loop, UV_RUN_NOWAIT);
    uv_walk(loop, walk_cb, &leaked);
    for (int i = 0; i < 1000 && uv_loop_alive(loop); i++) {
        uv_run(loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(uv_loop_close(loop), 0);
}

char *tl_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p;

    if (base == NULL) {
        base = "/tmp";
    }
    if (asprintf(&p, "%s/unigw-test-XXXXXX", base) < 0 || mkdtemp(p) == NULL) {
        abort();
    }
    return p;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tl_rmrf(const char *path)
{
    nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
