// Mixing strategies for differentiable search, built on the supernet hooks of
// src/spaces/supernet.ts:
// - the weighted sum skips 'none' candidates: their output is zero, so the
//   sum and every gradient (α included, through the softmax) are unchanged;
// - PC-DARTS partial channels also work on strided (reduction) edges;
// - edge normalisation (PC-DARTS β) and dropout on skip connections are
//   forward hooks on the mixed ops, so they apply to any supernet.
import { TsnasError } from '../../errors.js';
import type { AnyModule, HookRemover } from '../../nn/module.js';
import { DartsMixing, GdasMixing, MixedOp, PcDartsMixing, type AlphaWeighting, type MixingWeights } from '../../spaces/supernet.js';
import { cat, dropout, maxPool2d, noGrad, rand, randn, scalar, stack, tensor, tidy, weightedSum, type Tensor } from '../../tensor/index.js';

/** True for candidates whose output is identically zero ('none'). */
export function isZeroOp(m: AnyModule): boolean {
  return (m as { isZero?: boolean }).isZero === true;
}

/**
 * Σ_o w_o·op_o(x) over the candidates that are not 'none', as one native
 * weighted sum (one autograd node instead of a mul and an add per
 * candidate). Each candidate runs in its own scope and the handles of the
 * outputs are released once summed, so handles of intermediates do not pile
 * up until the step ends (autograd keeps what it needs): fresher memory is reused.
 */
export function weightedSumSkippingNone(op: MixedOp, x: Tensor, weights: Tensor): Tensor {
  const outputs: Tensor[] = [];
  const indices: number[] = [];
  try {
    for (let i = 0; i < op.candidates.length; i++) {
      const candidate = op.candidate(i);
      if (isZeroOp(candidate)) continue;
      // An identity candidate returns x itself: a view of it takes x's place in
      // the backward order of the candidates, so that x's gradient sums its
      // terms in the order (and to the bits) of the chain of mul and add.
      outputs.push(tidy(() => {
        const y = candidate.call(x);
        return y === x ? x.view(...x.shape) : y;
      }));
      indices.push(i);
    }
    if (outputs.length === 0) throw new TsnasError('internal', `mixed op '${op.label}' has only 'none' candidates`);
    return weightedSum(outputs, weights, indices);
  } finally {
    for (const y of outputs) y.dispose();
  }
}

/** DARTS mixing (softmax over α) that does not compute 'none'. */
export class SearchDartsMixing extends DartsMixing {
  override applyWeights(op: MixedOp, x: Tensor, w: MixingWeights): Tensor {
    return w.kind === 'dense' ? weightedSumSkippingNone(op, x, w.weights) : super.applyWeights(op, x, w);
  }
}

/** GDAS mixing (the search tells it apart to set τ); its soft mode does not compute 'none'. */
export class SearchGdasMixing extends GdasMixing {
  override applyWeights(op: MixedOp, x: Tensor, w: MixingWeights): Tensor {
    return w.kind === 'dense' ? weightedSumSkippingNone(op, x, w.weights) : super.applyWeights(op, x, w);
  }
}

/** Clipped to [0, 1] and renormalised to sum 1 (SDARTS's clip); all zero: 1 at perturbed's argmax. */
function clipToSimplex(perturbed: Tensor): Tensor {
  const clipped = perturbed.clamp(0, 1);
  const sum = noGrad(() => clipped.sum().item());
  if (sum > 0) return clipped.div(sum);
  const k = noGrad(() => perturbed.argmax(0).item());
  return tensor(Array.from({ length: perturbed.size(0) }, (_, i) => (i === k ? 1 : 0)));
}

/**
 * SDARTS (Chen & Hsieh, 2020): while `active` (the weight step), softmax(α)
 * plus a perturbation, clipped to [0, 1] and renormalised, as the reference
 * code (which perturbs the softmaxed weights, not α): uniform noise in
 * [−ε, ε] per candidate (SDARTS-RS), or the perturbation `deltas` holds for
 * that α (SDARTS-ADV, found by the search's attack; differentiable in δ).
 * The weight step takes no gradient w.r.t. α, so α enters as a constant.
 */
export class RandomSmoothing implements AlphaWeighting {
  epsilon = 0;
  active = false;
  /** Per α, the perturbation to use instead of noise (adversarial mode). */
  deltas: Map<Tensor, Tensor> | null = null;

  forward(alpha: Tensor): Tensor {
    if (!this.active) return alpha.softmax(0);
    const w = alpha.detach().softmax(0);
    const delta = this.deltas?.get(alpha);
    if (delta) return clipToSimplex(w.add(delta));
    if (this.epsilon === 0) return w;
    return noGrad(() => clipToSimplex(w.add(rand(alpha.shape).mul(2 * this.epsilon).sub(this.epsilon))));
  }

  mean(alpha: Tensor): Tensor {
    return alpha.softmax(0);
  }
}

