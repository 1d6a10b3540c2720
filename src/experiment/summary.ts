// Reading an experiment back from the store: counts by state, best trials,
// Pareto front and best architecture (what `tsnas show` prints and the
// report draws).
import { TsnasError } from '../errors.js';
import { getSpace } from '../kits/index.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample } from '../spaces/types.js';
import { nonDominatedSort } from '../strategies/pareto.js';
import type { Experiment, Store, Trial, TrialState } from '../store/types.js';
import { spaceOptionsOf, type ObjectiveConfig } from './config.js';
import { metricDirection } from '../estimators/metrics.js';

export interface TrialView {
  number: number;
  state: TrialState;
  /** The space's text form of the sample (e.g. a NAS-Bench-201 string). */
  arch: string;
  metrics: Record<string, number>;
}

export interface ExperimentSummary {
  name: string;
  status: string;
  createdAt: string;
  space: string;
  strategy: string;
  estimator: string;
  /** Composed and predictor estimators: candidates ranked out (never trials) and rounds. */
  screening?: { screenedOut: number; rounds: number };
  objectives: ObjectiveConfig[];
  counts: Record<TrialState, number>;
  total: number;
  best: TrialView[];
  /** Non-dominated complete trials over the objectives (or the first objective and params). */
  pareto: { objectives: ObjectiveConfig[]; trials: TrialView[] };
  bestArchitecture: TrialView | null;
  /** Weight-sharing experiments: the supernet run, epoch by epoch. */
  weightSharing?: WeightSharingSummary;
}

/** What `show --json`, the report and the dashboard show of a weight-sharing run. */
export interface WeightSharingSummary {
  method: string;
  /** supernet (training), search (final step), evaluation (the found architecture's trial), done. */
  phase: string;
  epochsDone: number;
  epochs: number;
  /** Per epoch: the numbers of its record (src/weight-sharing/run.ts WeightSharingEpoch) without α. */
  history: Record<string, unknown>[];
  /** α of each edge over the epochs: softmax weights per epoch (rows) in the order of `operations`. */
  alpha: Record<string, { operations: string[]; epochs: number[]; weights: number[][] }>;
}

/** The objectives of a stored config (defaults as the config checker fills them). */
export function objectivesOf(config: unknown): ObjectiveConfig[] {
  const list = (config as { objectives?: unknown })?.objectives;
  if (!Array.isArray(list) || list.length === 0) return [{ name: 'accuracy', direction: 'max' }];
  return list.map((o) =>
    typeof o === 'string'
      ? { name: o, direction: metricDirection(o) }
      : (o as ObjectiveConfig),
  );
}

/** The space a stored config names (nb201 when absent), or undefined when it cannot be built. */
export function spaceOf(config: unknown): DefinedSpace | undefined {
  const space = (config as { space?: { name?: string; options?: unknown } })?.space;
  try {
    const name = space?.name ?? 'nb201';
    return getSpace(name, spaceOptionsOf(name, (space?.options ?? {}) as Record<string, unknown>));
  } catch {
    return undefined;
  }
}

export function viewOf(t: Trial, space: DefinedSpace | undefined): TrialView {
  let arch: string;
  try {
    arch = space ? space.format(t.sample as unknown as Sample) : JSON.stringify(t.sample);
  } catch {
    arch = JSON.stringify(t.sample);
  }
  return { number: t.number, state: t.state, arch, metrics: { ...(t.metrics ?? {}) } };
}

/** Indices of the non-dominated points (each point: one value per objective). */
export function paretoIndices(points: readonly (readonly number[])[], maximize: readonly boolean[]): number[] {
  if (points.length === 0) return [];
  return nonDominatedSort(points, maximize)[0]!;
}

/** The objectives the Pareto front is drawn over: the config's when there are two or more, else the first and params. */
export function paretoObjectives(objectives: readonly ObjectiveConfig[], trials: readonly Trial[]): ObjectiveConfig[] {
  if (objectives.length >= 2) return objectives.slice(0, 2);
  const first = objectives[0]!;
  const hasParams = trials.some((t) => t.metrics?.['params'] !== undefined);
  return hasParams && first.name !== 'params' ? [first, { name: 'params', direction: 'min' }] : [first];
}

