// One-shot search on the chain, mobilenet and hierarchical supernets: SPOS
// (uniform and strict-fair) and ENAS end to end on tiny spaces, resource
// limits in the evolutionary search, and the exported fixed network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset } from '../../data/synthetic.js';
import { loadSafetensors } from '../../export/safetensors.js';
import { MobilenetNetwork } from '../../networks/mobilenet.js';
import { costOf, getSpace, type SpaceOptions } from '../../kits/index.js';
import type { MobilenetSpace } from '../../spaces/index.js';
import { manualSeed, memory } from '../../tensor/index.js';
import { Rng } from '../../util/random.js';
import { runEnas } from './enas.js';
import { runSpos, type SposOptions } from './spos.js';

const data = syntheticDataset({ n: 64, height: 12, width: 12, numClasses: 3, seed: 5 });

export const TINY_SPACES: Record<'chain' | 'mobilenet' | 'hierarchical', SpaceOptions> = {
  chain: { chain: { maxDepth: 3, filters: [4, 8], poolAfter: [1] } },
  mobilenet: {
    mobilenet: {
      resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true],
      depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3],
    },
  },
  hierarchical: { hierarchical: { stageCounts: [1, 2], cellsPerStage: [1, 2], channels: [4, 8] } },
};

const tiny = (space: string, extra: Partial<SposOptions> = {}): SposOptions => ({
  space, spaceOptions: TINY_SPACES[space as keyof typeof TINY_SPACES], C: 4, cells: 1, epochs: 2, batchSize: 8, stepsPerEpoch: 2, seed: 1,
  calibrationBatches: 1, evalBatches: 1, evolution: { budget: 6, population: 3, topK: 2 }, ...extra,
});

for (const name of ['chain', 'mobilenet', 'hierarchical'] as const) {
  test(`SPOS on the ${name} supernet (uniform and strict-fair): a valid sample, its cost, no leaked tensors`, async () => {
    const space = getSpace(name, TINY_SPACES[name]);
    for (const sampling of ['uniform', 'strict-fair'] as const) {
      manualSeed(7);
      const start = memory().numTensors;
      const r = await runSpos(data, tiny(name, { sampling }));
      space.validate(r.sample);
      assert.equal(r.arch, space.format(r.sample));
      assert.deepEqual(space.parse(r.arch), r.sample);
      assert.equal(r.history.length, 2);
      assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss) && h.trainAccuracy >= 0 && h.trainAccuracy <= 1));
      assert.equal(r.evaluations, 6);
      assert.ok(r.supernetAccuracy >= 0 && r.supernetAccuracy <= 1);
      assert.deepEqual(r.cost, costOf(space, r.sample, { classes: 3, input: [3, 12, 12] }));
      assert.equal(memory().numTensors, start);
    }
  });
}

test('ENAS on the chain supernet: the controller samples valid chains', async () => {
  manualSeed(8);
  const start = memory().numTensors;
  const r = await runEnas(data, { ...tiny('chain'), controllerSteps: 2, deriveSamples: 3 });
  getSpace('chain', TINY_SPACES.chain).validate(r.sample);
  assert.ok(r.evaluations >= 1 && r.evaluations <= 3);
  assert.equal(memory().numTensors, start);
});

test('SPOS with --max-params: every found architecture is within the limit; an unreachable limit is a usage error', async () => {
  manualSeed(9);
  const space = getSpace('chain', TINY_SPACES.chain);
  // The median of random chains: the limit binds.
  const rng = new Rng(11);
  const costs = Array.from({ length: 41 }, () => costOf(space, space.sample(rng), { classes: 3, input: [3, 12, 12] }).params).sort((a, b) => a - b);
  const limit = costs[20]!;
  assert.ok(costs[40]! > limit);
  const r = await runSpos(data, tiny('chain', { limits: { maxParams: limit }, evolution: { budget: 8, population: 4 } }));
  assert.ok(r.cost.params <= limit, `${r.arch} has ${r.cost.params} params`);
  const before = memory().numTensors;
  await assert.rejects(() => runSpos(data, tiny('chain', { limits: { maxParams: 1 } })), /--max-params: no architecture of the chain space drawn in 2000 tries meets --max-params 1; the cheapest drawn has \d+ FLOPs and \d+ params/);
  assert.equal(memory().numTensors, before);
  // mobilenet: the exact cheapest sub-network is checked, before any training.
  await assert.rejects(() => runSpos(data, tiny('mobilenet', { limits: { maxFlops: 1000 } })), /--max-flops: no sub-network meets --max-flops 1000: the smallest \(r8\|k3e2\|k3e2\) has \d+ FLOPs/);
});

test('SPOS --export: the file holds the found mobilenet sub-network, loadable into its fixed network', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-oneshot-export-'));
  try {
    manualSeed(10);
    const start = memory().numTensors;
    const path = join(dir, 'found.safetensors');
    const r = await runSpos(data, tiny('mobilenet', { exportPath: path }));
    assert.equal(r.exported, path);
    const { tensors, metadata } = loadSafetensors(path);
    assert.equal(metadata.arch, r.arch);
    assert.equal(metadata.space, 'mobilenet');
    const space = getSpace('mobilenet', TINY_SPACES.mobilenet) as MobilenetSpace;
    const fixed = new MobilenetNetwork({ arch: space.archOf(r.sample), config: space.config, numClasses: 3, inChannels: 3 });
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(fixed.stateDict()).sort());
    fixed.loadStateDict(tensors);
    fixed.dispose();
    for (const t of Object.values(tensors)) t.dispose();
    assert.equal(memory().numTensors, start);
    await assert.rejects(() => runSpos(data, { ...tiny('nb201'), exportPath: path }), /--export: .*got 'nb201'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
