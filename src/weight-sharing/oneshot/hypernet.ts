// SMASH's network (Brock et al. 2018) on the NAS-Bench-201 cell space: the
// NB201 body (stem, three stages of N cells, residual reductions, classifier)
// whose cell convolutions have no weights of their own. A hypernetwork
// generates every convolution kernel of the current architecture from its
// encoding (one-hot op per edge) and the kernel's slot (stage, cell, edge,
// kernel size), so one set of hypernetwork weights serves every cell and
// gradients of the main network's loss train the hypernetwork.
//
// Simplified from the paper at CPU scale: an MLP (a shared trunk and one
// output head per stage and kernel size) in place of the memory-bank view
// and its embedding slices; the stem, the reduction blocks and the classifier
// are ordinary learned layers; the cells' batch norms have no affine
// parameters (nothing per architecture is learned outside the hypernetwork),
// and their running statistics are re-estimated per evaluated architecture.
import { configError } from '../../errors.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, ReLU, Sequential } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { ResNetBasicblock } from '../../nn/ops.js';
import { NB201_EDGES, NB201_OPS } from '../../spaces/nb201.js';
import { avgPool2d, conv2d, tensor, type Tensor } from '../../tensor/index.js';

export interface HyperNetworkOptions {
  /** Channels of the first stage (then 2C, 4C). */
  C: number;
  /** Cells per stage. */
  N: number;
  numClasses: number;
  inChannels: number;
  /** Width of the hypernetwork's hidden layer (default 64). */
  hidden?: number;
}

const KERNELS = { nor_conv_1x1: 1, nor_conv_3x3: 3 } as const;
const isConv = (op: string): op is keyof typeof KERNELS => Object.hasOwn(KERNELS, op);
const CODE_SIZE = NB201_EDGES.length * NB201_OPS.length;

/** The architecture encoding: one-hot of each edge's operation, edges in NB201 order (6 × 5 values). */
export function architectureCode(ops: readonly string[]): number[] {
  if (ops.length !== NB201_EDGES.length) throw configError(`expected ${NB201_EDGES.length} edge operations, got ${ops.length}`, 'arch');
  const code = new Array<number>(CODE_SIZE).fill(0);
  ops.forEach((op, e) => {
    const k = (NB201_OPS as readonly string[]).indexOf(op);
    if (k < 0) throw configError(`edge ${e} has unknown operation '${op}', expected one of ${NB201_OPS.join(', ')}`, 'arch');
    code[e * NB201_OPS.length + k] = 1;
  });
  return code;
}

/** A convolution the hypernetwork generates: where it sits and its kernel size. */
interface Slot {
  stage: number;
  cell: number;
  edge: number;
  kernel: 1 | 3;
}

/** The cell body of SMASH with its hypernetwork; `setOps` picks the architecture every forward runs. */
export class HyperNetwork extends Module {
  readonly C: number;
  readonly N: number;
  readonly stem: Sequential;
  readonly reductions: ModuleList<ResNetBasicblock>;
  /** Batch norm after each generated convolution, by slot key (no affine: the hypernetwork owns all cell weights). */
  readonly norms: ModuleList<BatchNorm2d>;
  readonly trunk: Linear;
  /** One output layer per stage and kernel size (index stage · 2 + (kernel 3 ? 1 : 0)). */
  readonly heads: ModuleList<Linear>;
  readonly lastact: Sequential;
  readonly pooling = new AdaptiveAvgPool2d(1);
  readonly classifier: Linear;
  #ops: string[] = ['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3'];

