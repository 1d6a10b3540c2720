// Experiment configs: a YAML or JSON file naming the space, strategy,
// estimator, dataset, objectives, constraints, budget, seed and parallel
// trials. Checked against CONFIG_SCHEMA (unknown keys are errors); every
// field can also be given as a flag `--path.to.field value`.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { isScalar, parse as parseYaml, parseDocument, visit, type Document } from 'yaml';
import { TsnasError, configError } from '../errors.js';
import { findStrategy, strategyKinds, strategyNames } from '../strategies/index.js';
import { getKit, getSpace, kitNames, type SpaceKit, type SpaceOptions } from '../kits/index.js';
import { NB201_OPS, type Nb201Space } from '../spaces/nb201.js';
import type { DefinedSpace } from '../spaces/space.js';
import { PROXY_NAMES } from '../estimators/zero-cost/proxies.js';
import { PREDICTOR_NAMES } from '../predictors/index.js';
import { metricDirection } from '../estimators/metrics.js';
import { z } from 'zod';
import { checkWith, expecting, helpOf, leafPaths, showValue } from '../util/zod-check.js';
import { findWeightSharingMethod, PRESET_NAMES, presetOf, WEIGHT_SHARING_METHOD_NAMES } from '../weight-sharing/methods.js';

/** Estimators that evaluate one sample by themselves. */
export const BASE_ESTIMATOR_KINDS = ['benchmark', 'training', 'proxies'] as const;
/**
 * Compositions: they rank many candidates of the strategy cheaply (zero-cost
 * proxies, or a learned predictor) and evaluate the top-k with `then`.
 */
export const COMPOSED_ESTIMATOR_KINDS = ['composed', 'predictor'] as const;
/**
 * Weight-sharing strategies only: the found architecture keeps the numbers
 * the search gave it (inherited-weight or supernet accuracy), nothing more
 * is evaluated. The default of weight-sharing experiments outside nb201.
 */
export const SUPERNET_ESTIMATOR_KIND = 'supernet';
export const ESTIMATOR_KINDS = [...BASE_ESTIMATOR_KINDS, ...COMPOSED_ESTIMATOR_KINDS, SUPERNET_ESTIMATOR_KIND] as const;
export type EstimatorKind = (typeof ESTIMATOR_KINDS)[number];
export type BaseEstimatorKind = (typeof BASE_ESTIMATOR_KINDS)[number];

export interface ObjectiveConfig {
  name: string;
  direction: 'max' | 'min';
  /** λ of the scalarised fitness (objectives after the first, single-objective strategies): fitness −= λ·ln(value). */
  weight?: number;
}

export interface ConstraintConfig {
  metric: string;
  op: '<=' | '<' | '>=' | '>';
  value: number;
  /** The text it came from, for messages. */
  text: string;
}

export interface EstimatorConfig {
  kind: EstimatorKind;
  /** benchmark: TABLE:DATASET, e.g. nb201:cifar10. */
  benchmark?: string;
  /** training: epochs per trial, batch size, learning rate, network width C and cells per stage N, input resolution. */
  epochs?: number;
  batch?: number;
  lr?: number;
  channels?: number;
  cells?: number;
  resolution?: number;
  /** proxies: which proxies to compute (the first objective names the one searched on), batch of images. */
  proxies?: string[];
  proxyBatch?: number;
  /** proxies/screen: members of the ensemble proxy (default DEFAULT_ENSEMBLE). */
  ensemble?: string[];
  /** composed: the zero-cost screen (proxies summed by rank, candidates per round, its networks). */
  screen?: ScreenConfig;
  /** predictor: the learned model, trained results before it ranks, UCB weight of its std. */
  model?: string;
  warmup?: number;
  kappa?: number;
  /** predictor: candidates asked from the strategy per round. */
  candidates?: number;
  /** composed/predictor: candidates of each round evaluated by `then`. */
  topK?: number;
  /** composed/predictor: the estimator of the chosen candidates (a base kind). */
  then?: EstimatorConfig;
}

export interface ScreenConfig {
  proxies: string[];
  ensemble?: string[];
  candidates: number;
  proxyBatch: number;
  channels?: number;
  cells?: number;
  resolution?: number;
}

const ENSEMBLE_MEMBERS = PROXY_NAMES.filter((p) => p !== 'ensemble');
const CONSTRAINT_PATTERN = /^\s*([A-Za-z0-9_.\/:-]+)\s*(<=|<|>=|>)\s*([-+0-9.eE]+)\s*$/;
const OBJECTIVE_TEXT = /^[A-Za-z0-9_.\/:-]+(:(max|min))?$/;

