/* checkpoint.h — a run's state as safetensors (DESIGN.md, Files): model tensors by their
 * contract names, optimizer state as optim.<param name>.<slot>, extra method state (MoCo
 * queue, memory bank) under its own names, and __metadata__ strings. Saved atomically
 * (temp file, fsync, rename) by the safetensors writer.
 */
#ifndef VC_IO_CHECKPOINT_H
#define VC_IO_CHECKPOINT_H

#include "io/safetensors.h"
#include "nn/model.h"

typedef struct VcCheckpointMeta {
    char method[32];
    VcModelKind model;
    int channels, image_size, out_dim;
    float mean[4], std[4];
    int epoch;       /* epochs completed */
    long step;       /* optimizer steps completed */
    uint64_t seed;
} VcCheckpointMeta;

/* A device buffer saved under a name (optimizer slots, queues, banks). */
typedef struct VcCheckpointExtra {
    char name[96];
    VcBuffer buf;
    size_t n;        /* floats */
} VcCheckpointExtra;

/* Optimizer slot names for the checkpoint: "momentum", or "exp_avg" / "exp_avg_sq". */
const char *vc_checkpoint_slot_name(VcOptimKind kind, int slot);

/* Save model weights, optimizer state arenas (nstate, laid out like the weight arena)
 * and extras. Returns VC_OK or a negative status with the reason set. */
int vc_checkpoint_save(const char *path, const VcModel *m, VcOptimKind kind, const VcBuffer *state, int nstate,
                       const VcCheckpointExtra *extra, int nextra, const VcCheckpointMeta *meta);

/* Read the metadata of an opened checkpoint (checks every field is present and sane). */
int vc_checkpoint_read_meta(const VcSafetensors *st, const char *path, VcCheckpointMeta *meta);
/* Create the model the checkpoint describes and load its tensors (names and shapes
 * checked). NULL + error on failure. */
VcModel *vc_checkpoint_load_model(const VcSafetensors *st, const char *path, VcContext *ctx, const VcCheckpointMeta *meta);
/* Load optimizer state and extras into existing buffers (for --resume). */
int vc_checkpoint_load_state(const VcSafetensors *st, const char *path, const VcModel *m, VcOptimKind kind,
                             const VcBuffer *state, int nstate, const VcCheckpointExtra *extra, int nextra);

#endif
