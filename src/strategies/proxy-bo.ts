// Proxy-informed Bayesian optimisation: training-free scores of a large
// candidate pool are free information, and real queries go only to the most
// promising candidates. The pool (seeded, drawn once) is scored once through
// the caller's ProxyScoreSource. The first `initial` queries are the pool's
// best by the label-free sum of proxy ranks; after that an ensemble of
// boosted trees on [encoding, cell-graph features, proxy scores], refit on
// the queried cells, picks by independent Thompson sampling (mean + spread ×
// normal draw), so the weighting of the proxies is learnt from the queried
// cells, as in RoBoT (He et al., 2023), without a fixed functional form.
import { TsnasError } from '../errors.js';
import type { Sample, SearchSpace } from '../spaces/types.js';
import { Rng } from '../util/random.js';
import { BoostedTrees, tabularFeatures, type TabularFeatures } from '../predictors/trees.js';
import { BaseStrategy, integerAtLeast, optionsSchema, numberAtLeast, type BaseOptions } from './base.js';
import { z } from 'zod';
import { targets } from './bananas.js';
import { defineStrategy, type ProxyScoreSource, type StrategySetup } from './types.js';

export interface ProxyBoOptions extends BaseOptions {
  /** Proxy names the source scores (default synflow, snip, grad_norm, params). */
  proxies?: string[];
  /** Candidates drawn once and scored (default 1000; capped at the space's size). */
  pool?: number;
  /** Queries chosen by the label-free proxy ranking before the model is used (default 5). */
  initial?: number;
  /** Boosted-tree models in the ensemble, whose spread is the uncertainty (default 5). */
  ensemble?: number;
  /** Trees per model (default 100). */
  trees?: number;
  /** Samples chosen per model fit (default 1). */
  batch?: number;
  /** The best trials whose neighbours join the candidates (default 1). */
  parents?: number;
  /** Scale of the ensemble's spread in the Thompson draw; 0 picks by the mean (default 0). */
  explore?: number;
}

const DEFAULT_PROXIES = ['synflow', 'snip', 'grad_norm', 'params'];
/** Keeps the pool's RNG apart from the strategy's, so that a restored strategy redraws the same pool. */
const POOL_SEED_OFFSET = 0x5eed;

export class ProxyBo extends BaseStrategy {
  readonly name = 'proxy-bo';
  private readonly proxies: string[];
  private readonly poolSize: number;
  private readonly initial: number;
  private readonly ensembleSize: number;
  private readonly trees: number;
  private readonly batch: number;
  private readonly parents: number;
  private readonly explore: number;
  private readonly source: ProxyScoreSource;
  private readonly features: TabularFeatures;
  private poolSeed: number;
  /** The scored pool, built on first use: samples, hashes and label-free prior (sum of proxy ranks); rows are in rowCache. */
  private pool: { samples: Sample[]; hashes: string[]; prior: number[] } | undefined;
  private queue: Sample[] = [];
  /** hash -> feature row (proxy scores included), so each sample is scored once. */
  private readonly rowCache = new Map<string, number[]>();

  /** proxyScores is required: the experiment layer and the benchmark harness pass one. */
  constructor(space: SearchSpace, options: ProxyBoOptions & Pick<StrategySetup, 'proxyScores'> = {}) {
    super(space, options);
    this.proxies = options.proxies ?? DEFAULT_PROXIES;
    this.poolSize = options.pool ?? 1000;
    this.initial = options.initial ?? 5;
    this.ensembleSize = options.ensemble ?? 5;
    this.trees = options.trees ?? 100;
    this.batch = options.batch ?? 1;
    this.parents = options.parents ?? 1;
    this.explore = options.explore ?? 0;
    this.poolSeed = (options.seed ?? 0) + POOL_SEED_OFFSET;
    if (!options.proxyScores) throw new TsnasError('config', 'proxy-bo needs proxy scores: run it in an experiment (the zero-cost proxies score its pool) or give `tsnas bench search` a --proxy-scores file');
    if (this.proxies.length === 0) throw new TsnasError('config', 'proxy-bo needs at least one proxy name', { where: 'proxies' });
    this.source = options.proxyScores;
    const source = this.source;
    const proxies = this.proxies;
    this.features = tabularFeatures(space, { proxies: { names: proxies, scores: (ss) => source.score(ss, proxies) } });
  }

  protected propose(): Sample {
    while (this.queue.length > 0) {
      const s = this.queue.shift()!;
      if (!this.isSeen(s)) return s;
    }
    this.queue = this.acquire();
    return this.queue.shift() ?? this.freshRandom();
  }

