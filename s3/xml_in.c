/* Request-body XML parsers (libxml2 tree API) and the x-amz-tagging header.
 *
 * Happy path: check the size cap, refuse a DOCTYPE by a byte scan, let
 * libxml2 build a tree from memory (XML_PARSE_NONET, no NOENT, no DTDLOAD:
 * nothing is fetched or expanded; libxml2 substitutes only the predefined
 * entities and character references, so &quot; and &#34; become '"'), walk
 * it once copying the text we need into the arena, free the tree.  Failure
 * modes: anything not well-formed, a DOCTYPE, a wrong root or a missing
 * required element is GW_ERR_MALFORMED_XML; the limits S3 itself enforces
 * map to the codes S3 uses (InvalidTag, InvalidPart).  Counts are capped
 * while walking so a body of many tiny elements does no unbounded work. */
#include <pthread.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "unigw/err.h"

#include "path.h"
#include "xml_in.h"

/* At most this many child elements in a leaf container such as <Part>. */
#define XML_MAX_FIELDS 32

struct xml_field {
    const char *name;
    struct gw_str *dst;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init_once(void)
{
    xmlInitParser();
}

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct gw_str trim_ws(struct gw_str s)
{
    while (s.len > 0 && is_xml_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_xml_space(s.p[s.len - 1])) {
        s.len--;
    }
    return s;
}

/* Parse @body into a tree, or NULL (MALFORMED_XML) for anything we refuse. */
static xmlDoc *xml_read(struct gw_str body, size_t max_len)
{
    static const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDoc *doc;

    if (body.len == 0 || body.len > max_len || body.len > (size_t)INT32_MAX) {
        return NULL;
    }
    if (gw_str_find(body, GW_STR("<!DOCTYPE")) >= 0 || gw_str_find(body, GW_STR("<!ENTITY")) >= 0) {
        return NULL;
    }
    pthread_once(&xml_once, xml_init_once);
    doc = xmlReadMemory(body.p, (int)body.len, NULL, NULL, opts);
    if (doc != NULL && doc->intSubset != NULL) {
        /* A DOCTYPE in another encoding slipped past the byte scan. */
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* True when @n is an element named @name with no namespace or the S3 one. */
static bool node_is(const xmlNode *n, const char *name)
{
    if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0) {
        return false;
    }
    return n->ns == NULL || n->ns->href == NULL ||
           strcmp((const char *)n->ns->href, S3_XML_NS) == 0;
}

/* The root element, if it is @name. */
static xmlNode *root_is(xmlDoc *doc, const char *name)
{
    xmlNode *root = xmlDocGetRootElement(doc);

    return (root != NULL && node_is(root, name)) ? root : NULL;
}

/* Copy the text content of leaf element @n into the arena.  Comments and
 * processing instructions are skipped; a child element makes it malformed. */
static int node_text(const xmlNode *n, struct gw_arena *a, struct gw_str *out)
{
    size_t len = 0;
    char *p;

    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            len += strlen((const char *)c->content);
        } else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
            return GW_ERR_MALFORMED_XML;
        }
    }
    p = gw_arena_alloc(a, len + 1);
    len = 0;
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            size_t l = strlen((const char *)c->content);
            memcpy(p + len, c->content, l);
            len += l;
        }
    }
    p[len] = '\0';
    *out = gw_str_make(p, len);
    return GW_OK;
}

/* A non-element child of a container: whitespace, comments and PIs are fine. */
static bool filler_ok(const xmlNode *c)
{
    if (c->type == XML_TEXT_NODE) {
        const char *s = (const char *)c->content;
        return trim_ws(gw_str_c(s)).len == 0;
    }
    return c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE;
}

/* Fill the @n_fields named leaf children of @n; unknown elements are
 * ignored, a repeated known one or stray text is malformed. */
static int node_fields(const xmlNode *n, const struct xml_field *fields, size_t n_fields,
                       struct gw_arena *a)
{
    size_t n_children = 0;

    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            if (!filler_ok(c)) {
                return GW_ERR_MALFORMED_XML;
            }
            continue;
        }
        if (++n_children > XML_MAX_FIELDS) {
            return GW_ERR_MALFORMED_XML;
        }
        for (size_t i = 0; i < n_fields; i++) {
            if (!node_is(c, fields[i].name)) {
                continue;
            }
            if (fields[i].dst->p != NULL || node_text(c, a, fields[i].dst) != 0) {
                return GW_ERR_MALFORMED_XML;
            }
        }
    }
    return GW_OK;
}

#define COUNT_STRAY_TEXT (-1)
#define COUNT_TOO_MANY (-2)

/* Count the element children of @n named @name; COUNT_STRAY_TEXT on
 * non-blank text, COUNT_TOO_MANY when there are more than @max elements of
 * any name. */