export async function requireExperiment(store: Store, name: string): Promise<Experiment> {
  const experiment = await store.getExperiment(name);
  if (!experiment) {
    const names = (await store.listExperiments()).map((e) => e.name);
    throw new TsnasError('usage', `no experiment named '${name}' in this store; it has ${names.length ? names.join(', ') : 'none'}`, { where: 'NAME' });
  }
  return experiment;
}

export async function summarizeExperiment(store: Store, name: string, options: { top?: number } = {}): Promise<ExperimentSummary> {
  const experiment = await requireExperiment(store, name);
  const config = experiment.config as Record<string, any>;
  const objectives = objectivesOf(config);
  const primary = objectives[0]!;
  const space = spaceOf(config);
  const counts = await store.countTrials(experiment.id);
  const best = await store.bestTrials(experiment.id, primary.name, primary.direction, options.top ?? 5);
  const complete = await store.listTrials(experiment.id, { states: ['complete'] });
  const frontObjectives = paretoObjectives(objectives, complete);
  const usable = complete.filter((t) => frontObjectives.every((o) => Number.isFinite(t.metrics?.[o.name])));
  const front = paretoIndices(
    usable.map((t) => frontObjectives.map((o) => t.metrics![o.name]!)),
    frontObjectives.map((o) => o.direction === 'max'),
  )
    .map((i) => usable[i]!)
    .sort((a, b) => a.metrics![frontObjectives[0]!.name]! - b.metrics![frontObjectives[0]!.name]!);
  const bestViews = best.map((t) => viewOf(t, space));
  return {
    name: experiment.name,
    status: experiment.status,
    createdAt: new Date(experiment.createdAt).toISOString(),
    space: config?.space?.name ?? '?',
    strategy: config?.strategy?.name ?? '?',
    estimator: describeEstimator(config?.estimator),
    ...(await screeningOf(store, experiment.id)),
    objectives,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    best: bestViews,
    pareto: { objectives: frontObjectives, trials: front.map((t) => viewOf(t, space)) },
    bestArchitecture: bestViews[0] ?? null,
    ...(await weightSharingOf(store, experiment.id)),
  };
}

/** A weight-sharing run's phase, history and α per edge (none for multi-trial experiments). */
export async function weightSharingOf(store: Store, experimentId: number): Promise<{ weightSharing?: WeightSharingSummary }> {
  const saved = (await store.loadStrategyState(experimentId))?.state as { method?: unknown; phase?: unknown; epochsDone?: number; epochs?: number } | undefined;
  if (typeof saved?.method !== 'string' || typeof saved.phase !== 'string') return {};
  const records = await store.listEpochs(experimentId);
  const history: Record<string, unknown>[] = [];
  const alpha: WeightSharingSummary['alpha'] = {};
  for (const { record } of records) {
    const { weights, operations, edgeWeights: _edgeWeights, ...numbers } = record as Record<string, any>;
    history.push(numbers);
    for (const [label, w] of Object.entries((weights ?? {}) as Record<string, number[]>)) {
      const edge = (alpha[label] ??= { operations: operations?.[label] ?? w.map((_, i) => String(i)), epochs: [], weights: [] });
      edge.epochs.push(numbers['epoch']);
      edge.weights.push(w);
    }
  }
  return { weightSharing: { method: saved.method, phase: saved.phase, epochsDone: records.length, epochs: saved.epochs ?? records.length, history, alpha } };
}

/** An estimator config in words, e.g. "composed(synflow+nwot of 1000 -> top 10) -> training 2 epochs". */
export function describeEstimator(e: Record<string, any> | undefined): string {
  if (!e?.kind) return '?';
  switch (e.kind) {
    case 'benchmark':
      return `benchmark ${e.benchmark ?? ''}`.trim();
    case 'training':
      return `training${e.epochs ? ` ${e.epochs} epoch(s)` : ''}`;
    case 'proxies':
      return `proxies ${(e.proxies ?? []).join('+')}`;
    case 'composed':
      return `composed(${(e.screen?.proxies ?? []).join('+')} of ${e.screen?.candidates} -> top ${e.topK}) -> ${describeEstimator(e.then)}`;
    case 'predictor':
      return `predictor(${e.model} after ${e.warmup}, ${e.candidates} -> top ${e.topK}) -> ${describeEstimator(e.then)}`;
    default:
      return String(e.kind);
  }
}

