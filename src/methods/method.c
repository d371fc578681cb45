/* method.c — picks the method a run asked for (see method.h). */
#include "methods/method.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

VcMethod *vc_method_new(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt, int n_data) {
    if (!strcmp(c->method, "simclr")) return vc_method_simclr(c, m, opt);
    if (!strcmp(c->method, "moco")) return vc_method_moco(c, m, opt);
    if (!strcmp(c->method, "membank")) return vc_method_membank(c, m, opt, n_data);
    if (!strcmp(c->method, "triplet")) return vc_method_triplet(c, m, opt);
    if (!strcmp(c->method, "block")) return vc_method_block(c, m, opt);
    vc_set_error("--method %s: not available (simclr, moco, membank, triplet or block)", c->method);
    return NULL;
}

void vc_method_free(VcMethod *me) {
    if (me) me->free(me);
}

static double rng_uniform(uint64_t *s) {
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

void vc_method_init_unit_rows(VcContext *ctx, VcBuffer rows, int n, int D, uint64_t seed) {
    float *b = vc_calloc((size_t)(n + 1) * D, sizeof(float));
    uint64_t s = seed;
    for (int r = 1; r <= n; r++) {
        float *row = b + (size_t)r * D;
        double ss = 0;
        for (int d = 0; d < D; d++) {
            double u1 = rng_uniform(&s), u2 = rng_uniform(&s);
            row[d] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
            ss += (double)row[d] * row[d];
        }
        double norm = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
        for (int d = 0; d < D; d++) row[d] = (float)(row[d] / norm);
    }
    vc_buffer_upload(ctx, rows, 0, b, (size_t)(n + 1) * D * sizeof(float));
    free(b);
}
