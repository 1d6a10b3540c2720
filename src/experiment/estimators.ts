// What evaluates one trial of a config-driven experiment: the tabular
// benchmark (NAS-Bench-201 only), or, for every registered space (its kit
// builds the fixed network), training on a dataset or zero-cost proxies. Built from the config alone, so a worker
// thread can build its own copy.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Nb201Benchmark, parseNb201BenchmarkName } from '../benchmarks/nb201.js';
import { datasetSource, standardAugment } from '../data/spec.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { splitIndices } from '../data/loader.js';
import type { AugmentOptions } from '../data/augment.js';
import { configError, TsnasError } from '../errors.js';
import { loadLatencyTable, predictLatency, type LatencyTable } from '../hardware/latency.js';
import { buildNetwork, checkSpaceInput, costOf, costOptionsFor, getSpace, latencyModel, networkInputShape } from '../kits/index.js';
import type { BuildNetworkOptions } from '../networks/index.js';
import type { MorphismLineage, WeightInheritance } from '../networks/morphism.js';
import type { Module } from '../nn/module.js';
import { loadSafetensors, saveSafetensors } from '../export/safetensors.js';
import { inheritedNetwork } from '../estimators/morphism.js';
import type { TrialMetadata } from '../strategies/types.js';
import type { DefinedSpace } from '../spaces/space.js';
import { isHyperparameterSpace } from '../spaces/hyperparameters.js';
import type { Sample } from '../spaces/types.js';
import { manualSeed } from '../tensor/index.js';
import { trainModel } from '../train/trainer.js';
import { proxyBatch } from '../estimators/zero-cost/score.js';
import { computeProxies, perNetworkProxies, type ProxyBatch, type ProxyName } from '../estimators/zero-cost/proxies.js';
import { COST_METRICS, HARDWARE_METRICS, PROXY_METRICS, TRAINING_METRICS } from '../estimators/metrics.js';
import type { Metrics, TrialContext, TrialEstimator } from '../estimators/types.js';
import { spaceOptionsOf, trialEstimatorConfig, type ConstraintConfig, type EstimatorConfig, type ExperimentConfig } from './config.js';

/** A built-in estimator: evaluates synchronously (in this thread or a worker's) and always knows its cheap metrics. */
export interface BuiltInEstimator extends TrialEstimator {
  evaluate(sample: Sample, context: TrialContext): Metrics;
  cheapMetrics(sample: Sample): Metrics;
  dispose(): void;
}

export type { Metrics, TrialContext, TrialEstimator };

/** Deterministic per-trial seed: the experiment seed and the sample's hash. */
export function trialSeed(seed: number, sampleHash: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < sampleHash.length; i++) h = (Math.imul(h ^ sampleHash.charCodeAt(i), 0x01000193) >>> 0);
  return h % 2147483647;
}

/** The config's space. */
export function configSpace(config: ExperimentConfig): DefinedSpace {
  return getSpace(config.space.name, spaceOptionsOf(config.space.name, config.space.options));
}

/** The images the training and proxies estimators see, split once per process. */
export interface DataSplit {
  train: Dataset;
  valid: Dataset;
  augment: AugmentOptions;
}

export function loadSplit(config: ExperimentConfig, resolution?: number): DataSplit {
  const source = datasetSource(config.dataset.name);
  const full = source.load('train');
  const { train, valid } = splitIndices(full.n, { validFraction: config.dataset.validFraction, seed: config.seed, limit: config.dataset.limitTrain });
  for (const [part, indices] of [['training', train], ['validation', valid]] as const) {
    if (indices.length === 0) {
      throw configError(`leaves no ${part} image: ${config.dataset.name} has ${full.n} training images, validFraction ${config.dataset.validFraction}` +
        `${config.dataset.limitTrain !== undefined ? `, limitTrain ${config.dataset.limitTrain}` : ''}`, 'dataset');
    }
  }
  return {
    train: subsetDataset(full, train, `${source.name}/train-split`),
    valid: subsetDataset(full, valid, `${source.name}/valid-split`),
    augment: standardAugment(source, full, resolution),
  };
}

