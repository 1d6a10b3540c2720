// Weight-sharing search on a supernet — differentiable (DARTS first/second
// order, GDAS, PC-DARTS; nb201 and darts spaces) or one-shot (SPOS/FairNAS
// and ENAS on every space, Once-for-All on mobilenet): `tsnas search
// --strategy darts|...` (search-differentiable.ts) and its alias `tsnas darts
// --method`. Per-epoch progress goes to stderr; the last stdout line (with
// --json) holds the found architecture, time, peak RSS and, with
// --benchmark, its table accuracy.
import { usageError } from '../../errors.js';
import { Nb201Table, parseNb201BenchmarkName, type Nb201Dataset } from '../../benchmarks/nb201.js';
import { datasetSource } from '../../data/spec.js';
import type { AugmentOptions } from '../../data/augment.js';
import { configureCompute } from '../../train/setup.js';
import { Rng } from '../../util/random.js';
import { DIFFERENTIABLE_METHODS, flopsCostTable, type DifferentiableMethod } from '../../weight-sharing/differentiable/search.js';
import { runDifferentiableSearch, type DifferentiableEpoch } from '../../weight-sharing/differentiable/run.js';
import { runSpos } from '../../weight-sharing/oneshot/spos.js';
import type { OneShotContext } from '../../weight-sharing/oneshot/training.js';
import { runEnas } from '../../weight-sharing/oneshot/enas.js';
import { DEFAULT_PHASE_SPLIT, parsePhaseSplit, phaseSchedule, runOfa, type OfaResult } from '../../weight-sharing/oneshot/ofa.js';
import { requireExportable, type CostLimits } from '../../weight-sharing/oneshot/constraints.js';
import { getKit, getSpace, kitNames, latencyModel } from '../../kits/index.js';
import { DIFFERENTIABLE_SPACES, type DifferentiableSpace } from '../../weight-sharing/differentiable/network.js';
import { parseSpaceOptions } from '../space-options.js';
import { rankingQuality, type RankingQuality } from '../../weight-sharing/oneshot/ranking.js';
import { latencyCostTables, loadLatencyTable, predictLatency, type LatencyTable } from '../../hardware/latency.js';
import { computeFlags, type FlagSpecs, type ParsedFlags } from '../args.js';
import { defineCommand } from '../command.js';
import { emitJson, log } from '../output.js';

/** The weight-sharing methods, as --method (tsnas darts) or --strategy (tsnas search) names them. */
export const WEIGHT_SHARING_METHODS = [...DIFFERENTIABLE_METHODS, 'spos', 'enas', 'ofa'] as const;
export type WeightSharingMethod = (typeof WEIGHT_SHARING_METHODS)[number];

export function isWeightSharingMethod(name: string): name is WeightSharingMethod {
  return (WEIGHT_SHARING_METHODS as readonly string[]).includes(name);
}

