/* Access keys: sealing secrets, apply of key_create / key_delete, lookup.
 *
 * A secret never sits in LMDB or in the Raft log in clear: the proposer seals
 * it with AES-256-GCM under the 32-byte cluster key and a nonce it draws
 * (meta_secret_seal), and the sealed blob nonce|ciphertext|tag travels in the
 * key_create command.  meta_key_lookup unseals on the way out; a node with the
 * wrong cluster key gets GW_ERR_CORRUPT, never garbage.
 *
 * Record (db "keys", key = access key):
 *   u8 record version (1) | bytes user | bytes sealed | u64 created_ms
 * Outcomes: INVALID_ARGUMENT (empty access key, malformed sealed blob, or a
 * user that does not exist), EXISTS (access key taken), NOT_FOUND (delete). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "unigw/alloc.h"
#include "unigw/err.h"

#include "env.h"
#include "fsm.h"

#define KEY_REC_VERSION 1
/* Additional data bound into every seal: a blob made for something else under
 * the same key does not open as a secret. */
#define SEAL_AAD "unigw-secret-v1"

struct key_rec {
    struct gw_str user;
    struct gw_str sealed;
    uint64_t created_ms;
};

static int key_rec_decode(struct gw_str v, struct key_rec *out)
{
    struct gw_reader r = gw_reader_make(v.p, v.len);
    uint8_t ver = 0;

    if (!gw_reader_u8(&r, &ver) || !gw_reader_bytes(&r, &out->user) ||
        !gw_reader_bytes(&r, &out->sealed) || !gw_reader_u64(&r, &out->created_ms) ||
        ver != KEY_REC_VERSION || r.len != 0) {
        return GW_ERR_CORRUPT;
    }
    return GW_OK;
}

/* Run AES-256-GCM over @in (encrypt or decrypt) into @out, which has room for
 * in_len bytes; @tag is written (encrypt) or checked (decrypt). */
static int gcm_run(bool enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *in,
                   size_t in_len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    int ok;

    if (ctx == NULL) {
        return GW_ERR_NOMEM;
    }
    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc ? 1 : 0) == 1 &&
         EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)SEAL_AAD, sizeof SEAL_AAD - 1) == 1 &&
         EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1;
    if (ok && !enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, META_TAG_LEN, tag) == 1;
    }
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1;
    if (ok && enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, META_TAG_LEN, tag) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        return enc ? GW_ERR_INTERNAL : GW_ERR_CORRUPT;
    }
    return GW_OK;
}

int meta_secret_seal(const uint8_t key[META_CLUSTER_KEY_LEN], struct gw_str secret,
                     const uint8_t nonce[META_NONCE_LEN], struct gw_buf *out)
{
    uint8_t ct[META_SECRET_MAX];
    uint8_t tag[META_TAG_LEN];
    int rv;

    if (secret.len == 0 || secret.len > META_SECRET_MAX) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    rv = gcm_run(true, key, nonce, (const uint8_t *)secret.p, secret.len, ct, tag);
    if (rv == 0) {
        gw_buf_append(out, nonce, META_NONCE_LEN);
        gw_buf_append(out, ct, secret.len);
        gw_buf_append(out, tag, META_TAG_LEN);
    }
    OPENSSL_cleanse(ct, sizeof ct);
    return rv;
}

static bool sealed_ok(struct gw_str sealed)
{
    return sealed.len > META_NONCE_LEN + META_TAG_LEN && sealed.len <= META_SEALED_MAX;
}

int meta_secret_unseal(const uint8_t key[META_CLUSTER_KEY_LEN], struct gw_str sealed, char *out,
                       size_t cap, size_t *out_len)
{
    const uint8_t *p = (const uint8_t *)sealed.p;
    uint8_t tag[META_TAG_LEN];
    size_t n;
    int rv;

    if (!sealed_ok(sealed)) {
        return GW_ERR_CORRUPT;
    }
    n = sealed.len - META_NONCE_LEN - META_TAG_LEN;
    if (cap < n) {
        return GW_ERR_INVALID_ARGUMENT;
    }
    memcpy(tag, p + META_NONCE_LEN + n, META_TAG_LEN);
    rv = gcm_run(false, key, p, p + META_NONCE_LEN, n, (uint8_t *)out, tag);
    if (rv != 0) {
        OPENSSL_cleanse(out, n);
        return rv;
    }
    if (cap > n) {
        out[n] = '\0';
    }
    *out_len = n;
    return GW_OK;
}

int meta_key_seal(struct meta *m, struct gw_str secret, struct gw_buf *out)
{
    uint8_t nonce[META_NONCE_LEN];
    int rv;

    rv = meta_nonce_make(nonce);
    if (rv != 0) {
        return rv;
    }
    return meta_secret_seal(m->cluster_key, secret, nonce, out);
}

static int apply_create(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    struct gw_str ak = c->u.key_create.access_key;
    struct gw_buf b = GW_BUF_INIT;
    struct gw_str v = GW_STR_NULL;
    int rv;

    if (!meta__name_ok(ak) || !meta__name_ok(c->u.key_create.user) ||
        !sealed_ok(c->u.key_create.sealed)) {
        *result = GW_ERR_INVALID_ARGUMENT;
        return GW_OK;
    }
    rv = meta__get(m, txn, META_DB_USERS, c->u.key_create.user, &v);
    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_INVALID_ARGUMENT; /* a key for a user that does not exist */
        return GW_OK;
    }
    if (rv == 0) {
        rv = meta__get(m, txn, META_DB_KEYS, ak, &v);
        if (rv == 0) {
            *result = GW_ERR_EXISTS;
            return GW_OK;
        }
    }
    if (rv != GW_ERR_NOT_FOUND) {
        return rv;
    }
    gw_buf_put_u8(&b, KEY_REC_VERSION);
    gw_buf_put_bytes(&b, c->u.key_create.user);
    gw_buf_put_bytes(&b, c->u.key_create.sealed);
    gw_buf_put_u64(&b, c->hdr.ts_ms);
    rv = meta__put(m, txn, META_DB_KEYS, ak, gw_buf_str(&b));
    gw_buf_free(&b);
    return rv;
}

