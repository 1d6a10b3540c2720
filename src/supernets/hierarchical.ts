// The hierarchical space's supernet. Micro: every cell is a NAS-Bench-201
// search cell whose 6 edges are MixedOps labelled cell_edge_{to}_{from}, so
// all cells of every stage share one architecture state per edge (as the
// nb201 supernet). Macro, by weight sharing at the largest size:
//   stage{s}_channels: tensors are max width; a channel mask keeps the first
//     c channels after the stem, every edge, every reduction block and the
//     final batch norm (batch norm acts per channel, so a single path
//     computes exactly the sliced network). Dense: the mask Σ_c w_c·mask_c.
//   stage{s}_cells: the first n cells of the stage's deepest stack. Dense:
//     Σ_n w_n·(output after n cells).
//   stages: stages beyond the count are skipped. Dense: the classifier reads
//     Σ_n w_n·(pooled features after n stages).
// Stage s > 0 starts with a stride-2 residual block, as the fixed network.
import { TsnasError } from '../errors.js';
import { BatchNorm2d, Conv2d, Linear, ModuleList, ReLU, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { ResNetBasicblock } from '../nn/ops.js';
import { HierarchicalNetwork } from '../networks/hierarchical.js';
import { adaptiveAvgPool2d, type Tensor } from '../tensor/index.js';
import type { HierarchicalSpace } from '../spaces/hierarchical.js';
import { NB201_OPS } from '../spaces/nb201.js';
import { ArchitectureChoices, Nb201SearchCell, SinglePathMixing, type MixingStrategy } from '../spaces/supernet.js';
import type { Sample } from '../spaces/types.js';
import { SpaceSupernet, channelMask, copyIntoFixed, mixCandidates, registerSpaceLabels, requireFullChannels } from './common.js';

export interface HierarchicalSupernetOptions {
  numClasses: number;
  /** Image channels; default 3. */
  inChannels?: number;
  /** Default: single-path mixing. */
  mixing?: MixingStrategy;
}

const CELL_PREFIX = 'cell_';

/** The (mixed) channel mask of a stage's width label. */
type WidthMask = (like: Tensor) => Tensor;

/** An NB-201 search cell at the max width whose every node is masked to the stage's width. */
export class MaskedNb201SearchCell extends Nb201SearchCell {
  constructor(c: number, choices: ArchitectureChoices, readonly mask: WidthMask) {
    super(c, choices, { labelPrefix: CELL_PREFIX, affine: true });
  }
  // A batch norm's shift would leak into the masked channels and, through the next conv, into the kept ones.
  protected override node(sum: Tensor): Tensor {
    return sum.mul(this.mask(sum));
  }
}

/** NAS-Bench-201's stride-2 residual block at the max width, masked after each conv path (same parameter names). */
class MaskedResNetBlock extends ResNetBasicblock {
  constructor(c: number, readonly mask: WidthMask) {
    super(c, c, 2);
  }
  override forward(x: Tensor): Tensor {
    const a = this.convA.call(x);
    const block = this.convB.call(a.mul(this.mask(a)));
    const sum = this.downsample!.call(x).add(block);
    return sum.mul(this.mask(sum));
  }
}

export class HierarchicalSupernet extends SpaceSupernet {
  declare readonly space: HierarchicalSpace;
  readonly numClasses: number;
  readonly inChannels: number;
  readonly maxChannels: number;
  readonly stem: Sequential;
  /** Per stage: a reduction block (stages after the first) and the deepest stack of cells. */
  readonly stages: ModuleList<Module>;
  readonly lastact: Sequential;
  readonly classifier: Linear;

  constructor(space: HierarchicalSpace, o: HierarchicalSupernetOptions) {
    const mixing = o.mixing ?? new SinglePathMixing();
    const cfg = space.config;
    const inChannels = o.inChannels ?? 3;
    for (const [name, v] of [['numClasses', o.numClasses], ['inChannels', inChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `hierarchical supernet ${name} must be a positive integer, got ${v}`);
    }
    if (cfg.cellsPerStage.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new TsnasError('config', `cellsPerStage must be integers >= 0, found ${cfg.cellsPerStage.join(', ')}`, { where: 'space hierarchical' });
    }
    const maxChannels = Math.max(...cfg.channels);
    requireFullChannels(mixing, [maxChannels], 'hierarchical');
    const choices = new ArchitectureChoices(mixing);
    registerSpaceLabels(space, choices);
    super(space, choices);
    this.numClasses = o.numClasses;
    this.inChannels = inChannels;
    this.maxChannels = maxChannels;
    const C = maxChannels;
    this.stem = this.registerModule('stem', new Sequential(new Conv2d(inChannels, C, 3, { padding: 1, bias: false }), new BatchNorm2d(C)));
    const maxStages = Math.max(...cfg.stageCounts);
    const maxCells = Math.max(...cfg.cellsPerStage);
    const stages: Module[] = [];
    for (let s = 0; s < maxStages; s++) {
      const mask = this.widthMask(s);
      const stage = new StageModules();
      stage.reduce = stage.registerModule('reduce', s > 0 ? new MaskedResNetBlock(C, mask) : null);
      stage.cells = stage.registerModule('cells', new ModuleList(Array.from({ length: maxCells }, () => new MaskedNb201SearchCell(C, choices, mask))));
      stages.push(stage);
    }
    this.stages = this.registerModule('stages', new ModuleList(stages));
    this.lastact = this.registerModule('lastact', new Sequential(new BatchNorm2d(C), new ReLU()));
    this.classifier = this.registerModule('classifier', new Linear(C, o.numClasses));
  }

  private widthMask(stage: number): WidthMask {
    const values = this.space.config.channels;
    return (like) => mixCandidates(this.choices.weightsFor(`stage${stage}_channels`), (i) => channelMask(this.maxChannels, values[i]!, like), values.length);
  }

  protected mixedWidths(): number[] {
    return [this.maxChannels];
  }

  protected forwardNetwork(x: Tensor): Tensor {
    const { stageCounts, cellsPerStage } = this.space.config;
    const sw = this.choices.weightsFor('stages');
    const lastStage = sw.kind === 'single' ? stageCounts[sw.index]! : Math.max(...stageCounts);
    const features = new Map<number, Tensor>();
    let h = this.stem.call(x);
    h = h.mul(this.widthMask(0)(h));
    for (let s = 0; s < lastStage; s++) {
      const stage = this.stages.at(s) as StageModules;
      if (stage.reduce) h = stage.reduce.call(h);
      const cw = this.choices.weightsFor(`stage${s}_cells`);
      const lastCell = cw.kind === 'single' ? cellsPerStage[cw.index]! : Math.max(...cellsPerStage);
      const outputs = new Map<number, Tensor>([[0, h]]);
      for (let c = 0; c < lastCell; c++) {
        h = stage.cells!.at(c).call(h);
        outputs.set(c + 1, h);
      }
      h = mixCandidates(cw, (k) => outputs.get(cellsPerStage[k]!)!, cellsPerStage.length);
      const count = s + 1;
      if (stageCounts.includes(count) && (sw.kind === 'dense' || count === lastStage)) {
        const act = this.lastact.call(h);
        const pooled = adaptiveAvgPool2d(act.mul(this.widthMask(s)(act)), 1);
        features.set(count, pooled.view(pooled.size(0), -1));
      }
    }
    return this.classifier.call(mixCandidates(sw, (k) => features.get(stageCounts[k]!)!, stageCounts.length));
  }

  /** The fixed HierarchicalNetwork of a sample (default: the exported one) with its slices of the shared weights copied in. */
  extract(s: Sample = this.exportSample()): HierarchicalNetwork {
    const arch = this.space.archOf(s);
    const fixed = new HierarchicalNetwork({ arch, numClasses: this.numClasses, inChannels: this.inChannels });
    // Fixed cells.{j} -> supernet module path.
    const paths: string[] = [];
    arch.stages.forEach((stage, st) => {
      if (st > 0) paths.push(`stages.${st}.reduce`);
      for (let c = 0; c < stage.cells; c++) paths.push(`stages.${st}.cells.${c}`);
    });
    try {
      copyIntoFixed(fixed, this, (key) => {
        const m = /^cells\.(\d+)\.(.+)$/.exec(key);
        if (!m) return key;
        const path = paths[Number(m[1])]!;
        const edge = /^layers\.(\d+)\.(.+)$/.exec(m[2]!);
        if (!edge) return `${path}.${m[2]}`;
        const e = Number(edge[1]);
        return `${path}.edges.${e}.candidates.${NB201_OPS.indexOf(arch.cell[e] as (typeof NB201_OPS)[number])}.${edge[2]}`;
      });
    } catch (e) {
      fixed.dispose();
      throw e;
    }
    fixed.train(this.training);
    return fixed;
  }
}

/** One stage's modules (a holder: the supernet's forward runs them). */
class StageModules extends Module {
  reduce: MaskedResNetBlock | null = null;
  cells: ModuleList<MaskedNb201SearchCell> | null = null;
  forward(x: Tensor): Tensor {
    return x;
  }
}