/** Every flag of a weight-sharing search but the method itself. */
export const weightSharingFlags: FlagSpecs = {
  space: { type: 'string', help: 'supernet space (differentiable methods: nb201, darts; spos, enas: any; ofa: mobilenet); default nb201, for ofa mobilenet', choices: kitNames() },
  'space-options': { type: 'string', help: 'chain, mobilenet, hierarchical, transformer: the space\'s configuration as JSON, e.g. {"resolutions":[24,32],"widths":[16,24]} (as space.options of a config)' },
  dataset: { type: 'string', help: 'fashion-mnist | cifar10:<dir> | cifar100:<dir> | folder:<dir>', default: 'fashion-mnist' },
  epochs: { type: 'int', help: 'search (or supernet training) epochs', default: 10, min: 1 },
  channels: { type: 'int', help: 'nb201, darts: initial channels C', default: 8, min: 1 },
  cells: { type: 'int', help: 'nb201: cells per stage N; darts: number of cells', default: 1, min: 1 },
  resolution: { type: 'int', help: 'resize images to this size (e.g. 16)', min: 4 },
  batch: { type: 'int', help: 'batch size', default: 64, min: 1 },
  'limit-train': { type: 'int', help: 'use at most this many training images (split 50/50 into train and valid)', min: 2 },
  'steps-per-epoch': { type: 'int', help: 'at most this many steps per epoch', min: 1 },
  'time-budget': { type: 'number', help: 'stop after the epoch that passes this many seconds', min: 0 },
  benchmark: { type: 'string', help: 'report the found cell\'s table accuracy: nb201:cifar10|cifar100|imagenet16_120' },
  'arch-warmup': { type: 'int', help: 'epochs with α frozen (default: pcdarts min(15, E/2), else 0)', min: 0 },
  'pc-k': { type: 'int', help: 'PC-DARTS channel fraction 1/k', default: 4, min: 1 },
  'fair-lambda': { type: 'number', help: 'λ of the per-edge α-variance penalty', default: 0, min: 0 },
  'skip-dropout': { type: 'number', help: 'dropout on skip connections', default: 0, min: 0 },
  'cost-lambda': { type: 'number', help: 'hardware-aware: λ of the expected cost Σ p_o·T(o) (see --cost)', default: 0, min: 0 },
  cost: { type: 'string', help: 'T(o) of --cost-lambda: flops (multiply-adds per output element) | latency:<table.json> (ms, from tsnas bench latency); a latency table also reports the found cell\'s predicted latency', default: 'flops' },
  'hessian-every': { type: 'int', help: 'dominant Hessian eigenvalue of L_val w.r.t. α every N epochs (0: off)', default: 0, min: 0 },
  'early-stop': { type: 'int', help: 'DARTS-ES window k (eigenvalue every epoch; 0: off)', default: 0, min: 0 },
  sampling: { type: 'string', help: 'SPOS path sampling', default: 'uniform', choices: ['uniform', 'strict-fair'] },
  budget: { type: 'int', help: 'SPOS/OFA evolutionary-search evaluations', default: 100, min: 1 },
  'max-flops': { type: 'number', help: 'SPOS/OFA: search only architectures with at most this many FLOPs (the space\'s cost model)', min: 0 },
  'max-params': { type: 'number', help: 'SPOS/OFA: search only architectures with at most this many parameters', min: 0 },
  export: { type: 'string', help: 'spos, enas, ofa on chain, mobilenet, hierarchical, transformer: write the found fixed network\'s weights (inherited, batch norm recalibrated) to this .safetensors file' },
  'phase-split': { type: 'string', help: `OFA: shares of the epochs for the phases full,kernel,depth,expand (default ${DEFAULT_PHASE_SPLIT.join(',')}; 0 skips a phase)` },
  'kd-weight': { type: 'number', help: 'OFA: weight of the distillation loss from the largest network in the shrinking phases (default 1)', min: 0 },
  'subnets-per-step': { type: 'int', help: 'OFA: sub-networks per batch in the shrinking phases, gradients accumulated (default 1)', min: 1 },
  ranking: { type: 'int', help: 'SPOS/ENAS with --benchmark: Kendall τ / Spearman ρ over this many sampled cells (0: off)', default: 0, min: 0 },
  ...computeFlags,
};

/** --cost: 'flops' or 'latency:<file>' (the table, read and checked). */
function parseCostFlag(text: string, space: string): { kind: 'flops' } | { kind: 'latency'; path: string; table: LatencyTable } {
  if (text === 'flops') return { kind: 'flops' };
  if (text.startsWith('latency:') && text.length > 'latency:'.length) {
    const path = text.slice('latency:'.length);
    const table = loadLatencyTable(path);
    if (table.network.space !== space) throw usageError(`the latency table ${path} was measured for the ${table.network.space} space, but the search is on '${space}'`, '--cost');
    return { kind: 'latency', path, table };
  }
  throw usageError(`expected flops or latency:<table.json>, got '${text}'`, '--cost');
}

/**
 * Runs a weight-sharing search from parsed flags (weightSharingFlags) and
 * prints its summary. `methodFlag` names the flag the method came from
 * (--method or --strategy), for error messages.
 */
