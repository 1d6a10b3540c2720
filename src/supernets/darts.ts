// The DARTS search network (the DARTS space's supernet): a stem, `layers`
// cells with reductions at 1/3 and 2/3 of the depth, global pooling and a
// classifier. A cell has two inputs (the previous two cells, preprocessed to
// C channels) and `steps` nodes; node j (numbered 2..) takes every earlier
// state through a mixed op, so a 4-node cell has 2+3+4+5 = 14 edges. Edge
// labels are `${cell}_edge_{to}_{from}` (cell = normal | reduce), so every
// normal cell shares one α per edge and every reduction cell another.
import { TsnasError } from '../errors.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { DartsFactorizedReduce, DartsReLUConvBN, DARTS_PRIMITIVES, dartsSearchOp } from '../nn/ops.js';
import { ArchitectureChoices, MixedOp, type MixingStrategy } from '../spaces/supernet.js';
import { cat, type Tensor } from '../tensor/index.js';
import type { Sample, Value } from '../spaces/types.js';

export const dartsEdgeLabel = (cell: 'normal' | 'reduce', to: number, from: number) => `${cell}_edge_${to}_${from}`;

/** The edges of a cell with `steps` nodes, as [to, from], in DARTS's order (node 2's inputs first). */
export function dartsEdges(steps = 4): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < steps; i++) for (let j = 0; j < i + 2; j++) out.push([i + 2, j]);
  return out;
}

/**
 * The single path of a DARTS-space sample: each node's two chosen inputs carry
 * the sample's ops, every other edge 'none'.
 */
export function dartsSamplePath(s: Sample, steps = 4): Record<string, Value> {
  const path: Record<string, Value> = {};
  for (const cell of ['normal', 'reduce'] as const) {
    for (const [to, from] of dartsEdges(steps)) path[dartsEdgeLabel(cell, to, from)] = 'none';
    for (let to = 2; to < steps + 2; to++) {
      const inputs = String(s[`${cell}_node${to}_inputs`]).split(',').map(Number);
      inputs.forEach((from, k) => (path[dartsEdgeLabel(cell, to, from)] = s[`${cell}_node${to}_op${k}`]!));
    }
  }
  return path;
}

/** Cuts the graph at cell states (see segmented.ts); identity when absent. */
export interface StateCutter {
  cut(t: Tensor): Tensor;
}

export class DartsSearchCell extends Module<[Tensor, Tensor]> {
  /** Set while a segmented backward is in use. */
  tape: StateCutter | null = null;
  readonly preprocess0: Module;
  readonly preprocess1: Module;
  readonly edges: ModuleList<MixedOp>;
  readonly edgeList: [number, number][];

  constructor(
    readonly steps: number,
    readonly multiplier: number,
    cPrevPrev: number,
    cPrev: number,
    c: number,
    readonly reduction: boolean,
    reductionPrev: boolean,
    choices: ArchitectureChoices,
  ) {
    super();
    this.preprocess0 = this.registerModule('preprocess0',
      reductionPrev ? new DartsFactorizedReduce(cPrevPrev, c, false) : new DartsReLUConvBN(cPrevPrev, c, 1, 1, 0, false));
    this.preprocess1 = this.registerModule('preprocess1', new DartsReLUConvBN(cPrev, c, 1, 1, 0, false));
    const inner = choices.mixing.candidateChannels(c);
    const cell = reduction ? 'reduce' : 'normal';
    this.edgeList = dartsEdges(steps);
    this.edges = this.registerModule('_ops', new ModuleList(this.edgeList.map(([to, from]) => {
      const stride = reduction && from < 2 ? 2 : 1;
      return new MixedOp(dartsEdgeLabel(cell, to, from), DARTS_PRIMITIVES, (op) => dartsSearchOp(String(op), inner, stride), choices);
    })));
  }

  forward(s0: Tensor, s1: Tensor): Tensor {
    const cut = (t: Tensor) => (this.tape ? this.tape.cut(t) : t);
    const states = [cut(this.preprocess0.call(s0)), cut(this.preprocess1.call(s1))];
    let offset = 0;
    for (let i = 0; i < this.steps; i++) {
      let sum: Tensor | null = null;
      for (let j = 0; j < states.length; j++) {
        const y = this.edges.at(offset + j).call(states[j]!);
        sum = sum ? sum.add(y) : y;
      }
      offset += states.length;
      states.push(cut(sum!));
    }
    return cat(states.slice(-this.multiplier), 1);
  }
}

export interface DartsSupernetOptions {
  /** Initial channels (C). */
  C: number;
  /** Number of cells. */
  layers: number;
  numClasses: number;
  inChannels?: number;
  /** Nodes per cell (default 4). */
  steps?: number;
  /** Nodes concatenated into a cell's output (default 4). */
  multiplier?: number;
  /** Stem width = stemMultiplier·C (default 3). */
  stemMultiplier?: number;
  mixing: MixingStrategy;
}

/** DARTS's search Network (model_search.py). */
export class DartsSupernet extends Module {
  readonly choices: ArchitectureChoices;
  readonly stem: Sequential;
  readonly cells: ModuleList<DartsSearchCell>;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly classifier: Linear;
  readonly steps: number;

  constructor(o: DartsSupernetOptions) {
    super();
    const { C, layers } = o;
    if (!(Number.isInteger(layers) && layers >= 1)) throw new TsnasError('config', `DARTS supernet layers must be a positive integer, got ${layers}`);
    this.steps = o.steps ?? 4;
    const multiplier = o.multiplier ?? 4;
    const reductions = new Set([Math.floor(layers / 3), Math.floor((2 * layers) / 3)]);
    // Check every width's channel split before any weights exist, so a bad config leaks nothing.
    let width = C;
    for (let i = 0; i < layers; i++) {
      if (reductions.has(i)) width *= 2;
      o.mixing.candidateChannels(width);
    }
    this.choices = new ArchitectureChoices(o.mixing);
    let cCurr = (o.stemMultiplier ?? 3) * C;
    this.stem = this.registerModule('stem', new Sequential(new Conv2d(o.inChannels ?? 3, cCurr, 3, { padding: 1, bias: false }), new BatchNorm2d(cCurr)));
    let cPrevPrev = cCurr;
    let cPrev = cCurr;
    cCurr = C;
    let reductionPrev = false;
    const cells: DartsSearchCell[] = [];
    for (let i = 0; i < layers; i++) {
      const reduction = reductions.has(i);
      if (reduction) cCurr *= 2;
      cells.push(new DartsSearchCell(this.steps, multiplier, cPrevPrev, cPrev, cCurr, reduction, reductionPrev, this.choices));
      reductionPrev = reduction;
      cPrevPrev = cPrev;
      cPrev = multiplier * cCurr;
    }
    this.cells = this.registerModule('cells', new ModuleList(cells));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new Linear(cPrev, o.numClasses));
  }

  forward(x: Tensor): Tensor {
    this.choices.beginForward();
    let s0 = this.stem.call(x);
    let s1 = s0;
    for (const cell of this.cells) [s0, s1] = [s1, cell.call(s0, s1)];
    const pooled = this.globalPooling.call(s1);
    return this.classifier.call(pooled.view(pooled.size(0), -1));
  }

  /** The network weights, without the architecture parameters. */
  weightParameters(): Tensor[] {
    return this.parameters();
  }

  override dispose(): void {
    super.dispose();
    this.choices.mixing.dispose();
  }
}
