// Self-contained SVG for cell graphs: nodes in topological order along a
// line, edges as arcs (longer spans arc higher, alternating above and
// below) with the op written at the top of each arc. Several cells stack
// vertically under their names.
import type { CellGraph } from '../spaces/graph.js';
import type { DrawOptions } from './dot.js';

export const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const NODE_W = 70;
const NODE_H = 30;
const ARC_STEP = 34;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const ROLE_FILL: Record<string, string> = { input: '#c7e9c0', intermediate: '#deebf7', output: '#fdd0a2' };

/** Stable colour per op name. */
function colourOf(op: string, ops: readonly string[]): string {
  const k = ops.indexOf(op);
  if (k >= 0) return PALETTE[k % PALETTE.length]!;
  let h = 0;
  for (const ch of op) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

const fmt = (x: number) => (Math.round(x * 10) / 10).toString();

interface Placed {
  body: string[];
  width: number;
  height: number;
}

function drawCell(g: CellGraph, options: DrawOptions, top: number): Placed {
  const edges = g.edges.filter((e) => e.op !== 'none' || options.showNone);
  const longestLabel = Math.max(0, ...edges.map((e) => (e.op ?? '').length));
  const gap = Math.max(110, longestLabel * 6.5 + 30);
  // Which side each edge arcs to: spans of 1 go straight; longer ones alternate.
  const sideCount = new Map<number, number>();
  const arcs = edges.map((e) => {
    const span = e.to - e.from;
    const k = sideCount.get(span) ?? 0;
    sideCount.set(span, k + 1);
    const side = span === 1 ? 0 : k % 2 === 0 ? -1 : 1;
    const level = span === 1 ? 0 : span - 1 + Math.floor(k / 2);
    return { e, side, level };
  });
  const above = Math.max(0, ...arcs.filter((a) => a.side === -1).map((a) => a.level));
  const below = Math.max(0, ...arcs.filter((a) => a.side === 1).map((a) => a.level));
  const titleH = 22;
  const midY = top + titleH + 16 + above * ARC_STEP + 14;
  const x = (id: number) => 20 + NODE_W / 2 + id * gap;
  const width = 40 + NODE_W + (g.nodes.length - 1) * gap;
  const height = titleH + 16 + (above + below) * ARC_STEP + NODE_H + 34;
  const body: string[] = [`<text x="10" y="${fmt(top + 16)}" font-size="14" font-weight="bold">${escapeXml(g.name)}</text>`];
  for (const { e, side, level } of arcs) {
    const x0 = x(e.from) + NODE_W / 2;
    const x1 = x(e.to) - NODE_W / 2;
    const colour = e.op === undefined ? '#999999' : colourOf(e.op, g.ops);
    const dash = e.op === undefined ? ' stroke-dasharray="5,4"' : e.op === 'none' ? ' stroke-dasharray="2,3"' : '';
    let path: string;
    let labelX: number;
    let labelY: number;
    if (side === 0) {
      path = `M ${fmt(x0)} ${fmt(midY)} L ${fmt(x1)} ${fmt(midY)}`;
      labelX = (x0 + x1) / 2;
      labelY = midY - 6;
    } else {
      // The apex of a quadratic Bezier is halfway to its control point.
      const peak = 2 * level * ARC_STEP + NODE_H / 2;
      const sx = x(e.from);
      const ex = x(e.to);
      const y0 = midY + (side * NODE_H) / 2;
      const cy = y0 + side * peak;
      path = `M ${fmt(sx)} ${fmt(y0)} Q ${fmt((sx + ex) / 2)} ${fmt(cy)} ${fmt(ex)} ${fmt(y0)}`;
      labelX = (sx + ex) / 2;
      labelY = (y0 + cy) / 2 + (side < 0 ? -4 : 12);
    }
    body.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.6"${dash} marker-end="url(#arrow)"/>`);
    if (e.op !== undefined) {
      body.push(
        `<text x="${fmt(labelX)}" y="${fmt(labelY)}" font-size="11" text-anchor="middle" fill="${colour}" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(e.op)}</text>`,
      );
    }
  }
  for (const n of g.nodes) {
    body.push(
      `<rect x="${fmt(x(n.id) - NODE_W / 2)}" y="${fmt(midY - NODE_H / 2)}" width="${NODE_W}" height="${NODE_H}" rx="8" fill="${ROLE_FILL[n.role]}" stroke="#333333"/>`,
      `<text x="${fmt(x(n.id))}" y="${fmt(midY + 4)}" font-size="12" text-anchor="middle">${escapeXml(n.label)}</text>`,
    );
  }
  return { body, width, height };
}

/** One SVG document with every graph, stacked. */
export function cellsToSvg(graphs: readonly CellGraph[], options: DrawOptions = {}): string {
  let top = options.title ? 28 : 0;
  let width = 200;
  const parts: string[] = [];
  if (options.title) parts.push(`<text x="10" y="20" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (const g of graphs) {
    const placed = drawCell(g, options, top);
    parts.push(`<g class="cell">`, ...placed.body, `</g>`);
    top += placed.height;
    width = Math.max(width, placed.width);
  }
  const height = Math.max(top, 40);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(height)}" viewBox="0 0 ${fmt(width)} ${fmt(height)}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555555"/></marker></defs>',
    `<rect x="0" y="0" width="${fmt(width)}" height="${fmt(height)}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