export async function runWeightSharingSearch(method: WeightSharingMethod, flags: ParsedFlags, methodFlag = '--method'): Promise<number> {
  if (!isWeightSharingMethod(method)) throw usageError(`expected one of ${WEIGHT_SHARING_METHODS.join(', ')}, got '${String(method)}'`, methodFlag);
  const space = (flags.space ?? (method === 'ofa' ? 'mobilenet' : 'nb201')) as string;
  const isDifferentiable = (DIFFERENTIABLE_METHODS as readonly string[]).includes(method);
  if (isDifferentiable && !(DIFFERENTIABLE_SPACES as readonly string[]).includes(space)) {
    throw usageError(`expected one of ${DIFFERENTIABLE_SPACES.join(', ')}, got '${space}' (${method} mixes cell edges; chain, mobilenet, hierarchical and transformer take ${methodFlag} spos or enas, mobilenet also ofa)`, '--space');
  }
  if (method === 'ofa' && space !== 'mobilenet') {
    throw usageError(`Once-for-All progressive shrinking needs the elastic mobilenet supernet (--space mobilenet), got '${space}' (other spaces: ${methodFlag} spos)`, '--space');
  }
  for (const flag of ['phase-split', 'kd-weight', 'subnets-per-step'] as const) {
    if (flags[flag] !== undefined && method !== 'ofa') throw usageError(`only ${methodFlag} ofa has progressive-shrinking phases, got ${methodFlag} ${method}`, `--${flag}`);
  }
  const limits: CostLimits = {
    ...(flags['max-flops'] !== undefined ? { maxFlops: flags['max-flops'] as number } : {}),
    ...(flags['max-params'] !== undefined ? { maxParams: flags['max-params'] as number } : {}),
  };
  for (const flag of ['max-flops', 'max-params'] as const) {
    if (flags[flag] !== undefined && method !== 'spos' && method !== 'ofa') throw usageError(`resource limits steer the evolutionary search of ${methodFlag} spos and ofa, got ${methodFlag} ${method}`, `--${flag}`);
  }
  const exportPath = flags.export as string | undefined;
  if (exportPath !== undefined) {
    if (isDifferentiable) throw usageError(`exporting the found network needs ${methodFlag} spos, enas or ofa, got ${method}`, '--export');
    requireExportable(space);
  }
  const spaceOptions = parseSpaceOptions(flags['space-options'] as string | undefined, space);
  const phaseSplit = flags['phase-split'] !== undefined ? parsePhaseSplit(flags['phase-split'] as string) : [...DEFAULT_PHASE_SPLIT];
  if (method === 'ofa') phaseSchedule(flags.epochs as number, phaseSplit);
  const threads = configureCompute({ threads: flags.threads as number | undefined, seed: flags.seed as number });
  const cost = parseCostFlag(String(flags.cost ?? 'flops'), space);
  let benchmark: Nb201Dataset | null = null;
  if (flags.benchmark !== undefined) {
    benchmark = parseNb201BenchmarkName(flags.benchmark as string);
    if (space !== 'nb201') throw usageError(`the nb201 benchmark needs --space nb201, got '${space}'`, '--benchmark');
  }
  if ((flags.ranking as number) > 0 && (!benchmark || !(method === 'spos' || method === 'enas'))) {
    throw usageError(`--ranking needs ${methodFlag} spos or enas and --benchmark nb201:<dataset>`, '--ranking');
  }
  const source = datasetSource(flags.dataset as string);
  const train = source.load('train');
  const color = train.channels === 3;
  const augment: AugmentOptions = {
    resize: flags.resolution as number | undefined,
    crop: color ? { padding: flags.resolution !== undefined && (flags.resolution as number) <= 16 ? 2 : 4 } : undefined,
    flip: color,
    normalize: source.normalization(train),
  };
  const cellSpace = getKit(space).sized !== undefined;
  log(`darts: ${method} on ${space}, ${source.name} (${train.n} images, ${flags['limit-train'] ?? 'all'} used)${cellSpace ? `, C=${flags.channels}, cells=${flags.cells}` : ''}, ${threads} threads`);
  const common = {
    space,
    spaceOptions,
    C: flags.channels as number,
    cells: flags.cells as number,
    epochs: flags.epochs as number,
    batchSize: flags.batch as number,
    limitTrain: flags['limit-train'] as number | undefined,
    stepsPerEpoch: flags['steps-per-epoch'] as number | undefined,
    timeBudgetSeconds: flags['time-budget'] as number | undefined,
    augment,
    seed: flags.seed as number,
  };
  let arch: string;
  let extra: Record<string, unknown> = {};
  let seconds: number;
  let epochs: number;
  if (isDifferentiable) {
    const cellSpace = space as DifferentiableSpace;
    const costLambda = flags['cost-lambda'] as number;
    // A latency table is also used with λ = 0: the expected latency is then recorded, not optimised.
    const costOption = cost.kind === 'latency'
      ? { table: {}, perLabel: latencyCostTables(latencyModel(cost.table), cost.table), lambda: costLambda }
      : costLambda > 0 ? { table: flopsCostTable(cellSpace, flags.channels as number), lambda: costLambda } : undefined;
    if (cost.kind === 'latency') {
      const n = cost.table.network;
      log(`cost: latency table ${cost.path} (${n.space}, C=${n.channels}, cells=${n.cells}, resolution ${n.resolution}, batch ${n.batch}, ${cost.table.runtime.threads} threads), λ=${costLambda}`);
    }
    const earlyStop = flags['early-stop'] as number;
    const r = await runDifferentiableSearch(train, {
      ...common,
      space: cellSpace,
      method: method as DifferentiableMethod,
      archWarmupEpochs: flags['arch-warmup'] as number | undefined,
      pcK: flags['pc-k'] as number,
      fairLambda: flags['fair-lambda'] as number,
      skipDropout: flags['skip-dropout'] as number,
      cost: costOption,
      hessianEvery: flags['hessian-every'] as number,
      earlyStop: earlyStop > 0 ? { window: earlyStop } : undefined,
      onEpoch: (e: DifferentiableEpoch) => log(
        `epoch ${e.epoch}: train ${(100 * e.trainAccuracy).toFixed(1)}% loss ${e.trainLoss.toFixed(3)}` +
        (e.validAccuracy !== null ? `, valid ${(100 * e.validAccuracy).toFixed(1)}%` : ', α frozen') +
        (e.tau !== null ? `, τ ${e.tau.toFixed(2)}` : '') +
        (e.hessianEigenvalue !== null ? `, λmax ${e.hessianEigenvalue.toFixed(4)}` : '') +
        `, skip ${(100 * e.skipFraction).toFixed(0)}% none ${(100 * e.noneFraction).toFixed(0)}%, ${e.seconds.toFixed(1)} s: ${e.arch}`),
    });
    arch = r.arch;
    seconds = r.seconds;
    epochs = r.epochs;
    extra = {
      stopped_early: r.stoppedEarly,
      skip_fraction: r.derived.skipFraction,
      none_fraction: r.derived.noneFraction,
      parameter_free_fraction: r.derived.parameterFreeFraction,
      ...(costOption ? { cost: cost.kind === 'latency' ? `latency:${cost.path}` : 'flops', cost_lambda: costLambda, expected_cost: r.history.at(-1)?.expectedCost ?? null } : {}),
      history: r.history.map((h) => ({
        epoch: h.epoch, arch: h.arch, train_accuracy: h.trainAccuracy, valid_accuracy: h.validAccuracy,
        skip_fraction: h.skipFraction, none_fraction: h.noneFraction, hessian_eigenvalue: h.hessianEigenvalue, tau: h.tau, weights: h.weights,
      })),
    };
  } else {
    let ranking: RankingQuality | null = null;
    const rankingCells = flags.ranking as number;
    const afterSearch = rankingCells > 0 && benchmark
      ? (ctx: OneShotContext) => {
        const table = Nb201Table.load();
        ranking = rankingQuality(ctx.evaluate, (arch) => table.accuracy(arch, benchmark!), new Rng((flags.seed as number) + 1000), rankingCells);
      }
      : undefined;
    const onEpoch = (e: { epoch: number; trainAccuracy: number; trainLoss: number; seconds: number }) =>
      log(`epoch ${e.epoch}: supernet train ${(100 * e.trainAccuracy).toFixed(1)}% loss ${e.trainLoss.toFixed(3)}, ${e.seconds.toFixed(1)} s`);
    const oneShot = { ...common, limits, exportPath, onEpoch, afterSearch };
    const r = method === 'spos'
      ? await runSpos(train, { ...oneShot, sampling: flags.sampling as 'uniform' | 'strict-fair', evolution: { budget: flags.budget as number } })
      : method === 'ofa'
        ? await runOfa(train, {
          ...oneShot,
          space: 'mobilenet',
          evolution: { budget: flags.budget as number },
          phaseSplit,
          ...(flags['kd-weight'] !== undefined ? { kdWeight: flags['kd-weight'] as number } : {}),
          ...(flags['subnets-per-step'] !== undefined ? { subnetsPerStep: flags['subnets-per-step'] as number } : {}),
          onPhase: (p) => log(`phase ${p.phase} (epochs ${p.epochs[0]}-${p.epochs[1]}): largest ${(100 * p.largestAccuracy).toFixed(1)}%, smallest ${(100 * p.smallestAccuracy).toFixed(1)}% (inherited weights)`),
        })
        : await runEnas(train, oneShot);
    arch = r.arch;
    seconds = r.seconds;
    epochs = r.history.length;
    const q = ranking as RankingQuality | null;
    extra = {
      supernet_accuracy: r.supernetAccuracy,
      evaluations: r.evaluations,
      flops: r.cost.flops,
      params: r.cost.params,
      ...(limits.maxFlops !== undefined ? { max_flops: limits.maxFlops } : {}),
      ...(limits.maxParams !== undefined ? { max_params: limits.maxParams } : {}),
      ...(r.exported !== undefined ? { export: r.exported } : {}),
      ...(q ? { kendall_tau: q.kendallTau, spearman: q.spearman, ranking_cells: q.cells.length } : {}),
    };
    if (r.method === 'ofa') {
      const o = r as OfaResult;
      extra.phase_split = phaseSplit;
      extra.initial_largest_accuracy = o.initialLargestAccuracy;
      extra.phases = o.phases.map((p) => ({ phase: p.phase, epochs: p.epochs, largest_accuracy: p.largestAccuracy, smallest_accuracy: p.smallestAccuracy }));
      extra.history = o.history.map((h) => ({ epoch: h.epoch, phase: h.phase, lr: h.lr, train_loss: h.trainLoss, train_accuracy: h.trainAccuracy }));
    }
  }
  if (cost.kind === 'latency') {
    const sample = getSpace(space, spaceOptions).parse(arch);
    extra.predicted_latency_ms = predictLatency(latencyModel(cost.table), cost.table, sample);
  }
  const benchmarkAccuracy = benchmark ? Nb201Table.load().accuracy(arch, benchmark) : null;
  const summary = {
    method,
    space,
    arch,
    ...(benchmark ? { benchmark: `nb201:${benchmark}`, benchmark_accuracy: benchmarkAccuracy } : {}),
    seconds,
    epochs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    dataset: source.name,
    threads,
    seed: flags.seed,
    ...extra,
  };
  if (flags.json) emitJson(summary);
  else log(`found ${arch}${benchmarkAccuracy !== null ? ` (table accuracy ${benchmarkAccuracy.toFixed(2)}%)` : ''} in ${seconds.toFixed(1)} s`);
  return 0;
}

/** `tsnas darts --method ...`: the same search as `tsnas search --strategy ...`. */
export const dartsCommand = defineCommand({
  name: 'darts',
  summary: 'weight-sharing search on a supernet: darts | darts2 | gdas | pcdarts | spos | enas | ofa (as tsnas search --strategy)',
  flags: {
    method: { type: 'string', help: WEIGHT_SHARING_METHODS.join(' | '), default: 'darts', choices: WEIGHT_SHARING_METHODS },
    ...weightSharingFlags,
  },
  run: ({ flags }) => runWeightSharingSearch(flags.method as WeightSharingMethod, flags, '--method'),
});
