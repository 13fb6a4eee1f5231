/* Reading what a write request asks to store: the stored headers,
 * x-amz-meta-*, canned ACLs and storage class. */
#ifndef UNIGW_S3_PUT_META_H
#define UNIGW_S3_PUT_META_H

#include "objmeta.h"
#include "req.h"

#define S3_USER_META_MAX 2048 /* bytes of x-amz-meta-* names and values, as AWS counts */

/* Fill the stored headers and user metadata of @m from the request headers.
 * GW_OK, GW_ERR_METADATA_TOO_LARGE, GW_ERR_NOT_IMPLEMENTED (an ACL grant unigw
 * does not model), GW_ERR_INVALID_STORAGE_CLASS. */
int s3__put_meta_from_request(struct s3_req *q, struct s3_objmeta *m);
/* Only the ACL and storage-class checks. */
int s3__put_check_acl(struct s3_req *q);

#endif