static ptrdiff_t count_children(const xmlNode *n, const char *name, size_t max)
{
    size_t n_named = 0;
    size_t n_all = 0;

    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            if (!filler_ok(c)) {
                return COUNT_STRAY_TEXT;
            }
            continue;
        }
        if (++n_all > max) {
            return COUNT_TOO_MANY;
        }
        n_named += node_is(c, name) ? 1 : 0;
    }
    return (ptrdiff_t)n_named;
}

/* Strip one pair of double quotes and lower-case a hex ETag ("abc-3" too). */
static struct gw_str etag_normalise(struct gw_str raw, struct gw_arena *a)
{
    struct gw_str s = raw;
    char *p;
    bool is_hex = true;

    if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"') {
        s.p++;
        s.len -= 2;
    }
    for (size_t i = 0; i < s.len && is_hex; i++) {
        char c = s.p[i];
        is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                 c == '-';
    }
    if (!is_hex) {
        return s;
    }
    p = gw_arena_strndup(a, s.p, s.len);
    for (size_t i = 0; i < s.len; i++) {
        if (p[i] >= 'A' && p[i] <= 'F') {
            p[i] = (char)(p[i] - 'A' + 'a');
        }
    }
    return gw_str_make(p, s.len);
}

/* One <Part> element into @part. */
static int complete_part(const xmlNode *n, struct gw_arena *a, struct s3_xml_part *part)
{
    struct gw_str number = GW_STR_NULL;
    const struct xml_field fields[] = {
        {"PartNumber", &number},
        {"ETag", &part->etag_raw},
        {"ChecksumCRC32", &part->checksum_crc32},
        {"ChecksumCRC32C", &part->checksum_crc32c},
        {"ChecksumCRC64NVME", &part->checksum_crc64nvme},
        {"ChecksumSHA1", &part->checksum_sha1},
        {"ChecksumSHA256", &part->checksum_sha256},
    };
    uint64_t v = 0;
    int rv;

    rv = node_fields(n, fields, sizeof fields / sizeof fields[0], a);
    if (rv != 0) {
        return rv;
    }
    if (number.p == NULL || part->etag_raw.p == NULL ||
        !gw_str_to_u64(trim_ws(number), &v)) {
        return GW_ERR_MALFORMED_XML;
    }
    if (v < 1 || v > S3_MAX_PART_NUMBER) {
        return GW_ERR_INVALID_PART;
    }
    part->part_number = (uint32_t)v;
    part->etag_raw = trim_ws(part->etag_raw);
    part->etag = etag_normalise(part->etag_raw, a);
    part->checksum_crc32 = trim_ws(part->checksum_crc32);
    part->checksum_crc32c = trim_ws(part->checksum_crc32c);
    part->checksum_crc64nvme = trim_ws(part->checksum_crc64nvme);
    part->checksum_sha1 = trim_ws(part->checksum_sha1);
    part->checksum_sha256 = trim_ws(part->checksum_sha256);
    return GW_OK;
}

static int complete_walk(xmlNode *root, struct gw_arena *a, struct s3_xml_complete *out)
{
    ptrdiff_t n_parts = count_children(root, "Part", 2 * S3_MAX_PARTS);
    size_t i = 0;
    int rv;

    if (n_parts <= 0 || n_parts > S3_MAX_PARTS) {
        return GW_ERR_MALFORMED_XML;
    }
    out->parts = gw_arena_zalloc(a, (size_t)n_parts * sizeof out->parts[0]);
    out->n_parts = (size_t)n_parts;
    for (xmlNode *c = root->children; c != NULL; c = c->next) {
        if (!node_is(c, "Part")) {
            continue;
        }
        rv = complete_part(c, a, &out->parts[i++]);
        if (rv != 0) {
            return rv;
        }
    }
    return GW_OK;
}

int s3_xml_parse_complete_mpu(struct gw_str body, struct gw_arena *a, struct s3_xml_complete *out)
{
    xmlDoc *doc = xml_read(body, S3_XML_COMPLETE_MAX_LEN);
    xmlNode *root;
    int rv = GW_ERR_MALFORMED_XML;

    *out = (struct s3_xml_complete){NULL, 0};
    if (doc == NULL) {
        return GW_ERR_MALFORMED_XML;
    }
    root = root_is(doc, "CompleteMultipartUpload");
    if (root != NULL) {
        rv = complete_walk(root, a, out);
    }
    xmlFreeDoc(doc);
    return rv;
}

int s3_xml_complete_check_order(const struct s3_xml_complete *c)
{
    for (size_t i = 1; i < c->n_parts; i++) {
        if (c->parts[i].part_number <= c->parts[i - 1].part_number) {
            return GW_ERR_INVALID_PART_ORDER;
        }
    }
    return GW_OK;
}

