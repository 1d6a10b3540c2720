// The DARTS evaluation network for a genotype (DARTS's NetworkCIFAR): a 3×3
// conv stem to stemMultiplier·C channels, `layers` cells with channel-doubling
// reduction cells (by default at layers/3 and 2·layers/3), global average
// pooling and a classifier; optionally DARTS's auxiliary head after the cell
// at 2·layers/3, and drop-path on every non-identity edge while training.
// Module names follow DARTS (stem, cells.i.preprocess0/_ops, auxiliary_head,
// classifier), so its PyTorch state dicts load here.
import { Tensor, cat, zeros } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Identity, Linear, ModuleList, ReLU, Sequential,
} from '../nn/layers.js';
import { DARTS_OPS, DartsFactorizedReduce, DartsReLUConvBN } from '../nn/ops.js';
import type { Genotype, GenotypeEdge } from '../spaces/darts.js';

/**
 * DARTS's drop_path: each sample of the batch is zeroed with probability
 * dropProb, and the kept ones are scaled by 1/(1 - dropProb).
 */
export function dropPath(x: Tensor, dropProb: number): Tensor {
  if (dropProb <= 0) return x;
  if (dropProb >= 1) throw new TsnasError('config', `drop-path probability must be below 1, got ${dropProb}`);
  const keepProb = 1 - dropProb;
  const mask = zeros([x.size(0), 1, 1, 1], { dtype: x.dtype, device: x.device }).bernoulli_(keepProb);
  return x.div(keepProb).mul(mask);
}

/** Throws a config error naming the cell, edge or node when edges and concat do not form a DARTS cell. */
export function checkCellGenotype(edges: readonly GenotypeEdge[], concat: readonly number[], cell = 'cell'): void {
  if (!Array.isArray(edges) || edges.length === 0 || edges.length % 2 !== 0) {
    throw new TsnasError('config', `the ${cell} cell needs two (op, input) edges per node, found ${Array.isArray(edges) ? edges.length : typeof edges} edges`);
  }
  const steps = edges.length / 2;
  edges.forEach(([op, from], e) => {
    const node = 2 + Math.floor(e / 2);
    if (!Object.hasOwn(DARTS_OPS, op)) {
      throw new TsnasError('config', `${cell} edge ${e} (node ${node}) has unknown DARTS op '${op}', expected one of ${Object.keys(DARTS_OPS).join(', ')}`);
    }
    if (!Number.isInteger(from) || from < 0 || from >= node) {
      throw new TsnasError('config', `${cell} edge ${e} (node ${node}) takes input ${from}, expected 0..${node - 1}`);
    }
  });
  if (!Array.isArray(concat) || concat.length === 0) throw new TsnasError('config', `the ${cell} cell concatenates no nodes`);
  for (const n of concat) {
    if (!Number.isInteger(n) || n < 2 || n >= 2 + steps) {
      throw new TsnasError('config', `${cell} concat lists node ${n}, expected intermediate nodes 2..${1 + steps}`);
    }
  }
}

/** One DARTS cell of a genotype: node j = op_a(h_a) + op_b(h_b); the output concatenates the concat nodes. */
export class DartsCell extends Module<[Tensor, Tensor, number?]> {
  readonly reduction: boolean;
  readonly preprocess0: Module;
  readonly preprocess1: DartsReLUConvBN;
  readonly ops: ModuleList<Module>;
  readonly indices: readonly number[];
  readonly concat: readonly number[];
  /** Output channels: concat.length · C. */
  readonly outChannels: number;

  constructor(edges: readonly GenotypeEdge[], concat: readonly number[], cPrevPrev: number, cPrev: number, c: number,
    reduction: boolean, reductionPrev: boolean) {
    super();
    checkCellGenotype(edges, concat, reduction ? 'reduce' : 'normal');
    this.reduction = reduction;
    this.indices = edges.map(([, from]) => from);
    this.concat = [...concat];
    this.outChannels = concat.length * c;
    // The cell before last is at twice the resolution after a reduction cell.
    this.preprocess0 = this.registerModule('preprocess0',
      reductionPrev ? new DartsFactorizedReduce(cPrevPrev, c) : new DartsReLUConvBN(cPrevPrev, c, 1, 1, 0));
    this.preprocess1 = this.registerModule('preprocess1', new DartsReLUConvBN(cPrev, c, 1, 1, 0));
    this.ops = this.registerModule('_ops', new ModuleList(edges.map(([op, from]) =>
      DARTS_OPS[op]!(c, reduction && from < 2 ? 2 : 1, true))));
  }

