import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nb201Space } from '../spaces/nb201.js';
import { Rng } from '../util/random.js';
import { NB201_LATENCY } from './latency.js';
import { fitLatencyLut, predictLutLatency } from './lut-fit.js';

const shape = { channels: 16, cells: 5, resolution: 32 };
const space = nb201Space();

/** A made-up device: an additive table with per-stage costs, and a fixed part. */
const truth: Record<string, number[]> = {
  none: [0.01, 0.01, 0.01],
  skip_connect: [0.02, 0.015, 0.01],
  nor_conv_1x1: [0.1, 0.08, 0.07],
  nor_conv_3x3: [0.4, 0.35, 0.3],
  avg_pool_3x3: [0.05, 0.03, 0.02],
};
const fixed = 1.25;
const stageOf = (channels: number) => Math.log2(channels / shape.channels);
const synthetic = (s: ReturnType<typeof space.sample>) =>
  fixed + NB201_LATENCY.sampleEdgeOps(shape, s).reduce((t, { op, position }) => t + truth[op]![stageOf(position.channels)]!, 0);

test('a LUT fitted on synthetic additive latencies recovers the table', () => {
  const rng = new Rng(3);
  const train = Array.from({ length: 60 }, () => space.sample(rng));
  const lut = fitLatencyLut(NB201_LATENCY, shape, train, train.map(synthetic));
  assert.equal(lut.samples, 60);
  assert.ok(Math.abs(lut.fixed_ms - fixed) < 1e-4, String(lut.fixed_ms));
  // One cell repeats in all three stages, so only each op's sum over the stages is identifiable, and the ridge splits it evenly.
  for (const [op, costs] of Object.entries(truth)) {
    const entries = lut.entries.filter((e) => e.op === op);
    assert.equal(entries.length, 3);
    const sum = entries.reduce((t, e) => t + e.ms, 0);
    assert.ok(Math.abs(sum - costs.reduce((a, b) => a + b, 0)) < 1e-4, `${op}: ${sum}`);
    for (const e of entries) assert.ok(Math.abs(e.ms - sum / 3) < 1e-4);
  }
  for (let i = 0; i < 200; i++) {
    const s = space.sample(rng);
    assert.ok(Math.abs(predictLutLatency(NB201_LATENCY, lut, s) - synthetic(s)) < 1e-4);
  }
});

test('the LUT fit checks its inputs', () => {
  const rng = new Rng(1);
  const a = [space.sample(rng), space.sample(rng)];
  assert.throws(() => fitLatencyLut(NB201_LATENCY, shape, a, [1]), /2 samples but 1 latencies/);
  assert.throws(() => fitLatencyLut(NB201_LATENCY, shape, a.slice(0, 1), [1]), /at least 2/);
  assert.throws(() => fitLatencyLut(NB201_LATENCY, shape, a, [1, NaN]), /latency 1 is not a number/);
});