/* <Quiet>: "true" or "false", any case, surrounding whitespace allowed. */
static int delete_quiet(const xmlNode *n, struct gw_arena *a, bool *quiet)
{
    struct gw_str v;

    if (node_text(n, a, &v) != 0) {
        return GW_ERR_MALFORMED_XML;
    }
    v = trim_ws(v);
    if (gw_str_caseeq_c(v, "true")) {
        *quiet = true;
    } else if (gw_str_caseeq_c(v, "false")) {
        *quiet = false;
    } else {
        return GW_ERR_MALFORMED_XML;
    }
    return GW_OK;
}

static int delete_object(const xmlNode *n, struct gw_arena *a, struct s3_xml_delete_obj *obj)
{
    const struct xml_field fields[] = {
        {"Key", &obj->key},
        {"VersionId", &obj->version_id},
    };
    int rv = node_fields(n, fields, sizeof fields / sizeof fields[0], a);

    if (rv != 0 || obj->key.p == NULL) {
        return GW_ERR_MALFORMED_XML;
    }
    if (obj->version_id.p != NULL) {
        obj->version_id = trim_ws(obj->version_id);
    }
    return GW_OK;
}

static int delete_walk(xmlNode *root, struct gw_arena *a, struct s3_xml_delete *out)
{
    ptrdiff_t n_objs = count_children(root, "Object", 2 * S3_MAX_DELETE_OBJECTS);
    bool seen_quiet = false;
    size_t i = 0;
    int rv;

    if (n_objs <= 0 || n_objs > S3_MAX_DELETE_OBJECTS) {
        return GW_ERR_MALFORMED_XML;
    }
    out->objects = gw_arena_zalloc(a, (size_t)n_objs * sizeof out->objects[0]);
    out->n_objects = (size_t)n_objs;
    for (xmlNode *c = root->children; c != NULL; c = c->next) {
        if (node_is(c, "Quiet")) {
            if (seen_quiet) {
                return GW_ERR_MALFORMED_XML;
            }
            seen_quiet = true;
            rv = delete_quiet(c, a, &out->quiet);
        } else if (node_is(c, "Object")) {
            rv = delete_object(c, a, &out->objects[i++]);
        } else {
            rv = GW_OK;
        }
        if (rv != 0) {
            return rv;
        }
    }
    return GW_OK;
}

int s3_xml_parse_delete(struct gw_str body, struct gw_arena *a, struct s3_xml_delete *out)
{
    xmlDoc *doc = xml_read(body, S3_XML_DELETE_MAX_LEN);
    xmlNode *root;
    int rv = GW_ERR_MALFORMED_XML;

    *out = (struct s3_xml_delete){false, NULL, 0};
    if (doc == NULL) {
        return GW_ERR_MALFORMED_XML;
    }
    root = root_is(doc, "Delete");
    if (root != NULL) {
        rv = delete_walk(root, a, out);
    }
    xmlFreeDoc(doc);
    return rv;
}

int s3_tagset_check(const struct s3_tagset *t, size_t max_tags)
{
    if (t->n_tags > max_tags) {
        return GW_ERR_INVALID_TAG;
    }
    for (size_t i = 0; i < t->n_tags; i++) {
        size_t n_key = 0;
        size_t n_value = 0;
        struct gw_str k = t->tags[i].key;
        if (!s3__utf8_check(k, &n_key) || !s3__utf8_check(t->tags[i].value, &n_value)) {
            return GW_ERR_INVALID_TAG;
        }
        if (n_key < 1 || n_key > S3_TAG_KEY_MAX_CHARS || n_value > S3_TAG_VALUE_MAX_CHARS) {
            return GW_ERR_INVALID_TAG;
        }
        if (gw_str_has_prefix(k, GW_STR("aws:"))) {
            return GW_ERR_INVALID_TAG;
        }
        for (size_t j = 0; j < i; j++) {
            if (gw_str_eq(t->tags[j].key, k)) {
                return GW_ERR_INVALID_TAG;
            }
        }
    }
    return GW_OK;
}

/* One <Tag>: Key is required, a missing Value is an empty one. */
static int tagging_tag(const xmlNode *n, struct gw_arena *a, struct s3_tag *tag)
{
    const struct xml_field fields[] = {
        {"Key", &tag->key},
        {"Value", &tag->value},
    };
    int rv = node_fields(n, fields, sizeof fields / sizeof fields[0], a);

    if (rv != 0 || tag->key.p == NULL) {
        return GW_ERR_MALFORMED_XML;
    }
    if (tag->value.p == NULL) {
        tag->value = gw_str_make("", 0);
    }
    return GW_OK;
}

