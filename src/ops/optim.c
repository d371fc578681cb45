/* optim.c — host side of the optimizer shaders (sgd.comp, lars_norms.comp, adamw.comp)
 * and of ema.comp.
 *
 * vc_optim_step turns a parameter list into a table of tiles (one workgroup each) and
 * records as few dispatches as the buffers allow: parameters are grouped while their
 * weights, gradients and state slots each lie in one VkBuffer and each role's covering
 * window fits the device's storage-buffer range; each group is one dispatch (two for
 * LARS). Separate vc_buffer_alloc allocations usually share a memory block, hence a
 * VkBuffer, so a whole model is normally one group. The table and the LARS partial
 * norms live in buffers owned by the recording (vc_cmd_buffer).
 */
#include "ops/optim.h"

#include <math.h>
#include <string.h>

#include "ops/op.h"
#include "ops/util_ops.h"

/* Mirrors VcOptimTile in shaders/optim_tiles.glsl (std430: two uvec4). */
typedef struct {
    uint32_t off[4]; /* element offsets in the windows: w, g, state0, state1 */
    uint32_t count, flags, first, ntiles;
} OptimTile;
_Static_assert(sizeof(OptimTile) == 32, "tile layout");
enum { TILE_NO_DECAY = 1 };

typedef struct {
    uint32_t tile_base, tile_end, hyper_off, nesterov, use_momentum;
    float momentum, weight_decay, trust_coef;
} SgdPush;
_Static_assert(sizeof(SgdPush) <= 128, "push constants");

typedef struct {
    uint32_t tile_base, tile_end;
    float weight_decay;
} LarsNormsPush;
_Static_assert(sizeof(LarsNormsPush) <= 128, "push constants");

typedef struct {
    uint32_t tile_base, tile_end, hyper_off;
    float beta1, beta2, eps, weight_decay;
    float ln_beta1, ln_beta2; /* for the bias corrections, see adamw.comp */
} AdamwPush;
_Static_assert(sizeof(AdamwPush) <= 128, "push constants");

typedef struct {
    uint32_t n, t_off, s_off, h_off;
} EmaPush;
_Static_assert(sizeof(EmaPush) <= 128, "push constants");

enum { MAX_ROLES = 4 };

/* One dispatch's worth of parameters: [first, last) of the list, the bound windows
 * (one per role: w, g, state0, state1) and the tiles [tile_base, tile_end). */
typedef struct {
    int first, last;
    VkBuffer buf[MAX_ROLES];
    VkDeviceSize lo[MAX_ROLES], hi[MAX_ROLES]; /* byte range covered in buf */
    uint32_t tile_base, tile_end;
} Group;

static size_t g_window_limit; /* test hook, 0 = device limit */

void vc_optim_set_window_limit(size_t bytes) { g_window_limit = bytes; }

int vc_optim_state_slots(VcOptimKind kind) { return kind == VC_OPTIM_ADAMW ? 2 : 1; }

/* ln(beta) for the shader's bias correction; beta = 0 gives a huge negative number
 * rather than -inf (1 - 0^t = 1 either way). */
static float ln_or_tiny(float beta) { return beta > 0 ? (float)log((double)beta) : -1e30f; }

static VcBuffer role_buffer(const VcParam *p, int role) {
    return role == 0 ? p->w : role == 1 ? p->g : p->state[role - 2];
}

static VkDeviceSize align_down(VkDeviceSize x) { return x & ~(VkDeviceSize)255; }

/* Can parameter p join group gr without a window exceeding `limit`? */
static bool fits(const Group *gr, const VcParam *p, int roles, VkDeviceSize limit) {
    for (int r = 0; r < roles; r++) {
        VcBuffer b = role_buffer(p, r);
        if (b.buf != gr->buf[r]) return false;
        VkDeviceSize lo = VC_MIN(gr->lo[r], b.offset), hi = VC_MAX(gr->hi[r], b.offset + p->n * 4);
        if (hi - align_down(lo) > limit) return false;
    }
    return true;
}

static void group_start(Group *gr, const VcParam *p, int index, int roles) {
    gr->first = index;
    gr->last = index + 1;
    for (int r = 0; r < roles; r++) {
        VcBuffer b = role_buffer(p, r);
        gr->buf[r] = b.buf;
        gr->lo[r] = b.offset;
        gr->hi[r] = b.offset + p->n * 4;
    }
}