const metricName = expecting(z.string().regex(/^[A-Za-z0-9_.\/:-]+$/), 'a metric name');
const objectiveSchema = expecting(
  z.union([
    expecting(z.string().regex(OBJECTIVE_TEXT), 'NAME or NAME:max or NAME:min'),
    z.strictObject({ name: metricName, direction: z.enum(['max', 'min']).optional(), weight: z.number().min(0).optional() }),
  ]),
  'an objective name such as "accuracy" or "params:min", or {name, direction: max|min, weight}',
);

const int = (min: number, help: string) => z.number().int().min(min).describe(help);
const positive = (help: string) => z.number().gt(0).describe(help);
const proxyList = (help: string) => z.array(z.enum(PROXY_NAMES)).min(1).describe(help);

const sizeFields = {
  channels: int(1, 'training/proxies: channels C of the first stage (nb201, darts)').optional(),
  cells: int(1, 'training/proxies: cells per stage N (nb201), cells in all (darts)').optional(),
  resolution: int(4, 'training/proxies: resize images to this size (mobilenet: the sample decides)').optional(),
};
const ensembleField = z.array(z.enum(ENSEMBLE_MEMBERS as [string, ...string[]])).min(2).describe('proxies: members of the ensemble proxy (rank-aggregated)').optional();

const baseFields = {
  benchmark: expecting(z.string().regex(/^nb201:(cifar10|cifar100|imagenet16_120)$/), 'nb201:cifar10, nb201:cifar100 or nb201:imagenet16_120').describe('benchmark: the table (nb201 space only)').optional(),
  epochs: int(1, 'training: epochs per trial').optional(),
  batch: int(1, 'training: batch size').optional(),
  lr: positive('training: initial learning rate').optional(),
  ...sizeFields,
  proxies: proxyList('proxies: which to compute').optional(),
  proxyBatch: int(2, 'proxies: images in the scoring batch').optional(),
  ensemble: ensembleField,
};

/** The estimator of a composition's chosen candidates: a base kind only. */
const thenEstimatorSchema = z
  .strictObject({ kind: z.enum(BASE_ESTIMATOR_KINDS).default('training').describe('what evaluates the chosen candidates (alias: type)'), ...baseFields })
  .optional();

const estimatorSchema = z
  .strictObject({
    kind: z.enum(ESTIMATOR_KINDS).default('benchmark').describe('how a trial is evaluated (alias: type)'),
    ...baseFields,
    screen: z
      .strictObject({
        proxies: proxyList('composed: proxies ranking the candidates (ranks summed)').optional(),
        ensemble: ensembleField,
        candidates: int(1, 'composed: candidates asked from the strategy and screened per round').optional(),
        proxyBatch: int(2, 'composed: images the proxies see').optional(),
        ...sizeFields,
      })
      .optional(),
    model: z.enum(PREDICTOR_NAMES).describe('predictor: the learned model ranking candidates').optional(),
    warmup: int(2, 'predictor: results evaluated by `then` before the model ranks').optional(),
    kappa: z.number().min(0).describe('predictor: rank by mean + kappa * std (ensemble, gp)').optional(),
    candidates: int(1, 'predictor: candidates asked from the strategy per round').optional(),
    topK: int(1, 'composed/predictor: candidates of each round that `then` evaluates').optional(),
    then: thenEstimatorSchema,
  })
  .prefault({});

const datasetSchema = z
  .strictObject({
    name: z.string().default('fashion-mnist').describe('fashion-mnist[:dir], cifar10:dir, cifar100:dir or folder:dir'),
    validFraction: z.number().min(0).max(0.9).default(0.1).describe('share of the training set held out for validation'),
    limitTrain: int(1, 'use at most this many training images').optional(),
  })
  .prefault({});

const finalSchema = z
  .strictObject({
    epochs: int(1, 'final: training epochs').default(10),
    batch: int(1, 'final: batch size').default(128),
    lr: positive('final: initial learning rate (cosine)').default(0.1),
    channels: int(1, "final: C of the network (nb201, darts; default the estimator's)").optional(),
    cells: int(1, 'final: cells (nb201 per stage, darts in all)').optional(),
    resolution: int(4, "final: image side (default the dataset's)").optional(),
    limitTrain: int(1, 'final: at most this many training images').optional(),
    limitTest: int(1, 'final: at most this many test images').optional(),
  })
  .describe('weight-sharing strategies: the found architecture trained from scratch on the training set and tested; weights as final.safetensors and final.onnx')
  .optional();

const executionSchema = z
  .strictObject({
    queue: z.enum(['local', 'pgboss']).default('local').describe('local: trials run in this process; pgboss: on `tsnas worker` processes (postgres storage)'),
    inFlight: int(1, 'pgboss: trials handed to workers at once').max(1024).default(4),
    staleSeconds: z.number().min(1).default(60).describe('pgboss: a trial whose worker is silent this long runs again elsewhere'),
  })
  .optional();

