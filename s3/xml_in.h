/* Request bodies in XML (and the x-amz-tagging header) parsed into
 * arena-allocated structs.
 *
 * Every parser takes the whole body as a view, refuses a body over its
 * S3_XML_*_MAX_LEN (the caller should refuse a larger Content-Length before
 * reading it), parses it with libxml2 from memory with no network, no DTD
 * loading and no entity substitution, refuses any DOCTYPE, and accepts
 * elements with no namespace or the S3 one
 * (http://s3.amazonaws.com/doc/2006-03-01/).  Whitespace between elements is
 * ignored; unknown elements inside a known one are ignored (forward
 * compatibility), an unexpected root element is not.  Every view in the
 * results points into arena @a and lives as long as it.  On error the output
 * is unspecified (but anything allocated is in @a).  The functions are
 * thread-safe (worker threads may parse concurrently). */
#ifndef UNIGW_S3_XML_IN_H
#define UNIGW_S3_XML_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unigw/arena.h"
#include "unigw/str.h"

#define S3_XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"

#define S3_XML_COMPLETE_MAX_LEN (8u << 20)   /* 10,000 parts with checksums */
#define S3_XML_DELETE_MAX_LEN (2u << 20)     /* 1,000 keys of up to 1 KiB, escaped */
#define S3_XML_TAGGING_MAX_LEN (64u << 10)   /* 50 tags of 128 + 256 characters */
#define S3_XML_CREATE_BUCKET_MAX_LEN (16u << 10)

#define S3_MAX_PARTS 10000
#define S3_MAX_PART_NUMBER 10000
#define S3_MAX_DELETE_OBJECTS 1000
#define S3_MAX_OBJECT_TAGS 10
#define S3_MAX_BUCKET_TAGS 50
#define S3_TAG_KEY_MAX_CHARS 128
#define S3_TAG_VALUE_MAX_CHARS 256

/* A view that was absent in the XML has p == NULL (and len 0); an element
 * present but empty has p != NULL and len 0. */
struct s3_xml_part {
    uint32_t part_number;
    /* The ETag text as sent, after XML entity decoding ("\"ab..\"" whether it
     * came as "..", &quot;..&quot; or &#34;..&#34;), trimmed. */
    struct gw_str etag_raw;
    /* Surrounding double quotes removed; lower-cased when it is hex (with an
     * optional "-N" suffix), so it compares with the stored part ETag. */
    struct gw_str etag;
    struct gw_str checksum_crc32;
    struct gw_str checksum_crc32c;
    struct gw_str checksum_crc64nvme;
    struct gw_str checksum_sha1;
    struct gw_str checksum_sha256;
};

struct s3_xml_complete {
    struct s3_xml_part *parts; /* in document order */
    size_t n_parts;            /* 1..S3_MAX_PARTS */
};

struct s3_xml_delete_obj {
    struct gw_str key;        /* never trimmed; may be empty or invalid: validate it */
    struct gw_str version_id; /* p == NULL when absent */
};

struct s3_xml_delete {
    bool quiet;
    struct s3_xml_delete_obj *objects;
    size_t n_objects; /* 1..S3_MAX_DELETE_OBJECTS */
};

struct s3_tag {
    struct gw_str key;
    struct gw_str value;
};

struct s3_tagset {
    struct s3_tag *tags; /* in the order given */
    size_t n_tags;
};

/* <CompleteMultipartUpload><Part><PartNumber/><ETag/>[<ChecksumXXX/>]</Part>...
 * GW_ERR_MALFORMED_XML: not XML, wrong root, no parts, more than
 * S3_MAX_PARTS, a Part without PartNumber or ETag, a PartNumber that is not a
 * decimal number.  GW_ERR_INVALID_PART: a PartNumber outside
 * 1..S3_MAX_PART_NUMBER.  Order is not checked here: see
 * s3_xml_complete_check_order. */
int s3_xml_parse_complete_mpu(struct gw_str body, struct gw_arena *a, struct s3_xml_complete *out);

/* GW_ERR_INVALID_PART_ORDER unless part numbers are strictly ascending. */
int s3_xml_complete_check_order(const struct s3_xml_complete *c);

/* <Delete>[<Quiet>true|false</Quiet>]<Object><Key/>[<VersionId/>]</Object>...
 * GW_ERR_MALFORMED_XML: not XML, wrong root, no objects, more than
 * S3_MAX_DELETE_OBJECTS, an Object without Key, a Quiet other than
 * true/false. */
int s3_xml_parse_delete(struct gw_str body, struct gw_arena *a, struct s3_xml_delete *out);

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>; the tag
 * set is then checked with s3_tagset_check(@max_tags) (pass
 * S3_MAX_OBJECT_TAGS or S3_MAX_BUCKET_TAGS).  GW_ERR_MALFORMED_XML for bad
 * XML, a missing TagSet or a Tag without Key; GW_ERR_INVALID_TAG for the
 * limits. */
int s3_xml_parse_tagging(struct gw_str body, size_t max_tags, struct gw_arena *a,
                         struct s3_tagset *out);

/* The x-amz-tagging header: "k1=v1&k2=v2" in application/x-www-form-urlencoded
 * form ('+' is a space; "k" alone or "k=" is an empty value; an empty header
 * is an empty set).  GW_ERR_INVALID_TAG on a bad escape, an empty key, or the
 * limits of s3_tagset_check(@max_tags). */
int s3_xml_parse_tagging_header(struct gw_str hdr, size_t max_tags, struct gw_arena *a,
                                struct s3_tagset *out);

/* The S3 tag limits: at most @max_tags tags, keys of 1..128 and values of
 * 0..256 Unicode characters of valid UTF-8, no key starting with "aws:", no
 * duplicate keys.  GW_OK or GW_ERR_INVALID_TAG. */
int s3_tagset_check(const struct s3_tagset *t, size_t max_tags);

/* <CreateBucketConfiguration>[<LocationConstraint/>]...; an empty (or
 * all-whitespace) body is allowed.  *@location gets the constraint, or a
 * p == NULL view when there is none.  GW_ERR_MALFORMED_XML otherwise. */
int s3_xml_parse_create_bucket(struct gw_str body, struct gw_arena *a, struct gw_str *location);

#endif
