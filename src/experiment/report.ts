// An experiment's report.html (`tsnas report NAME`, and the rungs of the
// main job's report): best-so-far curve, objective scatter with the Pareto
// front, learning curves, a weight-sharing run's supernet curves and α
// heatmaps and lines, every other per-epoch series the run records (e.g.
// GDAS's τ), each zero-cost proxy against accuracy, drawn cells of the top
// trials; and a comparison of several experiments (accuracy found against
// search cost).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PROXY_METRICS } from '../estimators/metrics.js';
import type { Sample } from '../spaces/types.js';
import type { Store, Trial } from '../store/types.js';
import { spearman } from '../util/stats.js';
import { bestSoFar, heatmap, lineChart, scatterChart, type Series } from '../report/charts.js';
import { formatValue, learningCurves, renderReport, table, writeFigures, writeHtml, type Section } from '../report/html.js';
import { sampleToSvg } from '../viz/index.js';
import { escapeXml } from '../viz/svg.js';
import { objectivesOf, paretoIndices, paretoObjectives, requireExperiment, spaceOf, summarizeExperiment, viewOf, type WeightSharingSummary } from './summary.js';

/** The report sections of one experiment. */
export async function experimentSections(store: Store, name: string, options: { top?: number; label?: string } = {}): Promise<Section[]> {
  const experiment = await requireExperiment(store, name);
  const objectives = objectivesOf(experiment.config);
  const primary = objectives[0]!;
  const space = spaceOf(experiment.config);
  const trials = await store.listTrials(experiment.id);
  const complete = trials.filter((t) => t.state === 'complete' && Number.isFinite(t.metrics?.[primary.name]));
  const label = options.label ?? name;
  const sections: Section[] = [];
  const summary = await summarizeExperiment(store, name, { top: options.top ?? 5 });

  const counts = Object.entries(summary.counts).map(([k, v]) => `${k} ${v}`).join(', ');
  sections.push({
    title: `${label}: overview`,
    html: `<p>${escapeXml(`${summary.total} trials (${counts}); space ${summary.space}, strategy ${summary.strategy}, estimator ${summary.estimator}.`)}</p>` +
      table(['#', ...Object.keys(summary.best[0]?.metrics ?? {}), 'architecture'], summary.best.map((t) => [t.number, ...Object.keys(summary.best[0]!.metrics).map((m) => t.metrics[m]), t.arch])),
  });

  const charts: string[] = [];
  // A weight-sharing run has one trial: its supernet sections below say more than trial charts.
  if (complete.length > 0 && !summary.weightSharing) {
    const values = complete.map((t) => [t.number + 1, t.metrics![primary.name]!] as [number, number]);
    charts.push(lineChart([{ name: `best ${primary.name}`, points: bestSoFar(values, primary.direction === 'max'), step: true }], {
      title: `${label}: best ${primary.name} so far`, xLabel: 'trial', yLabel: primary.name,
    }));
    const frontObjectives = paretoObjectives(objectives, complete);
    if (frontObjectives.length >= 2) {
      const [a, b] = frontObjectives as [typeof primary, typeof primary];
      const usable = complete.filter((t) => Number.isFinite(t.metrics?.[b.name]));
      const pts = usable.map((t) => ({ x: t.metrics![b.name]!, y: t.metrics![a.name]!, label: `#${t.number} ${viewOf(t, space).arch}` }));
      const front = paretoIndices(usable.map((t) => [t.metrics![a.name]!, t.metrics![b.name]!]), [a.direction === 'max', b.direction === 'max']).map((i) => pts[i]!);
      charts.push(scatterChart(pts, front, { title: `${label}: ${a.name} against ${b.name}`, xLabel: b.name, yLabel: a.name, logX: b.name === 'params' || b.name === 'flops' }));
    }
  }
  charts.push(...proxyCharts(complete, label));
  const withCurves = trials.filter((t) => Object.keys(t.intermediate).length > 0);
  if (withCurves.length > 0) {
    const metric = Object.keys(withCurves[0]!.intermediate)[0]!;
    const best = [...withCurves].sort((x, y) => (y.metrics?.[primary.name] ?? -Infinity) - (x.metrics?.[primary.name] ?? -Infinity)).slice(0, 8);
    const chart = learningCurves(best, metric, `${label}: learning curves (${metric})`);
    if (chart) charts.push(chart);
  }
  if (charts.length > 0) sections.push({ title: `${label}: charts`, html: `<div class="charts">${charts.join('\n')}</div>` });

  if (summary.weightSharing) sections.push(...weightSharingSections(summary.weightSharing, label));

  if (space && summary.best.length > 0) {
    const bestTrials = await store.bestTrials(experiment.id, primary.name, primary.direction, Math.min(3, options.top ?? 3));
    const cells = bestTrials.map((t) => {
      let svg: string;
      try {
        svg = sampleToSvg(space, t.sample as unknown as Sample, { title: `#${t.number}` });
      } catch (e) {
        svg = `<code>${escapeXml(String(e))}</code>`;
      }
      return `<div class="cell">${svg}<br>#${t.number}: ${escapeXml(primary.name)} ${escapeXml(formatValue(t.metrics?.[primary.name]))}<br><code>${escapeXml(viewOf(t, space).arch)}</code></div>`;
    });
    sections.push({ title: `${label}: top architectures`, html: cells.join('\n') });
  }
  return sections;
}

