// The morphism measurements of docs/benchmarks.md, on a Fashion-MNIST subset
// (one libtorch thread), printed as JSON lines:
//   node dist/estimators/morphism-bench.js inherit [seed]
//     a parent trained from scratch, then children (random morphism sequences)
//     trained k epochs from inherited weights and, alternately, the same
//     architectures k epochs from scratch;
//   node dist/estimators/morphism-bench.js climb [seed]
//     NASH hill climbing, then regularized evolution (children trained from
//     scratch) for the same wall time; the best validation accuracy of each.
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/idx.js';
import { buildNetwork, getKit } from '../kits/index.js';
import { createStrategy } from '../strategies/index.js';
import { manualSeed, setNumThreads } from '../tensor/index.js';
import { evaluate, trainModel } from '../train/trainer.js';
import { Rng } from '../util/random.js';
import { hillClimbMorphisms, morphNetwork } from './morphism.js';

const [mode = 'inherit', seedArg = '0'] = process.argv.slice(2);
const seed = Number(seedArg);
setNumThreads(1);
manualSeed(seed);
const rng = new Rng(seed);
const pick = (d: Dataset, n: number, offset: number) => subsetDataset(d, Array.from({ length: n }, (_, i) => offset + i));
const all = loadFashionMnist({ split: 'train' });
const train = pick(all, 2000, 0);
const valid = pick(all, 1000, 50000);
const space = getKit('chain').space({ maxDepth: 6, filters: [8, 16, 32], kernels: [3, 5], poolAfter: [1, 3] });
const start = space.parse('conv:3:8:relu > conv:3:8:relu');
const network = { numClasses: 10, inChannels: 1, inputSize: 28 };
const training = { batchSize: 64, lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };
const fit = (net: Parameters<typeof trainModel>[0], epochs: number, s: number) => {
  const t0 = performance.now();
  trainModel(net, train, { ...training, epochs, schedule: 'cosine', seed: s });
  return { accuracy: evaluate(net, valid).accuracy, seconds: (performance.now() - t0) / 1000 };
};
const log = (o: object) => console.log(JSON.stringify(o));

if (mode === 'inherit') {
  const k = 2;
  const parent = buildNetwork(space, start, network);
  log({ what: 'parent', arch: space.format(start), epochs: 4, ...fit(parent, 4, seed) });
  for (let c = 0; c < 6; c++) {
    const child = morphNetwork(space, { sample: start, net: parent }, 2, rng, network);
    const inheritedAt0 = evaluate(child.net, valid).accuracy;
    const trainSeed = rng.int(2 ** 31);
    const withParent = fit(child.net, k, trainSeed);
    const scratchNet = buildNetwork(space, child.sample, network);
    const scratch = fit(scratchNet, k, trainSeed);
    log({ what: 'child', arch: space.format(child.sample), morphisms: child.morphisms, k, inheritedAt0, inherited: withParent, scratch });
    child.net.dispose();
    scratchNet.dispose();
  }
  parent.dispose();
} else {
  const t0 = performance.now();
  const climb = hillClimbMorphisms({
    space, start, network, train, valid, steps: 3, children: 3, morphismsPerChild: 2, startEpochs: 4, childEpochs: 2, training, seed,
    onChild: (r) => log({ what: 'climb', step: r.step, arch: space.format(r.sample), accuracy: r.validAccuracy, seconds: r.seconds }),
  });
  const budget = (performance.now() - t0) / 1000;
  log({ what: 'climb-best', arch: space.format(climb.best.sample), accuracy: climb.best.validAccuracy, seconds: budget });
  const evolution = createStrategy('evolution', space, { seed, population: 4, sampleSize: 2 });
  const e0 = performance.now();
  let best = { accuracy: 0, arch: '' };
  while ((performance.now() - e0) / 1000 < budget) {
    const [s] = evolution.ask(1);
    const net = buildNetwork(space, s!, network);
    const r = fit(net, 4, rng.int(2 ** 31));
    net.dispose();
    evolution.tell(s!, { accuracy: r.accuracy });
    if (r.accuracy > best.accuracy) best = { accuracy: r.accuracy, arch: space.format(s!) };
    log({ what: 'evolution', arch: space.format(s!), accuracy: r.accuracy, seconds: r.seconds });
  }
  log({ what: 'evolution-best', ...best, trials: evolution.history().length, seconds: (performance.now() - e0) / 1000 });
  evolution.dispose();
}