/**
 * PC-DARTS: 1/k of the channels go through the mixed op ('none' skipped),
 * the rest bypass it (max-pooled 2×2 on strided edges, as PC-DARTS), then
 * the channels are shuffled in k groups.
 */
export class SearchPcDartsMixing extends PcDartsMixing {
  override applyWeights(op: MixedOp, x: Tensor, w: MixingWeights): Tensor {
    const c = x.size(1);
    const part = c / this.k;
    const partial = x.narrow(1, 0, part);
    const mixed = w.kind === 'dense' ? weightedSumSkippingNone(op, partial, w.weights) : DartsMixing.prototype.applyWeights.call(this, op, partial, w);
    let rest = x.narrow(1, part, c - part);
    if (mixed.size(2) !== x.size(2)) rest = maxPool2d(rest, 2, { stride: 2 });
    const joined = cat([mixed, rest], 1);
    const [b, , h, wd] = joined.shape as [number, number, number, number];
    return joined.view(b, this.k, part, h, wd).transpose(1, 2).contiguous().view(b, c, h, wd);
  }
}

/** Edge label -> [node key, input index, inputs of the node]; labels are `[cell_]edge_{to}_{from}`. */
export function parseEdgeLabel(label: string): { node: string; to: number; from: number } | null {
  const m = /^(?:(.+)_)?edge_(\d+)_(\d+)$/.exec(label);
  if (!m) return null;
  const to = Number(m[2]);
  return { node: `${m[1] ? `${m[1]}_` : ''}node${to}`, to, from: Number(m[3]) };
}

/** Number of inputs of a node: nb201 node j has j (0..j-1); DARTS node j (2..5) has j too. */
const inputsOf = (to: number) => to;

/** Every mixed op of a network. */
export function mixedOps(net: AnyModule): MixedOp[] {
  return net.modules().filter((m): m is MixedOp => m instanceof MixedOp);
}

/**
 * PC-DARTS edge normalisation: per node a parameter β over its incoming
 * edges; each edge's output is scaled by softmax(β)[edge]. Installed as
 * forward hooks on the mixed ops; the softmax is computed once per forward.
 */
export class EdgeNormalization {
  readonly betas = new Map<string, Tensor>();
  #cache = new Map<string, Tensor>();
  #removers: HookRemover[] = [];

  constructor(net: AnyModule) {
    for (const op of mixedOps(net)) {
      const edge = parseEdgeLabel(op.label);
      if (!edge) throw new TsnasError('config', `edge normalisation needs edge labels like edge_2_0, found '${op.label}'`);
      if (!this.betas.has(edge.node)) {
        const init = randn([inputsOf(edge.to)]);
        const beta = init.mul(1e-3);
        init.dispose();
        beta.requiresGrad = true;
        this.betas.set(edge.node, beta.keep());
      }
      this.#removers.push(op.registerForwardHook((_m, _input, output) => output.mul(this.weightsOf(edge.node).select(0, edge.from))));
    }
    // A new forward pass starts at the root: drop last pass's softmaxes.
    this.#removers.push(net.registerForwardPreHook(() => {
      this.#cache = new Map();
    }));
  }

  /** softmax(β) of a node for the current forward. */
  weightsOf(node: string): Tensor {
    let w = this.#cache.get(node);
    if (!w) {
      w = this.betas.get(node)!.softmax(0);
      this.#cache.set(node, w);
    }
    return w;
  }

  /** softmax(β) of every node, as numbers (for derivation and history). */
  snapshot(): Record<string, number[]> {
    return tidy(() => {
      const out: Record<string, number[]> = {};
      for (const [node, beta] of this.betas) out[node] = beta.detach().softmax(0).toArray();
      return out;
    });
  }

  parameters(): Tensor[] {
    return [...this.betas.values()];
  }

  dispose(): void {
    for (const remove of this.#removers) remove();
    this.#removers = [];
    for (const b of this.betas.values()) b.dispose();
    this.betas.clear();
  }
}

/**
 * DARTS− (Chu et al., 2021): every mixed op with a skip_connect candidate
 * also adds that candidate's output times `weight()` (an auxiliary skip
 * connection outside α's softmax, decayed to 0 by the search), so skip need
 * not win α to carry the gradient. Returns the remover.
 */
export function auxiliarySkip(net: AnyModule, weight: () => number): HookRemover {
  const removers: HookRemover[] = [];
  for (const op of mixedOps(net)) {
    const k = op.values.indexOf('skip_connect');
    if (k < 0) continue;
    const skip = op.candidate(k);
    removers.push(op.registerForwardHook((_m, input, output) => {
      const beta = weight();
      return beta > 0 ? output.add(skip.call(input[0]).mul(beta)) : output;
    }));
  }
  if (removers.length === 0) throw new TsnasError('config', 'darts-minus adds an auxiliary skip connection beside the skip_connect candidates; this supernet has none');
  return () => removers.forEach((r) => r());
}

