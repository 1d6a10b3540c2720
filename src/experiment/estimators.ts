// What evaluates one trial of a config-driven experiment: the tabular
// benchmark, training on a dataset, or zero-cost proxies. Built from the
// config alone, so a worker thread can build its own copy.
import { Nb201Benchmark, parseNb201BenchmarkName } from '../benchmarks/nb201.js';
import { datasetSource, standardAugment } from '../data/spec.js';
import { subsetDataset, type Dataset } from '../data/dataset.js';
import { splitIndices } from '../data/loader.js';
import type { AugmentOptions } from '../data/augment.js';
import { configError } from '../errors.js';
import { nb201Cost } from '../hardware/cost.js';
import { NB201Network } from '../networks/nb201.js';
import { nb201Space, type Nb201Space } from '../spaces/nb201.js';
import type { Sample } from '../spaces/types.js';
import { manualSeed } from '../tensor/index.js';
import { trainModel } from '../train/trainer.js';
import { proxyBatch, scoreNb201 } from '../estimators/zero-cost/score.js';
import type { ProxyName } from '../estimators/zero-cost/proxies.js';
import type { ConstraintConfig, ExperimentConfig } from './config.js';

/** Progress a trial reports while it runs (learning curves). */
export interface TrialReporter {
  intermediate(metric: string, step: number, value: number): void;
}

export interface TrialEstimator {
  /** Final metrics of one sample (finite numbers). */
  evaluate(sample: Sample, reporter: TrialReporter): Metrics;
  /**
   * Metrics known without evaluating (params, flops from the cost model),
   * so constraints on them prune a trial before it runs.
   */
  cheapMetrics(sample: Sample): Metrics;
  dispose(): void;
}

export type Metrics = Record<string, number>;

/** Deterministic per-trial seed: the experiment seed and the sample's hash. */
export function trialSeed(seed: number, sampleHash: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < sampleHash.length; i++) h = (Math.imul(h ^ sampleHash.charCodeAt(i), 0x01000193) >>> 0);
  return h % 2147483647;
}

/** The images the training and proxies estimators see, split once per process. */
interface DataSplit {
  train: Dataset;
  valid: Dataset;
  augment: AugmentOptions;
}

function loadSplit(config: ExperimentConfig): DataSplit {
  const source = datasetSource(config.dataset.name);
  const full = source.load('train');
  const { train, valid } = splitIndices(full.n, { validFraction: config.dataset.validFraction, seed: config.seed, limit: config.dataset.limitTrain });
  if (valid.length === 0) throw configError(`expected a fraction that leaves validation images, found ${config.dataset.validFraction}`, 'dataset.validFraction');
  return {
    train: subsetDataset(full, train, `${source.name}/train-split`),
    valid: subsetDataset(full, valid, `${source.name}/valid-split`),
    augment: standardAugment(source, full, config.estimator.resolution),
  };
}

export function createTrialEstimator(config: ExperimentConfig): TrialEstimator {
  const e = config.estimator;
  const space: Nb201Space = nb201Space();
  switch (e.kind) {
    case 'benchmark': {
      const bench = new Nb201Benchmark(parseNb201BenchmarkName(e.benchmark!, 'estimator.benchmark'));
      return {
        evaluate: (s) => ({ ...bench.evaluate(s) }),
        cheapMetrics: (s) => ({ ...bench.cost(s) }),
        dispose: () => {},
      };
    }
    case 'training': {
      const data = loadSplit(config);
      const input = (d: Dataset): [number, number, number] => [d.channels, e.resolution ?? d.height, e.resolution ?? d.width];
      const cost = (s: Sample) => nb201Cost(space.opsOf(s), { input: input(data.train), classes: data.train.numClasses, channels: e.channels, cells: e.cells });
      return {
        cheapMetrics: (s) => ({ ...cost(s) }),
        evaluate: (s, reporter) => {
          const seed = trialSeed(config.seed, space.hash(s));
          manualSeed(seed);
          const net = new NB201Network({ ops: space.opsOf(s), C: e.channels!, N: e.cells!, numClasses: data.train.numClasses, inChannels: data.train.channels });
          try {
            const result = trainModel(net, data.train, {
              epochs: e.epochs!,
              batchSize: e.batch!,
              lr: e.lr!,
              augment: data.augment,
              seed,
              valid: data.valid,
              onEpoch: (r) => {
                reporter.intermediate('valid_accuracy', r.epoch, r.validAccuracy!);
                reporter.intermediate('train_loss', r.epoch, r.trainLoss);
              },
            });
            const last = result.history.at(-1)!;
            return { accuracy: last.validAccuracy!, train_accuracy: last.trainAccuracy, train_seconds: result.seconds, ...cost(s) };
          } finally {
            net.dispose();
          }
        },
        dispose: () => {},
      };
    }
    case 'proxies': {
      const data = loadSplit(config);
      const batch = proxyBatch(data.train, { size: e.proxyBatch!, seed: config.seed, normalize: data.augment.normalize, resize: e.resolution });
      const proxies = [...new Set([...(e.proxies as ProxyName[]), 'params', 'flops'] as ProxyName[])];
      const score = (s: Sample, list: readonly ProxyName[]) =>
        scoreNb201(space.opsOf(s), { proxies: list, batch, numClasses: data.train.numClasses, C: e.channels, N: e.cells, seed: config.seed }).scores;
      const finite = (scores: Record<string, number | undefined>): Metrics => {
        const out: Metrics = {};
        for (const [k, v] of Object.entries(scores)) if (v !== undefined && Number.isFinite(v)) out[k] = v;
        return out;
      };
      return {
        cheapMetrics: (s) => finite(score(s, ['params', 'flops'])),
        evaluate: (s) => finite(score(s, proxies)),
        dispose: () => {
          batch.x.dispose();
          batch.y.dispose();
        },
      };
    }
  }
}

/**
 * cheapMetrics without building an estimator (no training data, no
 * tensors): what the coordinating thread of a parallel run uses.
 */
export function cheapMetricsFunction(config: ExperimentConfig): (s: Sample) => Metrics {
  const e = config.estimator;
  if (e.kind === 'benchmark') {
    const bench = new Nb201Benchmark(parseNb201BenchmarkName(e.benchmark!, 'estimator.benchmark'));
    return (s) => ({ ...bench.cost(s) });
  }
  const space = nb201Space();
  // The test split is the smallest read that gives the images' shape and classes.
  const shape = datasetSource(config.dataset.name).load('test');
  const input: [number, number, number] = [shape.channels, e.resolution ?? shape.height, e.resolution ?? shape.width];
  return (s) => ({ ...nb201Cost(space.opsOf(s), { input, classes: shape.numClasses, channels: e.channels, cells: e.cells }) });
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
