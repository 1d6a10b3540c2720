// Graphviz DOT text for cell graphs: nodes, and edges labelled with their op.
import type { CellGraph } from '../spaces/graph.js';

export interface DrawOptions {
  /** Draw 'none' edges (dotted); by default they are left out, as they carry nothing. */
  showNone?: boolean;
  /** A title above the picture. */
  title?: string;
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

const ROLE_FILL: Record<string, string> = { input: '#c7e9c0', intermediate: '#deebf7', output: '#fdd0a2' };

/** One DOT digraph; several cells become clusters side by side. */
export function cellsToDot(graphs: readonly CellGraph[], options: DrawOptions = {}): string {
  const lines = ['digraph cell {', '  rankdir=LR;', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];'];
  if (options.title) lines.push(`  label=${quote(options.title)};`, '  labelloc=t;');
  graphs.forEach((g, gi) => {
    const id = (n: number) => `g${gi}_n${n}`;
    const indent = graphs.length > 1 ? '    ' : '  ';
    if (graphs.length > 1) lines.push(`  subgraph cluster_${gi} {`, `    label=${quote(g.name)};`);
    for (const n of g.nodes) lines.push(`${indent}${id(n.id)} [label=${quote(n.label)}, fillcolor=${quote(ROLE_FILL[n.role]!)}];`);
    for (const e of g.edges) {
      if (e.op === 'none' && !options.showNone) continue;
      const attrs = e.op === undefined ? 'style=dashed, color="gray50"' : `label=${quote(e.op)}${e.op === 'none' ? ', style=dotted' : ''}`;
      lines.push(`${indent}${id(e.from)} -> ${id(e.to)} [${attrs}];`);
    }
    if (graphs.length > 1) lines.push('  }');
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
