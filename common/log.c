/* Logging: one line per event, written with a single fwrite so lines from
 * several threads do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "unigw/log.h"

enum gw_log_level gw_log_threshold = GW_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool gw_log_level_parse(const char *s, enum gw_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum gw_log_level)i;
            return true;
        }
    }
    return false;
}

void gw_log_write(enum gw_log_level lvl, const char *mod, const char *req, const char *fmt, ...)
{
    char line[2048];
    int n;
    int m;
    va_list ap;

    n = snprintf(line, sizeof line, "level=%s mod=%s ", level_names[lvl], mod);
    if (req != NULL) {
        n += snprintf(line + n, sizeof line - (size_t)n, "req=%s ", req);
    }
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) {
        m = 0;
    }
    n += m;
    if ((size_t)n > sizeof line - 2) {
        n = (int)sizeof line - 2;
    }
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
