/* test_io.c — host-side file formats: JSON writer/parser, safetensors, metrics.jsonl.
 *
 * CPU only. Files go to a fresh temporary directory that is removed at the end. The
 * safetensors layout is checked byte by byte against the format, then (when python3 with
 * numpy is installed) read back by an independent reader: json + numpy.frombuffer.
 */
/* POSIX 2008 for mkdtemp, strtok_r and dirent when the build does not ask for more */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/json.h"
#include "io/metrics.h"
#include "io/safetensors.h"
#include "util.h"

static char g_dir[256]; /* the temporary directory of this run */

static const char *tmp_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", g_dir, name);
    return buf;
}

static int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t k = fwrite(data, 1, n, f);
    return (fclose(f) == 0) && k == n;
}

/* Whole file into a malloc'd, NUL-terminated buffer; NULL if it cannot be read. */
static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = vc_malloc((size_t)size + 1);
    size_t k = fread(buf, 1, (size_t)size, f);
    fclose(f);
    buf[k] = 0;
    *n = k;
    return buf;
}

static int contains(const char *haystack, const char *needle) { return strstr(haystack, needle) != NULL; }

/* Number of directory entries other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Lower the file-size limit so that writes fail part-way (EFBIG), as on a full disk.
 * Returns the old limit for restore_file_limit(). */
static struct rlimit limit_file_size(rlim_t bytes) {
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = bytes;
    signal(SIGXFSZ, SIG_IGN); /* fail the write() instead of killing the process */
    setrlimit(RLIMIT_FSIZE, &lim);
    return old;
}

static void restore_file_limit(struct rlimit old) { setrlimit(RLIMIT_FSIZE, &old); }

/* ---------------------------------------------------------------------------------------
 * JSON writer
 */

