/* The daemon's configuration, driven by the one table NODE_CONFIG_MAP (node/config.h).
 *
 * Happy path: node_config_load() fills the defaults from the table (through the same value
 * parser a file uses), scans the flags with getopt_long, applies the file named by --config,
 * then the flags, then captures the root key from the environment.
 *
 * The INI syntax is libinih's.  Debian builds it with INI_HANDLER_LINENO off, so the handler
 * is not told the line it is looking at; we therefore feed inih through ini_parse_stream()
 * with our own line reader, which counts lines (exactly, also for errors the handler finds),
 * rejects NUL bytes and over-long lines (inih would silently split them), strips leading
 * blanks (so an indented key is a key, never inih's multi-line continuation of the previous
 * value) and checks section names (inih does not report a section with no keys).
 *
 * Failure modes: the first error wins and is reported as "<file>:<line>: <reason>", e.g.
 * "unigw.conf:12: unknown key 'listn' in [server]": unknown sections and keys, keys outside a
 * section, duplicate keys, bad syntax, bad values and out-of-range values.  Secret values are
 * never echoed in messages or printed. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ini.h>

#include "unigw/alloc.h"
#include "unigw/err.h"
#include "unigw/str.h"

#include "config.h"

#define CONFIG_FILE_MAX (1024 * 1024)

enum cfg_type {
    CFG_STR,
    CFG_U64,
    CFG_U32,
    CFG_BOOL,
    CFG_BYTES,
    CFG_BYTES_AUTO,
    CFG_MS,
    CFG_LOGLEVEL,
};

enum cfg_key_id {
#define X(type, section, name, def, min, max, help) KEY_##section##_##name,
    NODE_CONFIG_MAP(X)
#undef X
        KEY__COUNT
};

/* One table row, with where its field lives in struct node_config. */
struct cfg_key {
    enum cfg_type type;
    const char *section;
    const char *name;
    const char *def;
    uint64_t min;
    uint64_t max;
    const char *help;
    size_t offset;
};

static const struct cfg_key cfg_keys[KEY__COUNT] = {
#define X(type, section, name, def, min, max, help)                                                \
    {CFG_##type, #section, #name, def, min, max, help, offsetof(struct node_config, section.name)},
    NODE_CONFIG_MAP(X)
#undef X
};

static const char *const cfg_sections[] = {
#define S(name, help) #name,
    NODE_CONFIG_SECTIONS(S)
#undef S
};

static const char *const cfg_section_help[] = {
#define S(name, help) help,
    NODE_CONFIG_SECTIONS(S)
#undef S
};

#define N_SECTIONS (sizeof cfg_sections / sizeof cfg_sections[0])

/* Suffixes of BYTES and MS values, largest first; the last one (factor 1) is what a plain
 * number means and what a value that no larger unit divides is printed with. */
struct cfg_unit {
    const char *suffix;
    uint64_t factor;
};

static const struct cfg_unit bytes_units[] = {
    {"TiB", NODE_CONFIG_TIB},
    {"GiB", NODE_CONFIG_GIB},
    {"MiB", NODE_CONFIG_MIB},
    {"KiB", NODE_CONFIG_KIB},
    {"", 1},
};

static const struct cfg_unit ms_units[] = {
    {"d", NODE_CONFIG_DAY},
    {"h", NODE_CONFIG_HOUR},
    {"m", NODE_CONFIG_MIN},
    {"s", NODE_CONFIG_SEC},
    {"ms", 1},
};

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

union cfg_value {
    const char *s;
    uint64_t u;
    bool b;
    enum gw_log_level level;
};

static bool section_is_known(const char *section)
{
    for (size_t i = 0; i < N_SECTIONS; i++) {
        if (strcmp(cfg_sections[i], section) == 0) {
            return true;
        }
    }
    return false;
}

static const struct cfg_key *key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < KEY__COUNT; i++) {
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].name, name) == 0) {
            return &cfg_keys[i];
        }
    }
    return NULL;
}

static bool key_is_secret(const struct cfg_key *k)
{
    return k == &cfg_keys[KEY_cluster_cluster_key];
}

static void *key_field(const struct node_config *cfg, const struct cfg_key *k)
{
    return (char *)cfg + k->offset;
}

