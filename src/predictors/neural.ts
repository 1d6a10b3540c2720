// Neural predictors on libtorch: an MLP on encodings, an LSTM over the op
// sequence, and a graph convolutional network on the cell graph. They share
// one regression loop: standardised targets, MSE, Adam on seeded mini-batches.
import {
  Tensor, cat, manualSeed, mseLoss, noGrad, tensor, tidy,
} from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Dropout, Embedding, LSTMCell, Linear, ModuleList } from '../nn/layers.js';
import { Adam } from '../nn/optim.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { EncodingKind, Sample } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { TsnasError } from '../errors.js';
import { encodingMatrix, graphFeaturizer, tokenizer } from './features.js';
import { Standardizer, type Prediction, type Predictor, type PredictorNeeds } from './types.js';

export interface RegressionOptions {
  /** Adam steps (default 500). */
  steps?: number;
  /** Mini-batch size (default 32; the whole set when smaller). */
  batchSize?: number;
  /** Adam learning rate (default 3e-3). */
  lr?: number;
  /** L2 penalty (default 1e-4). */
  weightDecay?: number;
  /** Seeds the initial weights and the mini-batches (default 0). */
  seed?: number;
}

type Net = Module<Tensor[], Tensor>;

/** The shared fit/query machinery; subclasses say how to build the network and tensorise samples. */
abstract class NeuralPredictor implements Predictor {
  abstract readonly name: string;
  abstract readonly needs: PredictorNeeds;
  protected model: Net | undefined;
  protected scaler: Standardizer | undefined;

  constructor(protected readonly space: DefinedSpace, protected readonly options: RegressionOptions = {}) {}

  protected abstract build(): Net;
  /** Input tensors whose first dimension is the sample. */
  protected abstract inputs(samples: readonly Sample[]): Tensor[];

  fit(samples: readonly Sample[], values: readonly number[]): void {
    if (samples.length !== values.length) throw new TsnasError('usage', `fit got ${samples.length} samples but ${values.length} values`);
    if (samples.length < 2) throw new TsnasError('usage', `${this.name} needs at least 2 training samples, got ${samples.length}`);
    this.model?.dispose();
    const seed = this.options.seed ?? 0;
    manualSeed(seed);
    const model = this.build();
    this.model = model;
    this.scaler = new Standardizer(values);
    const n = samples.length;
    const xs = this.inputs(samples).map((t) => t.keep());
    const y = tensor(this.scaler.forward(values), [n, 1]).keep();
    const optimizer = new Adam(model.parameters(), { lr: this.options.lr ?? 3e-3, weightDecay: this.options.weightDecay ?? 1e-4 });
    const rng = new Rng(seed);
    const batch = Math.min(n, this.options.batchSize ?? 32);
    let order = rng.permutation(n);
    let at = 0;
    try {
      model.train();
      for (let step = 0; step < (this.options.steps ?? 500); step++) {
        if (at + batch > n) {
          order = rng.permutation(n);
          at = 0;
        }
        const rows = order.slice(at, at + batch);
        at += batch;
        tidy(() => {
          const index = tensor(rows, [rows.length], { dtype: 'int64' });
          const pred = model.call(...xs.map((t) => t.indexSelect(0, index)));
          const loss = mseLoss(pred, y.indexSelect(0, index));
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
        });
      }
      model.eval();
    } finally {
      optimizer.dispose();
      for (const t of [...xs, y]) t.dispose();
      model.zeroGrad();
    }
  }

  query(samples: readonly Sample[]): Prediction {
    if (!this.model || !this.scaler) throw new TsnasError('state', `${this.name}.query before fit`);
    const model = this.model;
    const out: number[] = [];
    const chunk = 2048;
    for (let i = 0; i < samples.length; i += chunk) {
      const part = samples.slice(i, i + chunk);
      out.push(...tidy(() => noGrad(() => model.call(...this.inputs(part)).reshape(-1).toArray())));
    }
    return { mean: this.scaler.inverse(out), std: out.map(() => 0) };
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}

// ---------------------------------------------------------------- MLP on encodings

class Mlp extends Module<Tensor[], Tensor> {
  readonly layers: ModuleList<Linear>;
  constructor(sizes: number[], readonly dropout = 0) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(sizes.slice(1).map((s, i) => new Linear(sizes[i]!, s))));
    this.registerModule('drop', new Dropout(dropout));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    const drop = this.getModule('drop') as Dropout;
    for (let i = 0; i < this.layers.length; i++) {
      h = this.layers.at(i).call(h);
      if (i < this.layers.length - 1) h = drop.call(h.relu());
    }
    return h;
  }
}

export interface MlpPredictorOptions extends RegressionOptions {
  /** Encoding of the samples (default 'onehot'). */
  encoding?: EncodingKind;
  /** Hidden layer widths (default [64, 64]). */
  hidden?: number[];
}

/** A fully connected regressor on a fixed-length encoding. */
export class MlpPredictor extends NeuralPredictor {
  readonly name = 'mlp';
  readonly needs: PredictorNeeds;
  private readonly encoding: EncodingKind;
  constructor(space: DefinedSpace, readonly config: MlpPredictorOptions = {}) {
    super(space, config);
    this.encoding = config.encoding ?? 'onehot';
    this.needs = { input: 'encoding', encoding: this.encoding, partialCurves: false, minTrainingSamples: 10, uncertainty: false };
  }
  protected build(): Net {
    return new Mlp([this.space.encodingLength(this.encoding), ...(this.config.hidden ?? [64, 64]), 1]);
  }
  protected inputs(samples: readonly Sample[]): Tensor[] {
    const { data, dim } = encodingMatrix(this.space, samples, this.encoding);
    return [tensor(data, [samples.length, dim])];
  }
}

