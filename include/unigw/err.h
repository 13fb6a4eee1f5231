/* The one error table of unigw.
 *
 * Every fallible function returns GW_OK (0) or one of these codes.  Each entry
 * names the HTTP status, the S3 <Code> and the default <Message> the client
 * sees; s3/err.c renders them.  Internal codes (marked) never reach a client
 * unmapped: the layer that knows what was missing maps them to an S3 code, and
 * whatever is left renders as 500 InternalError or 503. */
#ifndef UNIGW_INCLUDE_ERR_H
#define UNIGW_INCLUDE_ERR_H

#define GW_ERR_MAP(X)                                                                              \
    /* internal */                                                                                 \
    X(NOMEM, 500, "InternalError", "Out of memory.")                                               \
    X(IO, 500, "InternalError", "We encountered an internal error. Please try again.")             \
    X(INTERNAL, 500, "InternalError", "We encountered an internal error. Please try again.")       \
    X(NOT_FOUND, 500, "InternalError", "Internal error (not found).")                              \
    X(EXISTS, 500, "InternalError", "Internal error (exists).")                                    \
    X(AGAIN, 503, "SlowDown", "Please reduce your request rate.")                                  \
    X(CANCELED, 500, "InternalError", "The operation was canceled.")                               \
    X(CORRUPT, 500, "InternalError", "Stored data is corrupt.")                                    \
    X(TOO_NEW, 500, "InternalError", "Stored data is newer than this version understands.")        \
    X(INVALID, 400, "InvalidArgument", "Invalid Argument")                                         \
    X(NOT_LEADER, 503, "SlowDown", "Please reduce your request rate.")                   \
    X(CONFIG, 500, "InternalError", "Bad configuration.")                                          \
    /* HTTP */                                                                                     \
    X(BAD_REQUEST, 400, "BadRequest", "An error occurred when parsing the HTTP request.")          \
    X(HEADER_TOO_LARGE, 400, "RequestHeaderSectionTooLarge",                                       \
      "Your request header section exceeds the maximum allowed size.")                             \
    X(URI_TOO_LONG, 414, "UriTooLong", "The requested URI is too long.")                           \
    X(METHOD_NOT_ALLOWED, 405, "MethodNotAllowed",                                                 \
      "The specified method is not allowed against this resource.")                                \
    X(MISSING_CONTENT_LENGTH, 411, "MissingContentLength",                                         \
      "You must provide the Content-Length HTTP header.")                                          \
    X(REQUEST_TIMEOUT, 400, "RequestTimeout",                                                      \
      "Your socket connection to the server was not read from or written to within the "          \
      "timeout period.")                                                                           \
    X(INCOMPLETE_BODY, 400, "IncompleteBody",                                                      \
      "You did not provide the number of bytes specified by the Content-Length HTTP header.")     \
    X(NOT_IMPLEMENTED, 501, "NotImplemented",                                                      \
      "A header or query you provided implies functionality that is not implemented.")            \
    X(SERVICE_UNAVAILABLE, 503, "ServiceUnavailable", "Please reduce your request rate.")          \
    X(SLOW_DOWN, 503, "SlowDown", "Please reduce your request rate.")                              \
    /* authentication */                                                                           \
    X(ACCESS_DENIED, 403, "AccessDenied", "Access Denied")                                         \
    X(EXPIRED, 403, "AccessDenied", "Request has expired")                                         \
    X(INVALID_ACCESS_KEY, 403, "InvalidAccessKeyId",                                               \
      "The AWS Access Key Id you provided does not exist in our records.")                         \
    X(BAD_SIGNATURE, 403, "SignatureDoesNotMatch",                                                 \
      "The request signature we calculated does not match the signature you provided. "           \
      "Check your key and signing method.")                                                        \
    X(TIME_SKEWED, 403, "RequestTimeTooSkewed",                                                    \
      "The difference between the request time and the current time is too large.")              \
    X(AUTH_MALFORMED, 400, "AuthorizationHeaderMalformed",                                         \
      "The authorization header is malformed.")                                                    \
    X(AUTH_QUERY_MALFORMED, 400, "AuthorizationQueryParametersError",                              \
      "Error parsing the X-Amz-Credential parameter.")                                             \
    X(EXPIRES_TOO_LONG, 400, "AuthorizationQueryParametersError",                                  \
      "X-Amz-Expires must be less than a week (in seconds) that is; 604800")                     \
    X(MISSING_SECURITY_HEADER, 400, "MissingSecurityHeader",                                       \
      "Your request is missing a required header.")                                                \
    X(UNSUPPORTED_AUTH, 400, "InvalidRequest",                                                     \
      "The authorization mechanism you have provided is not supported. Please use "               \
      "AWS4-HMAC-SHA256.")                                                                         \
    X(USER_DISABLED, 403, "AccessDenied", "Access Denied")                                         \
    X(HEADERS_NOT_SIGNED, 403, "AccessDenied",                                                     \
      "There were headers present in the request which were not signed")                         \
    /* payload integrity */                                                                        \
    X(SHA256_MISMATCH, 400, "XAmzContentSHA256Mismatch",                                           \
      "The provided 'x-amz-content-sha256' header does not match what was computed.")              \
    X(BAD_DIGEST, 400, "BadDigest",                                                                \
      "The Content-MD5 you specified did not match what we received.")                             \
    X(INVALID_DIGEST, 400, "InvalidDigest", "The Content-MD5 you specified is not valid.")         \
    X(CHECKSUM_MISMATCH, 400, "BadDigest",                                                         \
      "The checksum you specified did not match what we received.")                               \
    X(INVALID_CHECKSUM, 400, "InvalidRequest", "Value for x-amz-checksum header is invalid.")      \
    X(INVALID_CHUNK, 400, "InvalidChunkSizeError",                                                 \
      "Only the last chunk is allowed to have a size less than 8192 bytes")                        \
    X(CHUNK_SIGNATURE, 403, "SignatureDoesNotMatch",                                               \
      "The request signature we calculated does not match the signature you provided.")           \
    X(MALFORMED_CHUNK, 400, "IncompleteBody", "The aws-chunked body is malformed.")                \
    X(DECODED_LENGTH_MISMATCH, 400, "IncompleteBody",                                              \
      "The decoded length does not match x-amz-decoded-content-length.")                           \
    X(ENTITY_TOO_LARGE, 400, "EntityTooLarge",                                                     \
      "Your proposed upload exceeds the maximum allowed object size.")                             \
    X(ENTITY_TOO_SMALL, 400, "EntityTooSmall",                                                     \
      "Your proposed upload is smaller than the minimum allowed object size.")                     \
    /* names and arguments */                                                                      \
    X(INVALID_BUCKET_NAME, 400, "InvalidBucketName", "The specified bucket is not valid.")         \
    X(INVALID_KEY, 400, "InvalidArgument", "The specified key is not valid.")                      \
    X(KEY_TOO_LONG, 400, "KeyTooLongError", "Your key is too long.")                               \
    X(INVALID_ARGUMENT, 400, "InvalidArgument", "Invalid Argument")                                \
    X(INVALID_REQUEST, 400, "InvalidRequest", "Invalid Request")                                   \
    X(INVALID_RANGE, 416, "InvalidRange", "The requested range is not satisfiable")                \
    X(MALFORMED_XML, 400, "MalformedXML",                                                          \
      "The XML you provided was not well-formed or did not validate against our published "       \
      "schema.")                                                                                   \
    X(METADATA_TOO_LARGE, 400, "MetadataTooLarge",                                                 \
      "Your metadata headers exceed the maximum allowed metadata size.")                           \
    X(INVALID_LOCATION, 400, "InvalidLocationConstraint",                                          \
      "The specified location-constraint is not valid.")                                           \
    X(INVALID_COPY_SOURCE, 400, "InvalidArgument", "Copy Source must mention the source bucket "   \
                                                   "and key: sourcebucket/sourcekey.")             \
    X(COPY_TO_ITSELF, 400, "InvalidRequest",                                                       \
      "This copy request is illegal because it is trying to copy an object to itself without "    \
      "changing the object's metadata, storage class, website redirect location or encryption "   \
      "attributes.")                                                                               \
    X(INVALID_STORAGE_CLASS, 400, "InvalidStorageClass",                                           \
      "The storage class you specified is not valid.")                                             \
    /* state */                                                                                    \
    X(NO_SUCH_BUCKET, 404, "NoSuchBucket", "The specified bucket does not exist.")                 \
    X(NO_SUCH_KEY, 404, "NoSuchKey", "The specified key does not exist.")                          \
    X(NO_SUCH_UPLOAD, 404, "NoSuchUpload",                                                         \
      "The specified multipart upload does not exist. The upload ID may be invalid, or the "      \
      "upload may have been aborted or completed.")                                                \
    X(NO_SUCH_POLICY, 404, "NoSuchBucketPolicy", "The bucket policy does not exist")               \
    X(NO_SUCH_TAG_SET, 404, "NoSuchTagSet", "The TagSet does not exist")                           \
    X(BUCKET_EXISTS, 409, "BucketAlreadyExists",                                                   \
      "The requested bucket name is not available. The bucket namespace is shared by all "        \
      "users of the system. Please select a different name and try again.")                       \
    X(BUCKET_OWNED_BY_YOU, 409, "BucketAlreadyOwnedByYou",                                         \
      "Your previous request to create the named bucket succeeded and you already own it.")       \
    X(BUCKET_NOT_EMPTY, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty")      \
    X(PATH_CONFLICT, 409, "OperationAborted",                                                      \
      "The key conflicts with an existing object or directory on the file system (a key and "     \
      "a key/ prefix cannot both hold data).")                                                     \
    X(PRECONDITION_FAILED, 412, "PreconditionFailed",                                              \
      "At least one of the pre-conditions you specified did not hold")                            \
    X(NOT_MODIFIED, 304, "NotModified", "Not Modified")                                            \
    X(CONDITIONAL_CONFLICT, 409, "ConditionalRequestConflict",                                     \
      "A conflicting operation occurred. Please retry.")                                           \
    X(NO_SPACE, 507, "InsufficientStorage", "There is not enough space left on the storage.")      \
    X(INVALID_PART, 400, "InvalidPart",                                                            \
      "One or more of the specified parts could not be found.  The part may not have been "       \
      "uploaded, or the specified entity tag may not match the part's entity tag.")               \
    X(INVALID_PART_ORDER, 400, "InvalidPartOrder",                                                 \
      "The list of parts was not in ascending order. Parts must be ordered by part number.")      \
    X(MALFORMED_POLICY, 400, "MalformedPolicy", "Policies must be valid JSON.")                    \
    X(INVALID_TAG, 400, "InvalidTag", "The tag provided was not a valid tag.")

enum gw_err {
    GW_OK = 0,
#define GW__ERR_ENUM(name, status, code, msg) GW_ERR_##name,
    GW_ERR_MAP(GW__ERR_ENUM)
#undef GW__ERR_ENUM
        GW_ERR__COUNT
};

/* The symbolic name ("NO_SUCH_KEY"), for logs. */
const char *gw_err_name(int rv);
/* HTTP status, S3 <Code> and default <Message> of @rv; unknown codes are 500. */
int gw_err_status(int rv);
const char *gw_err_code(int rv);
const char *gw_err_message(int rv);

/* Translate a positive errno value (ENOENT, ENOSPC, ...) once, where it arises. */
int gw_err_from_errno(int e);
/* Translate a libuv error (negative UV_E*). */
int gw_err_from_uv(int uv_rv);

#endif
