// A small ensemble of fully connected regressors in plain TypeScript: a
// predictor with uncertainty for BANANAS-style search, which refits it on
// every batch. Written in plain TS rather than on libtorch (unlike
// neural.ts) because the networks are tiny (tens of samples, a few thousand
// weights): per-op native calls would cost more than the arithmetic, and
// sparse inputs (path encodings) are cheap to exploit.
import type { EncodingKind, Sample, SearchSpace } from '../spaces/types.js';
import { TsnasError } from '../errors.js';
import { Rng } from '../util/random.js';
import type { Prediction, Predictor, PredictorNeeds } from './types.js';

export interface MlpOptions {
  /** Units of each of the two hidden layers (default 32). */
  hidden?: number;
  /** Full-batch Adam steps (default 100). */
  epochs?: number;
  learningRate?: number;
  /** L2 penalty on weights (default 0). */
  weightDecay?: number;
}

interface SparseRow {
  index: Int32Array;
  value: Float64Array;
}

function sparse(x: readonly number[]): SparseRow {
  const idx: number[] = [];
  const val: number[] = [];
  x.forEach((v, i) => {
    if (v !== 0) {
      idx.push(i);
      val.push(v);
    }
  });
  return { index: Int32Array.from(idx), value: Float64Array.from(val) };
}

/** One network D -> H -> H -> 1 with ReLU; all weights in one array so Adam is one loop. */
class Mlp {
  readonly params: Float64Array;
  // Offsets of each tensor inside params.
  private readonly w1 = 0; // D x H, row j = weights out of input j
  private readonly b1: number;
  private readonly w2: number; // H x H, row i = weights into hidden unit i
  private readonly b2: number;
  private readonly w3: number;
  private readonly b3: number;

  constructor(readonly inputs: number, readonly hidden: number, rng: Rng) {
    const h = hidden;
    this.b1 = inputs * h;
    this.w2 = this.b1 + h;
    this.b2 = this.w2 + h * h;
    this.w3 = this.b2 + h;
    this.b3 = this.w3 + h;
    this.params = new Float64Array(this.b3 + 1);
    // He-style uniform initialisation (fan-in); the first layer's fan-in is small in practice because inputs are sparse.
    const init = (offset: number, count: number, fanIn: number) => {
      const bound = Math.sqrt(6 / fanIn);
      for (let i = 0; i < count; i++) this.params[offset + i] = (rng.next() * 2 - 1) * bound;
    };
    init(this.w1, inputs * h, Math.max(1, Math.min(inputs, 8)));
    init(this.w2, h * h, h);
    init(this.w3, h, h);
  }

  /** Forward pass; fills z1/z2 (pre-activations) for backprop and returns the output. */
  forward(x: SparseRow, z1: Float64Array, z2: Float64Array): number {
    const p = this.params;
    const h = this.hidden;
    for (let i = 0; i < h; i++) z1[i] = p[this.b1 + i]!;
    for (let k = 0; k < x.index.length; k++) {
      const row = this.w1 + x.index[k]! * h;
      const v = x.value[k]!;
      for (let i = 0; i < h; i++) z1[i]! += v * p[row + i]!;
    }
    let out = p[this.b3]!;
    for (let i = 0; i < h; i++) {
      let s = p[this.b2 + i]!;
      const row = this.w2 + i * h;
      for (let j = 0; j < h; j++) {
        const a = z1[j]!;
        if (a > 0) s += p[row + j]! * a;
      }
      z2[i] = s;
      if (s > 0) out += p[this.w3 + i]! * s;
    }
    return out;
  }

  /** Adds dLoss/dparams into grad, given dLoss/dout for the sample whose pre-activations are z1/z2. */
  backward(x: SparseRow, z1: Float64Array, z2: Float64Array, dOut: number, grad: Float64Array, dz1: Float64Array): void {
    const p = this.params;
    const h = this.hidden;
    grad[this.b3]! += dOut;
    dz1.fill(0);
    for (let i = 0; i < h; i++) {
      const s = z2[i]!;
      if (s <= 0) continue;
      grad[this.w3 + i]! += dOut * s;
      const d2 = dOut * p[this.w3 + i]!;
      grad[this.b2 + i]! += d2;
      const row = this.w2 + i * h;
      for (let j = 0; j < h; j++) {
        const a = z1[j]!;
        if (a > 0) {
          grad[row + j]! += d2 * a;
          dz1[j]! += d2 * p[row + j]!;
        }
      }
    }
    for (let j = 0; j < h; j++) if (z1[j]! <= 0) dz1[j] = 0;
    for (let j = 0; j < h; j++) grad[this.b1 + j]! += dz1[j]!;
    for (let k = 0; k < x.index.length; k++) {
      const row = this.w1 + x.index[k]! * h;
      const v = x.value[k]!;
      for (let j = 0; j < h; j++) grad[row + j]! += v * dz1[j]!;
    }
  }
}