static int apply_delete(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    int rv = meta__del(m, txn, META_DB_KEYS, c->u.key_delete.access_key);

    if (rv == GW_ERR_NOT_FOUND) {
        *result = GW_ERR_NOT_FOUND;
        return GW_OK;
    }
    return rv;
}

int meta__key_apply(struct meta *m, MDB_txn *txn, const struct meta_cmd *c, int *result)
{
    switch (c->type) {
    case META_CMD_KEY_CREATE:
        return apply_create(m, txn, c, result);
    case META_CMD_KEY_DELETE:
        return apply_delete(m, txn, c, result);
    default:
        return GW_ERR_INTERNAL;
    }
}

/* Collects the access keys of one user (a scan of the whole keys db: users
 * have few keys and this runs only for admin listings and user deletion). */
struct owner_ctx {
    struct gw_str user;
    struct gw_buf keys; /* the access keys, each as gw_buf_put_bytes */
    size_t n;
};

static int owner_cb(void *arg, struct gw_str key, struct gw_str val)
{
    struct owner_ctx *ctx = arg;
    struct key_rec rec;
    int rv;

    rv = key_rec_decode(val, &rec);
    if (rv != 0) {
        return rv;
    }
    if (gw_str_eq(rec.user, ctx->user)) {
        gw_buf_put_bytes(&ctx->keys, key);
        ctx->n++;
    }
    return GW_OK;
}

int meta__key_delete_user(struct meta *m, MDB_txn *txn, struct gw_str user)
{
    struct owner_ctx ctx = {user, GW_BUF_INIT, 0};
    struct gw_reader r;
    struct gw_str ak;
    int rv;

    rv = meta__scan(m, txn, META_DB_KEYS, GW_STR_NULL, GW_STR_NULL, owner_cb, &ctx);
    r = gw_reader_make(ctx.keys.data, ctx.keys.len);
    while (rv == 0 && gw_reader_bytes(&r, &ak)) {
        rv = meta__del(m, txn, META_DB_KEYS, ak);
    }
    gw_buf_free(&ctx.keys);
    return rv;
}

int meta_key_list(struct meta *m, struct gw_str user, char (**out)[META_NAME_MAX + 1],
                  size_t *n_out)
{
    struct owner_ctx ctx = {user, GW_BUF_INIT, 0};
    MDB_txn *txn = NULL;
    struct gw_reader r;
    struct gw_str ak;
    int rv;

    *out = NULL;
    *n_out = 0;
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__scan(m, txn, META_DB_KEYS, GW_STR_NULL, GW_STR_NULL, owner_cb, &ctx);
    mdb_txn_abort(txn);
    if (rv == 0 && ctx.n > 0) {
        *out = gw_calloc(ctx.n, sizeof **out);
        r = gw_reader_make(ctx.keys.data, ctx.keys.len);
        for (size_t i = 0; i < ctx.n && gw_reader_bytes(&r, &ak); i++) {
            meta__str_copy((*out)[i], META_NAME_MAX + 1, NULL, ak);
        }
        *n_out = ctx.n;
    }
    gw_buf_free(&ctx.keys);
    return rv;
}

/* Fill @out from the key record @v: owner, flags, unsealed secret. */
static int lookup_fill(struct meta *m, MDB_txn *txn, struct gw_str v, struct meta_key_info *out)
{
    struct meta_user u;
    struct key_rec rec;
    int rv;

    rv = key_rec_decode(v, &rec);
    if (rv != 0) {
        return rv;
    }
    rv = meta__user_read(m, txn, rec.user, &u);
    if (rv != 0) {
        return rv == GW_ERR_NOT_FOUND ? GW_ERR_INVALID_ACCESS_KEY : rv;
    }
    meta__str_copy(out->user, sizeof out->user, &out->user_len,
                   gw_str_make(u.name, u.name_len));
    memcpy(out->user_id, u.id, sizeof out->user_id);
    out->is_admin = u.is_admin;
    out->is_disabled = u.is_disabled;
    return meta_secret_unseal(m->cluster_key, rec.sealed, out->secret, sizeof out->secret,
                              &out->secret_len);
}

int meta_key_lookup(struct meta *m, struct gw_str access_key, struct meta_key_info *out)
{
    MDB_txn *txn = NULL;
    struct gw_str v = GW_STR_NULL;
    int rv;

    memset(out, 0, sizeof *out);
    rv = meta__txn_ro(m, &txn);
    if (rv != 0) {
        return rv;
    }
    rv = meta__get(m, txn, META_DB_KEYS, access_key, &v);
    if (rv == GW_ERR_NOT_FOUND) {
        rv = GW_ERR_INVALID_ACCESS_KEY;
    } else if (rv == 0) {
        rv = lookup_fill(m, txn, v, out);
    }
    mdb_txn_abort(txn);
    if (rv != 0) {
        OPENSSL_cleanse(out, sizeof *out);
    }
    return rv;
}
