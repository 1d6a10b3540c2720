// The weight-sharing methods by name: each declares its options (the
// schema of a config's strategy.options) and builds a checkpointable run
// (run.ts) from a dataset and those options. The experiment loop and the
// CLI find a method here; nothing else lists their names.
import { configError, TsnasError } from '../errors.js';
import type { AugmentOptions } from '../data/augment.js';
import type { Dataset } from '../data/dataset.js';
import { getKit, latencyModel } from '../kits/index.js';
import { latencyCostTables, loadLatencyTable } from '../hardware/latency.js';
import { z } from 'zod';
import type { Sample } from '../spaces/types.js';
import { flopsCostTable, refuseCellOptions } from './differentiable/search.js';
import { DIFFERENTIABLE_METHODS, methodTraits, referenceDefaults, type DifferentiableMethod } from './differentiable/traits.js';
import { createDifferentiableRun } from './differentiable/run.js';
import { createSupernetDifferentiableRun } from './differentiable/generic.js';
import { DIFFERENTIABLE_SPACES, type DifferentiableSpace } from './differentiable/network.js';
import { createSposRun, createFairnasRun } from './oneshot/spos.js';
import { createEnasRun } from './oneshot/enas.js';
import { createOfaRun, DEFAULT_PHASE_SPLIT } from './oneshot/ofa.js';
import { createSmashRun } from './oneshot/smash.js';
import type { CostLimits } from './oneshot/constraints.js';
import type { WeightSharingRun } from './run.js';

/** What every method gets besides its own options (from the config's space, dataset, seed and constraints). */
export interface RunContext {
  space: string;
  spaceOptions: Record<string, unknown>;
  seed: number;
  /** Share of the (limited) training images that trains α or scores candidates (the rest trains weights). */
  validFraction: number;
  limitTrain?: number;
  augment: AugmentOptions;
  /** Resource limits on the found architecture (one-shot methods; from constraints on flops and params). */
  limits: CostLimits;
  /** One-shot methods: called in the final step with the inherited-weight accuracy of any sample (e.g. to measure ranking quality). */
  afterSearch?: (evaluate: (s: Sample) => number) => void;
}

/**
 * A named setting of a method (e.g. `cpu`): values of its options, and how
 * many training images it uses (dataset.limitTrain). A config's `preset`
 * fills these where the config leaves them unset, so explicit fields win.
 */
export interface MethodPreset {
  options: Record<string, unknown>;
  limitTrain: number;
}

/** The preset names every method declares. */
export const PRESET_NAMES = ['cpu'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface WeightSharingMethod {
  readonly name: string;
  readonly summary: string;
  /** The schema of strategy.options (defaults filled in by the config check). */
  readonly options: z.ZodObject;
  readonly presets: Readonly<Record<PresetName, MethodPreset>>;
  /** Builds the run; options are checked against `options` already. */
  create(data: Dataset, context: RunContext, options: Record<string, any>): WeightSharingRun;
}

/** An option with a default, or an optional one without. */
const withDefault = <T>(schema: z.ZodType<T>, def: T | undefined) => (def === undefined ? schema.optional() : schema.default(def as never));
const int = (min: number, help: string, def?: number) => withDefault(z.number().int().min(min).describe(help), def);
const num = (min: number, help: string, def?: number) => withDefault(z.number().min(min).describe(help), def);
const bool = (help: string, def: boolean) => z.boolean().default(def).describe(help);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, help: string, def: T[number]) => z.enum(values).default(def as never).describe(help);
type Shape = z.ZodRawShape;

/** Options every method has: the supernet's size, its training, its data. */
const COMMON: Shape = {
  epochs: int(1, 'supernet training epochs', 10),
  batch: int(1, 'batch size', 64),
  channels: int(1, 'cell spaces (nb201, darts): initial channels C of the supernet'),
  cells: int(1, 'cell spaces: cells per stage (nb201) or cells in all (darts)'),
  resolution: int(4, 'resize the images to this side'),
  lr: num(0, 'weights: initial learning rate (cosine to lrMin)', 0.025),
  lrMin: num(0, 'weights: final learning rate', 0.001),
  momentum: num(0, 'weights: SGD momentum', 0.9),
  weightDecay: num(0, 'weights: weight decay', 3e-4),
  gradClip: num(0, 'weights: gradient-norm clip (0: off)', 5),
  stepsPerEpoch: int(1, 'at most this many steps per epoch'),
  timeBudgetSeconds: num(0, 'stop training after the epoch that passes this many seconds (summed over resumes)'),
};

