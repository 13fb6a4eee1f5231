/* Fuzz target: arbitrary bytes as a config file.  The parser must never crash or leak, an
 * error must always come with a located message, and whatever it accepts must print back
 * into text that parses to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unigw/buf.h"
#include "unigw/err.h"

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct node_config cfg;
    struct node_config again;
    struct gw_buf text = GW_BUF_INIT;
    struct gw_buf text_again = GW_BUF_INIT;
    char err[256] = "";

    node_config_init(&cfg);
    if (node_config_parse_text(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof err) !=
        GW_OK) {
        if (strncmp(err, "fuzz.conf:", 10) != 0) {
            abort(); /* every error names the file and line */
        }
        node_config_free(&cfg);
        return 0;
    }
    /* Accepted: print, parse the printed text, print again; both prints must agree.  A set
     * cluster key prints as a comment (it is secret), so it is cleared first. */
    if (node_config_set(&cfg, "cluster", "cluster_key", "", err, sizeof err) != GW_OK) {
        abort();
    }
    node_config_print(&cfg, &text);
    node_config_init(&again);
    if (node_config_parse_text(&again, "printed", text.data, text.len, err, sizeof err) != GW_OK) {
        abort();
    }
    node_config_print(&again, &text_again);
    if (text.len != text_again.len || memcmp(text.data, text_again.data, text.len) != 0) {
        abort();
    }
    gw_buf_free(&text);
    gw_buf_free(&text_again);
    node_config_free(&again);
    node_config_free(&cfg);
    return 0;
}
