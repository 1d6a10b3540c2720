// Regret curves as a self-contained SVG (hand-written, no dependencies):
// regret = optimum − best accuracy found so far, on a log scale, per query.

export interface RegretSeries {
  label: string;
  /** Mean best-so-far accuracy after each query. */
  curve: readonly number[];
  dashed?: boolean;
}

export interface RegretPlotOptions {
  title: string;
  /** Best accuracy of the benchmark. */
  optimum: number;
  width?: number;
  height?: number;
}

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function regretPlotSvg(series: readonly RegretSeries[], o: RegretPlotOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 440;
  const m = { left: 64, right: 170, top: 40, bottom: 48 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const queries = Math.max(1, ...series.map((s) => s.curve.length));
  // Regret floor: a run that found the optimum has regret 0, drawn at the bottom of the axis.
  const regrets = series.map((s) => s.curve.map((v) => Math.max(o.optimum - v, 0)));
  const positive = regrets.flat().filter((r) => r > 0);
  const top = Math.pow(10, Math.ceil(Math.log10(Math.max(...positive, 1e-2))));
  const bottom = Math.pow(10, Math.floor(Math.log10(Math.max(Math.min(...positive, top / 10), 1e-3))));
  const x = (q: number) => m.left + (queries === 1 ? 0 : ((q - 1) / (queries - 1)) * pw);
  const y = (r: number) => m.top + ((Math.log10(top) - Math.log10(Math.max(r, bottom))) / (Math.log10(top) - Math.log10(bottom))) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`);
  // Grid and y ticks at powers of ten.
  for (let e = Math.round(Math.log10(bottom)); e <= Math.round(Math.log10(top)); e++) {
    const v = Math.pow(10, e);
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${yy}" x2="${m.left + pw}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${v >= 1 ? v.toFixed(0) : v.toString()}</text>`);
  }
  // x ticks: about 5 round numbers.
  const step = niceStep(queries / 5);
  for (let q = step; q <= queries; q += step) {
    const xx = x(q).toFixed(1);
    out.push(`<line x1="${xx}" y1="${m.top}" x2="${xx}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${xx}" y="${m.top + ph + 16}" text-anchor="middle">${q}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">queries</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">regret (optimum ${o.optimum.toFixed(2)} − best found), log scale</text>`);
  series.forEach((s, i) => {
    const color = palette[i % palette.length]!;
    const pts = regrets[i]!.map((r, q) => `${x(q + 1).toFixed(1)},${y(r).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts}"/>`);
    const ly = m.top + 10 + i * 18;
    out.push(`<line x1="${m.left + pw + 12}" y1="${ly}" x2="${m.left + pw + 36}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${m.left + pw + 42}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
  return 10 * p;
}