/** A weight-sharing run: its per-epoch curves and the α of each edge over the epochs. */
export function weightSharingSections(w: WeightSharingSummary, label: string): Section[] {
  const series = (key: string, name = key): Series | null => {
    const points = w.history.filter((h) => typeof h[key] === 'number').map((h) => [h['epoch'] as number, h[key] as number] as [number, number]);
    return points.length > 0 ? { name, points } : null;
  };
  const chart = (title: string, yLabel: string, list: (Series | null)[]) => {
    const present = list.filter((s): s is Series => s !== null);
    return present.length > 0 ? lineChart(present, { title: `${label}: ${title}`, xLabel: 'epoch', yLabel }) : '';
  };
  const charts = [
    chart('supernet accuracy', 'accuracy', [series('trainAccuracy', 'train'), series('validAccuracy', 'valid')]),
    chart('supernet loss', 'loss', [series('trainLoss', 'train'), series('validLoss', 'valid')]),
    chart('derived cell: skip and none shares', 'share', [series('skipFraction', 'skip'), series('noneFraction', 'none'), series('parameterFreeFraction', 'parameter-free')]),
    chart('dominant Hessian eigenvalue of the validation loss w.r.t. α', 'λmax', [series('hessianEigenvalue', 'λmax')]),
  ].filter((c) => c !== '');
  charts.push(...otherSeriesCharts(w.history, label));
  const intro = `<p>${escapeXml(`${w.method}: ${w.phase}, ${w.epochsDone}/${w.epochs} supernet epochs.`)}</p>`;
  const sections: Section[] = [{ title: `${label}: supernet training`, html: `${intro}<div class="charts">${charts.join('\n')}</div>` }];
  const edges = Object.entries(w.alpha);
  if (edges.length > 0) {
    const maps = edges.map(([edge, a]) => heatmap(a.operations, a.epochs, a.weights, { title: `α of ${edge} (softmax)`, xLabel: 'epoch' }));
    sections.push({ title: `${label}: architecture weights per edge`, html: `<div class="charts">${maps.join('\n')}</div>` });
    // The same weights as lines: how fast each operation wins or loses (e.g. under FairNAS's variance penalty).
    const lines = edges.map(([edge, a]) => lineChart(a.operations.map((op, k) => ({ name: op, points: a.epochs.map((e, i) => [e, a.weights[i]?.[k] ?? NaN] as [number, number]) })), {
      title: `${label}: α of ${edge}`, xLabel: 'epoch', yLabel: 'softmax(α)', width: 420, height: 260,
    }));
    sections.push({ title: `${label}: architecture weights per edge over the epochs`, html: `<div class="charts">${lines.join('\n')}</div>` });
  }
  const derived = w.history.filter((h) => typeof h['arch'] === 'string');
  if (derived.length > 0) sections.push({ title: `${label}: derived cell per epoch`, html: table(['epoch', 'phase', 'architecture'], derived.map((h) => [h['epoch'] as number, h['phase'] as string, h['arch'] as string])) });
  return sections;
}