/** Dropout (probability p, training only) on the output of every skip_connect candidate; returns the remover. */
export function dropSkipConnections(net: AnyModule, p: number): HookRemover {
  if (!(p >= 0 && p < 1)) throw new TsnasError('config', `skip dropout must be in [0, 1), got ${p}`);
  const removers: HookRemover[] = [];
  for (const op of mixedOps(net)) {
    op.values.forEach((v, i) => {
      if (v !== 'skip_connect') return;
      const candidate = op.candidate(i);
      removers.push(candidate.registerForwardHook((m: AnyModule, _input: unknown, output: Tensor) => (m.training && p > 0 ? dropout(output, p, true) : output)));
    });
  }
  return () => removers.forEach((r) => r());
}

/** Index of a draw from the distribution `probs` (sums to 1) with uniform u in [0, 1). */
function drawIndex(probs: number[], u: number): number {
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i]!;
    if (u < acc) return i;
  }
  return probs.length - 1;
}

/** One uniform number from libtorch's generator (so that a run's reseeding makes the draws reproducible). */
const uniform = () => noGrad(() => tidy(() => rand([1]).item()));

/**
 * ProxylessNAS (Cai et al., 2019) path binarisation. What a forward computes
 * depends on `phase`, which the search sets around its steps:
 * - 'weights': one path per edge drawn from softmax(α); only it runs;
 * - 'arch': two paths drawn from softmax(α) without replacement, one of them
 *   active as a binary gate drawn from the softmax over the pair's α, the
 *   other computed with gate value 0. The gates carry the restricted
 *   softmax's gradient straight through, so autograd gives the paper's
 *   estimator ∂L/∂α_k = Σ_m ∂L/∂g_m·p_m(δ_mk − p_k) over the pair, and the
 *   other α get none; after the update `rescale` shifts the pair's α so
 *   that their total probability is unchanged (the unsampled paths' stay);
 * - 'argmax' (default; evaluation): the path of each edge's largest α.
 * Only the sampled candidates run (in the arch phase the dense weights are
 * zero without gradient elsewhere, for supernets that mix densely).
 */
export class ProxylessMixing extends DartsMixing {
  phase: 'weights' | 'arch' | 'argmax' = 'argmax';
  /** The arch phase's pairs since the last rescale: label -> the indices and α's values at the draw. */
  #pairs = new Map<string, { indices: [number, number]; before: [number, number] }>();

  override processWeights(label: string, raw: Tensor | null): MixingWeights {
    const alpha = raw!;
    if (this.phase === 'argmax') return { kind: 'single', index: this.chosenIndex(label) };
    const probs = noGrad(() => tidy(() => alpha.softmax(0).toArray()));
    const first = drawIndex(probs, uniform());
    if (this.phase === 'weights') return { kind: 'single', index: first };
    const rest = probs.map((p, i) => (i === first ? 0 : p));
    const restSum = rest.reduce((a, b) => a + b, 0);
    const second = restSum > 0 ? drawIndex(rest.map((p) => p / restSum), uniform()) : (first + 1) % probs.length;
    const pair: [number, number] = [first, second];
    const values = alpha.toArray();
    this.#pairs.set(label, { indices: pair, before: [values[first]!, values[second]!] });
    const pairProbs = stack([alpha.select(0, first), alpha.select(0, second)]).softmax(0);
    const active = drawIndex(pairProbs.toArray(), uniform());
    // Value: 1 for the active path, 0 for the other; gradient: the pair's softmax's.
    const gates = pairProbs.sub(pairProbs.detach()).add(tensor(active === 0 ? [1, 0] : [0, 1]));
    const zero = scalar(0);
    return { kind: 'dense', weights: stack(probs.map((_, k) => (k === first ? gates.select(0, 0) : k === second ? gates.select(0, 1) : zero))) };
  }

  /** The candidates the current forward runs on an edge: its pair in the arch phase, else all (dense weights come from nowhere else). */
  sampledIndices(label: string): readonly number[] | null {
    return this.phase === 'arch' ? this.#pairs.get(label)?.indices ?? null : null;
  }

  override applyWeights(op: MixedOp, x: Tensor, w: MixingWeights): Tensor {
    const indices = w.kind === 'dense' ? this.sampledIndices(op.label) : null;
    if (!indices || w.kind !== 'dense') return super.applyWeights(op, x, w);
    const [a, b] = indices.map((k) => op.candidate(k).call(x).mul(w.weights.select(0, k)));
    return a!.add(b!);
  }

  /** After an architecture update: shifts each sampled pair's α so that the pair's Σ exp(α) is what it was at the draw. */
  rescale(): void {
    noGrad(() => tidy(() => {
      for (const [label, { indices: [i, j], before }] of this.#pairs) {
        const alpha = this.getWeights(label);
        const after = alpha.toArray();
        const offset = logSumExp(before) - logSumExp([after[i]!, after[j]!]);
        const shift = after.map((_, k) => (k === i || k === j ? offset : 0));
        alpha.add_(tensor(shift));
      }
    }));
    this.#pairs.clear();
  }
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}