/** A sample's network for a dataset shape, its input size and its cost (the cost model counts the same network). */
export interface NetworkPlan {
  space: DefinedSpace;
  /** The options every sample's network shares (options(s) adds its input size). */
  base: BuildNetworkOptions;
  options(s: Sample): BuildNetworkOptions;
  /** Image size the sample's network reads (mobilenet: the sample's resolution). */
  inputSize(s: Sample): number;
  cost(s: Sample): Metrics;
}

export function networkPlan(space: DefinedSpace, e: Pick<EstimatorConfig, 'channels' | 'cells' | 'resolution'>, shape: { channels: number; height: number; numClasses: number }): NetworkPlan {
  const base: BuildNetworkOptions = {
    numClasses: shape.numClasses,
    inChannels: shape.channels,
    inputSize: e.resolution ?? shape.height,
    ...(e.channels !== undefined ? { channels: e.channels } : {}),
    ...(e.cells !== undefined ? { cells: e.cells } : {}),
  };
  const inputSize = (s: Sample) => networkInputShape(space, s, base)[1];
  const options = (s: Sample): BuildNetworkOptions => ({ ...base, inputSize: inputSize(s) });
  return {
    space,
    base,
    options,
    inputSize,
    cost: (s) => ({ ...costOf(space, s, costOptionsFor(options(s))) }),
  };
}

/** Proxy scores of any registered space's samples: a seeded network per sample, one batch per input size. */
export interface ProxyScorer {
  score(s: Sample, proxies: readonly ProxyName[]): Metrics;
  cost(s: Sample): Metrics;
  dispose(): void;
}

export function proxyScorer(config: ExperimentConfig, e: Pick<EstimatorConfig, 'channels' | 'cells' | 'resolution' | 'proxyBatch' | 'ensemble'>, data?: DataSplit): ProxyScorer {
  const ensemble = e.ensemble as ProxyName[] | undefined;
  const space = configSpace(config);
  const split = data ?? loadSplit(config, e.resolution);
  const plan = networkPlan(space, e, split.train);
  checkSpaceInput(space, plan.base, 'estimator.resolution', config.seed);
  const batches = new Map<number, ProxyBatch>();
  const batchFor = (size: number): ProxyBatch => {
    let b = batches.get(size);
    if (!b) {
      b = proxyBatch(split.train, { size: e.proxyBatch!, seed: config.seed, normalize: split.augment.normalize, resize: size === split.train.height ? undefined : size });
      batches.set(size, b);
    }
    return b;
  };
  const finite = (scores: Record<string, number | undefined>): Metrics => {
    const out: Metrics = {};
    for (const [k, v] of Object.entries(scores)) if (v !== undefined && Number.isFinite(v)) out[k] = v;
    return out;
  };
  return {
    cost: plan.cost,
    score(s, proxies) {
      // Population proxies (population.ts) are scored per network by their components.
      const needed = perNetworkProxies(proxies, ensemble);
      const network = needed.filter((p) => p !== 'params' && p !== 'flops');
      const out: Record<string, number | undefined> = {};
      if (network.length > 0) {
        // Seeded before building: a sample's scores never depend on what was scored before it.
        manualSeed(config.seed);
        const net = buildNetwork(space, s, plan.options(s));
        try {
          Object.assign(out, computeProxies(net, batchFor(plan.inputSize(s)), network, { ensemble }));
        } finally {
          net.dispose();
        }
      }
      const cost = plan.cost(s);
      if (needed.includes('params')) out['params'] = cost['params'];
      if (needed.includes('flops')) out['flops'] = cost['flops'];
      return finite(out);
    },
    dispose() {
      for (const b of batches.values()) {
        b.x.dispose();
        b.y.dispose();
      }
      batches.clear();
    },
  };
}

/**
 * The hardware metrics a config asks every trial to carry: `latency_ms`
 * predicted from a measured table (src/hardware/latency.ts), or none.
 */