const openOptions = (help: string) => z.record(z.string(), z.unknown()).default(() => ({})).describe(help);

/** The experiment config's fields, types and defaults (checkConfig adds the checks across fields). */
export const CONFIG_SCHEMA = z.strictObject({
  name: expecting(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/), 'a name of letters, digits, _ . - starting with a letter or digit (at most 64; it names a folder)').describe('experiment name in the store').optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0).describe('seed of the strategy, the data splits and the weights (32-bit)'),
  space: z
    .strictObject({
      name: z.string().default('nb201').describe('search space: a registered name (nb201, darts, chain, mobilenet, hierarchical, transformer, or one registered with registerSpace)'),
      options: openOptions("the space's own options, e.g. {maxDepth: 4} for chain (chain/mobilenet/hierarchical)"),
    })
    .prefault({}),
  strategy: z
    .strictObject({
      name: z
        .enum([...strategyNames, ...WEIGHT_SHARING_METHOD_NAMES] as [string, ...string[]])
        .default('evolution')
        .describe('search strategy: multi-trial, or a weight-sharing method (a stored supernet run; see docs/weight-sharing.md)'),
      options: openOptions("the strategy's own options (population, sample, ...)"),
    })
    .prefault({}),
  preset: z
    .enum(PRESET_NAMES)
    .describe('weight-sharing: a named setting of the method (cpu: a search in at most 15 minutes at 1 thread); it fills strategy.options and dataset.limitTrain where they are unset (docs/weight-sharing.md)')
    .optional(),
  estimator: estimatorSchema,
  dataset: datasetSchema,
  objectives: z.array(objectiveSchema).min(1).default(() => ['accuracy']).describe('the first is searched on; more make it multi-objective'),
  constraints: z
    .array(expecting(z.string().regex(CONSTRAINT_PATTERN), 'METRIC OP NUMBER with OP one of <=, <, >=, > (e.g. "params <= 1e6")'))
    .default(() => [])
    .describe('trials breaking one are pruned'),
  hardware: z
    .strictObject({
      latencyTable: z.string().describe('a table of `tsnas bench latency` (same space): every trial gets latency_ms, usable in objectives and constraints').optional(),
    })
    .optional(),
  budget: z
    .strictObject({
      trials: int(1, 'finished trials to run (at most 10 million)').max(10_000_000).default(50),
      minutes: positive('wall-clock limit, summed over resumes').optional(),
    })
    .prefault({}),
  parallel: int(1, 'trials run at once (worker threads)').max(64).default(1),
  batch: int(1, 'samples asked at once (default: parallel)').optional(),
  threads: int(1, 'libtorch threads in all, split between parallel trials').optional(),
  storage: z.string().describe('storage URL (sqlite:PATH or postgres://...)').optional(),
  final: finalSchema,
  execution: executionSchema,
});

/** A config as its schema returns it (before the checks across fields and the estimator's defaults). */
type CheckedFields = z.output<typeof CONFIG_SCHEMA>;

/** A checked config: the schema's fields, with objectives and constraints parsed and the estimator's defaults filled in. */
export type ExperimentConfig = Omit<CheckedFields, 'estimator' | 'objectives' | 'constraints'> & {
  estimator: EstimatorConfig;
  objectives: ObjectiveConfig[];
  constraints: ConstraintConfig[];
};
export type DatasetConfig = ExperimentConfig['dataset'];
export type FinalConfig = NonNullable<ExperimentConfig['final']>;
export type ExecutionConfig = NonNullable<ExperimentConfig['execution']>;

/** Fields each estimator kind reads; setting another kind's field is an error. */
const ESTIMATOR_FIELDS: Record<EstimatorKind, readonly string[]> = {
  benchmark: ['benchmark'],
  training: ['epochs', 'batch', 'lr', 'channels', 'cells', 'resolution'],
  proxies: ['proxies', 'proxyBatch', 'ensemble', 'channels', 'cells', 'resolution'],
  composed: ['screen', 'topK', 'then'],
  predictor: ['model', 'warmup', 'kappa', 'candidates', 'topK', 'then'],
  supernet: [],
};

const TRAINING_DEFAULTS = { epochs: 2, batch: 128, lr: 0.1 };
export const PROXY_DEFAULTS = { proxies: ['synflow'], proxyBatch: 64 };
const SCREEN_DEFAULTS = { proxies: ['synflow', 'nwot'], candidates: 1000, proxyBatch: 64 };
const PREDICTOR_DEFAULTS = { model: 'mlp', warmup: 20, candidates: 100, kappa: 0 };
const TOP_K_DEFAULT = 10;

