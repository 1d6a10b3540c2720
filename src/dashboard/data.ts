// What the dashboard shows, as JSON: the store's experiments (index page) and
// one experiment's view: its trials as compact rows, weight-sharing epochs,
// and small derived facts (best, Pareto front, per-choice statistics, cell
// drawings, collapse warnings). The page draws the charts itself from the
// rows (src/report/charts.ts, served to the browser), so that an update
// carries only what changed: new or changed trials and epochs, and the
// derived facts that moved (`diffViews`).
//
// An ExperimentTracker reads the store incrementally: finished trials never
// change (see Store), so each refresh reads only the trials from the lowest
// one that was not finished yet, and the epochs after the last one seen.
import { objectivesOf, paretoObjectives, spaceOf, viewOf } from '../experiment/summary.js';
import { dominates } from '../strategies/pareto.js';
import type { DefinedSpace } from '../spaces/space.js';
import type { Sample, Value } from '../spaces/types.js';
import type { Direction, EpochRecord, IntermediateValue, Json, Store, Trial, TrialState } from '../store/types.js';
import { isFinished, TRIAL_STATES } from '../store/types.js';
import { sampleToSvg } from '../viz/index.js';

export interface ExperimentRow {
  name: string;
  status: string;
  createdAt: string;
  counts: Record<TrialState, number>;
  total: number;
  objective: string;
  direction: Direction;
  /** The best value of the first objective among complete trials, null when none. */
  best: number | null;
}

export interface TrialRow {
  number: number;
  state: TrialState;
  arch: string;
  metrics: Record<string, number>;
  /** finishedAt - startedAt, null while not finished or never started. */
  durationMs: number | null;
  error: string | null;
  /** Per dimension of `dimensions`: the index of the chosen value, null when inactive; null when the space is unknown. */
  choices: (number | null)[] | null;
}

export interface DimensionView {
  label: string;
  kind: string;
  values: Value[];
}

/** One epoch record of a weight-sharing run, as stored, without the operation names (in weightSharing.operations). */
export interface EpochRow {
  /** stage:epoch, unique per experiment. */
  key: string;
  stage: string;
  record: Record<string, Json>;
}

/** Trials of the first objective grouped by the value one dimension took. */
export interface ChoiceStat {
  label: string;
  value: Value;
  /** Complete trials with this choice, their mean objective and its standard deviation (0 for one trial). */
  n: number;
  mean: number;
  sd: number;
}

/** An epoch where a weight-sharing search shows a known sign of collapse. */
export interface CollapseWarning {
  epoch: number;
  reason: string;
}

export interface ExperimentView {
  experiment: { name: string; status: string; createdAt: string };
  objectives: { name: string; direction: Direction }[];
  counts: Record<TrialState, number>;
  total: number;
  /** The space's dimensions (from its kit), null when the config's space cannot be built. */
  dimensions: DimensionView[] | null;
  /** Every trial, in number order (trial numbers are 0, 1, 2, ... without gaps, so index = number). */
  trials: TrialRow[];
  /** Weight-sharing runs: every epoch record in the order recorded; [] otherwise. */
  epochs: EpochRow[];
  /** The number of the best complete trial by the first objective. */
  best: number | null;
  /** The objectives the Pareto chart is drawn over (y, then x) and the numbers of the non-dominated trials. */
  front: { objectives: { name: string; direction: Direction }[]; numbers: number[] } | null;
  /** Mean first objective of complete trials per choice of each dimension (null without dimensions or complete trials). */
  importance: ChoiceStat[] | null;
  /** The best trials drawn (SVG from src/viz, trusted), best first. */
  cells: { number: number; svg: string }[];
  /** Learning curves of the most recent trials that have any (one metric). */
  curves: { metric: string; trials: { number: number; points: [number, number][] }[] } | null;
  weightSharing: {
    method: string;
    phase: string;
    epochsDone: number;
    epochs: number;
    /** Operation names of each α label, in the order of the weights. */
    operations: Record<string, string[]>;
    /** The last derived architecture drawn (trusted SVG), null when none or not drawable. */
    derivedCell: string | null;
    derivedArch: string | null;
    collapse: CollapseWarning[];
  } | null;
}

/** An update: the rows that are new or changed (trials by number, epochs by key), and every other field whose value changed. */
export type ExperimentDelta = Partial<ExperimentView>;

export interface SnapshotOptions {
  /** Trials whose learning curves are drawn (the most recent with any). */
  curveLimit?: number;
  /** Best trials drawn as cells. */
  cellLimit?: number;
}

