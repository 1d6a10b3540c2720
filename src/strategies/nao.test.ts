// NAO's parts: the encoder/decoder learns to reconstruct architectures,
// gradient ascent in the embedding raises the predicted fitness, decoded
// samples are valid (conditional dimensions included), and the strategy's
// proposals after the warm-up are new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nb201Space } from '../spaces/nb201.js';
import { manualSeed, memory, noGrad, randn, setNumThreads, tidy } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { Nao, NaoModel } from './nao.js';
import { ToySpace, toyObjectives } from './testing/toy-space.js';

setNumThreads(1);

test('nao model: after training, decoding the embedding of each of a handful of NB201 cells gives the cell back', () => {
  const before = memory().numTensors;
  const space = nb201Space();
  const rng = new Rng(7);
  const cells = Array.from({ length: 6 }, () => space.sample(rng));
  manualSeed(1);
  const model = new NaoModel(space, { embedding: 8, hidden: 24 });
  const untrained = tidy(() => noGrad(() => model.decode(model.encode(cells))));
  model.fit(cells, cells.map(() => rng.normal()), { epochs: 250, learningRate: 0.02, tradeOff: 0.5 });
  const decoded = tidy(() => noGrad(() => model.decode(model.encode(cells))));
  assert.deepEqual(decoded.map((s) => space.format(s)), cells.map((s) => space.format(s)));
  assert.notDeepEqual(untrained.map((s) => space.format(s)), cells.map((s) => space.format(s)), 'an untrained model already reconstructs: the test proves nothing');
  model.dispose();
  assert.equal(memory().numTensors, before, 'tensors leaked');
});

test('nao model: a gradient ascent step raises the predicted fitness of every embedding', () => {
  const before = memory().numTensors;
  const space = new ToySpace();
  const rng = new Rng(3);
  const samples = Array.from({ length: 12 }, () => space.sample(rng));
  manualSeed(2);
  const model = new NaoModel(space, { embedding: 8, hidden: 16 });
  model.fit(samples, samples.map((s) => toyObjectives(s).accuracy! - 85), { epochs: 60 });
  const z0 = tidy(() => noGrad(() => model.encode(samples))).keep();
  const z1 = model.ascend(z0, 0.05).keep();
  const [p0, p1] = tidy(() => noGrad(() => [z0, z1].map((z) => model.predict(z).reshape(-1).toArray() as number[])));
  p0!.forEach((p, i) => assert.ok(p1![i]! > p, `row ${i}: ${p} -> ${p1![i]}`));
  z0.dispose();
  z1.dispose();
  model.dispose();
  assert.equal(memory().numTensors, before, 'tensors leaked');
});

test('nao model: any embedding decodes to a valid sample, with conditional dimensions present exactly when active', () => {
  const space = new ToySpace();
  manualSeed(5);
  const model = new NaoModel(space, { embedding: 8, hidden: 16 });
  const decoded = tidy(() => model.decode(randn([64, 16]).mul(3)));
  for (const s of decoded) space.validate(s);
  assert.ok(new Set(decoded.map((s) => space.hash(s))).size > 1, 'every random embedding decoded to the same sample');
  model.dispose();
});

test('nao strategy: after the warm-up, proposals are new, valid, and come from the model (better than the uniform warm-up)', () => {
  const before = memory().numTensors;
  const space = new ToySpace();
  const nao = new Nao(space, { seed: 4, initial: 10, batch: 10, hidden: 16, embedding: 8, epochs: 80 });
  const asked: string[] = [];
  for (let i = 0; i < 30; i++) {
    const [s] = nao.ask(1);
    space.validate(s!);
    assert.ok(!asked.includes(space.hash(s!)), 'asked twice');
    asked.push(space.hash(s!));
    nao.tell(s!, toyObjectives(s!));
  }
  const acc = nao.history().map((t) => t.objectives.accuracy!);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Ascent from the best trials lands near them: the model's picks beat the uniform warm-up on average.
  assert.ok(mean(acc.slice(10)) > mean(acc.slice(0, 10)), `proposals ${mean(acc.slice(10))} vs warm-up ${mean(acc.slice(0, 10))}`);
  nao.dispose();
  assert.equal(memory().numTensors, before, 'tensors leaked');
});