/** Per-epoch record fields drawn by the fixed charts above (or not series at all). */
const CHARTED = new Set(['epoch', 'seconds', 'trainAccuracy', 'validAccuracy', 'trainLoss', 'validLoss', 'skipFraction', 'noneFraction', 'parameterFreeFraction', 'hessianEigenvalue']);
/** Axis names of record fields that have a usual symbol. */
const FIELD_LABELS: Record<string, string> = { tau: 'temperature τ', lr: 'learning rate', expectedCost: 'expected cost' };

/**
 * One line chart per other numeric field of the epoch records, and per
 * numeric field of their `extra`: what a method records (GDAS's τ, a cost
 * term, OFA's sub-network accuracies) is drawn without the report knowing
 * the method.
 */
export function otherSeriesCharts(history: readonly Record<string, unknown>[], label: string): string[] {
  const columns = new Map<string, [number, number][]>();
  for (const h of history) {
    const epoch = h['epoch'];
    if (typeof epoch !== 'number') continue;
    const extra = h['extra'] && typeof h['extra'] === 'object' ? (h['extra'] as Record<string, unknown>) : {};
    const fields = [...Object.entries(h).filter(([k]) => !CHARTED.has(k)), ...Object.entries(extra).map(([k, v]) => [`extra.${k}`, v] as const)];
    for (const [key, v] of fields) {
      if (typeof v === 'number' && Number.isFinite(v)) (columns.get(key) ?? columns.set(key, []).get(key)!).push([epoch, v]);
    }
  }
  return [...columns.entries()]
    // A value that never changes (e.g. a constant learning rate) says nothing over the epochs.
    .filter(([, points]) => points.length > 1 && points.some(([, v]) => v !== points[0]![1]))
    .map(([key, points]) => {
      const name = FIELD_LABELS[key] ?? key;
      return lineChart([{ name, points }], { title: `${label}: ${name} over the epochs`, xLabel: 'epoch', yLabel: name });
    });
}

/** Each zero-cost proxy the trials were scored with, against their accuracy (the benchmark's or trained), with Spearman's ρ. */
export function proxyCharts(complete: readonly Trial[], label: string, accuracy = 'accuracy'): string[] {
  const charts: string[] = [];
  for (const proxy of Object.keys(PROXY_METRICS)) {
    const both = complete.filter((t) => Number.isFinite(t.metrics?.[proxy]) && Number.isFinite(t.metrics?.[accuracy]));
    if (both.length < 3) continue;
    const xs = both.map((t) => t.metrics![proxy]!);
    const ys = both.map((t) => t.metrics![accuracy]!);
    const rho = spearman(xs, ys);
    // Scores spanning decades (synflow) read better on a log axis.
    const positive = xs.every((x) => x > 0);
    const logX = positive && Math.max(...xs) / Math.min(...xs) > 100;
    const points = both.map((t, i) => ({ x: xs[i]!, y: ys[i]!, label: `#${t.number}: ${proxy} ${xs[i]!.toPrecision(4)}, ${accuracy} ${ys[i]!.toPrecision(4)}` }));
    charts.push(scatterChart(points, [], {
      title: `${label}: ${proxy} against ${accuracy} (Spearman ρ ${Number.isFinite(rho) ? rho.toFixed(3) : '-'}, n ${both.length})`, xLabel: proxy, yLabel: accuracy, logX,
    }));
  }
  return charts;
}

