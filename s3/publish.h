/* Making a staged temp file the object: the one place that decides
 * durability and atomicity for every write path (PutObject, CopyObject and
 * CompleteMultipartUpload). */
#ifndef UNIGW_S3_PUBLISH_H
#define UNIGW_S3_PUBLISH_H

#include "objmeta.h"
#include "req.h"

struct s3_publish {
    struct s3_service *svc;
    struct gw_str bucket;
    struct gw_str key;
    const char *tmp_path; /* the staged file (ignored for marker keys) */
    int fd;               /* open on tmp_path; stays owned by the caller */
    struct s3_objmeta *meta; /* fingerprint and object id are filled in here */
    bool has_object_id;      /* meta->object_id is chosen already (its tags are committed) */
    bool no_replace;         /* If-None-Match: * */
    struct gw_str if_match;  /* If-Match; NULL view when absent */
};

/* Blocking (worker thread).  fsync the file (when configured), record its
 * fingerprint and metadata, create missing parent directories, check the
 * write conditions, rename into place, fsync the directories touched.
 * For a marker key the directory itself is created and carries the record.
 * GW_OK, GW_ERR_NO_SUCH_BUCKET, GW_ERR_PATH_CONFLICT (a key and a key/ prefix
 * cannot both hold data), GW_ERR_PRECONDITION_FAILED, GW_ERR_NO_SUCH_KEY
 * (If-Match on a missing object), GW_ERR_NO_SPACE, GW_ERR_IO. */
int s3__publish(struct s3_publish *p, struct gw_arena *a);

/* A new random object id into @m (GW_OK or GW_ERR_INTERNAL). */
int s3__object_id_new(struct s3_objmeta *m);
/* Blocking: create a staged temp file under .unigw/tmp; *@fd, @path. */
int s3__stage_create(struct s3_service *s, char *path, size_t cap, int *fd);
/* Blocking: write all of @p (EINTR-safe). */
int s3__write_all(int fd, const void *p, size_t n);

#endif
