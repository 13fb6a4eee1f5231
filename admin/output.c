/* unigw-admin output: aligned tables for people, JSON for scripts. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "unigw/alloc.h"

void adm_table_init(struct adm_table *t, size_t n_cols, const char *const *head)
{
    memset(t, 0, sizeof *t);
    assert(n_cols > 0 && n_cols <= ADM_TABLE_MAX_COLS);
    t->n_cols = n_cols;
    t->head = head;
}

void adm_table_row(struct adm_table *t, const char *const *cells)
{
    t->cells = gw_realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof *t->cells);
    for (size_t i = 0; i < t->n_cols; i++) {
        t->cells[t->n_rows * t->n_cols + i] = gw_strdup(cells[i] != NULL ? cells[i] : "-");
    }
    t->n_rows++;
}

static void print_row(const struct adm_table *t, const char *const *cells, const size_t *w,
                      struct gw_buf *out)
{
    for (size_t i = 0; i < t->n_cols; i++) {
        if (i + 1 == t->n_cols) {
            gw_buf_append_c(out, cells[i]); /* no trailing blanks */
        } else {
            gw_buf_printf(out, "%-*s  ", (int)w[i], cells[i]);
        }
    }
    gw_buf_append_byte(out, '\n');
}

void adm_table_print(const struct adm_table *t, struct gw_buf *out)
{
    size_t w[ADM_TABLE_MAX_COLS] = {0};

    for (size_t i = 0; i < t->n_cols; i++) {
        w[i] = strlen(t->head[i]);
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t n = strlen(t->cells[r * t->n_cols + i]);
            w[i] = n > w[i] ? n : w[i];
        }
    }
    print_row(t, t->head, w, out);
    for (size_t r = 0; r < t->n_rows; r++) {
        print_row(t, (const char *const *)&t->cells[r * t->n_cols], w, out);
    }
}

void adm_table_free(struct adm_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        gw_free(t->cells[i]);
    }
    gw_free(t->cells);
    t->cells = NULL;
    t->n_rows = 0;
}

const char *adm_json_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_boolean(v)) {
        return json_is_true(v) ? "yes" : "no";
    }
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return "-";
}