function emptyCounts(): Record<TrialState, number> {
  return Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as Record<TrialState, number>;
}

/** The index: every experiment with its trial counts by state and best value. */
export async function listExperimentRows(store: Store): Promise<ExperimentRow[]> {
  const rows: ExperimentRow[] = [];
  for (const e of await store.listExperiments()) {
    const counts = await store.countTrials(e.id);
    const primary = objectivesOf(e.config)[0]!;
    const [best] = await store.bestTrials(e.id, primary.name, primary.direction, 1);
    rows.push({
      name: e.name,
      status: e.status,
      createdAt: new Date(e.createdAt).toISOString(),
      counts,
      total: Object.values(counts).reduce((a, b) => a + b, 0),
      objective: primary.name,
      direction: primary.direction,
      best: best?.metrics?.[primary.name] ?? null,
    });
  }
  return rows;
}

function dimensionViews(space: DefinedSpace | undefined): DimensionView[] | null {
  return space ? space.dimensions().map((d) => ({ label: d.label, kind: d.kind, values: [...d.values] })) : null;
}

function trialRow(t: Trial, space: DefinedSpace | undefined, dimensions: readonly DimensionView[] | null): TrialRow {
  const sample = t.sample as Record<string, Value> | null;
  const choice = (d: DimensionView) => {
    const k = sample![d.label] === undefined ? -1 : d.values.indexOf(sample![d.label]!);
    return k >= 0 ? k : null;
  };
  return {
    ...viewOf(t, space),
    durationMs: t.startedAt !== null && t.finishedAt !== null ? t.finishedAt - t.startedAt : null,
    error: t.error,
    choices: dimensions && sample !== null && typeof sample === 'object' ? dimensions.map(choice) : null,
  };
}

/** One trial with its drawing (for comparing trials side by side); null when the experiment or trial does not exist. */
export async function trialDetail(store: Store, name: string, number: number): Promise<{ trial: TrialRow; svg: string | null } | null> {
  const experiment = await store.getExperiment(name);
  if (!experiment) return null;
  const [t] = await store.listTrials(experiment.id, { offset: number, limit: 1 });
  if (!t || t.number !== number) return null;
  const space = spaceOf(experiment.config);
  return { trial: trialRow(t, space, dimensionViews(space)), svg: space ? drawSample(space, t.sample as unknown as Sample, `#${number}`) : null };
}

/** One experiment as the page shows it; null when the store has no experiment by that name. */
export async function experimentSnapshot(store: Store, name: string, options: SnapshotOptions = {}): Promise<ExperimentView | null> {
  return new ExperimentTracker(store, name, options).refresh();
}

/** A drawing of a sample through the space's kit, null when the space has no picture of it. */
export function drawSample(space: DefinedSpace, sample: Sample, title: string): string | null {
  try {
    if (space.drawingGraphs(sample).length === 0) return null;
    // Inline in a page: without the XML declaration a standalone file has.
    return sampleToSvg(space, sample, { title }).replace(/^<\?xml[^>]*\?>\s*/, '');
  } catch {
    return null;
  }
}

/** Mean and spread of the first objective per choice of each dimension, over complete trials that have it. */
export function choiceImportance(dimensions: readonly DimensionView[], trials: readonly TrialRow[], objective: string): ChoiceStat[] {
  const stats: ChoiceStat[] = [];
  dimensions.forEach((d, k) => {
    const sums = d.values.map(() => ({ n: 0, sum: 0, squares: 0 }));
    for (const t of trials) {
      const v = t.metrics[objective];
      const choice = t.choices?.[k];
      if (t.state !== 'complete' || v === undefined || choice === null || choice === undefined) continue;
      const s = sums[choice]!;
      s.n++;
      s.sum += v;
      s.squares += v * v;
    }
    sums.forEach((s, i) => {
      if (s.n === 0) return;
      const mean = s.sum / s.n;
      stats.push({ label: d.label, value: d.values[i]!, n: s.n, mean, sd: s.n > 1 ? Math.sqrt(Math.max(0, (s.squares - s.n * mean * mean) / (s.n - 1))) : 0 });
    });
  });
  return stats;
}

/** The skip share of a derived cell from which collapseWarnings warns. */
export const SKIP_SHARE_WARNING = 0.25;

/**
 * Known signs that a differentiable search is collapsing, per epoch:
 * - the derived cell's skip share reaches SKIP_SHARE_WARNING (DARTS+ stops
 *   at two skip connections in a normal cell of eight edges, a quarter);
 * - the dominant Hessian eigenvalue grew: its mean over the last `window`
 *   epochs is more than 1/0.75 times the mean over the `window` before
 *   (RobustDARTS' early-stopping rule).
 * Each sign is marked once, at the first epoch it shows.
 */
