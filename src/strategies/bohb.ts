// BOHB (Falkner et al., 2018): Hyperband's brackets of successive halving,
// with new configurations drawn from a TPE-style density model instead of
// uniformly. The model is two kernel densities over the space's dimensions,
// l(x) over the best trials and g(x) over the rest, at the largest budget
// with enough trials; a new configuration is the best of a few draws from a
// widened l by l(x)/g(x), and a fixed fraction stays uniform.
//
// The budget (fidelity) is a dimension of the space named by the `fidelity`
// option (e.g. an `epochs` dimension of a space with training
// hyperparameters): a configuration at budget b is the sample with that
// dimension set to b, so it is an ordinary sample to the estimator, the
// store and the deduplication, and promotions are new samples. Without a
// fidelity there is one budget: every bracket is a single configuration and
// BOHB is TPE with random interleaving.
//
// All dimensions are discrete here: categorical and input dimensions use the
// Aitchison–Aitken kernel, integer ones a geometric kernel over the ordered
// values; a dimension inactive in a trial contributes a uniform factor.
import { TsnasError } from '../errors.js';
import type { Dimension, Sample, SearchSpace, Value } from '../spaces/types.js';
import type { Rng } from '../util/random.js';
import { z } from 'zod';
import { BaseStrategy, integerAtLeast, optionsSchema, probability, numberAbove, numberAtLeast, type BaseOptions } from './base.js';
import { defineStrategy } from './types.js';

export interface BohbOptions extends BaseOptions {
  /** Label of the numeric dimension that holds the budget (absent: one budget). */
  fidelity?: string;
  /** Hyperband's η: each rung keeps 1/η of its configurations at η times the budget (default 3). */
  eta?: number;
  /** Fraction of new configurations drawn uniformly (default 1/3). */
  randomFraction?: number;
  /** Percentage of a budget's trials that make the good density (default 15). */
  topPercent?: number;
  /** Draws from the good density per new configuration (default 64). */
  candidates?: number;
  /** How much wider the kernels are when drawing than when scoring (default 3). */
  bandwidthFactor?: number;
  /** Trials per density below which a budget has no model (default: dimensions + 1). */
  minPoints?: number;
  /**
   * Run only Hyperband's bracket s, over and over (s = the number of budgets − 1 is plain
   * successive halving; with randomFraction 1, successive halving of uniform samples).
   * Default: Hyperband's cycle through every bracket.
   */
  bracket?: number;
}

/** Hyperband's budgets R·η^-s for s = s_max..0 (ascending), s_max = ⌊log_η(R/r)⌋. */
export function hyperbandBudgets(min: number, max: number, eta: number): number[] {
  if (!(min > 0 && max >= min && eta > 1)) throw new TsnasError('usage', `hyperband budgets need 0 < min <= max and eta > 1, got min ${min}, max ${max}, eta ${eta}`);
  // The epsilon keeps exact powers (R/r = η^k) from losing a level to rounding.
  const sMax = Math.floor(Math.log(max / min) / Math.log(eta) + 1e-9);
  return Array.from({ length: sMax + 1 }, (_, i) => max / eta ** (sMax - i));
}

/** One rung of a bracket: how many configurations run at which budget index. */
export interface Rung {
  configurations: number;
  /** Index into the ascending budgets. */
  budget: number;
}

/**
 * Bracket s of Hyperband with s_max + 1 budgets: n = ⌈(s_max+1)/(s+1)·η^s⌉
 * configurations at budget index s_max − s, then ⌊n·η^-i⌋ at index s_max − s + i.
 */
export function hyperbandBracket(s: number, sMax: number, eta: number): Rung[] {
  const n = Math.ceil(((sMax + 1) / (s + 1)) * eta ** s - 1e-9);
  return Array.from({ length: s + 1 }, (_, i) => ({ configurations: Math.max(1, Math.floor(n * eta ** -i + 1e-9)), budget: sMax - s + i }));
}

interface Bracket {
  s: number;
  rung: number;
  /** Samples of the current rung (rung 0 grows as its configurations are drawn). */
  samples: Sample[];
  /** How many of `samples` have been handed out. */
  handed: number;
}

const NEW_SAMPLE_TRIES = 10_000;

