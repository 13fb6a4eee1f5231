/* The in-process harness of the S3 write pipelines (tests/unit/s3/test_op_put.c,
 * test_op_copy.c, test_mpu_complete.c, test_mpu_copy.c).
 *
 * One fixture is a real s3 service on a temp mount, with a real meta store,
 * a user with a key and a bucket.  Requests are signed with SigV4 and go
 * through s3_handle as node would send them, but every event the pipelines
 * can see is in the test's hand:
 *   - a fake exchange (the unigw/s3.h ops): the client's body arrives one
 *     piece at a time, a body_wait fires only when the test says, the client
 *     may vanish, write callbacks complete later; a second response or any
 *     call after the exchange was released fails the test, and the exchange
 *     (its arena) is released as soon as node would (resp_end and the output
 *     flushed), so a late access is a use-after-free ASan reports;
 *   - a manual pool (gw_pool_manual_*): jobs run only when the test picks them;
 *   - a fake proposer: each proposal or read barrier is applied, or refused
 *     with NOT_LEADER, when the test says;
 *   - write(2) and copy_file_range(2) fail with ENOSPC once the test declares
 *     the disk full (the executables link with -Wl,--wrap=...).
 *
 * fx_explore runs one request under every order of those events (a
 * stateless depth-first search over the choices, each run from scratch) and
 * checks after every run: exactly one response, nothing left to run, no temp
 * file left in .unigw/tmp, and the scenario's own check. */
#ifndef UNIGW_TESTS_UNIT_S3_FIXTURE_H
#define UNIGW_TESTS_UNIT_S3_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/buf.h"
#include "unigw/meta.h"
#include "unigw/s3.h"

struct fx;
struct fx_x;

/* What may happen besides the request's own events (FX_F_* bits). */
#define FX_F_GONE 1u       /* the client disconnects */
#define FX_F_FULL 2u       /* the disk becomes full */
#define FX_F_PROP_FAIL 4u  /* a proposal is refused (no leader) */

struct fx_req {
    const char *method;
    const char *target;          /* "/bucket/key?query", as sent */
    const char *const *headers;  /* "name", "value" pairs, NULL-terminated */
    const void *body;
    size_t body_len;
    size_t piece;                /* bytes per client send; 0: the whole body at once */
    const char *payload_hash;    /* x-amz-content-sha256; NULL: UNSIGNED-PAYLOAD */
};

/* What happened in one run, for the scenario's check. */
struct fx_run {
    size_t index;      /* the run's number, 0-based */
    bool was_gone;     /* the client disconnected */
    bool was_full;     /* the disk became full */
    bool was_refused;  /* a proposal was refused */
    int status;        /* the response's status */
    struct gw_str body; /* the response body the client received */
};

struct fx_scenario {
    const char *name;
    unsigned faults;  /* FX_F_* allowed to happen */
    size_t max_runs;  /* 0: 100000 */
    /* Per run: prepare (files, records) and return the request to send. */
    void (*prepare)(struct fx *f, size_t run, void *arg, struct fx_req *out);
    /* Per run, once nothing more can happen. */
    void (*check)(struct fx *f, const struct fx_run *run, void *arg);
    void *arg;
};

/* A fixture with @io_chunk bytes per body write job.  The bucket "b" exists,
 * owned by the fixture's user.  @has_barrier: the proposer offers read
 * barriers (a cluster) or not (a single node). */
struct fx *fx_create(size_t io_chunk, bool has_barrier);
void fx_destroy(struct fx *f);
const char *fx_mount(const struct fx *f);
struct meta *fx_meta(const struct fx *f);

/* Run @r to its end, always taking the first possible event (no faults);
 * the response is copied into @body (may be NULL).  Returns the status. */
int fx_do(struct fx *f, const struct fx_req *r, struct gw_buf *body);
/* Explore every order of events of the scenario's request; returns the
 * number of runs (fails the test if a run breaks an invariant, or if
 * max_runs is reached before the search is complete). */
size_t fx_explore(struct fx *f, const struct fx_scenario *sc);

/* Commit @cmd as another node would: it is committed, but this replica
 * applies it only when a read barrier or a proposal of this node runs. */
void fx_remote_commit(struct fx *f, const struct gw_buf *cmd);
/* A part of upload @upload_id (bucket "b") that another node staged and
 * committed: its file is on the mount, its record not applied here yet. */
void fx_remote_part(struct fx *f, const char *upload_id, uint32_t number, const void *p,
                    size_t n);
/* Apply @cmd on this replica now (as if committed through this node's own
 * proposal); returns the apply result. */
int fx_commit(struct fx *f, const struct gw_buf *cmd);
struct s3_service *fx_service(const struct fx *f);
struct gw_pool_loop *fx_pool(const struct fx *f);
/* Run every queued pool job and proposal (no faults) until none is left. */
void fx_settle(struct fx *f);
/* The header every test command carries. */
struct meta_cmd_hdr fx_cmd_hdr(void);

/* Run only the tests matching $UNIGW_TEST_FILTER (a cmocka pattern), if set. */
void fx_filter_from_env(void);

/* PutObjectTagging of b/@key with the one tag t=@value; returns the status. */
int fx_tag_put(struct fx *f, const char *key, const char *value);
/* True when b/@key's tag t is @value (NULL: it has no tags). */
bool fx_tag_is(struct fx *f, const char *key, const char *value);

/* Helpers for checks. */
size_t fx_count_files(const char *dir); /* regular files below @dir, recursively */
/* The whole content of @path into @out; false when it cannot be read. */
bool fx_read_file(const char *path, struct gw_buf *out);
void fx_write_file(const char *path, const void *p, size_t n);
/* The text between <@elem> and </@elem> in @xml, or a NULL view. */
struct gw_str fx_xml_elem(struct gw_str xml, const char *elem);

#endif
