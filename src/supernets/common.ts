// What every space's supernet shares: one ArchitectureChoices (a label's
// architecture state is shared by every place that reads the label), a
// swappable MixingStrategy, export of the current choice as a sample of the
// space, single-path selection of a sample, and the small tensor helpers the
// elastic (weight-sharing) layers use: channel masks, centre kernel crops,
// and copying slices of the shared weights into a fixed network.
import { TsnasError } from '../errors.js';
import { BatchNorm2d } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { batchNorm, cat, noGrad, tensor, tidy, zeros, type Tensor } from '../tensor/index.js';
import type { Rng } from '../util/random.js';
import type { DefinedSpace } from '../spaces/space.js';
import { ArchitectureChoices, DartsMixing, SinglePathMixing, straightThrough, type MixingStrategy, type MixingWeights } from '../spaces/supernet.js';
import type { Sample, Value } from '../spaces/types.js';

/** A supernet of a search space: forward mixes (dense) or follows one path (single), as its mixing strategy says. */
export abstract class SpaceSupernet extends Module {
  constructor(
    readonly space: DefinedSpace,
    readonly choices: ArchitectureChoices,
  ) {
    super();
  }

  get mixing(): MixingStrategy {
    return this.choices.mixing;
  }

  /** Every label with its candidate values, in the space's dimension order. */
  labels(): ReadonlyMap<string, readonly Value[]> {
    return this.choices.labels;
  }

  /** One architecture parameter per label (DARTS-style mixings; [] for sampling-only ones). */
  namedArchitectureParameters(): [string, Tensor][] {
    return this.mixing instanceof DartsMixing ? this.mixing.namedArchitectureParameters() : [];
  }

  architectureParameters(): Tensor[] {
    return this.mixing.architectureParameters();
  }

  /** The network weights, without the architecture parameters. */
  weightParameters(): Tensor[] {
    return this.parameters();
  }

  /**
   * Channels of the tensors each mixed op sees; a strategy that splits them
   * (PC-DARTS) must give back the same split as the one the supernet was built with.
   */
  protected abstract mixedWidths(): number[];

  /**
   * Mixes with another strategy from the next forward on (e.g. DARTS while
   * searching, single path to evaluate a sample). The supernet owns the
   * strategy it holds (dispose() frees it); the previous one is returned and
   * is the caller's to dispose or reuse.
   */
  setMixing(mixing: MixingStrategy): MixingStrategy {
    for (const c of this.mixedWidths()) {
      if (mixing.candidateChannels(c) !== this.mixing.candidateChannels(c)) {
        throw new TsnasError('config', `${mixing.constructor.name} works on ${mixing.candidateChannels(c)} of ${c} channels, but this ${this.space.name} supernet was built for ${this.mixing.candidateChannels(c)}`);
      }
    }
    return this.choices.setMixing(mixing);
  }

  /** Fixes the single path to a sample of the space (labels the sample leaves inactive keep their current value). */
  setActive(s: Sample): void {
    const mixing = this.mixing;
    if (!(mixing instanceof SinglePathMixing)) {
      throw new TsnasError('usage', `setActive needs single-path mixing, the ${this.space.name} supernet mixes with ${mixing.constructor.name} (call setMixing(new SinglePathMixing()) first)`);
    }
    this.space.validate(s);
    const path: Record<string, Value> = {};
    for (const [label, values] of this.choices.labels) path[label] = s[label] ?? values[mixing.chosenIndex(label)]!;
    mixing.setPath(this.pathOf(path));
  }

  /** The supernet path (label -> value) of a sample; the identity unless a space's samples are not paths (DARTS). */
  protected pathOf(s: Sample): Sample {
    return s;
  }

  /** Draws a sample of the space (per-dimension uniform, or uniform over all samples), makes it active and returns it. */
  sampleActive(rng: Rng, o: { uniform?: boolean } = {}): Sample {
    const s = o.uniform ? this.space.sampleUniform(rng) : this.space.sample(rng);
    this.setActive(s);
    return s;
  }

  /**
   * The sample the supernet stands for now: each label's argmax (DARTS-style)
   * or current path (single path), in dimension order, with the labels the
   * sample's own structure leaves inactive (layers beyond the depth) left out.
   */
  exportSample(): Sample {
    const out: Record<string, Value> = {};
    for (const d of this.space.dimensions()) {
      if (d.condition && !d.condition(out)) continue;
      const values = this.choices.labels.get(d.label);
      if (!values) throw new TsnasError('internal', `the ${this.space.name} supernet has no choice for '${d.label}'`);
      out[d.label] = values[this.mixing.chosenIndex(d.label)]!;
    }
    return this.space.fromJSON(out);
  }

  forward(x: Tensor): Tensor {
    this.choices.beginForward();
    return this.forwardNetwork(x);
  }

  protected abstract forwardNetwork(x: Tensor): Tensor;

  override dispose(): void {
    super.dispose();
    this.mixing.dispose();
  }
}

/** Registers every dimension of the space as a label, in dimension order. */
export function registerSpaceLabels(space: DefinedSpace, choices: ArchitectureChoices): void {
  for (const d of space.dimensions()) choices.register(d.label, d.values);
}

/** Rejects strategies that would mix on a part of the channels: elastic widths mask whole tensors. */
export function requireFullChannels(mixing: MixingStrategy, widths: readonly number[], space: string): void {
  for (const c of widths) {
    let used: number | string;
    try {
      used = mixing.candidateChannels(c);
    } catch (e) {
      used = `part (${(e as Error).message})`;
    }
    if (used !== c) {
      throw new TsnasError('config', `the ${space} supernet mixes whole tensors (elastic widths are channel masks); ${mixing.constructor.name} works on ${used} of ${c} channels`);
    }
  }
}