static void test_json_writer(void) {
    VcJsonWriter w;
    vc_json_writer_init(&w, 0);
    vc_json_begin_object(&w);
    vc_json_field_string(&w, "s", "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f");
    vc_json_field_string(&w, "utf8", "caf\xC3\xA9 \xF0\x9F\x98\x80");
    vc_json_field_string(&w, "bad", "x\xFFy\xC3");
    vc_json_field_number(&w, "f", 0.1f);
    vc_json_field_number(&w, "d", 0.03);
    vc_json_field_number(&w, "big", 1e30);
    vc_json_field_number(&w, "negzero", -0.0);
    vc_json_field_number(&w, "nan", NAN);
    vc_json_field_number(&w, "inf", -INFINITY);
    vc_json_field_int(&w, "imax", INT64_MAX);
    vc_json_field_int(&w, "imin", INT64_MIN);
    vc_json_field_bool(&w, "t", 1);
    vc_json_field_bool(&w, "f2", 0);
    vc_json_put_key(&w, "n");
    vc_json_put_null(&w);
    vc_json_put_key(&w, "nul");
    vc_json_put_string_n(&w, "a\0b", 3);
    vc_json_put_key(&w, "arr");
    vc_json_begin_array(&w);
    vc_json_put_int(&w, 1);
    vc_json_begin_object(&w);
    vc_json_end_object(&w);
    vc_json_begin_array(&w);
    vc_json_end_array(&w);
    vc_json_put_string(&w, NULL);
    vc_json_end_array(&w);
    vc_json_end_object(&w);
    const char *want = "{\"s\":\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\","
                       "\"utf8\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\","
                       "\"bad\":\"x\xEF\xBF\xBDy\xEF\xBF\xBD\","
                       "\"f\":0.100000001,\"d\":0.03,\"big\":1e+30,\"negzero\":-0,\"nan\":null,\"inf\":null,"
                       "\"imax\":9223372036854775807,\"imin\":-9223372036854775808,"
                       "\"t\":true,\"f2\":false,\"n\":null,\"nul\":\"a\\u0000b\",\"arr\":[1,{},[],null]}";
    CHECK(strcmp(w.buf, want) == 0, "compact writer output:\n got %s\nwant %s", w.buf, want);
    CHECK(w.len == strlen(want), "writer len %zu, want %zu", w.len, strlen(want));

    /* the output parses back (valid JSON, including the U+FFFD replacements) */
    VcJson *root = vc_json_parse(w.buf, w.len, NULL);
    CHECK(root != NULL, "writer output does not parse: %s", vc_last_error());
    if (root) {
        const VcJson *s = vc_json_get(root, "s");
        CHECK(s && s->u.string.len == 14 && memcmp(s->u.string.ptr, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f", 14) == 0,
              "escaped string round trip");
        const VcJson *nul = vc_json_get(root, "nul");
        CHECK(nul && nul->u.string.len == 3 && memcmp(nul->u.string.ptr, "a\0b", 3) == 0, "\\u0000 round trip");
        double f = 0;
        CHECK(vc_json_number(vc_json_get(root, "f"), &f) == VC_OK && (float)f == 0.1f, "float32 round trip via %%.9g");
        int64_t imin = 0;
        CHECK(vc_json_int64(vc_json_get(root, "imin"), &imin) == VC_OK && imin == INT64_MIN, "INT64_MIN exact");
        vc_json_free(root);
    }

    /* take() hands the buffer over and leaves an empty writer */
    size_t len = 0;
    char *taken = vc_json_writer_take(&w, &len);
    CHECK(len == strlen(want) && strcmp(taken, want) == 0, "take returns the output");
    CHECK(w.len == 0 && w.buf && w.buf[0] == 0, "writer empty after take");
    free(taken);
    vc_json_writer_free(&w);

    /* indented output */
    vc_json_writer_init(&w, 2);
    vc_json_begin_object(&w);
    vc_json_field_int(&w, "a", 1);
    vc_json_put_key(&w, "b");
    vc_json_begin_array(&w);
    vc_json_put_int(&w, 2);
    vc_json_put_number(&w, 2.5);
    vc_json_end_array(&w);
    vc_json_put_key(&w, "c");
    vc_json_begin_object(&w);
    vc_json_end_object(&w);
    vc_json_end_object(&w);
    const char *want2 = "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    2.5\n  ],\n  \"c\": {}\n}";
    CHECK(strcmp(w.buf, want2) == 0, "indented writer output:\n got %s\nwant %s", w.buf, want2);
    vc_json_writer_free(&w);

    /* a bare top-level scalar */
    vc_json_writer_init(&w, 0);
    vc_json_put_string(&w, "x");
    CHECK(strcmp(w.buf, "\"x\"") == 0, "top-level string: %s", w.buf);
    vc_json_writer_free(&w);
}

/* ---------------------------------------------------------------------------------------
 * JSON parser
 */

static void test_json_parse(void) {
    const char *text = " {\"name\": \"vk\\u00e9\\ud83d\\ude00\\/\", \"n\": [1, -2.5e3, 0, -0, 9007199254740993,"
                       " 9223372036854775808, -9223372036854775808, 1E2],\n \"nested\": {\"a\": {\"b\": [true, false,"
                       " null, {}]}}, \"empty\": \"\", \"dup\": 1, \"dup\": 2} ";
    VcJson *root = vc_json_parse(text, strlen(text), NULL);
    CHECK(root != NULL, "valid document rejected: %s", vc_last_error());
    if (!root) return;
    CHECK(root->type == VC_JSON_OBJECT && vc_json_count(root) == 6, "root object with 6 members");
    const char *name = vc_json_string(vc_json_get(root, "name"));
    CHECK(name && strcmp(name, "vk\xC3\xA9\xF0\x9F\x98\x80/") == 0, "\\u escapes and surrogate pair decoded to UTF-8");
    const VcJson *n = vc_json_get(root, "n");
    CHECK(vc_json_count(n) == 8, "array of 8 numbers");
    int64_t i64 = 0;
    double d = 0;
    CHECK(vc_json_int64(vc_json_at(n, 0), &i64) == VC_OK && i64 == 1, "integer 1");
    CHECK(vc_json_number(vc_json_at(n, 1), &d) == VC_OK && d == -2500.0, "-2.5e3");
    CHECK(vc_json_int64(vc_json_at(n, 1), &i64) == VC_ERR_FORMAT && i64 == 1, "int64 of a non-integer fails, out untouched");
    CHECK(vc_json_int64(vc_json_at(n, 3), &i64) == VC_OK && i64 == 0, "-0 is integer 0");
    CHECK(vc_json_int64(vc_json_at(n, 4), &i64) == VC_OK && i64 == 9007199254740993LL, "2^53+1 kept exact");
    CHECK(vc_json_int64(vc_json_at(n, 5), &i64) == VC_ERR_FORMAT, "2^63 is not an int64");
    CHECK(vc_json_number(vc_json_at(n, 5), &d) == VC_OK && d == 9223372036854775808.0, "2^63 as a double");
    CHECK(vc_json_int64(vc_json_at(n, 6), &i64) == VC_OK && i64 == INT64_MIN, "INT64_MIN");
    CHECK(vc_json_int64(vc_json_at(n, 7), &i64) == VC_ERR_FORMAT, "1E2 is not an integer literal");
    CHECK(vc_json_at(n, 8) == NULL, "index past the end");
    const VcJson *b = vc_json_get(vc_json_get(vc_json_get(root, "nested"), "a"), "b");
    int flag = -1;
    CHECK(vc_json_count(b) == 4 && vc_json_bool(vc_json_at(b, 0), &flag) == VC_OK && flag == 1, "nested true");
    CHECK(vc_json_bool(vc_json_at(b, 1), &flag) == VC_OK && flag == 0, "nested false");
    CHECK(vc_json_at(b, 2)->type == VC_JSON_NULL && vc_json_at(b, 3)->type == VC_JSON_OBJECT, "null and {}");
    CHECK(vc_json_string(vc_json_get(root, "empty")) && vc_json_get(root, "empty")->u.string.len == 0, "empty string");
    CHECK(vc_json_int64(vc_json_get(root, "dup"), &i64) == VC_OK && i64 == 1, "duplicate key: first wins");
    CHECK(vc_json_get(root, "missing") == NULL && vc_json_get(n, "x") == NULL, "missing key / not an object");
    CHECK(vc_json_string(n) == NULL && vc_json_count(vc_json_at(n, 0)) == 0, "typed reads of the wrong type");

    /* write it back, parse again, write again: identical */
    VcJsonWriter w1, w2;
    vc_json_writer_init(&w1, 0);
    vc_json_put_value(&w1, root);
    VcJson *again = vc_json_parse(w1.buf, w1.len, NULL);
    CHECK(again != NULL, "re-parse of written DOM: %s", vc_last_error());
    if (again) {
        vc_json_writer_init(&w2, 3);
        vc_json_put_value(&w2, again);
        VcJson *third = vc_json_parse(w2.buf, w2.len, NULL);
        vc_json_writer_free(&w2);
        vc_json_writer_init(&w2, 0);
        if (third) vc_json_put_value(&w2, third);
        CHECK(third && strcmp(w1.buf, w2.buf) == 0, "round trip stable:\n%s\n%s", w1.buf, w2.buf);
        vc_json_free(third);
        vc_json_writer_free(&w2);
        vc_json_free(again);
    }
    vc_json_writer_free(&w1);
    vc_json_free(root);

    /* the length bounds the text: no NUL needed, bytes past len ignored */
    root = vc_json_parse("[1,2]garbage", 5, NULL);
    CHECK(root && vc_json_count(root) == 2, "parse honours len");
    vc_json_free(root);
    root = vc_json_parse("\"a\0b\"", 5, NULL);
    CHECK(root == NULL, "raw NUL byte inside a string rejected");

    /* malformed inputs: offset of the first bad byte, and the reason */
    static const struct {
        const char *text;
        size_t offset;
        const char *why;
    } bad[] = {
        {"", 0, "empty input"},
        {"   ", 3, "empty input"},
        {"{\"a\":1,}", 7, "expected a string key after ','"},
        {"[1,2", 4, "expected ',' or ']'"},
        {"[1,]", 3, "expected a value"},
        {"{\"a\" 1}", 5, "expected ':'"},
        {"{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"},
        {"{1:2}", 1, "expected a string key or '}'"},
        {"\"abc", 4, "unterminated string"},
        {"\"a\\x\"", 2, "invalid escape '\\x'"},
        {"\"\\u12g4\"", 1, "four hex digits"},
        {"\"\\u12\"", 1, "four hex digits"},
        {"\"\\ud800\"", 1, "unpaired surrogate"},
        {"\"\\ud800\\u0041\"", 1, "unpaired surrogate"},
        {"\"\\udc00\"", 1, "unpaired surrogate"},
        {"\"a\nb\"", 2, "control character"},
        {"\"\xC3\x28\"", 1, "invalid UTF-8"},
        {"\"\xED\xA0\x80\"", 1, "invalid UTF-8"}, /* UTF-8-encoded surrogate */
        {"\"\xC0\xAF\"", 1, "invalid UTF-8"},     /* overlong */
        {"01", 0, "leading zeros"},
        {"-", 1, "expected a digit after '-'"},
        {"1.", 2, "digit after '.'"},
        {"1.e5", 2, "digit after '.'"},
        {"1e+", 3, "exponent"},
        {"1e999", 0, "out of range"},
        {"tru", 0, "invalid literal"},
        {"nul", 0, "invalid literal"},
        {"NaN", 0, "NaN is not valid JSON"},
        {"-Infinity", 0, "Infinity is not valid JSON"},
        {"{} x", 3, "unexpected data after"},
        {"[1] [2]", 4, "unexpected data after"},
        {"'a'", 0, "unexpected character '''"},
        {"[1,\n  @]", 6, "unexpected character '@'"},
        {"\xEF\xBB\xBF{}", 0, "unexpected byte 0xef"},
        {"{\"a\":[1,{\"b\":}]}", 13, "expected a value"},
    };
    for (size_t i = 0; i < VC_COUNTOF(bad); i++) {
        VcJsonError err = {0};
        VcJson *v = vc_json_parse(bad[i].text, strlen(bad[i].text), &err);
        CHECK(v == NULL, "malformed input %zu accepted: %s", i, bad[i].text);
        vc_json_free(v);
        CHECK(err.offset == bad[i].offset, "input %zu (%s): error at byte %zu, want %zu (%s)", i, bad[i].text, err.offset,
              bad[i].offset, err.message);
        CHECK(contains(err.message, bad[i].why), "input %zu (%s): message '%s' lacks '%s'", i, bad[i].text, err.message,
              bad[i].why);
        char at[64];
        snprintf(at, sizeof at, "invalid JSON at byte %zu ", bad[i].offset);
        CHECK(contains(vc_last_error(), at), "input %zu: vc_last_error '%s'", i, vc_last_error());
    }
    VcJsonError err = {0};
    CHECK(vc_json_parse("[1,\n  @]", 8, &err) == NULL && err.line == 2 && err.column == 3, "line %d column %d", err.line,
          err.column);

    /* nesting: exactly VC_JSON_MAX_DEPTH levels are fine, one more is refused */
    char deep[2 * VC_JSON_MAX_DEPTH + 3];
    for (int depth = VC_JSON_MAX_DEPTH; depth <= VC_JSON_MAX_DEPTH + 1; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        VcJsonError e = {0};
        VcJson *v = vc_json_parse(deep, 2 * (size_t)depth, &e);
        if (depth == VC_JSON_MAX_DEPTH) {
            CHECK(v != NULL, "%d nested arrays rejected: %s", depth, vc_last_error());
        } else {
            CHECK(v == NULL && e.offset == VC_JSON_MAX_DEPTH && contains(e.message, "nesting deeper"),
                  "%d nested arrays: offset %zu '%s'", depth, e.offset, e.message);
        }
        vc_json_free(v);
    }
}

/* ---------------------------------------------------------------------------------------
 * safetensors
 */

static const float k_f32[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f};
static const int32_t k_i32[4] = {-1, 2, -3, 2147483647};
static const uint8_t k_u8[5] = {0, 1, 127, 128, 255};
static const float k_after[3] = {0.5f, 1.5f, -7.0f}; /* follows the odd-sized U8 tensor */
static const int64_t k_i64 = -1234567890123LL;

/* The file used by several tests: F32 (2,3), I32 (4), U8 (5), F32 (3) misaligned by the U8,
 * an I64 scalar, an empty F32 (0,3), and metadata with characters that need escaping. */
static int write_sample(const char *path) {
    VcSafetensorsWriter *w = vc_st_writer_new();
    int rc = 0;
    rc |= vc_st_add_f32(w, "stem.conv.weight", (const int64_t[]){2, 3}, 2, k_f32);
    rc |= vc_st_add_i32(w, "labels", (const int64_t[]){4}, 1, k_i32);
    rc |= vc_st_add_u8(w, "bytes", (const int64_t[]){5}, 1, k_u8);
    rc |= vc_st_add_f32(w, "after", (const int64_t[]){3}, 1, k_after);
    rc |= vc_st_add_i64(w, "step", NULL, 0, &k_i64);
    rc |= vc_st_add_f32(w, "empty", (const int64_t[]){0, 3}, 2, NULL);
    rc |= vc_st_set_meta(w, "method", "simclr");
    rc |= vc_st_set_meta(w, "input_mean", "[0.2860]");
    rc |= vc_st_set_meta(w, "note", "quote \" backslash \\ newline \n caf\xC3\xA9");
    rc |= vc_st_set_meta(w, "method", "moco"); /* replaces */
    rc |= vc_st_writer_save(w, path);
    vc_st_writer_free(w);
    return rc == 0;
}

static void test_st_roundtrip(void) {
    char path[512];
    tmp_path(path, sizeof path, "sample.safetensors");
    CHECK(write_sample(path), "writing sample: %s", vc_last_error());

    VcSafetensors *st = vc_st_open(path);
    CHECK(st != NULL, "open sample: %s", vc_last_error());
    if (!st) return;
    CHECK(vc_st_count(st) == 6, "6 tensors, got %zu", vc_st_count(st));
    static const char *order[] = {"stem.conv.weight", "labels", "bytes", "after", "step", "empty"};
    for (size_t i = 0; i < 6 && i < vc_st_count(st); i++)
        CHECK(strcmp(vc_st_at(st, i)->name, order[i]) == 0, "tensor %zu is %s, want %s", i, vc_st_at(st, i)->name, order[i]);

    const VcStTensor *t = vc_st_get(st, "stem.conv.weight");
    CHECK(t && t->dtype == VC_ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->numel == 6 &&
              t->nbytes == 24 && memcmp(t->data, k_f32, 24) == 0,
          "F32 (2,3) round trip");
    t = vc_st_get(st, "labels");
    CHECK(t && t->dtype == VC_ST_I32 && t->ndim == 1 && t->shape[0] == 4 && memcmp(t->data, k_i32, 16) == 0, "I32 round trip");
    t = vc_st_get(st, "bytes");
    CHECK(t && t->dtype == VC_ST_U8 && t->nbytes == 5 && memcmp(t->data, k_u8, 5) == 0, "U8 round trip");
    t = vc_st_get(st, "after");
    CHECK(t && t->dtype == VC_ST_F32 && (uintptr_t)t->data % 4 == 0 && memcmp(t->data, k_after, 12) == 0,
          "F32 after the odd U8 tensor: aligned pointer and right values");
    t = vc_st_get(st, "step");
    CHECK(t && t->dtype == VC_ST_I64 && t->ndim == 0 && t->numel == 1 && t->nbytes == 8 &&
              *(const int64_t *)t->data == k_i64,
          "I64 scalar round trip");
    t = vc_st_get(st, "empty");
    CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->numel == 0 && t->nbytes == 0, "empty tensor");

    CHECK(vc_st_get(st, "nope") == NULL && contains(vc_last_error(), "no tensor 'nope'") && contains(vc_last_error(), path),
          "missing tensor message: %s", vc_last_error());
    const float *f = vc_st_get_f32(st, "stem.conv.weight", (const int64_t[]){2, 3}, 2);
    CHECK(f && f[2] == 3.25f, "get_f32 with the right shape");
    CHECK(vc_st_get_f32(st, "stem.conv.weight", (const int64_t[]){3, 2}, 2) == NULL &&
              contains(vc_last_error(), "is F32 (2,3), expected F32 (3,2)"),
          "get_f32 shape mismatch: %s", vc_last_error());
    CHECK(vc_st_get_f32(st, "labels", (const int64_t[]){4}, 1) == NULL && contains(vc_last_error(), "is I32 (4)"),
          "get_f32 dtype mismatch: %s", vc_last_error());

    CHECK(vc_st_meta(st, "method") && strcmp(vc_st_meta(st, "method"), "moco") == 0, "metadata replaced");
    CHECK(vc_st_meta(st, "input_mean") && strcmp(vc_st_meta(st, "input_mean"), "[0.2860]") == 0, "metadata value");
    CHECK(vc_st_meta(st, "note") && strcmp(vc_st_meta(st, "note"), "quote \" backslash \\ newline \n caf\xC3\xA9") == 0,
          "metadata escaping round trip");
    CHECK(vc_st_meta(st, "missing") == NULL, "missing metadata");
    CHECK(vc_st_meta_count(st) == 3, "3 metadata entries");
    const char *k = NULL, *v = NULL;
    vc_st_meta_at(st, 1, &k, &v);
    CHECK(k && v && strcmp(k, "input_mean") == 0 && strcmp(v, "[0.2860]") == 0, "metadata iteration in order");
    vc_st_close(st);
}