export interface SparseMlpEnsembleOptions {
  /** Networks in the ensemble (default 5, at least 2: their spread is the uncertainty). */
  size?: number;
  /** The space's encoding the networks read (default path). */
  encoding?: EncodingKind;
  /** Seeds every member's initial weights (default 0). */
  seed?: number;
  mlp?: MlpOptions;
}

/** Members from fresh initialisations, trained full-batch on (encoding, value); mean and spread of their outputs. */
export class SparseMlpEnsemble implements Predictor {
  readonly name: string;
  readonly needs: PredictorNeeds;
  private models: Mlp[] = [];
  private readonly size: number;
  private readonly encoding: EncodingKind;
  private readonly seed: number;
  private readonly hidden: number;
  private readonly epochs: number;
  private readonly learningRate: number;
  private readonly weightDecay: number;

  constructor(private readonly space: SearchSpace, options: SparseMlpEnsembleOptions = {}) {
    this.size = options.size ?? 5;
    if (!(Number.isInteger(this.size) && this.size >= 2)) throw new TsnasError('usage', `an ensemble needs at least 2 members, got ${this.size}`);
    this.encoding = options.encoding ?? 'path';
    this.seed = options.seed ?? 0;
    this.hidden = options.mlp?.hidden ?? 32;
    this.epochs = options.mlp?.epochs ?? 100;
    this.learningRate = options.mlp?.learningRate ?? 0.01;
    this.weightDecay = options.mlp?.weightDecay ?? 0;
    this.name = `sparse-mlp×${this.size}`;
    this.needs = { input: 'encoding', encoding: this.encoding, partialCurves: false, minTrainingSamples: 2, uncertainty: true };
  }

  /** Trains `size` networks from fresh initialisations (the same ones on every fit) on the samples' encodings. */
  fit(samples: readonly Sample[], values: readonly number[]): void {
    if (samples.length !== values.length) throw new TsnasError('usage', `fit got ${samples.length} samples but ${values.length} values`);
    const x = samples.map((s) => this.space.encode(s, this.encoding));
    const rows = x.map(sparse);
    const inputs = x[0]?.length ?? 0;
    const rng = new Rng(this.seed);
    this.models = [];
    for (let m = 0; m < this.size; m++) {
      const model = new Mlp(inputs, this.hidden, rng.fork());
      this.train(model, rows, values);
      this.models.push(model);
    }
  }

  private train(model: Mlp, rows: SparseRow[], y: readonly number[]): void {
    const n = rows.length;
    const p = model.params;
    const grad = new Float64Array(p.length);
    const m1 = new Float64Array(p.length);
    const m2 = new Float64Array(p.length);
    const z1 = new Float64Array(this.hidden);
    const z2 = new Float64Array(this.hidden);
    const dz1 = new Float64Array(this.hidden);
    const b1 = 0.9;
    const b2 = 0.999;
    for (let step = 1; step <= this.epochs; step++) {
      grad.fill(0);
      for (let r = 0; r < n; r++) {
        const out = model.forward(rows[r]!, z1, z2);
        model.backward(rows[r]!, z1, z2, (2 * (out - y[r]!)) / n, grad, dz1);
      }
      const c1 = 1 - b1 ** step;
      const c2 = 1 - b2 ** step;
      const lr = this.learningRate;
      const wd = this.weightDecay;
      for (let i = 0; i < p.length; i++) {
        const g = grad[i]! + wd * p[i]!;
        m1[i] = b1 * m1[i]! + (1 - b1) * g;
        m2[i] = b2 * m2[i]! + (1 - b2) * g * g;
        p[i]! -= (lr * (m1[i]! / c1)) / (Math.sqrt(m2[i]! / c2) + 1e-8);
      }
    }
  }

  /** Mean and standard deviation of the members' predictions for each sample. */
  query(samples: readonly Sample[]): Prediction {
    if (this.models.length === 0) throw new TsnasError('usage', `${this.name}: query before fit`);
    const x = samples.map((s) => this.space.encode(s, this.encoding));
    const h = this.hidden;
    const z1 = new Float64Array(h);
    const z2 = new Float64Array(h);
    const mean: number[] = [];
    const std: number[] = [];
    for (const row of x.map(sparse)) {
      const preds = this.models.map((m) => m.forward(row, z1, z2));
      const mu = preds.reduce((a, b) => a + b, 0) / preds.length;
      const v = preds.reduce((a, b) => a + (b - mu) * (b - mu), 0) / preds.length;
      mean.push(mu);
      std.push(Math.sqrt(v));
    }
    return { mean, std };
  }

  dispose(): void {
    this.models = [];
  }
}