/** `type` is accepted for `kind` in an estimator (and its `then`). */
function kindAlias(node: unknown, path: string): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const o = node as Record<string, unknown>;
  if ('type' in o) {
    if ('kind' in o && o['kind'] !== o['type']) throw configError(`gives both kind ${showValue(o['kind'])} and type ${showValue(o['type'])}; type is another name for kind, give one`, `${path}.type`);
    o['kind'] = o['type'];
    delete o['type'];
  }
  kindAlias(o['then'], `${path}.then`);
}

/** Checks one estimator's fields against its kind and fills its defaults. */
function checkEstimator(e: EstimatorConfig, path: string, kit: SpaceKit, definedSpace: DefinedSpace): void {
  const space = kit.name;
  const kind = e.kind;
  for (const key of Object.keys(e)) {
    if (key !== 'kind' && !ESTIMATOR_FIELDS[kind].includes(key)) {
      throw configError(`is not used by estimator kind '${kind}' (value ${showValue((e as any)[key])}); kind '${kind}' reads ${ESTIMATOR_FIELDS[kind].join(', ')}`, `${path}.${key}`);
    }
  }
  // Spaces whose network width and cells come from the estimator (kit.sized); the others take them from the sample.
  const sized = kit.sized;
  const checkSize = (o: { channels?: number; cells?: number }, where: string) => {
    if (sized) {
      o.channels ??= sized.channels;
      o.cells ??= sized.cells;
    } else {
      for (const k of ['channels', 'cells'] as const) {
        if (o[k] !== undefined) throw configError(`is not used with space ${space}, whose samples fix their own widths and depth (value ${o[k]})`, `${where}.${k}`);
      }
    }
  };
  switch (kind) {
    case 'benchmark':
      e.benchmark ??= 'nb201:cifar10';
      if (space !== 'nb201') {
        throw configError(`estimator kind 'benchmark' (${e.benchmark}) is a NAS-Bench-201 table and covers only space nb201, found space ${JSON.stringify(space)}; use kind training or proxies for other spaces`, `${path}.kind`);
      }
      if ((definedSpace as Partial<Nb201Space>).isBenchmarkCell === false) {
        const { nodes, ops } = (definedSpace as Nb201Space).config;
        throw configError(`estimator kind 'benchmark' (${e.benchmark}) is the NAS-Bench-201 table, which covers only its own cell (3 nodes, ops ${NB201_OPS.join(', ')}), ` +
          `not ${nodes} nodes with ops ${ops.join(', ')}; drop these options or use kind training or proxies`, 'space.options');
      }
      break;
    case 'training':
      Object.assign(e, { ...TRAINING_DEFAULTS, ...e });
      checkSize(e, path);
      break;
    case 'proxies':
      Object.assign(e, { ...PROXY_DEFAULTS, ...e });
      checkSize(e, path);
      break;
    case 'supernet':
      break;
    case 'composed':
    case 'predictor': {
      if (e.then === undefined) throw configError(`is required by estimator kind '${kind}': expected the estimator of the chosen candidates, e.g. {kind: training, epochs: 2}`, `${path}.then`);
      checkEstimator(e.then, `${path}.then`, kit, definedSpace);
      e.topK ??= TOP_K_DEFAULT;
      if (kind === 'composed') {
        const screen = { ...SCREEN_DEFAULTS, ...(e.screen ?? {}) } as ScreenConfig;
        // The screen's networks default to those `then` trains.
        for (const k of ['channels', 'cells', 'resolution'] as const) if (screen[k] === undefined && e.then[k] !== undefined) screen[k] = e.then[k];
        checkSize(screen, `${path}.screen`);
        e.screen = screen;
        if (e.topK > screen.candidates) throw configError(`expected at most screen.candidates (${screen.candidates}), found ${e.topK}`, `${path}.topK`);
      } else {
        Object.assign(e, { ...PREDICTOR_DEFAULTS, ...e });
        if (e.topK > e.candidates!) throw configError(`expected at most candidates (${e.candidates}), found ${e.topK}`, `${path}.topK`);
      }
      break;
    }
  }
}

/** The estimator that evaluates a trial: `then` of a composition, else the estimator itself. */
export function trialEstimatorConfig(e: EstimatorConfig): EstimatorConfig {
  return e.kind === 'composed' || e.kind === 'predictor' ? e.then! : e;
}

function normaliseObjective(o: z.output<typeof objectiveSchema>): ObjectiveConfig {
  if (typeof o === 'string') {
    const [name, dir] = o.split(':') as [string, string | undefined];
    return { name, direction: (dir as 'max' | 'min' | undefined) ?? metricDirection(name) };
  }
  return { name: o.name, direction: o.direction ?? metricDirection(o.name), ...(o.weight !== undefined ? { weight: o.weight } : {}) };
}

