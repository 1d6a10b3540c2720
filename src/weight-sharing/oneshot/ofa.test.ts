// Once-for-All progressive shrinking: the phase schedule and its errors,
// per-phase sub-network sampling, the distillation loss, training on a
// learnable synthetic task, and the FLOPs limit of the final search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticDataset } from '../../data/synthetic.js';
import { costOf } from '../../kits/index.js';
import { mobilenetSpace, type MobilenetSpace } from '../../spaces/mobilenet.js';
import { grad, manualSeed, memory, tensor, tidy } from '../../tensor/index.js';
import { Rng } from '../../util/random.js';
import {
  OFA_PHASES, distillationLoss, elasticDimensions, largestSubnet, ofaLrSchedule, parsePhaseSplit, phaseSchedule, runOfa, sampleSubnet, smallestSubnet,
  type RunOfaOptions,
} from './ofa.js';

const tinyMobilenet = {
  resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'] as ('relu' | 'hswish')[], squeezeExcite: [false, true],
  depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3],
};

test('phase schedule: epochs split by the shares in OFA order; each phase enables one more dimension', () => {
  assert.deepEqual(phaseSchedule(4, [1, 1, 1, 1]), ['full', 'kernel', 'depth', 'expand']);
  assert.deepEqual(phaseSchedule(10, [2, 1, 1, 1]), ['full', 'full', 'full', 'full', 'kernel', 'kernel', 'depth', 'depth', 'expand', 'expand']);
  // 7·(3,2,2,2)/9 = 2.33, 1.56, 1.56, 1.56: the three largest remainders take the leftover epochs.
  assert.deepEqual(phaseSchedule(7, [3, 2, 2, 2]), ['full', 'full', 'kernel', 'kernel', 'depth', 'depth', 'expand']);
  assert.deepEqual(phaseSchedule(3, [1, 0, 0, 2]), ['full', 'expand', 'expand']);
  assert.equal(phaseSchedule(9, [3, 2, 2, 2]).length, 9);
  assert.deepEqual(OFA_PHASES.map((p) => elasticDimensions(p)), [
    { kernel: false, depth: false, expand: false, resolution: true },
    { kernel: true, depth: false, expand: false, resolution: true },
    { kernel: true, depth: true, expand: false, resolution: true },
    { kernel: true, depth: true, expand: true, resolution: true },
  ]);
});

test('phase split errors name --phase-split and say what was expected', () => {
  assert.deepEqual(parsePhaseSplit('2, 1,1,0.5'), [2, 1, 1, 0.5]);
  const cases: [() => unknown, RegExp][] = [
    [() => parsePhaseSplit('1,1,1'), /--phase-split: expected 4 comma-separated shares \(full,kernel,depth,expand\), got 3/],
    [() => parsePhaseSplit('1,x,1,1'), /--phase-split: expected a non-negative number for the kernel phase, got 'x'/],
    [() => parsePhaseSplit('1,1,-1,1'), /for the depth phase, got '-1'/],
    [() => phaseSchedule(4, [0, 1, 1, 1]), /--phase-split: the full phase needs a positive share/],
    [() => phaseSchedule(2, [1, 1, 1, 1]), /--phase-split: 2 epochs split 1,1,1,1 leave the depth, expand phases without an epoch/],
    // 4·(10,1,1,1)/13 = 3.08, 0.31, 0.31, 0.31: the one leftover epoch goes to the kernel phase.
    [() => phaseSchedule(4, [10, 1, 1, 1]), /4 epochs split 10,1,1,1 leave the depth, expand phases without an epoch/],
  ];
  for (const [f, message] of cases) {
    assert.throws(f, (e: Error & { code?: string }) => e.code === 'usage' && message.test(e.message), String(message));
  }
});

test('learning rate: a cosine restart per phase, shrinking phases from lr · scale', () => {
  const phases = phaseSchedule(6, [2, 1, 0, 0]);
  const lr = ofaLrSchedule(phases, 0.5, 0);
  assert.deepEqual(phases, ['full', 'full', 'full', 'full', 'kernel', 'kernel']);
  assert.equal(lr(0, 1), 1);
  assert.ok(Math.abs(lr(2, 1) - 0.5) < 1e-12);
  assert.equal(lr(4, 1), 0.5);
  assert.ok(Math.abs(lr(5, 1) - 0.25) < 1e-12);
});

test('sub-network sampling: the kernel phase varies only kernel sizes (and resolution); later phases add depth, then expand', () => {
  const space = mobilenetSpace(tinyMobilenet) as MobilenetSpace;
  const rng = new Rng(3);
  const seen = (phase: (typeof OFA_PHASES)[number]) => {
    const values = { kernel: new Set<number>(), expand: new Set<number>(), depth: new Set<number>(), resolution: new Set<number>() };
    for (let i = 0; i < 60; i++) {
      const s = sampleSubnet(space, elasticDimensions(phase), rng);
      space.validate(s);
      const a = space.archOf(s);
      values.resolution.add(a.resolution);
      for (const layers of a.stages) {
        values.depth.add(layers.length);
        for (const l of layers) {
          values.kernel.add(l.kernel);
          values.expand.add(l.expand);
        }
      }
    }
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [...v].sort((x, y) => x - y)]));
  };
  assert.deepEqual(seen('full'), { kernel: [5], expand: [3], depth: [2], resolution: [8, 12] });
  assert.deepEqual(seen('kernel'), { kernel: [3, 5], expand: [3], depth: [2], resolution: [8, 12] });
  assert.deepEqual(seen('depth'), { kernel: [3, 5], expand: [3], depth: [1, 2], resolution: [8, 12] });
  assert.deepEqual(seen('expand'), { kernel: [3, 5], expand: [2, 3], depth: [1, 2], resolution: [8, 12] });
  assert.equal(space.format(largestSubnet(space)), 'r12|k5e3,k5e3|k5e3,k5e3');
  assert.equal(space.format(smallestSubnet(space)), 'r8|k3e2|k3e2');
});

