#!/usr/bin/python3
"""gen_golden_seeded.py -- PyTorch golden files whose weights travel as a seed.

resnet18 has 11 M parameters, too many to ship as a golden file the way
tools/gen_golden.py ships small-resnet's. Instead the weights are the ones vkcontrast's
own initialiser makes from a seed (src/nn/model.c: splitmix64, PyTorch's kaiming-uniform
bounds, BN gamma 1 / beta 0), reproduced here bit for bit, so only the seed travels. The
same trick gives small files for the optimizers' end-to-end checks.

Run with Debian's torch (python3-torch, CPU), from the repository root; with no
arguments it writes all three files:

    /usr/bin/python3 tools/gen_golden_seeded.py [--case resnet18|lars|adamw] [--out FILE]

Cases
  resnet18  tests/golden/simclr_resnet18.bin: torchvision's resnet18 layout and names
            with the CIFAR stem (conv1 3x3 stride 1, no max-pool), C_in = 3, 32x32,
            2N = 8 views; SGD (lr 0.1, momentum 0.9, weight decay 5e-4).
  lars      tests/golden/simclr_small_resnet_lars.bin: small-resnet, C_in = 1, 28x28,
            2N = 16 views; LARS as SimCLR (trust 0.001, momentum 0.9, weight decay 1e-6,
            biases and norm parameters neither decayed nor adapted; see src/ops/optim.h).
  adamw     tests/golden/simclr_small_resnet_adamw.bin: as lars with torch.optim.AdamW
            (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.05 on every parameter).
  linear_head  tests/golden/simclr_small_resnet_linear_head.bin: small-resnet with MoCo v1's
            linear head head.fc (128 -> 64, bias) instead of the MLP; SGD as resnet18.
Every other case: the projection head head.fc1 (D->D, bias), head.bn (BatchNorm1d), ReLU,
head.fc2 (D->64, bias); inputs N(0, 1) from torch.Generator seeded with 7; view i's
positive is view (i + N) mod 2N; NT-Xent (T = 0.2); two optimizer steps on that batch.

Tensors (format as tools/gen_golden.py, version 1)
  meta    [6]  N, C, H, W, temperature, lr
  hyper   [8]  momentum, weight decay, nesterov, seed, trust, beta1, beta2, eps
  input   [2N, C, H, W]
  w0.<name>    first PREFIX elements of every tensor as initialised (checks the init)
  h [2N, D], z [2N, 64], loss [1]     step 0, float32 (as PyTorch trains)
  g.<name>     the first PREFIX elements of every parameter's gradient at step 0
  gn.<name>    [1] that gradient's L2 norm (covers the elements past the prefix)
  losses [3]   losses before step 0, 1 and after step 1, from a float64 run
  losses_spread [3]  |float32 - float64| / float64 of PyTorch's own losses
  d2.<name>    first PREFIX elements of every parameter's update after two steps, float64
  spread.<name> [1]  normalized MSE of PyTorch's float32 update against d2
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import GoldenWriter, LinearHead, ProjectionHead, SmallResNet, nt_xent  # noqa: E402

SEED = 1
PROJ_DIM = 64
TEMPERATURE = 0.2
INPUT_SEED = 7
PREFIX = 2048
N_STEPS = 2
# case -> (model, N, C, S, optimizer hyper-parameters)
CASES = {
    "resnet18": ("resnet18", 4, 3, 32, dict(kind="sgd", lr=0.1, momentum=0.9, wd=5e-4)),
    "lars": ("small-resnet", 8, 1, 28, dict(kind="lars", lr=0.3, momentum=0.9, wd=1e-6, trust=1e-3)),
    "adamw": ("small-resnet", 8, 1, 28, dict(kind="adamw", lr=1e-3, wd=0.05, beta1=0.9, beta2=0.999, eps=1e-8)),
    "linear_head": ("small-resnet-linear-head", 8, 1, 28, dict(kind="sgd", lr=0.1, momentum=0.9, wd=5e-4)),
}
OUT = {"resnet18": "tests/golden/simclr_resnet18.bin", "lars": "tests/golden/simclr_small_resnet_lars.bin",
       "adamw": "tests/golden/simclr_small_resnet_adamw.bin",
       "linear_head": "tests/golden/simclr_small_resnet_linear_head.bin"}


class Block(nn.Module):
    """torchvision BasicBlock: conv1 bn1 relu conv2 bn2 (+ downsample.0/1) relu."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, channels, out_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c = 64
        for layer in range(4):
            c_out = 64 << layer
            blocks = [Block(c, c_out, 2 if layer > 0 else 1), Block(c_out, c_out, 1)]
            setattr(self, "layer%d" % (layer + 1), nn.Sequential(*blocks))
            c = c_out
        self.head = ProjectionHead(512, out_dim)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for layer in range(4):
            x = getattr(self, "layer%d" % (layer + 1))(x)
        h = x.mean(dim=(2, 3))
        return h, self.head(h)


