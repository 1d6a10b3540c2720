// Static SVG charts drawn in TypeScript: line charts (best-so-far curves,
// learning curves), scatter plots with a Pareto front, heatmaps, parallel
// coordinates and mean-with-spread rows. No scripts, no fonts or files
// fetched: the SVG text is the whole chart.
//
// The live dashboard serves this module (and viz/svg.js) to the browser,
// which draws the same charts from the rows it holds: import nothing here
// but pure code (no Node modules).
import { escapeXml } from '../viz/svg.js';

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Draw as a step curve (best-so-far). */
  step?: boolean;
}

export interface ScatterPoint {
  x: number;
  y: number;
  /** Tooltip text. */
  label?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  logX?: boolean;
  /** Vertical markers at these x values (e.g. epochs with a warning), drawn dashed in red with their label. */
  marks?: readonly { x: number; label: string }[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const MARGIN = { left: 64, right: 16, top: 32, bottom: 44 };

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/**
 * Ticks of a log10 axis, given in log units: the decades inside, or 1-2-5
 * steps when fewer than two decades fall inside, or else the linear ticks
 * of the span (so that a range within one decade still gets labels).
 */
export function logTicks(lo: number, hi: number): number[] {
  const decades = niceTicks(lo, hi).filter((t) => Number.isInteger(t));
  if (decades.length >= 2) return decades;
  const steps: number[] = [];
  for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) for (const m of [1, 2, 5]) steps.push(d + Math.log10(m));
  const inside = steps.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
  return inside.length >= 2 ? inside : niceTicks(10 ** lo, 10 ** hi).filter((v) => v > 0).map((v) => Math.log10(v));
}

const tickText = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4))));

class Frame {
  readonly w: number;
  readonly h: number;
  readonly parts: string[] = [];
  private readonly xMap: (v: number) => number;
  private readonly yMap: (v: number) => number;

  constructor(readonly o: ChartOptions, xs: number[], ys: number[]) {
    this.w = o.width ?? 560;
    this.h = o.height ?? 320;
    const tx = (v: number) => (o.logX ? Math.log10(Math.max(v, 1e-12)) : v);
    let [x0, x1] = extent(xs.map(tx));
    let [y0, y1] = extent(ys);
    if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
    if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
    const padY = (y1 - y0) * 0.05;
    y0 -= padY;
    y1 += padY;
    const pw = this.w - MARGIN.left - MARGIN.right;
    const ph = this.h - MARGIN.top - MARGIN.bottom;
    this.xMap = (v) => MARGIN.left + ((tx(v) - x0) / (x1 - x0)) * pw;
    this.yMap = (v) => MARGIN.top + (1 - (v - y0) / (y1 - y0)) * ph;
    const axis = '#444';
    this.parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}" fill="#fff" stroke="${axis}"/>`);
    for (const t of niceTicks(y0, y1)) {
      const y = this.yMap(t).toFixed(1);
      this.parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      this.parts.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${tickText(t)}</text>`);
    }
    const xTicks = o.logX ? logTicks(x0, x1).map((t) => Number((10 ** t).toPrecision(6))) : niceTicks(x0, x1);
    for (const t of xTicks) {
      const x = this.xMap(t).toFixed(1);
      this.parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + ph}" y2="${MARGIN.top + ph + 4}" stroke="${axis}"/>`);
      this.parts.push(`<text x="${x}" y="${MARGIN.top + ph + 16}" text-anchor="middle" font-size="11">${tickText(t)}</text>`);
    }
    this.parts.push(`<text x="${this.w / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`);
    this.parts.push(`<text x="${MARGIN.left + pw / 2}" y="${this.h - 8}" text-anchor="middle" font-size="12">${escapeXml(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
    this.parts.push(`<text transform="translate(14 ${MARGIN.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(o.yLabel)}</text>`);
    (o.marks ?? []).forEach((m, i) => {
      const x = this.xMap(m.x).toFixed(1);
      // Labels step down so that marks close together stay readable.
      this.parts.push(`<g class="mark"><line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + ph}" stroke="#d62728" stroke-dasharray="4 3"/><text x="${x}" y="${MARGIN.top + 12 + 12 * i}" dx="3" font-size="10" fill="#d62728" stroke="#fff" stroke-width="2.5" paint-order="stroke">${escapeXml(m.label)}</text><title>${escapeXml(m.label)}</title></g>`);
    });
  }

  x(v: number): string {
    return this.xMap(v).toFixed(1);
  }
  y(v: number): string {
    return this.yMap(v).toFixed(1);
  }

  legend(entries: { name: string; color: string }[]): void {
    entries.slice(0, 10).forEach((e, i) => {
      const y = MARGIN.top + 10 + i * 14;
      const x = this.w - MARGIN.right - 150;
      this.parts.push(`<rect x="${x}" y="${y - 5}" width="10" height="10" fill="${e.color}"/>`);
      this.parts.push(`<text x="${x + 14}" y="${y}" dominant-baseline="middle" font-size="11">${escapeXml(e.name.slice(0, 24))}</text>`);
    });
  }

  svg(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.w}" height="${this.h}" viewBox="0 0 ${this.w} ${this.h}" font-family="sans-serif">${this.parts.join('')}</svg>`;
  }
}

