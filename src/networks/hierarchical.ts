// The hierarchical space's network: NAS-Bench-201's skeleton with the
// sample's macro structure. A stem (3×3 conv, BN) to the first stage's
// channels; per stage its cells (all the same NAS-Bench-201 cell), stages
// joined by stride-2 residual blocks to the next stage's channels; then BN,
// ReLU, global average pooling and a classifier (as src/hardware/cost.ts counts).
import { Tensor } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, ReLU, Sequential } from '../nn/layers.js';
import { NB201_OPS, ResNetBasicblock } from '../nn/ops.js';
import type { HierarchicalArch } from '../spaces/hierarchical.js';
import { NB201Cell } from './nb201.js';

export interface HierarchicalNetworkOptions {
  arch: HierarchicalArch;
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
}

export class HierarchicalNetwork extends Module {
  readonly arch: HierarchicalArch;
  readonly stem: Sequential;
  readonly cells: ModuleList<Module>;
  readonly lastact: Sequential;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly classifier: Linear;

  constructor(o: HierarchicalNetworkOptions) {
    super();
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `hierarchical network ${name} must be a positive integer, got ${v}`);
    }
    if (o.arch.stages.length === 0) throw new TsnasError('config', 'a hierarchical network needs at least one stage');
    o.arch.stages.forEach((st, i) => {
      if (!Number.isInteger(st.cells) || st.cells < 0 || !Number.isInteger(st.channels) || st.channels < 1) {
        throw new TsnasError('config', `stage ${i} needs a cell count >= 0 and positive channels, got ${st.cells}x${st.channels}`);
      }
    });
    o.arch.cell.forEach((op, e) => {
      if (!Object.hasOwn(NB201_OPS, op)) throw new TsnasError('config', `cell edge ${e} has unknown operation '${op}', expected one of ${Object.keys(NB201_OPS).join(', ')}`);
    });
    if (o.arch.cell.length !== 6) throw new TsnasError('config', `the cell needs 6 edge operations, got ${o.arch.cell.length}`);
    this.arch = { cell: [...o.arch.cell], stages: o.arch.stages.map((st) => ({ ...st })) };
    let ch = o.arch.stages[0]!.channels;
    this.stem = this.registerModule('stem', new Sequential(new Conv2d(inChannels, ch, 3, { padding: 1, bias: false }), new BatchNorm2d(ch)));
    const cells: Module[] = [];
    o.arch.stages.forEach((stage, i) => {
      if (i > 0) {
        cells.push(new ResNetBasicblock(ch, stage.channels, 2));
        ch = stage.channels;
      }
      for (let k = 0; k < stage.cells; k++) cells.push(new NB201Cell(o.arch.cell, ch, ch));
    });
    this.cells = this.registerModule('cells', new ModuleList(cells));
    this.lastact = this.registerModule('lastact', new Sequential(new BatchNorm2d(ch), new ReLU()));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new Linear(ch, o.numClasses));
  }

  forward(x: Tensor): Tensor {
    let y = this.stem.call(x);
    for (const cell of this.cells) y = cell.call(y);
    const pooled = this.globalPooling.call(this.lastact.call(y));
    return this.classifier.call(pooled.view(pooled.size(0), -1));
  }
}