/* The bytes on disk, checked against the format without our reader. */
static void test_st_layout(void) {
    char path[512];
    tmp_path(path, sizeof path, "layout.safetensors");
    VcSafetensorsWriter *w = vc_st_writer_new();
    const float data[2] = {1.0f, -2.0f};
    const uint8_t three[3] = {7, 8, 9};
    CHECK(vc_st_add_f32(w, "w", (const int64_t[]){2}, 1, data) == VC_OK, "add w");
    CHECK(vc_st_add_u8(w, "u", (const int64_t[]){3}, 1, three) == VC_OK, "add u");
    vc_st_set_meta(w, "k", "v");
    CHECK(vc_st_writer_save(w, path) == VC_OK, "save: %s", vc_last_error());
    vc_st_writer_free(w);

    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    CHECK(b != NULL && n >= 8, "read back %zu bytes", n);
    if (!b || n < 8) {
        free(b);
        return;
    }
    const char *json = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}";
    size_t jlen = strlen(json), hlen = (jlen + 7) / 8 * 8;
    uint64_t stored = 0;
    for (int i = 7; i >= 0; i--) stored = stored << 8 | b[i];
    CHECK(stored == hlen, "header length field %llu, want %zu (JSON %zu bytes padded to 8)", (unsigned long long)stored,
          hlen, jlen);
    CHECK(n == 8 + hlen + 11, "file size %zu, want %zu", n, 8 + hlen + 11);
    if (n == 8 + hlen + 11) {
        CHECK(memcmp(b + 8, json, jlen) == 0, "header JSON:\n got %.*s\nwant %s", (int)jlen, (const char *)b + 8, json);
        int spaces = 1;
        for (size_t i = 8 + jlen; i < 8 + hlen; i++) spaces &= b[i] == ' ';
        CHECK(spaces, "header padded with spaces");
        /* 1.0f = 0x3F800000, -2.0f = 0xC0000000, little-endian */
        const unsigned char want[11] = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 7, 8, 9};
        CHECK(memcmp(b + 8 + hlen, want, 11) == 0, "data section bytes (little-endian F32, then U8)");
    }
    free(b);
}