function extent(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  return [Math.min(...finite), Math.max(...finite)];
}

/** Lines (or steps) of several series on shared axes. */
export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const pts = series.flatMap((s) => s.points);
  const f = new Frame(o, [...pts.map((p) => p[0]), ...(o.marks ?? []).map((m) => m.x)], pts.map((p) => p[1]));
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const coords: string[] = [];
    s.points.forEach(([x, y], k) => {
      if (s.step && k > 0) coords.push(`${f.x(x)},${f.y(s.points[k - 1]![1])}`);
      coords.push(`${f.x(x)},${f.y(y)}`);
    });
    if (coords.length > 1) f.parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${coords.join(' ')}"/>`);
    if (s.points.length <= 40) for (const [x, y] of s.points) f.parts.push(`<circle cx="${f.x(x)}" cy="${f.y(y)}" r="2.5" fill="${color}"/>`);
  });
  if (series.length > 1) f.legend(series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]! })));
  return f.svg();
}

/** Points, with the Pareto front drawn as a red step line over its points. */
export function scatterChart(points: readonly ScatterPoint[], front: readonly ScatterPoint[], o: ChartOptions): string {
  const all = [...points, ...front];
  const f = new Frame(o, all.map((p) => p.x), all.map((p) => p.y));
  for (const p of points) {
    f.parts.push(`<circle cx="${f.x(p.x)}" cy="${f.y(p.y)}" r="2.5" fill="#1f77b4" fill-opacity="0.55">${p.label ? `<title>${escapeXml(p.label)}</title>` : ''}</circle>`);
  }
  const sorted = [...front].sort((a, b) => a.x - b.x);
  if (sorted.length > 0) {
    const coords: string[] = [];
    sorted.forEach((p, k) => {
      if (k > 0) coords.push(`${f.x(p.x)},${f.y(sorted[k - 1]!.y)}`);
      coords.push(`${f.x(p.x)},${f.y(p.y)}`);
    });
    f.parts.push(`<polyline fill="none" stroke="#d62728" stroke-width="1.5" points="${coords.join(' ')}"/>`);
    for (const p of sorted) {
      f.parts.push(`<circle cx="${f.x(p.x)}" cy="${f.y(p.y)}" r="4" fill="#d62728">${p.label ? `<title>${escapeXml(p.label)}</title>` : ''}</circle>`);
    }
    f.legend([{ name: 'trials', color: '#1f77b4' }, { name: 'Pareto front', color: '#d62728' }]);
  }
  return f.svg();
}