  private scoredPool() {
    if (this.pool) return this.pool;
    const rng = new Rng(this.poolSeed);
    const size = Number(BigInt(this.poolSize) < this.spaceSize ? BigInt(this.poolSize) : this.spaceSize);
    const samples: Sample[] = [];
    const hashes: string[] = [];
    const taken = new Set<string>();
    for (let tries = 0; samples.length < size && tries < size * 50; tries++) {
      const s = this.space.sample(rng);
      const h = this.space.hash(s);
      if (taken.has(h)) continue;
      taken.add(h);
      samples.push(s);
      hashes.push(h);
    }
    const features = this.features;
    const rows = this.rowsOf(samples);
    // The proxy features are the last columns; the prior sums their ranks (missing scores rank lowest, as their feature value does).
    const first = features.names.length - this.proxies.length;
    const prior = new Array<number>(samples.length).fill(0);
    for (let k = first; k < features.names.length; k++) {
      const order = samples.map((_, i) => i).sort((a, b) => rows[a]![k]! - rows[b]![k]! || a - b);
      order.forEach((i, rank) => (prior[i]! += rank));
    }
    this.pool = { samples, hashes, prior };
    return this.pool;
  }

  /**
   * The next batch, best first: by the prior before `initial` trials; then
   * by Thompson samples of the tree ensemble over the unasked pool and the
   * unasked neighbours of the best `parents` trials (the optimum's
   * neighbourhood is rarely in a random pool).
   */
  private acquire(): Sample[] {
    const pool = this.scoredPool();
    const told = this.trials.map((_, i) => i).filter((i) => Number.isFinite(this.fitnesses[i]!));
    if (told.length < Math.max(2, this.initial)) {
      return pool.samples
        .map((s, i) => ({ s, i }))
        .filter(({ i }) => !this.seen.has(pool.hashes[i]!))
        .sort((a, b) => pool.prior[b.i]! - pool.prior[a.i]! || a.i - b.i)
        .slice(0, this.batch)
        .map(({ s }) => s);
    }
    const candidates: Sample[] = [];
    const candidateHashes = new Set<string>();
    const add = (s: Sample, h = this.space.hash(s)) => {
      if (this.seen.has(h) || candidateHashes.has(h)) return;
      candidateHashes.add(h);
      candidates.push(s);
    };
    pool.samples.forEach((s, i) => add(s, pool.hashes[i]));
    const byFitness = [...told].sort((a, b) => this.fitnesses[b]! - this.fitnesses[a]! || a - b);
    for (const i of byFitness.slice(0, this.parents)) for (const s of this.space.neighbours(this.trials[i]!.sample)) add(s);
    if (candidates.length === 0) return [];
    const x = this.rowsOf(told.map((i) => this.trials[i]!.sample));
    const y = targets(told.map((i) => this.fitnesses[i]!)).values;
    const candidateRows = this.rowsOf(candidates);
    const predictions = Array.from({ length: this.ensembleSize }, () => {
      const model = new BoostedTrees({ trees: this.trees, depth: 3, learningRate: 0.1, minLeaf: 2, rowSample: 0.8, columnSample: 0.5, seed: this.rng.nextUint32() });
      model.fit(x, y);
      return model.predict(candidateRows);
    });
    const score = candidates.map((_, c) => {
      const v = predictions.map((p) => p[c]!);
      const mu = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length);
      return mu + this.explore * sd * this.rng.normal();
    });
    return candidates
      .map((s, c) => ({ s, c, score: score[c]! }))
      .sort((a, b) => b.score - a.score || a.c - b.c)
      .slice(0, this.batch)
      .map(({ s }) => s);
  }

  /** Feature rows, each computed (and scored by the proxies) once. */
  private rowsOf(samples: readonly Sample[]): number[][] {
    const hashes = samples.map((s) => this.space.hash(s));
    const missing = samples.filter((_, i) => !this.rowCache.has(hashes[i]!));
    const fresh = missing.length > 0 ? this.features.rows(missing) : [];
    missing.forEach((s, k) => this.rowCache.set(this.space.hash(s), fresh[k]!));
    return hashes.map((h) => this.rowCache.get(h)!);
  }

  protected override saveExtra(): unknown {
    return { queue: this.queue.map((s) => ({ ...s })), poolSeed: this.poolSeed };
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as { queue: Sample[]; poolSeed: number };
    this.queue = [...e.queue];
    if (e.poolSeed !== this.poolSeed) {
      this.poolSeed = e.poolSeed;
      this.pool = undefined;
    }
  }

  override dispose(): void {
    this.source.dispose?.();
  }
}

export const proxyBoKind = defineStrategy({
  name: 'proxy-bo',
  multiObjective: false,
  options: optionsSchema({
    proxies: z.array(z.string()).describe('proxy names the scores come from (default synflow, snip, grad_norm, params)').optional(),
    pool: integerAtLeast(1, 'candidates drawn once and scored by the proxies (default 1000)'),
    initial: integerAtLeast(1, 'queries chosen by the label-free proxy ranking before the model (default 5)'),
    ensemble: integerAtLeast(2, 'boosted-tree models, whose spread is the uncertainty (default 5)'),
    trees: integerAtLeast(1, 'trees per model (default 100)'),
    batch: integerAtLeast(1, 'samples chosen per model fit (default 1)'),
    explore: numberAtLeast(0, "scale of the ensemble's spread in the Thompson draw; 0 picks by the mean (default 0)"),
    parents: integerAtLeast(0, 'the best trials whose neighbours join the candidates (default 1)'),
  }),
  create: (space, options) => new ProxyBo(space, options),
});