export function collapseWarnings(history: readonly Record<string, Json>[], window = 5): CollapseWarning[] {
  const warnings: CollapseWarning[] = [];
  const skip = history.find((h) => typeof h['skipFraction'] === 'number' && h['skipFraction'] >= SKIP_SHARE_WARNING);
  if (skip) warnings.push({ epoch: skip['epoch'] as number, reason: `skip share ${Number((skip['skipFraction'] as number).toFixed(3))} >= ${SKIP_SHARE_WARNING}` });
  const eigen = history.filter((h) => typeof h['hessianEigenvalue'] === 'number');
  const mean = (list: readonly Record<string, Json>[]) => list.reduce((a, h) => a + (h['hessianEigenvalue'] as number), 0) / list.length;
  for (let i = 2 * window; i <= eigen.length; i++) {
    const before = mean(eigen.slice(i - 2 * window, i - window));
    const recent = mean(eigen.slice(i - window, i));
    if (before > 0 && before / recent < 0.75) {
      warnings.push({ epoch: eigen[i - 1]!['epoch'] as number, reason: `Hessian eigenvalue grew ${Number((recent / before).toFixed(2))}x over ${window} epochs` });
      break;
    }
  }
  return warnings.sort((a, b) => a.epoch - b.epoch);
}

/** The epochs after the last one seen (-1: none seen yet, all of them). */
const afterEpoch = (last: number) => (last >= 0 ? { afterEpoch: last } : {});

/**
 * Follows one experiment in a store: refresh() re-reads what can have
 * changed and returns the whole view; fingerprint() is the cheap check of
 * whether a refresh is needed.
 */
