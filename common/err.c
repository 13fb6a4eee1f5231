/* The error table expanded into lookups, and foreign codes translated once. */
#include <errno.h>

#include <uv.h>

#include "unigw/err.h"

struct err_row {
    const char *name;
    int status;
    const char *code;
    const char *msg;
};

static const struct err_row rows[GW_ERR__COUNT] = {
    [GW_OK] = {"OK", 200, "OK", "OK"},
#define ROW(n, s, c, m) [GW_ERR_##n] = {#n, s, c, m},
    GW_ERR_MAP(ROW)
#undef ROW
};

static const struct err_row *row(int rv)
{
    if (rv < 0 || rv >= GW_ERR__COUNT) {
        return &rows[GW_ERR_INTERNAL];
    }
    return &rows[rv];
}

const char *gw_err_name(int rv)
{
    return row(rv)->name;
}

int gw_err_status(int rv)
{
    return row(rv)->status;
}

const char *gw_err_code(int rv)
{
    return row(rv)->code;
}

const char *gw_err_message(int rv)
{
    return row(rv)->msg;
}

int gw_err_from_errno(int e)
{
    switch (e) {
    case 0:
        return GW_OK;
    case ENOENT:
        return GW_ERR_NOT_FOUND;
    case EEXIST:
    case ENOTEMPTY:
        return GW_ERR_EXISTS;
    case ENOSPC:
    case EDQUOT:
        return GW_ERR_NO_SPACE;
    case ENOMEM:
        return GW_ERR_NOMEM;
    case ENOTDIR:
    case EISDIR:
        return GW_ERR_PATH_CONFLICT;
    case ENAMETOOLONG:
        return GW_ERR_KEY_TOO_LONG;
    case EACCES:
    case EPERM:
        return GW_ERR_ACCESS_DENIED;
    case EAGAIN:
        return GW_ERR_AGAIN;
    case ECANCELED:
        return GW_ERR_CANCELED;
    case EINVAL:
        return GW_ERR_INVALID;
    default:
        return GW_ERR_IO;
    }
}

int gw_err_from_uv(int uv_rv)
{
    if (uv_rv == UV_ECANCELED) {
        return GW_ERR_CANCELED;
    }
    return uv_rv < 0 ? gw_err_from_errno(-uv_rv) : GW_OK;
}