export function hardwareMetricsFunction(config: ExperimentConfig): (s: Sample) => Metrics {
  const path = config.hardware?.latencyTable;
  if (path === undefined) return () => ({});
  let table: LatencyTable;
  try {
    table = loadLatencyTable(path);
  } catch (e) {
    throw configError((e as Error).message, 'hardware.latencyTable');
  }
  if (table.network.space !== config.space.name) {
    throw configError(`the table ${path} was measured for space ${table.network.space}, but the experiment searches ${config.space.name}`, 'hardware.latencyTable');
  }
  const model = latencyModel(table);
  return (s) => ({ latency_ms: predictLatency(model, table, s) });
}

/** Where the built-in estimators keep files between trials. */
export interface EstimatorFiles {
  /** Trained weights that trials ask to keep (WeightInheritance.keepWeights), one file per sample; absent: none kept, every network trains from scratch. */
  weightsDir?: string;
}

/** Where an experiment with this files directory keeps its trials' weights. */
export function keptWeightsDir(filesDir: string): string {
  return join(filesDir, 'weights');
}

/** The file of a sample's kept weights. */
export function weightsFile(weightsDir: string, sampleHash: string): string {
  return join(weightsDir, `${sampleHash}.safetensors`);
}

export function createTrialEstimator(config: ExperimentConfig, files: EstimatorFiles = {}): BuiltInEstimator {
  const base = baseTrialEstimator(config, files);
  if (config.hardware?.latencyTable === undefined) return base;
  const hardware = hardwareMetricsFunction(config);
  return {
    metrics: { ...base.metrics, ...HARDWARE_METRICS },
    evaluate: (s, reporter) => ({ ...base.evaluate(s, reporter), ...hardware(s) }),
    cheapMetrics: (s) => ({ ...base.cheapMetrics(s), ...hardware(s) }),
    dispose: () => base.dispose(),
  };
}

function baseTrialEstimator(config: ExperimentConfig, files: EstimatorFiles): BuiltInEstimator {
  const e = trialEstimatorConfig(config.estimator);
  switch (e.kind) {
    case 'benchmark': {
      const bench = new Nb201Benchmark(parseNb201BenchmarkName(e.benchmark!, 'estimator.benchmark'));
      // A device cost the search needs but HW-NAS-Bench lacks for a cell fails that trial, naming both.
      const required = config.objectives.map((o) => o.name).filter((name) => name in bench.metrics);
      return {
        metrics: bench.metrics,
        evaluate: (s) => ({ ...bench.evaluate(s, required) }),
        cheapMetrics: (s) => ({ ...bench.cost(s), ...bench.deviceCosts(s) }),
        dispose: () => {},
      };
    }
    case 'training': {
      const space = configSpace(config);
      const data = loadSplit(config, e.resolution);
      const plan = networkPlan(space, e, data.train);
      checkSpaceInput(space, plan.base, 'estimator.resolution', config.seed);
      return {
        metrics: { ...TRAINING_METRICS, ...COST_METRICS },
        cheapMetrics: (s) => plan.cost(s),
        evaluate: (s, reporter) => {
          const seed = trialSeed(config.seed, space.hash(s));
          manualSeed(seed);
          const size = plan.inputSize(s);
          const weights = weightInheritance(reporter.metadata);
          const net = startingNetwork(space, s, plan, weights.inherit, files.weightsDir);
          // A space with training hyperparameters overrides the estimator's settings per sample.
          const hp = isHyperparameterSpace(space) ? space.split(s).hyperparameters : {};
          const resize = size === data.train.height ? undefined : size;
          try {
            const result = trainModel(net, data.train, {
              epochs: hp.epochs ?? e.epochs!,
              batchSize: hp.batch ?? e.batch!,
              lr: hp.lr ?? e.lr!,
              ...(hp.weightDecay !== undefined ? { weightDecay: hp.weightDecay } : {}),
              // mobilenet samples choose their own resolution.
              augment: hp.augment === 'none' ? { normalize: data.augment.normalize, resize } : { ...data.augment, resize },
              seed,
              valid: data.valid,
              onEpoch: (r) => {
                reporter.intermediate('valid_accuracy', r.epoch, r.validAccuracy!);
                reporter.intermediate('train_loss', r.epoch, r.trainLoss);
              },
            });
            const last = result.history.at(-1)!;
            if (weights.keepWeights && files.weightsDir !== undefined) {
              mkdirSync(files.weightsDir, { recursive: true });
              saveSafetensors(weightsFile(files.weightsDir, space.hash(s)), net.stateDict());
            }
            return { accuracy: last.validAccuracy!, train_accuracy: last.trainAccuracy, train_seconds: result.seconds, ...plan.cost(s) };
          } finally {
            net.dispose();
          }
        },
        dispose: () => {},
      };
    }
    case 'proxies': {
      const scorer = proxyScorer(config, e);
      const proxies = [...new Set([...(e.proxies as ProxyName[]), 'params', 'flops'] as ProxyName[])];
      return {
        metrics: { ...Object.fromEntries(proxies.filter((p) => p in PROXY_METRICS).map((p) => [p, PROXY_METRICS[p]!])), ...COST_METRICS },
        cheapMetrics: (s) => scorer.cost(s),
        evaluate: (s) => scorer.score(s, proxies),
        dispose: () => scorer.dispose(),
      };
    }
    default:
      throw configError(`expected a base estimator kind (benchmark, training, proxies), found ${JSON.stringify(e.kind)}`, 'estimator.kind');
  }
}