export class Bohb extends BaseStrategy {
  readonly name = 'bohb';
  private readonly fidelity: Dimension | undefined;
  /** Ascending budgets (values of the fidelity dimension); [undefined] without a fidelity. */
  readonly budgets: readonly (number | undefined)[];
  private readonly eta: number;
  private readonly randomFraction: number;
  private readonly topPercent: number;
  private readonly candidateCount: number;
  private readonly bandwidthFactor: number;
  private readonly minPoints: number;
  private readonly onlyBracket: number | undefined;
  /** The dimensions the density model covers (all but the fidelity). */
  private readonly modelled: readonly Dimension[];
  private brackets: Bracket[] = [];
  /** How many brackets were opened (the next one's s follows Hyperband's cycle). */
  private opened = 0;

  constructor(space: SearchSpace, options: BohbOptions = {}) {
    super(space, options);
    this.eta = options.eta ?? 3;
    this.randomFraction = options.randomFraction ?? 1 / 3;
    this.topPercent = options.topPercent ?? 15;
    this.candidateCount = options.candidates ?? 64;
    this.bandwidthFactor = options.bandwidthFactor ?? 3;
    if (!(this.eta > 1)) throw new TsnasError('config', `bohb eta must be > 1, got ${this.eta}`, { where: 'strategy.options.eta' });
    const dims = space.dimensions();
    if (options.fidelity !== undefined) {
      const d = dims.find((x) => x.label === options.fidelity);
      const where = 'strategy.options.fidelity';
      if (!d) throw new TsnasError('config', `space ${space.name} has no dimension '${options.fidelity}' to use as the budget (it has ${dims.map((x) => x.label).join(', ')})`, { where });
      if (!d.values.every((v) => typeof v === 'number' && v > 0)) throw new TsnasError('config', `the budget dimension '${d.label}' must have positive numeric values, has ${d.values.join(', ')}`, { where });
      if (d.condition || dims.some((x) => x.dependsOn?.includes(d.label))) {
        throw new TsnasError('config', `the budget dimension '${d.label}' must be unconditional and no other dimension may depend on it`, { where });
      }
      const values = (d.values as number[]).slice().sort((a, b) => a - b);
      const budgets = hyperbandBudgets(values[0]!, values.at(-1)!, this.eta).map((b) => {
        const v = values.find((x) => Math.abs(x - b) <= 1e-9 * b);
        if (v === undefined) throw new TsnasError('config', `Hyperband with eta ${this.eta} needs budget ${b} between ${values[0]} and ${values.at(-1)}, which is not a value of '${d.label}' (${values.join(', ')})`, { where });
        return v;
      });
      this.fidelity = d;
      this.budgets = budgets;
    } else {
      this.fidelity = undefined;
      this.budgets = [undefined];
    }
    this.modelled = dims.filter((d) => d !== this.fidelity);
    this.minPoints = options.minPoints ?? this.modelled.length + 1;
    this.onlyBracket = options.bracket;
    if (this.onlyBracket !== undefined && !(Number.isInteger(this.onlyBracket) && this.onlyBracket >= 0 && this.onlyBracket <= this.sMax)) {
      throw new TsnasError('config', `bohb bracket must be an integer from 0 to ${this.sMax} (the number of budgets − 1), got ${this.onlyBracket}`, { where: 'strategy.options.bracket' });
    }
  }

  private get sMax(): number {
    return this.budgets.length - 1;
  }

  protected propose(): Sample {
    for (;;) {
      for (const bracket of this.brackets) {
        const s = this.nextOf(bracket);
        if (s) return s;
      }
      this.brackets = this.brackets.filter((b) => !this.finished(b));
      const s = this.onlyBracket ?? this.sMax - (this.opened % (this.sMax + 1));
      this.opened++;
      this.brackets.push({ s, rung: 0, samples: [], handed: 0 });
    }
  }

