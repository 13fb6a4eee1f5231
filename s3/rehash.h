/* Background MD5 for files written through POSIX.
 *
 * Such files are served at first with the fingerprint ETag "<hex>-1".  Each
 * time one is opened through S3 it is queued here; one background thread
 * reads it, computes the real MD5 and stores a record, provided the file did
 * not change while it was being read (same inode, size and mtime before and
 * after).  From then on its ETag is the plain MD5, as for S3-written objects.
 * The queue is bounded and deduplicated: under pressure, work is dropped and
 * simply queued again on a later access. */
#ifndef UNIGW_S3_REHASH_H
#define UNIGW_S3_REHASH_H

#include <stdbool.h>

#include "objmeta.h"
#include "unigw/str.h"

struct s3_rehash;

#define S3_REHASH_QUEUE_MAX 4096

/* Start the thread.  @store must outlive the rehasher. */
int s3_rehash_create(const struct s3_objstore *store, struct s3_rehash **out);
/* Stop the thread (the current file is finished or abandoned) and free. */
void s3_rehash_destroy(struct s3_rehash *r);
/* Queue @bucket/@key (copied).  Thread-safe; never blocks on I/O. */
void s3_rehash_enqueue(struct s3_rehash *r, struct gw_str bucket, struct gw_str key);
/* Blocking: hash @bucket/@key now and store its record (used by the thread
 * and by tests).  GW_OK, GW_ERR_NOT_FOUND, GW_ERR_AGAIN (changed while
 * read), GW_ERR_IO. */
int s3_rehash_one(const struct s3_objstore *store, struct gw_str bucket, struct gw_str key);
/* Number of records written so far (for tests and metrics). */
unsigned long s3_rehash_done(struct s3_rehash *r);
/* Hold the thread before it takes its next key (@on), or let it go on;
 * queued work waits meanwhile (tests: a deterministic full queue). */
void s3__rehash_pause(struct s3_rehash *r, bool on);

#endif