static void test_st_atomic(void) {
    char path[512], tmp[600], dir[512];
    /* into a directory that does not exist: fails, names the path, leaves nothing */
    tmp_path(path, sizeof path, "no/such/dir/ckpt.safetensors");
    VcSafetensorsWriter *w = vc_st_writer_new();
    float big[1000];
    for (int i = 0; i < 1000; i++) big[i] = (float)i;
    vc_st_add_f32(w, "big", (const int64_t[]){1000}, 1, big);
    int before = count_entries(g_dir);
    int rc = vc_st_writer_save(w, path);
    CHECK(rc == VC_ERR_IO, "save into missing directory returns VC_ERR_IO, got %d", rc);
    CHECK(contains(vc_last_error(), "cannot write checkpoint") && contains(vc_last_error(), path) &&
              contains(vc_last_error(), "No such file or directory"),
          "message: %s", vc_last_error());
    CHECK(count_entries(g_dir) == before, "nothing created");

    /* a pre-existing, larger file is replaced whole */
    tmp_path(path, sizeof path, "replace.safetensors");
    CHECK(vc_st_writer_save(w, path) == VC_OK, "first save: %s", vc_last_error());
    vc_st_writer_free(w);
    w = vc_st_writer_new();
    const float small[2] = {42.0f, 43.0f};
    vc_st_add_f32(w, "small", (const int64_t[]){2}, 1, small);
    CHECK(vc_st_writer_save(w, path) == VC_OK, "second save: %s", vc_last_error());
    VcSafetensors *st = vc_st_open(path);
    CHECK(st && vc_st_count(st) == 1 && vc_st_get(st, "small") && vc_st_get(st, "big") == NULL, "replaced file: %s",
          st ? "wrong content" : vc_last_error());
    vc_st_close(st);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size < 1000, "file shrank to the new content (%lld bytes)", (long long)sb.st_size);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "no temporary file left after success");

    /* the final rename fails (the path is a directory): temp removed, directory intact */
    tmp_path(dir, sizeof dir, "isdir.safetensors");
    CHECK(mkdir(dir, 0755) == 0, "mkdir");
    rc = vc_st_writer_save(w, dir);
    CHECK(rc == VC_ERR_IO && contains(vc_last_error(), dir), "save over a directory fails: %s", vc_last_error());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dir, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "temporary file removed after the failed rename");
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode), "directory untouched");
    rmdir(dir);

    /* the disk fills part-way through the data: error, temp removed, old file intact */
    float many[4096] = {0};
    VcSafetensorsWriter *w2 = vc_st_writer_new();
    vc_st_add_f32(w2, "many", (const int64_t[]){4096}, 1, many);
    struct rlimit old_limit = limit_file_size(8192);
    rc = vc_st_writer_save(w2, path);
    restore_file_limit(old_limit);
    vc_st_writer_free(w2);
    CHECK(rc == VC_ERR_IO && contains(vc_last_error(), "cannot write checkpoint") && contains(vc_last_error(), path) &&
              contains(vc_last_error(), "File too large"),
          "save with the file-size limit hit: rc %d, %s", rc, vc_last_error());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "temporary file removed after the failed write");
    st = vc_st_open(path);
    CHECK(st && vc_st_count(st) == 1 && vc_st_get(st, "small"), "previous checkpoint intact after a failed save: %s",
          st ? "wrong content" : vc_last_error());
    vc_st_close(st);

    /* writer argument errors add nothing */
    CHECK(vc_st_add_f32(w, "small", (const int64_t[]){2}, 1, small) == VC_ERR_ARG && contains(vc_last_error(), "already"),
          "duplicate name refused: %s", vc_last_error());
    CHECK(vc_st_add_f32(w, "__metadata__", (const int64_t[]){2}, 1, small) == VC_ERR_ARG, "__metadata__ refused");
    CHECK(vc_st_add_f32(w, "", (const int64_t[]){2}, 1, small) == VC_ERR_ARG, "empty name refused");
    CHECK(vc_st_add_f32(w, "neg", (const int64_t[]){-2}, 1, small) == VC_ERR_ARG, "negative dimension refused");
    CHECK(vc_st_add_f32(w, "huge", (const int64_t[]){INT64_MAX, 4}, 2, small) == VC_ERR_ARG, "overflowing shape refused");
    CHECK(vc_st_add_f32(w, "dims", (const int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, 9, small) == VC_ERR_ARG, "9 dims refused");
    vc_st_writer_free(w);
}

