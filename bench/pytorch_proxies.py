#!/usr/bin/python3
"""PyTorch eager zero-cost proxies: the baseline of `tsnas bench step --workload proxies`
and the reference definitions that scripts/fixtures/gen_proxies.py turns into test fixtures.

Each proxy runs in its own passes, as the reference implementations do
(Abdelfattah et al. 2021, SamsungLabs/zero-cost-nas; Mellor et al. 2021, NASWOT):
- grad_norm: sum over conv/linear layers of ||dL/dW||_2 (cross-entropy, BN in train mode)
- snip:      sum |W * dL/dW|
- grasp:     -sum W * (H g), H g from a second forward pass and a double backward
- fisher:    per conv/linear output channel 0.5 * mean_n (sum_hw act * dL/dact)^2, times the
             weights per output channel, summed
- synflow:   |params|, float64, one all-ones input, BN removed except in the residual
             reduction blocks (as the reference NB201 model), sum |W * dR/dW|
- jacob_cov: -sum log(l + 1e-5) + 1/(l + 1e-5), l the eigenvalues of corrcoef of the
             per-sample input Jacobians of the summed logits
- nwot:      log|det K|, K = sum over ReLUs of c c^T + (1-c)(1-c)^T, c = (ReLU input > 0)
and the proxies of 2021-2024 (zico, meco, meco_opt, swap, swap_reg, zen, the az_* and te_* components),
each defined in its function below.

Benchmark: python3 bench/pytorch_proxies.py [--threads T] [--steps S] [--batch 64]
times synflow, snip, grad_norm and nwot (each in its own passes) for the NAS-Bench-201
network (C=16, N=5, 10 classes) of the bench cell on random 3x32x32 inputs, and prints
the median step time as one JSON line.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BENCH_ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


def parse_arch(arch):
    return [edge.split('~')[0] for node in arch.split('+') for edge in node.strip('|').split('|')]


# ---------------------------------------------------------------- the NAS-Bench-201 network (XAutoDL names)

class ReLUConvBN(nn.Module):
    # affine=False is the zero-cost-nas reference's cell variant: a biased conv and a
    # batch norm without affine parameters or running statistics.
    def __init__(self, cin, cout, k, stride, pad, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=not affine),
                                nn.BatchNorm2d(cout, affine=affine, track_running_stats=affine))

    def forward(self, x):
        return self.op(x)


class Pooling(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c, affine=True):
    return {'none': Zero, 'skip_connect': nn.Identity, 'avg_pool_3x3': Pooling,
            'nor_conv_1x1': lambda: ReLUConvBN(c, c, 1, 1, 0, affine),
            'nor_conv_3x3': lambda: ReLUConvBN(c, c, 3, 1, 1, affine)}[name]()


class Cell(nn.Module):
    """XAutoDL's InferCell, except that nodes the output does not depend on (reached only
    through 'none' edges) are not computed, as in tsnas: the outputs are the same, and
    NASWOT's rule of counting the ReLUs that the backward pass visits leaves them out."""

    def __init__(self, ops, c, affine=True):
        super().__init__()
        self.ops = ops
        self.layers = nn.ModuleList([make_op(op, c, affine) for op in ops])
        self.live = [False, False, False, True]
        for j in range(3, 0, -1):
            if self.live[j]:
                inputs = [(i, ops[e]) for e, (t, i) in enumerate(EDGES) if t == j]
                real = [x for x in inputs if x[1] != 'none']
                for i, _ in (real or inputs[:1]):
                    self.live[i] = True

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            if not self.live[j]:
                nodes.append(None)
                continue
            terms = [self.layers[e](nodes[i]) for e, (t, i) in enumerate(EDGES) if t == j and self.ops[e] != 'none']
            if not terms:
                first = next(e for e, (t, _) in enumerate(EDGES) if t == j)
                terms = [self.layers[first](nodes[EDGES[first][1]])]
            nodes.append(sum(terms))
        return nodes[3]


class ResNetBasicblock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x):
        # The order tsnas runs them in (hooks fire in this order; meco_opt's draws follow it).
        block = self.conv_b(self.conv_a(x))
        return self.downsample(x) + block


class Network(nn.Module):
    def __init__(self, ops, C=16, N=5, classes=10, in_channels=3, cell_affine=True):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells, prev = [], C
        for stage, width in enumerate([C, 2 * C, 4 * C]):
            if stage > 0:
                cells.append(ResNetBasicblock(prev, width))
                prev = width
            cells.extend(Cell(ops, width, cell_affine) for _ in range(N))
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU())
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, classes)

    def forward(self, x):
        f = self.stem(x)
        for c in self.cells:
            f = c(f)
        return self.classifier(self.global_pooling(self.lastact(f)).flatten(1))