test('distillation loss: the cross-entropy to the teacher\'s softened outputs; its gradient vanishes when the student matches', () => {
  const start = memory().numTensors;
  tidy(() => {
    const s = [[1, 2, 0.5], [0, -1, 3]];
    const t = [[2, 0, 1], [1, 1, -2]];
    const T = 2;
    let expected = 0;
    s.forEach((row, i) => {
      const soft = (v: number[]) => {
        const e = v.map((x) => Math.exp(x / T));
        const z = e.reduce((a, b) => a + b, 0);
        return e.map((x) => x / z);
      };
      const p = soft(t[i]!);
      const q = soft(row);
      expected += -p.reduce((acc, pc, c) => acc + pc * Math.log(q[c]!), 0) * T * T;
    });
    expected /= s.length;
    const student = tensor(s.flat(), [2, 3]).requiresGrad_();
    const teacher = tensor(t.flat(), [2, 3]);
    const loss = distillationLoss(student, teacher, T);
    assert.ok(Math.abs(loss.item() - expected) < 1e-5, `${loss.item()} vs ${expected}`);
    const [g] = grad([loss], [student]);
    assert.ok(g!.abs().max().item() > 1e-2);
    const matched = tensor(t.flat(), [2, 3]).requiresGrad_();
    const [g0] = grad([distillationLoss(matched, teacher, T)], [matched]);
    assert.ok(g0!.abs().max().item() < 1e-6);
  });
  assert.equal(memory().numTensors, start);
  assert.throws(() => tidy(() => distillationLoss(tensor([1], [1, 1]), tensor([1], [1, 1]), 0)), /temperature must be positive/);
  assert.equal(memory().numTensors, start);
});

const learnable = syntheticDataset({ n: 128, height: 12, width: 12, numClasses: 3, seed: 6 });
const tiny = (extra: Partial<RunOfaOptions> = {}): RunOfaOptions => ({
  spaceOptions: { mobilenet: tinyMobilenet }, epochs: 4, batchSize: 16, stepsPerEpoch: 3, seed: 2, lr: 0.05,
  calibrationBatches: 1, evalBatches: 2, evolution: { budget: 6, population: 3, topK: 2 }, ...extra,
});

test('OFA on a learnable task: the largest network improves in the full phase; a FLOPs limit holds; no leaked tensors', async () => {
  manualSeed(11);
  const start = memory().numTensors;
  const space = mobilenetSpace(tinyMobilenet) as MobilenetSpace;
  const flopsOf = (text: string) => costOf(space, space.parse(text), { classes: 3 }).flops;
  const [smallest, largest] = [flopsOf('r8|k3e2|k3e2'), flopsOf('r12|k5e3,k5e3|k5e3,k5e3')];
  const maxFlops = Math.round((smallest + largest) / 2);
  const phases: string[] = [];
  const r = await runOfa(learnable, tiny({ epochs: 5, phaseSplit: [2, 1, 1, 1], limits: { maxFlops }, onPhase: (p) => phases.push(p.phase) }));
  assert.deepEqual(phases, ['full', 'kernel', 'depth', 'expand']);
  assert.deepEqual(r.history.map((h) => h.phase), ['full', 'full', 'kernel', 'depth', 'expand']);
  assert.deepEqual(r.phases.map((p) => p.epochs), [[1, 2], [3, 3], [4, 4], [5, 5]]);
  // Chance is 1/3; the classes differ in mean intensity, which one epoch learns.
  assert.ok(r.phases[0]!.largestAccuracy >= r.initialLargestAccuracy + 0.25, `${r.initialLargestAccuracy} -> ${r.phases[0]!.largestAccuracy}`);
  space.validate(r.sample);
  assert.ok(r.cost.flops <= maxFlops, `${r.arch}: ${r.cost.flops} FLOPs > ${maxFlops}`);
  assert.equal(r.cost.flops, flopsOf(r.arch));
  assert.equal(memory().numTensors, start);
  await assert.rejects(() => runOfa(learnable, tiny({ limits: { maxFlops: smallest - 1 } })), new RegExp(`--max-flops: no sub-network meets --max-flops ${smallest - 1}: the smallest \\(r8\\|k3e2\\|k3e2\\) has ${smallest} FLOPs`));
  assert.equal(memory().numTensors, start);
});

test('OFA distillation: same full phase, and the shrinking phase\'s loss carries the KD term only with --kd-weight > 0', async () => {
  const data10 = syntheticDataset({ n: 64, height: 12, width: 12, numClasses: 10, seed: 7 });
  const losses: number[][] = [];
  for (const kdWeight of [0, 1]) {
    manualSeed(12);
    const r = await runOfa(data10, tiny({ epochs: 2, phaseSplit: [1, 1, 0, 0], kdWeight, stepsPerEpoch: 2, evolution: { budget: 1 } }));
    losses.push(r.history.map((h) => h.trainLoss));
  }
  assert.equal(losses[0]![0], losses[1]![0]);
  // With ten barely separated classes after one epoch the teacher's outputs are spread out: KD adds about their entropy.
  assert.ok(losses[1]![1]! > losses[0]![1]! + 0.5, `${losses[0]![1]} vs ${losses[1]![1]}`);
  await assert.rejects(() => runOfa(data10, { ...tiny(), space: 'nb201' as never }), /--space: .*needs the elastic mobilenet supernet \(--space mobilenet\), got 'nb201'/);
});