/* Write 8-byte length (hlen_field) + header + data as a file. */
static void write_raw(const char *path, uint64_t hlen_field, const char *header, const void *data, size_t ndata) {
    size_t hl = strlen(header);
    unsigned char *buf = vc_malloc(8 + hl + ndata);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen_field >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (ndata) memcpy(buf + 8 + hl, data, ndata);
    CHECK(write_file(path, buf, 8 + hl + ndata), "write %s", path);
    free(buf);
}

static void test_st_corrupt(void) {
    char path[512];
    tmp_path(path, sizeof path, "corrupt.safetensors");
    const unsigned char zeros[64] = {0};
    static const struct {
        const char *header; /* NULL: special case below */
        size_t ndata;
        const char *why;
        const char *tensor; /* must be named in the message, or NULL */
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "reach past the end of the data section", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes but data_offsets [0, 8] span 8", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "0 <= begin <= end", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "data_offsets", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets", "a"},
        {"{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype \"F33\"", "a"},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative integers", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "non-negative integers", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,0]}}", 0,
         "overflows", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0, "overflows", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions", "a"},
        {"{\"a\":[1]}", 0, "expected an object", "a"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "appears twice", "a"},
        {"{\"__metadata__\":{\"epoch\":3}}", 0, "__metadata__ entry 'epoch' is a JSON number", NULL},
        {"{\"__metadata__\":[]}", 0, "expected an object of strings", NULL},
        {"[]", 0, "the header is a JSON array", NULL},
        {"{\"a\":", 0, "invalid JSON header at byte 13", NULL},
        {"{\"a\" 1}", 0, "invalid JSON header at byte 13", NULL},
        {"", 0, "invalid JSON header at byte 8", NULL},
    };
    for (size_t i = 0; i < VC_COUNTOF(cases); i++) {
        write_raw(path, strlen(cases[i].header), cases[i].header, zeros, cases[i].ndata);
        VcSafetensors *st = vc_st_open(path);
        CHECK(st == NULL, "corrupt case %zu accepted: %s", i, cases[i].header);
        vc_st_close(st);
        const char *msg = vc_last_error();
        CHECK(contains(msg, path) && contains(msg, cases[i].why), "case %zu: message '%s' lacks the path or '%s'", i, msg,
              cases[i].why);
        if (cases[i].tensor) {
            char named[64];
            snprintf(named, sizeof named, "tensor '%s'", cases[i].tensor);
            CHECK(contains(msg, named), "case %zu: message '%s' does not name %s", i, msg, named);
        }
    }

    /* header length larger than the file */
    const char *ok = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    write_raw(path, 1000, ok, zeros, 1);
    CHECK(vc_st_open(path) == NULL && contains(vc_last_error(), "header length 1000 is larger than the rest of the file"),
          "header length past EOF: %s", vc_last_error());
    write_raw(path, UINT64_MAX, ok, zeros, 1);
    CHECK(vc_st_open(path) == NULL && contains(vc_last_error(), "is larger than the rest"), "huge header length: %s",
          vc_last_error());
    /* shorter than the length field */
    CHECK(write_file(path, "\x10\0\0\0\0", 5), "write 5 bytes");
    CHECK(vc_st_open(path) == NULL && contains(vc_last_error(), "truncated") && contains(vc_last_error(), path),
          "5-byte file: %s", vc_last_error());
    CHECK(write_file(path, "", 0), "write empty file");
    CHECK(vc_st_open(path) == NULL && contains(vc_last_error(), "truncated"), "empty file: %s", vc_last_error());
    /* a good header followed by the right data still opens (the cases above are not vacuous) */
    write_raw(path, strlen(ok), ok, zeros, 1);
    VcSafetensors *st = vc_st_open(path);
    CHECK(st != NULL, "well-formed hand-made file rejected: %s", vc_last_error());
    vc_st_close(st);

    /* a real file cut short, at every length: never accepted */
    char good[512];
    tmp_path(good, sizeof good, "sample.safetensors");
    size_t n = 0;
    unsigned char *b = read_file(good, &n);
    CHECK(b != NULL, "read sample");
    int accepted = 0;
    for (size_t cut = 0; b && cut < n; cut++) {
        write_file(path, b, cut);
        VcSafetensors *s2 = vc_st_open(path);
        if (s2) accepted++;
        vc_st_close(s2);
    }
    CHECK(accepted == 0, "%d truncated copies of a valid file were accepted", accepted);
    if (b) {
        /* cut in the data section: the message says which tensor runs past the end */
        write_file(path, b, n - 4);
        CHECK(vc_st_open(path) == NULL && contains(vc_last_error(), "reach past the end of the data section"),
              "truncated data: %s", vc_last_error());
    }
    free(b);

    /* missing file / a directory */
    tmp_path(path, sizeof path, "does-not-exist.safetensors");
    CHECK(vc_st_open(path) == NULL && contains(vc_last_error(), path) && contains(vc_last_error(), "No such file"),
          "missing file: %s", vc_last_error());
    CHECK(vc_st_open(g_dir) == NULL && contains(vc_last_error(), "not a regular file"), "directory: %s", vc_last_error());
    unlink(tmp_path(path, sizeof path, "corrupt.safetensors"));
}