def weight_layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


# ---------------------------------------------------------------- proxies, each in its own passes

def grad_norm(net, x, y):
    net.train()
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return sum(float(m.weight.grad.norm()) for m in weight_layers(net) if m.weight.grad is not None)


def snip(net, x, y):
    net.train()
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return sum(float((m.weight * m.weight.grad).abs().sum()) for m in weight_layers(net) if m.weight.grad is not None)


def grasp(net, x, y):
    net.train()
    weights = [m.weight for m in weight_layers(net)]
    grad_w = torch.autograd.grad(F.cross_entropy(net(x), y), weights, allow_unused=True)
    grad_f = torch.autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True, allow_unused=True)
    z = sum((gw.detach() * gf).sum() for gw, gf in zip(grad_w, grad_f) if gw is not None)
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    return float(-sum((w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None))


def fisher(net, x, y):
    net.train()
    layers = weight_layers(net)
    acc = {m: None for m in layers}
    handles = []

    def capture(m, _inp, out):
        def on_grad(g):
            a = out.detach()
            gn = (a * g).sum(dim=list(range(2, a.dim()))) if a.dim() > 2 else a * g
            d = gn.pow(2).mean(0).mul(0.5)
            acc[m] = d if acc[m] is None else acc[m] + d
        out.register_hook(on_grad)

    for m in layers:
        handles.append(m.register_forward_hook(capture))
    try:
        F.cross_entropy(net(x), y).backward()
    finally:
        for h in handles:
            h.remove()
    net.zero_grad()
    total = 0.0
    for m in layers:
        if acc[m] is not None:
            total += float(acc[m].abs().sum()) * int(np.prod(m.weight.shape[1:]))
    return total


def synflow(net, x_shape, keep_reduction_bn=True):
    """In place (|params| and BN bypass, undone afterwards), like the reference's linearize/nonlinearize."""
    net.train()
    kept = set()
    if keep_reduction_bn:
        for m in net.modules():
            if isinstance(m, ResNetBasicblock):
                kept.update(d for d in m.modules() if isinstance(d, nn.BatchNorm2d))
    bypassed = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d) and m not in kept]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        for v in net.state_dict().values():
            if v.is_floating_point():
                v.abs_()
    for m in bypassed:
        m.forward = lambda t: t
    net.double()
    try:
        net.zero_grad()
        net(torch.ones([1] + list(x_shape[1:]), dtype=torch.float64)).sum().backward()
        return sum(float((m.weight * m.weight.grad).abs().sum()) for m in weight_layers(net) if m.weight.grad is not None)
    finally:
        for m in bypassed:
            del m.forward
        net.float()
        net.load_state_dict(state)
        net.zero_grad()


def jacob_cov(net, x):
    net.train()
    x = x.clone().requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    j = x.grad.detach().reshape(x.shape[0], -1).numpy()
    net.zero_grad()
    corrs = np.corrcoef(j)
    v, _ = np.linalg.eig(corrs)
    k = 1e-5
    return float(np.real(-np.sum(np.log(v + k) + 1.0 / (v + k))))


def nwot(net, x):
    net.train()
    n = x.shape[0]
    K = torch.zeros(n, n, dtype=torch.float64)
    handles = []

    def hook(_m, inp, _out):
        nonlocal K
        c = (inp[0].detach().reshape(n, -1) > 0).float()
        K = K + (c @ c.t()).double() + ((1 - c) @ (1 - c).t()).double()

    for m in net.modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    _sign, logdet = np.linalg.slogdet(K.numpy())
    return float(logdet)


def all_proxies(net, x, y):
    """Every proxy on the same weights and batch; BN running statistics are restored between proxies."""
    state = {k: v.clone() for k, v in net.state_dict().items()}
    out = {}
    for name, fn in [('grad_norm', lambda: grad_norm(net, x, y)), ('snip', lambda: snip(net, x, y)),
                     ('grasp', lambda: grasp(net, x, y)), ('fisher', lambda: fisher(net, x, y)),
                     ('synflow', lambda: synflow(net, x.shape)), ('jacob_cov', lambda: jacob_cov(net, x)),
                     ('nwot', lambda: nwot(net, x))]:
        out[name] = fn()
        net.load_state_dict(state)
    return out


# ---------------------------------------------------------------- proxies of 2021-2024 (src/estimators/zero-cost/recent.ts)

