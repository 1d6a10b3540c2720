// Learning-curve extrapolation: fit a power law a·t^(−b) + c and an
// exponential a·e^(−b·t) + c to the first epochs of a curve, and predict its
// value at a later epoch with an uncertainty (residual bootstrap over both
// models, weighted by how well each fits). Used to stop hopeless candidates.
import { Rng } from '../util/random.js';
import { configError } from '../errors.js';
import type { EpochRecord } from '../train/trainer.js';

export type CurveModel = 'power' | 'exponential';

export interface CurveFit {
  model: CurveModel;
  a: number;
  b: number;
  c: number;
  /** Residual sum of squares on the fitted points. */
  rss: number;
  predict(t: number): number;
}

const basis: Record<CurveModel, (t: number, b: number) => number> = {
  power: (t, b) => Math.pow(t, -b),
  exponential: (t, b) => Math.exp(-b * t),
};
// Search ranges of the rate b (log-spaced grid, then golden-section refinement).
const rateRange: Record<CurveModel, [number, number]> = { power: [1e-3, 5], exponential: [1e-4, 5] };

/** Least squares of y ≈ a·x + c for fixed basis values x; returns a, c and the RSS. */
function linearFit(x: readonly number[], y: readonly number[]): { a: number; c: number; rss: number } {
  const n = x.length;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
    sxx += x[i]! * x[i]!;
    sxy += x[i]! * y[i]!;
  }
  const det = n * sxx - sx * sx;
  const a = Math.abs(det) < 1e-300 ? 0 : (n * sxy - sx * sy) / det;
  const c = (sy - a * sx) / n;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (y[i]! - a * x[i]! - c) ** 2;
  return { a, c, rss };
}

/** Fits y(t) = a·f(t; b) + c: exact least squares in (a, c), a 1-d search over b. */
export function fitCurve(t: readonly number[], y: readonly number[], model: CurveModel): CurveFit {
  if (t.length !== y.length) throw configError(`${t.length} epochs but ${y.length} values`, 'curve');
  if (t.length < 3) throw configError(`a ${model} fit needs at least 3 points, got ${t.length}`, 'curve');
  if (t.some((v) => !(v > 0))) throw configError('epochs must be positive (the first epoch is 1)', 'curve');
  const f = basis[model];
  const rssAt = (logB: number) => linearFit(t.map((ti) => f(ti, Math.exp(logB))), y).rss;
  const [lo, hi] = rateRange[model].map(Math.log) as [number, number];
  const steps = 60;
  let best = lo;
  let bestRss = Infinity;
  for (let i = 0; i <= steps; i++) {
    const logB = lo + ((hi - lo) * i) / steps;
    const r = rssAt(logB);
    if (r < bestRss) {
      bestRss = r;
      best = logB;
    }
  }
  // Golden-section search in the grid cell around the best point.
  const width = (hi - lo) / steps;
  let l = Math.max(lo, best - width);
  let u = Math.min(hi, best + width);
  const g = (Math.sqrt(5) - 1) / 2;
  let m1 = u - g * (u - l);
  let m2 = l + g * (u - l);
  let r1 = rssAt(m1);
  let r2 = rssAt(m2);
  for (let k = 0; k < 40; k++) {
    if (r1 < r2) {
      u = m2;
      m2 = m1;
      r2 = r1;
      m1 = u - g * (u - l);
      r1 = rssAt(m1);
    } else {
      l = m1;
      m1 = m2;
      r1 = r2;
      m2 = l + g * (u - l);
      r2 = rssAt(m2);
    }
  }
  const logB = r1 < r2 ? m1 : m2;
  const finalLogB = Math.min(r1, r2) <= bestRss ? logB : best;
  const b = Math.exp(finalLogB);
  const { a, c, rss } = linearFit(t.map((ti) => f(ti, b)), y);
  return { model, a, b, c, rss, predict: (ti: number) => a * f(ti, b) + c };
}

export interface ExtrapolationOptions {
  /** Models to combine (default both). */
  models?: readonly CurveModel[];
  /** Bootstrap resamples per model (default 40). */
  resamples?: number;
  /** Predictions are clipped to this range, e.g. [0, 1] for accuracies (default none). */
  bounds?: [number, number];
  seed?: number;
}

