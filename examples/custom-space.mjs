// A search space of one's own, in one file, used everywhere tsnas uses its
// built-in spaces. The space "tinyconv" is 1 to 3 conv blocks, each a 3×3 or
// 5×5 convolution (+ batch norm, ReLU) of a chosen width, then global pooling
// and a linear classifier. Its kit gives tsnas the space, its fixed networks,
// their cost model, a weight-sharing supernet (single path and DARTS-style
// dense mixing) and the ONNX exporter of its network class. Registered
// once, it runs: a stored multi-trial search with a training estimator (in
// worker threads), one with zero-cost proxies, stored weight-sharing
// searches on its supernet (DARTS, SPOS), the cost model, a drawing and an
// ONNX export checked in onnxruntime. It prints one JSON line of results.
//
// Run it from the repository after building (npx tsc -p .):
//   node examples/custom-space.mjs
// Importing 'tsnas' works inside the repository through the package's exports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import {
  buildNetwork, checkConfig, costOf, data, getSpace, memory, nn, onnx, registerSpace, runExperiment,
  setNumThreads, spaces, store, supernets, TsnasError, viz,
} from 'tsnas';

// ------------------------------------------------------------ the space

const OPS = ['conv3', 'conv5'];
const MAX_BLOCKS = 3;
const kernelOf = (op) => (op === 'conv3' ? 3 : 5);

/** The blocks of a sample: [{op, width}], as many as its depth. */
const blocksOf = (s) => Array.from({ length: Number(s.depth) }, (_, i) => ({ op: String(s[`block${i}_op`]), width: Number(s[`block${i}_width`]) }));

/** The space; its one option is the widths a block may take. */
function tinyConvSpace(options = {}) {
  const widths = options.widths ?? [8, 16];
  if (!Array.isArray(widths) || widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w > 0)) {
    throw new TsnasError('config', `widths must be a non-empty list of positive integers, got ${JSON.stringify(widths)}`, { where: 'space tinyconv' });
  }
  return spaces.defineSpace({
    name: 'tinyconv',
    dimensions: [
      { label: 'depth', kind: 'integer', values: spaces.range(1, MAX_BLOCKS) },
      ...Array.from({ length: MAX_BLOCKS }, (_, i) => {
        // Block i exists when depth > i (block 0 always does).
        const when = i > 0 ? { when: spaces.whenGreater('depth', i) } : {};
        return [
          { label: `block${i}_op`, values: OPS, group: `block${i}`, ...when },
          { label: `block${i}_width`, kind: 'integer', values: widths, group: `block${i}`, ...when },
        ];
      }).flat(),
    ],
    // Text form: "conv3/8 conv5/16".
    format: (s) => blocksOf(s).map((b) => `${b.op}/${b.width}`).join(' '),
    parse: (text) => {
      const s = { depth: 0 };
      for (const [i, part] of text.trim().split(/\s+/).entries()) {
        const [op, width] = part.split('/');
        s[`block${i}_op`] = op;
        s[`block${i}_width`] = Number(width);
        s.depth = i + 1;
      }
      return s; // the space validates it and names a bad label or value
    },
    drawing: (s) => [spaces.chainGraph('tinyconv', blocksOf(s).map((b) => `${b.op} ${b.width}`))],
  });
}

// ------------------------------------------------------------ its fixed network, cost model and ONNX exporter

class TinyConvNet extends nn.Module {
  constructor(blocks, numClasses, inChannels) {
    super();
    let c = inChannels;
    this.blocks = this.registerModule('blocks', new nn.ModuleList(blocks.map((b) => {
      const k = kernelOf(b.op);
      const block = new nn.Sequential(new nn.Conv2d(c, b.width, k, { padding: (k - 1) / 2, bias: false }), new nn.BatchNorm2d(b.width), new nn.ReLU());
      c = b.width;
      return block;
    })));
    this.classifier = this.registerModule('classifier', new nn.Linear(c, numClasses));
  }

  forward(x) {
    let h = x;
    for (const block of this.blocks) h = block.call(h);
    return this.classifier.call(h.mean([2, 3]));
  }
}

/** Parameters and multiply-adds (tsnas's convention: conv and linear layers, +1 per biased output; batch norm has 2 parameters a channel). */
function tinyConvCost(blocks, o) {
  const [inChannels, h, w] = o.input ?? [3, 32, 32];
  const classes = o.classes ?? 10;
  let c = inChannels;
  let params = 0;
  let flops = 0;
  for (const b of blocks) {
    const k = kernelOf(b.op);
    params += k * k * c * b.width + 2 * b.width;
    flops += h * w * k * k * c * b.width;
    c = b.width;
  }
  params += c * classes + classes;
  flops += c * classes + classes;
  return { params, flops };
}

