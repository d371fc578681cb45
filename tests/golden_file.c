/* golden_file.c — loads a golden file (format in golden_file.h) into memory.
 *
 * The file is small (a few MiB), so it is read whole and parsed from the buffer with a
 * cursor that refuses to step past the end: each length read from the file is compared
 * with the bytes left before it is used, so a truncated or corrupt file gives a message
 * naming the tensor and offset instead of a huge allocation or a read past the end.
 * Floats are decoded byte by byte (little-endian) into one aligned pool, so the reader
 * works on any host byte order and never reads unaligned floats.
 */
#include "golden_file.h"

#include <string.h>

#include "util.h"

typedef struct {
    char *name;
    uint32_t ndim;
    uint32_t dims[VC_GOLDEN_MAX_DIMS];
    size_t count;  // prod(dims); 1 when ndim == 0
    float *data;   // points into VcGolden.pool
} GoldenTensor;

struct VcGolden {
    size_t n_tensors;
    GoldenTensor *tensors;  // (n_tensors)
    float *pool;            // every tensor's data, back to back
};

/* A read cursor over the file's bytes; `path` names the file in messages. */
typedef struct {
    const unsigned char *bytes;
    size_t len;
    size_t pos;
    const char *path;
} Cursor;

static size_t cursor_left(const Cursor *c) { return c->len - c->pos; }

static uint32_t load_u32_le(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a u32; `what` says which field for the truncation message. */
static int cursor_u32(Cursor *c, uint32_t *out, const char *what, const char *tensor) {
    if (cursor_left(c) < 4) {
        vc_set_error("truncated golden file %s: %s%s%s at offset %zu needs 4 bytes, %zu left", c->path, what,
                     tensor ? " of tensor " : "", tensor ? tensor : "", c->pos, cursor_left(c));
        return 0;
    }
    *out = load_u32_le(c->bytes + c->pos);
    c->pos += 4;
    return 1;
}

static int read_whole_file(const char *path, unsigned char **out_bytes, size_t *out_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        vc_set_error("cannot open golden file %s (regenerate it with /usr/bin/python3 tools/gen_golden.py)", path);
        return 0;
    }
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        vc_set_error("cannot determine the size of golden file %s", path);
        fclose(f);
        return 0;
    }
    unsigned char *bytes = vc_malloc((size_t)len);
    size_t got = fread(bytes, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) {
        vc_set_error("read error in golden file %s: %zu of %ld bytes", path, got, len);
        free(bytes);
        return 0;
    }
    *out_bytes = bytes;
    *out_len = (size_t)len;
    return 1;
}

/* First pass over the tensor records: validates every field and adds up the floats, so
 * the second pass can fill the pool without further checks. Returns 0 on a bad file. */
static int scan_tensors(Cursor c, uint32_t n_tensors, size_t *total_floats) {
    size_t total = 0;
    for (uint32_t t = 0; t < n_tensors; t++) {
        size_t record_at = c.pos;
        uint32_t name_len, ndim;
        if (!cursor_u32(&c, &name_len, "name length", NULL)) return 0;
        if (name_len == 0 || name_len > cursor_left(&c)) {
            vc_set_error("bad golden file %s: tensor %u at offset %zu has name length %u (%zu bytes left)", c.path,
                         t, record_at, name_len, cursor_left(&c));
            return 0;
        }
        char name[256];
        size_t shown = VC_MIN((size_t)name_len, sizeof name - 1);
        memcpy(name, c.bytes + c.pos, shown);
        name[shown] = '\0';
        if (memchr(c.bytes + c.pos, '\0', name_len)) {
            vc_set_error("bad golden file %s: name of tensor %u at offset %zu contains a NUL byte", c.path, t,
                         c.pos);
            return 0;
        }
        c.pos += name_len;
        if (!cursor_u32(&c, &ndim, "ndim", name)) return 0;
        if (ndim > VC_GOLDEN_MAX_DIMS) {
            vc_set_error("bad golden file %s: tensor %s has ndim %u (at most %u)", c.path, name, ndim,
                         VC_GOLDEN_MAX_DIMS);
            return 0;
        }
        size_t count = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            uint32_t dim;
            if (!cursor_u32(&c, &dim, "dims", name)) return 0;
            if (!vc_mul_size(count, dim, &count)) {
                vc_set_error("bad golden file %s: element count of tensor %s overflows", c.path, name);
                return 0;
            }
        }
        size_t nbytes;
        if (!vc_mul_size(count, 4, &nbytes) || nbytes > cursor_left(&c)) {
            vc_set_error("truncated golden file %s: tensor %s needs %zu floats at offset %zu, %zu bytes left", c.path,
                         name, count, c.pos, cursor_left(&c));
            return 0;
        }
        c.pos += nbytes;
        total += count;  // cannot overflow: bounded by the file length
    }
    if (cursor_left(&c) != 0) {
        vc_set_error("bad golden file %s: %zu trailing bytes after the last of %u tensors (offset %zu)", c.path,
                     cursor_left(&c), n_tensors, c.pos);
        return 0;
    }
    *total_floats = total;
    return 1;
}

static GoldenTensor *find_tensor(const VcGolden *g, const char *name) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

