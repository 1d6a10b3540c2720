import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, memory, noGrad, ones, randn, tidy, zeros } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from './module.js';
import { BatchNorm2d, Conv2d, Linear, ReLU, Sequential } from './layers.js';

class Small extends Module {
  readonly features: Sequential;
  readonly head: Linear;
  readonly scale: Tensor;
  constructor() {
    super();
    this.features = this.registerModule('features', new Sequential(new Conv2d(2, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU()));
    this.head = this.registerModule('head', new Linear(3, 4));
    this.scale = this.registerParameter('scale', ones([1]));
    this.registerBuffer('scratch', zeros([2]), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    const f = this.features.call(x).mean([2, 3]);
    return this.head.call(f).mul(this.scale);
  }
}

test('names, traversal and counts follow torch conventions', () => {
  const start = memory().numTensors;
  const m = new Small();
  assert.deepEqual(m.namedParameters().map(([n]) => n), [
    'scale', 'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'head.weight', 'head.bias',
  ]);
  assert.deepEqual(Object.keys(m.stateDict()), [
    'scale', 'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias',
    'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked', 'head.weight', 'head.bias',
  ]);
  assert.equal(m.buffers().length, 4, 'three BN buffers plus the non-persistent scratch');
  assert.equal(m.numParameters(), 1 + 2 * 3 * 9 + 3 + 3 + 3 + 3 * 4 + 4);
  assert.equal(m.modules().length, 6);
  assert.equal(m.children().length, 2);
  assert.ok(m.parameters().every((p) => p.requiresGrad));
  m.eval();
  assert.ok(m.modules().every((x) => !x.training));
  m.train();
  assert.ok(m.modules().every((x) => x.training));
  m.dispose();
  assert.ok(m.isDisposed);
  assert.equal(memory().numTensors, start, 'dispose frees every parameter and buffer');
});

test('parameters survive tidy and gradients are cleared by zeroGrad', () => {
  const m = tidy(() => new Small());
  const start = memory().numTensors;
  tidy(() => m.call(randn([2, 2, 4, 4])).sum().backward());
  assert.equal(memory().numTensors, start);
  assert.ok(m.parameters().every((p) => !p.isDisposed));
  const g = m.head.weight.grad;
  assert.ok(g, 'backward filled the gradient');
  g.dispose();
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === null));
  m.dispose();
});

test('stateDict round trip copies values into the same tensors', () => {
  const a = new Small();
  const b = new Small();
  const weightBefore = b.head.weight;
  tidy(() => a.call(randn([2, 2, 4, 4]))); // changes a's running statistics
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(b.head.weight, weightBefore, 'loading keeps tensor identity');
  for (const [key, t] of Object.entries(a.stateDict())) {
    assert.deepEqual(b.stateDict()[key]!.toArray(), t.toArray(), key);
  }
  const x = randn([2, 2, 4, 4]);
  a.eval();
  b.eval();
  tidy(() => assert.deepEqual(a.call(x).toArray(), b.call(x).toArray()));
  x.dispose();
  a.dispose();
  b.dispose();
});

test('loadStateDict names bad keys and shapes, and changes nothing on failure', () => {
  const m = new Small();
  const other = new Small();
  const dict = { ...other.stateDict() };
  const before = m.head.weight.toArray();

  const extra = zeros([1]);
  assert.throws(() => m.loadStateDict({ ...dict, 'head.extra': extra }),
    (e: unknown) => e instanceof TsnasError && e.code === 'data' && /unexpected keys: "head\.extra"/.test(e.message));
  const { 'features.1.running_var': _dropped, ...missing } = dict;
  assert.throws(() => m.loadStateDict(missing), /missing keys: "features\.1\.running_var"/);
  const res = m.loadStateDict({ ...missing, 'head.extra': extra }, { strict: false });
  assert.deepEqual(res, { missingKeys: ['features.1.running_var'], unexpectedKeys: ['head.extra'] });

  const wrong = zeros([4, 2]);
  noGrad(() => m.head.weight.zero_()); // so that a partial load would show
  const current = m.head.weight.toArray();
  assert.throws(() => m.loadStateDict({ ...dict, 'head.weight': wrong }),
    /state dict key "head\.weight": expected shape \[4, 3\], found \[4, 2\]/);
  assert.throws(() => m.loadStateDict({ ...dict, 'head.weight': wrong }, { strict: false }), /expected shape/);
  assert.deepEqual(m.head.weight.toArray(), current, 'nothing copied when a shape is wrong');
  assert.notDeepEqual(before, current);
  extra.dispose();
  wrong.dispose();
  m.dispose();
  other.dispose();
});

test('forward hooks see input and output, can replace it, and are removable', () => {
  const m = new Small();
  const relu = m.features.at(2);
  const seen: number[][] = [];
  const remove = relu.registerForwardHook((_mod, input, output) => {
    seen.push(output.shape);
    assert.equal(input.length, 1);
  });
  const x = randn([2, 2, 4, 4]);
  tidy(() => m.call(x));
  assert.deepEqual(seen, [[2, 3, 4, 4]]);
  remove();
  tidy(() => m.call(x));
  assert.equal(seen.length, 1, 'removed hook no longer fires');

  const removeReplace = m.head.registerForwardHook((_mod, _input, output) => output.mul(0));
  tidy(() => assert.ok(m.call(x).toArray().every((v) => v === 0)));
  removeReplace();
  const removePre = m.registerForwardPreHook((_mod, [input]) => [input.mul(0)]);
  tidy(() => {
    const y = m.call(x);
    const expected = m.head.bias!.mul(m.scale); // zero input through conv/BN/ReLU/mean gives zero features
    // BN of a constant is zero up to rounding (divided by sqrt(eps)), hence the loose tolerance.
    const e = expected.toArray();
    y.select(0, 0).toArray().forEach((v, i) => assert.ok(Math.abs(v - e[i]!) < 1e-3, `logit ${i}: ${v} vs ${e[i]}`));
  });
  removePre();
  x.dispose();
  m.dispose();
});

test('a forward hook can capture an activation gradient with retainGrad', () => {
  const m = new Small();
  let activation: Tensor | null = null;
  m.features.at(2).registerForwardHook((_mod, _input, output) => {
    output.retainGrad();
    activation = output;
  });
  const start = memory().numTensors;
  const { grad, expected } = tidy(() => {
    const x = randn([2, 2, 4, 4]);
    m.call(x).sum().backward();
    const g = activation!.grad;
    assert.ok(g, 'activation gradient retained');
    // d(sum of logits)/d(activation) = (sum over classes of head.weight * scale) / (H W), per channel.
    const perChannel = m.head.weight.sum(0).mul(m.scale).div(16);
    return { grad: g, expected: perChannel.view(1, 3, 1, 1).expand(2, 3, 4, 4).contiguous() };
  });
  assert.deepEqual(grad.shape, [2, 3, 4, 4]);
  const a = grad.toArray();
  const e = expected.toArray();
  a.forEach((v, i) => assert.ok(Math.abs(v - e[i]!) < 1e-6, `element ${i}: ${v} vs ${e[i]}`));
  grad.dispose();
  expected.dispose();
  assert.equal(memory().numTensors, start);
  m.dispose();
});

test('to(the current device) keeps tensors; registration rejects clashes', () => {
  const m = new Small();
  const w = m.head.weight;
  m.to('cpu');
  assert.equal(m.head.weight, w);
  assert.throws(() => m.registerParameter('scale', null), /already registered/);
  assert.throws(() => m.registerModule('a.b', new ReLU()), /no dot/);
  m.dispose();
});
