import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, crossEntropy, memory, randint, randn, tidy } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Adam, AdamW, SGD, type Optimizer } from './optim.js';
import { Conv2d, Linear, ReLU, Sequential, Flatten, AdaptiveAvgPool2d, BatchNorm2d } from './layers.js';
import { assertClose } from '../testing/assert.js';
import { decode, loadNnFixture, type Encoded } from '../testing/fixtures.js';

interface OptimFixture {
  init: Encoded[];
  grads: Encoded[][];
  cases: Record<string, { optimizer: 'SGD' | 'Adam' | 'AdamW'; options: Record<string, number | boolean>; trajectory: Encoded[][] }>;
}
const fixture = loadNnFixture<OptimFixture>('optim.json');

function makeOptimizer(kind: string, params: Tensor[], o: Record<string, number | boolean>): Optimizer {
  const common = { lr: o['lr'] as number, weightDecay: (o['weight_decay'] as number | undefined) ?? undefined };
  switch (kind) {
    case 'SGD':
      return new SGD(params, {
        ...common, weightDecay: common.weightDecay ?? 0, momentum: (o['momentum'] as number) ?? 0,
        dampening: (o['dampening'] as number) ?? 0, nesterov: (o['nesterov'] as boolean) ?? false,
      });
    case 'Adam':
    case 'AdamW': {
      const options = {
        lr: common.lr,
        ...(common.weightDecay !== undefined ? { weightDecay: common.weightDecay } : {}),
        ...(o['beta1'] !== undefined ? { beta1: o['beta1'] as number, beta2: o['beta2'] as number } : {}),
        ...(o['eps'] !== undefined ? { eps: o['eps'] as number } : {}),
        ...(o['amsgrad'] !== undefined ? { amsgrad: o['amsgrad'] as boolean } : {}),
      };
      return kind === 'Adam' ? new Adam(params, options) : new AdamW(params, options);
    }
    default:
      throw new Error(kind);
  }
}

function setGrads(params: Tensor[], grads: Encoded[]): void {
  tidy(() => params.forEach((p, i) => {
    p.grad = decode(grads[i]!);
  }));
}

for (const [name, c] of Object.entries(fixture.cases)) {
  test(`${c.optimizer} (${name}) follows PyTorch 1.13's trajectory`, () => {
    const start = memory().numTensors;
    const params = fixture.init.map((e) => decode(e).requiresGrad_());
    const opt = makeOptimizer(c.optimizer, params, c.options);
    c.trajectory.forEach((expected, step) => {
      setGrads(params, fixture.grads[step]!);
      opt.step();
      params.forEach((p, i) => assertClose(p, expected[i]!, `${name} step ${step + 1} param ${i}`));
      opt.zeroGrad();
    });
    opt.dispose();
    for (const p of params) p.dispose();
    assert.equal(memory().numTensors, start);
  });
}

test('optimizer state dict resumes a run exactly', () => {
  for (const [name, c] of Object.entries(fixture.cases)) {
    const params = fixture.init.map((e) => decode(e).requiresGrad_());
    const first = makeOptimizer(c.optimizer, params, c.options);
    for (let s = 0; s < 3; s++) {
      setGrads(params, fixture.grads[s]!);
      first.step();
    }
    // A fresh optimizer (another process, say) over copies of the parameters.
    const copies = params.map((p) => tidy(() => p.detach().clone()).requiresGrad_());
    const second = makeOptimizer(c.optimizer, copies, c.options);
    second.loadStateDict(first.stateDict());
    for (let s = 3; s < c.trajectory.length; s++) {
      setGrads(copies, fixture.grads[s]!);
      second.step();
    }
    copies.forEach((p, i) => assertClose(p, c.trajectory.at(-1)![i]!, `${name} resumed param ${i}`));
    first.dispose();
    second.dispose();
    for (const p of [...params, ...copies]) p.dispose();
  }
});

test('parameters without gradients are left alone; lr can be changed', () => {
  const a = tidy(() => randn([3]).requiresGrad_());
  const b = tidy(() => randn([3]).requiresGrad_());
  const bBefore = b.toArray();
  const opt = new SGD([{ params: [a], lr: 0.5 }, { params: [b] }], { lr: 0.1, momentum: 0.9 });
  assert.deepEqual(opt.lrs, [0.5, 0.1]);
  tidy(() => a.mul(2).sum().backward());
  const aBefore = a.toArray();
  opt.step();
  a.toArray().forEach((v, i) => assert.ok(Math.abs(v - (aBefore[i]! - 0.5 * 2)) < 1e-6));
  assert.deepEqual(b.toArray(), bBefore);
  assert.deepEqual(Object.keys(opt.stateDict().state), ['0'], 'state only for the parameter that had a gradient');
  opt.setLr(0.01);
  assert.deepEqual(opt.lrs, [0.01, 0.01]);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  opt.dispose();
  a.dispose();
  b.dispose();
});

test('invalid hyper-parameters are rejected with the field named', () => {
  const p = tidy(() => randn([2]).requiresGrad_());
  assert.throws(() => new SGD([p], { lr: -1 }), (e: unknown) => e instanceof TsnasError && /lr must be >= 0/.test(e.message));
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => new Adam([p], { beta1: 1 }), /beta1 must be in \[0, 1\)/);
  assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  p.dispose();
});

test('200 training steps keep the number of live tensors constant', () => {
  const net = new Sequential(
    new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(),
    new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, 3),
  );
  for (const opt of [
    new SGD(net.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
    new AdamW(net.parameters(), { lr: 1e-3, amsgrad: true }),
  ]) {
    const x = randn([8, 1, 6, 6]);
    const y = randint(0, 3, [8]);
    let before = -1;
    for (let step = 0; step < 100; step++) {
      tidy(() => {
        opt.zeroGrad();
        crossEntropy(net.call(x), y).backward();
        opt.step();
      });
      if (step === 1) before = memory().numTensors; // after the optimizer state exists
    }
    assert.equal(memory().numTensors, before, `${opt.constructor.name}: live tensors after 100 steps`);
    x.dispose();
    y.dispose();
    opt.dispose();
  }
  net.dispose();
});
