/* json.h — a small JSON writer and a small JSON parser, for the files vkcontrast reads
 * and writes: config.json, metrics.jsonl, the safetensors header, `devices --json`,
 * Chrome trace files.
 *
 * Writer: a plain struct the caller owns, appending to a growable, always NUL-terminated
 * string. It tracks nesting so commas come out right; misuse (a key outside an object, an
 * unbalanced end) is a programming error and trips VC_ASSERT. Numbers are printed with
 * %.9g, enough to round-trip a float32; NaN and infinities become `null`, as JSON has no
 * spelling for them. Strings are escaped (", \, control characters); bytes that are not
 * valid UTF-8 are written as U+FFFD so that the output is always valid JSON.
 *
 *     VcJsonWriter w;
 *     vc_json_writer_init(&w, 0);              // 0: one line; 2: indent by two spaces
 *     vc_json_begin_object(&w);
 *     vc_json_field_int(&w, "epoch", 3);
 *     vc_json_field_number(&w, "loss", 4.25);
 *     vc_json_put_key(&w, "sizes");
 *     vc_json_begin_array(&w); vc_json_put_int(&w, 28); vc_json_end_array(&w);
 *     vc_json_end_object(&w);                  // w.buf: {"epoch":3,"loss":4.25,"sizes":[28]}
 *     vc_json_writer_free(&w);
 *
 * Parser: text (with its length; it need not be NUL-terminated) -> a tree of VcJson values
 * freed with one vc_json_free(). Strict RFC 8259: no comments, no trailing commas, no NaN,
 * strings must be valid UTF-8, \u escapes (surrogate pairs included) are decoded to UTF-8.
 * Nesting is limited to VC_JSON_MAX_DEPTH so hostile input cannot exhaust the stack. On
 * malformed input it returns NULL and says what was wrong and where:
 *     invalid JSON at byte 7 (line 1, column 8): expected a string key after ',' in object
 * Object members keep their order and duplicate keys are kept as they are (lookup returns
 * the first); callers that need unique keys check for themselves.
 */
#ifndef VC_IO_JSON_H
#define VC_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays/objects the writer and the parser accept. */
#define VC_JSON_MAX_DEPTH 64

/* ---------------------------------------------------------------------------------------
 * Writer
 */
typedef struct VcJsonWriter {
    char *buf;  /* the output so far, NUL-terminated ("" after init) */
    size_t len; /* strlen of buf (the output contains no NUL bytes) */
    size_t cap;
    int indent; /* spaces per level; 0 writes everything on one line */
    int depth;
    int after_key; /* a key was written; its value comes next */
    int done;      /* a complete top-level value was written */
    struct {
        char is_object;
        size_t count;
    } stack[VC_JSON_MAX_DEPTH];
} VcJsonWriter;

void vc_json_writer_init(VcJsonWriter *w, int indent);
void vc_json_writer_free(VcJsonWriter *w);
/* Hand the output over to the caller (free() it) and reset the writer to empty. */
char *vc_json_writer_take(VcJsonWriter *w, size_t *len);
/* Write the output to path atomically (io/atomic.h) and free the writer. VC_OK or VC_ERR_IO
 * with the message set. */
int vc_json_writer_save(VcJsonWriter *w, const char *path);

void vc_json_begin_object(VcJsonWriter *w);
void vc_json_end_object(VcJsonWriter *w);
void vc_json_begin_array(VcJsonWriter *w);
void vc_json_end_array(VcJsonWriter *w);
/* Inside an object: the key of the next value. */
void vc_json_put_key(VcJsonWriter *w, const char *key);

void vc_json_put_string(VcJsonWriter *w, const char *s);            /* NULL writes null */
void vc_json_put_string_n(VcJsonWriter *w, const char *s, size_t n); /* may contain NUL */
void vc_json_put_number(VcJsonWriter *w, double v);                  /* %.9g; non-finite -> null */
void vc_json_put_int(VcJsonWriter *w, int64_t v);                    /* exact */
void vc_json_put_bool(VcJsonWriter *w, int b);
void vc_json_put_null(VcJsonWriter *w);

/* key + value in one call, for the common case inside an object. */
void vc_json_field_string(VcJsonWriter *w, const char *key, const char *s);
void vc_json_field_number(VcJsonWriter *w, const char *key, double v);
void vc_json_field_int(VcJsonWriter *w, const char *key, int64_t v);
void vc_json_field_bool(VcJsonWriter *w, const char *key, int b);

/* ---------------------------------------------------------------------------------------
 * Parser (DOM)
 */
typedef enum { VC_JSON_NULL, VC_JSON_BOOL, VC_JSON_NUMBER, VC_JSON_STRING, VC_JSON_ARRAY, VC_JSON_OBJECT } VcJsonType;

typedef struct VcJson VcJson;
typedef struct VcJsonMember VcJsonMember;

struct VcJson {
    VcJsonType type;
    union {
        int boolean;
        struct {
            double value;
            int64_t integer; /* exact value when is_integer */
            int is_integer;  /* written without fraction/exponent and fits in int64 */
        } number;
        struct {
            char *ptr;  /* UTF-8, NUL-terminated */
            size_t len; /* bytes, excluding the terminator; ptr may hold NULs from \u0000 */
        } string;
        struct {
            VcJson *items;
            size_t count;
        } array;
        struct {
            VcJsonMember *members; /* in document order */
            size_t count;
        } object;
    } u;
};

struct VcJsonMember {
    char *key; /* NUL-terminated */
    size_t key_len;
    VcJson value;
};

/* Where and why parsing failed (also put into vc_last_error()). */
typedef struct VcJsonError {
    size_t offset; /* byte offset into the text */
    int line, column; /* 1-based */
    char message[128];
} VcJsonError;

/* Parse `len` bytes of text. Returns the root (free with vc_json_free) or NULL; on NULL the
 * reason is in vc_last_error() and, when err is not NULL, in *err. */
VcJson *vc_json_parse(const char *text, size_t len, VcJsonError *err);
void vc_json_free(VcJson *root);

/* Lookups: NULL when v is NULL, of another type, or has no such key / index. */
const VcJson *vc_json_get(const VcJson *obj, const char *key);
const VcJson *vc_json_at(const VcJson *arr, size_t i);
/* Items of an array or members of an object; 0 for anything else. */
size_t vc_json_count(const VcJson *v);

/* Typed reads. The string one returns NULL when v is not a string; the others return VC_OK
 * or VC_ERR_FORMAT (leaving *out untouched). vc_json_int64 takes only integer literals. */
const char *vc_json_string(const VcJson *v);
int vc_json_number(const VcJson *v, double *out);
int vc_json_int64(const VcJson *v, int64_t *out);
int vc_json_bool(const VcJson *v, int *out);

/* "null", "bool", "number", "string", "array", "object" — for messages. */
const char *vc_json_type_name(VcJsonType t);

/* Write a parsed value back out (round trips, copying parts of one document to another). */
void vc_json_put_value(VcJsonWriter *w, const VcJson *v);

#endif
