// Op and gradient parity with PyTorch: replays the cases recorded by
// scripts/fixtures/gen_ops.py (Python torch) through the addon and compares
// forward values and the gradients of sum_i (output_i * upstream_i).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  Tensor, tensor, tidy, memory, grad, manualSeed, rand, randn, randint, randperm, zeros,
  conv2d, linear, batchNorm, layerNorm, maxPool2d, avgPool2d, adaptiveAvgPool2d, crossEntropy, nllLoss, mseLoss,
  dropout, embedding, lstmCell, pad, oneHot, resizeBilinear, cat, stack, where, slogdet, eigvalsh, corrcoef, foreach,
  type DType, type Reduction,
} from './index.js';
import { assertClose } from '../testing/assert.js';

interface Encoded {
  dtype: DType;
  shape: number[];
  b64: string;
}
interface Case {
  name: string;
  op: string;
  args: Record<string, any>;
  inputs: (Encoded & { grad: boolean })[];
  outputs: Encoded[];
  outputRequiresGrad: boolean[];
  upstream: (Encoded | null)[];
  grads: (Encoded | null)[] | null;
}
interface RandomStep {
  fn: string;
  shape?: number[];
  dtype?: 'float32' | 'float64';
  [k: string]: unknown;
}

const fixtureDir = new URL('../../test/fixtures/ops/', import.meta.url);
const readJson = (name: string) => JSON.parse(readFileSync(new URL(name, fixtureDir), 'utf8'));

// Relative tolerance with an absolute floor for values near zero.
const RTOL = 1e-5;
const ATOL = 1e-6;

function decode(e: Encoded): Tensor {
  const bytes = Buffer.from(e.b64, 'base64');
  // Copy into a fresh, aligned buffer: Buffer views may start at any offset.
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  const views: Record<string, (b: ArrayBuffer) => ArrayLike<number> | BigInt64Array> = {
    float32: (b) => new Float32Array(b),
    float64: (b) => new Float64Array(b),
    int64: (b) => new BigInt64Array(b),
    int32: (b) => new Int32Array(b),
    uint8: (b) => new Uint8Array(b),
    bool: (b) => new Uint8Array(b),
  };
  const view = views[e.dtype];
  if (!view) throw new Error(`fixture dtype ${e.dtype} is not handled`);
  return tensor(view(buf) as Float64Array, e.shape, { dtype: e.dtype });
}

/** Asserts actual matches expected in shape, dtype and values (integers and booleans exactly). */
function assertMatches(actual: Tensor, expected: Encoded, what: string): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const isFloat = expected.dtype === 'float32' || expected.dtype === 'float64';
  tidy(() => assertClose(actual, decode(expected), what, isFloat ? RTOL : 0, isFloat ? ATOL : 0));
}

type OpResult = Tensor | Tensor[];
type Op = (x: Tensor[], a: Record<string, any>) => OpResult;

const binary = (name: string): Op => (x, a) => {
  const other = x.length > 1 ? x[1]! : (a.scalar as number);
  switch (name) {
    case 'add': return x[0]!.add(other);
    case 'sub': return x[0]!.sub(other);
    case 'mul': return x[0]!.mul(other);
    case 'div': return x[0]!.div(other);
    case 'pow': return x[0]!.pow(other);
    case 'fmod': return x[0]!.fmod(other);
    case 'eq': return x[0]!.eq(other);
    case 'ne': return x[0]!.ne(other);
    case 'lt': return x[0]!.lt(other);
    case 'le': return x[0]!.le(other);
    case 'gt': return x[0]!.gt(other);
    case 'ge': return x[0]!.ge(other);
    case 'maximum': return x[0]!.maximum(x[1]!);
    case 'minimum': return x[0]!.minimum(x[1]!);
    case 'logicalAnd': return x[0]!.logicalAnd(x[1]!);
    case 'logicalOr': return x[0]!.logicalOr(x[1]!);
    default: throw new Error(`no binary op ${name}`);
  }
};