/* Copy @v into @out for an error message: at most 48 bytes, non-printables as '?'. */
static const char *value_shown(const struct cfg_key *k, const char *v, char *out, size_t cap)
{
    size_t i;

    if (k != NULL && key_is_secret(k)) {
        return "<hidden>";
    }
    for (i = 0; v[i] != '\0' && i + 1 < cap && i < 48; i++) {
        out[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
    }
    out[i] = '\0';
    return out;
}

/* Parse digits with an optional unit suffix from @units (case-sensitive: "m" is minutes). */
static bool scaled_parse(const char *s, const struct cfg_unit *units, size_t n_units, uint64_t *out)
{
    size_t n_digits = strspn(s, "0123456789");
    const char *suffix = s + n_digits;
    uint64_t v;

    if (!gw_str_to_u64(gw_str_make(s, n_digits), &v)) {
        return false;
    }
    if (suffix[0] == '\0') {
        *out = v; /* a plain number counts in the smallest unit */
        return true;
    }
    for (size_t i = 0; i < n_units; i++) {
        if (units[i].suffix[0] != '\0' && strcmp(suffix, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].factor) {
                return false;
            }
            *out = v * units[i].factor;
            return true;
        }
    }
    return false;
}

/* Print @v with the largest unit that divides it exactly. */
static const char *scaled_format(uint64_t v, const struct cfg_unit *units, size_t n_units,
                                 char *out, size_t cap)
{
    size_t i = 0;

    while (v != 0 && i + 1 < n_units && v % units[i].factor != 0) {
        i++;
    }
    if (v == 0) {
        i = n_units - 1;
    }
    snprintf(out, cap, "%" PRIu64 "%s", v / units[i].factor, units[i].suffix);
    return out;
}

static bool bool_parse(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* A string value must survive being written back into an INI file unchanged. */
static bool str_is_writable(const char *s, const char **why)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            *why = "control characters are not allowed";
            return false;
        }
    }
    if (len > 0 && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1]))) {
        *why = "leading or trailing blanks are not allowed";
        return false;
    }
    if (strstr(s, " ;") != NULL || strstr(s, "\t;") != NULL) {
        *why = "' ;' would start a comment";
        return false;
    }
    return true;
}

/* Syntax of one value by type; on failure *why says what was expected. */
static bool value_parse(const struct cfg_key *k, const char *s, union cfg_value *v,
                        const char **why)
{
    switch (k->type) {
    case CFG_STR:
        v->s = s;
        return str_is_writable(s, why);
    case CFG_U64:
    case CFG_U32:
        *why = "expected a decimal number";
        return gw_str_to_u64(gw_str_c(s), &v->u);
    case CFG_BOOL:
        *why = "expected true or false (yes/no, on/off, 1/0)";
        return bool_parse(s, &v->b);
    case CFG_BYTES:
        *why = "expected a size such as 65536, 64KiB, 512MiB, 5GiB";
        return scaled_parse(s, bytes_units, sizeof bytes_units / sizeof bytes_units[0], &v->u);
    case CFG_BYTES_AUTO:
        *why = "expected auto or a size such as 0, 64KiB, 512MiB, 5GiB";
        v->u = NODE_CONFIG_AUTO;
        return strcmp(s, "auto") == 0 ||
               scaled_parse(s, bytes_units, sizeof bytes_units / sizeof bytes_units[0], &v->u);
    case CFG_MS:
        *why = "expected a duration such as 500ms, 30s, 2m, 1h, 7d (plain numbers are ms)";
        return scaled_parse(s, ms_units, sizeof ms_units / sizeof ms_units[0], &v->u);
    case CFG_LOGLEVEL:
        *why = "expected debug, info, warn or error";
        return gw_log_level_parse(s, &v->level);
    }
    return false;
}

/* Render a number of @k's type for messages and output. */
static const char *number_format(const struct cfg_key *k, uint64_t u, char *out, size_t cap)
{
    if (k->type == CFG_BYTES_AUTO && u == NODE_CONFIG_AUTO) {
        return "auto";
    }
    if (k->type == CFG_BYTES || k->type == CFG_BYTES_AUTO) {
        return scaled_format(u, bytes_units, sizeof bytes_units / sizeof bytes_units[0], out, cap);
    }
    if (k->type == CFG_MS) {
        return scaled_format(u, ms_units, sizeof ms_units / sizeof ms_units[0], out, cap);
    }
    snprintf(out, cap, "%" PRIu64, u);
    return out;
}