  constructor(o: HyperNetworkOptions) {
    super();
    for (const [name, v] of [['C', o.C], ['N', o.N], ['numClasses', o.numClasses], ['inChannels', o.inChannels], ['hidden', o.hidden ?? 64]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw configError(`expected a positive integer, got ${v}`, name);
    }
    const { C, N } = o;
    const hidden = o.hidden ?? 64;
    this.C = C;
    this.N = N;
    const widths = [C, 2 * C, 4 * C];
    this.stem = this.registerModule('stem', new Sequential(new Conv2d(o.inChannels, C, 3, { padding: 1, bias: false }), new BatchNorm2d(C)));
    this.reductions = this.registerModule('reductions', new ModuleList([new ResNetBasicblock(C, 2 * C, 2), new ResNetBasicblock(2 * C, 4 * C, 2)]));
    this.norms = this.registerModule('norms', new ModuleList(this.#allSlots().map((s) => new BatchNorm2d(widths[s.stage]!, { affine: false }))));
    this.trunk = this.registerModule('trunk', new Linear(this.#inputSize, hidden));
    this.heads = this.registerModule('heads', new ModuleList(widths.flatMap((w) => [1, 3].map((k) => new Linear(hidden, w * w * k * k)))));
    this.lastact = this.registerModule('lastact', new Sequential(new BatchNorm2d(4 * C), new ReLU()));
    this.classifier = this.registerModule('classifier', new Linear(4 * C, o.numClasses));
  }

  /** Architecture code, then one-hots of stage, cell within the stage, edge and kernel size. */
  get #inputSize(): number {
    return CODE_SIZE + 3 + this.N + NB201_EDGES.length + 2;
  }

  /** Every slot a generated convolution can take, in a fixed order (the norms' order). */
  #allSlots(): Slot[] {
    const slots: Slot[] = [];
    for (let stage = 0; stage < 3; stage++) {
      for (let cell = 0; cell < this.N; cell++) {
        for (let edge = 0; edge < NB201_EDGES.length; edge++) for (const kernel of [1, 3] as const) slots.push({ stage, cell, edge, kernel });
      }
    }
    return slots;
  }

  #slotIndex(s: Slot): number {
    return ((s.stage * this.N + s.cell) * NB201_EDGES.length + s.edge) * 2 + (s.kernel === 3 ? 1 : 0);
  }

  get ops(): readonly string[] {
    return this.#ops;
  }

  /** The architecture (6 ops in NB201 edge order) that forward runs and generates weights for. */
  setOps(ops: readonly string[]): void {
    architectureCode(ops);
    this.#ops = [...ops];
  }

  /**
   * The kernels of an architecture's convolutions, by slot: weights[stage][cell][edge]
   * is [W, W, k, k] for a convolution edge (W the stage's width) and null otherwise.
   * They are outputs of the hypernetwork, so the loss's gradient reaches it.
   */
  generate(ops: readonly string[]): (Tensor | null)[][][] {
    const code = architectureCode(ops);
    const widths = [this.C, 2 * this.C, 4 * this.C];
    const weights = widths.map(() => Array.from({ length: this.N }, () => new Array<Tensor | null>(NB201_EDGES.length).fill(null)));
    for (let stage = 0; stage < 3; stage++) {
      for (const kernel of [1, 3] as const) {
        const slots: Slot[] = [];
        for (let cell = 0; cell < this.N; cell++) {
          ops.forEach((op, edge) => {
            if (isConv(op) && KERNELS[op] === kernel) slots.push({ stage, cell, edge, kernel });
          });
        }
        if (slots.length === 0) continue;
        // One batched pass per head: a row per slot.
        const rows = slots.flatMap((s) => [...code, ...oneHot(3, s.stage), ...oneHot(this.N, s.cell), ...oneHot(NB201_EDGES.length, s.edge), ...oneHot(2, kernel === 3 ? 1 : 0)]);
        const input = tensor(Float32Array.from(rows), [slots.length, this.#inputSize]);
        const out = this.heads.at(stage * 2 + (kernel === 3 ? 1 : 0)).call(this.trunk.call(input).relu());
        const w = widths[stage]!;
        slots.forEach((s, i) => (weights[stage]![s.cell]![s.edge] = out.select(0, i).view(w, w, kernel, kernel)));
      }
    }
    return weights;
  }

  forward(x: Tensor): Tensor {
    const weights = this.generate(this.#ops);
    let h = this.stem.call(x);
    for (let stage = 0; stage < 3; stage++) {
      if (stage > 0) h = this.reductions.at(stage - 1).call(h);
      for (let cell = 0; cell < this.N; cell++) h = this.#cell(h, stage, cell, weights[stage]![cell]!);
    }
    const pooled = this.pooling.call(this.lastact.call(h));
    return this.classifier.call(pooled.view(pooled.size(0), -1));
  }

  /** An NB201 cell: node j is the sum over i < j of op(node i); a node with only `none` inputs is zeros. */
  #cell(x: Tensor, stage: number, cell: number, weights: (Tensor | null)[]): Tensor {
    const nodes: Tensor[] = [x];
    for (let j = 1; j <= 3; j++) {
      let sum: Tensor | null = null;
      NB201_EDGES.forEach(([to, from], edge) => {
        if (to !== j) return;
        const op = this.#ops[edge]!;
        const input = nodes[from]!;
        let y: Tensor | null = null;
        if (op === 'skip_connect') y = input;
        else if (op === 'avg_pool_3x3') y = avgPool2d(input, 3, { stride: 1, padding: 1, countIncludePad: false });
        else if (isConv(op)) {
          const kernel = KERNELS[op];
          const norm = this.norms.at(this.#slotIndex({ stage, cell, edge, kernel }));
          y = norm.call(conv2d(input.relu(), weights[edge]!, null, { padding: (kernel - 1) / 2 }));
        }
        if (y) sum = sum ? sum.add(y) : y;
      });
      nodes.push(sum ?? x.mul(0));
    }
    return nodes[3]!;
  }
}

function oneHot(n: number, k: number): number[] {
  const v = new Array<number>(n).fill(0);
  v[k] = 1;
  return v;
}
