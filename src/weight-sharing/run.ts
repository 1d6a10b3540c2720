// The contract every weight-sharing method (DARTS family, SPOS/FairNAS,
// ENAS, OFA) implements so that the experiment loop can store, checkpoint
// and resume it: a search is a sequence of supernet-training epochs, then
// one final step that derives (or searches) the architecture.
//
// Determinism across a resume: a run reseeds every generator it uses
// (libtorch's and its own Rng) at the start of each epoch and of the final
// step from (seed, epoch), and its data loaders' positions are part of the
// checkpoint. So a run restored from the checkpoint of epoch k, then trained
// for the remaining epochs, ends with exactly the history and architecture
// of an uninterrupted run (1 thread, same seed).
import type { Json } from '../util/json.js';
import type { Tensor } from '../tensor/index.js';
import type { Sample } from '../spaces/types.js';
import type { AugmentOptions } from '../data/augment.js';

/** The data and schedule options every run takes. */
export interface RunDataOptions {
  batchSize?: number;
  /** Fraction of the (limited) training set that trains α or scores candidates (default 0.5); the rest trains the weights. */
  validFraction?: number;
  /** Use at most this many training images in total (both halves). */
  limitTrain?: number;
  augment?: AugmentOptions;
  /** Seeds the split, the loaders, the supernet's initialisation and every epoch's random draws (default 0). */
  seed?: number;
  /** At most this many steps per epoch. */
  stepsPerEpoch?: number;
  /** Training ends after the epoch that brings its time past this many seconds (summed over resumes). */
  timeBudgetSeconds?: number;
}

/**
 * One epoch as stored and shown. Fields a method does not have are absent;
 * every number is finite or null (JSON).
 */
export interface WeightSharingEpoch {
  /** 1-based epoch number over the whole run. */
  epoch: number;
  /** The method's phase in this epoch, e.g. 'search', 'warmup' (α frozen), OFA's 'full' | 'kernel' | 'depth' | 'expand'. */
  phase: string;
  seconds: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  validLoss?: number | null;
  validAccuracy?: number | null;
  /** Differentiable methods: softmax(α) of each edge label, in the space's operation order. */
  weights?: Record<string, number[]>;
  /** The operation names the weights refer to, per label (same order). */
  operations?: Record<string, string[]>;
  /** PC-DARTS edge normalisation: softmax(β) per node. */
  edgeWeights?: Record<string, number[]>;
  /** The architecture derived after this epoch (differentiable methods), in the space's text format. */
  arch?: string;
  skipFraction?: number;
  noneFraction?: number;
  parameterFreeFraction?: number;
  hessianEigenvalue?: number | null;
  tau?: number | null;
  expectedCost?: number | null;
  /** Anything else the method records (e.g. OFA: largest and smallest sub-network accuracy). */
  extra?: Record<string, Json>;
}

/** What a run saves after an epoch: small JSON state, and tensors by name (weights, α, optimizer buffers). */
export interface WeightSharingCheckpoint {
  /** Optimizer scalars, scheduler position, loader states, epoch counter, method state. */
  state: Json;
  /** Tensors by unique name. They are the run's own (not copies): write them out before the next epoch, never dispose them. */
  tensors: Record<string, Tensor>;
}

/** The outcome of the final step. */
export interface WeightSharingResult {
  /** The architecture found, in the space's text format, and as a sample of the space. */
  arch: string;
  sample: Sample;
  /** Numbers about it: e.g. supernet_accuracy, skip_fraction, none_fraction, flops, params, evaluations. */
  metrics: Record<string, number>;
  /**
   * Weights of the found fixed network inherited from the supernet (one-shot
   * methods on spaces whose sub-networks can be extracted), as a state dict
   * of that network; the caller owns and disposes them.
   */
  inherited?: Record<string, Tensor>;
}

/** A weight-sharing search in progress. */
export interface WeightSharingRun {
  /** Epochs of supernet training in all. */
  readonly epochs: number;
  /** Epochs done (0 at the start, `epochs` when training is over). */
  readonly epochsDone: number;
  /**
   * Trains the next epoch and returns its record. It yields to the event
   * loop between steps, so that Ctrl-C is seen; when `signal` is aborted it
   * stops between steps and throws signal.reason (the run must then be
   * restored from a checkpoint before it is used again).
   */
  trainEpoch(signal?: AbortSignal): Promise<WeightSharingEpoch>;
  /** The state after the last finished epoch (see WeightSharingCheckpoint). */
  checkpoint(): WeightSharingCheckpoint;
  /** Returns to a checkpoint of a run built with the same options (tensors are copied in; the caller keeps ownership). */
  restore(state: Json, tensors: Record<string, Tensor>): void;
  /** After the last epoch: the architecture the method ends with (derived from α, or searched with inherited weights). */
  finish(signal?: AbortSignal): Promise<WeightSharingResult>;
  dispose(): void;
}