/** Validates a parsed config (any JSON) and returns it normalised, with defaults. */
export function checkConfig(raw: unknown): ExperimentConfig {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) kindAlias((raw as Record<string, unknown>)['estimator'], 'estimator');
  const v = checkWith(CONFIG_SCHEMA, withWeightSharingDefaults(raw));
  const spaceName = v.space.name;
  const spaceOptions = v.space.options;
  if (!kitNames().includes(spaceName)) throw configError(`unknown space ${JSON.stringify(spaceName)}, expected one of ${kitNames().join(', ')}`, 'space.name');
  const kit = getKit(spaceName);
  for (const key of Object.keys(spaceOptions)) {
    if (key === 'hyperparameters') continue;
    const known = kit.optionKeys;
    if (!known.includes(key)) {
      throw configError(`unknown option of space ${spaceName} (value ${showValue(spaceOptions[key])}); expected ${known.length ? `one of ${known.join(', ')} or hyperparameters` : 'hyperparameters (every space takes it)'}`, `space.options.${key}`);
    }
  }
  let definedSpace: DefinedSpace;
  try {
    definedSpace = getSpace(spaceName, spaceOptionsOf(spaceName, spaceOptions));
  } catch (e) {
    if (e instanceof TsnasError) throw configError(e.where ? e.message.slice(e.where.length + 2) : e.message, e.where?.startsWith('space.options.') ? e.where : 'space.options');
    throw e;
  }
  const estimator = v.estimator as EstimatorConfig;
  const weightSharing = findWeightSharingMethod(v.strategy.name);
  if (weightSharing) {
    v.strategy.options = checkWith(weightSharing.options, v.strategy.options, 'strategy.options');
    checkWeightSharing(v);
  } else if (v.final) {
    throw configError(`trains the found architecture of a weight-sharing search; strategy ${v.strategy.name} is multi-trial (train its best with tsnas train, or use tsnas main)`, 'final');
  } else if (estimator.kind === SUPERNET_ESTIMATOR_KIND) {
    throw configError(`estimator kind 'supernet' keeps a weight-sharing search's own numbers, but strategy ${v.strategy.name} is multi-trial; use benchmark, training or proxies`, 'estimator.kind');
  }
  checkEstimator(estimator, 'estimator', kit, definedSpace);
  const objectives = v.objectives.map(normaliseObjective);
  const names = new Set<string>();
  objectives.forEach((o, i) => {
    if (names.has(o.name)) throw configError(`objective ${JSON.stringify(o.name)} is listed twice`, `objectives[${i}]`);
    names.add(o.name);
  });
  const measured = trialEstimatorConfig(estimator);
  if (spaceOptions['hyperparameters'] !== undefined && (weightSharing || measured.kind !== 'training')) {
    throw configError(`training hyperparameters are searched by multi-trial strategies with the training estimator, not ${weightSharing ? `the weight-sharing method ${v.strategy.name}` : `estimator kind '${measured.kind}'`}`, 'space.options.hyperparameters');
  }
  if (measured.kind === 'proxies') {
    const first = objectives[0]!.name;
    const known = new Set([...(measured.proxies ?? []), 'params', 'flops']);
    if (!known.has(first)) {
      throw configError(`expected one of the computed proxies (${[...known].join(', ')}) with estimator kind 'proxies', found ${JSON.stringify(first)}`, 'objectives[0]');
    }
  }
  const constraints = v.constraints.map((text, i): ConstraintConfig => {
    const m = CONSTRAINT_PATTERN.exec(text)!;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) throw configError(`expected a number after ${m[2]}, found ${JSON.stringify(m[3])}`, `constraints[${i}]`);
    return { metric: m[1]!, op: m[2] as ConstraintConfig['op'], value, text: text.trim() };
  });
  const strategy = findStrategy(v.strategy.name);
  // seed, fitness and objectives come from the config, so the strategy's own schema rejects them here.
  if (strategy) v.strategy.options = checkWith(strategy.options, v.strategy.options, 'strategy.options') as Record<string, unknown>;
  if (strategy?.multiObjective && objectives.length < 2) {
    throw configError(`expected at least 2 objectives for strategy ${strategy.name} (multi-objective), found ${objectives.length} (${objectives.map((o) => o.name).join(', ')})`, 'objectives');
  }
  return { ...v, estimator, objectives, constraints } as ExperimentConfig;
}

/**
 * Defaults that differ for weight-sharing strategies, filled in the raw
 * config before the schema's: the data split 50/50 into weights and
 * architecture halves (as the references do), the found architecture
 * looked up in the table on nb201, else kept with the search's numbers, and
 * the method's preset, if the config names one.
 */
