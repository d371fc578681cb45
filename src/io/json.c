/* json.c — the JSON writer and parser (see json.h for the design).
 *
 * The writer appends to a doubling buffer and keeps one frame per open container (is it an
 * object, how many values so far) to place commas, colons and indentation. The parser is a
 * recursive descent over (text, len) with a depth counter; every error records the byte
 * offset of the first offending byte, and everything built so far is freed on the way out.
 * Number text is converted with strtod after swapping '.' for the locale's decimal point,
 * and printed numbers get the reverse swap, so a program that calls setlocale() still
 * reads and writes JSON with dots.
 */
#include "io/json.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "io/atomic.h"
#include "util.h"

/* ---------------------------------------------------------------------------------------
 * UTF-8
 */

/* Length (1-4) of the valid UTF-8 sequence starting at s (n bytes available), 0 if the
 * bytes there are not one (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

/* Encode code point cp (at most U+10FFFF, not a surrogate) into out; returns the length. */
static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------------------------------
 * Writer
 */

static void buf_append(VcJsonWriter *w, const char *s, size_t n) {
    size_t need;
    VC_ASSERT(vc_add_size(w->len, n + 1, &need));
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < need) {
            VC_ASSERT(cap <= SIZE_MAX / 2);
            cap *= 2;
        }
        w->buf = vc_realloc(w->buf, cap);
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void buf_putc(VcJsonWriter *w, char c) { buf_append(w, &c, 1); }

static void newline_indent(VcJsonWriter *w, int depth) {
    buf_putc(w, '\n');
    for (int i = 0; i < depth * w->indent; i++) buf_putc(w, ' ');
}

/* Comma and indentation before the next element of the innermost container. */
static void element_separator(VcJsonWriter *w) {
    size_t *count = &w->stack[w->depth - 1].count;
    if (*count > 0) buf_putc(w, ',');
    if (w->indent > 0) newline_indent(w, w->depth);
    (*count)++;
}

static void before_value(VcJsonWriter *w) {
    if (w->depth == 0) {
        VC_ASSERT(!w->done); /* one top-level value per writer */
        return;
    }
    if (w->stack[w->depth - 1].is_object) {
        VC_ASSERT(w->after_key); /* inside an object every value needs a key first */
        w->after_key = 0;
        return;
    }
    element_separator(w);
}

static void after_value(VcJsonWriter *w) {
    if (w->depth == 0) w->done = 1;
}

static void write_escaped(VcJsonWriter *w, const char *str, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    buf_putc(w, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_valid_len(s + i, n - i);
            if (k > 0) {
                i += k;
                continue;
            }
        }
        buf_append(w, str + run, i - run);
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c < 0x20) {
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                esc_len = 6;
            } else { /* a byte that is not valid UTF-8: U+FFFD REPLACEMENT CHARACTER */
                memcpy(esc, "\xEF\xBF\xBD", 3);
                esc_len = 3;
            }
        }
        buf_append(w, esc, esc_len);
        i++;
        run = i;
    }
    buf_append(w, str + run, n - run);
    buf_putc(w, '"');
}

void vc_json_writer_init(VcJsonWriter *w, int indent) {
    memset(w, 0, sizeof *w);
    w->indent = indent < 0 ? 0 : indent;
    buf_append(w, "", 0);
}