export class ExperimentTracker {
  /** The experiment followed (a deleted and re-created one of the same name gets a new id). */
  experimentId: number | null = null;
  private space: DefinedSpace | undefined;
  private dimensions: DimensionView[] | null = null;
  private trials: TrialRow[] = [];
  /** Trial number -> sample, for drawing the best cells. */
  private samples: Json[] = [];
  private intermediate = new Map<number, Readonly<Record<string, readonly IntermediateValue[]>>>();
  /** The lowest trial number that was not finished at the last read (trials below never change). */
  private firstOpen = 0;
  private epochs: EpochRow[] = [];
  private operations: Record<string, string[]> = {};
  private lastEpoch = -1;
  private weightSharing: { method: string; phase: string; epochs?: number } | null = null;
  private strategyRead = false;
  private cellSvgs = new Map<number, string | null>();
  private frontKey = '';
  private frontMembers: { number: number; point: number[] }[] = [];
  /** Complete trials already offered to the front (complete trials never change). */
  private frontSeen = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly name: string,
    private readonly options: SnapshotOptions = {},
  ) {}

  /**
   * A string that changes whenever the view can: the experiment's status,
   * the counts by state, running trials' learning curves, and new epoch
   * records (those after the last epoch number seen, so a query that finds
   * nothing costs little). It reads the strategy state (a weight-sharing
   * run's phase) only for experiments that have epochs: a multi-trial
   * strategy's state can be large.
   */
  async fingerprint(): Promise<string> {
    const experiment = await this.store.getExperiment(this.name);
    if (!experiment) return 'missing';
    const counts = await this.store.countTrials(experiment.id);
    const running = await this.store.listTrials(experiment.id, { states: ['running'] });
    const known = experiment.id === this.experimentId ? this.lastEpoch : -1;
    const newer = await this.store.listEpochs(experiment.id, afterEpoch(known));
    const lastEpoch = Math.max(known, ...newer.map((e) => e.epoch));
    const phase = lastEpoch >= 0 || this.weightSharing ? ((await this.store.loadStrategyState(experiment.id))?.state as { phase?: unknown } | undefined)?.phase ?? null : null;
    return JSON.stringify([experiment.id, experiment.status, counts, running.map((t) => [t.number, t.intermediate]), lastEpoch, phase]);
  }

  /** Reads what changed since the last refresh; null when the experiment is not (or no longer) in the store. */
  async refresh(): Promise<ExperimentView | null> {
    const experiment = await this.store.getExperiment(this.name);
    if (!experiment) {
      this.experimentId = null;
      return null;
    }
    if (experiment.id !== this.experimentId) this.reset(experiment.id, experiment.config);
    const objectives = objectivesOf(experiment.config);
    const primary = objectives[0]!;

    for (const t of await this.store.listTrials(experiment.id, { offset: this.firstOpen })) {
      this.trials[t.number] = this.row(t);
      this.samples[t.number] = t.sample;
      if (Object.keys(t.intermediate).length > 0) this.intermediate.set(t.number, t.intermediate);
    }
    const open = this.trials.findIndex((t, i) => i >= this.firstOpen && !isFinished(t.state));
    this.firstOpen = open < 0 ? this.trials.length : open;
    await this.readEpochs(experiment.id);

    const counts = emptyCounts();
    for (const t of this.trials) counts[t.state]++;
    const complete = this.trials.filter((t) => t.state === 'complete' && Number.isFinite(t.metrics[primary.name]));
    const sign = primary.direction === 'max' ? 1 : -1;
    // Best first, ties to the lower number (as Store.bestTrials orders them).
    const ranked = [...complete].sort((a, b) => sign * (b.metrics[primary.name]! - a.metrics[primary.name]!) || a.number - b.number);

    return {
      experiment: { name: experiment.name, status: experiment.status, createdAt: new Date(experiment.createdAt).toISOString() },
      objectives: objectives.map((o) => ({ name: o.name, direction: o.direction })),
      counts,
      total: this.trials.length,
      dimensions: this.dimensions,
      trials: this.trials,
      epochs: this.epochs,
      best: ranked[0]?.number ?? null,
      front: this.front(objectives, complete),
      importance: this.dimensions && complete.length > 0 ? choiceImportance(this.dimensions, complete, primary.name) : null,
      cells: this.cells(ranked.slice(0, this.options.cellLimit ?? 3).map((t) => t.number)),
      curves: this.curves(),
      weightSharing: this.weightSharingView(),
    };
  }

  private reset(experimentId: number, config: Json): void {
    this.experimentId = experimentId;
    this.space = spaceOf(config);
    this.dimensions = dimensionViews(this.space);
    this.trials = [];
    this.samples = [];
    this.intermediate.clear();
    this.firstOpen = 0;
    this.epochs = [];
    this.operations = {};
    this.lastEpoch = -1;
    this.weightSharing = null;
    this.strategyRead = false;
    this.cellSvgs.clear();
    this.frontKey = '';
  }

  private row(t: Trial): TrialRow {
    return trialRow(t, this.space, this.dimensions);
  }

  private async readEpochs(experimentId: number): Promise<void> {
    for (const e of await this.store.listEpochs(experimentId, afterEpoch(this.lastEpoch))) this.addEpoch(e);
    // The phase lives in the strategy state; a multi-trial strategy's may be large, so it is read only while it can matter.
    if (!this.strategyRead || this.weightSharing || this.epochs.length > 0) {
      this.strategyRead = true;
      const saved = (await this.store.loadStrategyState(experimentId))?.state as { method?: unknown; phase?: unknown; epochs?: unknown } | undefined;
      this.weightSharing = typeof saved?.method === 'string' && typeof saved.phase === 'string'
        ? { method: saved.method, phase: saved.phase, ...(typeof saved.epochs === 'number' ? { epochs: saved.epochs } : {}) }
        : null;
    }
  }

  private addEpoch(e: EpochRecord): void {
    const { operations, edgeWeights: _edgeWeights, ...record } = (e.record ?? {}) as Record<string, Json>;
    for (const [label, names] of Object.entries((operations ?? {}) as Record<string, string[]>)) this.operations[label] ??= names;
    const row: EpochRow = { key: `${e.stage}:${e.epoch}`, stage: e.stage, record };
    const at = this.epochs.findIndex((r) => r.key === row.key);
    if (at >= 0) this.epochs[at] = row;
    else this.epochs.push(row);
    this.lastEpoch = Math.max(this.lastEpoch, e.epoch);
  }

  /**
   * The non-dominated complete trials, kept up to date trial by trial: a
   * new point either is dominated by a member (nothing changes) or joins
   * and drops the members it dominates. (A full non-dominated sort of
   * 5,000 trials takes seconds; this is linear in the front per trial.)
   * Rebuilt when the objectives it is taken over change.
   */
  private front(objectives: ReturnType<typeof objectivesOf>, complete: readonly TrialRow[]): ExperimentView['front'] {
    const over = paretoObjectives(objectives, complete.map((t) => ({ metrics: t.metrics }) as Trial));
    if (over.length < 2) return null;
    const key = JSON.stringify(over);
    if (key !== this.frontKey) {
      this.frontKey = key;
      this.frontMembers = [];
      this.frontSeen = new Set();
    }
    const maximize = over.map((o) => o.direction === 'max');
    const point = (t: TrialRow) => over.map((o) => t.metrics[o.name]!);
    for (const t of complete) {
      if (this.frontSeen.has(t.number) || !over.every((o) => Number.isFinite(t.metrics[o.name]))) continue;
      this.frontSeen.add(t.number);
      const p = point(t);
      if (this.frontMembers.some((m) => dominates(m.point, p, maximize))) continue;
      this.frontMembers = this.frontMembers.filter((m) => !dominates(p, m.point, maximize));
      this.frontMembers.push({ number: t.number, point: p });
    }
    if (this.frontMembers.length === 0) return null;
    return { objectives: over.map((o) => ({ name: o.name, direction: o.direction })), numbers: this.frontMembers.map((m) => m.number).sort((a, b) => a - b) };
  }

  private cells(numbers: readonly number[]): ExperimentView['cells'] {
    const out: ExperimentView['cells'] = [];
    for (const number of numbers) {
      if (!this.space) break;
      if (!this.cellSvgs.has(number)) this.cellSvgs.set(number, drawSample(this.space, this.samples[number] as unknown as Sample, `#${number}`));
      const svg = this.cellSvgs.get(number);
      if (svg) out.push({ number, svg });
    }
    return out;
  }

  private curves(): ExperimentView['curves'] {
    const numbers = [...this.intermediate.keys()].sort((a, b) => a - b).slice(-(this.options.curveLimit ?? 8));
    if (numbers.length === 0) return null;
    const metric = Object.keys(this.intermediate.get(numbers[numbers.length - 1]!)!)[0]!;
    const trials = numbers
      .filter((n) => (this.intermediate.get(n)![metric]?.length ?? 0) > 0)
      .map((n) => ({ number: n, points: this.intermediate.get(n)![metric]!.map((p) => [p.step, p.value] as [number, number]) }));
    return { metric, trials };
  }

  private weightSharingView(): ExperimentView['weightSharing'] {
    if (!this.weightSharing) return null;
    const records = this.epochs.map((e) => e.record);
    const last = [...records].reverse().find((r) => typeof r['arch'] === 'string');
    const derivedArch = (last?.['arch'] as string | undefined) ?? null;
    let derivedCell: string | null = null;
    if (derivedArch !== null && this.space) {
      try {
        derivedCell = drawSample(this.space, this.space.parseArch(derivedArch), `derived after epoch ${last!['epoch']}`);
      } catch {
        derivedCell = null;
      }
    }
    return {
      method: this.weightSharing.method,
      phase: this.weightSharing.phase,
      epochsDone: records.length,
      epochs: this.weightSharing.epochs ?? records.length,
      operations: this.operations,
      derivedCell,
      derivedArch,
      collapse: collapseWarnings(records),
    };
  }
}