static bool value_in_range(const struct cfg_key *k, const union cfg_value *v)
{
    switch (k->type) {
    case CFG_STR:
        return strlen(v->s) >= k->min && strlen(v->s) <= k->max;
    case CFG_U64:
    case CFG_U32:
    case CFG_BYTES:
    case CFG_MS:
        return v->u >= k->min && v->u <= k->max;
    case CFG_BYTES_AUTO:
        return v->u == NODE_CONFIG_AUTO || (v->u >= k->min && v->u <= k->max);
    default:
        return true;
    }
}

static bool chars_all_in(const char *s, const char *extra)
{
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL) {
            return false;
        }
    }
    return true;
}

static bool domain_is_valid(const char *s)
{
    size_t len = strlen(s);

    if (len == 0) {
        return true;
    }
    return chars_all_in(s, ".-") && strstr(s, "..") == NULL && s[0] != '.' && s[0] != '-' &&
           s[len - 1] != '.' && s[len - 1] != '-';
}

static bool region_is_valid(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-') {
            return false;
        }
    }
    return true;
}

/* Checks beyond a key's type and range, for the keys that have a syntax of their own. */
static bool key_check(const struct cfg_key *k, const char *s, const char **why)
{
    struct sockaddr_storage ss;
    unsigned char key[32];

    switch ((enum cfg_key_id)(k - cfg_keys)) {
    case KEY_node_id:
        *why = "use only A-Z a-z 0-9 . _ -";
        return chars_all_in(s, "._-");
    case KEY_node_data_dir:
    case KEY_storage_mount:
        *why = "expected an absolute path";
        return s[0] == '/';
    case KEY_server_tls_cert:
    case KEY_server_tls_key:
        *why = "expected an absolute path, or empty";
        return s[0] == '\0' || s[0] == '/';
    case KEY_server_listen:
        *why = "expected a.b.c.d:port or [IPv6]:port with port 1..65535";
        return node_config_addr_parse(s, &ss) == GW_OK;
    case KEY_server_vhost_domain:
        *why = "expected a DNS name such as s3.example.com";
        return domain_is_valid(s);
    case KEY_server_region:
        *why = "use only a-z 0-9 -";
        return region_is_valid(s);
    case KEY_storage_xattrs:
        *why = "expected auto, on or off";
        return strcmp(s, "auto") == 0 || strcmp(s, "on") == 0 || strcmp(s, "off") == 0;
    case KEY_cache_mode:
        *why = "expected proxy, redirect or off";
        return strcmp(s, "proxy") == 0 || strcmp(s, "redirect") == 0 || strcmp(s, "off") == 0;
    case KEY_cluster_cluster_key:
        *why = "expected 64 hex digits, or empty to generate one";
        return s[0] == '\0' || (strlen(s) == 64 && gw_hex_decode(gw_str_c(s), key, sizeof key));
    default:
        return true;
    }
}

/* Store a checked value in its field; strings are copied. */
static void value_store(struct node_config *cfg, const struct cfg_key *k, const union cfg_value *v)
{
    void *field = key_field(cfg, k);

    switch (k->type) {
    case CFG_STR:
        gw_free(*(char **)field);
        *(char **)field = gw_strdup(v->s);
        break;
    case CFG_U32:
        *(uint32_t *)field = (uint32_t)v->u;
        break;
    case CFG_U64:
    case CFG_BYTES:
    case CFG_BYTES_AUTO:
    case CFG_MS:
        *(uint64_t *)field = v->u;
        break;
    case CFG_BOOL:
        *(bool *)field = v->b;
        break;
    case CFG_LOGLEVEL:
        *(enum gw_log_level *)field = v->level;
        break;
    }
}

