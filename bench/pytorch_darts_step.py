#!/usr/bin/env python3
"""PyTorch eager baseline for `tsnas bench step --workload darts1|darts2`.

One DARTS search step on the DARTS space (C=8, 5 cells with reductions at
1/3 and 2/3, 4 nodes, 8 candidate operations per edge, 10 classes): the
architecture step (first order, or second order with the unrolled weights
and the finite-difference Hessian-vector product), then the weight step
(SGD momentum 0.9, weight decay 3e-4, lr 0.025, gradient clip 5; α with
Adam betas (0.5, 0.999), lr 3e-4, weight decay 1e-3). One random batch of
3x32x32 images serves as both the training and the validation batch. This
is the straightforward eager computation: every candidate, 'none' included.
Prints the median step time over --steps after 2 warm-up steps as one JSON
line, like the tsnas command.
Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch_darts_step.py --order 1
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRIMITIVES = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
              'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']


def relu_conv_bn(cin, cout, k, stride, pad):
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=False),
                         nn.BatchNorm2d(cout, affine=False))


def dil_conv(c, k, stride, pad, dil):
    return nn.Sequential(nn.ReLU(inplace=False),
                         nn.Conv2d(c, c, k, stride, pad, dilation=dil, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False))


def sep_conv(c, k, stride, pad):
    return nn.Sequential(dil_conv(c, k, stride, pad, 1), dil_conv(c, k, 1, pad, 1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x.mul(0.) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.)


class FactorizedReduce(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_1 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.conv_2 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, affine=False)

    def forward(self, x):
        x = F.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name, c, stride):
    if name == 'none':
        return Zero(stride)
    if name == 'max_pool_3x3':
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False))
    if name == 'avg_pool_3x3':
        return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), nn.BatchNorm2d(c, affine=False))
    if name == 'skip_connect':
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    k = 3 if name.endswith('3x3') else 5
    if name.startswith('sep'):
        return sep_conv(c, k, stride, k // 2)
    return dil_conv(c, k, stride, k - 1, 2)


class MixedOp(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self._ops = nn.ModuleList([make_op(p, c, stride) for p in PRIMITIVES])

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self._ops))


class Cell(nn.Module):
    def __init__(self, cpp, cp, c, reduction, reduction_prev, steps=4, multiplier=4):
        super().__init__()
        self.pre0 = FactorizedReduce(cpp, c) if reduction_prev else relu_conv_bn(cpp, c, 1, 1, 0)
        self.pre1 = relu_conv_bn(cp, c, 1, 1, 0)
        self.steps, self.multiplier, self.reduction = steps, multiplier, reduction
        self._ops = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                self._ops.append(MixedOp(c, 2 if reduction and j < 2 else 1))

    def forward(self, s0, s1, weights):
        states = [self.pre0(s0), self.pre1(s1)]
        offset = 0
        for _ in range(self.steps):
            s = sum(self._ops[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self.multiplier:], dim=1)


class Network(nn.Module):
    def __init__(self, c=8, classes=10, layers=5, steps=4, multiplier=4, stem_multiplier=3):
        super().__init__()
        cc = stem_multiplier * c
        self.stem = nn.Sequential(nn.Conv2d(3, cc, 3, padding=1, bias=False), nn.BatchNorm2d(cc))
        cpp, cp, cc = cc, cc, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in [layers // 3, 2 * layers // 3]
            if reduction:
                cc *= 2
            self.cells.append(Cell(cpp, cp, cc, reduction, reduction_prev, steps, multiplier))
            reduction_prev = reduction
            cpp, cp = cp, multiplier * cc
        self.classifier = nn.Linear(cp, classes)
        k = sum(2 + i for i in range(steps))
        self.alphas_normal = (1e-3 * torch.randn(k, len(PRIMITIVES))).requires_grad_(True)
        self.alphas_reduce = (1e-3 * torch.randn(k, len(PRIMITIVES))).requires_grad_(True)

    def arch_parameters(self):
        return [self.alphas_normal, self.alphas_reduce]

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            w = F.softmax(self.alphas_reduce if cell.reduction else self.alphas_normal, dim=-1)
            s0, s1 = s1, cell(s0, s1, w)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


class Architect:
    """DARTS's bilevel step; the unrolled model is the same network with its weights swapped in place."""

    def __init__(self, net, w_opt, momentum=0.9, wd=3e-4):
        self.net, self.w_opt, self.momentum, self.wd = net, w_opt, momentum, wd
        self.opt = torch.optim.Adam(net.arch_parameters(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)

    def loss(self, x, y):
        return F.cross_entropy(self.net(x), y)

    def step(self, xt, yt, xv, yv, eta, unrolled):
        self.opt.zero_grad()
        alphas = self.net.arch_parameters()
        if not unrolled:
            grads = torch.autograd.grad(self.loss(xv, yv), alphas)
        else:
            params = list(self.net.parameters())
            saved = [p.detach().clone() for p in params]
            gw = torch.autograd.grad(self.loss(xt, yt), params)
            with torch.no_grad():
                for p, g in zip(params, gw):
                    d = g + self.wd * p
                    buf = self.w_opt.state.get(p, {}).get('momentum_buffer')
                    if buf is not None:
                        d = d + self.momentum * buf
                    p.sub_(eta * d)
            out = torch.autograd.grad(self.loss(xv, yv), alphas + params)
            dalpha, v = out[:len(alphas)], out[len(alphas):]
            r = 0.01 / torch.cat([t.reshape(-1) for t in v]).norm()
            with torch.no_grad():
                for p, s, t in zip(params, saved, v):
                    p.copy_(s + r * t)
            gp = torch.autograd.grad(self.loss(xt, yt), alphas)
            with torch.no_grad():
                for p, s, t in zip(params, saved, v):
                    p.copy_(s - r * t)
            gn = torch.autograd.grad(self.loss(xt, yt), alphas)
            with torch.no_grad():
                for p, s in zip(params, saved):
                    p.copy_(s)
            grads = [d - eta * (a - b) / (2 * r) for d, a, b in zip(dalpha, gp, gn)]
        for a, g in zip(alphas, grads):
            a.grad = g
        self.opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--order', type=int, default=1, choices=[1, 2])
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--batch', type=int, default=32)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Network()
    w_opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    architect = Architect(net, w_opt)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    times, cpu = [], []
    for i in range(a.steps + 2):
        t0 = time.perf_counter()
        c0 = time.process_time()
        architect.step(x, y, x, y, w_opt.param_groups[0]['lr'], a.order == 2)
        w_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        params = list(net.parameters())
        grads = torch.autograd.grad(loss, params)
        for p_, g in zip(params, grads):
            p_.grad = g
        nn.utils.clip_grad_norm_(params, 5)
        w_opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    params = sum(p_.numel() for p_ in net.parameters())
    print(json.dumps({'workload': f'darts{a.order}', 'runtime': 'pytorch', 'threads': a.threads, 'batch': a.batch,
                      'params': params, 'ms_per_step': statistics.median(times),
                      'cpu_ms_per_step': statistics.median(cpu)}))


if __name__ == '__main__':
    main()
