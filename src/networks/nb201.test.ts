import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, crossEntropy, manualSeed, memory, noGrad, randint, randn, tidy } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { SGD } from '../nn/optim.js';
import { ReLU } from '../nn/layers.js';
import { NB201Cell, NB201Network } from './nb201.js';
import { formatNb201Ops, parseNb201Ops } from '../spaces/nb201.js';
import { assertClose } from '../testing/assert.js';
import { decode, loadNnFixture } from '../testing/fixtures.js';

const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const ALL_NONE = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';
const MIXED_A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const MIXED_B = '|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';

test('parameter counts equal NAS-Bench-201 figures (C=16, N=5)', () => {
  const start = memory().numTensors;
  const cases: [string, number, number][] = [
    [ALL_CONV, 10, 1_531_546],
    [ALL_NONE, 10, 73_306],
    [MIXED_A, 10, 802_426],
    [MIXED_B, 10, 372_346],
    [ALL_CONV, 100, 1_537_396],
  ];
  for (const [arch, numClasses, expected] of cases) {
    const net = new NB201Network({ ops: parseNb201Ops(arch), C: 16, N: 5, numClasses, inChannels: 3 });
    assert.equal(net.numParameters(), expected, `${arch} with ${numClasses} classes`);
    net.dispose();
  }
  // Fashion-MNIST: the stem sees one channel (16 * 2 * 9 fewer weights).
  const gray = new NB201Network({ ops: parseNb201Ops(ALL_CONV), C: 16, N: 5, numClasses: 10, inChannels: 1 });
  assert.equal(gray.numParameters(), 1_531_546 - 16 * 2 * 9);
  gray.dispose();
  assert.equal(memory().numTensors, start);
});

test('seeded initialisation, train and eval logits and gradients match the PyTorch network', () => {
  const f = loadNnFixture('nb201.json');
  manualSeed(f.seed);
  const net = new NB201Network({ ops: f.ops, C: f.C, N: f.N, numClasses: f.numClasses, inChannels: f.inChannels });
  assert.equal(net.numParameters(), f.numParameters);
  const state = net.stateDict();
  assert.deepEqual(Object.keys(state).filter((k) => !k.endsWith('num_batches_tracked')).sort(), Object.keys(f.paramSums).sort(),
    'state dict keys are XAutoDL\'s');
  tidy(() => {
    for (const [k, sum] of Object.entries(f.paramSums as Record<string, number>)) {
      assertClose([state[k]!.sum().item()], [sum], `initial sum of ${k}`, 1e-5, 1e-5);
    }
    const x = decode(f.input);
    const logits = net.call(x);
    assertClose(logits, f.trainLogits, 'train-mode logits', 1e-4, 1e-5);
    logits.sum().backward();
    const params = Object.fromEntries(net.namedParameters());
    assert.equal(params['cells.0.layers.1.op.1.weight']!.grad, null, 'node 2 feeds only a "none" edge: not computed');
    for (const [k, g] of Object.entries(f.gradAbsSums as Record<string, number>)) {
      // Ops feeding only a "none" edge are skipped here (no gradient); PyTorch gives them zeros.
      const ours = params[k]!.grad?.abs().sum().item() ?? 0;
      assertClose([ours], [g], `gradient of ${k}`, 1e-3, 1e-5);
    }
    net.eval();
    assertClose(net.call(x), f.evalLogits, 'eval-mode logits', 1e-4, 1e-5);
  });
  net.dispose();
});

test('architecture strings round trip, and bad input is named', () => {
  for (const arch of [ALL_CONV, ALL_NONE, MIXED_A, MIXED_B]) assert.equal(formatNb201Ops(parseNb201Ops(arch)), arch);
  assert.deepEqual(parseNb201Ops(MIXED_B), ['nor_conv_1x1', 'skip_connect', 'nor_conv_1x1', 'avg_pool_3x3', 'none', 'nor_conv_3x3']);
  assert.throws(() => parseNb201Ops('|none~0|+|none~0|'), /found the end of the text, expected an op for edge 2<-1/);
  assert.throws(() => parseNb201Ops('|none~0|+|none~1|none~0|+|none~0|none~1|none~2|'), /found '1', expected input 0/);
  // A cell of n nodes has n(n+1)/2 edges (the nb201 space's `nodes` option): 2 ops fit none.
  assert.throws(() => new NB201Network({ ops: ['none', 'none'], C: 4, N: 1, numClasses: 2 }), /one operation per edge, n\(n\+1\)\/2 for n nodes .*got 2/);
  assert.throws(() => new NB201Network({ ops: ['none', 'none', 'none', 'conv_5x5', 'none', 'none'], C: 4, N: 1, numClasses: 2 }),
    (e: unknown) => e instanceof TsnasError && e.code === 'config' && /edge 3 \(node 3 <- 0\) has unknown operation "conv_5x5"/.test(e.message));
  assert.throws(() => new NB201Network({ ops: parseNb201Ops(ALL_NONE), C: 0, N: 1, numClasses: 2 }), /C must be a positive integer/);
});

