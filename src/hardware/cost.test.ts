// Parameter counts against NAS-Bench-201's published numbers, and the
// other spaces' cost models against hand counts and each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/random.js';
import { chainSpace, DARTS_V2_TEXT, dartsSpace, hierarchicalSpace, mobilenetSpace, nb201Space, parseGenotype } from '../spaces/index.js';
import { costOf, getSpace, kitNames } from '../kits/index.js';
import { chainCost, dartsCost, nb201Cost } from './cost.js';
import { makeDivisible } from '../spaces/mobilenet.js';

const all = (op: string) => `|${op}~0|+|${op}~0|${op}~1|+|${op}~0|${op}~1|${op}~2|`;

test('nb201 parameter counts match NAS-Bench-201 (C=16, N=5, 3x32x32)', () => {
  const nb = nb201Space();
  const params = (text: string, classes = 10) => costOf(nb, nb.parse(text), { classes }).params;
  assert.equal(params(all('nor_conv_3x3')), 1_531_546);
  assert.equal(params(all('none')), 73_306);
  assert.equal(params('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'), 802_426);
  assert.equal(params('|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|'), 372_346);
  assert.equal(params(all('nor_conv_3x3'), 100), 1_537_396);
});

test('nb201 FLOPs: conv and linear multiply-adds, about 220M for the all-3x3 cell', () => {
  const full = nb201Cost(Array(6).fill('nor_conv_3x3'));
  assert.equal(full.flops, 220_119_690);
  assert.ok(Math.abs(nb201Cost(Array(6).fill('none')).flops / 1e6 - 7.78) < 0.01);
  // Skip, pooling and none cost nothing, so these two cells cost the same.
  assert.deepEqual(nb201Cost(['skip_connect', 'avg_pool_3x3', 'none', 'none', 'none', 'none']), nb201Cost(Array(6).fill('none')));
  // Resolution scales FLOPs, not parameters.
  const big = nb201Cost(Array(6).fill('nor_conv_3x3'), { input: [3, 64, 64] });
  assert.equal(big.params, full.params);
  assert.ok(big.flops > 3.9 * full.flops);
});

test('the hierarchical skeleton reduces to NAS-Bench-201 for 3 stages of 5 cells', () => {
  const h = hierarchicalSpace({ stageCounts: [3], cellsPerStage: [5], channels: [16, 32, 64] });
  const s = h.parse(`${all('nor_conv_3x3')} @ 5x16,5x32,5x64`);
  assert.deepEqual(costOf(h, s), nb201Cost(Array(6).fill('nor_conv_3x3')));
});

test('darts: DARTS V2 on CIFAR-10 (C=36, 20 cells) is about 3.3M params and 528M multiply-adds', () => {
  const g = parseGenotype(DARTS_V2_TEXT);
  const cost = dartsCost(g);
  assert.equal(cost.params, 3_349_342); // DARTS's log: param size = 3.349342MB
  assert.equal(Math.round(cost.flops / 1e6), 528);
  const withAux = dartsCost(g, { auxiliary: true });
  // Auxiliary head at 8x8 with 576 channels: 576·128 + 256 + 128·768·4 + 1536 + 768·10 + 10.
  assert.equal(withAux.params - cost.params, 576 * 128 + 256 + 128 * 768 * 4 + 1536 + 768 * 10 + 10);
  const d = dartsSpace();
  assert.deepEqual(costOf(d, d.parse(DARTS_V2_TEXT)), cost);
  // Fewer cells and channels, fewer parameters.
  assert.ok(dartsCost(g, { cells: 8, channels: 16 }).params < cost.params / 5);
});

test('chain cost counts each layer as documented', () => {
  const layers = [
    { op: 'conv', kernel: 3, filters: 16, activation: 'relu' },
    { op: 'sep_conv', kernel: 5, filters: 32, activation: 'swish' },
    { op: 'max_pool', kernel: 3, filters: 32, activation: 'relu' },
    { op: 'identity', kernel: 3, filters: 64, activation: 'relu' },
    { op: 'zero', kernel: 3, filters: 16, activation: 'relu' },
  ];
  const c = chainCost(layers, [1], { classes: 10 });
  const params = 27 * 16 + 32 + (25 * 16 + 16 * 32 + 64) + 0 + (32 * 64 + 128) + 0 + (16 * 10 + 10);
  const flops = 32 * 32 * 27 * 16 + 32 * 32 * (25 * 16 + 16 * 32) + 16 * 16 * 32 * 64 + 16 * 10 + 10;
  assert.deepEqual(c, { params, flops });
  const space = chainSpace();
  assert.deepEqual(costOf(space, space.fromLayers(layers)), chainCost(layers, space.config.poolAfter));
});

test('mobilenet cost grows with kernels, expansion and resolution as it should', () => {
  const mb = mobilenetSpace();
  const base = 'r160|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3';
  const c0 = costOf(mb, mb.parse(base), { classes: 1000 });
  const bigKernel = costOf(mb, mb.parse(base.replace('k3e3', 'k7e3')), { classes: 1000 });
  const bigExpand = costOf(mb, mb.parse(base.replace('k3e3', 'k3e6')), { classes: 1000 });
  const bigRes = costOf(mb, mb.parse(base.replace('r160', 'r224')), { classes: 1000 });
  assert.ok(bigKernel.params > c0.params && bigKernel.flops > c0.flops);
  assert.ok(bigExpand.params > c0.params);
  assert.equal(bigRes.params, c0.params);
  assert.ok(bigRes.flops > 1.8 * c0.flops);
  // Only the first stage-0 layer changed from k3 to k7: 16·3 = 48 mid channels, 48·(49-9) more weights.
  assert.equal(bigKernel.params - c0.params, 48 * 40);
  assert.equal(makeDivisible(16 * 3), 48);
  assert.equal(makeDivisible(24 * 4.5), 112);
  assert.equal(makeDivisible(10), 16);
});

test('every built-in space has a cost model', () => {
  const rng = new Rng(7);
  for (const name of kitNames()) {
    const space = getSpace(name);
    for (let i = 0; i < 5; i++) {
      const cost = costOf(space, space.sample(rng));
      assert.ok(Number.isInteger(cost.params) && cost.params > 0, name);
      assert.ok(Number.isInteger(cost.flops) && cost.flops > 0, name);
    }
  }
});

test('the cost model agrees with the built NB201 network, which runs forward and backward', async () => {
  const { NB201Network } = await import('../networks/nb201.js');
  const { memory, randn, randint, tidy, crossEntropy } = await import('../tensor/index.js');
  const start = memory().numTensors;
  const nb = nb201Space();
  const rng = new Rng(3);
  for (let i = 0; i < 4; i++) {
    const s = nb.sample(rng);
    const net = new NB201Network({ ops: nb.opsOf(s), C: 8, N: 1, numClasses: 5 });
    assert.equal(net.numParameters(), costOf(nb, s, { channels: 8, cells: 1, classes: 5 }).params, nb.format(s));
    tidy(() => {
      const logits = net.call(randn([2, 3, 16, 16]));
      assert.deepEqual(logits.shape, [2, 5]);
      crossEntropy(logits, randint(0, 5, [2])).backward();
    });
    net.dispose();
  }
  assert.equal(memory().numTensors, start);
});