/* An independent reader: python's json + numpy.frombuffer, when available. */
static void test_st_numpy(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("test_io: python3 with numpy not found, skipping the numpy cross-check\n");
        return;
    }
    char script[512], sample[512], cmd[1200];
    tmp_path(script, sizeof script, "check.py");
    tmp_path(sample, sizeof sample, "sample.safetensors");
    const char *py =
        "import json, struct, sys\n"
        "import numpy as np\n"
        "raw = open(sys.argv[1], 'rb').read()\n"
        "(n,) = struct.unpack('<Q', raw[:8])\n"
        "assert n % 8 == 0, n\n"
        "header = json.loads(raw[8:8 + n].decode('utf-8'))\n"
        "data = raw[8 + n:]\n"
        "types = {'F32': '<f4', 'I32': '<i4', 'U8': 'u1', 'I64': '<i8'}\n"
        "def get(name):\n"
        "    e = header[name]\n"
        "    b, end = e['data_offsets']\n"
        "    return np.frombuffer(data[b:end], dtype=types[e['dtype']]).reshape(e['shape'])\n"
        "meta = header.pop('__metadata__')\n"
        "assert meta['method'] == 'moco' and meta['note'].endswith('caf\\u00e9'), meta\n"
        "assert list(header) == ['stem.conv.weight', 'labels', 'bytes', 'after', 'step', 'empty'], list(header)\n"
        "ends = sorted(e['data_offsets'] for e in header.values())\n"
        "assert ends[0][0] == 0 and ends[-1][1] == len(data), (ends, len(data))\n"
        "assert all(a[1] == b[0] for a, b in zip(ends, ends[1:])), ends\n"
        "w = get('stem.conv.weight')\n"
        "assert w.shape == (2, 3) and w.tolist() == [[1.0, -2.5, 3.25], [0.0, -0.0, np.float32(1e-30)]], w\n"
        "assert get('labels').tolist() == [-1, 2, -3, 2147483647]\n"
        "assert get('bytes').tolist() == [0, 1, 127, 128, 255]\n"
        "assert get('after').tolist() == [0.5, 1.5, -7.0]\n"
        "assert get('step').shape == () and int(get('step')) == -1234567890123\n"
        "assert get('empty').shape == (0, 3)\n"
        "print('numpy cross-check ok')\n";
    CHECK(write_file(script, py, strlen(py)), "write python script");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, sample);
    CHECK(system(cmd) == 0, "python/numpy reading of %s failed (see above)", sample);
    unlink(script);
}