function withWeightSharingDefaults(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const r = raw as Record<string, any>;
  const strategy = r['strategy'];
  const name = typeof strategy === 'object' && strategy !== null ? strategy['name'] : undefined;
  const method = typeof name === 'string' ? findWeightSharingMethod(name) : undefined;
  if (!method) {
    if (r['preset'] !== undefined) throw configError(`presets are settings of the weight-sharing methods (${WEIGHT_SHARING_METHOD_NAMES.join(', ')}), but the strategy is ${typeof name === 'string' ? name : 'the default multi-trial one'}`, 'preset');
    return raw;
  }
  const out: Record<string, any> = { ...r };
  const dataset = typeof r['dataset'] === 'object' && r['dataset'] !== null ? r['dataset'] : {};
  out['dataset'] = { validFraction: 0.5, ...dataset };
  if (typeof r['preset'] === 'string') {
    // The preset fills what the config leaves unset: explicit fields (and flags, which set them) win.
    const preset = presetOf(method, r['preset']);
    out['dataset'] = { limitTrain: preset.limitTrain, ...out['dataset'] };
    const options = typeof strategy['options'] === 'object' && strategy['options'] !== null ? strategy['options'] : {};
    out['strategy'] = { ...strategy, options: { ...preset.options, ...options } };
  }
  const spaceConfig = typeof r['space'] === 'object' && r['space'] !== null ? r['space'] : {};
  const space = spaceConfig['name'] ?? 'nb201';
  // The table covers nb201's own cell: a cell reshaped by space.options keeps the search's numbers.
  const ownCell = typeof spaceConfig['options'] !== 'object' || spaceConfig['options'] === null || Object.keys(spaceConfig['options']).length === 0;
  if (r['estimator'] === undefined) out['estimator'] = space === 'nb201' && ownCell ? { kind: 'benchmark' } : { kind: SUPERNET_ESTIMATOR_KIND };
  return out;
}

/** What a weight-sharing experiment cannot take: several objectives to search, queues, parallel trials, limits other than flops and params. */
function checkWeightSharing(v: CheckedFields): void {
  const name = v.strategy.name;
  if (v.execution?.queue === 'pgboss') throw configError(`a weight-sharing run (${name}) trains one supernet in one process; use execution.queue local`, 'execution.queue');
  if (v.parallel !== 1) throw configError(`a weight-sharing run (${name}) trains one supernet; expected parallel 1, found ${v.parallel}`, 'parallel');
  if (v.final && !getKit(v.space.name).sized) {
    for (const k of ['channels', 'cells'] as const) if (v.final[k] !== undefined) throw configError(`is not used with space ${v.space.name}, whose samples fix their own widths and depth (value ${v.final[k]})`, `final.${k}`);
  }
  const kind = v.estimator.kind;
  if (kind === 'composed' || kind === 'predictor') throw configError(`estimator kind '${kind}' screens many candidates; a weight-sharing run (${name}) evaluates the one architecture it finds with benchmark, training, proxies or supernet`, 'estimator.kind');
  v.constraints.forEach((text, i) => {
    const m = CONSTRAINT_PATTERN.exec(text);
    if (m && !(['flops', 'params'].includes(m[1]!) && (m[2] === '<=' || m[2] === '<'))) {
      throw configError(`a weight-sharing run limits its search with "flops <= N" and "params <= N" only, found ${JSON.stringify(text)}`, `constraints[${i}]`);
    }
  });
}

/** The config getSpace takes for a space's own options (space.options of the config). */
export function spaceOptionsOf(name: string, options: Record<string, unknown>): SpaceOptions {
  return Object.keys(options).length === 0 ? {} : { [name]: options };
}

/** A config is a page of settings; a file this large is a mistake (or an attack) and is refused before parsing. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Parses YAML or JSON text (YAML is a superset) into a raw config; `where`
 * names the file. Duplicate keys are errors, found in one pass: the yaml
 * package's own check compares every pair of keys of a mapping.
 */
export function parseConfigText(text: string, where = 'config'): unknown {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw configError(`is ${Buffer.byteLength(text)} bytes, more than a config may be (${MAX_CONFIG_BYTES})`, where);
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { uniqueKeys: false });
  } catch (e) {
    throw new TsnasError('config', `cannot parse: ${(e as Error).message.split('\n')[0]}`, { where, cause: e });
  }
  if (doc.errors.length > 0) throw new TsnasError('config', `cannot parse: ${doc.errors[0]!.message.split('\n')[0]}`, { where });
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          const range = isScalar(pair.key) ? pair.key.range : undefined;
          const line = range ? ` (line ${lineOf(text, range[0])})` : '';
          throw configError(`the key ${JSON.stringify(key)} appears twice in one mapping${line}`, where);
        }
        seen.add(key);
      }
    },
  });
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    throw new TsnasError('config', `cannot parse: ${(e as Error).message.split('\n')[0]}`, { where, cause: e });
  }
}

