// A two-level space: a micro cell (the NAS-Bench-201 cell: an op on each of
// its 6 edges, shared by every cell of the network) and a macro skeleton
// (number of stages; per stage the number of cells and the channels).
// Stage s exists only when stages > s. Text form: the cell's NAS-Bench-201
// string, " @ ", then per stage "cells x channels":
// "|nor_conv_3x3~0|+|...|...|+|...|...|...| @ 2x16,3x32,1x64".
import { TsnasError } from '../errors.js';
import { cellOps, formatNb201Ops, nb201CellDimensions, nb201CellGraph, nb201EdgeLabel, NB201_EDGES, NB201_PATH_VOCABULARY, parseNb201Ops } from './nb201.js';
import { chainGraph } from './graph.js';
import { defineSpace, whenGreater, withArchView, type ArchSpace, type DimensionSpec } from './space.js';
import { tokenError } from './text.js';
import type { Sample, Value } from './types.js';

export interface HierarchicalConfig {
  readonly stageCounts?: readonly number[];
  readonly cellsPerStage?: readonly number[];
  readonly channels?: readonly number[];
}

export interface HierarchicalArch {
  /** The cell's 6 ops in NAS-Bench-201 edge order. */
  cell: string[];
  stages: { cells: number; channels: number }[];
}

export type HierarchicalSpace = ArchSpace<Required<HierarchicalConfig>, HierarchicalArch>;

const CELL_PREFIX = 'cell_';
const stageLabel = (st: number, part: 'cells' | 'channels') => `stage${st}_${part}`;

export function hierarchicalSpace(config: HierarchicalConfig = {}): HierarchicalSpace {
  const cfg: Required<HierarchicalConfig> = {
    stageCounts: config.stageCounts ?? [2, 3, 4],
    cellsPerStage: config.cellsPerStage ?? [1, 2, 3],
    channels: config.channels ?? [16, 32, 64, 128],
  };
  if (cfg.stageCounts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new TsnasError('config', `stageCounts must be positive integers, found ${cfg.stageCounts.join(', ')}`, { where: 'space hierarchical' });
  }
  const minStages = Math.min(...cfg.stageCounts);
  const maxStages = Math.max(...cfg.stageCounts);
  const dims: DimensionSpec[] = [
    ...nb201CellDimensions(CELL_PREFIX, 'cell'),
    { label: 'stages', kind: 'integer', values: cfg.stageCounts, group: 'macro' },
  ];
  for (let st = 0; st < maxStages; st++) {
    const cond = st >= minStages ? { when: whenGreater('stages', st) } : {};
    dims.push(
      { label: stageLabel(st, 'cells'), kind: 'integer', values: cfg.cellsPerStage, group: `stage${st}`, ...cond },
      { label: stageLabel(st, 'channels'), kind: 'integer', values: cfg.channels, group: `stage${st}`, ...cond },
    );
  }

  const archOf = (s: Sample): HierarchicalArch => ({
    cell: cellOps(s, CELL_PREFIX),
    stages: Array.from({ length: Number(s.stages) }, (_, st) => ({
      cells: Number(s[stageLabel(st, 'cells')]),
      channels: Number(s[stageLabel(st, 'channels')]),
    })),
  });
  const rawFromArch = (a: HierarchicalArch): Sample => {
    const s: Record<string, Value> = {};
    NB201_EDGES.forEach(([to, from], k) => (s[nb201EdgeLabel(to, from, CELL_PREFIX)] = a.cell[k]!));
    s.stages = a.stages.length;
    a.stages.forEach((stage, st) => {
      s[stageLabel(st, 'cells')] = stage.cells;
      s[stageLabel(st, 'channels')] = stage.channels;
    });
    return s;
  };

  const parse = (text: string): Sample => {
    const at = text.indexOf('@');
    if (at < 0) throw tokenError(text, text.length, '', "' @ ' followed by the stages (cells x channels, comma separated)");
    const cellText = text.slice(0, at).trimEnd();
    const cell = parseNb201Ops(cellText);
    const macro = text.slice(at + 1);
    let pos = at + 1 + (macro.length - macro.trimStart().length);
    const stages: HierarchicalArch['stages'] = [];
    for (const token of macro.trim().split(',')) {
      const m = /^(\d+)x(\d+)$/.exec(token.trim());
      if (!m || !cfg.cellsPerStage.includes(Number(m[1])) || !cfg.channels.includes(Number(m[2]))) {
        throw tokenError(text, pos, token, `a stage 'cells x channels' with cells in ${cfg.cellsPerStage.join('/')} and channels in ${cfg.channels.join('/')}`);
      }
      stages.push({ cells: Number(m[1]), channels: Number(m[2]) });
      pos += token.length + 1;
    }
    if (!cfg.stageCounts.includes(stages.length)) {
      throw tokenError(text, at + 1, macro.trim(), `${cfg.stageCounts.join(' or ')} stages (found ${stages.length})`);
    }
    return rawFromArch({ cell, stages });
  };

  const macroTerms = cfg.stageCounts.map((n) => `${cfg.cellsPerStage.length * cfg.channels.length}^${n}`).join(' + ');
  const space = defineSpace({
    name: 'hierarchical',
    dimensions: dims,
    format: (s) => {
      const a = archOf(s);
      return `${formatNb201Ops(a.cell)} @ ${a.stages.map((st) => `${st.cells}x${st.channels}`).join(',')}`;
    },
    parse,
    graphs: (s) => [nb201CellGraph(cellOps(s, CELL_PREFIX))],
    drawing: (s) => {
      const a = archOf(s);
      const steps = a.stages.flatMap((st, i) => [...(i > 0 ? [`reduce to ${st.channels}`] : [`stem ${st.channels}`]), `${st.cells} x cell ${st.channels}`]);
      return [nb201CellGraph(a.cell), chainGraph('macro', steps)];
    },
    pathEncoding: { vocabulary: NB201_PATH_VOCABULARY, maxLength: 3 },
    sizeFormula: `micro 5^6 · macro sum over stage count n of (${cfg.cellsPerStage.length} cell counts · ${cfg.channels.length} channel widths)^n = 15625 · (${macroTerms})`,
  });
  return withArchView(space, cfg, archOf, rawFromArch);
}
