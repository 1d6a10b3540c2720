// An experiment's report.html (`tsnas report NAME`, and the rungs of the
// main job's report): best-so-far curve, objective scatter with the Pareto
// front, learning curves, a weight-sharing run's supernet curves and α
// heatmaps, and drawn cells of the top trials.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Sample } from '../spaces/types.js';
import type { Store } from '../store/types.js';
import { bestSoFar, heatmap, lineChart, scatterChart, type Series } from '../report/charts.js';
import { formatValue, learningCurves, renderReport, table, writeHtml, type Section } from '../report/html.js';
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
    chart('GDAS temperature', 'τ', [series('tau', 'τ')]),
  ].filter((c) => c !== '');
  const intro = `<p>${escapeXml(`${w.method}: ${w.phase}, ${w.epochsDone}/${w.epochs} supernet epochs.`)}</p>`;
  const sections: Section[] = [{ title: `${label}: supernet training`, html: `${intro}<div class="charts">${charts.join('\n')}</div>` }];
  const edges = Object.entries(w.alpha);
  if (edges.length > 0) {
    const maps = edges.map(([edge, a]) => heatmap(a.operations, a.epochs, a.weights, { title: `α of ${edge} (softmax)`, xLabel: 'epoch' }));
    sections.push({ title: `${label}: architecture weights per edge`, html: `<div class="charts">${maps.join('\n')}</div>` });
  }
  const derived = w.history.filter((h) => typeof h['arch'] === 'string');
  if (derived.length > 0) sections.push({ title: `${label}: derived cell per epoch`, html: table(['epoch', 'phase', 'architecture'], derived.map((h) => [h['epoch'] as number, h['phase'] as string, h['arch'] as string])) });
  return sections;
}

/** `tsnas report NAME`: the experiment's report.html; createDirectory makes path's directory (tsnas's own runs/NAME), where names path in errors. */
export async function writeExperimentReport(store: Store, name: string, path: string, o: { createDirectory?: boolean; where?: string } = {}): Promise<void> {
  const summary = await summarizeExperiment(store, name);
  const intro = [
    `Experiment ${name} (${summary.status}), created ${summary.createdAt}.`,
    summary.bestArchitecture ? `Best architecture: ${summary.bestArchitecture.arch}` : 'No complete trial yet.',
  ];
  const html = renderReport(`tsnas report: ${name}`, intro, await experimentSections(store, name));
  if (o.createDirectory) mkdirSync(dirname(path), { recursive: true });
  writeHtml(path, html, o.where);
}
