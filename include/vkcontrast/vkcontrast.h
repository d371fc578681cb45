/* vkcontrast.h — the umbrella header of libvkcontrast.
 *
 * vkcontrast trains contrastive self-supervised image models with GLSL compute shaders
 * dispatched through Vulkan. The library is layered; each layer's header carries its design:
 *
 *   vk/vk.h           device, memory (VcBuffer), pipelines, recorded commands (VcCmd)
 *   ops/<family>.h    one family of shaders each: gemm, conv, norm, loss, optim, ...
 *   nn/model.h        models as named tensors in one arena (VcModel), planned for a batch (VcNet)
 *   methods/simclr.h  a method's whole step recorded once (forward, loss, backward, update)
 *   methods/train.h   a run: data, augmentation, schedule, kNN monitor, checkpoints
 *
 * Worked example — train SimCLR on Fashion-MNIST for 5 epochs:
 *
 *     VcTrainConfig cfg;
 *     vc_train_defaults(&cfg);            // small-resnet, batch 256, SGD, T = 0.2
 *     cfg.epochs = 5;
 *     snprintf(cfg.out, sizeof cfg.out, "runs/demo");
 *     if (vc_train_run(&cfg) != VC_OK) fprintf(stderr, "%s\n", vc_last_error());
 *
 * Errors: functions return VC_OK (0) or a negative status and leave outputs untouched;
 * vc_last_error() says what went wrong and where.
 */
#ifndef VKCONTRAST_H
#define VKCONTRAST_H

#define VKCONTRAST_VERSION "0.1.0"

#include "methods/simclr.h"
#include "methods/train.h"
#include "nn/model.h"
#include "util.h"
#include "vk/vk.h"

#endif
