// What the dashboard shows, as JSON: the store's experiments (index page) and
// one experiment's live snapshot (counts, best trial, charts, trials table).
// The charts are server-rendered SVG from src/report/charts.ts; everything
// else is plain data that the page's script writes with textContent.
import { objectivesOf, paretoIndices, paretoObjectives, spaceOf, viewOf, weightSharingOf } from '../experiment/summary.js';
import { bestSoFar, lineChart, scatterChart } from '../report/charts.js';
import { learningCurves } from '../report/html.js';
import { weightSharingSections } from '../experiment/report.js';
import { escapeXml } from '../viz/svg.js';
import type { Direction, Store, Trial, TrialState } from '../store/types.js';
import { TRIAL_STATES } from '../store/types.js';

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
}

export interface ExperimentSnapshot {
  experiment: { name: string; status: string; createdAt: string };
  objectives: { name: string; direction: Direction }[];
  counts: Record<TrialState, number>;
  total: number;
  best: TrialRow | null;
  /** The most recent trials, newest first (at most `trialLimit`). */
  trials: TrialRow[];
  /** SVG fragments (trusted: built and escaped by src/report/charts.ts), null when there is nothing to draw. */
  charts: { bestSoFar: string | null; pareto: string | null; curves: string | null };
  /** Weight-sharing experiments: the run's phase, and its curves, α heatmaps and derived cells as trusted HTML (as in the report). */
  weightSharing: { method: string; phase: string; epochsDone: number; epochs: number; html: string } | null;
}

export interface SnapshotOptions {
  /** Rows of the trials table (newest first). */
  trialLimit?: number;
  /** Trials whose learning curves are drawn (the most recent with any). */
  curveLimit?: number;
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

/** One experiment as the page shows it; null when the store has no experiment by that name. */
export async function experimentSnapshot(store: Store, name: string, options: SnapshotOptions = {}): Promise<ExperimentSnapshot | null> {
  const experiment = await store.getExperiment(name);
  if (!experiment) return null;
  const objectives = objectivesOf(experiment.config);
  const primary = objectives[0]!;
  const space = spaceOf(experiment.config);
  // One read of all trials, so counts, best, table and charts agree with each other.
  const trials = await store.listTrials(experiment.id);
  const counts = emptyCounts();
  for (const t of trials) counts[t.state]++;
  const row = (t: Trial): TrialRow => ({
    ...viewOf(t, space),
    durationMs: t.startedAt !== null && t.finishedAt !== null ? t.finishedAt - t.startedAt : null,
    error: t.error,
  });

  const complete = trials.filter((t) => t.state === 'complete' && Number.isFinite(t.metrics?.[primary.name]));
  const sign = primary.direction === 'max' ? 1 : -1;
  // Best first, ties to the lower number (as Store.bestTrials orders them).
  const best = complete.reduce<Trial | null>((b, t) => (b === null || sign * (t.metrics![primary.name]! - b.metrics![primary.name]!) > 0 ? t : b), null);

  const charts: ExperimentSnapshot['charts'] = { bestSoFar: null, pareto: null, curves: null };
  if (complete.length > 0) {
    const values = complete.map((t) => [t.number + 1, t.metrics![primary.name]!] as [number, number]);
    charts.bestSoFar = lineChart([{ name: `best ${primary.name}`, points: bestSoFar(values, primary.direction === 'max'), step: true }], {
      title: `best ${primary.name} so far`, xLabel: 'trial', yLabel: primary.name,
    });
    const frontObjectives = paretoObjectives(objectives, complete);
    if (frontObjectives.length >= 2) {
      const [a, b] = frontObjectives as [typeof primary, typeof primary];
      const usable = complete.filter((t) => Number.isFinite(t.metrics?.[b.name]));
      const points = usable.map((t) => ({ x: t.metrics![b.name]!, y: t.metrics![a.name]!, label: `#${t.number} ${viewOf(t, space).arch}` }));
      const front = paretoIndices(usable.map((t) => [t.metrics![a.name]!, t.metrics![b.name]!]), [a.direction === 'max', b.direction === 'max']).map((i) => points[i]!);
      if (points.length > 0) {
        charts.pareto = scatterChart(points, front, { title: `${a.name} against ${b.name} (Pareto front in red)`, xLabel: b.name, yLabel: a.name, logX: b.name === 'params' || b.name === 'flops' });
      }
    }
  }
  const withCurves = trials.filter((t) => Object.keys(t.intermediate).length > 0);
  if (withCurves.length > 0) {
    const recent = withCurves.slice(-(options.curveLimit ?? 8));
    const metric = Object.keys(recent[recent.length - 1]!.intermediate)[0]!;
    charts.curves = learningCurves(recent, metric, `learning curves of recent trials (${metric})`) ?? null;
  }

  return {
    experiment: { name: experiment.name, status: experiment.status, createdAt: new Date(experiment.createdAt).toISOString() },
    objectives: objectives.map((o) => ({ name: o.name, direction: o.direction })),
    counts,
    total: trials.length,
    best: best ? row(best) : null,
    trials: trials.slice(-(options.trialLimit ?? 200)).reverse().map(row),
    charts,
    weightSharing: await weightSharingView(store, experiment.id),
  };
}

async function weightSharingView(store: Store, experimentId: number): Promise<ExperimentSnapshot['weightSharing']> {
  const { weightSharing: w } = await weightSharingOf(store, experimentId);
  if (!w) return null;
  const html = weightSharingSections(w, w.method).map((s) => `<h3>${escapeXml(s.title)}</h3>${s.html}`).join('\n');
  return { method: w.method, phase: w.phase, epochsDone: w.epochsDone, epochs: w.epochs, html };
}

/**
 * A cheap string that changes whenever the snapshot can: the experiment's
 * status, the trial counts by state (creation, claiming, finishing,
 * requeueing), the learning curves of running trials, and a weight-sharing
 * run's epochs and phase. Finished trials
 * never change (see Store), so nothing else needs reading.
 */
export async function experimentFingerprint(store: Store, name: string): Promise<string> {
  const experiment = await store.getExperiment(name);
  if (!experiment) return 'missing';
  const counts = await store.countTrials(experiment.id);
  const running = await store.listTrials(experiment.id, { states: ['running'] });
  // Weight-sharing runs: a new epoch or phase (the strategy state holds the phase).
  const epochs = (await store.listEpochs(experiment.id)).length;
  const phase = ((await store.loadStrategyState(experiment.id))?.state as { phase?: unknown } | undefined)?.phase ?? null;
  return JSON.stringify([experiment.id, experiment.status, counts, running.map((t) => [t.number, t.intermediate]), epochs, phase]);
}