static void group_add(Group *gr, const VcParam *p, int roles) {
    gr->last++;
    for (int r = 0; r < roles; r++) {
        VcBuffer b = role_buffer(p, r);
        gr->lo[r] = VC_MIN(gr->lo[r], b.offset);
        gr->hi[r] = VC_MAX(gr->hi[r], b.offset + p->n * 4);
    }
}

/* The window bound for role r of a group. */
static VcBuffer group_window(const Group *gr, int r) {
    VkDeviceSize base = align_down(gr->lo[r]);
    return (VcBuffer){.buf = gr->buf[r], .offset = base, .size = gr->hi[r] - base};
}

void vc_optim_step(VcCmd *cmd, const VcOptimConfig *cfg, const VcParam *params, int count, VcBuffer hyper) {
    if (count <= 0) return;
    vc_cmd_op_begin(cmd, "%d parameter tensors", count);
    VcContext *ctx = vc_cmd_context(cmd);
    const VcDeviceInfo *info = vc_context_info(ctx);
    bool cpu = vc_context_is_cpu(ctx);
    bool adam = cfg->kind == VC_OPTIM_ADAMW, lars = cfg->kind == VC_OPTIM_LARS;
    bool use_momentum = !adam && cfg->momentum != 0.0f;
    /* roles bound: w, g, then the state slots in use */
    int roles = adam ? 4 : use_momentum ? 3 : 2;
    /* Floats per tile and workgroup size: on a CPU device a workgroup is a loop on one
     * thread, so bigger tiles mean less per-group overhead; a GPU wants many groups. */
    uint32_t wg = VC_WG_1D, tile_floats = cpu ? 16384 : 2048;
    VkDeviceSize limit = info->max_storage_buffer_range;
    if (limit > UINT32_MAX) limit = UINT32_MAX; /* offsets in the table are 32-bit floats indices */
    if (g_window_limit && g_window_limit < limit) limit = g_window_limit;

    /* 1. groups and tile counts */
    Group *groups = vc_malloc(sizeof(Group) * (size_t)count);
    int ngroups = 0;
    size_t ntiles = 0;
    for (int i = 0; i < count; i++) {
        const VcParam *p = &params[i];
        VC_ASSERT(p->n > 0 && p->w.size >= p->n * 4 && p->g.size >= p->n * 4);
        for (int r = 0; r < roles; r++) {
            VcBuffer b = role_buffer(p, r);
            VC_ASSERT(b.buf != VK_NULL_HANDLE && b.size >= p->n * 4 && b.offset % 4 == 0);
            VC_ASSERT(p->n * 4 + 256 <= limit); /* a parameter must fit one window */
        }
        if (ngroups && fits(&groups[ngroups - 1], p, roles, limit)) group_add(&groups[ngroups - 1], p, roles);
        else group_start(&groups[ngroups++], p, i, roles);
        ntiles += VC_CEIL_DIV(p->n, tile_floats);
    }
    VC_ASSERT(ntiles <= UINT32_MAX / 2);

    /* 2. the tile table */
    OptimTile *tiles = vc_malloc(sizeof(OptimTile) * ntiles);
    uint32_t t = 0;
    for (int gi = 0; gi < ngroups; gi++) {
        Group *gr = &groups[gi];
        gr->tile_base = t;
        for (int i = gr->first; i < gr->last; i++) {
            const VcParam *p = &params[i];
            uint32_t first = t, nt = (uint32_t)VC_CEIL_DIV(p->n, tile_floats);
            for (uint32_t k = 0; k < nt; k++, t++) {
                size_t start = (size_t)k * tile_floats;
                OptimTile *tl = &tiles[t];
                memset(tl, 0, sizeof *tl);
                for (int r = 0; r < roles; r++)
                    tl->off[r] = (uint32_t)((role_buffer(p, r).offset - align_down(gr->lo[r])) / 4 + start);
                tl->count = (uint32_t)VC_MIN((size_t)tile_floats, p->n - start);
                tl->flags = p->no_decay ? TILE_NO_DECAY : 0;
                tl->first = first;
                tl->ntiles = nt;
            }
        }
        gr->tile_end = t;
    }
    VcBuffer table, partials = {0};
    VC_ASSERT(vc_cmd_buffer(cmd, sizeof(OptimTile) * ntiles, tiles, "optimizer tile table", &table) == VC_OK);
    if (lars) VC_ASSERT(vc_cmd_buffer(cmd, 8 * ntiles, NULL, "LARS partial norms", &partials) == VC_OK);
    free(tiles);

    VC_ASSERT(hyper.size >= 3 * sizeof(float));
    uint32_t hyper_off;
    VcBuffer hyper_win = vc_window(hyper, 0, VC_MIN(hyper.size / 4, (size_t)VC_HYPER_COUNT), &hyper_off);

    /* 3. the dispatches */
    for (int gi = 0; gi < ngroups; gi++) {
        const Group *gr = &groups[gi];
        uint32_t n_t = gr->tile_end - gr->tile_base, gx, gy;
        vc_grid_1d(n_t, 1, &gx, &gy);
        size_t floats = 0;
        for (int i = gr->first; i < gr->last; i++) floats += params[i].n;
        double nf = (double)floats;
        VcBuffer win[MAX_ROLES];
        for (int r = 0; r < roles; r++) win[r] = group_window(gr, r);
        if (!use_momentum && !adam) win[2] = win[0]; /* bound but never read */
        if (adam) {
            AdamwPush pc = {gr->tile_base, gr->tile_end, hyper_off, cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay,
                            ln_or_tiny(cfg->beta1), ln_or_tiny(cfg->beta2)};
            VcPipelineDesc d = {.shader = "adamw", .bindings = "ssssss", .push_size = sizeof pc, .spec = {wg}, .spec_count = 1};
            VcBuffer bufs[6] = {win[0], win[1], win[2], win[3], hyper_win, table};
            vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 6, &pc, gx, gy, 1, "adamw", 14 * nf, 28 * nf);
            continue;
        }
        if (lars) {
            LarsNormsPush pn = {gr->tile_base, gr->tile_end, cfg->weight_decay};
            VcPipelineDesc d = {.shader = "lars_norms", .bindings = "ssss", .push_size = sizeof pn, .spec = {wg}, .spec_count = 1};
            VcBuffer bufs[4] = {win[0], win[1], table, partials};
            vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 4, &pn, gx, gy, 1, "lars_norms", 5 * nf, 8 * nf);
        }
        SgdPush pc = {gr->tile_base, gr->tile_end, hyper_off, cfg->nesterov ? 1u : 0u, use_momentum ? 1u : 0u,
                      cfg->momentum, cfg->weight_decay, cfg->trust_coef};
        VcPipelineDesc d = {.shader = lars ? "lars" : "sgd", .bindings = lars ? "ssssss" : "sssss", .push_size = sizeof pc,
                            .spec = {wg}, .spec_count = 1};
        VcBuffer bufs[6] = {win[0], win[1], win[2], hyper_win, table, partials};
        vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, lars ? 6 : 5, &pc, gx, gy, 1, lars ? "lars" : "sgd",
                    (use_momentum ? 6 : 3) * nf, (use_momentum ? 20 : 12) * nf);
    }
    free(groups);
    vc_cmd_op_end(cmd);
}