const DIFFERENTIABLE_OPTIONS: Shape = {
  ...COMMON,
  archLr: num(0, 'α: Adam learning rate', 3e-4),
  archWeightDecay: num(0, 'α: weight decay', 1e-3),
  archWarmup: int(0, 'epochs with α frozen (default: pcdarts min(15, epochs/2), else 0)'),
  fairLambda: num(0, 'λ of the per-edge α-variance penalty (FairNAS-style)', 0),
  skipDropout: num(0, 'dropout on skip connections', 0),
  hessianEvery: int(0, 'dominant Hessian eigenvalue of the validation loss w.r.t. α every N epochs (0: off)', 0),
  hessianIterations: int(1, 'power iterations of the Hessian eigenvalue', 20),
  earlyStop: int(0, 'DARTS-ES window k (eigenvalue every epoch; 0: off)', 0),
  cost: z
    .strictObject({
      kind: oneOf(['flops', 'latency'], 'flops (multiply-adds per output element) or latency (a table of tsnas bench latency)', 'flops'),
      table: z.string().describe('latency: the table file').optional(),
      lambda: num(0, 'λ of the expected cost (0: only recorded)', 0),
    })
    .describe('hardware-aware: λ·expected cost added to the architecture loss')
    .optional(),
};

/** The options every differentiable method has whose defaults follow its reference code (referenceDefaults). */
function referenceOptions(method: DifferentiableMethod): Shape {
  const r = referenceDefaults(method);
  return {
    ...DIFFERENTIABLE_OPTIONS,
    weightDecay: num(0, 'weights: weight decay', r.weightDecay),
    nesterov: bool('weights: Nesterov momentum (none at momentum 0)', r.nesterov),
    stepOrder: oneOf(['arch-first', 'weights-first'], 'which update each step makes first (DARTS\'s code: arch-first; GDAS\'s: weights-first)', r.stepOrder),
    decayIdle: bool('keep applying momentum and weight decay to weights without a gradient this step (as torch\'s zero_grad to zeros in the reference codes)', r.decayIdle),
    archBatches: oneOf(['epoch', 'random'], 'α batches: walk the architecture half by epoch, or draw each with replacement (GDAS\'s; the weights then keep their last short batch)', r.archBatches),
  };
}

const METHOD_OPTIONS: Record<DifferentiableMethod, Shape> = {
  darts: referenceOptions('darts'),
  darts2: { ...referenceOptions('darts2'), xi: num(0, 'ξ of the unrolled step (default: the weights\' learning rate)') },
  pcdarts: { ...referenceOptions('pcdarts'), pcK: int(1, '1/k of the channels are mixed', 4), edgeNormalization: bool('edge normalisation β', methodTraits('pcdarts').edgeNormalization ?? false) },
  gdas: {
    ...referenceOptions('gdas'),
    tauMax: num(0, 'τ at the start', 10),
    tauMin: num(0, 'τ at the end', 0.1),
    tauSchedule: oneOf(['linear', 'geometric'], 'τ from tauMax to tauMin per epoch: linear (GDAS\'s) or geometric', 'linear'),
    mode: oneOf(['hard', 'soft'], 'hard: one sampled operation per edge (straight-through); soft: the Gumbel-softmax weights mix all operations', 'hard'),
    gradient: oneOf(['all', 'sampled'], 'hard mode: the straight-through gradient reaches every operation\'s logit (the reference code\'s) or only the sampled one\'s', 'all'),
  },
  'beta-darts': {
    ...referenceOptions('beta-darts'),
    betaLambdaMin: num(0, 'λ of the β-continuity regulariser at the first epoch', 0),
    betaLambdaMax: num(0, 'λ rises linearly towards this (λ = min + (max − min)·epoch/epochs)', 50),
  },
  drnas: referenceOptions('drnas'),
  'darts-minus': { ...referenceOptions('darts-minus'), auxSkip: num(0, 'weight of the auxiliary skip connection at the first epoch (linear to 0 at the last)', 1) },
  sdarts: {
    ...referenceOptions('sdarts'),
    epsilonMax: num(0, 'the perturbation bound ε rises linearly from 0.03 towards this', 0.3),
    perturbation: oneOf(['random', 'adversarial'], 'SDARTS-RS (uniform noise) or SDARTS-ADV (a PGD attack per step; about attackSteps + 2 times the forward passes)', 'random'),
    attackSteps: int(1, 'SDARTS-ADV: PGD steps', 7),
  },
  proxyless: referenceOptions('proxyless'),
};