/**
 * What an experiment spent: each trial's training seconds (its run time
 * when it has none) after the supernet epochs' seconds, as running
 * (cost, best primary metric) points.
 */
async function costCurve(store: Store, name: string): Promise<{ points: [number, number][]; objective: string } | null> {
  const experiment = await requireExperiment(store, name);
  const primary = objectivesOf(experiment.config)[0]!;
  const epochs = await store.listEpochs(experiment.id);
  let cost = epochs.reduce((sum, e) => sum + (typeof (e.record as { seconds?: unknown }).seconds === 'number' ? (e.record as { seconds: number }).seconds : 0), 0);
  const trials = (await store.listTrials(experiment.id, { states: ['complete'] })).sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
  const values: [number, number][] = [];
  for (const t of trials) {
    const run = t.startedAt !== null && t.finishedAt !== null ? (t.finishedAt - t.startedAt) / 1000 : 0;
    cost += t.metrics?.['train_seconds'] ?? run;
    const v = t.metrics?.[primary.name];
    if (Number.isFinite(v)) values.push([cost, v!]);
  }
  return values.length > 0 ? { points: bestSoFar(values, primary.direction === 'max'), objective: primary.name } : null;
}

/** Several experiments on one page: their best metric against search cost, then each one's own sections. */
export async function comparisonSections(store: Store, names: readonly string[]): Promise<Section[]> {
  const series: Series[] = [];
  const rows: (string | number)[][] = [];
  let objective = 'accuracy';
  for (const name of names) {
    const curve = await costCurve(store, name);
    if (!curve) continue;
    objective = curve.objective;
    series.push({ name, points: curve.points, step: true });
    const [cost, best] = curve.points.at(-1)!;
    rows.push([name, best, cost]);
  }
  const sections: Section[] = [];
  if (series.length > 0) {
    // Costs can be zero (a table lookup): keep the axis linear then.
    const logX = series.every((s) => s.points.every(([x]) => x > 0));
    const chart = lineChart(series, { title: `best ${objective} found against search cost`, xLabel: 'search cost (seconds)', yLabel: objective, logX });
    sections.push({ title: 'method comparison', html: `<div class="charts">${chart}</div>${table(['experiment', `best ${objective}`, 'search cost (s)'], rows)}` });
  }
  for (const name of names) sections.push(...(await experimentSections(store, name)));
  return sections;
}

/**
 * Where a report goes: createDirectory makes path's directory (tsnas's own
 * runs/NAME), where names path in errors, figuresDir also gets each chart as
 * an SVG file.
 */
export interface ReportOutput {
  createDirectory?: boolean;
  where?: string;
  figuresDir?: string;
}

function writeReport(path: string, title: string, intro: string[], sections: Section[], o: ReportOutput): void {
  if (o.createDirectory) mkdirSync(dirname(path), { recursive: true });
  writeHtml(path, renderReport(title, intro, sections), o.where);
  if (o.figuresDir !== undefined) writeFigures(o.figuresDir, sections);
}

/** `tsnas report --compare a,b,c`: one report.html comparing the experiments. */
export async function writeComparisonReport(store: Store, names: readonly string[], path: string, o: ReportOutput = {}): Promise<void> {
  const intro = [`Experiments ${names.join(', ')}: search cost is the supernet epochs' seconds plus each complete trial's training seconds (its run time when it reports none).`];
  writeReport(path, `tsnas report: ${names.join(' vs ')}`, intro, await comparisonSections(store, names), o);
}

/** `tsnas report NAME`: the experiment's report.html. */
export async function writeExperimentReport(store: Store, name: string, path: string, o: ReportOutput = {}): Promise<void> {
  const summary = await summarizeExperiment(store, name);
  const intro = [
    `Experiment ${name} (${summary.status}), created ${summary.createdAt}.`,
    summary.bestArchitecture ? `Best architecture: ${summary.bestArchitecture.arch}` : 'No complete trial yet.',
  ];
  writeReport(path, `tsnas report: ${name}`, intro, await experimentSections(store, name), o);
}
