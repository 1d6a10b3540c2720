// Supernets: every labelled choice becomes a mixed operation holding all its
// candidates. Mixed operations with the same label share one architecture
// state (parameters or sampled path), kept in ArchitectureChoices. How the
// candidates are mixed is a MixingStrategy with three hooks a strategy
// overrides: getWeights (raw architecture parameters), processWeights (raw ->
// what this forward pass uses: softmax, hard Gumbel sample, sampled path)
// and applyWeights (combine candidate outputs: weighted sum, single path,
// partial channels).
import { TsnasError } from '../errors.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ModuleList, ReLU, Sequential } from '../nn/layers.js';
import { Module, type AnyModule } from '../nn/module.js';
import { nb201Op, ResNetBasicblock } from '../nn/ops.js';
import { cat, rand, randn, type Tensor } from '../tensor/index.js';
import type { Rng } from '../util/random.js';
import { cellEdges, NB201_DEFAULT_CONFIG, nb201EdgeLabel, nb201Space, type Nb201Config, type Nb201Space } from './nb201.js';
import type { Sample, Value } from './types.js';

/**
 * What one forward pass mixes with: all candidates weighted, or a single
 * candidate, optionally scaled and shifted for straight-through gradients
 * (`offset`: a value-0 term that carries the gradient of the candidates not
 * taken, as GDAS's reference code adds their hard weights).
 */
export type MixingWeights = { kind: 'dense'; weights: Tensor } | { kind: 'single'; index: number; scale?: Tensor; offset?: Tensor };

/** A single path's output y times its straight-through scale, plus its offset. */
export function straightThrough(y: Tensor, w: { scale?: Tensor; offset?: Tensor }): Tensor {
  const scaled = w.scale ? y.mul(w.scale) : y;
  return w.offset ? scaled.add(w.offset) : scaled;
}

/** How α becomes a forward's mixing weights, and the weights it stands for (recorded, derived from). */
export interface AlphaWeighting {
  /** This forward's weights (softmax, or a draw such as DrNAS's Dirichlet sample). */
  forward(alpha: Tensor): Tensor;
  /** The expected weights: softmax(α), or the Dirichlet mean. */
  mean(alpha: Tensor): Tensor;
}

export const SOFTMAX_WEIGHTING: AlphaWeighting = { forward: (a) => a.softmax(0), mean: (a) => a.softmax(0) };

export abstract class MixingStrategy {
  protected readonly labels = new Map<string, readonly Value[]>();

  /** Called once per label when the first mixed op with that label is built. */
  setup(label: string, values: readonly Value[]): void {
    this.labels.set(label, values);
  }
  /** Whether setup() has run for this label (a strategy moved to another supernet keeps its state). */
  knows(label: string): boolean {
    return this.labels.has(label);
  }
  /** Raw architecture parameters of a label (null for sampling-only strategies). */
  getWeights(_label: string): Tensor | null {
    return null;
  }
  /** Turns the raw parameters into this forward pass's mixing weights; called once per label per forward. */
  abstract processWeights(label: string, raw: Tensor | null): MixingWeights;
  /** Combines the candidates of one mixed op for input x. */
  applyWeights(op: MixedOp, x: Tensor, w: MixingWeights): Tensor {
    if (w.kind === 'single') return straightThrough(op.candidate(w.index).call(x), w);
    let sum: Tensor | null = null;
    for (let i = 0; i < op.candidates.length; i++) {
      const y = op.candidate(i).call(x).mul(w.weights.select(0, i));
      sum = sum ? sum.add(y) : y;
    }
    return sum!;
  }
  /** The index a label would export now (argmax of its parameters, or the current path). */
  abstract chosenIndex(label: string): number;
  /** Channels the candidates work on when the mixed op sees c channels (PC-DARTS uses a fraction). */
  candidateChannels(c: number): number {
    return c;
  }
  /** Every architecture parameter, for the architecture optimizer. */
  architectureParameters(): Tensor[] {
    return [];
  }
  dispose(): void {}
}

/** DARTS: a parameter vector per label (init 1e-3·N(0,1)), softmax mixing (or another weighting), argmax export. */
export class DartsMixing extends MixingStrategy {
  protected readonly alphas = new Map<string, Tensor>();
  /** α -> mixing weights; the argmax of α is exported whatever the weighting, so it must be monotone in α. */
  weighting: AlphaWeighting = SOFTMAX_WEIGHTING;

