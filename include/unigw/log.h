/* One line per event on stderr: level=warn mod=s3 req=... msg="...".
 * The level is checked before anything is formatted. */
#ifndef UNIGW_INCLUDE_LOG_H
#define UNIGW_INCLUDE_LOG_H

enum gw_log_level { GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR };

extern enum gw_log_level gw_log_threshold;

/* Parse "debug", "info", "warn" or "error"; false on anything else. */
#include <stdbool.h>
bool gw_log_level_parse(const char *s, enum gw_log_level *out);
void gw_log_write(enum gw_log_level lvl, const char *mod, const char *req, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define GW_LOG(lvl, mod, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) >= gw_log_threshold) {                                                           \
            gw_log_write((lvl), (mod), NULL, __VA_ARGS__);                                         \
        }                                                                                          \
    } while (0)

#define GW_RLOG(lvl, mod, reqid, ...)                                                              \
    do {                                                                                           \
        if ((lvl) >= gw_log_threshold) {                                                           \
            gw_log_write((lvl), (mod), (reqid), __VA_ARGS__);                                      \
        }                                                                                          \
    } while (0)

#endif
