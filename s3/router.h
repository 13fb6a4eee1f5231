/* Request routing: method + target (+ Host for virtual-hosted style) -> an
 * S3 operation, the decoded bucket and key, and the parsed query. */
#ifndef UNIGW_S3_ROUTER_H
#define UNIGW_S3_ROUTER_H

#include "unigw/arena.h"
#include "unigw/s3.h"
#include "unigw/str.h"

#define S3_OP_MAP(X)                                                                               \
    X(LIST_BUCKETS, "ListBuckets", "s3:ListAllMyBuckets")                                          \
    X(CREATE_BUCKET, "CreateBucket", "s3:CreateBucket")                                            \
    X(HEAD_BUCKET, "HeadBucket", "s3:ListBucket")                                                  \
    X(DELETE_BUCKET, "DeleteBucket", "s3:DeleteBucket")                                            \
    X(GET_BUCKET_LOCATION, "GetBucketLocation", "s3:GetBucketLocation")                            \
    X(GET_BUCKET_ACL, "GetBucketAcl", "s3:GetBucketAcl")                                           \
    X(PUT_BUCKET_ACL, "PutBucketAcl", "s3:PutBucketAcl")                                           \
    X(GET_BUCKET_VERSIONING, "GetBucketVersioning", "s3:GetBucketVersioning")                      \
    X(LIST_OBJECTS, "ListObjects", "s3:ListBucket")                                                \
    X(LIST_OBJECTS_V2, "ListObjectsV2", "s3:ListBucket")                                           \
    X(LIST_OBJECT_VERSIONS, "ListObjectVersions", "s3:ListBucketVersions")                         \
    X(DELETE_OBJECTS, "DeleteObjects", "s3:DeleteObject")                                          \
    X(PUT_OBJECT, "PutObject", "s3:PutObject")                                                     \
    X(COPY_OBJECT, "CopyObject", "s3:PutObject")                                                   \
    X(GET_OBJECT, "GetObject", "s3:GetObject")                                                     \
    X(HEAD_OBJECT, "HeadObject", "s3:GetObject")                                                   \
    X(DELETE_OBJECT, "DeleteObject", "s3:DeleteObject")                                            \
    X(GET_OBJECT_ACL, "GetObjectAcl", "s3:GetObjectAcl")                                           \
    X(PUT_OBJECT_ACL, "PutObjectAcl", "s3:PutObjectAcl")                                           \
    X(PUT_BUCKET_POLICY, "PutBucketPolicy", "s3:PutBucketPolicy")                                  \
    X(GET_BUCKET_POLICY, "GetBucketPolicy", "s3:GetBucketPolicy")                                  \
    X(DELETE_BUCKET_POLICY, "DeleteBucketPolicy", "s3:DeleteBucketPolicy")                         \
    X(GET_BUCKET_POLICY_STATUS, "GetBucketPolicyStatus", "s3:GetBucketPolicyStatus")               \
    X(PUT_BUCKET_TAGGING, "PutBucketTagging", "s3:PutBucketTagging")                               \
    X(GET_BUCKET_TAGGING, "GetBucketTagging", "s3:GetBucketTagging")                               \
    X(DELETE_BUCKET_TAGGING, "DeleteBucketTagging", "s3:PutBucketTagging")                         \
    X(PUT_OBJECT_TAGGING, "PutObjectTagging", "s3:PutObjectTagging")                               \
    X(GET_OBJECT_TAGGING, "GetObjectTagging", "s3:GetObjectTagging")                               \
    X(DELETE_OBJECT_TAGGING, "DeleteObjectTagging", "s3:DeleteObjectTagging")                      \
    X(CREATE_MULTIPART_UPLOAD, "CreateMultipartUpload", "s3:PutObject")                            \
    X(UPLOAD_PART, "UploadPart", "s3:PutObject")                                                   \
    X(UPLOAD_PART_COPY, "UploadPartCopy", "s3:PutObject")                                          \
    X(COMPLETE_MULTIPART_UPLOAD, "CompleteMultipartUpload", "s3:PutObject")                        \
    X(ABORT_MULTIPART_UPLOAD, "AbortMultipartUpload", "s3:AbortMultipartUpload")                   \
    X(LIST_PARTS, "ListParts", "s3:ListMultipartUploadParts")                                      \
    X(LIST_MULTIPART_UPLOADS, "ListMultipartUploads", "s3:ListBucketMultipartUploads")             \
    X(UNSUPPORTED, "Unsupported", "s3:Unsupported")

enum s3_op {
#define S3__OP_ENUM(name, api, action) S3_OP_##name,
    S3_OP_MAP(S3__OP_ENUM)
#undef S3__OP_ENUM
        S3_OP__COUNT
};

/* The API name ("PutObject") and the IAM action ("s3:PutObject") of @op. */
const char *s3_op_name(enum s3_op op);
const char *s3_op_action(enum s3_op op);

struct s3_param {
    struct gw_str name;  /* decoded */
    struct gw_str value; /* decoded; empty for "?uploads" and "?uploads=" alike */
    struct gw_str raw_name;
    struct gw_str raw_value;
    bool has_value;
};

struct s3_route {
    enum s3_op op;
    struct gw_str bucket; /* decoded; empty for service-level requests */
    struct gw_str key;    /* decoded; empty for bucket-level requests */
    struct gw_str raw_path;
    struct s3_param *params;
    size_t n_params;
};

/* Parse the query string (the part after '?') into decoded parameters. */
int s3_router_parse_query(struct gw_str query, struct gw_arena *a, struct s3_param **out,
                          size_t *n_out);
/* Route @r.  @vhost_domain may be NULL (path-style only).  Returns
 * GW_OK, GW_ERR_BAD_REQUEST (undecodable target), GW_ERR_METHOD_NOT_ALLOWED or
 * GW_ERR_NOT_IMPLEMENTED (a sub-resource unigw does not serve). */
int s3_router_route(const struct s3_http_request *r, const char *vhost_domain,
                    struct gw_arena *a, struct s3_route *out);
/* The value of query parameter @name, or NULL when absent. */
const struct s3_param *s3_route_param(const struct s3_route *rt, const char *name);

/* Does query parameter @name (decoded) take part in choosing the operation
 * (?acl, ?policyStatus, ?uploadId, an unserved ?cors ...)?  SigV2 signs
 * every such parameter (s3/sigv2.c).  ?list-type is not one: it only picks
 * ListObjectsV2 over ListObjects, the same action (see router.c). */
bool s3_router_is_selector(struct gw_str name);
/* The @i-th selector, or NULL past the last one. */
const char *s3_router_selector(size_t i);

#endif