  override setup(label: string, values: readonly Value[]): void {
    super.setup(label, values);
    const init = randn([values.length]);
    const alpha = init.mul(1e-3);
    init.dispose();
    alpha.requiresGrad = true;
    this.alphas.set(label, alpha.keep());
  }
  override getWeights(label: string): Tensor {
    const a = this.alphas.get(label);
    if (!a) throw new TsnasError('internal', `no architecture parameters for label '${label}'`);
    return a;
  }
  processWeights(_label: string, raw: Tensor | null): MixingWeights {
    return { kind: 'dense', weights: this.weighting.forward(raw!) };
  }
  chosenIndex(label: string): number {
    const a = this.getWeights(label);
    const values = a.toArray();
    return values.indexOf(Math.max(...values));
  }
  override architectureParameters(): Tensor[] {
    return [...this.alphas.values()];
  }
  /** Parameters by label (for logging and checkpoints). */
  namedArchitectureParameters(): [string, Tensor][] {
    return [...this.alphas.entries()];
  }
  override dispose(): void {
    for (const a of this.alphas.values()) a.dispose();
    this.alphas.clear();
  }
}

export interface GdasOptions {
  /** 'hard' (GDAS: one sampled candidate, straight-through) or 'soft' (the Gumbel-softmax weights mix every candidate). */
  mode?: 'hard' | 'soft';
  /**
   * Hard mode: 'all' (GDAS's reference code: every candidate's hard weight
   * enters the forward, the ones not taken as a value-0 term, so α's
   * gradient is ∝ g_a − S rather than ∝ g_a) or 'sampled' (only the taken
   * candidate is scaled; the others get no gradient). Default 'all'.
   */
  gradient?: 'all' | 'sampled';
}

/** GDAS: Gumbel-softmax over log softmax(α) at temperature τ; hard (one candidate, straight-through) or soft. */
export class GdasMixing extends DartsMixing {
  readonly mode: 'hard' | 'soft';
  readonly gradient: 'all' | 'sampled';

  constructor(public tau = 10, o: GdasOptions = {}) {
    super();
    this.mode = o.mode ?? 'hard';
    this.gradient = o.gradient ?? 'all';
  }
  override processWeights(_label: string, raw: Tensor | null): MixingWeights {
    const n = raw!.size(0);
    const u = rand([n]);
    const gumbel = u.add(1e-20).log().neg().add(1e-20).log().neg();
    const soft = raw!.logSoftmax(0).add(gumbel).div(this.tau).softmax(0);
    if (this.mode === 'soft') return { kind: 'dense', weights: soft };
    const probs = soft.toArray();
    const index = probs.indexOf(Math.max(...probs));
    // hard - soft.detach() + soft: the forward uses 1 at index (0 elsewhere), the backward soft's gradient.
    const hard = soft.sub(soft.detach());
    const scale = hard.select(0, index).add(1);
    if (this.gradient === 'sampled') return { kind: 'single', index, scale };
    // Σ of the hard weights not taken: 0 in value, so the output is unchanged.
    const offset = hard.sum().sub(hard.select(0, index));
    return { kind: 'single', index, scale, offset };
  }
}

/** PC-DARTS: softmax mixing on 1/k of the channels; the rest bypass, then channels are shuffled. */
export class PcDartsMixing extends DartsMixing {
  constructor(public readonly k = 4) {
    super();
  }
  override candidateChannels(c: number): number {
    if (c % this.k !== 0) throw new TsnasError('config', `PC-DARTS needs channels divisible by k=${this.k}, found ${c}`);
    return c / this.k;
  }
  override applyWeights(op: MixedOp, x: Tensor, w: MixingWeights): Tensor {
    const c = x.size(1);
    const part = c / this.k;
    const mixed = super.applyWeights(op, x.narrow(1, 0, part), w);
    if (mixed.size(2) !== x.size(2)) throw new TsnasError('internal', 'PC-DARTS partial channels here support stride-1 mixed ops only');
    const joined = cat([mixed, x.narrow(1, part, c - part)], 1);
    const [b, , h, wd] = joined.shape as [number, number, number, number];
    return joined.view(b, this.k, part, h, wd).transpose(1, 2).contiguous().view(b, c, h, wd);
  }
}

