/* Private to raft/: the internal RPC between members (forward.c).
 *
 * A frame is u32 body_len (little endian), the body, then HMAC-SHA256 under the cluster
 * secret over the length and the body (32 bytes).  Body: u8 version (1), u8 type, u64 seq,
 * then per type: PROPOSE: bytes cmd (u32 length + bytes); PROPOSE_REPLY: u8 status,
 * u64 index, bytes result (the outcome's GW_ERR name, "" for GW_OK, so that numbering
 * changes between binaries do not matter); READ: nothing; READ_REPLY: u8 status,
 * u64 index; CHANGE (a membership change forwarded to the leader): u8 op (enum
 * repl_change_op), u64 id, u8 as_voter (0 or 1), bytes addr (ADD: a.b.c.d:port, otherwise
 * empty); CHANGE_REPLY: u8 status, bytes result (the change's GW_ERR name, "" for GW_OK).
 * A frame whose MAC does not verify is refused and the connection closed; so is a request
 * of a type the receiver does not know (an older binary refuses CHANGE, which the sender
 * sees as a lost connection: GW_ERR_NOT_LEADER).
 *
 * Versions: the header (u8 version, u8 type, u64 seq) is the same in every version.  A node
 * reads versions [REPL_MSG_VERSION_MIN, REPL_MSG_VERSION].  An authenticated request of a
 * newer version is answered with VERSION_REPLY (frozen layout, always encoded at
 * REPL_MSG_VERSION_MIN): header with the request's seq, then u8 max, the highest version
 * the receiver reads; the connection stays open.  The sender then speaks min(its own, max)
 * on that connection (logged once) and sends the request again.  A reply is encoded at
 * the version of the request it answers, which both ends read. */
#ifndef UNIGW_RAFT_FORWARD_H
#define UNIGW_RAFT_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "unigw/buf.h"
#include "unigw/str.h"

#include "core.h"

#define REPL_MSG_VERSION 1     /* the newest version this node reads and speaks */
#define REPL_MSG_VERSION_MIN 1 /* the oldest version this node reads */
#define REPL_MSG_BODY_MAX (4u * 1024 * 1024)
#define REPL_MAC_LEN 32

enum repl__msg_type {
    REPL_MSG_PROPOSE = 1,
    REPL_MSG_PROPOSE_REPLY = 2,
    REPL_MSG_READ = 3,
    REPL_MSG_READ_REPLY = 4,
    REPL_MSG_CHANGE = 5,
    REPL_MSG_CHANGE_REPLY = 6,
    REPL_MSG_VERSION_REPLY = 7, /* "I cannot read that version; I read up to max" */
};

/* A forwarded change waits at least this long for the leader's answer (a promotion to voter
 * runs libraft's catch-up rounds first). */
#define REPL_CHANGE_TIMEOUT_MS 30000

enum repl__msg_status { REPL_ST_OK = 0, REPL_ST_NOT_LEADER = 1, REPL_ST_FAILED = 2 };

struct repl__msg {
    uint8_t version; /* encode: 0 means REPL_MSG_VERSION; decode: the frame's version */
    uint8_t type;
    uint64_t seq;
    uint8_t status;  /* replies */
    uint64_t index;  /* replies */
    int result;      /* PROPOSE_REPLY, CHANGE_REPLY */
    struct gw_str cmd; /* PROPOSE; a view into the decoded frame */
    uint8_t op;        /* CHANGE: enum repl_change_op */
    uint64_t id;       /* CHANGE */
    bool as_voter;     /* CHANGE */
    struct gw_str addr; /* CHANGE; a view into the decoded frame, < REPL_ADDR_MAX bytes */
    uint8_t max_version; /* VERSION_REPLY */
};

/* Append the framed, MAC'ed encoding of @m to @out. */
void repl__msg_encode(struct gw_buf *out, const void *secret, size_t secret_len,
                      const struct repl__msg *m);
/* Decode the first frame in @p/@len.  Returns GW_OK with *@used bytes consumed,
 * GW_ERR_AGAIN when the frame is incomplete, GW_ERR_ACCESS_DENIED when its MAC does not
 * verify, GW_ERR_CORRUPT when it is malformed or over REPL_MSG_BODY_MAX, GW_ERR_TOO_NEW
 * (with *@used, and out->version, type and seq set) when it is authentic but of a version
 * above REPL_MSG_VERSION. */
int repl__msg_decode(const void *p, size_t len, const void *secret, size_t secret_len,
                     struct repl__msg *out, size_t *used);
/* Status <-> GW_ERR for replies. */
uint8_t repl__status_from_err(int rv);
int repl__status_to_err(uint8_t status);

struct repl__fwd_conn;
struct repl__fwd_client;

/* The RPC endpoint of one node: a listener serving the leader side, and a client that
 * forwards this node's requests to the current leader. */
struct repl__fwd {
    uv_loop_t *loop;
    struct repl_core *core;
    uint8_t secret[64];
    size_t secret_len;
    uint32_t timeout_ms;
    uv_tcp_t server;
    uv_timer_t timer;
    bool is_listening;
    bool is_closing;
    int n_open;              /* handles not yet closed (listener, timer, conns, clients) */
    struct repl__fwd_conn *conns;
    struct repl__fwd_client *client;
    uint64_t next_seq;
    /* The version a new client connection starts with: REPL_MSG_VERSION (tests raise it
     * to play a newer binary). */
    uint8_t version_max;
    void (*close_cb)(struct repl__fwd *f);
};

/* Init on @loop for @core (which gets the forwarder hooks).  Returns GW_OK or GW_ERR_INVALID
 * (secret shorter than REPL_SECRET_MIN or longer than 64 bytes). */
int repl__fwd_init(struct repl__fwd *f, uv_loop_t *loop, struct repl_core *core,
                   const void *secret, size_t secret_len, uint32_t timeout_ms);
/* Listen on @addr (a.b.c.d:port).  Returns GW_OK, GW_ERR_INVALID or GW_ERR_IO. */
int repl__fwd_listen(struct repl__fwd *f, const char *addr);
/* The RPC version spoken on the connection to the leader (0: no connection). */
uint8_t repl__fwd_version(const struct repl__fwd *f);
/* Close everything; pending forwarded requests fail with GW_ERR_NOT_LEADER; @cb fires once
 * every handle is closed. */
void repl__fwd_close(struct repl__fwd *f, void (*cb)(struct repl__fwd *f));

#endif