  forward(s0: Tensor, s1: Tensor, dropProb = 0): Tensor {
    const states = [this.preprocess0.call(s0), this.preprocess1.call(s1)];
    const dropping = this.training && dropProb > 0;
    for (let e = 0; e < this.indices.length; e += 2) {
      const edge = (k: number) => {
        const op = this.ops.at(k);
        const h = op.call(states[this.indices[k]!]!);
        return dropping && !(op instanceof Identity) ? dropPath(h, dropProb) : h;
      };
      states.push(edge(e).add(edge(e + 1)));
    }
    return cat(this.concat.map((n) => states[n]!), 1);
  }
}

/** Side of a map after a stride-2 reduction cell (3×3 ops with padding 1). */
const halved = (size: number) => Math.floor((size - 1) / 2) + 1;

/** Side of the auxiliary head's last map (after its 5×5/3 pool and 2×2 conv); throws when the input map is too small. */
function auxiliaryOutputSize(spatial: number): number {
  const out = Math.floor((spatial - 5) / 3) + 1 - 1;
  if (out < 1) {
    throw new TsnasError('config', `the DARTS auxiliary head needs a map of at least 8x8 at its cell, found ${spatial}x${spatial}; use a larger input or fewer reductions`);
  }
  return out;
}

/** DARTS's AuxiliaryHeadCIFAR (DARTS sizes it for an 8×8 map; larger maps widen its classifier). */
export class DartsAuxiliaryHead extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;
  constructor(c: number, numClasses: number, spatial: number) {
    super();
    const out = auxiliaryOutputSize(spatial);
    this.features = this.registerModule('features', new Sequential(
      new ReLU(),
      new AvgPool2d(5, { stride: 3, padding: 0, countIncludePad: false }),
      new Conv2d(c, 128, 1, { bias: false }),
      new BatchNorm2d(128),
      new ReLU(),
      new Conv2d(128, 768, 2, { bias: false }),
      new BatchNorm2d(768),
      new ReLU(),
    ));
    this.classifier = this.registerModule('classifier', new Linear(768 * out * out, numClasses));
  }
  forward(x: Tensor): Tensor {
    const f = this.features.call(x);
    return this.classifier.call(f.view(f.size(0), -1));
  }
}

export interface DartsNetworkOptions {
  genotype: Genotype;
  /** Initial channels C (DARTS CIFAR: 36). */
  C: number;
  /** Number of cells (DARTS CIFAR: 20). */
  layers: number;
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** Image height = width, used to size the auxiliary head; default 32. */
  inputSize?: number;
  /** Stem width = stemMultiplier · C; default 3. */
  stemMultiplier?: number;
  /** Indices of the reduction cells; default [floor(layers/3), floor(2·layers/3)]. */
  reductionCells?: readonly number[];
  /** Build DARTS's auxiliary head; default false. */
  auxiliary?: boolean;
  /** The cell after which the auxiliary head reads; default floor(2·layers/3). */
  auxiliaryAt?: number;
  /** Drop-path probability while training (DARTS raises it linearly over epochs); default 0. */
  dropPathProb?: number;
}

export class DartsNetwork extends Module {
  readonly genotype: Genotype;
  readonly layers: number;
  readonly reductionCells: readonly number[];
  readonly auxiliaryAt: number;
  /** Mutable, as DARTS's model.drop_path_prob: set it each epoch. */
  dropPathProb: number;
  readonly stem: Sequential;
  readonly cells: ModuleList<DartsCell>;
  readonly auxiliaryHead: DartsAuxiliaryHead | null;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly classifier: Linear;