void vc_ema(VcCmd *cmd, size_t n, VcBuffer target, VcBuffer source, VcBuffer hyper) {
    if (n == 0) return;
    vc_cmd_op_begin(cmd, "n %zu", n);
    VC_ASSERT(target.size >= n * 4 && source.size >= n * 4 && hyper.size >= 3 * sizeof(float));
    VcContext *ctx = vc_cmd_context(cmd);
    VcPipeline *p = vc_pipeline_1d(ctx, "ema", "sss", sizeof(EmaPush));
    /* chunks that fit the storage-buffer range (a window starts up to 252 bytes early) */
    size_t chunk = (size_t)VC_MIN(vc_context_info(ctx)->max_storage_buffer_range, (uint64_t)UINT32_MAX) / 4 - 64;
    chunk = chunk / 1024 * 1024;
    for (size_t first = 0; first < n; first += chunk) {
        size_t len = VC_MIN(chunk, n - first);
        EmaPush pc = {(uint32_t)len, 0, 0, 0};
        VcBuffer bufs[3] = {vc_window(target, first, len, &pc.t_off), vc_window(source, first, len, &pc.s_off),
                            vc_window(hyper, 0, 3, &pc.h_off)};
        vc_dispatch_1d(cmd, p, bufs, 3, &pc, len, "ema", 3.0 * (double)len, 12.0 * (double)len);
    }
    vc_cmd_op_end(cmd);
}