  /** The bracket's next sample to ask, promoting when its rung is complete; undefined when it must wait. */
  private nextOf(b: Bracket): Sample | undefined {
    for (;;) {
      const rungs = hyperbandBracket(b.s, this.sMax, this.eta);
      const rung = rungs[b.rung]!;
      if (b.rung === 0 && b.samples.length < rung.configurations) {
        const s = this.newConfiguration(this.budgets[rung.budget]);
        b.samples.push(s);
        b.handed++;
        return s;
      }
      while (b.handed < b.samples.length) {
        const s = b.samples[b.handed++]!;
        // A promotion already asked elsewhere is not asked again; its result is shared.
        if (!this.isSeen(s)) return s;
      }
      const told = b.samples.map((s) => this.indexOfHash.get(this.space.hash(s)));
      if (told.some((i) => i === undefined) || b.rung + 1 >= rungs.length) return undefined;
      const next = rungs[b.rung + 1]!;
      const ranked = told.map((i) => i!).sort((x, y) => this.fitnesses[y]! - this.fitnesses[x]! || x - y);
      b.samples = ranked.slice(0, next.configurations).map((i) => this.atBudget(this.trials[i]!.sample, this.budgets[next.budget]));
      b.handed = 0;
      b.rung++;
    }
  }

  private finished(b: Bracket): boolean {
    const last = hyperbandBracket(b.s, this.sMax, this.eta).length - 1;
    return b.rung === last && b.handed === b.samples.length && b.samples.every((s) => this.indexOfHash.has(this.space.hash(s)));
  }

  private atBudget(s: Sample, budget: number | undefined): Sample {
    if (!this.fidelity || budget === undefined) return s;
    const out: Record<string, Value> = {};
    for (const d of this.space.dimensions()) {
      if (d === this.fidelity) out[d.label] = budget;
      else if (s[d.label] !== undefined) out[d.label] = s[d.label]!;
    }
    return out;
  }

  /** A configuration not asked before at this budget: from the model when it has one (1 − randomFraction of the time), else uniform. */
  private newConfiguration(budget: number | undefined): Sample {
    const model = this.rng.next() < this.randomFraction ? undefined : this.model();
    if (model) {
      const s = model.propose(this.rng, (x) => this.isSeen(this.atBudget(x, budget)));
      if (s) return this.atBudget(s, budget);
    }
    if (!this.fidelity) return this.freshRandom();
    for (let i = 0; i < NEW_SAMPLE_TRIES; i++) {
      const s = this.atBudget(this.space.sample(this.rng), budget);
      if (!this.isSeen(s)) return s;
    }
    // Every configuration at this budget was asked (tiny spaces): repeat one.
    return this.atBudget(this.space.sample(this.rng), budget);
  }

  /** The density model of the largest budget with enough trials, or undefined. */
  private model(): DensityModel | undefined {
    for (let k = this.budgets.length - 1; k >= 0; k--) {
      const budget = this.budgets[k];
      const at = this.trials.map((_, i) => i).filter((i) => !this.fidelity || this.trials[i]!.sample[this.fidelity.label] === budget);
      if (at.length < this.minPoints + 2) continue;
      at.sort((x, y) => this.fitnesses[y]! - this.fitnesses[x]! || x - y);
      const nGood = Math.max(this.minPoints, Math.floor((this.topPercent * at.length) / 100));
      const nBad = Math.max(this.minPoints, Math.floor(((100 - this.topPercent) * at.length) / 100));
      const good = at.slice(0, nGood).filter((i) => Number.isFinite(this.fitnesses[i]!));
      const bad = at.slice(nGood, nGood + nBad);
      if (good.length === 0 || bad.length === 0) continue;
      const samples = (indices: number[]) => indices.map((i) => this.trials[i]!.sample);
      return new DensityModel(this.modelled, samples(good), samples(bad), this.candidateCount, this.bandwidthFactor);
    }
    return undefined;
  }

  protected override saveExtra(): unknown {
    return { opened: this.opened, brackets: this.brackets.map((b) => ({ ...b, samples: b.samples.map((s) => ({ ...s })) })) };
  }

  protected override loadExtra(extra: unknown): void {
    const e = extra as { opened: number; brackets: Bracket[] };
    this.opened = e.opened;
    this.brackets = e.brackets.map((b) => ({ ...b, samples: [...b.samples] }));
  }
}

/**
 * l(x)/g(x) over discrete dimensions. The kernel bandwidth of a density is
 * 1/(n+1) for n points (more points, narrower kernels), at least 1e-3, and
 * bandwidthFactor times that (at most 1) when drawing.
 */
export class DensityModel {
  private readonly goodBandwidth: number;
  private readonly badBandwidth: number;

