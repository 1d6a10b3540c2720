// Compound scaling: the grid keeps α·β²·γ² near its target, the kits'
// scaled samples are valid samples of their widened spaces whose networks
// match the cost model, and a family's FLOPs grow about 2^φ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memory, randn, tidy } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Rng } from '../util/random.js';
import {
  buildNetwork, compoundGrid, costOf, costOptionsFor, flopsFactor, getKit, getSpace, multipliersAt, scaledFamily, scaleSample, spreadPoints,
} from './index.js';

test('the grid holds only multipliers >= 1 with α·β²·γ² within the tolerance of 2', () => {
  const grid = compoundGrid({ step: 0.05, tolerance: 0.05 });
  assert.ok(grid.length > 10, `${grid.length} points`);
  for (const m of grid) {
    assert.ok(m.depth >= 1 && m.width >= 1 && m.resolution >= 1);
    assert.ok(Math.abs(flopsFactor(m) - 2) <= 0.1 + 1e-9, JSON.stringify(m));
  }
  // EfficientNet's own choice lies on a 0.05 grid.
  assert.ok(grid.some((m) => m.depth === 1.2 && m.width === 1.1 && m.resolution === 1.15));
  // Nearest to the target first.
  assert.ok(Math.abs(flopsFactor(grid[0]!) - 2) <= Math.abs(flopsFactor(grid.at(-1)!) - 2));
  assert.deepEqual(spreadPoints([1, 2, 3, 4, 5], 3), [1, 3, 5]);
  assert.throws(() => compoundGrid({ step: 0.5, max: 1.2 }), (e: unknown) => e instanceof TsnasError && /tolerance/.test(e.message));
  const m = { depth: 1.2, width: 1.1, resolution: 1.15 };
  assert.ok(Math.abs(flopsFactor(multipliersAt(m, 3)) - flopsFactor(m) ** 3) < 1e-9);
});

const CASES = [
  { space: 'chain', options: { maxDepth: 4, filters: [8, 16] }, arch: 'conv:3:8:relu > sep_conv:3:16:relu > conv:3:16:relu', inputSize: 28 },
  // The default widths and resolution: at small ones the fixed stem and head (to 960 and 1280 channels) hold most FLOPs, and do not scale.
  { space: 'mobilenet', options: {}, arch: 'r160|k3e3,k3e3|k3e3,k5e3|k3e3,k3e4|k3e3,k3e3|k3e3,k3e3', inputSize: 160 },
];

for (const c of CASES) {
  test(`${c.space}: a scaled sample is valid in its widened space, its network matches the cost model, and the family's FLOPs grow about 2^φ`, () => {
    const space = getSpace(c.space, { [c.space]: c.options });
    const base = space.parse(c.arch);
    const m = { depth: 1.2, width: 1.1, resolution: 1.15 };
    const family = scaledFamily(space, base, m, [0, 1, 2, 3], { inputSize: c.inputSize, inChannels: 1, numClasses: 10 });
    // φ = 0 is the base network itself.
    assert.equal(family[0]!.arch, c.arch);
    assert.equal(family[0]!.inputSize, c.inputSize);
    const flops0 = family[0]!.cost.flops;
    for (const member of family) {
      member.space.validate(member.sample);
      assert.deepEqual(member.space.parse(member.arch), member.sample);
      const ratio = member.cost.flops / flops0;
      // Depths are whole numbers and a fixed stem and head do not scale: about 2^φ, not exactly.
      assert.ok(ratio > 0.6 * 2 ** member.phi && ratio < 1.6 * 2 ** member.phi, `φ ${member.phi}: FLOPs ×${ratio.toFixed(2)}`);
    }
    for (let k = 1; k < family.length; k++) assert.ok(family[k]!.cost.flops > family[k - 1]!.cost.flops);
    assert.equal(family[3]!.inputSize, Math.round(c.inputSize * 1.15 ** 3));
    // The φ = 1 member builds, runs and has the cost model's parameters.
    const top = family[1]!;
    const start = memory().numTensors;
    const o = { numClasses: 10, inChannels: 1, inputSize: top.inputSize };
    const net = buildNetwork(top.space, top.sample, o);
    try {
      assert.equal(net.numParameters(), costOf(top.space, top.sample, costOptionsFor(o)).params);
      net.eval();
      tidy(() => assert.deepEqual(net.call(randn([2, 1, top.inputSize, top.inputSize])).shape, [2, 10]));
    } finally {
      net.dispose();
    }
    assert.equal(memory().numTensors, start);
  });
}

test('scaling checks its multipliers and names the spaces that can scale', () => {
  const chain = getSpace('chain');
  const s = chain.parse('conv:3:16:relu');
  assert.throws(() => scaleSample(chain, s, { depth: 0.5, width: 1, resolution: 1 }, 28), (e: unknown) => e instanceof TsnasError && e.where === 'depth');
  const nb201 = getSpace('nb201');
  assert.equal(getKit('nb201').scale, undefined);
  assert.throws(() => scaleSample(nb201, nb201.sample(new Rng(1)), { depth: 1, width: 1, resolution: 1 }, 32), (e: unknown) => e instanceof TsnasError && /chain/.test(e.message) && /mobilenet/.test(e.message));
});
