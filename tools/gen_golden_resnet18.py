#!/usr/bin/python3
"""gen_golden_resnet18.py -- PyTorch golden file for one SimCLR step of resnet18 (CIFAR stem).

resnet18 has 11 M parameters, too many to ship as a golden file the way
tools/gen_golden.py ships small-resnet's. Instead the weights are the ones vkcontrast's
own initialiser makes from a seed (src/nn/model.c: splitmix64, PyTorch's kaiming-uniform
bounds, BN gamma 1 / beta 0), reproduced here bit for bit, so only the seed travels.

Run with Debian's torch (python3-torch, CPU), from the repository root:

    /usr/bin/python3 tools/gen_golden_resnet18.py [--out tests/golden/simclr_resnet18.bin]

Model   torchvision's resnet18 layout and names with the CIFAR stem (conv1 3x3 stride 1,
        no max-pool), C_in = 3, 32x32, then the projection head head.fc1 (512->512, bias),
        head.bn (BatchNorm1d), ReLU, head.fc2 (512->64, bias).
Input   2N = 8 views, N(0, 1) from torch.Generator seeded with 7; view i's positive is
        view (i + N) mod 2N.
Step    NT-Xent (T = 0.2), then SGD (lr 0.1, momentum 0.9, weight decay 5e-4), then a
        second forward for the loss after the step.

Tensors (format as tools/gen_golden.py, version 1)
  meta    [6]  N, C, H, W, temperature, lr      hyper [4]  momentum, wd, nesterov, seed
  input   [2N, 3, 32, 32]
  w0.<name>    first PREFIX elements of every tensor as initialised (checks the init)
  h [2N, 512], z [2N, 64], loss [1], losses [2] (before step 0 and step 1)
  g.<name>     the first PREFIX elements of every parameter's gradient
  gn.<name>    [1] the gradient's L2 norm (covers the elements past the prefix)
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import GoldenWriter, nt_xent  # noqa: E402

SEED = 1
N_IMAGES = 4
CHANNELS = 3
SIZE = 32
PROJ_DIM = 64
TEMPERATURE = 0.2
LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
INPUT_SEED = 7
PREFIX = 2048


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


class Head(nn.Module):
    def __init__(self, dim, out_dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.fc2 = nn.Linear(dim, out_dim)

    def forward(self, h):
        return self.fc2(F.relu(self.bn(self.fc1(h))))


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
        self.head = Head(512, out_dim)

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/golden/simclr_resnet18.bin")
    args = parser.parse_args()
    torch.set_num_threads(1)

    model = ResNet18(CHANNELS, PROJ_DIM)
    init_like_vkcontrast(model, SEED)
    model.train()
    gen = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn((2 * N_IMAGES, CHANNELS, SIZE, SIZE), generator=gen, dtype=torch.float32)

    out = GoldenWriter()
    out.add("meta", [N_IMAGES, CHANNELS, SIZE, SIZE, TEMPERATURE, LR])
    out.add("hyper", [MOMENTUM, WEIGHT_DECAY, 0.0, SEED])
    out.add("input", x)
    for name, t in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            out.add("w0." + name, t.flatten()[:PREFIX])

    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    h, p = model(x)
    z = F.normalize(p, dim=1)
    loss = nt_xent(z, TEMPERATURE)
    loss.backward()
    out.add("h", h)
    out.add("z", z)
    out.add("loss", loss.reshape(1))
    for name, param in model.named_parameters():
        out.add("g." + name, param.grad.flatten()[:PREFIX])
        out.add("gn." + name, param.grad.norm().reshape(1))
    opt.step()
    opt.zero_grad()
    _, p = model(x)
    loss1 = nt_xent(F.normalize(p, dim=1), TEMPERATURE)
    out.add("losses", [loss.item(), loss1.item()])
    size = out.write(args.out)
    print("losses %.7f %.7f" % (loss.item(), loss1.item()))
    print("wrote  %s: %d tensors, %d bytes (%.2f MiB)" % (args.out, len(out.tensors), size, size / 2**20))


if __name__ == "__main__":
    main()
