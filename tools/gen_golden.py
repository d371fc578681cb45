#!/usr/bin/python3
"""gen_golden.py -- writes the PyTorch golden file for one SimCLR step on small-resnet.

The C/Vulkan implementation is checked against this file (tests/golden/): the same
weights, the same input batch, and PyTorch's answers for the forward pass, the NT-Xent
loss, every gradient, the weights after one SGD step and the losses of four steps.
PyTorch's init RNG cannot be reproduced in C, so the initial weights travel in the file.

Run with Debian's torch (python3-torch, CPU, 1.13), from the repository root:

    /usr/bin/python3 tools/gen_golden.py [--out tests/golden/simclr_small_resnet.bin]
    /usr/bin/python3 tools/gen_golden.py --moco [--out tests/golden/moco_small_resnet.bin]
    /usr/bin/python3 tools/gen_golden.py --membank [--out tests/golden/membank_small_resnet.bin]
    /usr/bin/python3 tools/gen_golden.py --margin [--out tests/golden/margin_small_resnet.bin]
    (MoCo: see the section "MoCo" below)

What is computed
  model   small-resnet + projection head exactly as DESIGN.md's table, C_in = 1, 28x28,
          torch.manual_seed(0) and PyTorch's default init.
  input   the first N = 8 Fashion-MNIST training images, (x/255 - 0.2860) / 0.3530.
          view 1 = the images; view 2 = the images flipped left-right plus Gaussian noise
          (std 0.1, generator seeded with 1, added after normalization).
          X (2N, 1, 28, 28) = [view 1 of the 8; view 2 of the 8].
  forward one pass over all 2N images in train mode (BatchNorm uses the batch statistics
          of the 16 images and updates its running statistics once).
  loss    z = l2-normalize(head(h)); S = z z^T / T with T = 0.2 and the diagonal set to
          -inf; cross-entropy of row i against target (i + N) mod 2N; mean over 2N rows.
  step    torch.optim.SGD(lr 0.1, momentum 0.9, weight_decay 5e-4, nesterov False) over
          all parameters; then 3 more steps on the same X, recording each loss.

Binary format, version 1 (all little-endian)
  magic   4 bytes "VCGD"
  u32     version = 1
  u32     tensor count
  per tensor:
    u32   name length in bytes, then the name (ASCII, no NUL)
    u32   ndim, then u32 dims[ndim]
    f32   data[prod(dims)], row-major (PyTorch's contiguous layout)

Tensors, in file order
  meta            [6]   N, C, H, W, temperature, lr
  hyper           [3]   momentum, weight_decay, nesterov (0/1)
  input           [2N, 1, 28, 28]
  w.<name>              every state_dict entry before the step (parameters and BN running
                        statistics, num_batches_tracked dropped), state_dict order
  h               [2N, 128]   representation after global average pooling
  z               [2N, 64]    l2-normalized projections
  loss            [1]
  g.<name>              gradient of every parameter (named_parameters order)
  w1.<name>             every state_dict entry after the first SGD step (the running
                        statistics are the ones updated by the first forward)
  losses          [4]   loss before step 0, 1, 2, 3 (losses[0] == loss)
  act.stem, act.blocks.0, act.blocks.1, act.blocks.2
                        activations after the stem ReLU and after each block's final ReLU,
                        for the first ACT_IMAGES images of the batch only (to keep the file
                        small): a row-major prefix of the full (2N, C, H, W) tensor

Tolerances a C implementation should meet (fp32 on a GPU vs fp32 CPU torch)
  loss and losses[0]        absolute error <= 1e-4
  h, z, activations         normalized MSE <= 1e-6
  gradients g.*             normalized MSE ~1e-6 .. 1e-5 (deeper layers and BN weights
                            accumulate more rounding; 1e-5 is the bound to enforce)
  weights after step w1.*   normalized MSE <= 1e-6 against w1 (the step is tiny relative
                            to the weights), running statistics <= 1e-6
  losses[1..3]              absolute error <= 1e-3 (errors compound over steps)
normalized MSE = sum((got - ref)^2) / sum(ref^2), as in tests/harness.h.
"""

import argparse
import gzip
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = b"VCGD"
VERSION = 1

