// Learned performance predictors: fit on (sample, value) pairs, then predict
// values of unseen samples with an uncertainty.
import type { EncodingKind, Sample } from '../spaces/types.js';

/** What a predictor reads, so callers know what to collect before fit. */
export interface PredictorNeeds {
  /** 'encoding': a fixed-length vector (space.encode); 'op-sequence': the chosen values as tokens; 'cell-graph': the space's cell graphs. */
  input: 'encoding' | 'op-sequence' | 'cell-graph';
  /** The encoding kind, for input 'encoding'. */
  encoding?: EncodingKind;
  /** Whether fit also needs partial learning curves of the samples (none of the built-in predictors does). */
  partialCurves: boolean;
  /** The smallest training set it is meant for. */
  minTrainingSamples: number;
  /** Whether query's std carries information (ensembles, Gaussian processes) or is all zeros. */
  uncertainty: boolean;
}

export interface Prediction {
  mean: number[];
  std: number[];
}

export interface Predictor {
  readonly name: string;
  readonly needs: PredictorNeeds;
  /** Trains from scratch on the samples and their values (higher is better, e.g. accuracy). */
  fit(samples: readonly Sample[], values: readonly number[]): void;
  query(samples: readonly Sample[]): Prediction;
  /** Frees native weights. */
  dispose(): void;
}

/** Values scaled to zero mean and unit variance, and back. */
export class Standardizer {
  readonly mean: number;
  readonly scale: number;
  constructor(values: readonly number[]) {
    const n = values.length;
    this.mean = values.reduce((a, b) => a + b, 0) / n;
    const v = values.reduce((a, b) => a + (b - this.mean) ** 2, 0) / n;
    this.scale = Math.sqrt(v) > 1e-12 ? Math.sqrt(v) : 1;
  }
  forward(values: readonly number[]): number[] {
    return values.map((v) => (v - this.mean) / this.scale);
  }
  inverse(values: readonly number[]): number[] {
    return values.map((v) => v * this.scale + this.mean);
  }
}