/** Keyed lists: an update carries only their new or changed rows. */
const KEYED: Partial<Record<keyof ExperimentView, (row: never) => string | number>> = {
  trials: (row: TrialRow) => row.number,
  epochs: (row: EpochRow) => row.key,
};

/**
 * Turns successive views into updates: the rows of trials and epochs that
 * are new or changed, and every other field whose JSON changed, since the
 * last view given. The first update is the whole view.
 */
export class ViewDiffer {
  /** Field or row id -> what was sent: the row object (the tracker keeps unchanged rows as they are) and its JSON. */
  private readonly sent = new Map<string, { value: unknown; json: string }>();

  /** Null when nothing changed. */
  diff(next: ExperimentView): ExperimentDelta | null {
    const delta: Record<string, unknown> = {};
    // Rows are compared by identity first: the tracker keeps the objects of trials it did not re-read.
    const changed = (id: string, value: unknown, isRow: boolean): boolean => {
      const last = this.sent.get(id);
      if (isRow && last?.value === value) return false;
      const json = JSON.stringify(value);
      this.sent.set(id, { value, json });
      return last?.json !== json;
    };
    for (const key of Object.keys(next) as (keyof ExperimentView)[]) {
      const keyOf = KEYED[key] as ((row: unknown) => string | number) | undefined;
      if (keyOf) {
        const rows = (next[key] as unknown[]).filter((row) => changed(`${key}#${keyOf(row)}`, row, true));
        if (rows.length > 0 || !this.sent.has(key)) delta[key] = rows;
        this.sent.set(key, { value: null, json: '' });
      } else if (changed(key, next[key], false)) {
        delta[key] = next[key];
      }
    }
    return Object.keys(delta).length > 0 ? (delta as ExperimentDelta) : null;
  }
}