FASHION_MNIST_TRAIN = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
N_IMAGES = 8           # N: images per view; the batch holds 2N = 16 views
INPUT_MEAN = 0.2860
INPUT_STD = 0.3530
NOISE_STD = 0.1
NOISE_SEED = 1
MODEL_SEED = 0
TEMPERATURE = 0.2
LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
NESTEROV = False
N_STEPS = 4            # losses recorded: before step 0, 1, 2, 3
ACT_IMAGES = 2         # activations are stored for this many leading images of the batch
PROJ_DIM = 64


# ---------------------------------------------------------------------------------------
# Model: small-resnet + projection head. Module names give DESIGN.md's contract names.

class ConvBN(nn.Module):
    """conv (no bias) + BatchNorm2d; used for the stem and for projection shortcuts."""

    def __init__(self, c_in, c_out, kernel, stride):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """conv3x3(stride) bn relu conv3x3 bn, plus shortcut, then relu."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        # Projection shortcut only where the shape changes; else identity (no module,
        # so no parameter names appear for it).
        if stride != 1 or c_in != c_out:
            self.shortcut = ConvBN(c_in, c_out, 1, stride)
        else:
            self.shortcut = None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + skip)


class ProjectionHead(nn.Module):
    """fc1 (128->128, bias) BatchNorm1d ReLU fc2 (128->out_dim, bias)."""

    def __init__(self, dim, out_dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.fc2 = nn.Linear(dim, out_dim)

    def forward(self, h):
        return self.fc2(F.relu(self.bn(self.fc1(h))))


class LinearHead(nn.Module):
    """MoCo v1's head: one linear layer, head.fc (dim -> out_dim, bias), as vc_model_new_head
    with linear_head."""

    def __init__(self, dim, out_dim):
        super().__init__()
        self.fc = nn.Linear(dim, out_dim)

    def forward(self, h):
        return self.fc(h)


class SmallResNet(nn.Module):
    BLOCKS = [(32, 32, 1), (32, 64, 2), (64, 128, 2)]  # (C_in, C_out, stride)

    def __init__(self, channels, out_dim):
        super().__init__()
        self.stem = ConvBN(channels, 32, 3, 1)
        self.blocks = nn.ModuleList([BasicBlock(ci, co, s) for ci, co, s in self.BLOCKS])
        self.head = ProjectionHead(128, out_dim)

    def forward(self, x, acts=None):
        """Returns (h, projection before normalization); fills acts when given a dict."""
        x = F.relu(self.stem(x))
        if acts is not None:
            acts["act.stem"] = x
        for i, block in enumerate(self.blocks):
            x = block(x)
            if acts is not None:
                acts["act.blocks.%d" % i] = x
        h = x.mean(dim=(2, 3))  # global average pool -> (B, 128)
        return h, self.head(h)


# ---------------------------------------------------------------------------------------
# Data

def read_idx_images(path, count):
    """First `count` images of an IDX3 uint8 file (gzip), as a float tensor (count, 28, 28)."""
    with gzip.open(path, "rb") as f:
        header = f.read(16)
        if len(header) != 16:
            sys.exit("%s: truncated IDX header: %d of 16 bytes" % (path, len(header)))
        magic, n, rows, cols = struct.unpack(">IIII", header)
        if magic != 0x00000803:
            sys.exit("%s: not an IDX3 uint8 file (magic 0x%08x, expected 0x00000803)" % (path, magic))
        if n < count:
            sys.exit("%s: holds %d images, need %d" % (path, n, count))
        nbytes = count * rows * cols
        pixels = f.read(nbytes)
        if len(pixels) != nbytes:
            sys.exit("%s: truncated image data: %d of %d bytes" % (path, len(pixels), nbytes))
    data = torch.tensor(list(pixels), dtype=torch.float32)
    return data.view(count, rows, cols)


def make_views(images):
    """X (2N, 1, H, W) = [normalized images; flipped normalized images + noise]."""
    view1 = ((images / 255.0 - INPUT_MEAN) / INPUT_STD).unsqueeze(1)
    gen = torch.Generator().manual_seed(NOISE_SEED)
    noise = torch.randn(view1.shape, generator=gen, dtype=torch.float32) * NOISE_STD
    view2 = torch.flip(view1, dims=[3]) + noise
    return torch.cat([view1, view2], dim=0).contiguous()


# ---------------------------------------------------------------------------------------
# Loss

def nt_xent(z, temperature):
    """SimCLR NT-Xent on normalized z (2N, d): row i's positive is row (i + N) mod 2N."""
    two_n = z.shape[0]
    n = two_n // 2
    sim = z @ z.t() / temperature
    self_mask = torch.eye(two_n, dtype=torch.bool)
    sim = sim.masked_fill(self_mask, float("-inf"))
    targets = (torch.arange(two_n) + n) % two_n
    return F.cross_entropy(sim, targets)


