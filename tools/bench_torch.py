#!/usr/bin/python3
"""bench_torch.py -- the PyTorch peer of `vkcontrast train`: SimCLR, MoCo, memory bank, on the CPU.

vkcontrast's speed and quality are reported as ratios against this script, run on the
same machine in the same session (tools/bench_quality.sh, tools/bench_step.sh). Run it
with Debian's torch (python3-torch, CPU):

    /usr/bin/python3 tools/bench_torch.py --mode quality --subset 10000 --epochs 5 --batch 256
    /usr/bin/python3 tools/bench_torch.py --method moco --threads 1 --json
    /usr/bin/python3 tools/bench_torch.py --mode speed --batch 256 --steps 10 --json

What is mirrored from vkcontrast (file that defines it there)
  data      IDX (Fashion-MNIST / MNIST) only; --subset N keeps the first N training images
            in file order (src/data/idx.c); the kNN bank is that same subset, the whole
            test split is scored (src/methods/train.c).
  input     (x/255 - mean) / std with mean and std of the training subset's pixels
            (vc_augment_dataset_stats in src/ops/augment.c).
  augment   the grayscale SimCLR recipe (vc_augment_config_simclr, shaders/augment.comp),
            drawn per sample: RandomResizedCrop (scale 0.3-1, ratio 3/4-4/3, torchvision's
            10 tries then the centre-crop fallback), bilinear resize back to the input size
            (align_corners False, taps clamped to the crop box), horizontal flip p 0.5,
            colour jitter p 0.8: brightness and contrast factors U(0.6, 1.4) in random
            order (contrast blends with the image mean), then normalization. Two views
            (memory bank: one).
  model     small-resnet + projection head (tools/gen_golden.py, DESIGN.md names), out 64;
            MoCo v1: a linear head (head.fc) instead.
  method    --method simclr: NT-Xent, T 0.2, positives i <-> i+N (gen_golden.nt_xent).
            --method moco (src/methods/moco.c; gen_golden.moco_step): query = the model, key =
            its copy updated at the start of every step by EMA (--moco-m 0.99) of parameters
            and BN running statistics; Shuffle-BN as vkcontrast: BN statistics per group of
            B/G images (--shuffle-groups 8), contiguous groups for the queries, interleaved
            ones (r, r+G, r+2G, ...) for the keys, which run in training mode without
            gradient; queue of --queue 4096 keys, initially random unit rows, logits
            [q.k+, q.queue] / T with the positive at 0, keys enqueued at (step*B) mod K.
            v2 (default): MLP head, cosine lr, T 0.2; v1: linear head, constant lr, T 0.1.
            Not --symmetric, not --moco-m-ramp.
            --method membank (src/methods/membank.c; gen_golden.membank_step): one view per
            image, bank of n random unit rows, logits [f.bank[i], f.bank[negatives]] / T
            (T 0.07) with --negatives 4096 entries drawn per step (or all), an image's own
            entry masked, then bank[i] <- normalize(m bank[i] + (1-m) f), m 0.5.
  optimizer SGD momentum 0.9, weight decay 5e-4 on every parameter, no nesterov,
            lr = 0.06 * batch/256, linear warmup over --warmup-epochs (default 0) then cosine
            to 0 (MoCo v1: constant) over all steps, computed per step from the steps done (shaders/schedule.comp);
            steps per epoch = subset // batch (the last partial batch is dropped), a new
            shuffle every epoch.
  kNN       model (MoCo: the query encoder) in eval mode, 128-d representation
            l2-normalized, cosine similarity, k = 200, votes exp(s / 0.1), train subset as the bank (src/eval/knn.c).
Not mirrored: the random streams (vkcontrast draws from Philox per (seed, epoch, index,
view) and hashes (seed, step) for the bank's negatives; here numpy and torch generators,
the same distributions), the initial queue and bank (random unit rows from other
generators) and the weight init (PyTorch's own).

Modes
  quality   train --epochs, then print kNN top-1 (and training images/s).
  speed     --warmup-steps untimed steps, then --steps timed steps on random batches of the
            data; prints images/s (a SimCLR step = augment 2 views + forward + backward + SGD;
            images, not views, are counted, as `vkcontrast train` does) and the median
            step time.
"""