// ---------------------------------------------------------------- LSTM encoder + MLP head

class LstmRegressor extends Module<Tensor[], Tensor> {
  readonly embed: Embedding;
  readonly cell: LSTMCell;
  readonly head: Mlp;
  constructor(vocabulary: number, embedding: number, hidden: number, dropout: number) {
    super();
    this.embed = this.registerModule('embed', new Embedding(vocabulary, embedding));
    this.cell = this.registerModule('cell', new LSTMCell(embedding, hidden));
    this.head = this.registerModule('head', new Mlp([2 * hidden, hidden, 1], dropout));
    this.registerModule('drop', new Dropout(dropout));
  }
  forward(tokens: Tensor): Tensor {
    const x = this.embed.call(tokens); // [b, L, E]
    let state: [Tensor, Tensor] | undefined;
    for (let t = 0; t < tokens.size(1); t++) state = this.cell.call(x.select(1, t), state);
    const [h, c] = state!;
    return this.head.call((this.getModule('drop') as Dropout).call(cat([h, c], 1)));
  }
}

export interface LstmPredictorOptions extends RegressionOptions {
  embedding?: number;
  hidden?: number;
  dropout?: number;
}

/** Embeds the op sequence, runs an LSTM, and regresses from [h; c] with a dropout MLP. */
export class LstmPredictor extends NeuralPredictor {
  readonly name = 'lstm';
  readonly needs: PredictorNeeds = { input: 'op-sequence', partialCurves: false, minTrainingSamples: 20, uncertainty: false };
  private readonly tokenizer;
  constructor(space: DefinedSpace, readonly config: LstmPredictorOptions = {}) {
    super(space, config);
    this.tokenizer = tokenizer(space);
  }
  protected build(): Net {
    const c = this.config;
    return new LstmRegressor(this.tokenizer.vocabulary, c.embedding ?? 32, c.hidden ?? 64, c.dropout ?? 0.1);
  }
  protected inputs(samples: readonly Sample[]): Tensor[] {
    const flat = samples.flatMap((s) => this.tokenizer.tokens(s));
    return [tensor(flat, [samples.length, this.tokenizer.length], { dtype: 'int64' })];
  }
}

// ---------------------------------------------------------------- graph convolutional network

class Gcn extends Module<Tensor[], Tensor> {
  readonly convs: ModuleList<Linear>;
  readonly head: Mlp;
  constructor(features: number, hidden: number, layers: number) {
    super();
    this.convs = this.registerModule('convs', new ModuleList(
      Array.from({ length: layers }, (_, i) => new Linear(i === 0 ? features : hidden, hidden)),
    ));
    this.head = this.registerModule('head', new Mlp([hidden, hidden, 1]));
  }
  /** x [b, V, F], normalised adjacency [b, V, V], node mask [b, V, 1]. */
  forward(x: Tensor, adjacency: Tensor, mask: Tensor): Tensor {
    let h = x;
    for (const conv of this.convs) h = adjacency.matmul(conv.call(h)).relu();
    const pooled = h.mul(mask).sum(1).div(mask.sum(1));
    return this.head.call(pooled);
  }
}

export interface GcnPredictorOptions extends RegressionOptions {
  hidden?: number;
  layers?: number;
}

/**
 * GCN on the cell graph with operations as nodes: layers H ← ReLU(Â·H·W)
 * with Â the symmetrically normalised adjacency (both directions, plus
 * self-loops), mean pooling over nodes, then an MLP.
 */
export class GcnPredictor extends NeuralPredictor {
  readonly name = 'gcn';
  readonly needs: PredictorNeeds = { input: 'cell-graph', partialCurves: false, minTrainingSamples: 20, uncertainty: false };
  private featurizer: ReturnType<typeof graphFeaturizer> | undefined;
  constructor(space: DefinedSpace, readonly config: GcnPredictorOptions = {}) {
    super(space, config);
  }
  private graphs() {
    return (this.featurizer ??= graphFeaturizer(this.space, this.space.sample(new Rng(0))));
  }
  protected build(): Net {
    return new Gcn(this.graphs().featureSize, this.config.hidden ?? 128, this.config.layers ?? 2);
  }
  protected inputs(samples: readonly Sample[]): Tensor[] {
    const f = this.graphs();
    const graphs = samples.map((s) => f.graph(s));
    const v = Math.max(...graphs.map((g) => g.nodes));
    const b = samples.length;
    const x = new Float32Array(b * v * f.featureSize);
    const adj = new Float32Array(b * v * v);
    const mask = new Float32Array(b * v);
    graphs.forEach((g, k) => {
      x.set(g.features, k * v * f.featureSize);
      const a = new Float32Array(v * v);
      for (let i = 0; i < g.nodes; i++) a[i * v + i] = 1;
      for (const [from, to] of g.edges) {
        a[from * v + to] = 1;
        a[to * v + from] = 1;
      }
      const deg = Array.from({ length: v }, (_, i) => a.subarray(i * v, (i + 1) * v).reduce((s, e) => s + e, 0));
      for (let i = 0; i < g.nodes; i++) {
        for (let j = 0; j < g.nodes; j++) if (a[i * v + j]) adj[k * v * v + i * v + j] = 1 / Math.sqrt(deg[i]! * deg[j]!);
        mask[k * v + i] = 1;
      }
    });
    return [tensor(x, [b, v, f.featureSize]), tensor(adj, [b, v, v]), tensor(mask, [b, v, 1])];
  }
}