/** SPOS and other one-shot methods: a uniformly sampled single path, no architecture parameters. */
export class SinglePathMixing extends MixingStrategy {
  protected readonly path = new Map<string, number>();

  override setup(label: string, values: readonly Value[]): void {
    super.setup(label, values);
    this.path.set(label, 0);
  }
  /** Draws a new path: one candidate per label, uniformly. */
  resample(rng: Rng): void {
    for (const [label, values] of this.labels) this.path.set(label, rng.int(values.length));
  }
  /** Fixes the path to a sample's choices (e.g. to evaluate a subnet with inherited weights). */
  setPath(s: Sample): void {
    for (const [label, values] of this.labels) {
      const k = values.indexOf(s[label]!);
      if (k < 0) throw new TsnasError('usage', `sample has ${label}=${String(s[label])}, expected one of ${values.join(', ')}`);
      this.path.set(label, k);
    }
  }
  processWeights(label: string): MixingWeights {
    return { kind: 'single', index: this.path.get(label)! };
  }
  chosenIndex(label: string): number {
    return this.path.get(label)!;
  }
}

/** The shared per-label state of a supernet: candidates per label and this forward's weights. */
export class ArchitectureChoices {
  readonly labels = new Map<string, readonly Value[]>();
  #current = new Map<string, MixingWeights>();
  #mixing: MixingStrategy;

  constructor(mixing: MixingStrategy) {
    this.#mixing = mixing;
  }

  get mixing(): MixingStrategy {
    return this.#mixing;
  }

  /**
   * Mixes with another strategy from the next forward on; it is set up for
   * every registered label it does not know yet. The previous strategy is
   * returned, not disposed. Candidates built for a channel split
   * (candidateChannels) are not rebuilt: the caller checks the split fits.
   */
  setMixing(mixing: MixingStrategy): MixingStrategy {
    const previous = this.#mixing;
    for (const [label, values] of this.labels) if (!mixing.knows(label)) mixing.setup(label, values);
    this.#mixing = mixing;
    this.#current = new Map();
    return previous;
  }

  register(label: string, values: readonly Value[]): void {
    const known = this.labels.get(label);
    if (known) {
      if (known.length !== values.length || known.some((v, i) => v !== values[i])) {
        throw new TsnasError('internal', `label '${label}' is registered with two different candidate lists`);
      }
      return;
    }
    this.labels.set(label, values);
    this.mixing.setup(label, values);
  }

  /** Starts a forward pass: labels get fresh weights (a new Gumbel sample, the current path...). */
  beginForward(): void {
    this.#current = new Map();
  }

  weightsFor(label: string): MixingWeights {
    let w = this.#current.get(label);
    if (!w) {
      w = this.mixing.processWeights(label, this.mixing.getWeights(label));
      this.#current.set(label, w);
    }
    return w;
  }

  /** The sample the supernet currently stands for (argmax or current path). */
  exportSample(): Sample {
    const s: Record<string, Value> = {};
    for (const [label, values] of this.labels) s[label] = values[this.mixing.chosenIndex(label)]!;
    return s;
  }
}

/** All candidates of one labelled choice. */
export class MixedOp extends Module {
  readonly candidates: ModuleList<AnyModule>;

  constructor(
    readonly label: string,
    readonly values: readonly Value[],
    build: (value: Value, index: number) => AnyModule,
    readonly choices: ArchitectureChoices,
  ) {
    super();
    choices.register(label, values);
    this.candidates = this.registerModule('candidates', new ModuleList(values.map((v, i) => build(v, i))));
  }

  candidate(i: number): AnyModule {
    return this.candidates.at(i);
  }

  forward(x: Tensor): Tensor {
    return this.choices.mixing.applyWeights(this, x, this.choices.weightsFor(this.label));
  }
}

export interface Nb201SearchCellOptions {
  /** Prefix of the edge labels (default none: the nb201 space's own labels). */
  labelPrefix?: string;
  /** The cell's nodes and ops (default NAS-Bench-201's: 3 nodes, its 5 ops). */
  cell?: Required<Nb201Config>;
  /** Affine batch norm in the conv candidates (default false, as DARTS-style search cells). */
  affine?: boolean;
}

