// report.html: one self-contained page (inline SVG, inline CSS, no scripts,
// nothing fetched) with an experiment's best-so-far curve, objective scatter
// with the Pareto front, learning curves and drawn cells of the top trials.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Sample } from '../spaces/types.js';
import type { Store, Trial } from '../store/types.js';
import { objectivesOf, paretoIndices, paretoObjectives, requireExperiment, spaceOf, summarizeExperiment, viewOf } from '../experiment/summary.js';
import { sampleToSvg } from '../viz/index.js';
import { escapeXml } from '../viz/svg.js';
import { bestSoFar, heatmap, lineChart, scatterChart, type Series } from './charts.js';
import type { WeightSharingSummary } from '../experiment/summary.js';

export interface Section {
  title: string;
  /** Trusted HTML (charts, tables built here). */
  html: string;
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : Math.abs(v) >= 1e4 ? v.toExponential(3) : String(Number(v.toPrecision(5))));

export function table(headers: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  const cell = (v: string | number | undefined) => `<td>${escapeXml(typeof v === 'number' ? fmt(v) : v ?? '-')}</td>`;
  return `<table><thead><tr>${headers.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

export function renderReport(title: string, intro: string[], sections: readonly Section[]): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.charts{display:flex;flex-wrap:wrap;gap:16px}table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}code{font-size:12px}
.cell{display:inline-block;margin:8px;vertical-align:top;text-align:center;font-size:12px}</style></head>
<body><h1>${escapeXml(title)}</h1>
${intro.map((l) => `<p>${escapeXml(l)}</p>`).join('\n')}
${sections.map((s) => `<h2>${escapeXml(s.title)}</h2>\n${s.html}`).join('\n')}
<p style="color:#888;font-size:12px">Written by tsnas on ${new Date().toISOString()}.</p>
</body></html>
`;
}

/** Learning curves of the given trials (every intermediate metric, one series per trial). */
export function learningCurves(trials: readonly Trial[], metric: string, title: string): string | undefined {
  const series: Series[] = trials
    .filter((t) => (t.intermediate[metric]?.length ?? 0) > 0)
    .map((t) => ({ name: `#${t.number}`, points: t.intermediate[metric]!.map((p) => [p.step, p.value] as [number, number]) }));
  if (series.length === 0) return undefined;
  return lineChart(series, { title, xLabel: 'step (epoch)', yLabel: metric });
}

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
      return `<div class="cell">${svg}<br>#${t.number}: ${escapeXml(primary.name)} ${escapeXml(fmt(t.metrics?.[primary.name]))}<br><code>${escapeXml(viewOf(t, space).arch)}</code></div>`;
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

export function writeHtml(path: string, html: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
}

/** `tsnas report NAME`: the experiment's report.html. */
export async function writeExperimentReport(store: Store, name: string, path: string): Promise<void> {
  const summary = await summarizeExperiment(store, name);
  const intro = [
    `Experiment ${name} (${summary.status}), created ${summary.createdAt}.`,
    summary.bestArchitecture ? `Best architecture: ${summary.bestArchitecture.arch}` : 'No complete trial yet.',
  ];
  writeHtml(path, renderReport(`tsnas report: ${name}`, intro, await experimentSections(store, name)));
}
