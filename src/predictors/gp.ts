// A Gaussian process on fixed-length encodings, in plain TypeScript (a few
// hundred training points: an n×n Cholesky is cheap). Kernel: squared
// exponential of the Euclidean distance, which on binary encodings is
// exp(−hamming/(2ℓ²)). The length scale and the noise are chosen by the
// marginal likelihood over a grid.
import type { DefinedSpace } from '../spaces/space.js';
import type { EncodingKind, Sample } from '../spaces/types.js';
import { TsnasError } from '../errors.js';
import { backwardSolve, cholesky, forwardSolve } from '../util/linalg.js';
import { Standardizer, type Prediction, type Predictor, type PredictorNeeds } from './types.js';

export interface GpOptions {
  encoding?: EncodingKind;
  /** Candidate length scales as multiples of the median pairwise distance (default 0.25..4). */
  lengthScales?: number[];
  /** Candidate noise variances on standardised targets (default 1e-3, 1e-2, 0.1, 0.3). */
  noises?: number[];
}

function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i]! - b[i]!) ** 2;
  return d;
}

export class GaussianProcessPredictor implements Predictor {
  readonly name = 'gp';
  readonly needs: PredictorNeeds;
  private readonly encoding: EncodingKind;
  private fitted: { x: number[][]; l: Float64Array; alpha: Float64Array; ell2: number; noise: number; scaler: Standardizer } | undefined;
  /** The chosen hyper-parameters, after fit. */
  hyper: { lengthScale: number; noise: number; logLikelihood: number } | undefined;

  constructor(private readonly space: DefinedSpace, private readonly options: GpOptions = {}) {
    this.encoding = options.encoding ?? 'onehot';
    this.needs = { input: 'encoding', encoding: this.encoding, partialCurves: false, minTrainingSamples: 5, uncertainty: true };
  }

  fit(samples: readonly Sample[], values: readonly number[]): void {
    if (samples.length !== values.length) throw new TsnasError('usage', `fit got ${samples.length} samples but ${values.length} values`);
    if (samples.length < 2) throw new TsnasError('usage', `gp needs at least 2 training samples, got ${samples.length}`);
    const n = samples.length;
    const x = samples.map((s) => this.space.encode(s, this.encoding));
    const scaler = new Standardizer(values);
    const y = scaler.forward(values);
    const d2 = new Float64Array(n * n);
    const pairs: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const d = squaredDistance(x[i]!, x[j]!);
        d2[i * n + j] = d2[j * n + i] = d;
        pairs.push(Math.sqrt(d));
      }
    }
    pairs.sort((a, b) => a - b);
    const median = pairs[pairs.length >> 1] || 1;
    let best: { ell: number; noise: number; ll: number; l: Float64Array; alpha: Float64Array } | undefined;
    for (const m of this.options.lengthScales ?? [0.25, 0.5, 0.75, 1, 1.5, 2, 4]) {
      const ell = m * median;
      for (const noise of this.options.noises ?? [1e-3, 1e-2, 0.1, 0.3]) {
        const k = new Float64Array(n * n);
        for (let i = 0; i < n * n; i++) k[i] = Math.exp(-d2[i]! / (2 * ell * ell));
        for (let i = 0; i < n; i++) k[i * n + i]! += noise;
        const l = cholesky(k, n);
        if (!l) continue;
        const alpha = backwardSolve(l, n, forwardSolve(l, n, Float64Array.from(y)));
        let ll = 0;
        for (let i = 0; i < n; i++) ll += -0.5 * y[i]! * alpha[i]! - Math.log(l[i * n + i]!);
        if (!best || ll > best.ll) best = { ell, noise, ll, l, alpha };
      }
    }
    if (!best) throw new TsnasError('internal', 'gp: no kernel matrix was positive definite');
    this.fitted = { x, l: best.l, alpha: best.alpha, ell2: best.ell * best.ell, noise: best.noise, scaler };
    this.hyper = { lengthScale: best.ell, noise: best.noise, logLikelihood: best.ll - (n / 2) * Math.log(2 * Math.PI) };
  }

  query(samples: readonly Sample[]): Prediction {
    const f = this.fitted;
    if (!f) throw new TsnasError('state', 'gp.query before fit');
    const n = f.x.length;
    const mean: number[] = [];
    const std: number[] = [];
    const kStar = new Float64Array(n);
    for (const s of samples) {
      const e = this.space.encode(s, this.encoding);
      let mu = 0;
      for (let i = 0; i < n; i++) {
        kStar[i] = Math.exp(-squaredDistance(e, f.x[i]!) / (2 * f.ell2));
        mu += kStar[i]! * f.alpha[i]!;
      }
      const v = forwardSolve(f.l, n, kStar);
      let vv = 0;
      for (let i = 0; i < n; i++) vv += v[i]! * v[i]!;
      mean.push(mu);
      std.push(Math.sqrt(Math.max(0, 1 - vv)));
    }
    return { mean: f.scaler.inverse(mean), std: std.map((s) => s * f.scaler.scale) };
  }

  dispose(): void {
    this.fitted = undefined;
  }
}