const unaryNames = [
  'neg', 'abs', 'sign', 'log', 'exp', 'sqrt', 'rsqrt', 'reciprocal', 'square', 'relu', 'relu6', 'sigmoid', 'tanh',
  'silu', 'mish', 'hardswish', 'hardsigmoid', 'softplus', 'floor', 'round', 'isnan', 't', 'contiguous', 'clone',
  'detach', 'logicalNot',
] as const;

/** Applies a Tensor method by name, for families whose TS and torch names agree. */
function method(t: Tensor, name: string, ...args: unknown[]): unknown {
  const fn = (t as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`Tensor has no method ${name}`);
  return fn.apply(t, args);
}

/** Splits x into consecutive groups of n (for foreach cases). */
const groups = (x: Tensor[], n: number): Tensor[][] =>
  Array.from({ length: x.length / n }, (_, i) => x.slice(i * n, (i + 1) * n));

const indexList = (x: Tensor[], pattern: (number | null)[]) => pattern.map((p) => (p === null ? null : x[p]!));

const ops: Record<string, Op> = {
  rsub: (x, a) => x[0]!.rsub(a.scalar),
  contiguousT: (x) => x[0]!.t().contiguous(),
  gelu: (x, a) => x[0]!.gelu(a.approximate),
  leakyRelu: (x, a) => x[0]!.leakyRelu(a.slope),
  clamp: (x, a) => x[0]!.clamp(a.min, a.max),
  where: (x, a) => where(x[0]!, a.a ?? x[1]!, a.b ?? x[a.a === undefined ? 2 : 1]!),

  sum: (x, a) => x[0]!.sum(a.dims, a.keepdim),
  sumDtype: (x, a) => x[0]!.sum(a.dims, false, a.dtype),
  mean: (x, a) => x[0]!.mean(a.dims, a.keepdim),
  max: (x, a) => x[0]!.max(a.dims, a.keepdim),
  min: (x, a) => x[0]!.min(a.dims, a.keepdim),
  var: (x, a) => x[0]!.var(a.dims, a.unbiased, a.keepdim),
  std: (x, a) => x[0]!.std(a.dims, a.unbiased, a.keepdim),
  norm: (x, a) => x[0]!.norm(a.p === 'inf' ? Infinity : a.p, a.dims, a.keepdim),
  maxWithIndices: (x, a) => {
    const r = x[0]!.maxWithIndices(a.dim, a.keepdim);
    return [r.values, r.indices];
  },
  minWithIndices: (x, a) => {
    const r = x[0]!.minWithIndices(a.dim, a.keepdim);
    return [r.values, r.indices];
  },
  argmax: (x, a) => x[0]!.argmax(a.dim, a.keepdim),
  argmin: (x, a) => x[0]!.argmin(a.dim, a.keepdim),
  logsumexp: (x, a) => x[0]!.logsumexp(a.dims, a.keepdim),
  cumsum: (x, a) => x[0]!.cumsum(a.dim),
  sort: (x, a) => {
    const r = x[0]!.sort(a.dim, a.descending);
    return [r.values, r.indices];
  },
  topk: (x, a) => {
    const r = x[0]!.topk(a.k, a.dim, a.largest);
    return [r.values, r.indices];
  },

  matmul: (x) => x[0]!.matmul(x[1]!),
  slogdet: (x) => {
    const r = slogdet(x[0]!);
    return [r.sign, r.logabsdet];
  },
  eigvalsh: (x) => eigvalsh(x[0]!),
  corrcoef: (x) => corrcoef(x[0]!),

  conv2d: (x, a) => conv2d(x[0]!, x[1]!, x[2] ?? null,
    { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups }),
  linear: (x) => linear(x[0]!, x[1]!, x[2] ?? null),
  batchNorm: (x, a) => {
    let i = 1;
    let weight: Tensor | null = null;
    let bias: Tensor | null = null;
    let runningMean: Tensor | null = null;
    let runningVar: Tensor | null = null;
    if (a.affine) {
      [weight, bias] = [x[i]!, x[i + 1]!];
      i += 2;
    }
    if (a.running) [runningMean, runningVar] = [x[i]!, x[i + 1]!];
    const y = batchNorm(x[0]!, { weight, bias, runningMean, runningVar, training: a.training, momentum: a.momentum,
      eps: a.eps });
    return a.running ? [y, runningMean!, runningVar!] : y;
  },
  layerNorm: (x, a) => layerNorm(x[0]!, a.shape, x[1] ?? null, x[2] ?? null, a.eps),
  maxPool2d: (x, a) => maxPool2d(x[0]!, a.kernel,
    { stride: a.stride, padding: a.padding, dilation: a.dilation, ceilMode: a.ceilMode }),
  avgPool2d: (x, a) => avgPool2d(x[0]!, a.kernel,
    { stride: a.stride, padding: a.padding, ceilMode: a.ceilMode, countIncludePad: a.countIncludePad }),
  adaptiveAvgPool2d: (x, a) => adaptiveAvgPool2d(x[0]!, a.size),
  softmax: (x, a) => x[0]!.softmax(a.dim),
  logSoftmax: (x, a) => x[0]!.logSoftmax(a.dim),
  crossEntropy: (x, a) => crossEntropy(x[0]!, x[1]!,
    { reduction: a.reduction as Reduction, labelSmoothing: a.labelSmoothing, weight: x[2] ?? null }),
  nllLoss: (x, a) => nllLoss(x[0]!, x[1]!, { reduction: a.reduction as Reduction, weight: x[2] ?? null }),
  mseLoss: (x, a) => mseLoss(x[0]!, x[1]!, a.reduction),
  dropout: (x, a) => dropout(x[0]!, a.p, a.training),
  dropoutSeeded: (x, a) => {
    manualSeed(a.seed);
    return dropout(x[0]!, a.p, true);
  },
  embedding: (x) => embedding(x[0]!, x[1]!),
  lstmCell: (x) => lstmCell(x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6]!),
  pad: (x, a) => pad(x[0]!, a.pads, a.value),
  oneHot: (x, a) => oneHot(x[0]!, a.classes),
  resizeBilinear: (x, a) => resizeBilinear(x[0]!, a.size, a.alignCorners),

  reshape: (x, a) => x[0]!.reshape(...a.shape),
  view: (x, a) => x[0]!.view(...a.shape),
  permute: (x, a) => x[0]!.permute(...a.dims),
  transpose: (x, a) => x[0]!.transpose(a.a, a.b),
  flatten: (x, a) => x[0]!.flatten(a.start, a.end),
  squeeze: (x, a) => x[0]!.squeeze(a.dim),
  unsqueeze: (x, a) => x[0]!.unsqueeze(a.dim),
  expand: (x, a) => x[0]!.expand(...a.shape),
  repeat: (x, a) => x[0]!.repeat(...a.reps),
  cat: (x, a) => cat(x, a.dim),
  stack: (x, a) => stack(x, a.dim),
  split: (x, a) => x[0]!.split(a.sizes, a.dim),
  chunk: (x, a) => x[0]!.chunk(a.chunks, a.dim),
  narrow: (x, a) => x[0]!.narrow(a.dim, a.start, a.length),
  slice: (x, a) => x[0]!.slice(a.dim, a.start, a.end, a.step),
  select: (x, a) => x[0]!.select(a.dim, a.index),
  indexSelect: (x, a) => x[0]!.indexSelect(a.dim, x[1]!),
  gather: (x, a) => x[0]!.gather(a.dim, x[1]!),
  index: (x, a) => x[0]!.index(indexList(x, a.pattern)),
  indexPut: (x, a) => x[0]!.indexPut(indexList(x, a.pattern), x[x.length - 1]!, a.accumulate),
  scatter: (x, a) => x[0]!.scatter(a.dim, x[1]!, x[2]!),
  maskedSelect: (x) => x[0]!.maskedSelect(x[1]!),
  nonzero: (x) => x[0]!.nonzero(),
  flip: (x, a) => x[0]!.flip(...a.dims),
  roll: (x, a) => x[0]!.roll(a.shifts, a.dims),

  'inplace:add_': (x, a) => x[0]!.clone().add_(a.scalar ?? x[1]!, a.alpha),
  'inplace:sub_': (x, a) => x[0]!.clone().sub_(a.scalar ?? x[1]!, a.alpha),
  'inplace:mul_': (x, a) => x[0]!.clone().mul_(a.scalar ?? x[1]!),
  'inplace:div_': (x, a) => x[0]!.clone().div_(a.scalar ?? x[1]!),
  'inplace:addcmul_': (x, a) => x[0]!.clone().addcmul_(x[1]!, x[2]!, a.value),
  'inplace:addcdiv_': (x, a) => x[0]!.clone().addcdiv_(x[1]!, x[2]!, a.value),
  'inplace:lerp_': (x, a) => x[0]!.clone().lerp_(x[1]!, a.weight),
  'inplace:fill_': (x, a) => x[0]!.clone().fill_(a.scalar),
  'inplace:zero_': (x) => x[0]!.clone().zero_(),
  'inplace:copy_': (x) => x[0]!.clone().copy_(x[1]!),
  'inplace:sqrt_': (x) => x[0]!.clone().sqrt_(),
  'inplace:clamp_': (x, a) => x[0]!.clone().clamp_(a.min, a.max),
  'inplace:maskedFill_': (x, a) => x[0]!.clone().maskedFill_(x[1]!, a.value),

  'foreach:add_': (x, a) => {
    const [xs, ys] = groups(x, a.n);
    const out = xs!.map((t) => t.clone());
    foreach.add_(out, ys!, a.alpha);
    return out;
  },
  'foreach:mul_': (x, a) => {
    const out = x.map((t) => t.clone());
    foreach.mul_(out, a.scalar);
    return out;
  },
  'foreach:addcmul_': (x, a) => {
    const [xs, as, bs] = groups(x, a.n);
    const out = xs!.map((t) => t.clone());
    foreach.addcmul_(out, as!, bs!, a.value);
    return out;
  },
  'foreach:addcdiv_': (x, a) => {
    const [xs, as, bs] = groups(x, a.n);
    const out = xs!.map((t) => t.clone());
    foreach.addcdiv_(out, as!, bs!, a.value);
    return out;
  },
  'foreach:sqrt': (x) => foreach.sqrt(x),
  'foreach:norm': (x) => foreach.norm(x),

  hvpMlp: (x) => {
    const [inp, w1, w2, v1, v2] = x as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const loss = inp.matmul(w1).softplus().matmul(w2).tanh().pow(2).sum();
    const [g1, g2] = grad(loss, [w1, w2], { createGraph: true }) as [Tensor, Tensor];
    const dot = g1.mul(v1).sum().add(g2.mul(v2).sum());
    const [h1, h2] = grad(dot, [w1, w2]) as [Tensor, Tensor];
    return [loss.detach(), g1.detach(), g2.detach(), h1, h2];
  },
  hvpCnn: (x) => {
    const [inp, target, w, bnw, bnb, lw, lb] = x as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    let h = conv2d(inp, w, null, { padding: 1 });
    h = batchNorm(h, { weight: bnw, bias: bnb, training: true });
    h = avgPool2d(h.tanh(), 2);
    h = adaptiveAvgPool2d(h, 1).flatten(1);
    const loss = crossEntropy(linear(h, lw, lb), target);
    const ws = [w, bnw, bnb, lw, lb];
    const gs = grad(loss, ws, { createGraph: true }) as Tensor[];
    let dot = gs[0]!.mul(gs[0]!.detach()).sum();
    for (const g of gs.slice(1)) dot = dot.add(g.mul(g.detach()).sum());
    const hg = grad(dot, ws) as Tensor[];
    return [loss.detach(), ...gs.map((g) => g.detach()), ...hg];
  },
  backwardCreateGraph: (x) => {
    const w = x[0]!;
    w.tanh().mul(w.exp()).sum().backward(null, { createGraph: true });
    const g = w.grad!;
    const [h] = grad(g.mul(g).sum(), [w]) as [Tensor];
    // The stored gradient references its own graph: clear it to free that graph.
    w.grad = null;
    return [g.detach(), h];
  },
};
for (const name of ['add', 'sub', 'mul', 'div', 'pow', 'fmod', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'maximum',
  'minimum', 'logicalAnd', 'logicalOr']) {
  ops[`binary:${name}`] = binary(name);
}
for (const name of unaryNames) ops[`unary:${name}`] = (x) => method(x[0]!, name) as Tensor;

