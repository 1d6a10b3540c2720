#!/usr/bin/env python3
"""PyTorch eager baseline for `tsnas bench step --workload nb201`.

One SGD step (Nesterov, momentum 0.9, weight decay 5e-4, lr 0.1) on the
NAS-Bench-201 network (C=16, N=5, 10 classes) of the cell
|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
with a batch of random 3x32x32 inputs. Prints the median step time over
--steps after 2 warm-up steps as one JSON line, like the tsnas command.
Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch_nb201_step.py
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = [('nor_conv_3x3', 0), ('nor_conv_3x3', 0), ('avg_pool_3x3', 1),
        ('skip_connect', 0), ('nor_conv_3x3', 1), ('skip_connect', 2)]
# NAS-Bench-201 edge order: node 1 <- 0; node 2 <- 0, 1; node 3 <- 0, 1, 2.
EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride, pad):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(cin, cout, k, stride, pad, bias=False),
                         nn.BatchNorm2d(cout))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.)


def make_op(name, c):
    if name == 'nor_conv_3x3':
        return ReLUConvBN(c, c, 3, 1, 1)
    if name == 'nor_conv_1x1':
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    if name == 'skip_connect':
        return nn.Identity()
    return Zero()


class Cell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ops = nn.ModuleList([make_op(name, c) for name, _ in ARCH])

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            acc = None
            for e, (dst, src) in enumerate(EDGES):
                if dst == j and ARCH[e][0] != 'none':
                    y = self.ops[e](nodes[src])
                    acc = y if acc is None else acc + y
            nodes.append(acc if acc is not None else torch.zeros_like(x))
        return nodes[3]


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.down = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.down(x) + self.b(self.a(x))


class Net(nn.Module):
    def __init__(self, c=16, n=5, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers = []
        for stage, cc in enumerate([c, 2 * c, 4 * c]):
            if stage > 0:
                layers.append(ResBlock(cc // 2, cc))
            layers += [Cell(cc) for _ in range(n)]
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * c), nn.ReLU())
        self.classifier = nn.Linear(4 * c, classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--batch', type=int, default=64)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    times, cpu = [], []
    for i in range(a.steps + 2):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    params = sum(p.numel() for p in net.parameters())
    print(json.dumps({'workload': 'nb201', 'runtime': 'pytorch', 'threads': a.threads, 'batch': a.batch,
                      'params': params, 'ms_per_step': statistics.median(times),
                      'cpu_ms_per_step': statistics.median(cpu)}))


if __name__ == '__main__':
    main()
