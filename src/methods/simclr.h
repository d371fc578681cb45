/* simclr.h — the SimCLR step program (Chen et al. 2020): 2N views through encoder and
 * head, l2-normalized projections, NT-Xent, backward, optimizer update — recorded once.
 *
 * Views are laid out [view 1 of the N images; view 2 of the N images] so that rows i and
 * i + N are positives; one forward pass covers all 2N views (BatchNorm statistics over 2N).
 */
#ifndef VC_METHODS_SIMCLR_H
#define VC_METHODS_SIMCLR_H

#include "nn/model.h"
#include "ops/optim.h"

typedef struct VcSimclr VcSimclr;

/* N images per step (2N views), temperature T, optimizer. NULL + error on failure. */
VcSimclr *vc_simclr_new(VcModel *m, int N, float temperature, const VcOptimConfig *opt);
void vc_simclr_free(VcSimclr *s);
VcNet *vc_simclr_net(const VcSimclr *s);
/* Views (2N, C, H, W) the step reads. */
VcBuffer vc_simclr_input(const VcSimclr *s);
/* Loss of the last step (1 float, device) and the host-written hyper-parameters. */
VcBuffer vc_simclr_loss(const VcSimclr *s);
VcBuffer vc_simclr_hyper(const VcSimclr *s);
/* Optimizer state arenas (same layout as the model's weight arena), for checkpoints. */
int vc_simclr_optim_state(const VcSimclr *s, VcBuffer *state, int max);
/* Record: zero gradients, forward, loss, backward, and (when update) the optimizer step. */
void vc_simclr_record(VcSimclr *s, VcCmd *cmd, bool update);
/* Record only the optimizer step (for tests that check gradients first). */
void vc_simclr_record_update(VcSimclr *s, VcCmd *cmd);
/* Set the learning rate and step count read by the recorded update (before submitting). */
void vc_simclr_set_hyper(VcSimclr *s, float lr, int step);

#endif