/** A diagnostic of one-shot supernets, read by the experiment (it needs the benchmark table). */
const RANKING: Shape = {
  ranking: int(2, 'with the nb201 benchmark estimator: Kendall τ and Spearman ρ of inherited-weight accuracy against the table over this many random cells'),
};

const SEARCH_OPTIONS = {
  budget: int(1, 'evaluations of the evolutionary search with inherited weights', 100),
  population: int(1, 'population of the evolutionary search', 20),
  calibrationBatches: int(1, 'batches that recalibrate batch norm per candidate', 4),
  evalBatches: int(1, 'validation batches each candidate is scored on', 4),
};

/**
 * `cpu`: one search in at most 15 minutes at 1 thread on a 2-core machine
 * shared with one other run (docs/weight-sharing.md, "The cpu preset"):
 * 20,000 CIFAR-10 training images halved into weight and architecture data,
 * 16×16 images, C = 16, one cell per stage (nb201; 5 cells on darts), batch
 * 64, epochs per method from its measured step time, α at 10× DARTS's
 * learning rate (α barely moves in this many steps at 3e-4), and a time
 * budget of 14 minutes that ends training early on a slower machine.
 */
const CPU_DATA = { limitTrain: 20_000 };
const CPU_COMMON = { resolution: 16, channels: 16, batch: 64, timeBudgetSeconds: 840 };
const cpuPreset = (options: Record<string, unknown>): Record<PresetName, MethodPreset> => ({ cpu: { ...CPU_DATA, options: { ...CPU_COMMON, ...options } } });
const CPU_ALPHA = { archLr: 3e-3 };
/**
 * SPOS and FairNAS score each cell on 32 validation batches (2,048 images): at the preset the
 * supernet's accuracies of connected cells spread by about 2 points (sd), and on 8 batches the
 * binomial error (2.2 points) would be as large (docs/benchmarks.md, "Ranking at the cpu preset").
 */
const CPU_RANKING = { calibrationBatches: 8, evalBatches: 32 };

const PRESETS: Record<DifferentiableMethod, Record<PresetName, MethodPreset>> = {
  darts: cpuPreset({ ...CPU_ALPHA, epochs: 30 }),
  darts2: cpuPreset({ ...CPU_ALPHA, epochs: 12 }),
  pcdarts: cpuPreset({ ...CPU_ALPHA, epochs: 40, archWarmup: 10 }),
  gdas: cpuPreset({ ...CPU_ALPHA, epochs: 60 }),
  'beta-darts': cpuPreset({ ...CPU_ALPHA, epochs: 30 }),
  drnas: cpuPreset({ ...CPU_ALPHA, epochs: 30 }),
  'darts-minus': cpuPreset({ ...CPU_ALPHA, epochs: 30 }),
  sdarts: cpuPreset({ ...CPU_ALPHA, epochs: 30 }),
  proxyless: cpuPreset({ ...CPU_ALPHA, epochs: 60 }),
};

const SUMMARIES: Record<DifferentiableMethod, string> = {
  darts: 'DARTS, first order: α and weights in alternation on the two halves of the data',
  darts2: 'DARTS, second order (unrolled architecture gradient)',
  pcdarts: 'PC-DARTS: partial channels and edge normalisation',
  gdas: 'GDAS: one Gumbel-sampled operation per edge and step (or the soft Gumbel-softmax mixture)',
  'beta-darts': 'β-DARTS: DARTS with the β-continuity regulariser (mean logsumexp of α), its weight rising linearly',
  drnas: 'DrNAS: α as Dirichlet concentrations, every forward mixing with a reparameterised sample',
  'darts-minus': 'DARTS−: DARTS with an auxiliary skip connection whose weight decays from 1 to 0',
  sdarts: 'SDARTS: DARTS with the weights trained under random (RS) or adversarial (ADV) perturbations of softmax(α)',
  proxyless: 'ProxylessNAS: binarised paths (one sampled path per weight step, two per α step, with the binary-gate gradient); λ·expected latency from a table with cost',
};