void vc_json_writer_free(VcJsonWriter *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

char *vc_json_writer_take(VcJsonWriter *w, size_t *len) {
    char *out = w->buf;
    if (len) *len = w->len;
    int indent = w->indent;
    w->buf = NULL;
    vc_json_writer_init(w, indent);
    return out;
}

int vc_json_writer_save(VcJsonWriter *w, const char *path) {
    size_t len;
    char *text = vc_json_writer_take(w, &len);
    vc_json_writer_free(w);
    const void *parts[1] = {text};
    size_t sizes[1] = {len};
    int st = vc_write_atomic(path, parts, sizes, 1);
    free(text);
    return st;
}

static void begin_container(VcJsonWriter *w, char open, char is_object) {
    before_value(w);
    VC_ASSERT(w->depth < VC_JSON_MAX_DEPTH);
    buf_putc(w, open);
    w->stack[w->depth].is_object = is_object;
    w->stack[w->depth].count = 0;
    w->depth++;
}

static void end_container(VcJsonWriter *w, char close, char is_object) {
    VC_ASSERT(w->depth > 0 && w->stack[w->depth - 1].is_object == is_object);
    VC_ASSERT(!w->after_key); /* a key without its value */
    w->depth--;
    if (w->stack[w->depth].count > 0 && w->indent > 0) newline_indent(w, w->depth);
    buf_putc(w, close);
    after_value(w);
}

void vc_json_begin_object(VcJsonWriter *w) { begin_container(w, '{', 1); }
void vc_json_end_object(VcJsonWriter *w) { end_container(w, '}', 1); }
void vc_json_begin_array(VcJsonWriter *w) { begin_container(w, '[', 0); }
void vc_json_end_array(VcJsonWriter *w) { end_container(w, ']', 0); }

void vc_json_put_key(VcJsonWriter *w, const char *key) {
    VC_ASSERT(w->depth > 0 && w->stack[w->depth - 1].is_object && !w->after_key);
    element_separator(w);
    write_escaped(w, key, strlen(key));
    buf_putc(w, ':');
    if (w->indent > 0) buf_putc(w, ' ');
    w->after_key = 1;
}

void vc_json_put_string_n(VcJsonWriter *w, const char *s, size_t n) {
    before_value(w);
    write_escaped(w, s, n);
    after_value(w);
}

void vc_json_put_string(VcJsonWriter *w, const char *s) {
    if (!s) {
        vc_json_put_null(w);
        return;
    }
    vc_json_put_string_n(w, s, strlen(s));
}

void vc_json_put_number(VcJsonWriter *w, double v) {
    if (!isfinite(v)) {
        vc_json_put_null(w);
        return;
    }
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.9g", v);
    VC_ASSERT(n > 0 && (size_t)n < sizeof tmp);
    for (int i = 0; i < n; i++) /* a locale may print the decimal point as ',' */
        if (tmp[i] == ',') tmp[i] = '.';
    before_value(w);
    buf_append(w, tmp, (size_t)n);
    after_value(w);
}

void vc_json_put_int(VcJsonWriter *w, int64_t v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    VC_ASSERT(n > 0 && (size_t)n < sizeof tmp);
    before_value(w);
    buf_append(w, tmp, (size_t)n);
    after_value(w);
}

void vc_json_put_bool(VcJsonWriter *w, int b) {
    before_value(w);
    buf_append(w, b ? "true" : "false", b ? 4 : 5);
    after_value(w);
}

void vc_json_put_null(VcJsonWriter *w) {
    before_value(w);
    buf_append(w, "null", 4);
    after_value(w);
}

void vc_json_field_string(VcJsonWriter *w, const char *key, const char *s) {
    vc_json_put_key(w, key);
    vc_json_put_string(w, s);
}

void vc_json_field_number(VcJsonWriter *w, const char *key, double v) {
    vc_json_put_key(w, key);
    vc_json_put_number(w, v);
}

void vc_json_field_int(VcJsonWriter *w, const char *key, int64_t v) {
    vc_json_put_key(w, key);
    vc_json_put_int(w, v);
}

void vc_json_field_bool(VcJsonWriter *w, const char *key, int b) {
    vc_json_put_key(w, key);
    vc_json_put_bool(w, b);
}

void vc_json_put_value(VcJsonWriter *w, const VcJson *v) {
    switch (v->type) {
    case VC_JSON_NULL: vc_json_put_null(w); break;
    case VC_JSON_BOOL: vc_json_put_bool(w, v->u.boolean); break;
    case VC_JSON_NUMBER:
        if (v->u.number.is_integer)
            vc_json_put_int(w, v->u.number.integer);
        else
            vc_json_put_number(w, v->u.number.value);
        break;
    case VC_JSON_STRING: vc_json_put_string_n(w, v->u.string.ptr, v->u.string.len); break;
    case VC_JSON_ARRAY:
        vc_json_begin_array(w);
        for (size_t i = 0; i < v->u.array.count; i++) vc_json_put_value(w, &v->u.array.items[i]);
        vc_json_end_array(w);
        break;
    case VC_JSON_OBJECT:
        vc_json_begin_object(w);
        for (size_t i = 0; i < v->u.object.count; i++) {
            const VcJsonMember *m = &v->u.object.members[i];
            /* keys holding NUL bytes are cut at the first one (put_key takes a C string) */
            vc_json_put_key(w, m->key);
            vc_json_put_value(w, &m->value);
        }
        vc_json_end_object(w);
        break;
    }
}

/* ---------------------------------------------------------------------------------------
 * Parser
 */

typedef struct Parser {
    const unsigned char *s;
    size_t n;
    size_t pos;
    int depth;
    int failed;
    size_t err_offset;
    char err_message[128];
} Parser;

/* Record the first error (offset + message); always returns VC_ERR_FORMAT. */
static int fail_at(Parser *p, size_t offset, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(Parser *p, size_t offset, const char *fmt, ...) {
    if (!p->failed) {
        p->failed = 1;
        p->err_offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err_message, sizeof p->err_message, fmt, ap);
        va_end(ap);
    }
    return VC_ERR_FORMAT;
}

static void skip_ws(Parser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static void free_value(VcJson *v) {
    switch (v->type) {
    case VC_JSON_STRING: free(v->u.string.ptr); break;
    case VC_JSON_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++) free_value(&v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case VC_JSON_OBJECT:
        for (size_t i = 0; i < v->u.object.count; i++) {
            free(v->u.object.members[i].key);
            free_value(&v->u.object.members[i].value);
        }
        free(v->u.object.members);
        break;
    default: break;
    }
    v->type = VC_JSON_NULL;
}

static int hex4(const unsigned char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

/* p->pos is at the opening quote. On success *out is a malloc'd NUL-terminated string. */
static int parse_string(Parser *p, char **out, size_t *out_len) {
    const unsigned char *s = p->s;
    size_t open = p->pos;
    /* Find the closing quote; the decoded string is never longer than the literal. */
    size_t end = open + 1;
    while (end < p->n && s[end] != '"') end += (s[end] == '\\') ? 2 : 1;
    if (end >= p->n) return fail_at(p, p->n, "unterminated string (opened at byte %zu)", open);

    char *buf = vc_malloc(end - open);
    size_t len = 0;
    size_t i = open + 1;
    while (i < end) {
        unsigned char c = s[i];
        if (c == '\\') {
            unsigned char e = s[i + 1];
            char simple = 0;
            switch (e) {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u': break;
            default:
                free(buf);
                if (e >= 0x20 && e < 0x7F) return fail_at(p, i, "invalid escape '\\%c' in string", e);
                return fail_at(p, i, "invalid escape in string (byte 0x%02x after '\\')", e);
            }
            if (simple) {
                buf[len++] = simple;
                i += 2;
                continue;
            }
            uint32_t cp;
            if (i + 6 > end || !hex4(s + i + 2, &cp)) {
                free(buf);
                return fail_at(p, i, "'\\u' must be followed by four hex digits");
            }
            size_t esc_at = i;
            i += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(buf);
                return fail_at(p, esc_at, "unpaired surrogate \\u%04X in string", (unsigned)cp);
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (i + 6 > end || s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    free(buf);
                    return fail_at(p, esc_at, "unpaired surrogate \\u%04X in string", (unsigned)cp);
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            len += utf8_encode(cp, buf + len);
        } else if (c < 0x20) {
            free(buf);
            return fail_at(p, i, "control character 0x%02x in string (it must be escaped)", c);
        } else if (c < 0x80) {
            buf[len++] = (char)c;
            i++;
        } else {
            size_t k = utf8_valid_len(s + i, end - i);
            if (k == 0) {
                free(buf);
                return fail_at(p, i, "invalid UTF-8 byte 0x%02x in string", c);
            }
            memcpy(buf + len, s + i, k);
            len += k;
            i += k;
        }
    }
    buf[len] = '\0';
    p->pos = end + 1;
    *out = buf;
    *out_len = len;
    return VC_OK;
}

static int parse_number(Parser *p, VcJson *out) {
    const unsigned char *s = p->s;
    size_t start = p->pos, i = p->pos;
    int negative = 0;
    if (s[i] == '-') {
        negative = 1;
        i++;
    }
    if (i >= p->n || !is_digit(s[i])) {
        if (i < p->n && s[i] == 'I') return fail_at(p, start, "Infinity is not valid JSON (write null)");
        return fail_at(p, i, "expected a digit after '-'");
    }
    if (s[i] == '0' && i + 1 < p->n && is_digit(s[i + 1])) return fail_at(p, i, "leading zeros are not allowed in numbers");
    /* integer part, accumulated exactly while it fits */
    uint64_t mag = 0;
    int fits = 1;
    while (i < p->n && is_digit(s[i])) {
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (UINT64_MAX - d) / 10)
            fits = 0;
        else
            mag = mag * 10 + d;
        i++;
    }
    int is_integer = 1;
    if (i < p->n && s[i] == '.') {
        i++;
        if (i >= p->n || !is_digit(s[i])) return fail_at(p, i, "expected a digit after '.' in number");
        while (i < p->n && is_digit(s[i])) i++;
        is_integer = 0;
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->n || !is_digit(s[i])) return fail_at(p, i, "expected a digit in the exponent of number");
        while (i < p->n && is_digit(s[i])) i++;
        is_integer = 0;
    }

    /* strtod wants a NUL-terminated string in the locale's notation */
    const char *dp = localeconv()->decimal_point;
    size_t dp_len = (dp && dp[0]) ? strlen(dp) : 1;
    size_t tok_len = i - start;
    char small[64];
    char *tmp = (tok_len + dp_len + 1 <= sizeof small) ? small : vc_malloc(tok_len + dp_len + 1);
    size_t k = 0;
    for (size_t j = start; j < i; j++) {
        if (s[j] == '.' && dp && dp[0]) {
            memcpy(tmp + k, dp, dp_len);
            k += dp_len;
        } else {
            tmp[k++] = (char)s[j];
        }
    }
    tmp[k] = '\0';
    double value = strtod(tmp, NULL);
    if (tmp != small) free(tmp);
    if (!isfinite(value)) return fail_at(p, start, "number out of range");

    out->type = VC_JSON_NUMBER;
    out->u.number.value = value;
    out->u.number.is_integer = 0;
    out->u.number.integer = 0;
    if (is_integer && fits) {
        if (!negative && mag <= (uint64_t)INT64_MAX) {
            out->u.number.is_integer = 1;
            out->u.number.integer = (int64_t)mag;
        } else if (negative && mag <= (uint64_t)INT64_MAX + 1) {
            out->u.number.is_integer = 1;
            out->u.number.integer = (mag == (uint64_t)INT64_MAX + 1) ? INT64_MIN : -(int64_t)mag;
        }
    }
    p->pos = i;
    return VC_OK;
}

static int parse_value(Parser *p, VcJson *out);

static int parse_array(Parser *p, VcJson *out) {
    size_t open = p->pos;
    if (p->depth >= VC_JSON_MAX_DEPTH) return fail_at(p, open, "nesting deeper than %d levels", VC_JSON_MAX_DEPTH);
    p->depth++;
    p->pos++;
    VcJson arr = {.type = VC_JSON_ARRAY};
    size_t cap = 0;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        p->depth--;
        *out = arr;
        return VC_OK;
    }
    for (;;) {
        if (arr.u.array.count == cap) {
            cap = cap ? cap * 2 : 4;
            arr.u.array.items = vc_realloc(arr.u.array.items, cap * sizeof(VcJson));
        }
        VcJson item;
        if (parse_value(p, &item) != VC_OK) goto fail;
        arr.u.array.items[arr.u.array.count++] = item;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        fail_at(p, p->pos, "expected ',' or ']' after array element (array opened at byte %zu)", open);
        goto fail;
    }
    p->depth--;
    *out = arr;
    return VC_OK;
fail:
    free_value(&arr);
    return VC_ERR_FORMAT;
}

static int parse_object(Parser *p, VcJson *out) {
    size_t open = p->pos;
    if (p->depth >= VC_JSON_MAX_DEPTH) return fail_at(p, open, "nesting deeper than %d levels", VC_JSON_MAX_DEPTH);
    p->depth++;
    p->pos++;
    VcJson obj = {.type = VC_JSON_OBJECT};
    size_t cap = 0;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        p->depth--;
        *out = obj;
        return VC_OK;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != '"') {
            if (obj.u.object.count == 0)
                fail_at(p, p->pos, "expected a string key or '}' in object");
            else
                fail_at(p, p->pos, "expected a string key after ',' in object");
            goto fail;
        }
        VcJsonMember m;
        if (parse_string(p, &m.key, &m.key_len) != VC_OK) goto fail;
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':') {
            fail_at(p, p->pos, "expected ':' after object key \"%.40s\"", m.key);
            free(m.key);
            goto fail;
        }
        p->pos++;
        if (parse_value(p, &m.value) != VC_OK) {
            free(m.key);
            goto fail;
        }
        if (obj.u.object.count == cap) {
            cap = cap ? cap * 2 : 4;
            obj.u.object.members = vc_realloc(obj.u.object.members, cap * sizeof(VcJsonMember));
        }
        obj.u.object.members[obj.u.object.count++] = m;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        fail_at(p, p->pos, "expected ',' or '}' after object member (object opened at byte %zu)", open);
        goto fail;
    }
    p->depth--;
    *out = obj;
    return VC_OK;