/* ---------------------------------------------------------------------------------------
 * metrics.jsonl
 */

static void test_metrics(void) {
    char path[512];
    tmp_path(path, sizeof path, "metrics.jsonl");
    for (int epoch = 0; epoch < 3; epoch++) {
        VcJsonWriter w;
        vc_metrics_begin(&w);
        vc_json_field_int(&w, "epoch", epoch);
        vc_json_field_int(&w, "step", 100 * epoch);
        vc_json_field_number(&w, "loss", epoch == 1 ? NAN : 4.5 - epoch);
        vc_json_field_string(&w, "note", "line\nbreak");
        CHECK(vc_metrics_append(path, &w, epoch == 2) == VC_OK, "append epoch %d: %s", epoch, vc_last_error());
    }
    CHECK(vc_metrics_append_line(path, "{\"raw\":true}", 12, 0) == VC_OK, "append raw line");
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    CHECK(b != NULL, "read metrics");
    if (b) {
        int lines = 0;
        char *save = NULL;
        for (char *line = strtok_r((char *)b, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
            VcJson *obj = vc_json_parse(line, strlen(line), NULL);
            CHECK(obj && obj->type == VC_JSON_OBJECT, "line %d is a JSON object: %s", lines, line);
            if (obj && lines < 3) {
                int64_t epoch = -1;
                CHECK(vc_json_int64(vc_json_get(obj, "epoch"), &epoch) == VC_OK && epoch == lines, "epoch %d", lines);
                const VcJson *loss = vc_json_get(obj, "loss");
                CHECK(loss && loss->type == (lines == 1 ? VC_JSON_NULL : VC_JSON_NUMBER), "loss of line %d", lines);
                const char *note = vc_json_string(vc_json_get(obj, "note"));
                CHECK(note && strcmp(note, "line\nbreak") == 0, "escaped newline stays inside the line");
            }
            vc_json_free(obj);
        }
        CHECK(lines == 4 && b[n - 1] == 0, "4 lines, got %d", lines);
        free(b);
        b = read_file(path, &n);
        CHECK(b && n > 0 && b[n - 1] == '\n', "file ends with a newline");
        free(b);
    }
    /* a line that only fits part-way is cut off again: the file keeps whole lines only */
    struct stat sb;
    CHECK(stat(path, &sb) == 0, "stat metrics");
    struct rlimit old_limit = limit_file_size((rlim_t)sb.st_size + 10);
    const char *long_line = "{\"epoch\":3,\"loss\":1.25,\"note\":\"does not fit\"}";
    int rc = vc_metrics_append_line(path, long_line, strlen(long_line), 0);
    restore_file_limit(old_limit);
    struct stat sb2;
    CHECK(rc == VC_ERR_IO && contains(vc_last_error(), path) && contains(vc_last_error(), "File too large"),
          "append past the size limit fails: %s", vc_last_error());
    CHECK(stat(path, &sb2) == 0 && sb2.st_size == sb.st_size, "partial line removed (%lld -> %lld bytes)",
          (long long)sb.st_size, (long long)sb2.st_size);

    const char *first = "{\"epoch\":0,\"step\":0,\"loss\":4.5,\"note\":\"line\\nbreak\"}\n";
    b = read_file(path, &n);
    CHECK(b && n > strlen(first) && memcmp(b, first, strlen(first)) == 0, "exact first line: %s", b ? (char *)b : "");
    free(b);
    unlink(path);

    char bad[512];
    tmp_path(bad, sizeof bad, "missing/metrics.jsonl");
    VcJsonWriter w;
    vc_metrics_begin(&w);
    vc_json_field_int(&w, "epoch", 0);
    CHECK(vc_metrics_append(bad, &w, 0) == VC_ERR_IO && contains(vc_last_error(), bad) &&
              contains(vc_last_error(), "cannot append to metrics file"),
          "append into a missing directory: %s", vc_last_error());
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/vc_test_io.XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("test_io: mkdtemp");
        return 1;
    }
    test_json_writer();
    test_json_parse();
    test_st_roundtrip();
    test_st_layout();
    test_st_atomic();
    test_st_corrupt();
    test_st_numpy();
    test_metrics();

    char path[512];
    unlink(tmp_path(path, sizeof path, "sample.safetensors"));
    unlink(tmp_path(path, sizeof path, "layout.safetensors"));
    unlink(tmp_path(path, sizeof path, "replace.safetensors"));
    CHECK(count_entries(g_dir) == 0, "temporary directory %s holds leftover files", g_dir);
    rmdir(g_dir);
    return th_finish();
}