  constructor(o: DartsNetworkOptions) {
    super();
    const inChannels = o.inChannels ?? 3;
    const stemMultiplier = o.stemMultiplier ?? 3;
    for (const [name, v] of [['C', o.C], ['layers', o.layers], ['numClasses', o.numClasses], ['inChannels', inChannels],
      ['stemMultiplier', stemMultiplier]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `DARTS network ${name} must be a positive integer, got ${v}`);
    }
    if (o.C % 2 !== 0) throw new TsnasError('config', `DARTS network C must be even (factorized reductions halve it), got ${o.C}`);
    this.genotype = o.genotype;
    this.layers = o.layers;
    this.reductionCells = [...(o.reductionCells ?? [Math.floor(o.layers / 3), Math.floor((2 * o.layers) / 3)])];
    for (const r of this.reductionCells) {
      if (!Number.isInteger(r) || r < 0 || r >= o.layers) {
        throw new TsnasError('config', `reduction cell index ${r} is outside 0..${o.layers - 1}`);
      }
    }
    this.auxiliaryAt = o.auxiliaryAt ?? Math.floor((2 * o.layers) / 3);
    this.dropPathProb = o.dropPathProb ?? 0;
    if (!(this.dropPathProb >= 0 && this.dropPathProb < 1)) {
      throw new TsnasError('config', `drop-path probability must be in [0, 1), got ${this.dropPathProb}`);
    }
    // Everything is checked before any weight exists, so a bad option leaks nothing.
    checkCellGenotype(o.genotype.normal, o.genotype.normal_concat, 'normal');
    checkCellGenotype(o.genotype.reduce, o.genotype.reduce_concat, 'reduce');
    if (o.auxiliary) {
      if (!Number.isInteger(this.auxiliaryAt) || this.auxiliaryAt < 0 || this.auxiliaryAt >= o.layers) {
        throw new TsnasError('config', `auxiliaryAt ${this.auxiliaryAt} is outside the cells 0..${o.layers - 1}`);
      }
      let size = o.inputSize ?? 32;
      for (let i = 0; i <= this.auxiliaryAt; i++) if (this.reductionCells.includes(i)) size = halved(size);
      auxiliaryOutputSize(size);
    }

    const stemC = stemMultiplier * o.C;
    this.stem = this.registerModule('stem', new Sequential(
      new Conv2d(inChannels, stemC, 3, { padding: 1, bias: false }),
      new BatchNorm2d(stemC),
    ));
    let [cPrevPrev, cPrev, c] = [stemC, stemC, o.C];
    let reductionPrev = false;
    let spatial = o.inputSize ?? 32;
    let auxC = 0;
    let auxSpatial = 0;
    const cells: DartsCell[] = [];
    for (let i = 0; i < o.layers; i++) {
      const reduction = this.reductionCells.includes(i);
      if (reduction) {
        c *= 2;
        spatial = halved(spatial);
      }
      const [edges, concat] = reduction ? [o.genotype.reduce, o.genotype.reduce_concat] : [o.genotype.normal, o.genotype.normal_concat];
      const cell = new DartsCell(edges, concat, cPrevPrev, cPrev, c, reduction, reductionPrev);
      cells.push(cell);
      reductionPrev = reduction;
      [cPrevPrev, cPrev] = [cPrev, cell.outChannels];
      if (i === this.auxiliaryAt) [auxC, auxSpatial] = [cPrev, spatial];
    }
    this.cells = this.registerModule('cells', new ModuleList(cells));
    this.auxiliaryHead = this.registerModule('auxiliary_head',
      o.auxiliary ? new DartsAuxiliaryHead(auxC, o.numClasses, auxSpatial) : null);
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new Linear(cPrev, o.numClasses));
  }

  /** Logits, and the auxiliary head's logits when it exists and the network is training (as DARTS). */
  forwardWithAuxiliary(x: Tensor, withAuxiliary = true): { logits: Tensor; auxLogits: Tensor | null } {
    let s0 = this.stem.call(x);
    let s1 = s0;
    let auxLogits: Tensor | null = null;
    for (let i = 0; i < this.cells.length; i++) {
      [s0, s1] = [s1, this.cells.at(i).call(s0, s1, this.dropPathProb)];
      if (withAuxiliary && i === this.auxiliaryAt && this.auxiliaryHead && this.training) auxLogits = this.auxiliaryHead.call(s1);
    }
    const pooled = this.globalPooling.call(s1);
    return { logits: this.classifier.call(pooled.view(pooled.size(0), -1)), auxLogits };
  }

  /** Logits [batch, numClasses]. */
  forward(x: Tensor): Tensor {
    return this.forwardWithAuxiliary(x, false).logits;
  }
}