/* Parse, range-check and store @s into @k's field; on error, @cfg is unchanged. */
static int key_set(struct node_config *cfg, const struct cfg_key *k, const char *s, char *err,
                   size_t err_len)
{
    union cfg_value v;
    const char *why = "";
    char shown[64];
    char lo[32];
    char hi[32];

    if (!value_parse(k, s, &v, &why) || !key_check(k, s, &why)) {
        snprintf(err, err_len, "bad value '%s' for '%s' in [%s]: %s",
                 value_shown(k, s, shown, sizeof shown), k->name, k->section, why);
        return GW_ERR_CONFIG;
    }
    if (!value_in_range(k, &v)) {
        snprintf(err, err_len, "value '%s' for '%s' in [%s] is out of range %s..%s%s",
                 value_shown(k, s, shown, sizeof shown), k->name, k->section,
                 number_format(k, k->min, lo, sizeof lo), number_format(k, k->max, hi, sizeof hi),
                 k->type == CFG_STR ? " bytes" : "");
        return GW_ERR_CONFIG;
    }
    value_store(cfg, k, &v);
    return GW_OK;
}

void node_config_init(struct node_config *cfg)
{
    char err[256];
    int rv;

    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < KEY__COUNT; i++) {
        rv = key_set(cfg, &cfg_keys[i], cfg_keys[i].def, err, sizeof err);
        assert(rv == GW_OK); /* the table's defaults are checked by a unit test */
        (void)rv;
    }
}

int node_config_set(struct node_config *cfg, const char *section, const char *key,
                    const char *value, char *err, size_t err_len)
{
    const struct cfg_key *k = key_find(section, key);

    if (k == NULL) {
        if (!section_is_known(section)) {
            snprintf(err, err_len, "unknown section [%s]", section);
        } else {
            snprintf(err, err_len, "unknown key '%s' in [%s]", key, section);
        }
        return GW_ERR_CONFIG;
    }
    return key_set(cfg, k, value, err, err_len);
}

/* State of one ini_parse_stream() run: the unread text, the line count, the first error. */
struct text_parse {
    struct node_config *cfg;
    const char *name;
    const char *p;
    size_t left;
    int lineno;
    int err_line; /* line of the first error, 0 while there is none */
    char *err;
    size_t err_len;
    bool seen[KEY__COUNT];
};

static void parse_fail(struct text_parse *tp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first error, located at the current line. */
static void parse_fail(struct text_parse *tp, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    if (tp->err_line != 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    tp->err_line = tp->lineno;
    snprintf(tp->err, tp->err_len, "%s:%d: %s", tp->name, tp->lineno, reason);
}

/* Catch "[name]" lines naming no section of ours, including sections without keys. */
static void section_check(struct text_parse *tp, const char *line)
{
    const char *end;
    char name[64];
    char shown[64];
    size_t len;

    if (tp->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3 + strspn(line + 3, " \t"); /* inih skips a UTF-8 byte order mark */
    }
    end = strchr(line, ']');
    if (line[0] != '[' || end == NULL || memchr(line, ';', (size_t)(end - line)) != NULL) {
        return; /* not a section line, or one inih reports as a syntax error */
    }
    len = (size_t)(end - line - 1);
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), line + 1);
    if (len >= sizeof name || !section_is_known(name)) {
        parse_fail(tp, "unknown section [%s]", value_shown(NULL, name, shown, sizeof shown));
    }
}

/* The ini_reader: hand inih the next line (fgets-like, @num bytes with the NUL). */
static char *text_read_line(char *line, int num, void *stream)
{
    struct text_parse *tp = stream;
    const char *nl;
    size_t n;
    size_t content;
    size_t skip = 0;

    if (tp->left == 0 || tp->err_line != 0 || num < 3) {
        return NULL;
    }
    nl = memchr(tp->p, '\n', tp->left);
    n = nl != NULL ? (size_t)(nl - tp->p) + 1 : tp->left;
    content = nl != NULL ? n - 1 : n;
    tp->lineno++;
    if (memchr(tp->p, '\0', n) != NULL) {
        parse_fail(tp, "NUL byte in line");
        return NULL;
    }
    while (skip < content && tp->p[skip] != '\n' && isspace((unsigned char)tp->p[skip])) {
        skip++;
    }
    if (content - skip > (size_t)num - 2) {
        parse_fail(tp, "line longer than %d bytes", num - 2);
        return NULL;
    }
    memcpy(line, tp->p + skip, n - skip);
    line[n - skip] = '\0';
    tp->p += n;
    tp->left -= n;
    section_check(tp, line);
    return line;
}