export interface Extrapolation {
  /** Predicted value at the target epoch. */
  mean: number;
  /** Its standard deviation (bootstrap spread, across both models). */
  std: number;
  /** The fits on the observed points, with each one's weight in the mixture. */
  fits: (CurveFit & { weight: number })[];
}

/**
 * Predicts the value of a curve at epoch `target` from its values at epochs
 * 1..n (curve[i] is epoch i+1). Each model's weight is its relative
 * likelihood under Gaussian residuals (∝ RSS^(−n/2), same parameter count).
 */
export function extrapolateCurve(curve: readonly number[], target: number, o: ExtrapolationOptions = {}): Extrapolation {
  const n = curve.length;
  const t = curve.map((_, i) => i + 1);
  const models = o.models ?? (['power', 'exponential'] as const);
  const clip = (v: number) => (o.bounds ? Math.min(o.bounds[1], Math.max(o.bounds[0], v)) : v);
  const fits = models.map((m) => fitCurve(t, curve, m));
  const logLik = fits.map((f) => (-n / 2) * Math.log(Math.max(f.rss, 1e-12 * n)));
  const top = Math.max(...logLik);
  const raw = logLik.map((l) => Math.exp(l - top));
  const total = raw.reduce((a, b) => a + b, 0);
  const weights = raw.map((w) => w / total);
  const rng = new Rng(o.seed ?? 0);
  const resamples = o.resamples ?? 40;
  let mean = 0;
  let second = 0;
  fits.forEach((fit, k) => {
    const fitted = t.map((ti) => fit.predict(ti));
    const residuals = curve.map((v, i) => v - fitted[i]!);
    const preds: number[] = [clip(fit.predict(target))];
    for (let r = 0; r < resamples; r++) {
      const ys = fitted.map((v) => v + residuals[rng.int(n)]!);
      preds.push(clip(fitCurve(t, ys, fit.model).predict(target)));
    }
    for (const p of preds) {
      mean += (weights[k]! * p) / preds.length;
      second += (weights[k]! * p * p) / preds.length;
    }
  });
  const std = Math.sqrt(Math.max(0, second - mean * mean));
  return { mean, std, fits: fits.map((f, k) => ({ ...f, weight: weights[k]! })) };
}

export interface CurveStopperOptions {
  /** The epoch whose value is predicted (the full training length). */
  finalEpoch: number;
  /** No decision before this many epochs (default 3, the minimum for a fit). */
  minEpochs?: number;
  /** Stop when mean + z·std is below the threshold (default z = 1). */
  z?: number;
  /** The value to beat, e.g. the best final accuracy so far; undefined never stops. */
  threshold: () => number | undefined;
  /** The metric of an epoch (default valid accuracy, else train accuracy). */
  metric?: (r: EpochRecord) => number;
  extrapolation?: ExtrapolationOptions;
}

/**
 * A trainModel onEpoch hook that stops a candidate once its extrapolated
 * final value is confidently below the threshold. `curve` and `prediction`
 * hold what it saw and its latest forecast.
 */
export function curveStopper(o: CurveStopperOptions): {
  onEpoch: (r: EpochRecord) => void | 'stop';
  curve: number[];
  prediction: Extrapolation | undefined;
  stoppedAt: number | undefined;
} {
  const minEpochs = Math.max(3, o.minEpochs ?? 3);
  const z = o.z ?? 1;
  const metric = o.metric ?? ((r: EpochRecord) => r.validAccuracy ?? r.trainAccuracy);
  const state = {
    curve: [] as number[],
    prediction: undefined as Extrapolation | undefined,
    stoppedAt: undefined as number | undefined,
    onEpoch: (r: EpochRecord): void | 'stop' => {
      state.curve.push(metric(r));
      if (state.curve.length < minEpochs || state.curve.length >= o.finalEpoch) return;
      state.prediction = extrapolateCurve(state.curve, o.finalEpoch, o.extrapolation);
      const threshold = o.threshold();
      if (threshold !== undefined && state.prediction.mean + z * state.prediction.std < threshold) {
        state.stoppedAt = state.curve.length;
        return 'stop';
      }
    },
  };
  return state;
}