const lineOf = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

/** Reads a config file (raw, unchecked; apply overrides then checkConfig). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TsnasError('config', `cannot read the config: ${(e as Error).message}`, { where: path, cause: e });
  }
  if (text.trim() === '' || /^(\s*#.*\n?|\s*\n)*$/.test(text)) throw configError('the config file is empty (tsnas init writes a commented example)', path);
  const raw = parseConfigText(text, path);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(`expected a mapping of fields at the top, found ${showValue(raw)}`, path);
  }
  const config = raw as Record<string, unknown>;
  // A config without a name is named after its file.
  if (config['name'] === undefined) config['name'] = basename(path, extname(path)).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return config;
}

/** Every settable field path, for `--path value` flags and their help. */
export function configFieldPaths(): { path: string; help: string }[] {
  return leafPaths(CONFIG_SCHEMA).map(({ path, schema }) => ({ path, help: helpOf(schema) }));
}

/**
 * The JSON Schema (draft-07) of an experiment config file, for editors
 * (`# yaml-language-server: $schema=...`): the fields of CONFIG_SCHEMA with
 * their help as descriptions, and strategy.options checked by the options
 * of the strategy or weight-sharing method that strategy.name names.
 */
export function configJsonSchema(): Record<string, unknown> {
  const nameHelp = helpOf(CONFIG_SCHEMA.shape.strategy.unwrap().shape.name);
  const optionsOf = (name: string) => (findStrategy(name)?.options ?? findWeightSharingMethod(name)!.options).optional();
  const choice = (name: string) => z.strictObject({ name: z.literal(name).describe(nameHelp), options: optionsOf(name) });
  // strategy.name may be left out: then it is the default strategy, with its options.
  const defaultName = CONFIG_SCHEMA.shape.strategy.unwrap().shape.name.parse(undefined);
  const byName = [...strategyKinds.map((k) => k.name), ...WEIGHT_SHARING_METHOD_NAMES].map(choice);
  const strategy = z
    .union([z.strictObject({ options: optionsOf(defaultName) }), ...byName])
    .describe('the search strategy (a multi-trial one, or a weight-sharing method) and its own options');
  // checkConfig reads an estimator's `type` as its `kind` (kindAlias); the file may use either.
  const withTypeAlias = <Shape extends { kind: z.ZodType }>(estimator: z.ZodObject<Shape>) => estimator.extend({ type: estimator.shape.kind.optional() });
  const estimatorShape = CONFIG_SCHEMA.shape.estimator.unwrap();
  const estimator = withTypeAlias(estimatorShape.extend({ then: withTypeAlias(estimatorShape.shape.then.unwrap()).optional() })).optional();
  const schema = z.toJSONSchema(CONFIG_SCHEMA.extend({ strategy: strategy.optional(), estimator }), { target: 'draft-07', io: 'input', unrepresentable: 'any' });
  return { ...schema, title: 'tsnas experiment config', description: 'tsnas search --config FILE (YAML or JSON); `tsnas schema` writes this schema' };
}

/**
 * Sets `path` (dotted, e.g. budget.trials or strategy.options.population)
 * in a raw config to a flag's text, read as a YAML scalar or flow list
 * ("5" is 5, "[a, b]" a list). Paths are checked when the config is.
 */
export function setConfigPath(config: Record<string, unknown>, path: string, text: string, flag = `--${path}`): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
    throw configError(`expected a dotted field path such as budget.trials, found ${JSON.stringify(path)}`, flag);
  }
  let value: unknown;
  try {
    // Numbers are decimal: YAML would also read 0x10, 0o7 and .inf as numbers.
    value = /^\s*[-+]?(0[xXoObB]|\.(inf|Inf|INF|nan|NaN|NAN)\b)/.test(text) ? text : parseYaml(text);
  } catch {
    value = text;
  }
  // A text that YAML reads as null (e.g. "~") is kept as the text.
  if (value === null) value = text;
  let node: Record<string, unknown> = config;
  keys.slice(0, -1).forEach((k, i) => {
    const next = node[k];
    if (next === undefined) node[k] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw configError(`cannot set a field inside ${keys.slice(0, i + 1).join('.')}, which is ${showValue(next)}`, flag);
    }
    node = node[k] as Record<string, unknown>;
  });
  // Single-item lists accept a bare value, e.g. --objectives accuracy.
  const last = keys.at(-1)!;
  const listFields = new Set(['objectives', 'constraints', 'proxies']);
  if (listFields.has(last) && !Array.isArray(value)) value = [typeof value === 'string' ? value : text];
  node[last] = value;
}