function runCase(c: Case): void {
  const op = ops[c.op];
  if (!op) throw new Error(`no TS implementation for fixture op '${c.op}'`);
  tidy(() => {
    const inputs = c.inputs.map((e) => {
      const t = decode(e);
      if (e.grad) t.requiresGrad = true;
      return t;
    });
    const result = op(inputs, c.args);
    const outs = Array.isArray(result) ? result : [result];
    assert.equal(outs.length, c.outputs.length, 'number of outputs');
    outs.forEach((o, i) => {
      assertMatches(o, c.outputs[i]!, `output ${i}`);
      assert.equal(o.requiresGrad, c.outputRequiresGrad[i], `output ${i}: requiresGrad`);
    });
    if (!c.grads) return;
    let loss: Tensor | null = null;
    outs.forEach((o, i) => {
      const w = c.upstream[i];
      if (!w) return;
      const term = o.mul(decode(w)).sum();
      loss = loss ? loss.add(term) : term;
    });
    assert.ok(loss, 'the fixture has gradients but no output was weighted');
    const diff = inputs.filter((_, i) => c.inputs[i]!.grad);
    const gs = grad(loss, diff, { allowUnused: true });
    assert.equal(gs.length, c.grads.length);
    gs.forEach((g, i) => {
      const want = c.grads![i];
      if (want === null || want === undefined) {
        assert.equal(g, null, `grad ${i}: expected none`);
      } else {
        assert.ok(g, `grad ${i}: missing`);
        assertMatches(g, want, `grad ${i}`);
      }
    });
  });
}