fail:
    free_value(&obj);
    return VC_ERR_FORMAT;
}

static int parse_literal(Parser *p, const char *word, VcJson *out) {
    size_t n = strlen(word);
    if (p->n - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail_at(p, p->pos, "invalid literal (expected '%s')", word);
    p->pos += n;
    if (word[0] == 'n') {
        out->type = VC_JSON_NULL;
    } else {
        out->type = VC_JSON_BOOL;
        out->u.boolean = (word[0] == 't');
    }
    return VC_OK;
}

static int parse_value(Parser *p, VcJson *out) {
    skip_ws(p);
    if (p->pos >= p->n) return fail_at(p, p->pos, "unexpected end of input (expected a value)");
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{': return parse_object(p, out);
    case '[': return parse_array(p, out);
    case '"': {
        VcJson v = {.type = VC_JSON_STRING};
        if (parse_string(p, &v.u.string.ptr, &v.u.string.len) != VC_OK) return VC_ERR_FORMAT;
        *out = v;
        return VC_OK;
    }
    case 't': return parse_literal(p, "true", out);
    case 'f': return parse_literal(p, "false", out);
    case 'n': return parse_literal(p, "null", out);
    case 'N': return fail_at(p, p->pos, "NaN is not valid JSON (write null)");
    case 'I': return fail_at(p, p->pos, "Infinity is not valid JSON (write null)");
    default:
        if (c == '-' || is_digit(c)) return parse_number(p, out);
        if (c >= 0x20 && c < 0x7F) return fail_at(p, p->pos, "unexpected character '%c' (expected a value)", c);
        return fail_at(p, p->pos, "unexpected byte 0x%02x (expected a value)", c);
    }
}

VcJson *vc_json_parse(const char *text, size_t len, VcJsonError *err) {
    Parser p = {.s = (const unsigned char *)text, .n = len};
    VcJson root;
    skip_ws(&p);
    if (p.pos >= p.n) {
        fail_at(&p, p.pos, "empty input (expected a JSON value)");
    } else if (parse_value(&p, &root) == VC_OK) {
        skip_ws(&p);
        if (p.pos == p.n) {
            VcJson *out = vc_malloc(sizeof *out);
            *out = root;
            return out;
        }
        free_value(&root);
        fail_at(&p, p.pos, "unexpected data after the JSON value");
    }
    int line = 1, column = 1;
    for (size_t i = 0; i < p.err_offset && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    vc_set_error("invalid JSON at byte %zu (line %d, column %d): %s", p.err_offset, line, column, p.err_message);
    if (err) {
        err->offset = p.err_offset;
        err->line = line;
        err->column = column;
        snprintf(err->message, sizeof err->message, "%s", p.err_message);
    }
    return NULL;
}

void vc_json_free(VcJson *root) {
    if (!root) return;
    free_value(root);
    free(root);
}

/* ---------------------------------------------------------------------------------------
 * Lookups
 */

const VcJson *vc_json_get(const VcJson *obj, const char *key) {
    if (!obj || obj->type != VC_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->u.object.count; i++) {
        const VcJsonMember *m = &obj->u.object.members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0) return &m->value;
    }
    return NULL;
}

const VcJson *vc_json_at(const VcJson *arr, size_t i) {
    if (!arr || arr->type != VC_JSON_ARRAY || i >= arr->u.array.count) return NULL;
    return &arr->u.array.items[i];
}

size_t vc_json_count(const VcJson *v) {
    if (!v) return 0;
    if (v->type == VC_JSON_ARRAY) return v->u.array.count;
    if (v->type == VC_JSON_OBJECT) return v->u.object.count;
    return 0;
}

const char *vc_json_string(const VcJson *v) { return (v && v->type == VC_JSON_STRING) ? v->u.string.ptr : NULL; }

int vc_json_number(const VcJson *v, double *out) {
    if (!v || v->type != VC_JSON_NUMBER) return VC_ERR_FORMAT;
    *out = v->u.number.value;
    return VC_OK;
}

int vc_json_int64(const VcJson *v, int64_t *out) {
    if (!v || v->type != VC_JSON_NUMBER || !v->u.number.is_integer) return VC_ERR_FORMAT;
    *out = v->u.number.integer;
    return VC_OK;
}

int vc_json_bool(const VcJson *v, int *out) {
    if (!v || v->type != VC_JSON_BOOL) return VC_ERR_FORMAT;
    *out = v->u.boolean;
    return VC_OK;
}

const char *vc_json_type_name(VcJsonType t) {
    switch (t) {
    case VC_JSON_NULL: return "null";
    case VC_JSON_BOOL: return "bool";
    case VC_JSON_NUMBER: return "number";
    case VC_JSON_STRING: return "string";
    case VC_JSON_ARRAY: return "array";
    case VC_JSON_OBJECT: return "object";
    }
    return "?";
}