/** A NAS-Bench-201 search cell: each edge a MixedOp labelled like the nb201 space (edge_{to}_{from}). */
export class Nb201SearchCell extends Module {
  readonly edges: ModuleList<MixedOp>;
  /** [to, from] of each edge. */
  readonly #ends: readonly (readonly [number, number])[];

  constructor(c: number, choices: ArchitectureChoices, o: Nb201SearchCellOptions = {}) {
    super();
    const inner = choices.mixing.candidateChannels(c);
    const affine = o.affine ?? false;
    const cell = o.cell ?? NB201_DEFAULT_CONFIG;
    this.#ends = cellEdges(cell.nodes);
    this.edges = this.registerModule(
      'edges',
      new ModuleList(
        this.#ends.map(([to, from]) => new MixedOp(nb201EdgeLabel(to, from, o.labelPrefix), cell.ops,
          (op) => nb201Op(String(op), inner, inner, 1, affine, true), choices)),
      ),
    );
  }

  /** A node's value from the sum of its incoming edges (subclasses mask it). */
  protected node(sum: Tensor): Tensor {
    return sum;
  }

  forward(x: Tensor): Tensor {
    const nodes: Tensor[] = [x];
    const output = this.#ends[this.#ends.length - 1]![0];
    for (let j = 1; j <= output; j++) {
      let sum: Tensor | null = null;
      this.#ends.forEach(([to, from], e) => {
        if (to !== j) return;
        const y = this.edges.at(e).call(nodes[from]!);
        sum = sum ? sum.add(y) : y;
      });
      nodes.push(this.node(sum!));
    }
    return nodes[output]!;
  }
}

export interface Nb201SupernetOptions {
  C: number;
  N: number;
  numClasses: number;
  inChannels?: number;
  mixing: MixingStrategy;
  /** The space whose cell it searches (default NAS-Bench-201's own). */
  space?: Nb201Space;
}

/** NAS-Bench-201's skeleton with search cells; all cells share the edge labels' architecture state. */
export class Nb201Supernet extends Module {
  readonly choices: ArchitectureChoices;
  readonly space: Nb201Space;
  readonly stem: Sequential;
  readonly cells: ModuleList<AnyModule>;
  readonly lastact: Sequential;
  readonly globalPooling: AdaptiveAvgPool2d;
  readonly classifier: Linear;

  constructor(o: Nb201SupernetOptions) {
    super();
    const { C, N } = o;
    // Check the channel split before any weights exist, so a bad config leaks nothing.
    for (const width of [C, 2 * C, 4 * C]) o.mixing.candidateChannels(width);
    this.space = o.space ?? nb201Space();
    this.choices = new ArchitectureChoices(o.mixing);
    this.stem = this.registerModule('stem', new Sequential(new Conv2d(o.inChannels ?? 3, C, 3, { padding: 1, bias: false }), new BatchNorm2d(C)));
    const cells: AnyModule[] = [];
    let prev = C;
    for (const [stage, width] of [C, 2 * C, 4 * C].entries()) {
      if (stage > 0) {
        cells.push(new ResNetBasicblock(prev, width, 2, true));
        prev = width;
      }
      for (let i = 0; i < N; i++) cells.push(new Nb201SearchCell(width, this.choices, { cell: this.space.config }));
    }
    this.cells = this.registerModule('cells', new ModuleList(cells));
    this.lastact = this.registerModule('lastact', new Sequential(new BatchNorm2d(prev), new ReLU()));
    this.globalPooling = this.registerModule('global_pooling', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule('classifier', new Linear(prev, o.numClasses));
  }

  forward(x: Tensor): Tensor {
    this.choices.beginForward();
    let h = this.stem.call(x);
    for (const cell of this.cells) h = cell.call(h);
    const pooled = this.globalPooling.call(this.lastact.call(h));
    return this.classifier.call(pooled.view(pooled.size(0), -1));
  }

  /** The network weights, without the architecture parameters. */
  weightParameters(): Tensor[] {
    return this.parameters();
  }

  /** The nb201 sample the supernet currently stands for. */
  exportSample(): Sample {
    return this.space.fromJSON(this.choices.exportSample());
  }

  override dispose(): void {
    super.dispose();
    this.choices.mixing.dispose();
  }
}