function differentiable(name: DifferentiableMethod): WeightSharingMethod {
  return {
    name,
    summary: SUMMARIES[name],
    options: z.strictObject(METHOD_OPTIONS[name]),
    presets: PRESETS[name],
    create(data, c, o) {
      // The cell search networks are the spaces' default cells; a cell the space's options reshape is searched on its kit's supernet.
      if (!(DIFFERENTIABLE_SPACES as readonly string[]).includes(c.space) || Object.keys(c.spaceOptions).length > 0) return supernetRun(name, data, c, o);
      let cost: { table: Record<string, number>; perLabel?: Record<string, Record<string, number>>; lambda: number } | undefined;
      if (o.cost?.kind === 'latency') {
        if (!o.cost.table) throw configError('expected the latency table file (cost.kind latency)', 'strategy.options.cost.table');
        const table = loadLatencyTable(o.cost.table);
        cost = { table: {}, perLabel: latencyCostTables(latencyModel(c.space), table), lambda: o.cost.lambda };
      }
      // The cell spaces take their width and cells from here, with their kit's defaults.
      const sized = getKit(c.space).sized!;
      const C = o.channels ?? sized.channels;
      if (!cost && o.cost && o.cost.lambda > 0) cost = { table: flopsCostTable(c.space as DifferentiableSpace, C), lambda: o.cost.lambda };
      return createDifferentiableRun(data, {
        space: c.space as DifferentiableSpace,
        C,
        cells: o.cells ?? sized.cells,
        ...bilevelOptions(name, c, o),
        skipDropout: o.skipDropout,
        ...(o.pcK !== undefined ? { pcK: o.pcK, edgeNormalization: o.edgeNormalization } : {}),
        ...(cost ? { cost } : {}),
        ...(o.earlyStop > 0 ? { earlyStop: { window: o.earlyStop } } : {}),
      });
    },
  };
}

/** The options of a differentiable run that the cell search and a space supernet's search take alike. */
function bilevelOptions(method: DifferentiableMethod, c: RunContext, o: Record<string, any>) {
  return {
    method,
    epochs: o.epochs,
    batchSize: o.batch,
    weightLr: o.lr,
    weightLrMin: o.lrMin,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    gradClip: o.gradClip,
    archLr: o.archLr,
    archWeightDecay: o.archWeightDecay,
    ...(o.archWarmup !== undefined ? { archWarmupEpochs: o.archWarmup } : {}),
    fairLambda: o.fairLambda,
    ...(o.xi !== undefined ? { xi: o.xi } : {}),
    nesterov: o.nesterov,
    stepOrder: o.stepOrder,
    decayIdle: o.decayIdle,
    archBatches: o.archBatches,
    ...(o.tauMax !== undefined ? { tauMax: o.tauMax, tauMin: o.tauMin, tauSchedule: o.tauSchedule, gdasMode: o.mode, gdasGradient: o.gradient } : {}),
    ...(o.betaLambdaMax !== undefined ? { betaLambdaMin: o.betaLambdaMin, betaLambdaMax: o.betaLambdaMax } : {}),
    ...(o.epsilonMax !== undefined ? { epsilonMax: o.epsilonMax, perturbation: o.perturbation, attackSteps: o.attackSteps } : {}),
    ...(o.auxSkip !== undefined ? { auxSkip: o.auxSkip } : {}),
    hessianEvery: o.hessianEvery,
    hessianIterations: o.hessianIterations,
    ...runData(c, o),
  };
}