const { cases } = readJson('cases.json') as { cases: Case[] };

test('op parity with PyTorch: fixtures are present', () => {
  assert.ok(cases.length > 200, `only ${cases.length} cases in cases.json`);
});

for (const c of cases) {
  test(`parity: ${c.name}`, () => {
    const before = memory().numTensors;
    runCase(c);
    assert.equal(memory().numTensors, before, 'tensors leaked by the case');
  });
}

// ---------------------------------------------------------------- random factories

const { sequences } = readJson('random.json') as {
  sequences: { seed: number; steps: RandomStep[]; outputs: Encoded[] }[];
};

function draw(s: RandomStep): Tensor {
  const dtype = s.dtype ?? 'float32';
  const shape = s.shape ?? [];
  switch (s.fn) {
    case 'rand': return rand(shape, { dtype });
    case 'randn': return randn(shape, { dtype });
    case 'randint': return randint(s.low as number, s.high as number, shape);
    case 'randperm': return randperm(s.n as number);
    case 'uniform_': return zeros(shape, { dtype }).uniform_(s.from as number, s.to as number);
    case 'normal_': return zeros(shape, { dtype }).normal_(s.mean as number, s.std as number);
    case 'bernoulli_': return zeros(shape, { dtype }).bernoulli_(s.p as number);
    default: throw new Error(`unknown random step ${s.fn}`);
  }
}

for (const seq of sequences) {
  test(`random parity: seed ${seq.seed}, ${seq.steps.map((s) => s.fn).join(', ')}`, () => {
    tidy(() => {
      manualSeed(seq.seed);
      seq.steps.forEach((s, i) => {
        const t = draw(s);
        // Bit-for-bit: same generator, same algorithm.
        assert.deepEqual(t.shape, seq.outputs[i]!.shape);
        assert.deepEqual(t.data(), decode(seq.outputs[i]!).data(), `step ${i} (${s.fn})`);
      });
    });
  });
}