class Draws:
    """The random draws of zen, az_* and meco_opt, recorded so that the TypeScript test can replay them."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.normals, self.rademachers, self.choices = [], [], []

    def normal(self, shape):
        t = torch.randn(list(shape), generator=self.gen)
        self.normals.append(t)
        return t

    def rademacher(self, shape):
        t = torch.randint(0, 2, list(shape), generator=self.gen).float() * 2 - 1
        self.rademachers.append(t)
        return t

    def choose(self, n, k):
        idx = torch.randperm(n, generator=self.gen)[:k].tolist()
        self.choices.append(idx)
        return idx


def zico(net, x, y, splits=2):
    """ZiCo (Li et al., ICLR 2023): per conv/linear layer log sum mean|g| / std(g) over the gradients of `splits` parts of the batch."""
    net.train()
    layers = weight_layers(net)
    per_split = []
    n = x.shape[0]
    for s in range(splits):
        st, en = s * n // splits, (s + 1) * n // splits
        net.zero_grad()
        F.cross_entropy(net(x[st:en]), y[st:en]).backward()
        per_split.append([m.weight.grad.detach().reshape(-1).clone() if m.weight.grad is not None else None for m in layers])
    net.zero_grad()
    total = 0.0
    for i in range(len(layers)):
        gs = [p[i] for p in per_split]
        if any(g is None for g in gs):
            continue
        g = torch.stack(gs)
        std = g.std(0, unbiased=False)
        mean = g.abs().mean(0)
        nz = std != 0
        ratio = float((mean[nz] / std[nz]).sum())
        if ratio != 0:
            total += float(np.log(ratio))
    return total


def meco(net, x, opt_channels=None, draws=None):
    """MeCo (Jiang et al., NeurIPS 2023): the first image; for every module with a 4-d output, the smallest
    eigenvalue of the Pearson correlation of its channels (NaN/inf entries zeroed); summed. meco_opt: `opt_channels`
    channels drawn per map, the eigenvalue times C / opt_channels."""
    net.train()
    total = [0.0]

    def hook(_m, _inp, out):
        if not torch.is_tensor(out) or out.dim() != 4 or out.shape[2] * out.shape[3] < 2:
            return
        c = out.shape[1]
        rows = out.detach()[0].reshape(c, -1)
        scale = 1.0
        if opt_channels is not None:
            idx = list(range(c)) if c <= opt_channels else draws.choose(c, opt_channels)
            rows = rows[idx]
            scale = c / opt_channels
        corr = torch.corrcoef(rows.double())
        corr[torch.isnan(corr)] = 0
        corr[torch.isinf(corr)] = 0
        v = float(torch.linalg.eigvalsh(corr).min())
        if np.isfinite(v):
            total[0] += v * scale

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    try:
        with torch.no_grad():
            net(x[:1])
    finally:
        for h in handles:
            h.remove()
    return total[0]


def relu_codes(net, x):
    """(input > 0) of every ReLU with a 4-d input, each [batch, units], in a train-mode forward without gradients."""
    codes = []

    def hook(_m, inp, _out):
        if inp[0].dim() == 4:
            codes.append((inp[0].detach() > 0).reshape(inp[0].shape[0], -1))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return torch.cat(codes, 1)


def swap(net, x, samples=16):
    """SWAP (Peng et al., ICLR 2024): distinct sign patterns of the units over the first `samples` images."""
    codes = relu_codes(net, x[:samples])
    return int(torch.unique(codes.t(), dim=0).shape[0])


def swap_regularizer(net, mu, sigma):
    params = sum(p.numel() for p in net.parameters()) / 1e3
    return float(np.exp(-((params - mu) ** 2) / sigma))


def zen(net, x_shape, draws, mixup=0.01):
    """Zen-score (Lin et al., ICCV 2021) with N(0,1) conv/linear weights (biases 0, BN scale 1 and shift 0), Gaussian
    inputs x and x + 0.01 eps: log E_n sum |f(x) - f(x + 0.01 eps)| + sum_BN log sqrt(mean_c batch var_c) in the pass of x,
    f the input of the global average pooling."""
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    try:
        with torch.no_grad():
            for m in weight_layers(net):
                m.weight.copy_(draws.normal(m.weight.shape))
                if m.bias is not None:
                    m.bias.zero_()
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d) and m.affine:
                    m.weight.fill_(1)
                    m.bias.zero_()
            x = draws.normal(x_shape)
            mixed = x + mixup * draws.normal(x_shape)
            logs, feats = [], []
            pool = net.global_pooling.register_forward_pre_hook(lambda _m, inp: feats.append(inp[0]))
            bns = [m.register_forward_pre_hook(lambda _m, inp: logs.append(0.5 * float(torch.log(inp[0].var(dim=[0, 2, 3], unbiased=False).mean()))))
                   for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
            net(x)
            for h in bns:
                h.remove()
            net(mixed)
            pool.remove()
            diff = float((feats[0] - feats[1]).abs().sum(dim=[1, 2, 3]).mean())
            return float(np.log(diff)) + sum(logs)
    finally:
        net.load_state_dict(state)


def az_components(net, x, draws):
    """AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity and trainability from the stem's and the cells' outputs."""
    net.train()
    feats = []
    handles = [m.register_forward_hook(lambda _m, _i, out: feats.append(out)) for m in [net.stem, *net.cells]]
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()

    def isotropy(f):
        f = f.detach().double()
        c = f.shape[1]
        f = f.permute(0, 2, 3, 1).reshape(-1, c)
        f = f - f.mean(0, keepdim=True)
        s = torch.linalg.eigvalsh(f.t() @ f / f.shape[0])
        p = s / s.sum()
        return float((-p * torch.log(p + 1e-8)).sum())

    iso = [isotropy(f) for f in feats]
    scores = []
    for i in reversed(range(1, len(feats))):
        g_out = draws.rademacher(feats[i].shape)
        g_in = torch.autograd.grad(feats[i], feats[i - 1], g_out, retain_graph=True)[0]
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            scores.append(-np.inf)
            continue
        if g_in.shape[2] != g_out.shape[2]:
            g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
        b, co, ho, wo = g_out.shape
        gi = g_in.permute(0, 2, 3, 1).reshape(b * ho * wo, -1)
        go = g_out.permute(0, 2, 3, 1).reshape(b * ho * wo, co)
        sigma = float(torch.linalg.svdvals((gi.t() @ go / (b * ho * wo)).double()).max())
        scores.append(-sigma - 1 / (sigma + 1e-6) + 2)
    return {'az_expressivity': float(np.sum(iso)), 'az_progressivity': float(np.min(np.diff(iso))),
            'az_trainability': float(np.mean(scores))}


def te_ntk(net, x):
    """TE-NAS (Chen et al., ICLR 2021): -cond(G G^T), G the per-sample gradients of the summed logits w.r.t. every weight."""
    net.train()
    weights = [p for name, p in net.named_parameters() if name.split('.')[-1] == 'weight']
    logits = net(x)
    rows = []
    for i in range(x.shape[0]):
        gs = torch.autograd.grad(logits[i].sum(), weights, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(w)).reshape(-1) for g, w in zip(gs, weights)]))
    g = torch.stack(rows)
    eig = torch.linalg.eigvalsh((g @ g.t()).double())
    cond = float(eig.max() / eig.min())
    return -(1e5 if np.isnan(cond) else cond)


def te_linear_regions(net, x):
    """TE-NAS: distinct activation patterns of the batch's samples."""
    return int(torch.unique(relu_codes(net, x), dim=0).shape[0])