test('a cell whose node has only "none" inputs still passes its downstream ops correctly', () => {
  // Node 1 is all-none, so node 3 <- 1 sees zeros: BN(conv(0)) is BN's bias, not zero.
  const ops = ['none', 'skip_connect', 'none', 'none', 'nor_conv_3x3', 'none'];
  const net = new NB201Network({ ops, C: 4, N: 1, numClasses: 3, inChannels: 1 });
  // Every cell then outputs a constant; give that constant a non-zero value so gradients flow.
  for (const c of net.cells) {
    if (c instanceof NB201Cell) noGrad(() => c.getModule('layers')!.getModule('4')!.getModule('op')!.getModule('2')!.getParameter('bias')!.fill_(0.5));
  }
  // Such a cell ignores its input, so only the last cell's parameters can get a gradient.
  const cell = net.cells.at(-1);
  const params = Object.fromEntries(cell.namedParameters());
  net.eval(); // running stats are the initial ones: BN(0) = bias
  let cellOutput: Tensor | null = null;
  cell.registerForwardHook((_m, _i, out) => {
    cellOutput = out;
  });
  tidy(() => {
    const y = net.call(randn([2, 1, 8, 8]));
    assert.deepEqual(y.shape, [2, 3]);
    assert.deepEqual(cellOutput!.shape, [2, 16, 2, 2]);
    assert.ok(cellOutput!.toArray().every((v) => Math.abs(v - 0.5) < 1e-6), 'cell output is the BN bias everywhere');
    y.sum().backward();
    assert.equal(params['layers.4.op.1.weight']!.grad!.abs().sum().item(), 0, 'the conv reads zeros');
    assert.ok(params['layers.4.op.2.bias']!.grad!.abs().sum().item() > 0, 'the BN bias still learns');
  });
  net.dispose();
});

test('200 training steps of a small NB201 network keep the live tensor count constant', () => {
  const net = new NB201Network({ ops: parseNb201Ops(MIXED_A), C: 4, N: 1, numClasses: 3, inChannels: 1 });
  const opt = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const x = randn([8, 1, 8, 8]);
  const y = randint(0, 3, [8]);
  let afterFirst = -1;
  let firstLoss = 0;
  let lastLoss = 0;
  for (let step = 0; step < 200; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = crossEntropy(net.call(x), y);
      l.backward();
      opt.step();
      return l.item();
    });
    if (step === 0) {
      afterFirst = memory().numTensors;
      firstLoss = loss;
    }
    lastLoss = loss;
  }
  assert.equal(memory().numTensors, afterFirst);
  assert.ok(lastLoss < firstLoss * 0.5, `the net fits a fixed batch (loss ${firstLoss} -> ${lastLoss})`);
  x.dispose();
  y.dispose();
  opt.dispose();
  net.dispose();
});

test('forward hooks on every ReLU capture activations and their gradients (NASWOT, fisher)', () => {
  const net = new NB201Network({ ops: parseNb201Ops(MIXED_B), C: 4, N: 1, numClasses: 3, inChannels: 3 });
  const captured: Tensor[] = [];
  const removers = net.modules().filter((m) => m instanceof ReLU).map((m) => m.registerForwardHook((_m, _i, out) => {
    // Kept: Sequential releases an intermediate output once the next layer has read it.
    captured.push(out.retainGrad().keep());
  }));
  tidy(() => {
    net.call(randn([2, 3, 8, 8])).sum().backward();
    // MIXED_B per cell: two 1x1 convs, one 3x3 conv (one ReLU each); two reductions (2 each); last act.
    assert.equal(captured.length, 3 * 3 + 2 * 2 + 1);
    for (const a of captured) assert.ok(a.grad, 'every activation has a gradient');
  });
  for (const a of captured) a.dispose();
  for (const remove of removers) remove();
  net.dispose();
});