/** The network's eval-mode forward in ONNX: its blocks and classifier have exporters already (shared layers). */
const tinyConvNetExporter = onnx.onnxExporter(TinyConvNet, (ctx, m, [x]) => {
  let h = x;
  for (const block of m.blocks) h = ctx.module(block, h);
  const [n, c] = h.shape;
  const pooled = ctx.node('ReduceMean', [h], { axes: onnx.attr.ints([2, 3]), keepdims: onnx.attr.int(0) }, [n, c], 'features');
  return ctx.module(m.classifier, pooled);
});

// ------------------------------------------------------------ its supernet

/**
 * One network at the largest width and depth. Per block, both convolutions
 * (label block{i}_op) at the widest output; the width (block{i}_width) is a
 * channel mask on the block's output; the depth weighs the pooled features
 * after each block. Dense mixing (DARTS) sums the candidates by their
 * softmax weights; a single path computes exactly the sample's network.
 */
class TinyConvSupernet extends supernets.SpaceSupernet {
  constructor(space, o) {
    const choices = new spaces.ArchitectureChoices(o.mixing);
    supernets.registerSpaceLabels(space, choices);
    super(space, choices);
    this.inChannels = o.inChannels ?? 3;
    this.widths = space.dimension('block0_width').values;
    this.depths = space.dimension('depth').values;
    const widest = Math.max(...this.widths);
    this.convs = this.registerModule('convs', new nn.ModuleList(Array.from({ length: MAX_BLOCKS }, (_, i) => new nn.ModuleList(OPS.map((op) => {
      const k = kernelOf(op);
      return new nn.Conv2d(i === 0 ? this.inChannels : widest, widest, k, { padding: (k - 1) / 2, bias: false });
    })))));
    this.norms = this.registerModule('norms', new nn.ModuleList(Array.from({ length: MAX_BLOCKS }, () => new nn.BatchNorm2d(widest))));
    this.classifier = this.registerModule('classifier', new nn.Linear(widest, o.numClasses));
  }

  mixedWidths() {
    return [this.inChannels, Math.max(...this.widths)];
  }

  forwardNetwork(x) {
    const depth = this.choices.weightsFor('depth');
    const blocks = depth.kind === 'single' ? this.depths[depth.index] : MAX_BLOCKS;
    const widest = Math.max(...this.widths);
    const features = [];
    let h = x;
    for (let i = 0; i < blocks; i++) {
      const op = this.choices.weightsFor(`block${i}_op`);
      const y = this.norms.at(i).call(supernets.mixCandidates(op, (k) => this.convs.at(i).at(k).call(h), OPS.length)).relu();
      const width = this.choices.weightsFor(`block${i}_width`);
      h = y.mul(supernets.mixCandidates(width, (k) => supernets.channelMask(widest, this.widths[k], y), this.widths.length));
      features.push(h.mean([2, 3]));
    }
    return this.classifier.call(supernets.mixCandidates(depth, (k) => features[this.depths[k] - 1], this.depths.length));
  }
}

// ------------------------------------------------------------ the kit

export const TINYCONV_KIT = {
  name: 'tinyconv',
  optionKeys: ['widths'],
  space: (options) => tinyConvSpace(options),
  network: (_space, s, o) => new TinyConvNet(blocksOf(s), o.numClasses, o.inChannels ?? 3),
  cost: (_space, s, o) => tinyConvCost(blocksOf(s), o),
  supernet: (space, o) => new TinyConvSupernet(space, o),
  onnx: [tinyConvNetExporter],
  testing: { network: { numClasses: 3, inputSize: 8 } },
};

// The module URL lets worker threads (parallel trials) import this file and so know the space.
registerSpace(TINYCONV_KIT, { module: import.meta.url });

// ------------------------------------------------------------ using it

/** A few hundred Fashion-MNIST-shaped images (1×12×12, 10 classes) written as IDX files, so the run needs no download. */
function writeImages(dir) {
  const train = data.syntheticDataset({ n: 400, channels: 1, height: 12, width: 12, numClasses: 10, seed: 1 });
  const test = data.syntheticDataset({ n: 100, channels: 1, height: 12, width: 12, numClasses: 10, seed: 2 });
  data.writeIdxPair(dir, 'train', train);
  data.writeIdxPair(dir, 't10k', test);
}

/** Trials of a stored experiment, as {arch, metrics}. */
async function trialsOf(db, name) {
  const space = getSpace('tinyconv');
  const experiment = await db.getExperiment(name);
  return (await db.listTrials(experiment.id)).map((t) => ({ arch: space.format(t.sample), state: t.state, metrics: t.metrics }));
}

