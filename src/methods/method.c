/* method.c — picks the method a run asked for (see method.h). */
#include "methods/method.h"

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