  constructor(
    private readonly dims: readonly Dimension[],
    private readonly good: readonly Sample[],
    private readonly bad: readonly Sample[],
    private readonly candidates = 64,
    private readonly bandwidthFactor = 3,
  ) {
    const bandwidth = (n: number) => Math.max(1e-3, 1 / (n + 1));
    this.goodBandwidth = bandwidth(good.length);
    this.badBandwidth = bandwidth(bad.length);
  }

  /**
   * The best of `candidates` draws from the widened good density, by l/g,
   * leaving out draws `excluded` says were asked already (the argmax is
   * otherwise often a good trial itself); undefined when every draw was.
   */
  propose(rng: Rng, excluded: (s: Sample) => boolean = () => false): Sample | undefined {
    let best: Sample | undefined;
    let bestScore = -Infinity;
    for (let i = 0; i < this.candidates; i++) {
      const s = this.draw(rng);
      if (excluded(s)) continue;
      const score = this.ratio(s);
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }

  /** log l(x) − log g(x). */
  ratio(s: Sample): number {
    return this.logDensity(s, this.good, this.goodBandwidth) - this.logDensity(s, this.bad, this.badBandwidth);
  }

  /** A draw from the good density with widened kernels: a good point, each value kept or moved by the kernel. */
  draw(rng: Rng): Sample {
    const center = this.good[rng.int(this.good.length)]!;
    const bandwidth = Math.min(1, this.goodBandwidth * this.bandwidthFactor);
    const out: Record<string, Value> = {};
    for (const d of this.dims) {
      if (d.condition && !d.condition(out)) continue;
      const c = center[d.label];
      const at = c === undefined ? -1 : d.values.indexOf(c);
      out[d.label] = d.values[at < 0 ? rng.int(d.values.length) : drawKernel(d, at, bandwidth, rng)]!;
    }
    return out;
  }

  private logDensity(s: Sample, points: readonly Sample[], bandwidth: number): number {
    let total = 0;
    for (const p of points) {
      let product = 1;
      for (const d of this.dims) {
        const v = s[d.label];
        if (v === undefined) continue;
        const pv = p[d.label];
        const at = pv === undefined ? -1 : d.values.indexOf(pv);
        product *= at < 0 ? 1 / d.values.length : kernel(d, d.values.indexOf(v), at, bandwidth);
      }
      total += product;
    }
    return Math.log(Math.max(total / points.length, 1e-300));
  }
}

/** P(value index v | center index c) for a dimension's kernel at bandwidth λ. */
function kernel(d: Dimension, v: number, c: number, lambda: number): number {
  const n = d.values.length;
  if (n === 1) return 1;
  if (d.kind !== 'integer') return v === c ? 1 - lambda : lambda / (n - 1);
  // Ordered values: weight λ^|v−c|, normalised over the dimension's values.
  let z = 0;
  for (let i = 0; i < n; i++) z += lambda ** Math.abs(i - c);
  return lambda ** Math.abs(v - c) / z;
}

function drawKernel(d: Dimension, c: number, lambda: number, rng: Rng): number {
  const n = d.values.length;
  let u = rng.next();
  for (let v = 0; v < n; v++) {
    u -= kernel(d, v, c, lambda);
    if (u < 0) return v;
  }
  return n - 1;
}

export const bohbKind = defineStrategy({
  name: 'bohb',
  multiObjective: false,
  options: optionsSchema({
    fidelity: z.string().describe('label of the numeric dimension that holds the budget, e.g. epochs (default: none, one budget)').optional(),
    eta: numberAbove(1, "Hyperband's η: each rung keeps 1/η at η times the budget (default 3)"),
    randomFraction: probability('fraction of new configurations drawn uniformly (default 1/3)'),
    topPercent: z.number().gt(0).max(99).describe("percentage of a budget's trials in the good density (default 15)").optional(),
    candidates: integerAtLeast(1, 'draws from the good density per new configuration (default 64)'),
    bandwidthFactor: numberAtLeast(1, 'how much wider the kernels are when drawing (default 3)'),
    minPoints: integerAtLeast(1, 'trials per density below which a budget has no model (default: dimensions + 1)'),
    bracket: integerAtLeast(0, "run only this Hyperband bracket (the number of budgets - 1: successive halving); default: every bracket in turn"),
  }),
  create: (space, options) => new Bohb(space, options),
});