static int tagging_walk(xmlNode *root, size_t max_tags, struct gw_arena *a, struct s3_tagset *out)
{
    xmlNode *set = NULL;
    ptrdiff_t n_tags;
    size_t i = 0;
    int rv;

    if (count_children(root, "TagSet", XML_MAX_FIELDS) != 1) {
        return GW_ERR_MALFORMED_XML;
    }
    set = root->children;
    while (!node_is(set, "TagSet")) {
        set = set->next;
    }
    /* More tags than the limit is InvalidTag, not a parse error. */
    n_tags = count_children(set, "Tag",
                            (max_tags < S3_MAX_DELETE_OBJECTS ? max_tags : S3_MAX_DELETE_OBJECTS) +
                                XML_MAX_FIELDS);
    if (n_tags == COUNT_STRAY_TEXT) {
        return GW_ERR_MALFORMED_XML;
    }
    if (n_tags == COUNT_TOO_MANY || (size_t)n_tags > max_tags) {
        return GW_ERR_INVALID_TAG;
    }
    out->tags = gw_arena_zalloc(a, ((size_t)n_tags + 1) * sizeof out->tags[0]);
    out->n_tags = (size_t)n_tags;
    for (xmlNode *c = set->children; c != NULL; c = c->next) {
        if (node_is(c, "Tag")) {
            rv = tagging_tag(c, a, &out->tags[i++]);
            if (rv != 0) {
                return rv;
            }
        }
    }
    return s3_tagset_check(out, max_tags);
}

int s3_xml_parse_tagging(struct gw_str body, size_t max_tags, struct gw_arena *a,
                         struct s3_tagset *out)
{
    xmlDoc *doc = xml_read(body, S3_XML_TAGGING_MAX_LEN);
    xmlNode *root;
    int rv = GW_ERR_MALFORMED_XML;

    *out = (struct s3_tagset){NULL, 0};
    if (doc == NULL) {
        return GW_ERR_MALFORMED_XML;
    }
    root = root_is(doc, "Tagging");
    if (root != NULL) {
        rv = tagging_walk(root, max_tags, a, out);
    }
    xmlFreeDoc(doc);
    return rv;
}

/* Form-decode @in into the arena. */
static int form_decode(struct gw_str in, struct gw_arena *a, struct gw_str *out)
{
    char *p = gw_arena_alloc(a, in.len + 1);
    size_t n = 0;

    if (!gw_url_decode(in, p, &n, true)) {
        return GW_ERR_INVALID_TAG;
    }
    p[n] = '\0';
    *out = gw_str_make(p, n);
    return GW_OK;
}

int s3_xml_parse_tagging_header(struct gw_str hdr, size_t max_tags, struct gw_arena *a,
                                struct s3_tagset *out)
{
    struct gw_str rest = hdr;
    size_t cap = 1;
    int rv;

    *out = (struct s3_tagset){NULL, 0};
    for (size_t i = 0; i < hdr.len; i++) {
        cap += hdr.p[i] == '&' ? 1 : 0;
    }
    out->tags = gw_arena_zalloc(a, cap * sizeof out->tags[0]);
    while (rest.len > 0) {
        struct gw_str pair;
        struct gw_str k;
        gw_str_split(&rest, '&', &pair);
        if (pair.len == 0) {
            continue;
        }
        if (out->n_tags == max_tags) {
            return GW_ERR_INVALID_TAG;
        }
        gw_str_split(&pair, '=', &k);
        rv = form_decode(k, a, &out->tags[out->n_tags].key);
        if (rv == 0) {
            rv = form_decode(pair, a, &out->tags[out->n_tags].value);
        }
        if (rv != 0) {
            return rv;
        }
        out->n_tags++;
    }
    return s3_tagset_check(out, max_tags);
}

static int create_bucket_walk(xmlNode *root, struct gw_arena *a, struct gw_str *location)
{
    const struct xml_field fields[] = {{"LocationConstraint", location}};

    if (node_fields(root, fields, 1, a) != 0) {
        return GW_ERR_MALFORMED_XML;
    }
    if (location->p != NULL) {
        *location = trim_ws(*location);
    }
    return GW_OK;
}

int s3_xml_parse_create_bucket(struct gw_str body, struct gw_arena *a, struct gw_str *location)
{
    xmlDoc *doc;
    xmlNode *root;
    int rv = GW_ERR_MALFORMED_XML;

    *location = GW_STR_NULL;
    if (trim_ws(body).len == 0) {
        return body.len <= S3_XML_CREATE_BUCKET_MAX_LEN ? GW_OK : GW_ERR_MALFORMED_XML;
    }
    doc = xml_read(body, S3_XML_CREATE_BUCKET_MAX_LEN);
    if (doc == NULL) {
        return GW_ERR_MALFORMED_XML;
    }
    root = root_is(doc, "CreateBucketConfiguration");
    if (root != NULL) {
        rv = create_bucket_walk(root, a, location);
    }
    xmlFreeDoc(doc);
    return rv;
}