/** The WeightInheritance part of a trial's metadata, checked: a malformed one is a data error naming it. */
function weightInheritance(metadata: TrialMetadata | undefined): WeightInheritance {
  const { keepWeights, inherit } = (metadata ?? {}) as WeightInheritance;
  const lineage = inherit as Partial<MorphismLineage> | null | undefined;
  if (lineage !== undefined && (typeof lineage !== 'object' || lineage === null || typeof lineage.parent !== 'object' || !Number.isInteger(lineage.seed) || !Number.isInteger(lineage.steps))) {
    throw new TsnasError('data', `trial metadata inherit must be { parent, seed, steps }, got ${JSON.stringify(inherit)}`);
  }
  return { keepWeights: keepWeights === true, ...(inherit ? { inherit } : {}) };
}

/**
 * A sample's network before training: its lineage's parent's kept weights
 * carried over by the lineage's morphisms (the same function as the trained
 * parent); from scratch without a lineage, or when the parent kept no
 * weights (it failed, was pruned, or runs without a weights directory).
 */
function startingNetwork(space: DefinedSpace, s: Sample, plan: NetworkPlan, lineage: MorphismLineage | undefined, weightsDir: string | undefined): Module {
  const file = lineage && weightsDir !== undefined ? weightsFile(weightsDir, space.hash(lineage.parent)) : undefined;
  if (!lineage || file === undefined || !existsSync(file)) return buildNetwork(space, s, plan.options(s));
  const { tensors } = loadSafetensors(file);
  try {
    return inheritedNetwork(space, lineage, tensors, s, plan.options(lineage.parent));
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/**
 * cheapMetrics without building an estimator (no training data, no
 * tensors): what the coordinating thread of a parallel run uses.
 */
export function cheapMetricsFunction(config: ExperimentConfig): (s: Sample) => Metrics {
  const hardware = hardwareMetricsFunction(config);
  const e = trialEstimatorConfig(config.estimator);
  if (e.kind === 'benchmark') {
    const bench = new Nb201Benchmark(parseNb201BenchmarkName(e.benchmark!, 'estimator.benchmark'));
    return (s) => ({ ...bench.cost(s), ...bench.deviceCosts(s), ...hardware(s) });
  }
  // The test split is the smallest read that gives the images' shape and classes (only its shape is used); a folder may have none.
  const source = datasetSource(config.dataset.name);
  const shape = source.load(source.hasTest() ? 'test' : 'train');
  const cost = networkPlan(configSpace(config), e, shape).cost;
  return (s) => ({ ...cost(s), ...hardware(s) });
}

/** The first constraint a metrics record breaks, or undefined; metrics it lacks are not judged. */
export function brokenConstraint(constraints: readonly ConstraintConfig[], metrics: Metrics): ConstraintConfig | undefined {
  return constraints.find((c) => {
    const v = metrics[c.metric];
    if (v === undefined) return false;
    switch (c.op) {
      case '<=':
        return !(v <= c.value);
      case '<':
        return !(v < c.value);
      case '>=':
        return !(v >= c.value);
      case '>':
        return !(v > c.value);
    }
  });
}