/** Σ_i coef_i · f(i) over the candidates a forward uses: all of them (dense) or the chosen one, with its straight-through scale and offset. */
export function mixCandidates(w: MixingWeights, f: (index: number) => Tensor, count: number): Tensor {
  if (w.kind === 'single') return straightThrough(f(w.index), w);
  let sum: Tensor | null = null;
  for (let i = 0; i < count; i++) {
    const y = f(i).mul(w.weights.select(0, i));
    sum = sum ? sum.add(y) : y;
  }
  if (!sum) throw new TsnasError('internal', 'mixing over no candidates');
  return sum;
}

/** The weight a forward gives one value of a label: its softmax weight (dense), or 1/0 (single path). */
export function weightOfValue(w: MixingWeights, values: readonly Value[], value: Value): Tensor | number {
  const k = values.indexOf(value);
  if (w.kind === 'single') return k === w.index ? 1 : 0;
  return k < 0 ? 0 : w.weights.select(0, k);
}

/** [1, total, 1, 1] with ones on the first `active` channels: keeps a max-width tensor's first channels. */
export function channelMask(total: number, active: number, like: Tensor): Tensor {
  const data = new Float32Array(total);
  data.fill(1, 0, Math.min(active, total));
  const mask = tensor(data, [1, total, 1, 1]);
  if (mask.dtype === like.dtype && mask.device === like.device) return mask;
  const moved = mask.to({ dtype: like.dtype, device: like.device });
  mask.dispose();
  return moved;
}

/** [size, size] with ones on the centre k×k: a k×k kernel embedded in a size×size one. */
export function centreMask(size: number, k: number, like: Tensor): Tensor {
  const data = new Float32Array(size * size);
  const lo = (size - k) / 2;
  for (let r = lo; r < lo + k; r++) data.fill(1, r * size + lo, r * size + lo + k);
  const mask = tensor(data, [size, size]);
  if (mask.dtype === like.dtype && mask.device === like.device) return mask;
  const moved = mask.to({ dtype: like.dtype, device: like.device });
  mask.dispose();
  return moved;
}

/** The centre k×k of a [.., .., K, K] kernel. */
export function centreCrop(w: Tensor, k: number): Tensor {
  const size = w.size(2);
  if (k === size) return w;
  const lo = (size - k) / 2;
  return w.narrow(2, lo, k).narrow(3, lo, k);
}

/** x with exactly c channels: extra channels dropped, missing ones zero. */
export function toChannels(x: Tensor, c: number): Tensor {
  const have = x.size(1);
  if (have === c) return x;
  if (have > c) return x.narrow(1, 0, c);
  const [n, , h, w] = x.shape as [number, number, number, number];
  return cat([x, zeros([n, c - have, h, w], { dtype: x.dtype, device: x.device })], 1);
}

/**
 * A batch norm on the first c of its channels (OFA's dynamic batch norm): the
 * same arithmetic as BatchNorm2d.forward on slices of its affine parameters
 * and running statistics (the running statistics are updated in place).
 */
export function batchNormFirst(bn: BatchNorm2d, x: Tensor, c: number): Tensor {
  if (c === bn.numFeatures) return bn.call(x);
  let averagingFactor = bn.momentum ?? 0;
  if (bn.training && bn.trackRunningStats && bn.numBatchesTracked) {
    const counter = bn.numBatchesTracked;
    noGrad(() => counter.add_(1));
    if (bn.momentum === null) averagingFactor = 1 / counter.item();
  }
  const first = (t: Tensor | null) => (t ? t.narrow(0, 0, c) : null);
  const useBatchStats = bn.training || (bn.runningMean === null && bn.runningVar === null);
  const useRunning = !bn.training || bn.trackRunningStats;
  return batchNorm(x, {
    weight: first(bn.weight),
    bias: first(bn.bias),
    runningMean: useRunning ? first(bn.runningMean) : null,
    runningVar: useRunning ? first(bn.runningVar) : null,
    training: useBatchStats,
    momentum: averagingFactor,
    eps: bn.eps,
  });
}

/**
 * The part of a shared (max-size) tensor that a smaller fixed layer uses:
 * the first entries along output and input channels (dims 0 and 1), the
 * centre along spatial dims (a k×k kernel inside a K×K one).
 */
export function sliceTo(source: Tensor, shape: readonly number[], key: string): Tensor {
  if (source.ndim !== shape.length) throw new TsnasError('internal', `'${key}': supernet tensor has shape [${source.shape.join(', ')}], the fixed network wants [${shape.join(', ')}]`);
  let t = source;
  shape.forEach((n, d) => {
    const have = t.size(d);
    if (n > have) throw new TsnasError('internal', `'${key}': the fixed network wants ${n} along dim ${d}, the supernet has ${have}`);
    if (n < have) t = t.narrow(d, d < 2 ? 0 : (have - n) / 2, n);
  });
  return t;
}

/**
 * Copies into a fixed network, for each of its state-dict keys, the slice of
 * the supernet tensor that sourceOf names (a key of the supernet's state
 * dict, or a tensor computed for it, e.g. a transformed kernel).
 */
export function copyIntoFixed(fixed: Module, supernet: Module, sourceOf: (key: string) => string | Tensor): void {
  tidy(() => noGrad(() => {
    const own = supernet.stateDict();
    const dict: Record<string, Tensor> = {};
    for (const [key, target] of Object.entries(fixed.stateDict())) {
      const source = sourceOf(key);
      const t = typeof source === 'string' ? own[source] : source;
      if (!t) throw new TsnasError('internal', `fixed network key '${key}' maps to '${String(source)}', which the supernet lacks`);
      dict[key] = sliceTo(t, target.shape, key);
    }
    fixed.loadStateDict(dict);
  }));
}