/* The ini_handler: one "name = value" line of @section. */
static int text_handle_pair(void *user, const char *section, const char *name, const char *value)
{
    struct text_parse *tp = user;
    const struct cfg_key *k;
    char reason[256];

    if (tp->err_line != 0 || name == NULL) {
        return 1; /* only the first error counts; NULL name: a section start */
    }
    if (section[0] == '\0') {
        parse_fail(tp, "key '%s' outside any section", name);
        return 0;
    }
    k = key_find(section, name);
    if (k != NULL && tp->seen[k - cfg_keys]) {
        parse_fail(tp, "duplicate key '%s' in [%s]", name, section);
        return 0;
    }
    if (node_config_set(tp->cfg, section, name, value, reason, sizeof reason) != GW_OK) {
        parse_fail(tp, "%s", reason);
        return 0;
    }
    tp->seen[k - cfg_keys] = true;
    return 1;
}

int node_config_parse_text(struct node_config *cfg, const char *name, const char *text, size_t len,
                           char *err, size_t err_len)
{
    struct text_parse tp = {.cfg = cfg, .name = name, .p = text, .left = len};
    int line;

    tp.err = err;
    tp.err_len = err_len;
    line = ini_parse_stream(text_read_line, &tp, text_handle_pair, &tp);
    if (line < 0) {
        snprintf(err, err_len, "%s: cannot parse (out of memory)", name);
        return GW_ERR_CONFIG;
    }
    /* inih returns the first line it found wrong, which may precede ours. */
    if (line > 0 && (tp.err_line == 0 || line < tp.err_line)) {
        tp.err_line = 0;
        tp.lineno = line;
        parse_fail(&tp, "syntax error: expected [section] or key = value");
    }
    return tp.err_line != 0 ? GW_ERR_CONFIG : GW_OK;
}

int node_config_parse_file(struct node_config *cfg, const char *path, char *err, size_t err_len)
{
    struct gw_buf text = GW_BUF_INIT;
    ssize_t n = 1;
    int fd;
    int rv = GW_ERR_CONFIG;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return GW_ERR_CONFIG;
    }
    while (n > 0 && text.len <= CONFIG_FILE_MAX) {
        gw_buf_reserve(&text, 64 * 1024);
        n = read(fd, text.data + text.len, text.cap - text.len);
        if (n < 0 && errno == EINTR) {
            n = 1;
        } else if (n > 0) {
            text.len += (size_t)n;
        }
    }
    if (n < 0) {
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
    } else if (text.len > CONFIG_FILE_MAX) {
        snprintf(err, err_len, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
    } else {
        rv = node_config_parse_text(cfg, path, text.data, text.len, err, err_len);
    }
    close(fd);
    gw_buf_free(&text);
    return rv;
}

/* Text form of @k's current value in @cfg. */
static const char *value_format(const struct node_config *cfg, const struct cfg_key *k, char *out,
                                size_t cap)
{
    const void *field = key_field(cfg, k);

    switch (k->type) {
    case CFG_STR:
        return *(char *const *)field;
    case CFG_U32:
        return number_format(k, *(const uint32_t *)field, out, cap);
    case CFG_BOOL:
        return *(const bool *)field ? "true" : "false";
    case CFG_LOGLEVEL:
        return log_level_names[*(const enum gw_log_level *)field];
    default:
        return number_format(k, *(const uint64_t *)field, out, cap);
    }
}

/* One key: its help, its default and range, then "name = value". */
static void key_print(const struct node_config *cfg, const struct cfg_key *k, struct gw_buf *out)
{
    char lo[32];
    char hi[32];
    char val[32];
    const char *v = value_format(cfg, k, val, sizeof val);

    gw_buf_printf(out, "\n# %s.\n", k->help);
    if (k->type == CFG_STR) {
        gw_buf_printf(out, "# Default \"%s\"; %" PRIu64 "..%" PRIu64 " bytes.\n", k->def, k->min,
                      k->max);
    } else if (k->type == CFG_BOOL || k->type == CFG_LOGLEVEL) {
        gw_buf_printf(out, "# Default %s.\n", k->def);
    } else {
        gw_buf_printf(out, "# Default %s; range %s..%s.\n", k->def,
                      number_format(k, k->min, lo, sizeof lo),
                      number_format(k, k->max, hi, sizeof hi));
    }
    if (key_is_secret(k) && v[0] != '\0') {
        gw_buf_printf(out, "# %s = <set>\n", k->name);
    } else {
        gw_buf_printf(out, "%s =%s%s\n", k->name, v[0] != '\0' ? " " : "", v);
    }
}