/* Second pass: copies names, dims and data out of a buffer scan_tensors accepted. */
static VcGolden *build_golden(Cursor c, uint32_t n_tensors, size_t total_floats) {
    VcGolden *g = vc_calloc(1, sizeof *g);
    g->tensors = vc_calloc(n_tensors, sizeof *g->tensors);
    g->pool = vc_malloc(total_floats * sizeof(float));
    float *next = g->pool;
    for (uint32_t t = 0; t < n_tensors; t++) {
        GoldenTensor *gt = &g->tensors[t];
        uint32_t name_len = load_u32_le(c.bytes + c.pos);
        c.pos += 4;
        gt->name = vc_malloc((size_t)name_len + 1);
        memcpy(gt->name, c.bytes + c.pos, name_len);
        gt->name[name_len] = '\0';
        c.pos += name_len;
        g->n_tensors = t + 1;  // so vc_golden_free releases what was built on failure
        if (find_tensor(g, gt->name) != gt) {
            vc_set_error("bad golden file %s: tensor name %s appears twice", c.path, gt->name);
            vc_golden_free(g);
            return NULL;
        }
        gt->ndim = load_u32_le(c.bytes + c.pos);
        c.pos += 4;
        gt->count = 1;
        for (uint32_t d = 0; d < gt->ndim; d++) {
            gt->dims[d] = load_u32_le(c.bytes + c.pos);
            c.pos += 4;
            gt->count *= gt->dims[d];
        }
        gt->data = next;
        for (size_t i = 0; i < gt->count; i++) {
            uint32_t bits = load_u32_le(c.bytes + c.pos);
            memcpy(&gt->data[i], &bits, sizeof bits);
            c.pos += 4;
        }
        next += gt->count;
    }
    return g;
}

/* Smallest tensor record: name length, a 1-byte name, ndim, then either one dim (of any
 * size, even 0) or, for a scalar, one float: 13 bytes. Bounds the count read from a file. */
#define MIN_RECORD_BYTES 13u

/* Checks the header and leaves the cursor at the first tensor record. */
static int read_header(Cursor *c, uint32_t *n_tensors) {
    uint32_t version;
    if (c->len < 4 || memcmp(c->bytes, VC_GOLDEN_MAGIC, 4) != 0) {
        vc_set_error("not a golden file: %s does not start with \"%s\" (%zu bytes long)", c->path, VC_GOLDEN_MAGIC,
                     c->len);
        return 0;
    }
    c->pos = 4;
    if (!cursor_u32(c, &version, "version", NULL)) return 0;
    if (version != VC_GOLDEN_VERSION) {
        vc_set_error("golden file %s has format version %u; this reader knows version %u", c->path, version,
                     VC_GOLDEN_VERSION);
        return 0;
    }
    if (!cursor_u32(c, n_tensors, "tensor count", NULL)) return 0;
    if (*n_tensors > cursor_left(c) / MIN_RECORD_BYTES) {
        vc_set_error("bad golden file %s: %u tensors cannot fit in the %zu bytes after the header", c->path,
                     *n_tensors, cursor_left(c));
        return 0;
    }
    return 1;
}

VcGolden *vc_golden_load(const char *path) {
    unsigned char *bytes;
    size_t len;
    if (!read_whole_file(path, &bytes, &len)) return NULL;
    Cursor c = {bytes, len, 0, path};
    VcGolden *g = NULL;
    uint32_t n_tensors;
    size_t total_floats;
    if (read_header(&c, &n_tensors) && scan_tensors(c, n_tensors, &total_floats))
        g = build_golden(c, n_tensors, total_floats);
    free(bytes);
    return g;
}

void vc_golden_free(VcGolden *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->tensors);
    free(g->pool);
    free(g);
}

size_t vc_golden_count(const VcGolden *g) { return g->n_tensors; }

const char *vc_golden_name(const VcGolden *g, size_t i) {
    VC_ASSERT(i < g->n_tensors);
    return g->tensors[i].name;
}

const float *vc_golden_get(const VcGolden *g, const char *name, size_t *count) {
    const GoldenTensor *t = find_tensor(g, name);
    if (!t) return NULL;
    if (count) *count = t->count;
    return t->data;
}

const uint32_t *vc_golden_dims(const VcGolden *g, const char *name, uint32_t *ndim) {
    const GoldenTensor *t = find_tensor(g, name);
    if (!t) return NULL;
    if (ndim) *ndim = t->ndim;
    return t->dims;
}

/* Writes "(a, b, c)" into buf. */
static void format_shape(char *buf, size_t size, uint32_t ndim, const uint32_t *dims) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (uint32_t d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %u" : "%u", dims[d]);
    if (used < size) snprintf(buf + used, size - used, ")");
}

const float *vc_golden_get_shaped(const VcGolden *g, const char *name, uint32_t ndim, const uint32_t *dims) {
    const GoldenTensor *t = find_tensor(g, name);
    if (!t) {
        vc_set_error("golden file has no tensor %s", name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (uint32_t d = 0; same && d < ndim; d++) same = t->dims[d] == dims[d];
    if (!same) {
        char have[128], want[128];
        format_shape(have, sizeof have, t->ndim, t->dims);
        format_shape(want, sizeof want, ndim, dims);
        vc_set_error("golden tensor %s: shape %s, expected %s", name, have, want);
        return NULL;
    }
    return t->data;
}

const float *vc_golden_need(const VcGolden *g, const char *name, size_t count) {
    size_t n = 0;
    const float *x = vc_golden_get(g, name, &n);
    if (!x || n != count) {
        fprintf(stderr, "FAIL golden tensor %s missing or has %zu elements (want %zu)\n", name, n, count);
        exit(1);
    }
    return x;
}