def splitmix64(state, count):
    """The next `count` outputs of src/nn/model.c's splitmix64 from `state`; new state."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(state) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        new_state = (state + count * 0x9E3779B97F4A7C15) % 2**64
    return z, new_state


def init_like_vkcontrast(model, seed):
    """vc_model_new's init: tensors in state_dict order (the C table order), weights and
    biases of convs/linears from one splitmix64 stream, U(-b, b) with b = 1/sqrt(fan_in)."""
    state = seed
    weights = {}  # module prefix -> fan_in of its conv/linear weight
    with torch.no_grad():
        for name, t in model.state_dict().items():
            prefix, leaf = name.rsplit(".", 1)
            if leaf == "weight" and t.dim() >= 2:
                fan_in = weights[prefix] = t[0].numel()
            elif leaf == "bias" and prefix in weights:
                fan_in = weights[prefix]  # a linear bias: its weight's fan_in
            else:
                continue  # BN tensors keep PyTorch's defaults (1, 0, 0, 1)
            raw, state = splitmix64(state, t.numel())
            unit = ((raw >> np.uint64(40)).astype(np.float64) / 16777216.0).astype(np.float32)
            bound = np.float32(1.0) / np.sqrt(np.float32(fan_in))
            vals = bound * (np.float32(2.0) * unit - np.float32(1.0))
            t.copy_(torch.from_numpy(vals).view_as(t))


class Lars:
    """SimCLR's LARS as src/ops/optim.h states it: for adapted parameters d = g + wd w,
    d *= trust ||w|| / ||d|| (1 when a norm is 0); 1-D parameters (biases, norm
    parameters) take the plain gradient; then buf = m buf + d, w -= lr buf."""

    def __init__(self, params, lr, momentum, wd, trust):
        self.params, self.lr, self.m, self.wd, self.trust = list(params), lr, momentum, wd, trust
        self.bufs = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        for p, buf in zip(self.params, self.bufs):
            d = p.grad.clone()
            if p.dim() > 1:
                d += self.wd * p
                wn, dn = p.norm(), d.norm()
                if wn > 0 and dn > 0:
                    d *= self.trust * wn / dn
            buf.mul_(self.m).add_(d)
            p.sub_(self.lr * buf)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


def make_optimizer(model, h):
    if h["kind"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=h["lr"], momentum=h["momentum"], weight_decay=h["wd"])
    if h["kind"] == "lars":
        return Lars(model.parameters(), h["lr"], h["momentum"], h["wd"], h["trust"])
    return torch.optim.AdamW(model.parameters(), lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                             weight_decay=h["wd"])


def make_model(case, dtype):
    model_name, n_images, channels, size, h = CASES[case]
    model = ResNet18(channels, PROJ_DIM) if model_name == "resnet18" else SmallResNet(channels, PROJ_DIM)
    if model_name == "small-resnet-linear-head":
        model.head = LinearHead(128, PROJ_DIM)
    init_like_vkcontrast(model, SEED)
    model.train()
    gen = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn((2 * n_images, channels, size, size), generator=gen, dtype=torch.float32)
    return model.to(dtype), x.to(dtype)


def trajectory(case, dtype, out=None):
    """N_STEPS optimizer steps on one batch; returns the losses before each step and
    after the last, and every parameter's update w2 - w0 (float64). With `out`, also
    records the step-0 tensors."""
    h = CASES[case][4]
    model, x = make_model(case, dtype)
    w0 = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = make_optimizer(model, h)
    losses = []
    for step in range(N_STEPS + 1):
        opt.zero_grad()
        hid, p = model(x)
        z = F.normalize(p, dim=1)
        loss = nt_xent(z, TEMPERATURE)
        losses.append(loss.item())
        if step == N_STEPS:
            break
        loss.backward()
        if step == 0 and out is not None:
            out.add("h", hid)
            out.add("z", z)
            out.add("loss", loss.reshape(1))
            for name, param in model.named_parameters():
                out.add("g." + name, param.grad.flatten()[:PREFIX])
                out.add("gn." + name, param.grad.norm().reshape(1))
        opt.step()
    updates = {k: (v.detach() - w0[k]).double().flatten()[:PREFIX] for k, v in model.named_parameters()}
    return losses, updates


def nmse(a, ref):
    den = ref.pow(2).sum().item()
    return (a - ref).pow(2).sum().item() / den if den > 0 else 0.0


def write_case(case, path):
    """Step-0 tensors from a float32 run (PyTorch's own precision). The values after two
    steps come from a float64 run, with how far PyTorch's float32 run lands from it: a
    few steps of lr 0.1 on 8-16 images with BatchNorm amplify rounding (a perturbation of
    1e-7 moves the loss after two steps by up to 1e-3), so "as close to exact as PyTorch
    fp32 is" is the meaningful bound, not "close to PyTorch fp32"."""
    _, n_images, channels, size, h = CASES[case]
    model, x = make_model(case, torch.float32)
    out = GoldenWriter()
    out.add("meta", [n_images, channels, size, size, TEMPERATURE, h["lr"]])
    out.add("hyper", [h.get("momentum", 0), h["wd"], 0.0, SEED, h.get("trust", 0), h.get("beta1", 0), h.get("beta2", 0),
                      h.get("eps", 0)])
    out.add("input", x)
    for name, t in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            out.add("w0." + name, t.flatten()[:PREFIX])
    losses32, upd32 = trajectory(case, torch.float32, out)
    losses64, upd64 = trajectory(case, torch.float64)
    for name in upd64:
        out.add("d2." + name, upd64[name])
        out.add("spread." + name, [nmse(upd32[name], upd64[name])])
    out.add("losses", losses64)
    out.add("losses_spread", [abs(a - b) / abs(b) for a, b in zip(losses32, losses64)])
    size = out.write(path)
    print("%-8s losses fp64 %s, fp32 %s" % (case, " ".join("%.7f" % v for v in losses64),
                                            " ".join("%.7f" % v for v in losses32)))
    print("wrote  %s: %d tensors, %d bytes (%.2f MiB)" % (path, len(out.tensors), size, size / 2**20))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="one case (default: all)")
    parser.add_argument("--out", help="output file (with --case)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one reduction order: reruns give the same bytes
    for case in [args.case] if args.case else sorted(CASES):
        write_case(case, args.out if args.out and args.case else OUT[case])


if __name__ == "__main__":
    main()