void node_config_print(const struct node_config *cfg, struct gw_buf *out)
{
    gw_buf_append_c(out,
                    "# unigw configuration (INI).  Generated from the table in node/config.h;\n"
                    "# `unigw --print-config` prints the effective configuration the same "
                    "way.\n# Comments start with # or ;.  Flags override this file.\n");
    for (size_t s = 0; s < N_SECTIONS; s++) {
        gw_buf_printf(out, "\n# %s.\n[%s]\n", cfg_section_help[s], cfg_sections[s]);
        for (size_t i = 0; i < KEY__COUNT; i++) {
            if (strcmp(cfg_keys[i].section, cfg_sections[s]) == 0) {
                key_print(cfg, &cfg_keys[i], out);
            }
        }
    }
    gw_buf_printf(out,
                  "\n# From the environment only (the root user's key on first start):\n"
                  "# UNIGW_ROOT_ACCESS_KEY: %s\n# UNIGW_ROOT_SECRET_KEY: %s\n",
                  cfg->root_access_key != NULL ? "<set>" : "<unset>",
                  cfg->root_secret_key != NULL ? "<set>" : "<unset>");
}

void node_config_free(struct node_config *cfg)
{
    for (size_t i = 0; i < KEY__COUNT; i++) {
        char **field = key_field(cfg, &cfg_keys[i]);

        if (cfg_keys[i].type == CFG_STR && *field != NULL) {
            if (key_is_secret(&cfg_keys[i])) {
                explicit_bzero(*field, strlen(*field));
            }
            gw_free(*field);
        }
    }
    gw_free(cfg->config_path);
    gw_free(cfg->root_access_key);
    if (cfg->root_secret_key != NULL) {
        explicit_bzero(cfg->root_secret_key, strlen(cfg->root_secret_key));
        gw_free(cfg->root_secret_key);
    }
    memset(cfg, 0, sizeof *cfg);
}

/* The port after a host: ":1".. ":65535", digits only. */
static bool port_parse(const char *s, uint16_t *port)
{
    uint64_t v;

    if (s[0] != ':' || !gw_str_to_u64(gw_str_c(s + 1), &v) || v == 0 || v > 65535) {
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

int node_config_addr_parse(const char *s, struct sockaddr_storage *out)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    const char *end;
    char host[64];
    uint16_t port;

    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL || (size_t)(end - s - 1) >= sizeof host || !port_parse(end + 1, &port)) {
            return GW_ERR_INVALID;
        }
        snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? GW_OK : GW_ERR_INVALID;
    }
    end = strrchr(s, ':');
    if (end == NULL || (size_t)(end - s) >= sizeof host || !port_parse(end, &port)) {
        return GW_ERR_INVALID;
    }
    snprintf(host, sizeof host, "%.*s", (int)(end - s), s);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    return inet_pton(AF_INET, host, &in4->sin_addr) == 1 ? GW_OK : GW_ERR_INVALID;
}

uint64_t node_config_cache_size(const struct node_config *cfg, uint64_t ram_bytes)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_len = sysconf(_SC_PAGESIZE);
    uint64_t quarter;

    if (cfg->cache.size != NODE_CONFIG_AUTO) {
        return cfg->cache.size;
    }
    if (ram_bytes == 0 && pages > 0 && page_len > 0) {
        ram_bytes = (uint64_t)pages * (uint64_t)page_len;
    }
    quarter = ram_bytes / 4;
    return quarter < 4 * NODE_CONFIG_GIB ? quarter : 4 * NODE_CONFIG_GIB;
}

enum node_config_cache_mode node_config_cache_mode(const struct node_config *cfg)
{
    if (cfg->cache.size == 0 || strcmp(cfg->cache.mode, "off") == 0) {
        return NODE_CONFIG_CACHE_OFF;
    }
    return strcmp(cfg->cache.mode, "redirect") == 0 ? NODE_CONFIG_CACHE_REDIRECT
                                                     : NODE_CONFIG_CACHE_PROXY;
}