/** The commented example `tsnas init` writes: runs in seconds on the vendored NAS-Bench-201 table. */
export const EXAMPLE_CONFIG = `# yaml-language-server: $schema=./tsnas.schema.json
# tsnas experiment config (YAML; JSON works too).
# The line above lets editors (VS Code's YAML extension, any yaml-language-server)
# complete and check this file; make the schema it names with:
#             tsnas schema --out tsnas.schema.json
# Run it:     tsnas search --config exp.yaml [--storage sqlite:runs/exp.db] [--name NAME]
# Read it:    tsnas show exp ; tsnas report exp
# Any field can be given as a flag too, e.g. --budget.trials 200 --strategy.name bo
# Stop it at any moment (Ctrl-C, even kill -9): the same command resumes it.

name: exp                 # experiment name in the store (default: the file's name)
seed: 0                   # seeds the strategy, data splits and initial weights

space:
  name: nb201             # nb201 | darts | chain | mobilenet | hierarchical | transformer
  options: {}             # the space's own options, e.g. {maxDepth: 4, filters: [16, 32]} for chain
  #                       # or {nodes: 4, ops: [..., max_pool_3x3]} for nb201's cell (not with the benchmark estimator)

strategy:
  name: evolution         # random | evolution | ga | local | reinforce | ppo | bo | nsga2
  options:                # the strategy's own options
    population: 20
    sampleSize: 5

estimator:
  kind: benchmark         # benchmark | training | proxies | composed | predictor  (\`type:\` works too)
  benchmark: nb201:cifar10   # tabular (space nb201 only): nb201:cifar10 | nb201:cifar100 | nb201:imagenet16_120
  #                       # with HW-NAS-Bench's device costs: latency_{edgegpu,raspi4,edgetpu,pixel3,eyeriss,fpga}_ms,
  #                       # energy_{edgegpu,eyeriss,fpga}_mj (minimised), e.g. objectives [accuracy, latency_pixel3_ms]
  # kind: training        # trains each sample's network on the dataset below (any space):
  # epochs: 2
  # batch: 128
  # lr: 0.1
  # channels: 8           # nb201/darts only: C of the first stage
  # cells: 1              # nb201: cells per stage; darts: cells in all (default 5)
  # resolution: 16        # resize the images (faster; mobilenet samples pick their own)
  # kind: proxies         # zero-cost scores, no training (any space)
  # proxies: [synflow, nwot]
  # proxyBatch: 64
  #
  # Compositions work behind any strategy: each round asks the strategy for
  # many candidates, ranks them cheaply, and only the top k become trials,
  # evaluated by \`then\`; the strategy is told estimates for the others.
  # kind: composed        # zero-cost screening, then the top k (small budgets)
  # screen: {proxies: [synflow, nwot], candidates: 1000, proxyBatch: 64}
  # topK: 10
  # then: {kind: training, epochs: 2, resolution: 16}
  # kind: predictor       # a learned predictor, fitted on the results so far
  # model: gp             # mlp | lstm | gcn | ensemble | gp
  # warmup: 20            # results of the strategy's own choice before it ranks
  # candidates: 100       # candidates ranked per round
  # topK: 10
  # kappa: 0              # rank by mean + kappa * std (ensemble, gp)
  # then: {kind: benchmark}

dataset:                  # used by the training and proxies estimators
  name: fashion-mnist     # fashion-mnist[:dir] | cifar10:dir | cifar100:dir | folder:dir
  validFraction: 0.1      # held out of the training set to score trials
  # limitTrain: 10000     # use at most this many training images

objectives:               # the first is searched on; nsga2 uses them all
  - accuracy
  # - params              # minimised (params, flops, latency_ms are); single-objective
  #                       # strategies subtract weight * ln(params):
  # - { name: params, direction: min, weight: 0.01 }

constraints:              # trials breaking one are pruned, e.g.
  - params <= 1e6

# hardware:               # every trial gets latency_ms, predicted from a table measured
#   latencyTable: lut.json  # with: tsnas bench latency --space nb201 --out lut.json;
#                           # then e.g. objectives [accuracy, latency_ms:min], latency_ms <= 20

budget:
  trials: 100             # finished trials
  # minutes: 30           # and/or wall-clock time, summed over resumes

parallel: 1               # trials at once (worker threads; libtorch threads are split)
# batch: 4                # samples asked at once (default: parallel); fixes results for any parallel
# threads: 2              # libtorch threads in all (default: all cores)

# execution:              # many machines: with --storage postgres://..., trials go to a
#   queue: pgboss         # pg-boss queue in that database, and \`tsnas worker --storage ...\`
#   inFlight: 4           # processes on any machine run them (src/distributed/README.md)
`;
