/* SigV4 request signing for unigw-admin, on common's HMAC-SHA256.
 *
 * The CLI builds every path itself (segments percent-encoded the way SigV4
 * wants) and sends no query, so the canonical request needs no
 * re-encoding: method, path, query, the signed headers sorted by name with
 * trimmed values, their names, the payload hash.  The node verifies it with
 * s3/sigv4.c, the full implementation (service "s3"). */
#include <string.h>

#include "admin.h"
#include "unigw/err.h"

#define ADM_MAX_SIGNED 16

/* Sort header indexes by name (few headers: insertion sort). */
static void sort_headers(const struct adm_sign_req *r, size_t *idx)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        size_t j = i;
        idx[i] = i;
        while (j > 0 && strcmp(r->names[idx[j - 1]], r->names[i]) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
}

/* Append @v with leading and trailing blanks removed and inner runs of
 * blanks squeezed to one, as SigV4 canonicalizes header values. */
static void append_trimmed(struct gw_buf *b, const char *v)
{
    bool blank = false;

    while (*v == ' ' || *v == '\t') {
        v++;
    }
    for (; *v != '\0'; v++) {
        if (*v == ' ' || *v == '\t') {
            blank = true;
            continue;
        }
        if (blank) {
            gw_buf_append_byte(b, ' ');
            blank = false;
        }
        gw_buf_append_byte(b, *v);
    }
}

static void canonical_request(const struct adm_sign_req *r, const size_t *idx,
                              struct gw_buf *canon, struct gw_buf *signed_names)
{
    gw_buf_printf(canon, "%s\n%s\n%s\n", r->method, r->path, r->query);
    for (size_t i = 0; i < r->n_headers; i++) {
        gw_buf_printf(canon, "%s:", r->names[idx[i]]);
        append_trimmed(canon, r->values[idx[i]]);
        gw_buf_append_byte(canon, '\n');
        if (i > 0) {
            gw_buf_append_byte(signed_names, ';');
        }
        gw_buf_append_c(signed_names, r->names[idx[i]]);
    }
    gw_buf_printf(canon, "\n%.*s\n%s", (int)signed_names->len, signed_names->data,
                  r->payload_hash);
}

static void signing_key(const struct adm_sign_req *r, unsigned char key[GW_SHA256_LEN])
{
    struct gw_buf k = GW_BUF_INIT;
    unsigned char a[GW_SHA256_LEN];

    gw_buf_printf(&k, "AWS4%s", r->secret_key);
    gw_hmac_sha256(k.data, k.len, r->amz_date, 8, a);
    gw_hmac_sha256(a, sizeof a, r->region, strlen(r->region), key);
    gw_hmac_sha256(key, GW_SHA256_LEN, "s3", 2, a);
    gw_hmac_sha256(a, sizeof a, "aws4_request", 12, key);
    gw_buf_free(&k);
}

int adm_sign(const struct adm_sign_req *r, struct gw_buf *out)
{
    size_t idx[ADM_MAX_SIGNED];
    struct gw_buf canon = GW_BUF_INIT;
    struct gw_buf names = GW_BUF_INIT;
    struct gw_buf sts = GW_BUF_INIT;
    char hash[2 * GW_SHA256_LEN + 1];
    unsigned char key[GW_SHA256_LEN];
    unsigned char sig[GW_SHA256_LEN];
    char sig_hex[2 * GW_SHA256_LEN + 1];

    if (r->n_headers == 0 || r->n_headers > ADM_MAX_SIGNED || strlen(r->amz_date) != 16) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    sort_headers(r, idx);
    canonical_request(r, idx, &canon, &names);
    gw_sha256_hex(canon.data, canon.len, hash);
    gw_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/s3/aws4_request\n%s", r->amz_date,
                  r->amz_date, r->region, hash);
    signing_key(r, key);
    gw_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
    gw_hex_encode(sig, sizeof sig, sig_hex);
    gw_buf_printf(out,
                  "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/s3/aws4_request, SignedHeaders=%.*s, "
                  "Signature=%s",
                  r->access_key, r->amz_date, r->region, (int)names.len, names.data, sig_hex);
    gw_buf_free(&canon);
    gw_buf_free(&names);
    gw_buf_free(&sts);
    return GW_OK;
}