def recent_proxies(net, x, y, draws, swap_mu=1000, swap_sigma=500000):
    """Every proxy of recent.ts on the same weights and batch, drawing in the order the TypeScript code does."""
    state = {k: v.clone() for k, v in net.state_dict().items()}
    out = {}
    steps = [('zico', lambda: zico(net, x, y)), ('meco', lambda: meco(net, x)),
             ('meco_opt', lambda: meco(net, x, 8, draws)), ('swap', lambda: swap(net, x)),
             ('zen', lambda: zen(net, x.shape, draws)), ('az', lambda: az_components(net, x, draws)),
             ('te_ntk', lambda: te_ntk(net, x)), ('te_linear_regions', lambda: te_linear_regions(net, x))]
    for name, fn in steps:
        v = fn()
        if isinstance(v, dict):
            out.update(v)
        else:
            out[name] = v
        net.load_state_dict(state)
        net.zero_grad()
    out['swap_reg'] = out['swap'] * swap_regularizer(net, swap_mu, swap_sigma)
    return out


# ---------------------------------------------------------------- benchmark

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, default=torch.get_num_threads())
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = Network(parse_arch(BENCH_ARCH), 16, 5, 10)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        return {'synflow': synflow(net, x.shape), 'snip': snip(net, x, y),
                'grad_norm': grad_norm(net, x, y), 'nwot': nwot(net, x)}

    times, cpu = [], []
    for i in range(args.steps + 2):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    # CPU time (all threads) is far less sensitive than wall time to other jobs on a shared machine.
    print(json.dumps({'workload': 'proxies', 'impl': 'pytorch', 'ms_per_step': statistics.median(times),
                      'cpu_ms_per_step': statistics.median(cpu),
                      'threads': args.threads, 'steps': len(times), 'batch': args.batch, 'arch': BENCH_ARCH,
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