/** Running best of a sequence (max or min), as [index + 1, best] points. */
export function bestSoFar(values: readonly (readonly [number, number])[], maximize: boolean): [number, number][] {
  const out: [number, number][] = [];
  let best = maximize ? -Infinity : Infinity;
  for (const [x, v] of values) {
    if (maximize ? v > best : v < best) best = v;
    out.push([x, best]);
  }
  return out;
}

/**
 * A heatmap: one row per name, one column per x (e.g. an edge's softmax
 * weight of each operation over the epochs), white (smallest value) to dark
 * blue (largest), each cell's value in its tooltip.
 */
export function heatmap(rows: readonly string[], columns: readonly number[], values: readonly (readonly number[])[], o: { title: string; xLabel: string }): string {
  const cellW = Math.max(4, Math.min(24, Math.floor(360 / Math.max(1, columns.length))));
  const cellH = 16;
  const left = 8 + 7 * Math.max(...rows.map((r) => r.length), 4);
  const top = 28;
  const w = left + cellW * columns.length + 16;
  const h = top + cellH * rows.length + 34;
  const parts: string[] = [`<text x="${w / 2}" y="16" text-anchor="middle" font-size="12">${escapeXml(o.title)}</text>`];
  // Shade from the smallest to the largest value, so that small moves of near-uniform weights show.
  const finite = values.flat().filter(Number.isFinite);
  const lo = Math.min(...finite, 1);
  const span = Math.max(1e-9, Math.max(...finite, 0) - lo);
  rows.forEach((name, r) => {
    parts.push(`<text x="${left - 4}" y="${top + r * cellH + 12}" text-anchor="end" font-size="10">${escapeXml(name)}</text>`);
    columns.forEach((x, c) => {
      const v = values[c]?.[r] ?? 0;
      const shade = (k: number) => Math.round(255 - Math.min(1, Math.max(0, (v - lo) / span)) * (255 - k));
      parts.push(`<rect x="${left + c * cellW}" y="${top + r * cellH}" width="${cellW}" height="${cellH}" fill="rgb(${shade(8)},${shade(48)},${shade(107)})"><title>${escapeXml(`${name}, ${o.xLabel} ${x}: ${v.toFixed(3)}`)}</title></rect>`);
    });
  });
  const step = Math.max(1, Math.ceil(columns.length / 10));
  columns.forEach((x, c) => {
    if (c % step === 0 || c === columns.length - 1) parts.push(`<text x="${left + c * cellW + cellW / 2}" y="${top + rows.length * cellH + 12}" text-anchor="middle" font-size="9">${x}</text>`);
  });
  parts.push(`<text x="${left + (cellW * columns.length) / 2}" y="${h - 6}" text-anchor="middle" font-size="10">${escapeXml(o.xLabel)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Blue (0) to red (1) through grey: the colour of a value scaled to [0, 1]. */
export function scaleColour(t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const mix = (a: number, b: number, k: number) => Math.round(a + (b - a) * k);
  return u < 0.5
    ? `rgb(${mix(49, 170, u * 2)},${mix(54, 170, u * 2)},${mix(149, 170, u * 2)})`
    : `rgb(${mix(170, 215, u * 2 - 1)},${mix(170, 48, u * 2 - 1)},${mix(170, 39, u * 2 - 1)})`;
}

export interface ParallelAxis {
  name: string;
  /** Categorical axis: the value names, evenly spaced (a line's value is an index); absent: numeric, from the lines' range. */
  categories?: readonly string[];
}

export interface ParallelLine {
  /** One value per axis (a category index or a number); null where the line has none (an inactive dimension). */
  values: readonly (number | null)[];
  /** In [0, 1]: blue (0) to red (1). */
  colour: number;
  label?: string;
}

/**
 * Parallel coordinates: one vertical axis per dimension, with its value
 * names (or numeric ticks) as labels, and one line per row through its
 * values, coloured by `colour` (e.g. the objective, with a legend).
 */
export function parallelCoordinates(axes: readonly ParallelAxis[], lines: readonly ParallelLine[], o: { title: string; colourLabel: string; colourRange: [number, number]; width?: number; height?: number }): string {
  const w = o.width ?? Math.max(420, 90 * axes.length + 80);
  const h = o.height ?? 360;
  const top = 54;
  const bottom = h - 40;
  const left = 56;
  const gap = axes.length > 1 ? (w - left - 70) / (axes.length - 1) : 0;
  const maps = axes.map((axis, k) => {
    if (axis.categories) {
      const n = axis.categories.length;
      return { ticks: axis.categories.map((c, i) => ({ v: i, text: c })), y: (v: number) => (n <= 1 ? (top + bottom) / 2 : bottom - (v / (n - 1)) * (bottom - top)) };
    }
    const [lo0, hi0] = extent(lines.map((l) => l.values[k] ?? NaN));
    const [lo, hi] = lo0 === hi0 ? [lo0 - 1, hi0 + 1] : [lo0, hi0];
    return { ticks: niceTicks(lo, hi, 4).map((v) => ({ v, text: tickText(v) })), y: (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top) };
  });
  const xOf = (k: number) => left + k * gap;
  const parts: string[] = [`<text x="${w / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`];
  for (const line of lines) {
    let d = '';
    let pen = false;
    line.values.forEach((v, k) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xOf(k).toFixed(1)} ${maps[k]!.y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${scaleColour(line.colour)}" stroke-opacity="0.45" stroke-width="1">${line.label ? `<title>${escapeXml(line.label)}</title>` : ''}</path>`);
  }
  axes.forEach((axis, k) => {
    const x = xOf(k).toFixed(1);
    parts.push(`<g class="axis"><line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#444"/>`);
    parts.push(`<text x="${x}" y="${top - 10}" text-anchor="middle" font-size="11" font-weight="bold">${escapeXml(axis.name)}</text>`);
    for (const t of maps[k]!.ticks) parts.push(`<text x="${x}" y="${maps[k]!.y(t.v).toFixed(1)}" dx="4" dominant-baseline="middle" font-size="9" fill="#222" stroke="#fff" stroke-width="2.5" paint-order="stroke">${escapeXml(t.text)}</text>`);
    parts.push('</g>');
  });
  // Colour legend: label, lowest value, the scale, highest value.
  const ly = h - 14;
  parts.push(`<text x="${left}" y="${ly}" dominant-baseline="middle" font-size="10">${escapeXml(o.colourLabel)}</text>`);
  parts.push(`<text x="${left + 150}" y="${ly}" text-anchor="end" dominant-baseline="middle" font-size="9">${tickText(o.colourRange[0])}</text>`);
  for (let i = 0; i < 20; i++) parts.push(`<rect x="${left + 154 + i * 6}" y="${ly - 5}" width="6" height="10" fill="${scaleColour(i / 19)}"/>`);
  parts.push(`<text x="${left + 278}" y="${ly}" dominant-baseline="middle" font-size="9">${tickText(o.colourRange[1])}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">${parts.join('')}</svg>`;
}

export interface SpreadRow {
  /** Row name, e.g. an operation. */
  label: string;
  mean: number;
  /** Half-width of the bar drawn around the mean (e.g. one standard deviation). */
  spread: number;
  /** Shown after the label, e.g. "n=120". */
  note?: string;
}

/**
 * Means with spread bars, in groups (e.g. per dimension: the mean objective
 * of the trials with each of its choices, ± one standard deviation), on one
 * shared value axis with tick labels.
 */
export function spreadChart(groups: readonly { name: string; rows: readonly SpreadRow[] }[], o: { title: string; xLabel: string; width?: number }): string {
  const rowH = 16;
  const groupH = 20;
  const labelW = 210;
  const w = o.width ?? 620;
  const top = 34;
  const right = w - 20;
  const height = top + groups.reduce((a, g) => a + groupH + g.rows.length * rowH, 0) + 40;
  const all = groups.flatMap((g) => g.rows);
  const [lo0, hi0] = extent(all.flatMap((r) => [r.mean - r.spread, r.mean + r.spread]));
  const [lo, hi] = lo0 === hi0 ? [lo0 - 1, hi0 + 1] : [lo0, hi0];
  const xOf = (v: number) => (labelW + ((v - lo) / (hi - lo)) * (right - labelW)).toFixed(1);
  const parts: string[] = [`<text x="${w / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`];
  const bottom = height - 40;
  for (const t of niceTicks(lo, hi, 5)) {
    parts.push(`<line x1="${xOf(t)}" x2="${xOf(t)}" y1="${top}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${xOf(t)}" y="${bottom + 14}" text-anchor="middle" font-size="11">${tickText(t)}</text>`);
  }
  parts.push(`<line x1="${labelW}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#444"/>`);
  parts.push(`<text x="${(labelW + right) / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(o.xLabel)}</text>`);
  let y = top;
  for (const g of groups) {
    parts.push(`<text x="4" y="${y + 13}" font-size="11" font-weight="bold">${escapeXml(g.name)}</text>`);
    y += groupH;
    for (const r of g.rows) {
      const cy = y + rowH / 2;
      parts.push(`<g class="spread-row"><text x="${labelW - 6}" y="${cy}" text-anchor="end" dominant-baseline="middle" font-size="10">${escapeXml(r.note ? `${r.label} (${r.note})` : r.label)}</text>`);
      parts.push(`<line x1="${xOf(r.mean - r.spread)}" x2="${xOf(r.mean + r.spread)}" y1="${cy}" y2="${cy}" stroke="#1f77b4" stroke-width="2"/>`);
      parts.push(`<circle cx="${xOf(r.mean)}" cy="${cy}" r="3.5" fill="#1f77b4"><title>${escapeXml(`${r.label}: ${tickText(r.mean)} ± ${tickText(r.spread)}${r.note ? ` (${r.note})` : ''}`)}</title></circle></g>`);
      y += rowH;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}" viewBox="0 0 ${w} ${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. "0.55× DARTS". */
  note?: string;
}

/** Horizontal bars from zero, one per row, each labelled and with its value written at its end. */
export function barChart(bars: readonly Bar[], o: { title: string; xLabel: string; width?: number }): string {
  const rowH = 24;
  const labelW = 150;
  const w = o.width ?? 620;
  const top = 34;
  const right = w - 130;
  const bottom = top + bars.length * rowH + 6;
  const h = bottom + 40;
  const hi = Math.max(...bars.map((b) => b.value).filter(Number.isFinite), 0) || 1;
  const ticks = niceTicks(0, hi, 4);
  const max = Math.max(hi, ticks.at(-1)!);
  const xOf = (v: number) => (labelW + (Math.max(0, v) / max) * (right - labelW)).toFixed(1);
  const parts: string[] = [`<text x="${w / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`];
  for (const t of ticks) {
    parts.push(`<line x1="${xOf(t)}" x2="${xOf(t)}" y1="${top}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${xOf(t)}" y="${bottom + 14}" text-anchor="middle" font-size="11">${tickText(t)}</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH + 3;
    const text = `${tickText(b.value)}${b.note ? ` (${b.note})` : ''}`;
    parts.push(`<g class="bar"><text x="${labelW - 6}" y="${y + 9}" text-anchor="end" dominant-baseline="middle" font-size="11">${escapeXml(b.label)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y}" width="${(Number(xOf(b.value)) - labelW).toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${b.label}: ${text}`)}</title></rect>`);
    parts.push(`<text x="${Number(xOf(b.value)) + 4}" y="${y + 9}" dominant-baseline="middle" font-size="10">${escapeXml(text)}</text></g>`);
  });
  parts.push(`<line x1="${labelW}" x2="${labelW}" y1="${top}" y2="${bottom}" stroke="#444"/>`);
  parts.push(`<text x="${(labelW + right) / 2}" y="${h - 8}" text-anchor="middle" font-size="12">${escapeXml(o.xLabel)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">${parts.join('')}</svg>`;
}