# ---------------------------------------------------------------------------------------
# Writer

def state_entries(model):
    """(name, tensor) for every state_dict entry except BN's num_batches_tracked."""
    return [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


class GoldenWriter:
    def __init__(self):
        self.tensors = []  # (name, float32 contiguous tensor)

    def add(self, name, tensor):
        t = torch.as_tensor(tensor).detach().to(torch.float32).contiguous().clone()
        if any(name == existing for existing, _ in self.tensors):
            raise ValueError("duplicate tensor name " + name)
        self.tensors.append((name, t))

    def write(self, path):
        parts = [MAGIC, struct.pack("<II", VERSION, len(self.tensors))]
        for name, t in self.tensors:
            name_bytes = name.encode("ascii")
            dims = list(t.shape)
            parts.append(struct.pack("<I", len(name_bytes)))
            parts.append(name_bytes)
            parts.append(struct.pack("<I%dI" % len(dims), len(dims), *dims))
            parts.append(t.numpy().astype("<f4").tobytes())
        blob = b"".join(parts)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return len(blob)


# ---------------------------------------------------------------------------------------
# MoCo (--moco): two steps of MoCo v2 on the same model and views, written to
# tests/golden/moco_small_resnet.bin (read by tests/test_moco_golden.c).
#
#   query encoder = the SimCLR model above (same seed), key encoder = a copy of it.
#   per step (as the MoCo paper's Algorithm 1 and the MoCo CIFAR demo):
#     key <- m key + (1 - m) query over parameters AND BatchNorm running statistics
#     q = normalize(query(view 1))           BatchNorm per contiguous group of N/G images
#     k = normalize(key(view 2 shuffled)), unshuffled; the shuffle puts image r + i G at
#         row r N/G + i, so key group r holds images r, r + G, r + 2G, ... (vkcontrast's
#         interleaved groups, with no copy)
#     logits = [q . k, q queue^T] / T, cross-entropy with label 0; SGD step
#     enqueue k at ptr, ptr = (ptr + N) mod K: K = 12 is no multiple of N = 8, so the
#         second step wraps (rows 8..11 then 0..3)
#   Grouped BatchNorm: each group is normalized by F.batch_norm with its own copy of the
#   running statistics; the module's running statistics become the mean of the copies
#   (the demo's SplitBatchNorm).
#
# Tensors: moco_meta [8] N, C, H, W, T, lr, m, G; moco_hyper [3] momentum, weight_decay,
#   nesterov; input [2N,1,28,28] = [view 1; view 2]; w.<name> (initial weights, both
#   encoders); queue0 [K, D] (random unit rows); loss [1]; q, k [N, D] of step 1;
#   g.<name> (every gradient of step 1); rs1.<name> (query running statistics after step
#   1); queue1, queue2 [K, D]; losses [2]; kw2.<name> (key encoder after step 2's EMA and
#   its forward: every BatchNorm tensor, stem.conv.weight and the head's linear layers);
#   sym.* one symmetric step (see moco_symmetric): sym.queue0/queue1 [20, D], sym.loss,
#   sym.q, sym.k [2N, D], sym.g.<a few parameters>, sym.rs1.<running statistics>.

MOCO_K = 12
MOCO_T = 0.2
MOCO_M = 0.99
MOCO_G = 2
MOCO_SEED = 3


def set_bn_groups(model, groups):
    """BatchNorm layers of `model` normalize per contiguous group of batch / groups samples."""
    for mod in model.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.vc_groups = groups
            if not hasattr(mod, "vc_plain_forward"):
                mod.vc_plain_forward = mod.forward
                mod.forward = grouped_bn_forward.__get__(mod)


def grouped_bn_forward(self, x):
    if not self.training or self.vc_groups == 1:
        return self.vc_plain_forward(x)
    outs, means, variances = [], [], []
    for chunk in x.chunk(self.vc_groups, dim=0):
        rm, rv = self.running_mean.clone(), self.running_var.clone()
        outs.append(F.batch_norm(chunk, rm, rv, self.weight, self.bias, True, self.momentum, self.eps))
        means.append(rm)
        variances.append(rv)
    with torch.no_grad():
        self.running_mean.copy_(torch.stack(means).mean(0))
        self.running_var.copy_(torch.stack(variances).mean(0))
    return torch.cat(outs, dim=0)


def momentum_update(key, query, m):
    with torch.no_grad():
        for (_, tk), (_, tq) in zip(state_entries(key), state_entries(query)):
            tk.mul_(m).add_(tq, alpha=1.0 - m)


def moco_step(query, key, optimizer, x, queue, ptr, n):
    """One MoCo step; returns loss, q, k and the new queue pointer (queue updated in place)."""
    optimizer.zero_grad()
    momentum_update(key, query, MOCO_M)
    _, zq = query(x[:n])
    q = F.normalize(zq, dim=1)
    bg = n // MOCO_G
    idx = torch.tensor([(j % bg) * MOCO_G + j // bg for j in range(n)])  # row r*bg + i <- image r + i*G
    with torch.no_grad():
        _, zk = key(x[n:][idx])
        k = torch.empty_like(zk)
        k[idx] = F.normalize(zk, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / MOCO_T
    loss = F.cross_entropy(logits, torch.zeros(n, dtype=torch.long))
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        for j in range(n):
            queue[(ptr + j) % MOCO_K] = k[j]
    return loss, q.detach(), k, (ptr + n) % MOCO_K


MOCO_SYM_K = 20
SYM_GRADS = ["stem.conv.weight", "stem.bn.weight", "blocks.0.bn1.bias", "head.fc1.weight", "head.bn.weight",
             "head.fc2.weight", "head.fc2.bias"]


def moco_symmetric(out, args):
    """One symmetric step (sym.* tensors): both views through both encoders in one pass each.

    Query and key see X = [view 1; view 2] (2N rows) with BatchNorm per group of N/G rows
    within each view (2G groups, running statistics updated once); the key batch is
    shuffled within each view as in moco_step. Query row i's positive is key row
    (i + N) mod 2N; the loss is the mean over the 2N rows, i.e. the mean of the two
    directions (the MoCo demo sums them); all 2N keys are enqueued (K = 20)."""
    import copy
    torch.manual_seed(MODEL_SEED)
    query = SmallResNet(channels=1, out_dim=PROJ_DIM)
    key = copy.deepcopy(query)
    set_bn_groups(query, 2 * MOCO_G)
    set_bn_groups(key, 2 * MOCO_G)
    query.train()
    key.train()
    x = make_views(read_idx_images(args.data, N_IMAGES))
    n = N_IMAGES
    gen = torch.Generator().manual_seed(MOCO_SEED + 1)
    queue = F.normalize(torch.randn(MOCO_SYM_K, PROJ_DIM, generator=gen), dim=1)
    out.add("sym.queue0", queue)
    optimizer = torch.optim.SGD(query.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                                nesterov=NESTEROV)
    optimizer.zero_grad()
    momentum_update(key, query, MOCO_M)
    _, zq = query(x)
    q = F.normalize(zq, dim=1)
    bg = n // MOCO_G
    idx = torch.tensor([v * n + (j % bg) * MOCO_G + j // bg for v in range(2) for j in range(n)])
    with torch.no_grad():
        _, zk = key(x[idx])
        k = torch.empty_like(zk)
        k[idx] = F.normalize(zk, dim=1)
    k_pos = torch.cat([k[n:], k[:n]], dim=0)
    logits = torch.cat([(q * k_pos).sum(1, keepdim=True), q @ queue.t()], dim=1) / MOCO_T
    loss = F.cross_entropy(logits, torch.zeros(2 * n, dtype=torch.long))
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        queue[: 2 * n] = k
    out.add("sym.loss", loss.reshape(1))
    out.add("sym.q", q)
    out.add("sym.k", k)
    for name, param in query.named_parameters():
        if name in SYM_GRADS:
            out.add("sym.g." + name, param.grad)
    for name, t in state_entries(query):
        if "running" in name:
            out.add("sym.rs1." + name, t)
    out.add("sym.queue1", queue)
    print("moco symmetric loss %.7f" % loss.item())


def main_moco(args):
    import copy
    torch.set_num_threads(1)
    torch.manual_seed(MODEL_SEED)
    query = SmallResNet(channels=1, out_dim=PROJ_DIM)
    key = copy.deepcopy(query)
    set_bn_groups(query, MOCO_G)
    set_bn_groups(key, MOCO_G)
    query.train()
    key.train()
    images = read_idx_images(args.data, N_IMAGES)
    x = make_views(images)
    _, c, hgt, wid = x.shape
    gen = torch.Generator().manual_seed(MOCO_SEED)
    queue = F.normalize(torch.randn(MOCO_K, PROJ_DIM, generator=gen), dim=1)

    out = GoldenWriter()
    out.add("moco_meta", [N_IMAGES, c, hgt, wid, MOCO_T, LR, MOCO_M, MOCO_G])
    out.add("moco_hyper", [MOMENTUM, WEIGHT_DECAY, 1.0 if NESTEROV else 0.0])
    out.add("input", x)
    for name, t in state_entries(query):
        out.add("w." + name, t)
    out.add("queue0", queue)
    optimizer = torch.optim.SGD(query.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                                nesterov=NESTEROV)
    loss, q, k, ptr = moco_step(query, key, optimizer, x, queue, 0, N_IMAGES)
    out.add("loss", loss.reshape(1))
    out.add("q", q)
    out.add("k", k)
    for name, param in query.named_parameters():
        out.add("g." + name, param.grad)
    for name, t in state_entries(query):
        if "running" in name:
            out.add("rs1." + name, t)
    out.add("queue1", queue)
    loss2, _, _, ptr = moco_step(query, key, optimizer, x, queue, ptr, N_IMAGES)
    out.add("queue2", queue)
    out.add("losses", [loss.item(), loss2.item()])
    for name, t in state_entries(key):
        if ".bn" in name or "shortcut.bn" in name or name == "stem.conv.weight" or name.startswith("head.fc"):
            out.add("kw2." + name, t)
    moco_symmetric(out, args)
    size = out.write(args.out)
    print("moco losses %.7f, %.7f" % (loss.item(), loss2.item()))
    print("wrote  %s: %d tensors, %d bytes (%.2f MiB)" % (args.out, len(out.tensors), size, size / 2**20))


# ---------------------------------------------------------------------------------------
# Memory bank (--membank): instance discrimination (Wu et al. 2018) with a bank of n = 20
# unit vectors, written to tests/golden/membank_small_resnet.bin (tests/test_membank.c).
#
#   model   the SimCLR model above (same seed); input = view 1 of the 8 images (one view
#           per image), standing for the bank entries perm[first + i] of the step
#   step    f = normalize(model(x)); pos = bank[idx]; K = 6 negatives
#           neg_j = mix(mix(mix(seed ^ 0x6d656d62) ^ step) + j) mod n (vkcontrast's hash);
#           logits = [f . pos, f bank[neg]^T] / T (T = 0.07), a negative equal to the
#           row's own entry set to -1e30; cross-entropy with label 0; SGD step;
#           bank[idx] = normalize(m pos + (1 - m) f), m = 0.5
#   two steps (first = 4, then 12; steps 0 and 1), then one step with every entry as a
#   negative from the initial state (all.*: the own entry is masked, so it counts once)
#
# Tensors: mb_meta [10] N, C, H, W, T, lr, m, K, seed, masked (own entries among the
#   step-0 negatives); mb_hyper [3]; mb_first [2]; input [N,1,28,28]; w.<name>; perm [n];
#   bank0 [n, D]; loss [1]; f [N, D]; g.<a few parameters>; bank1 [n, D]; losses [2];
#   bank2 [n, D]; all.loss [1]; all.g.<the same parameters>; all.bank1 [n, D].

MB_N_BANK = 20
MB_K = 6
MB_T = 0.07
MB_M = 0.5
MB_SEED = 5
MB_FIRST = [4, 12]
MB_GRADS = ["stem.conv.weight", "stem.bn.weight", "blocks.2.bn2.weight", "head.fc1.weight", "head.bn.bias",
            "head.fc2.weight", "head.fc2.bias"]
U32 = 0xFFFFFFFF


def mix32(x):
    x ^= x >> 16
    x = (x * 0x7FEB352D) & U32
    x ^= x >> 15
    x = (x * 0x846CA68B) & U32
    x ^= x >> 16
    return x


def membank_negatives(seed, step, k, n):
    base = mix32(mix32(seed ^ 0x6D656D62) ^ step)
    return [mix32((base + j) & U32) % n for j in range(k)]


def membank_step(model, optimizer, x, bank, idx, neg):
    """One step; neg None = every bank entry. Returns loss, f, number of masked logits."""
    optimizer.zero_grad()
    _, z = model(x)
    f = F.normalize(z, dim=1)
    pos = bank[idx].clone()
    negs = bank if neg is None else bank[neg]
    neg_ids = torch.arange(bank.shape[0]) if neg is None else torch.tensor(neg)
    own = neg_ids.unsqueeze(0) == torch.tensor(idx).unsqueeze(1)
    logits = torch.cat([(f * pos).sum(1, keepdim=True), (f @ negs.t()).masked_fill(own, -1e30)], dim=1) / MB_T
    loss = F.cross_entropy(logits, torch.zeros(len(idx), dtype=torch.long))
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        bank[idx] = F.normalize(MB_M * pos + (1 - MB_M) * f, dim=1)
    return loss, f.detach(), int(own.sum())


def main_membank(args):
    torch.set_num_threads(1)
    x = make_views(read_idx_images(args.data, N_IMAGES))[:N_IMAGES].contiguous()
    _, c, hgt, wid = x.shape
    gen = torch.Generator().manual_seed(MB_SEED)
    perm = torch.randperm(MB_N_BANK, generator=gen).tolist()
    bank0 = F.normalize(torch.randn(MB_N_BANK, PROJ_DIM, generator=gen), dim=1)
    out = GoldenWriter()
    results = {}
    for mode in ["sampled", "all"]:
        torch.manual_seed(MODEL_SEED)
        model = SmallResNet(channels=1, out_dim=PROJ_DIM)
        model.train()
        if mode == "sampled":
            out.add("input", x)
            for name, t in state_entries(model):
                out.add("w." + name, t)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                                    nesterov=NESTEROV)
        bank = bank0.clone()
        steps = 2 if mode == "sampled" else 1
        for step in range(steps):
            first = MB_FIRST[step]
            idx = perm[first:first + N_IMAGES]
            neg = membank_negatives(MB_SEED, step, MB_K, MB_N_BANK) if mode == "sampled" else None
            loss, f, masked = membank_step(model, optimizer, x, bank, idx, neg)
            prefix = "" if mode == "sampled" else "all."
            if step == 0:
                results[prefix + "masked"] = masked
                out.add(prefix + "loss", loss.reshape(1))
                if mode == "sampled":
                    out.add("f", f)
                grads = dict(model.named_parameters())
                for name in MB_GRADS:
                    out.add(prefix + "g." + name, grads[name].grad)
                out.add(prefix + "bank1", bank)
                results[prefix + "loss0"] = loss.item()
            else:
                out.add("bank2", bank)
                out.add("losses", [results["loss0"], loss.item()])
    out.add("mb_meta", [N_IMAGES, c, hgt, wid, MB_T, LR, MB_M, MB_K, MB_SEED, results["masked"]])
    out.add("mb_hyper", [MOMENTUM, WEIGHT_DECAY, 1.0 if NESTEROV else 0.0])
    out.add("mb_first", MB_FIRST)
    out.add("perm", perm)
    out.add("bank0", bank0)
    size = out.write(args.out)
    print("membank loss %.7f, masked %d own entries among the step-0 negatives; all: loss %.7f" %
          (results["loss0"], results["masked"], results["all.loss0"]))
    print("wrote  %s: %d tensors, %d bytes (%.2f MiB)" % (args.out, len(out.tensors), size, size / 2**20))


# ---------------------------------------------------------------------------------------
# Triplet and block (--margin): one step each of four settings from the same weights and
# the same 2N = 16 views (the SimCLR input), written to tests/golden/margin_small_resnet.bin
# (tests/test_margin_golden.c).
#
#   z = normalize(model(X)), S = z z^T (cosine similarities), anchors rows i < N
#   triplet  positive N + i, negative n_i among the other images' 2N - 2 views: hardest
#            (largest S[i][j], lowest j on ties) or vkcontrast's hash
#            mix(mix(mix(seed ^ 0x74726970) ^ step) + i) mod (2N - 2), skipping i and N + i;
#            loss = mean_i max(0, margin + S[i][n_i] - S[i][N+i])
#   block    blocks of b images; v_i = z_i . (mean_{j in k} z_{N+j} - mean_{j in k+1} z_{N+j})
#            for anchor i in block k (k + 1 cyclic); loss = mean softplus(-v) or relu(1 - v)
#   then one SGD step (as above) and the loss of a second step on the same views.
# Settings (prefixes): hard. (margin 0.5), random. (margin 0.5, seed 5, step 0),
#   logistic. (b 4), hinge. (b 2).
# Tensors: mg_meta [8] N, C, H, W, lr, margin, seed, step; mg_hyper [3]; input [2N,1,28,28];
#   w.<name>; per setting: <p>loss [1], <p>z [2N, D], <p>neg [N] (triplet), <p>g.<a few
#   parameters>, <p>loss2 [1]; <p>kink [1]: the distance of the step to the loss's kinks
#   (smallest |hinge|, best/second-best negative gap), for the test's message.

MG_MARGIN = 0.5
MG_SEED = 5
MG_STEP = 0
MG_SETTINGS = [("hard.", "triplet", True, 0), ("random.", "triplet", False, 0), ("logistic.", "block", False, 4),
               ("hinge.", "block", True, 2)]


def triplet_loss(z, margin, hard, seed, step):
    n = z.shape[0] // 2
    s = z @ z.t()
    neg, kink = [], float("inf")
    for i in range(n):
        cand = [j for j in range(2 * n) if j != i and j != n + i]
        if hard:
            order = sorted(cand, key=lambda j: (-s[i, j].item(), j))
            j = order[0]
            kink = min(kink, s[i, order[0]].item() - s[i, order[1]].item())
        else:
            j = mix32((mix32(mix32(seed ^ 0x74726970) ^ step) + i) & U32) % (2 * n - 2)
            j += 1 if j >= i else 0
            j += 1 if j >= n + i else 0
        neg.append(j)
    rows = torch.arange(n)
    h = margin + s[rows, torch.tensor(neg)] - s[rows, rows + n]
    kink = min(kink, h.abs().min().item())
    return torch.clamp(h, min=0).mean(), neg, kink


def block_loss(z, b, hinge):
    n = z.shape[0] // 2
    v = []
    for i in range(n):
        first = i // b * b
        nxt = (first + b) % n
        v.append((z[i] * (z[n + first:n + first + b].mean(0) - z[n + nxt:n + nxt + b].mean(0))).sum())
    v = torch.stack(v)
    if hinge:
        return torch.clamp(1 - v, min=0).mean(), (1 - v).abs().min().item()
    return F.softplus(-v).mean(), float("inf")


def main_margin(args):
    torch.set_num_threads(1)
    x = make_views(read_idx_images(args.data, N_IMAGES))
    _, c, hgt, wid = x.shape
    out = GoldenWriter()
    out.add("mg_meta", [N_IMAGES, c, hgt, wid, LR, MG_MARGIN, MG_SEED, MG_STEP])
    out.add("mg_hyper", [MOMENTUM, WEIGHT_DECAY, 1.0 if NESTEROV else 0.0])
    out.add("input", x)
    for prefix, method, flag, b in MG_SETTINGS:
        torch.manual_seed(MODEL_SEED)
        model = SmallResNet(channels=1, out_dim=PROJ_DIM)
        model.train()
        if prefix == "hard.":
            for name, t in state_entries(model):
                out.add("w." + name, t)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY,
                                    nesterov=NESTEROV)
        losses = []
        for step in range(2):
            optimizer.zero_grad()
            _, p = model(x)
            z = F.normalize(p, dim=1)
            if method == "triplet":
                loss, neg, kink = triplet_loss(z, MG_MARGIN, flag, MG_SEED, MG_STEP + step)
            else:
                loss, kink = block_loss(z, b, flag)
            loss.backward()
            if step == 0:
                out.add(prefix + "loss", loss.reshape(1))
                out.add(prefix + "z", z)
                if method == "triplet":
                    out.add(prefix + "neg", neg)
                out.add(prefix + "kink", [kink if kink != float("inf") else 1e30])
                kink0 = kink
                grads = dict(model.named_parameters())
                for name in MB_GRADS:
                    out.add(prefix + "g." + name, grads[name].grad)
            optimizer.step()
            losses.append(loss.item())
        out.add(prefix + "loss2", [losses[1]])
        print("%-10s losses %.7f %.7f, step 0's distance to the nearest kink %.3g" % (prefix, losses[0], losses[1], kink0))
    size = out.write(args.out)
    print("wrote  %s: %d tensors, %d bytes (%.2f MiB)" % (args.out, len(out.tensors), size, size / 2**20))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--data", default=FASHION_MNIST_TRAIN)
    parser.add_argument("--moco", action="store_true", help="write the MoCo golden file instead")
    parser.add_argument("--membank", action="store_true", help="write the memory-bank golden file instead")
    parser.add_argument("--margin", action="store_true", help="write the triplet/block golden file instead")
    args = parser.parse_args()
    if args.margin:
        args.out = args.out or "tests/golden/margin_small_resnet.bin"
        return main_margin(args)
    if args.membank:
        args.out = args.out or "tests/golden/membank_small_resnet.bin"
        return main_membank(args)
    if args.moco:
        args.out = args.out or "tests/golden/moco_small_resnet.bin"
        return main_moco(args)
    args.out = args.out or "tests/golden/simclr_small_resnet.bin"

    torch.set_num_threads(1)  # one reduction order: reruns give the same bytes
    torch.manual_seed(MODEL_SEED)
    model = SmallResNet(channels=1, out_dim=PROJ_DIM)
    model.train()

    images = read_idx_images(args.data, N_IMAGES)
    x = make_views(images)
    _, c, hgt, wid = x.shape

    out = GoldenWriter()
    out.add("meta", [N_IMAGES, c, hgt, wid, TEMPERATURE, LR])
    out.add("hyper", [MOMENTUM, WEIGHT_DECAY, 1.0 if NESTEROV else 0.0])
    out.add("input", x)
    for name, t in state_entries(model):
        out.add("w." + name, t)

    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY, nesterov=NESTEROV)

    # Step 0: the fully recorded one.
    acts = {}
    optimizer.zero_grad()
    h, p = model(x, acts)
    z = F.normalize(p, dim=1)
    loss = nt_xent(z, TEMPERATURE)
    loss.backward()
    out.add("h", h)
    out.add("z", z)
    out.add("loss", loss.reshape(1))
    for name, param in model.named_parameters():
        out.add("g." + name, param.grad)
    optimizer.step()
    for name, t in state_entries(model):
        out.add("w1." + name, t)
    losses = [loss.item()]

    # Steps 1..3 on the same batch: only the losses are kept.
    for _ in range(1, N_STEPS):
        optimizer.zero_grad()
        _, p = model(x)
        step_loss = nt_xent(F.normalize(p, dim=1), TEMPERATURE)
        step_loss.backward()
        optimizer.step()
        losses.append(step_loss.item())

    out.add("losses", losses)
    for name in ["act.stem", "act.blocks.0", "act.blocks.1", "act.blocks.2"]:
        out.add(name, acts[name][:ACT_IMAGES])

    size = out.write(args.out)
    print("loss   %.7f" % losses[0])
    print("losses %s" % ", ".join("%.7f" % v for v in losses))
    print("wrote  %s: %d tensors, %d bytes (%.2f MiB)" % (args.out, len(out.tensors), size, size / 2**20))


if __name__ == "__main__":
    main()