/** A differentiable run on the supernet of a space other than the cell ones (its kit's, mixing densely). */
function supernetRun(method: DifferentiableMethod, data: Dataset, c: RunContext, o: Record<string, any>): WeightSharingRun {
  const { cellOnly } = methodTraits(method);
  if (cellOnly) {
    throw configError(`${cellOnly} of the cell search networks of ${DIFFERENTIABLE_SPACES.join(' and ')} (their default cells); on ${c.space}${(DIFFERENTIABLE_SPACES as readonly string[]).includes(c.space) ? ' with space.options' : ''} use darts, darts2 or gdas`, 'strategy.name');
  }
  if (!getKit(c.space).supernet) throw configError(`space '${c.space}' has no supernet, so no differentiable search runs on it`, 'space.name');
  refuseCellOptions(o, `the ${c.space} supernet`, 'strategy.options.');
  return createSupernetDifferentiableRun(data, {
    space: c.space,
    spaceOptions: c.spaceOptions as never,
    ...(o.channels !== undefined ? { C: o.channels } : {}),
    ...(o.cells !== undefined ? { cells: o.cells } : {}),
    ...bilevelOptions(method, c, o),
  });
}

/** The data and schedule fields every factory takes alike. */
function runData(c: RunContext, o: Record<string, any>) {
  return {
    seed: c.seed,
    validFraction: c.validFraction,
    ...(c.limitTrain !== undefined ? { limitTrain: c.limitTrain } : {}),
    augment: c.augment,
    ...(o.stepsPerEpoch !== undefined ? { stepsPerEpoch: o.stepsPerEpoch } : {}),
    ...(o.timeBudgetSeconds !== undefined ? { timeBudgetSeconds: o.timeBudgetSeconds } : {}),
  };
}

/** The supernet-training fields of the one-shot factories. */
function oneShotCommon(c: RunContext, o: Record<string, any>) {
  return {
    space: c.space,
    spaceOptions: c.spaceOptions as never,
    ...(o.channels !== undefined ? { C: o.channels } : {}),
    ...(o.cells !== undefined ? { cells: o.cells } : {}),
    epochs: o.epochs,
    batchSize: o.batch,
    lr: o.lr,
    lrMin: o.lrMin,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    gradClip: o.gradClip,
    calibrationBatches: o.calibrationBatches,
    evalBatches: o.evalBatches,
    ...(c.afterSearch ? { afterSearch: (ctx: { evaluate: (s: Sample) => number }) => c.afterSearch!(ctx.evaluate) } : {}),
    ...runData(c, o),
  };
}

const evolutionOf = (o: Record<string, any>) => ({ budget: o.budget, population: o.population });

