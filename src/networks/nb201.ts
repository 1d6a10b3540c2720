// The NAS-Bench-201 network (XAutoDL's TinyNetwork with InferCell): a stem,
// three stages of N cells at C, 2C and 4C channels separated by residual
// reduction blocks, then BN, ReLU, global average pooling and a classifier.
// Module names follow XAutoDL, so its PyTorch state dicts load here.
import { Tensor } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, ReLU, Sequential } from '../nn/layers.js';
import { NB201_OPS, ResNetBasicblock, Zero, nb201Op } from '../nn/ops.js';
import { cellEdges, cellNodesOfEdgeCount, computedCellEdges } from '../spaces/nb201.js';

/** The cell's edges for these ops (n(n+1)/2 of them for n nodes); bad ops are config errors naming the edge. */
function checkOps(ops: readonly string[]): (readonly [number, number])[] {
  const nodes = Array.isArray(ops) ? cellNodesOfEdgeCount(ops.length) : undefined;
  if (nodes === undefined) {
    throw new TsnasError('config', `a NAS-Bench-201-style cell needs one operation per edge, n(n+1)/2 for n nodes (6 for NAS-Bench-201's 3), got ${Array.isArray(ops) ? ops.length : typeof ops}`);
  }
  const edges = cellEdges(nodes);
  ops.forEach((op, i) => {
    if (!Object.hasOwn(NB201_OPS, op)) {
      throw new TsnasError('config', `edge ${i} (node ${edges[i]![0]} <- ${edges[i]![1]}) has unknown operation "${op}"; ` +
        `expected one of ${Object.keys(NB201_OPS).join(', ')}`);
    }
  });
  return edges;
}

/** A NAS-Bench-201 cell: node j = sum over i < j of op_{j,i}(node i); the output is the last node (3 in NAS-Bench-201). */
export class NB201Cell extends Module {
  readonly layers: ModuleList<Module>;
  readonly ops: readonly string[];
  /** Edges as [to, from], one per op. */
  readonly edges: readonly (readonly [number, number])[];
  readonly inDim: number;
  readonly outDim: number;
  /** Nodes the output depends on; the others (reached only through "none" edges) are not computed. */
  readonly #live: boolean[];
  constructor(ops: readonly string[], cIn: number, cOut: number, stride = 1, affine = true, trackRunningStats = true) {
    super();
    this.edges = checkOps(ops);
    this.ops = [...ops];
    this.inDim = cIn;
    this.outDim = cOut;
    // Edges leaving the cell input change width and stride; the others keep cOut.
    this.layers = this.registerModule('layers', new ModuleList(ops.map((op, e) => {
      const from = this.edges[e]![1];
      return from === 0
        ? nb201Op(op, cIn, cOut, stride, affine, trackRunningStats)
        : nb201Op(op, cOut, cOut, 1, affine, trackRunningStats);
    })));
    this.#live = Array.from({ length: this.outputNode + 1 }, (_, j) => j === this.outputNode);
    for (const e of computedCellEdges(ops)) this.#live[this.edges[e]![1]] = true;
  }

  /** The node the cell returns: the last one. */
  get outputNode(): number {
    return this.edges[this.edges.length - 1]![0];
  }

  forward(x: Tensor): Tensor {
    const nodes: Tensor[] = [x];
    for (let j = 1; j <= this.outputNode; j++) {
      if (!this.#live[j]) {
        nodes.push(x); // placeholder, never read: no live node takes input from it
        continue;
      }
      let sum: Tensor | null = null;
      let zeroEdge = -1;
      for (let e = 0; e < this.edges.length; e++) {
        const [to, from] = this.edges[e]!;
        if (to !== j) continue;
        const layer = this.layers.at(e);
        // A "none" edge adds zeros: skip it unless every input of the node is none.
        if (layer instanceof Zero) {
          if (zeroEdge < 0) zeroEdge = e;
          continue;
        }
        const y = layer.call(nodes[from]!);
        if (!sum) sum = y;
        else {
          // Release the addends at once (see Sequential.forward); an edge may return its input (skip).
          const next: Tensor = sum.add(y);
          for (const t of [sum, y]) if (!nodes.includes(t) && !t.kept) t.dispose();
          sum = next;
        }
      }
      nodes.push(sum ?? this.layers.at(zeroEdge).call(nodes[this.edges[zeroEdge]![1]]!));
    }
    return nodes[this.outputNode]!;
  }
}

export interface NB201NetworkOptions {
  /** Operation names in NAS-Bench-201 edge order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2, then 4<-0... for larger cells). */
  ops: readonly string[];
  /** Channels of the first stage (NAS-Bench-201: 16). */
  C: number;
  /** Cells per stage (NAS-Bench-201: 5). */
  N: number;
  numClasses: number;
  /** Image channels: 3 for CIFAR and ImageNet16, 1 for (Fashion-)MNIST. */
  inChannels?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class NB201Network extends Module {
  readonly ops: readonly string[];
  readonly stem: Sequential;
  readonly cells: ModuleList<Module>;
  readonly lastact: Sequential;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly classifier: Linear;

  constructor(o: NB201NetworkOptions) {
    super();
    checkOps(o.ops);
    for (const [name, v] of [['C', o.C], ['N', o.N], ['numClasses', o.numClasses], ['inChannels', o.inChannels ?? 3]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TsnasError('config', `NB201 network ${name} must be a positive integer, got ${v}`);
    }
    const affine = o.affine ?? true;
    const track = o.trackRunningStats ?? true;
    this.ops = [...o.ops];
    const { C, N } = o;
    this.stem = this.registerModule('stem', new Sequential(
      new Conv2d(o.inChannels ?? 3, C, 3, { padding: 1, bias: false }),
      new BatchNorm2d(C),
    ));
    const cells: Module[] = [];
    let cPrev = C;
    for (const [stage, width] of [C, 2 * C, 4 * C].entries()) {
      if (stage > 0) {
        cells.push(new ResNetBasicblock(cPrev, width, 2, true));
        cPrev = width;
      }
      for (let i = 0; i < N; i++) {
        cells.push(new NB201Cell(o.ops, cPrev, width, 1, affine, track));
        cPrev = width;
      }
    }
    this.cells = this.registerModule('cells', new ModuleList(cells));
    this.lastact = this.registerModule('lastact', new Sequential(new BatchNorm2d(cPrev), new ReLU()));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new Linear(cPrev, o.numClasses));
  }

  /** The pooled features and the logits. */
  forwardWithFeatures(x: Tensor): { features: Tensor; logits: Tensor } {
    let feature = this.stem.call(x);
    for (const cell of this.cells) feature = cell.call(feature);
    const pooled = this.globalPooling.call(this.lastact.call(feature));
    const features = pooled.view(pooled.size(0), -1);
    return { features, logits: this.classifier.call(features) };
  }

  /** The blocks whose outputs are the network's successive feature maps: the stem, then every cell (AZ-NAS reads them). */
  featureBlocks(): Module[] {
    return [this.stem, ...this.cells];
  }

  /** Logits [batch, numClasses]. */
  forward(x: Tensor): Tensor {
    return this.forwardWithFeatures(x).logits;
  }
}