import argparse
import copy
import gzip
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np

# Idle OpenMP threads sleep instead of spinning (unless the caller chose otherwise): on a
# shared 2-core machine spinning made a 2-thread forward+backward 2.6x slower (1.84 s vs
# 0.70 s for 128 views at load ~10); not measured on an idle machine, where threads wait
# little between parallel regions anyway. Must be set before torch starts OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import LinearHead, SmallResNet, nt_xent, set_bn_groups, state_entries  # noqa: E402

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


# ---------------------------------------------------------------------------------------
# Data

def read_idx(path, magic_expected, header_len):
    """Raw bytes after the header of an IDX file (.gz or raw); dims from the header."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        sys.exit("bench_torch: cannot read %s: %s" % (path, e))
    if len(blob) < header_len:
        sys.exit("bench_torch: %s: truncated IDX header: %d of %d bytes" % (path, len(blob), header_len))
    magic = struct.unpack(">I", blob[:4])[0]
    if magic != magic_expected:
        sys.exit("bench_torch: %s: IDX magic 0x%08x, expected 0x%08x" % (path, magic, magic_expected))
    dims = struct.unpack(">%dI" % ((header_len - 4) // 4), blob[4:header_len])
    need = int(np.prod(dims))
    if len(blob) - header_len < need:
        sys.exit("bench_torch: %s: truncated data: %d of %d bytes" % (path, len(blob) - header_len, need))
    return np.frombuffer(blob, dtype=np.uint8, count=need, offset=header_len), dims


def find_file(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    sys.exit("bench_torch: %s: no %s(.gz) (expected an IDX folder such as %s)" % (folder, stem, DEFAULT_DATA))


def load_split(folder, split, subset=0):
    """(images uint8 (n, H, W), labels int64 (n)); the first `subset` when subset > 0."""
    prefix = "train" if split == "train" else "t10k"
    pixels, (n, h, w) = read_idx(find_file(folder, prefix + "-images-idx3-ubyte"), 0x00000803, 16)
    labels, (nl,) = read_idx(find_file(folder, prefix + "-labels-idx1-ubyte"), 0x00000801, 8)
    if nl != n:
        sys.exit("bench_torch: %s: %d images but %d labels" % (folder, n, nl))
    keep = min(n, subset) if subset > 0 else n
    images = torch.from_numpy(pixels[: keep * h * w].reshape(keep, h, w).copy())
    return images, torch.from_numpy(labels[:keep].astype(np.int64))


def pixel_stats(images):
    """Mean and std of x/255 over every pixel (population std), as vc_augment_dataset_stats."""
    x = images.to(torch.float64) / 255.0
    m = x.mean().item()
    return m, math.sqrt(max((x * x).mean().item() - m * m, 0.0))


# ---------------------------------------------------------------------------------------
# Augmentation (grayscale SimCLR recipe)

SCALE = (0.3, 1.0)
LOG_RATIO = (math.log(3.0 / 4.0), math.log(4.0 / 3.0))
FLIP_P = 0.5
JITTER_P = 0.8
BRIGHTNESS = 0.4
CONTRAST = 0.4


def crop_boxes(rng, n, H, W):
    """torchvision RandomResizedCrop.get_params for n samples: (n, 4) top, left, h, w."""
    boxes = np.empty((n, 4), dtype=np.int64)
    area = H * W
    for k in range(n):
        for _ in range(10):
            target = area * rng.uniform(*SCALE)
            ratio = math.exp(rng.uniform(*LOG_RATIO))
            w = int(round(math.sqrt(target * ratio)))
            h = int(round(math.sqrt(target / ratio)))
            if 0 < w <= W and 0 < h <= H:
                boxes[k] = (rng.integers(0, H - h + 1), rng.integers(0, W - w + 1), h, w)
                break
        else:  # centre crop, ratio clamped into range
            rmin, rmax = math.exp(LOG_RATIO[0]), math.exp(LOG_RATIO[1])
            if W / H < rmin:
                w, h = W, int(round(W / rmin))
            elif W / H > rmax:
                h, w = H, int(round(H * rmax))
            else:
                w, h = W, H
            boxes[k] = ((H - h) // 2, (W - w) // 2, h, w)
    return torch.from_numpy(boxes)


def axis_taps(box, S):
    """Bilinear taps (align_corners False) of S outputs over a side of `box` (n) pixels."""
    o = torch.arange(S, dtype=torch.float32) + 0.5
    s = (o[None, :] * (box.to(torch.float32)[:, None] / S) - 0.5).clamp(min=0.0)
    i0 = torch.minimum(s.floor().long(), box[:, None] - 1)
    lam = s - i0.to(torch.float32)
    i1 = i0 + (i0 < box[:, None] - 1).long()
    return i0, i1, lam


def sample_params(rng, n, H, W):
    """The random choices of one view of n images (what augment.comp's sampler draws)."""
    return {
        "boxes": crop_boxes(rng, n, H, W),                                   # (n, 4) top, left, h, w
        "flip": torch.from_numpy(rng.random(n) < FLIP_P),
        "jitter": torch.from_numpy(rng.random(n) < JITTER_P),
        "brightness": torch.from_numpy(rng.uniform(1 - BRIGHTNESS, 1 + BRIGHTNESS, n).astype(np.float32)),
        "contrast": torch.from_numpy(rng.uniform(1 - CONTRAST, 1 + CONTRAST, n).astype(np.float32)),
        "bright_first": torch.from_numpy(rng.random(n) < 0.5),               # ColorJitter's random order
    }


def apply_params(images, prm, mean, std, S):
    """Views (n, 1, S, S), normalized, of images (n, H, W) uint8 under the choices prm."""
    n = images.shape[0]
    boxes = prm["boxes"]
    top, left, bh, bw = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    y0, y1, ly = axis_taps(bh, S)
    x0, x1, lx = axis_taps(bw, S)
    y0, y1 = y0 + top[:, None], y1 + top[:, None]
    x0, x1 = x0 + left[:, None], x1 + left[:, None]
    img = images.to(torch.float32) / 255.0
    b = torch.arange(n)[:, None, None]

    def at(ys, xs):
        return img[b, ys[:, :, None], xs[:, None, :]]

    lyc, lxc = ly[:, :, None], lx[:, None, :]
    top_row = (1 - lxc) * at(y0, x0) + lxc * at(y0, x1)
    bottom_row = (1 - lxc) * at(y1, x0) + lxc * at(y1, x1)
    x = (1 - lyc) * top_row + lyc * bottom_row  # (n, S, S)
    x = torch.where(prm["flip"][:, None, None], x.flip(-1), x)

    bf, cf = prm["brightness"][:, None, None], prm["contrast"][:, None, None]

    def bright(v):
        return (v * bf).clamp(0.0, 1.0)

    def contrast(v):
        m = v.mean(dim=(1, 2), keepdim=True)
        return (cf * v + (1 - cf) * m).clamp(0.0, 1.0)

    jittered = torch.where(prm["bright_first"][:, None, None], contrast(bright(x)), bright(contrast(x)))
    x = torch.where(prm["jitter"][:, None, None], jittered, x)
    return ((x - mean) / std).unsqueeze(1)


def augment(images, rng, mean, std, S):
    """One random view of each image (n, H, W) uint8 -> (n, 1, S, S) float, normalized."""
    n, H, W = images.shape
    return apply_params(images, sample_params(rng, n, H, W), mean, std, S)


def eval_input(images, mean, std):
    return ((images.to(torch.float32) / 255.0 - mean) / std).unsqueeze(1)


# ---------------------------------------------------------------------------------------
# Training and kNN

def lr_at(step, base, warmup, total, min_factor=0.0):
    """shaders/schedule.comp: linear warmup, then cosine to min_factor * base; step = steps
    done. min_factor is the method's (VcMethod.min_lr_factor): 1 (constant lr) for MoCo v1."""
    if step < warmup:
        return base * (step + 1) / warmup
    span = max(total, warmup + 1) - warmup
    progress = min((step - warmup) / span, 1.0)
    return base * (min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def simclr_step(model, opt, images, rng, mean, std, temperature):
    S = images.shape[-1]
    x = torch.cat([augment(images, rng, mean, std, S), augment(images, rng, mean, std, S)], dim=0)
    _, p = model(x)
    loss = nt_xent(F.normalize(p, dim=1), temperature)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


class MocoPeer:
    """MoCo v1/v2 as src/methods/moco.c (and tools/gen_golden.py's moco_step, which matches it
    to 1e-6): per step, first key <- m key + (1 - m) query over parameters AND BatchNorm
    running statistics (before this step's update); q = normalize(query(view 1)) with
    BatchNorm per contiguous group of B/G images; k = normalize(key(view 2)) in training mode,
    no gradient, with BatchNorm per interleaved group (images r, r + G, r + 2G, ...: the
    Shuffle-BN of vkcontrast); logits [q.k, q queue^T] / T, label 0; SGD; keys enqueued at
    (step * B) mod K. The queue starts as K random unit rows."""

    def __init__(self, model, args, generator):
        self.query, self.key = model, copy.deepcopy(model)
        for t in self.key.parameters():
            t.requires_grad_(False)
        set_bn_groups(self.query, args.shuffle_groups)
        set_bn_groups(self.key, args.shuffle_groups)
        self.key.train()
        self.pairs = [(tk, tq) for (_, tk), (_, tq) in zip(state_entries(self.key), state_entries(self.query))]
        self.m, self.G, self.K, self.T = args.moco_m, args.shuffle_groups, args.queue, args.temperature
        self.queue = F.normalize(torch.randn(self.K, args.out_dim, generator=generator), dim=1)
        self.ptr = 0

    def step(self, opt, images, rng, mean, std):
        n, S = images.shape[0], images.shape[-1]
        x1, x2 = augment(images, rng, mean, std, S), augment(images, rng, mean, std, S)
        with torch.no_grad():
            for tk, tq in self.pairs:
                tk.mul_(self.m).add_(tq, alpha=1.0 - self.m)
        q = F.normalize(self.query(x1)[1], dim=1)
        bg = n // self.G
        idx = torch.tensor([(j % bg) * self.G + j // bg for j in range(n)])  # row r*bg + i <- image r + i*G
        with torch.no_grad():
            k = torch.empty(n, self.queue.shape[1])
            k[idx] = F.normalize(self.key(x2[idx])[1], dim=1)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ self.queue.t()], dim=1) / self.T
        loss = F.cross_entropy(logits, torch.zeros(n, dtype=torch.long))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        rows = (self.ptr + torch.arange(n)) % self.K
        self.queue[rows] = k
        self.ptr = (self.ptr + n) % self.K
        return loss.item()


class MembankPeer:
    """Instance discrimination with a memory bank as src/methods/membank.c (gen_golden's
    membank_step): one view per image, plain BatchNorm; f = normalize(model(x));
    logits [f . bank[i], f . bank[negatives]] / T with K negatives drawn uniformly (with
    replacement) from the n entries per step, shared by the batch (or every entry), an
    image's own entry among them masked; label 0; SGD; bank[i] <- normalize(m bank[i] +
    (1 - m) f). The bank starts as n random unit rows."""

    def __init__(self, model, args, n, generator):
        self.model, self.n, self.K, self.T, self.m = model, n, args.negatives, args.temperature, args.bank_m
        self.bank = F.normalize(torch.randn(n, args.out_dim, generator=generator), dim=1)

    def step(self, opt, images, idx, rng, mean, std):
        x = augment(images, rng, mean, std, images.shape[-1])
        f = F.normalize(self.model(x)[1], dim=1)
        pos = self.bank[idx]
        neg_ids = torch.arange(self.n) if self.K == 0 else torch.from_numpy(rng.integers(0, self.n, self.K))
        own = neg_ids[None, :] == idx[:, None]
        logits = torch.cat([(f * pos).sum(1, keepdim=True), (f @ self.bank[neg_ids].t()).masked_fill(own, -1e30)],
                           dim=1) / self.T
        loss = F.cross_entropy(logits, torch.zeros(len(idx), dtype=torch.long))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            self.bank[idx] = F.normalize(self.m * pos + (1 - self.m) * f.detach(), dim=1)
        return loss.item()


def make_trainer(args, n, base_lr):
    """(model, optimizer, step(images, idx, rng, mean, std) -> loss, min lr factor) for --method."""
    model, opt = make_model_and_opt(args, base_lr)
    gen = torch.Generator().manual_seed(args.seed + 1)
    if args.method == "simclr":
        return model, opt, lambda x, idx, rng, mean, std: simclr_step(model, opt, x, rng, mean, std,
                                                                       args.temperature), 0.0
    if args.method == "moco":
        peer = MocoPeer(model, args, gen)
        return model, opt, lambda x, idx, rng, mean, std: peer.step(opt, x, rng, mean, std), \
            (1.0 if args.moco_version == 1 else 0.0)
    peer = MembankPeer(model, args, n, gen)
    return model, opt, lambda x, idx, rng, mean, std: peer.step(opt, x, idx, rng, mean, std), 0.0


@torch.no_grad()
def embed(model, images, mean, std, chunk=1000):
    model.eval()
    out = [F.normalize(model(eval_input(images[i:i + chunk], mean, std))[0], dim=1)
           for i in range(0, images.shape[0], chunk)]
    model.train()
    return torch.cat(out)


@torch.no_grad()
def knn_top1(bank, bank_labels, test, test_labels, k=200, temperature=0.1, chunk=1000):
    """Weighted kNN top-1 (src/eval/knn.c): cosine sims, k nearest vote exp(s/T)."""
    classes = int(max(bank_labels.max().item(), test_labels.max().item())) + 1
    k = min(k, bank.shape[0])
    correct = 0
    for i in range(0, test.shape[0], chunk):
        sims, idx = (test[i:i + chunk] @ bank.t()).topk(k, dim=1)
        scores = torch.zeros(sims.shape[0], classes, dtype=torch.float64)
        scores.scatter_add_(1, bank_labels[idx], torch.exp(sims.double() / temperature))
        correct += (scores.argmax(dim=1) == test_labels[i:i + chunk]).sum().item()
    return correct / test.shape[0]


def make_model_and_opt(args, base_lr):
    torch.manual_seed(args.seed)
    model = SmallResNet(channels=1, out_dim=args.out_dim)
    if args.method == "moco" and args.moco_version == 1:
        model.head = LinearHead(128, args.out_dim)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=args.momentum,
                          weight_decay=args.weight_decay, nesterov=False)
    return model, opt


def check_augment(path):
    """Compare apply_params with views that vkcontrast's C reference made (tests/test_torch_peer.c
    writes them): per line, image index, crop top left h w, flip, jitter, order (4 bits per
    position: 0 brightness, 1 contrast), brightness, contrast, mean, std, then S*S values of
    the normalized view over images from the IDX file named on the first line."""
    with open(path) as f:
        lines = f.read().split("\n")
    images = torch.from_numpy(read_idx(lines[0].strip(), 0x00000803, 16)[0].copy())
    worst, count = 0.0, 0
    for line in lines[1:]:
        if not line.strip():
            continue
        v = line.split()
        i, top, left, h, w, flip, jitter, order = (int(t) for t in v[:8])
        bf, cf, mean, std = (float(t) for t in v[8:12])
        ref = torch.tensor([float(t) for t in v[12:]], dtype=torch.float64)
        S = int(round(math.sqrt(ref.numel())))
        pos = [(order >> (4 * k)) & 15 for k in range(4)]
        prm = {"boxes": torch.tensor([[top, left, h, w]]), "flip": torch.tensor([flip == 1]),
               "jitter": torch.tensor([jitter == 1]), "brightness": torch.tensor([bf]), "contrast": torch.tensor([cf]),
               "bright_first": torch.tensor([pos.index(0) < pos.index(1)])}
        img = images[i * 784:(i + 1) * 784].view(1, 28, 28)
        got = apply_params(img, prm, mean, std, S).view(-1).double()
        worst = max(worst, (got - ref).abs().max().item())
        count += 1
    print("bench_torch: %d views, worst abs difference from the C reference %.3g" % (count, worst))
    return 0 if count > 0 and worst <= 1e-4 else 1


def run_quality(args):
    train_x, train_y = load_split(args.data, "train", args.subset)
    test_x, test_y = load_split(args.data, "test", args.test_subset)
    mean, std = pixel_stats(train_x)
    n = train_x.shape[0]
    steps_per_epoch = n // args.batch
    if steps_per_epoch < 1:
        sys.exit("bench_torch: --batch %d is larger than the training set (%d images)" % (args.batch, n))
    base_lr = args.lr * args.batch / 256.0
    total = args.epochs * steps_per_epoch
    warmup = args.warmup_epochs * steps_per_epoch
    model, opt, train_step, min_factor = make_trainer(args, n, base_lr)
    rng = np.random.default_rng(args.seed)
    step, t0, train_time, losses = 0, time.perf_counter(), 0.0, []
    for epoch in range(args.epochs):
        perm = torch.from_numpy(rng.permutation(n))
        te, loss_sum = time.perf_counter(), 0.0
        for k in range(steps_per_epoch):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, base_lr, warmup, total, min_factor)
            idx = perm[k * args.batch:(k + 1) * args.batch]
            loss_sum += train_step(train_x[idx], idx, rng, mean, std)
            step += 1
        train_time += time.perf_counter() - te
        losses.append(loss_sum / steps_per_epoch)
        print("bench_torch: epoch %d/%d  loss %.4f  %.1f img/s" % (epoch + 1, args.epochs, losses[-1],
              steps_per_epoch * args.batch / (time.perf_counter() - te)), file=sys.stderr, flush=True)
    top1 = knn_top1(embed(model, train_x, mean, std), train_y, embed(model, test_x, mean, std), test_y,
                    args.knn_k, args.knn_temperature)
    return {"mode": "quality", "method": args.method, "knn_top1": top1, "loss": losses[-1], "epochs": args.epochs, "subset": n,
            "batch": args.batch, "steps": step, "images_per_s": step * args.batch / train_time,
            "elapsed_s": time.perf_counter() - t0}


