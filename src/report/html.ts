// HTML reports: one self-contained page (inline SVG, inline CSS, no
// scripts, nothing fetched) of titled sections. What an experiment's report
// shows is in src/experiment/report.ts (this layer sits below experiments).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Trial } from '../store/types.js';
import { writeFileAtomic } from '../util/files.js';
import { escapeXml } from '../viz/svg.js';
import { lineChart, type Series } from './charts.js';

export interface Section {
  title: string;
  /** Trusted HTML (charts, tables built here). */
  html: string;
}

/** A metric value for a table: 5 significant digits, exponent form from 1e4 on. */
export const formatValue = (v: number | undefined) => (v === undefined ? '-' : Math.abs(v) >= 1e4 ? v.toExponential(3) : String(Number(v.toPrecision(5))));

export function table(headers: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  const cell = (v: string | number | undefined) => `<td>${escapeXml(typeof v === 'number' ? formatValue(v) : v ?? '-')}</td>`;
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

/**
 * Each SVG chart of the sections as its own file in dir, named by its
 * order and title (e.g. 03-gdas-temperature-over-the-epochs.svg); returns
 * the paths. The inline SVG is standalone (xmlns, no external parts).
 */
export function writeFigures(dir: string, sections: readonly Section[]): string[] {
  mkdirSync(dir, { recursive: true });
  const svgs = sections.flatMap((s) => (s.html.match(/<svg[\s\S]*?<\/svg>/g) ?? []).map((svg) => ({ svg, section: s.title })));
  const width = String(svgs.length).length;
  return svgs.map(({ svg, section }, i) => {
    const title = /font-weight="bold">([^<]+)</.exec(svg)?.[1] ?? section;
    const slug = title.replace(/&[a-z]+;/g, ' ').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'figure';
    const path = join(dir, `${String(i + 1).padStart(Math.max(2, width), '0')}-${slug}.svg`);
    writeFileSync(path, svg);
    return path;
  });
}

/** Writes a page atomically; its directory must exist. */
export function writeHtml(path: string, html: string, where = path): void {
  writeFileAtomic(path, html, where);
}