/** Candidates screened out so far by a composed or predictor estimator (from the saved strategy state). */
async function screeningOf(store: Store, experimentId: number): Promise<{ screening?: { screenedOut: number; rounds: number } }> {
  const saved = await store.loadStrategyState(experimentId);
  const extra = (saved?.state as { strategy?: { extra?: { screenedOut?: unknown; rounds?: unknown } } } | undefined)?.strategy?.extra;
  if (typeof extra?.screenedOut !== 'number' || typeof extra.rounds !== 'number') return {};
  return { screening: { screenedOut: extra.screenedOut, rounds: extra.rounds } };
}

const fmt = (v: number | undefined) =>
  v === undefined ? '-' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toFixed(4)).toString();

/** The summary as text for people. */
export function formatSummary(s: ExperimentSummary): string {
  const lines: string[] = [];
  lines.push(`experiment ${s.name} (${s.status}), created ${s.createdAt}`);
  lines.push(`  space ${s.space}, strategy ${s.strategy}, estimator ${s.estimator}, objectives ${s.objectives.map((o) => `${o.name}:${o.direction}`).join(', ')}`);
  lines.push(`  trials ${s.total}: ${Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (s.screening) lines.push(`  screening: ${s.screening.screenedOut} candidates screened out in ${s.screening.rounds} round(s) (not trials)`);
  // The objectives first, then whatever else the trials have.
  const metricNames = [...new Set([...s.objectives.map((o) => o.name).filter((m) => s.best.some((t) => m in t.metrics)), ...s.best.flatMap((t) => Object.keys(t.metrics))])].slice(0, 5);
  if (s.best.length > 0) {
    lines.push('', `best trials by ${s.objectives[0]!.name}:`);
    lines.push(`  ${'#'.padStart(5)}  ${metricNames.map((m) => m.padStart(12)).join(' ')}  arch`);
    for (const t of s.best) lines.push(`  ${String(t.number).padStart(5)}  ${metricNames.map((m) => fmt(t.metrics[m]).padStart(12)).join(' ')}  ${t.arch}`);
  }
  if (s.pareto.objectives.length >= 2 && s.pareto.trials.length > 0) {
    const [a, b] = s.pareto.objectives as [ObjectiveConfig, ObjectiveConfig];
    lines.push('', `Pareto front (${a.name} ${a.direction}, ${b.name} ${b.direction}): ${s.pareto.trials.length} trials`);
    for (const t of s.pareto.trials) lines.push(`  ${String(t.number).padStart(5)}  ${a.name} ${fmt(t.metrics[a.name])}  ${b.name} ${fmt(t.metrics[b.name])}  ${t.arch}`);
  }
  if (s.weightSharing) lines.push('', ...formatWeightSharing(s.weightSharing));
  lines.push('', s.bestArchitecture ? `best architecture: ${s.bestArchitecture.arch}` : 'best architecture: none yet (no complete trial)');
  return lines.join('\n');
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '-');

/** A weight-sharing run as text: phase, then one line per epoch. */
function formatWeightSharing(w: WeightSharingSummary): string[] {
  const lines = [`weight-sharing ${w.method}: ${w.phase}, ${w.epochsDone}/${w.epochs} supernet epochs`];
  for (const h of w.history) {
    const parts = [`  epoch ${String(h['epoch']).padStart(3)} ${String(h['phase']).padEnd(8)}`, `train ${pct(h['trainAccuracy'])}`];
    if (typeof h['validAccuracy'] === 'number') parts.push(`valid ${pct(h['validAccuracy'])}`);
    if (typeof h['skipFraction'] === 'number') parts.push(`skip ${pct(h['skipFraction'])} none ${pct(h['noneFraction'])}`);
    if (typeof h['hessianEigenvalue'] === 'number') parts.push(`λmax ${fmt(h['hessianEigenvalue'])}`);
    if (typeof h['tau'] === 'number') parts.push(`τ ${fmt(h['tau'])}`);
    if (typeof h['arch'] === 'string') parts.push(h['arch']);
    lines.push(parts.join('  '));
  }
  return lines;
}
