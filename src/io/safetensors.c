/* safetensors.c — safetensors writer (atomic save) and validating reader (see safetensors.h).
 *
 * The writer keeps little-endian copies of every tensor, so saving is a header built with
 * the JSON writer followed by plain write() calls into a temporary file that is renamed
 * into place only once it is complete and on disk. The reader reads the whole file, parses
 * the header into a JSON tree it keeps (tensor names and metadata point into it), checks
 * each entry with overflow-checked arithmetic, and keeps a name-sorted index for lookups.
 */
/* POSIX 2008 for open flags, fsync and ftruncate when the build does not ask for more */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/json.h"
#include "util.h"

static const struct {
    const char *name;
    size_t size;
} g_dtypes[VC_ST_DTYPE_COUNT] = {
    [VC_ST_BOOL] = {"BOOL", 1}, [VC_ST_U8] = {"U8", 1},   [VC_ST_I8] = {"I8", 1},
    [VC_ST_U16] = {"U16", 2},   [VC_ST_I16] = {"I16", 2}, [VC_ST_F16] = {"F16", 2},
    [VC_ST_BF16] = {"BF16", 2}, [VC_ST_U32] = {"U32", 4}, [VC_ST_I32] = {"I32", 4},
    [VC_ST_F32] = {"F32", 4},   [VC_ST_U64] = {"U64", 8}, [VC_ST_I64] = {"I64", 8},
    [VC_ST_F64] = {"F64", 8},   [VC_ST_F8_E4M3] = {"F8_E4M3", 1}, [VC_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *vc_st_dtype_name(VcStDtype dt) {
    VC_ASSERT((unsigned)dt < VC_ST_DTYPE_COUNT);
    return g_dtypes[dt].name;
}

size_t vc_st_dtype_size(VcStDtype dt) {
    VC_ASSERT((unsigned)dt < VC_ST_DTYPE_COUNT);
    return g_dtypes[dt].size;
}

static int dtype_from_name(const char *name, VcStDtype *out) {
    for (int i = 0; i < VC_ST_DTYPE_COUNT; i++) {
        if (strcmp(g_dtypes[i].name, name) == 0) {
            *out = (VcStDtype)i;
            return 1;
        }
    }
    return 0;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Reverse the bytes of each of the n elements of size esize (2, 4 or 8) in place. */
static void swap_bytes(unsigned char *p, size_t n, size_t esize) {
    if (esize < 2) return;
    for (size_t i = 0; i < n; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Product of the dimensions as a count of elements; 0 on a negative dimension or overflow. */
static int shape_numel(const int64_t *shape, int ndim, size_t *out) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > SIZE_MAX) return 0;
        if (!vc_mul_size(n, (size_t)shape[i], &n)) return 0;
    }
    *out = n;
    return 1;
}

/* "(32,1,3,3)"; "()" for a scalar. */
static const char *format_shape(char *buf, size_t size, const int64_t *shape, int ndim) {
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%" PRId64, i ? "," : "", shape[i]);
    if (k < size) snprintf(buf + k, size - k, ")");
    return buf;
}

/* ---------------------------------------------------------------------------------------
 * Writer
 */

typedef struct WriterTensor {
    char *name;
    VcStDtype dtype;
    int ndim;
    int64_t shape[VC_ST_MAX_DIMS];
    size_t nbytes;
    unsigned char *data; /* little-endian copy */
} WriterTensor;

struct VcSafetensorsWriter {
    WriterTensor *tensors;
    size_t count, cap;
    char **meta_keys, **meta_values;
    size_t meta_count, meta_cap;
};

VcSafetensorsWriter *vc_st_writer_new(void) { return vc_calloc(1, sizeof(VcSafetensorsWriter)); }

void vc_st_writer_free(VcSafetensorsWriter *w) {
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    for (size_t i = 0; i < w->meta_count; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->tensors);
    free(w->meta_keys);
    free(w->meta_values);
    free(w);
}

int vc_st_add(VcSafetensorsWriter *w, const char *name, VcStDtype dt, const int64_t *shape, int ndim, const void *data) {
    VC_ASSERT((unsigned)dt < VC_ST_DTYPE_COUNT);
    if (!name[0] || strcmp(name, "__metadata__") == 0) {
        vc_set_error("cannot add tensor '%s' to a safetensors file: that name is not allowed", name);
        return VC_ERR_ARG;
    }
    if (ndim < 0 || ndim > VC_ST_MAX_DIMS) {
        vc_set_error("cannot add tensor '%s': %d dimensions (at most %d)", name, ndim, VC_ST_MAX_DIMS);
        return VC_ERR_ARG;
    }
    size_t numel, nbytes;
    char sh[160];
    if (!shape_numel(shape, ndim, &numel) || !vc_mul_size(numel, g_dtypes[dt].size, &nbytes) ||
        nbytes > (uint64_t)INT64_MAX) {
        vc_set_error("cannot add tensor '%s': invalid shape %s", name, format_shape(sh, sizeof sh, shape, ndim));
        return VC_ERR_ARG;
    }
    for (size_t i = 0; i < w->count; i++) {
        if (strcmp(w->tensors[i].name, name) == 0) {
            vc_set_error("cannot add tensor '%s': a tensor of that name was already added", name);
            return VC_ERR_ARG;
        }
    }
    VC_ASSERT(data || nbytes == 0);
    if (w->count == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->tensors = vc_realloc(w->tensors, w->cap * sizeof *w->tensors);
    }
    WriterTensor *t = &w->tensors[w->count++];
    memset(t, 0, sizeof *t);
    t->name = vc_strdup(name);
    t->dtype = dt;
    t->ndim = ndim;
    if (ndim > 0) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->nbytes = nbytes;
    t->data = vc_malloc(nbytes);
    if (nbytes) memcpy(t->data, data, nbytes);
    if (!host_is_little_endian()) swap_bytes(t->data, numel, g_dtypes[dt].size);
    return VC_OK;
}

int vc_st_add_f32(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const float *data) {
    return vc_st_add(w, name, VC_ST_F32, shape, ndim, data);
}
int vc_st_add_i32(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const int32_t *data) {
    return vc_st_add(w, name, VC_ST_I32, shape, ndim, data);
}
int vc_st_add_i64(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const int64_t *data) {
    return vc_st_add(w, name, VC_ST_I64, shape, ndim, data);
}
int vc_st_add_u8(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const uint8_t *data) {
    return vc_st_add(w, name, VC_ST_U8, shape, ndim, data);
}

int vc_st_set_meta(VcSafetensorsWriter *w, const char *key, const char *value) {
    for (size_t i = 0; i < w->meta_count; i++) {
        if (strcmp(w->meta_keys[i], key) == 0) {
            free(w->meta_values[i]);
            w->meta_values[i] = vc_strdup(value);
            return VC_OK;
        }
    }
    if (w->meta_count == w->meta_cap) {
        w->meta_cap = w->meta_cap ? 2 * w->meta_cap : 16;
        w->meta_keys = vc_realloc(w->meta_keys, w->meta_cap * sizeof(char *));
        w->meta_values = vc_realloc(w->meta_values, w->meta_cap * sizeof(char *));
    }
    w->meta_keys[w->meta_count] = vc_strdup(key);
    w->meta_values[w->meta_count] = vc_strdup(value);
    w->meta_count++;
    return VC_OK;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. */
static char *build_header(const VcSafetensorsWriter *w, size_t *len) {
    VcJsonWriter j;
    vc_json_writer_init(&j, 0);
    vc_json_begin_object(&j);
    if (w->meta_count > 0) {
        vc_json_put_key(&j, "__metadata__");
        vc_json_begin_object(&j);
        for (size_t i = 0; i < w->meta_count; i++) vc_json_field_string(&j, w->meta_keys[i], w->meta_values[i]);
        vc_json_end_object(&j);
    }
    int64_t offset = 0;
    for (size_t i = 0; i < w->count; i++) {
        const WriterTensor *t = &w->tensors[i];
        vc_json_put_key(&j, t->name);
        vc_json_begin_object(&j);
        vc_json_field_string(&j, "dtype", g_dtypes[t->dtype].name);
        vc_json_put_key(&j, "shape");
        vc_json_begin_array(&j);
        for (int d = 0; d < t->ndim; d++) vc_json_put_int(&j, t->shape[d]);
        vc_json_end_array(&j);
        vc_json_put_key(&j, "data_offsets");
        vc_json_begin_array(&j);
        vc_json_put_int(&j, offset);
        VC_ASSERT((uint64_t)offset + t->nbytes <= (uint64_t)INT64_MAX);
        offset += (int64_t)t->nbytes;
        vc_json_put_int(&j, offset);
        vc_json_end_array(&j);
        vc_json_end_object(&j);
    }
    vc_json_end_object(&j);
    size_t n;
    char *text = vc_json_writer_take(&j, &n);
    vc_json_writer_free(&j);
    /* pad with spaces: still valid JSON, and the data section starts 8-aligned */
    size_t padded = VC_CEIL_DIV(n, 8) * 8;
    text = vc_realloc(text, padded + 1);
    memset(text + n, ' ', padded - n);
    text[padded] = '\0';
    *len = padded;
    return text;
}

/* write() all n bytes, retrying on EINTR and short writes; -1 with errno set on failure. */
static int write_all(int fd, const void *buf, size_t n) {
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync the directory holding path so that the rename itself is durable. Only a real I/O
 * error counts: file systems that cannot sync directories (EINVAL) are fine. */
static int sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = vc_strdup(".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        dir = vc_malloc(n + 1);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) rc = -1;
        int saved = errno;
        close(fd);
        errno = saved;
    }
    free(dir);
    return rc;
}

int vc_st_writer_save(const VcSafetensorsWriter *w, const char *path) {
    size_t hlen;
    char *header = build_header(w, &hlen);
    size_t tmp_size = strlen(path) + 32;
    char *tmp = vc_malloc(tmp_size);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());

    const char *stage = NULL; /* what failed, for the message; NULL: only strerror */
    int err = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int created = fd >= 0;
    if (fd < 0) {
        err = errno;
        goto fail;
    }
    unsigned char len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (write_all(fd, len_le, 8) != 0 || write_all(fd, header, hlen) != 0) {
        err = errno;
        goto fail;
    }
    for (size_t i = 0; i < w->count; i++) {
        if (write_all(fd, w->tensors[i].data, w->tensors[i].nbytes) != 0) {
            err = errno;
            goto fail;
        }
    }
    if (fsync(fd) != 0) {
        err = errno;
        goto fail;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        err = errno;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        err = errno;
        stage = "cannot move the finished temporary file into place";
        goto fail;
    }
    free(tmp);
    free(header);
    if (sync_parent_dir(path) != 0) {
        vc_set_error("checkpoint %s was written but its directory could not be synced to disk: %s", path,
                     strerror(errno));
        return VC_ERR_IO;
    }
    return VC_OK;

fail:
    if (fd >= 0) close(fd);
    if (created) unlink(tmp);
    if (stage)
        vc_set_error("cannot write checkpoint %s: %s: %s", path, stage, strerror(err));
    else
        vc_set_error("cannot write checkpoint %s: %s", path, strerror(err));
    free(tmp);
    free(header);
    return VC_ERR_IO;
}

/* ---------------------------------------------------------------------------------------
 * Reader
 */

struct VcSafetensors {
    char *path;
    unsigned char *file;
    size_t file_size;
    VcJson *header;             /* names and metadata point into it */
    VcStTensor *tensors;        /* header order */
    size_t count;
    const VcStTensor **by_name; /* sorted by name, for vc_st_get */
    void **copies;              /* per tensor: aligned / byte-swapped copy or NULL */
    const char **meta_keys, **meta_values;
    size_t meta_count;
};

void vc_st_close(VcSafetensors *st) {
    if (!st) return;
    if (st->copies)
        for (size_t i = 0; i < st->count; i++) free(st->copies[i]);
    free(st->copies);
    free(st->by_name);
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    vc_json_free(st->header);
    free(st->file);
    free(st->path);
    free(st);
}

/* Whole file into memory. */
static int read_whole_file(const char *path, unsigned char **out, size_t *out_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vc_set_error("cannot open checkpoint %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        vc_set_error("cannot read checkpoint %s: %s", path, strerror(errno));
        close(fd);
        return VC_ERR_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        vc_set_error("cannot read checkpoint %s: not a regular file", path);
        close(fd);
        return VC_ERR_IO;
    }
    if ((uintmax_t)sb.st_size > SIZE_MAX) {
        vc_set_error("cannot read checkpoint %s: file too large for this machine", path);
        close(fd);
        return VC_ERR_IO;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = vc_malloc(size);
    size_t got = 0;
    while (got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0)
                vc_set_error("cannot read checkpoint %s: file shrank while reading (%zu of %zu bytes)", path, got, size);
            else
                vc_set_error("cannot read checkpoint %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return VC_ERR_IO;
        }
        got += (size_t)k;
    }
    close(fd);
    *out = buf;
    *out_size = size;
    return VC_OK;
}

/* Read a JSON array of non-negative integers (at most max of them) into out. */
static int read_index_array(const VcJson *v, int64_t *out, size_t max, size_t *count) {
    if (!v || v->type != VC_JSON_ARRAY || v->u.array.count > max) return 0;
    for (size_t i = 0; i < v->u.array.count; i++) {
        int64_t x;
        if (vc_json_int64(&v->u.array.items[i], &x) != VC_OK || x < 0) return 0;
        out[i] = x;
    }
    *count = v->u.array.count;
    return 1;
}

/* Fill *t from one header entry, checking it against the data section. */
static int parse_entry(const char *path, const VcJsonMember *m, const unsigned char *data, size_t data_size,
                       VcStTensor *t) {
    const char *name = m->key;
    if (strlen(name) != m->key_len) {
        vc_set_error("%s: a tensor name in the header contains a NUL byte", path);
        return VC_ERR_FORMAT;
    }
    const VcJson *e = &m->value;
    if (e->type != VC_JSON_OBJECT) {
        vc_set_error("%s: tensor '%.200s': header entry is a JSON %s, expected an object with dtype, shape and "
                     "data_offsets", path, name, vc_json_type_name(e->type));
        return VC_ERR_FORMAT;
    }
    const char *dtype_name = vc_json_string(vc_json_get(e, "dtype"));
    if (!dtype_name) {
        vc_set_error("%s: tensor '%.200s': missing or non-string \"dtype\"", path, name);
        return VC_ERR_FORMAT;
    }
    VcStDtype dt;
    if (!dtype_from_name(dtype_name, &dt)) {
        vc_set_error("%s: tensor '%.200s': unknown dtype \"%.40s\"", path, name, dtype_name);
        return VC_ERR_FORMAT;
    }
    int64_t shape[VC_ST_MAX_DIMS];
    size_t ndim;
    const VcJson *js = vc_json_get(e, "shape");
    if (js && js->type == VC_JSON_ARRAY && js->u.array.count > VC_ST_MAX_DIMS) {
        vc_set_error("%s: tensor '%.200s': shape has %zu dimensions, at most %d are supported", path, name,
                     js->u.array.count, VC_ST_MAX_DIMS);
        return VC_ERR_FORMAT;
    }
    if (!read_index_array(js, shape, VC_ST_MAX_DIMS, &ndim)) {
        vc_set_error("%s: tensor '%.200s': \"shape\" must be an array of non-negative integers", path, name);
        return VC_ERR_FORMAT;
    }
    int64_t offs[2];
    size_t noffs;
    if (!read_index_array(vc_json_get(e, "data_offsets"), offs, 2, &noffs) || noffs != 2 || offs[0] > offs[1]) {
        vc_set_error("%s: tensor '%.200s': \"data_offsets\" must be [begin, end] with 0 <= begin <= end", path, name);
        return VC_ERR_FORMAT;
    }
    if ((uint64_t)offs[1] > data_size) {
        vc_set_error("%s: tensor '%.200s': data_offsets [%" PRId64 ", %" PRId64 "] reach past the end of the data "
                     "section (%zu bytes; is the file truncated?)", path, name, offs[0], offs[1], data_size);
        return VC_ERR_FORMAT;
    }
    char sh[160];
    size_t numel, nbytes;
    if (!shape_numel(shape, (int)ndim, &numel) || !vc_mul_size(numel, g_dtypes[dt].size, &nbytes)) {
        vc_set_error("%s: tensor '%.200s': shape %s is too large (its byte size overflows)", path, name,
                     format_shape(sh, sizeof sh, shape, (int)ndim));
        return VC_ERR_FORMAT;
    }
    size_t span = (size_t)(offs[1] - offs[0]);
    if (nbytes != span) {
        vc_set_error("%s: tensor '%.200s': shape %s of %s needs %zu bytes but data_offsets [%" PRId64 ", %" PRId64
                     "] span %zu", path, name, format_shape(sh, sizeof sh, shape, (int)ndim), dtype_name, nbytes,
                     offs[0], offs[1], span);
        return VC_ERR_FORMAT;
    }
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = dt;
    t->ndim = (int)ndim;
    memcpy(t->shape, shape, ndim * sizeof *shape);
    t->numel = numel;
    t->nbytes = nbytes;
    t->data = data + offs[0];
    return VC_OK;
}

static int cmp_tensor_ptr(const void *a, const void *b) {
    return strcmp((*(const VcStTensor *const *)a)->name, (*(const VcStTensor *const *)b)->name);
}

static int cmp_name_tensor(const void *key, const void *elem) {
    return strcmp((const char *)key, (*(const VcStTensor *const *)elem)->name);
}

/* Check the header and fill st->tensors / st->meta_*; st->file and st->path are set. */
static int parse_header(VcSafetensors *st) {
    const char *path = st->path;
    if (st->file_size < 8) {
        vc_set_error("%s: truncated safetensors file: %zu bytes, but the header length alone takes 8", path,
                     st->file_size);
        return VC_ERR_FORMAT;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st->file[i];
    size_t rest = st->file_size - 8;
    if (hlen > rest) {
        vc_set_error("%s: header length %" PRIu64 " is larger than the rest of the file (%zu bytes): truncated, or "
                     "not a safetensors file", path, hlen, rest);
        return VC_ERR_FORMAT;
    }
    VcJsonError jerr;
    st->header = vc_json_parse((const char *)st->file + 8, (size_t)hlen, &jerr);
    if (!st->header) {
        vc_set_error("%s: invalid JSON header at byte %zu of the file: %s", path, 8 + jerr.offset, jerr.message);
        return VC_ERR_FORMAT;
    }
    if (st->header->type != VC_JSON_OBJECT) {
        vc_set_error("%s: the header is a JSON %s, expected an object", path, vc_json_type_name(st->header->type));
        return VC_ERR_FORMAT;
    }
    const unsigned char *data = st->file + 8 + hlen;
    size_t data_size = rest - (size_t)hlen;
    const VcJsonMember *members = st->header->u.object.members;
    size_t nmem = st->header->u.object.count;

    st->tensors = vc_calloc(nmem, sizeof *st->tensors);
    const VcJson *meta = NULL;
    for (size_t i = 0; i < nmem; i++) {
        const VcJsonMember *m = &members[i];
        if (strcmp(m->key, "__metadata__") == 0) {
            if (meta) {
                vc_set_error("%s: \"__metadata__\" appears twice in the header", path);
                return VC_ERR_FORMAT;
            }
            meta = &m->value;
            continue;
        }
        if (parse_entry(path, m, data, data_size, &st->tensors[st->count]) != VC_OK) return VC_ERR_FORMAT;
        st->count++;
    }

    if (meta) {
        if (meta->type != VC_JSON_OBJECT) {
            vc_set_error("%s: \"__metadata__\" is a JSON %s, expected an object of strings", path,
                         vc_json_type_name(meta->type));
            return VC_ERR_FORMAT;
        }
        size_t n = meta->u.object.count;
        st->meta_keys = vc_calloc(n, sizeof(char *));
        st->meta_values = vc_calloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            const VcJsonMember *m = &meta->u.object.members[i];
            if (m->value.type != VC_JSON_STRING) {
                vc_set_error("%s: __metadata__ entry '%.200s' is a JSON %s, expected a string", path, m->key,
                             vc_json_type_name(m->value.type));
                return VC_ERR_FORMAT;
            }
            st->meta_keys[i] = m->key;
            st->meta_values[i] = m->value.u.string.ptr;
        }
        st->meta_count = n;
    }

    st->by_name = vc_calloc(st->count, sizeof *st->by_name);
    for (size_t i = 0; i < st->count; i++) st->by_name[i] = &st->tensors[i];
    if (st->count > 1) qsort(st->by_name, st->count, sizeof *st->by_name, cmp_tensor_ptr);
    for (size_t i = 1; i < st->count; i++) {
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0) {
            vc_set_error("%s: tensor '%.200s' appears twice in the header", path, st->by_name[i]->name);
            return VC_ERR_FORMAT;
        }
    }

    /* Data pointers must be aligned to the element size (tensors are packed back to back,
     * so an odd-sized U8 tensor shifts the ones after it), and in host byte order. */
    int little = host_is_little_endian();
    for (size_t i = 0; i < st->count; i++) {
        VcStTensor *t = &st->tensors[i];
        size_t esize = g_dtypes[t->dtype].size;
        if (t->nbytes == 0 || (little && (uintptr_t)t->data % esize == 0)) continue;
        if (!st->copies) st->copies = vc_calloc(st->count, sizeof(void *));
        unsigned char *copy = vc_malloc(t->nbytes);
        memcpy(copy, t->data, t->nbytes);
        if (!little) swap_bytes(copy, t->numel, esize);
        st->copies[i] = copy;
        t->data = copy;
    }
    return VC_OK;
}

VcSafetensors *vc_st_open(const char *path) {
    VcSafetensors *st = vc_calloc(1, sizeof *st);
    st->path = vc_strdup(path);
    if (read_whole_file(path, &st->file, &st->file_size) != VC_OK || parse_header(st) != VC_OK) {
        vc_st_close(st);
        return NULL;
    }
    return st;
}

const VcStTensor *vc_st_get(const VcSafetensors *st, const char *name) {
    const VcStTensor *const *hit =
        st->count ? bsearch(name, st->by_name, st->count, sizeof *st->by_name, cmp_name_tensor) : NULL;
    if (!hit) {
        vc_set_error("no tensor '%.200s' in %s", name, st->path);
        return NULL;
    }
    return *hit;
}

const float *vc_st_get_f32(const VcSafetensors *st, const char *name, const int64_t *shape, int ndim) {
    const VcStTensor *t = vc_st_get(st, name);
    if (!t) return NULL;
    int same = t->dtype == VC_ST_F32 && t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[160], got[160];
        vc_set_error("%s: tensor '%.200s' is %s %s, expected F32 %s", st->path, name, g_dtypes[t->dtype].name,
                     format_shape(got, sizeof got, t->shape, t->ndim), format_shape(want, sizeof want, shape, ndim));
        return NULL;
    }
    return t->data;
}

size_t vc_st_count(const VcSafetensors *st) { return st->count; }

const VcStTensor *vc_st_at(const VcSafetensors *st, size_t i) {
    VC_ASSERT(i < st->count);
    return &st->tensors[i];
}

const char *vc_st_meta(const VcSafetensors *st, const char *key) {
    for (size_t i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

size_t vc_st_meta_count(const VcSafetensors *st) { return st->meta_count; }

void vc_st_meta_at(const VcSafetensors *st, size_t i, const char **key, const char **value) {
    VC_ASSERT(i < st->meta_count);
    if (key) *key = st->meta_keys[i];
    if (value) *value = st->meta_values[i];
}