async function main() {
  setNumThreads(1);
  const started = performance.now();
  const tensorsBefore = memory().numTensors;
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-custom-space-'));
  const db = new store.SqliteStore(join(dir, 'runs.db'));
  try {
    writeImages(dir);
    const space = getSpace('tinyconv');
    const common = { space: { name: 'tinyconv' }, strategy: { name: 'random' }, dataset: { name: `fashion-mnist:${dir}` }, seed: 0 };

    // A multi-trial search, each trial trained for one epoch in one of two worker threads (one libtorch thread each).
    await runExperiment({
      store: db,
      config: checkConfig({ ...common, name: 'tinyconv-training', estimator: { kind: 'training', epochs: 1, batch: 32, lr: 0.05 }, budget: { trials: 2 }, parallel: 2, threads: 2 }),
    });
    const training = await trialsOf(db, 'tinyconv-training');

    // The same space scored by zero-cost proxies, in this thread.
    await runExperiment({
      store: db,
      config: checkConfig({ ...common, name: 'tinyconv-proxies', estimator: { kind: 'proxies', proxies: ['synflow', 'snip'], proxyBatch: 16 }, objectives: ['synflow'], budget: { trials: 3 } }),
    });
    const proxies = await trialsOf(db, 'tinyconv-proxies');

    // Weight-sharing searches on its supernet, stored like the others (an interrupted one resumes from its last epoch):
    // first-order DARTS (α per label, the sample of each label's argmax) and SPOS (one sampled path per step,
    // then an evolutionary search with inherited weights); each ends in one trial scored by the supernet.
    const supernetSearch = async (name, strategy) => {
      await runExperiment({
        store: db,
        config: checkConfig({ ...common, name, strategy, dataset: { ...common.dataset, limitTrain: 256 }, estimator: { kind: 'supernet' }, threads: 1 }),
        artifactsDir: dir,
      });
      const experiment = await db.getExperiment(name);
      const epochs = await db.listEpochs(experiment.id);
      const [trial] = await trialsOf(db, name);
      return { ...trial, last: epochs.at(-1).record };
    };
    const darts = await supernetSearch('tinyconv-darts', { name: 'darts', options: { epochs: 2, batch: 32, stepsPerEpoch: 4, archLr: 0.05, lr: 0.05 } });
    const spos = await supernetSearch('tinyconv-spos', { name: 'spos', options: { epochs: 1, batch: 32, stepsPerEpoch: 4, budget: 6, population: 4 } });

    // The cost model, which counts what the network builds.
    const sample = space.parse('conv3/8 conv5/16');
    const cost = costOf(space, sample, { input: [1, 12, 12], classes: 10 });
    const net = buildNetwork(space, sample, { numClasses: 10, inChannels: 1 });
    try {
      if (net.numParameters() !== cost.params) throw new Error(`the cost model counts ${cost.params} parameters, the network has ${net.numParameters()}`);
      const svg = viz.sampleToSvg(space, sample);
      const exported = onnx.exportToOnnx(net, [1, 12, 12]);
      const check = await onnx.checkOnnxAgainstModule(exported.bytes, net, [1, 12, 12], { batch: 3 });
      const result = {
        space: { name: space.name, size: Number(space.size()), arch: space.format(sample) },
        training: training.map((t) => ({ arch: t.arch, state: t.state, accuracy: t.metrics?.accuracy ?? null })),
        proxies: proxies.map((t) => ({ arch: t.arch, state: t.state, synflow: t.metrics?.synflow ?? null, snip: t.metrics?.snip ?? null })),
        spos: { arch: spos.arch, state: spos.state, metrics: spos.metrics },
        darts: { arch: darts.arch, state: darts.state, metrics: darts.metrics, alphas: Object.keys(darts.last.weights).length, last_epoch_arch: darts.last.arch },
        cost: { ...cost, network_params: net.numParameters() },
        drawing: { svg_bytes: Buffer.byteLength(svg), has_blocks: svg.includes('conv3 8') && svg.includes('conv5 16') },
        onnx: { bytes: exported.bytes.length, nodes: exported.nodeCount, max_abs_diff: check.maxAbsDiff, output_shape: check.outputShape },
        leaked_tensors: 0,
        seconds: 0,
      };
      net.dispose();
      result.leaked_tensors = memory().numTensors - tensorsBefore;
      result.seconds = (performance.now() - started) / 1000;
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } catch (e) {
      net.dispose();
      throw e;
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// A worker thread imports this module only to register the space.
if (isMainThread) await main();