const ONE_SHOT: WeightSharingMethod[] = [
  {
    name: 'spos',
    summary: 'SPOS: one uniformly sampled path per step, then evolutionary search with inherited weights',
    presets: cpuPreset({ epochs: 60, ...CPU_RANKING }),
    options: z.strictObject({ ...COMMON, ...SEARCH_OPTIONS, ...RANKING, sampling: oneOf(['uniform', 'strict-fair'], 'path sampling (strict-fair: as fairnas)', 'uniform'),
      sandwich: int(0, 'elastic spaces (mobilenet, chain, transformer): per step the largest and smallest paths and this many random ones (the sandwich rule; 0: off)', 0),
      fewShot: z.strictObject({
        edge: z.string().describe('the edge (label) that splits the supernet, e.g. nb201 edge_3_0'),
        epochs: z.number().int().min(0).describe('epochs before the split (fewer than epochs)'),
      }).describe('few-shot supernets: after `epochs` epochs, one copy of the supernet per candidate of `edge`, each trained on every later batch with its candidate fixed; a cell inherits the copy of its operation there').optional(),
    }),
    create: (data, c, o) => createSposRun(data, { ...oneShotCommon(c, o), limits: c.limits, sampling: o.sampling, sandwich: o.sandwich, fewShot: o.fewShot, evolution: evolutionOf(o) } as never),
  },
  {
    name: 'fairnas',
    summary: 'FairNAS: SPOS with strict fairness (every candidate of every edge once per group of steps)',
    presets: cpuPreset({ epochs: 60, ...CPU_RANKING }),
    options: z.strictObject({ ...COMMON, ...SEARCH_OPTIONS, ...RANKING }),
    create: (data, c, o) => createFairnasRun(data, { ...oneShotCommon(c, o), limits: c.limits, evolution: evolutionOf(o) } as never),
  },
  {
    name: 'enas',
    summary: 'ENAS: shared weights trained on controller samples; an LSTM controller trained by REINFORCE',
    presets: cpuPreset({ epochs: 60 }),
    options: z.strictObject({
      ...COMMON,
      calibrationBatches: SEARCH_OPTIONS.calibrationBatches,
      evalBatches: SEARCH_OPTIONS.evalBatches,
      ...RANKING,
      controllerSteps: int(1, 'controller updates after each epoch', 20),
      controllerLr: num(0, 'controller learning rate'),
      entropyWeight: num(0, 'entropy bonus of the controller'),
    }),
    create: (data, c, o) => {
      if (c.limits.maxFlops !== undefined || c.limits.maxParams !== undefined) throw configError('ENAS samples from its controller and takes no resource limit; use spos, fairnas or ofa', 'constraints');
      return createEnasRun(data, {
        ...oneShotCommon(c, o),
        controllerSteps: o.controllerSteps,
        ...(o.controllerLr !== undefined ? { controllerLr: o.controllerLr } : {}),
        ...(o.entropyWeight !== undefined ? { entropyWeight: o.entropyWeight } : {}),
      } as never);
    },
  },
  {
    name: 'ofa',
    summary: 'Once-for-All: progressive shrinking (full, kernel, depth, expand) with distillation, then evolutionary search',
    // The elastic MobileNet's width comes from its space options, not `channels`.
    presets: { cpu: { ...CPU_DATA, options: { resolution: 16, batch: 64, timeBudgetSeconds: 840, epochs: 20 } } },
    options: z.strictObject({
      ...COMMON,
      ...SEARCH_OPTIONS,
      phaseSplit: z
        .array(z.number().min(0))
        .min(4)
        .default(() => [...DEFAULT_PHASE_SPLIT])
        .describe('shares of the epochs for the phases full, kernel, depth, expand (0 skips a phase)'),
      kdWeight: num(0, 'weight of the distillation loss from the largest network', 1),
      subnetsPerStep: int(1, 'sub-networks per batch in the shrinking phases', 1),
    }),
    create: (data, c, o) => createOfaRun(data, {
      ...oneShotCommon(c, o),
      limits: c.limits,
      evolution: evolutionOf(o),
      phaseSplit: o.phaseSplit,
      kdWeight: o.kdWeight,
      subnetsPerStep: o.subnetsPerStep,
    } as never),
  },
  {
    name: 'smash',
    summary: 'SMASH: a hypernetwork generates the cell convolutions of each sampled nb201 cell; random cells are then ranked by their accuracy with generated weights',
    presets: cpuPreset({ epochs: 60, ...CPU_RANKING }),
    options: z.strictObject({
      ...COMMON,
      budget: int(1, 'distinct random cells scored with generated weights in the final step', 100),
      calibrationBatches: SEARCH_OPTIONS.calibrationBatches,
      evalBatches: SEARCH_OPTIONS.evalBatches,
      ...RANKING,
      hidden: int(1, 'hidden width of the hypernetwork', 64),
    }),
    create: (data, c, o) => createSmashRun(data, { ...oneShotCommon(c, o), limits: c.limits, hidden: o.hidden, budget: o.budget } as never),
  },
];

const METHODS = new Map<string, WeightSharingMethod>([...DIFFERENTIABLE_METHODS.map((m) => [m, differentiable(m)] as const), ...ONE_SHOT.map((m) => [m.name, m] as const)]);

/** The names of the weight-sharing methods. */
export const WEIGHT_SHARING_METHOD_NAMES: readonly string[] = [...METHODS.keys()];

/** The method of this name, or undefined when it is not a weight-sharing method. */
export function findWeightSharingMethod(name: string): WeightSharingMethod | undefined {
  return METHODS.get(name);
}

/**
 * A method's preset: its options and training-image limit. Throws a config
 * error naming `preset` for a name the method does not declare.
 */
export function presetOf(method: WeightSharingMethod, name: string): MethodPreset {
  const preset = (method.presets as Record<string, MethodPreset>)[name];
  if (!preset) throw configError(`unknown preset '${name}' of ${method.name}, expected one of ${Object.keys(method.presets).join(', ')}`, 'preset');
  return preset;
}

export function getWeightSharingMethod(name: string): WeightSharingMethod {
  const m = METHODS.get(name);
  if (!m) throw new TsnasError('config', `unknown weight-sharing method '${name}', expected one of ${WEIGHT_SHARING_METHOD_NAMES.join(', ')}`, { where: 'strategy.name' });
  return m;
}