def run_speed(args):
    train_x, _ = load_split(args.data, "train", args.subset)
    mean, std = pixel_stats(train_x)
    n = train_x.shape[0]
    if args.batch > n:
        sys.exit("bench_torch: --batch %d is larger than the training set (%d images)" % (args.batch, n))
    model, opt, train_step, _ = make_trainer(args, n, args.lr * args.batch / 256.0)
    rng = np.random.default_rng(args.seed)
    times = []
    for s in range(args.warmup_steps + args.steps):
        idx = torch.from_numpy(rng.choice(n, args.batch, replace=False))
        batch = train_x[idx]
        t = time.perf_counter()
        train_step(batch, idx, rng, mean, std)
        if s >= args.warmup_steps:
            times.append(time.perf_counter() - t)
    return {"mode": "speed", "method": args.method, "images_per_s": args.batch * len(times) / sum(times),
            "ms_per_step_median": 1000.0 * statistics.median(times), "batch": args.batch, "steps": len(times)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["quality", "speed"], default="quality")
    p.add_argument("--method", choices=["simclr", "moco", "membank"], default="simclr")
    p.add_argument("--data", default=DEFAULT_DATA, help="IDX folder (default %(default)s)")
    p.add_argument("--subset", type=int, default=0, help="first N training images (0 = all)")
    p.add_argument("--test-subset", type=int, default=0,
                   help="score the first N test images only (0 = all, as vkcontrast; for quick checks)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.06, help="base lr for batch 256, scaled by batch/256")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup-epochs", type=int, default=0)
    p.add_argument("--temperature", type=float, default=None,
                   help="default as vkcontrast: 0.2; MoCo v1 0.1, MoCo v2 0.2, membank 0.07")
    p.add_argument("--out-dim", type=int, default=64)
    p.add_argument("--knn-k", type=int, default=200)
    p.add_argument("--knn-temperature", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=10, help="speed mode: timed steps")
    p.add_argument("--warmup-steps", type=int, default=2, help="speed mode: untimed steps first")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--moco-version", type=int, choices=[1, 2], default=2,
                   help="MoCo 1: linear head, constant lr, T 0.1; 2: MLP head, cosine lr, T 0.2")
    p.add_argument("--moco-m", type=float, default=0.99, help="key encoder EMA momentum")
    p.add_argument("--queue", type=int, default=4096, help="MoCo queue length K")
    p.add_argument("--shuffle-groups", type=int, default=8, help="MoCo Shuffle-BN groups G (divides --batch)")
    p.add_argument("--negatives", default="4096", help="membank negatives per step, or all")
    p.add_argument("--bank-m", type=float, default=0.5, help="membank update momentum")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: nproc)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--check-augment", metavar="FILE", help=argparse.SUPPRESS)  # tests/test_torch_peer.c
    args = p.parse_args()
    if args.check_augment:
        sys.exit(check_augment(args.check_augment))
    for name in ("subset", "test_subset", "epochs", "batch", "steps", "threads", "knn_k", "out_dim"):
        v = getattr(args, name)
        if v < (0 if name.endswith("subset") else 1):
            sys.exit("bench_torch: --%s %d: expected %s" % (name.replace("_", "-"), v,
                     "0 or more" if name.endswith("subset") else "1 or more"))
    if args.batch < 2:
        sys.exit("bench_torch: --batch %d: expected 2 or more" % args.batch)
    if args.temperature is None:  # vkcontrast's defaults (src/methods/train_config.c)
        args.temperature = {"simclr": 0.2, "moco": 0.1 if args.moco_version == 1 else 0.2, "membank": 0.07}[args.method]
    if args.method == "moco":
        if args.queue < args.batch:
            sys.exit("bench_torch: --queue %d: expected at least --batch %d" % (args.queue, args.batch))
        if args.shuffle_groups < 1 or args.batch % args.shuffle_groups:
            sys.exit("bench_torch: --shuffle-groups %d: expected a divisor of --batch %d" % (args.shuffle_groups, args.batch))
    raw = args.negatives
    args.negatives = 0 if raw == "all" else int(raw) if raw.isdigit() else -1  # 0 = every bank entry
    if args.negatives < 0 or (raw != "all" and args.negatives == 0):
        sys.exit("bench_torch: --negatives %s: expected a positive integer or all" % raw)
    torch.set_num_threads(args.threads)
    result = run_quality(args) if args.mode == "quality" else run_speed(args)
    result.update({"temperature": args.temperature, "peer": "pytorch", "torch": torch.__version__, "threads": args.threads,
                   "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")})
    title = {"simclr": "SimCLR", "moco": "MoCo v%d" % args.moco_version, "membank": "memory bank"}[args.method]
    if args.json:
        print(json.dumps(result))
    elif args.mode == "quality":
        print("PyTorch %s: %d images x %d epochs, batch %d: kNN top-1 %.2f%%, %.1f img/s" %
              (title, result["subset"], args.epochs, args.batch, 100 * result["knn_top1"], result["images_per_s"]))
    else:
        print("PyTorch %s step, batch %d, %d threads: %.1f img/s (median %.1f ms/step over %d steps)" %
              (title, args.batch, args.threads, result["images_per_s"], result["ms_per_step_median"], result["steps"]))


if __name__ == "__main__":
    main()
