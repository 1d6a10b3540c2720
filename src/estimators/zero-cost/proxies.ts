// Zero-cost proxies: scores of an untrained network from one batch.
//
// Definitions follow Abdelfattah et al. 2021, "Zero-Cost Proxies for
// Lightweight NAS" (grad_norm, snip, grasp, fisher, synflow, jacob_cov) and
// Mellor et al. 2021, "Neural Architecture Search without Training" (nwot).
// As in the reference, the weight-based proxies sum over the weights of every
// convolution and linear layer (not batch norm, not biases), with batch norm
// in training mode (batch statistics).
//
// Sharing: one forward pass (train mode) serves every proxy except synflow.
// One gradient call of the cross-entropy loss gives the weight gradients
// (grad_norm, snip, and the g of grasp) and the gradients of the layer outputs
// (fisher); grasp adds one Hessian-gradient product, jacob_cov one backward
// pass of the summed logits to the input, and nwot reads the ReLU codes of the
// same forward pass. synflow needs its own pass (|weights|, ones, float64).
// The proxies of 2021-2024 (zico, meco, swap, zen, the AZ-NAS and TE-NAS
// components) are in recent.ts, their population aggregations in population.ts.
import {
  Tensor, crossEntropy, dispose, grad, noGrad, ones, onesLike, slogdet, eigvalsh, corrcoef, stack, tidy, zeros,
} from '../../tensor/index.js';
import { Activation, BatchNorm2d, Conv2d, Linear, ReLU } from '../../nn/layers.js';
import type { AnyModule } from '../../nn/module.js';
import { ResNetBasicblock } from '../../nn/ops.js';
import { usageError } from '../../errors.js';
import {
  azComponents, defaultProxyRandom, meco, swap, swapRegularizer, teLinearRegions, teNtk, weightLayers, zen, zico, type ProxyRandom,
} from './recent.js';

/** Proxies computed from the network's tensors, one network at a time. */
export const NETWORK_PROXIES = [
  'grad_norm', 'snip', 'grasp', 'fisher', 'synflow', 'jacob_cov', 'nwot',
  'zico', 'meco', 'meco_opt', 'swap', 'swap_reg', 'zen',
  'az_expressivity', 'az_progressivity', 'az_trainability', 'te_ntk', 'te_linear_regions',
] as const;
/** Proxies from the space's cost model (no tensors). */
export const COST_PROXIES = ['params', 'flops'] as const;
/**
 * Proxies defined on a population: each network gets per-network components,
 * and the score is a rank aggregation of the components over the networks
 * being ranked together (population.ts).
 */
export const POPULATION_PROXIES = ['az_nas', 'te_nas', 'ensemble'] as const;
export const PROXY_NAMES = [...NETWORK_PROXIES, ...COST_PROXIES, ...POPULATION_PROXIES] as const;
export type NetworkProxy = (typeof NETWORK_PROXIES)[number];
export type CostProxy = (typeof COST_PROXIES)[number];
export type PopulationProxy = (typeof POPULATION_PROXIES)[number];
export type PerNetworkProxy = NetworkProxy | CostProxy;
export type ProxyName = (typeof PROXY_NAMES)[number];
export type ProxyScores = Partial<Record<ProxyName, number>>;

/**
 * The default members of `ensemble`: label-free proxies with the best rank
 * correlations measured on NAS-Bench-201 (docs/benchmarks.md).
 */
export const DEFAULT_ENSEMBLE: readonly ProxyName[] = ['az_nas', 'meco', 'nwot', 'synflow'];

export function isProxyName(name: string): name is ProxyName {
  return (PROXY_NAMES as readonly string[]).includes(name);
}

export function isPopulationProxy(name: string): name is PopulationProxy {
  return (POPULATION_PROXIES as readonly string[]).includes(name);
}

/** The components of a population proxy: per-network proxies, or (ensemble) any proxies but ensemble. */
export function populationComponents(p: PopulationProxy, ensemble: readonly ProxyName[] = DEFAULT_ENSEMBLE): readonly ProxyName[] {
  switch (p) {
    case 'az_nas':
      return ['az_expressivity', 'az_progressivity', 'az_trainability', 'flops'];
    case 'te_nas':
      return ['te_ntk', 'te_linear_regions'];
    case 'ensemble':
      return ensemble.filter((m) => m !== 'ensemble');
  }
}

/** The per-network proxies that `proxies` need (population proxies replaced by their components), without duplicates. */
export function perNetworkProxies(proxies: readonly ProxyName[], ensemble?: readonly ProxyName[]): PerNetworkProxy[] {
  const out = new Set<PerNetworkProxy>();
  const add = (p: ProxyName): void => {
    if (isPopulationProxy(p)) populationComponents(p, ensemble).forEach(add);
    else out.add(p);
  };
  proxies.forEach(add);
  return [...out];
}

/** Ensemble members: known proxies other than ensemble itself, at least two. */
export function checkEnsemble(members: readonly string[], where = 'ensemble'): ProxyName[] {
  for (const m of members) {
    if (!isProxyName(m) || m === 'ensemble') throw usageError(`ensemble members are proxies other than ensemble; '${m}' is not`, where);
  }
  const unique = [...new Set(members)] as ProxyName[];
  if (unique.length < 2) throw usageError(`an ensemble needs at least two distinct members, got ${members.join(', ') || 'none'}`, where);
  return unique;
}

/** 'all' or a comma-separated list of proxy names (order kept, duplicates dropped). */
export function parseProxyList(text: string, where = '--proxies'): ProxyName[] {
  if (text.trim() === 'all') return [...PROXY_NAMES];
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw usageError(`expected 'all' or a comma-separated list of ${PROXY_NAMES.join(', ')}, got '${text}'`, where);
  for (const n of names) {
    if (!isProxyName(n)) throw usageError(`unknown proxy '${n}'; expected 'all' or some of ${PROXY_NAMES.join(', ')}`, where);
  }
  return [...new Set(names)] as ProxyName[];
}

/** One batch: float32 images [N, C, H, W] and int64 labels [N]. */
export interface ProxyBatch {
  x: Tensor;
  y: Tensor;
}

export interface ProxyOptions {
  /**
   * Which batch-norm layers synflow keeps. 'reference' (default) does what
   * the reference's NAS-Bench-201 model does: its BN-free copy drops batch
   * norm in the stem, the cells and the head, while the residual reduction
   * blocks keep theirs. 'none' drops every batch norm.
   */
  synflowBatchNorm?: 'reference' | 'none';
  /** ZiCo: parts the batch is cut into, each giving one gradient (default 2). */
  zicoSplits?: number;
  /** meco_opt: channels sampled per feature map (default 8). */
  mecoChannels?: number;
  /** SWAP: images whose activation patterns are compared (default 16, at most 62). */
  swapSamples?: number;
  /** swap_reg: centre μ and width σ of the parameter regulariser, parameters in thousands (defaults in SWAP_REGULARIZER). */
  swapMu?: number;
  swapSigma?: number;
  /** Members of `ensemble` (default DEFAULT_ENSEMBLE). */
  ensemble?: readonly ProxyName[];
  /** The random draws of zen, az_* and meco_opt (default: libtorch's generator, and an Rng seeded 0 for channel choices). */
  random?: ProxyRandom;
}

/**
 * swap_reg's default regulariser (μ, σ in thousands of parameters, as the
 * reference counts them): a guess for NAS-Bench-201 at C=16, N=5 (0.07 to
 * 1.5 million parameters), set before measuring and not tuned.
 */
export const SWAP_REGULARIZER = { mu: 1000, sigma: 500_000 };

type WeightLayer = Conv2d | Linear;

/** Weights per output channel of a layer: prod(weight.shape[1:]). */
function perChannelSize(layer: WeightLayer): number {
  return layer.weight.shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * Computes the requested network proxies (cost proxies are ignored here; see
 * scoreNb201). The model's parameters, buffers, mode and gradients are left
 * as they were. Every tensor made here is freed.
 */
export function computeProxies(
  model: AnyModule,
  batch: ProxyBatch,
  proxies: readonly ProxyName[],
  options: ProxyOptions = {},
): ProxyScores {
  const want = new Set<ProxyName>(perNetworkProxies(proxies, options.ensemble));
  const out: ProxyScores = {};
  const wasTraining = model.training;
  // Train-mode forwards update running statistics: put them back afterwards.
  const buffers = model.buffers();
  const saved = noGrad(() => buffers.map((b) => b.clone().keep()));
  try {
    model.train();
    const shared = (['grad_norm', 'snip', 'grasp', 'fisher', 'jacob_cov', 'nwot'] as const).filter((p) => want.has(p));
    if (shared.length > 0) Object.assign(out, sharedPassProxies(model, batch, new Set(shared)));
    if (want.has('synflow')) out.synflow = synflow(model, batch.x.shape, options.synflowBatchNorm ?? 'reference');
    Object.assign(out, recentProxies(model, batch, want, options));
  } finally {
    noGrad(() => buffers.forEach((b, i) => b.copy_(saved[i]!)));
    for (const s of saved) s.dispose();
    model.train(wasTraining);
  }
  return out;
}

/** The proxies of recent.ts that `want` asks for, each from its own passes. */
function recentProxies(model: AnyModule, batch: ProxyBatch, want: Set<ProxyName>, o: ProxyOptions): ProxyScores {
  const out: ProxyScores = {};
  const random = o.random ?? defaultProxyRandom();
  const { x, y } = batch;
  if (want.has('zico')) out.zico = zico(model, x, y, o.zicoSplits ?? 2);
  if (want.has('meco')) out.meco = meco(model, x);
  if (want.has('meco_opt')) out.meco_opt = meco(model, x, { optChannels: o.mecoChannels ?? 8, random });
  if (want.has('swap') || want.has('swap_reg')) {
    const s = swap(model, x, o.swapSamples ?? 16);
    if (want.has('swap')) out.swap = s;
    if (want.has('swap_reg')) {
      out.swap_reg = s * swapRegularizer(model.numParameters(), o.swapMu ?? SWAP_REGULARIZER.mu, o.swapSigma ?? SWAP_REGULARIZER.sigma);
    }
  }
  if (want.has('zen')) out.zen = zen(model, x.shape, random);
  if (want.has('az_expressivity') || want.has('az_progressivity') || want.has('az_trainability')) {
    const az = azComponents(model, x, random);
    for (const k of ['az_expressivity', 'az_progressivity', 'az_trainability'] as const) if (want.has(k)) out[k] = az[k];
  }
  if (want.has('te_ntk')) out.te_ntk = teNtk(model, x);
  if (want.has('te_linear_regions')) out.te_linear_regions = teLinearRegions(model, x);
  return out;
}

function sharedPassProxies(model: AnyModule, batch: ProxyBatch, want: Set<NetworkProxy>): ProxyScores {
  return tidy(() => {
    const out: ProxyScores = {};
    const layers = weightLayers(model);
    const weights = layers.map((l) => l.weight);
    const needLoss = want.has('grad_norm') || want.has('snip') || want.has('grasp') || want.has('fisher');
    const needWeightGrads = want.has('grad_norm') || want.has('snip') || want.has('grasp');
    const removers: (() => void)[] = [];

    // fisher: the output of every conv/linear call, to differentiate the loss by it.
    const activations: { layer: WeightLayer; act: Tensor }[] = [];
    if (want.has('fisher')) {
      for (const layer of layers) {
        removers.push(layer.registerForwardHook((_m, _in, output) => {
          // Kept: containers release intermediate outputs as soon as they are read.
          activations.push({ layer, act: output.keep() });
        }));
      }
    }
    // nwot: K = Σ_layers c·cᵀ + (1−c)(1−c)ᵀ over the binary ReLU codes c
    // (for other activations, such as swish, mish or GELU, the same code: which
    // side of zero each unit's input is on),
    // gathered as A = Σ c·cᵀ, r = Σ rowsum(c) and D = Σ code length, so that
    // K = 2A − r·1ᵀ − 1·rᵀ + D (one matmul per ReLU instead of two). ReLUs
    // that read the same tensor (edges leaving one node) have the same codes:
    // each distinct input is multiplied once and counted as often as it is read.
    const n = batch.x.shape[0]!;
    const codes = new Map<Tensor, CodeStats>();
    if (want.has('nwot')) {
      for (const m of model.modules()) {
        if (!(m instanceof ReLU || m instanceof Activation)) continue;
        removers.push(m.registerForwardHook((_m, input) => {
          const seen = codes.get(input[0]);
          if (seen) {
            seen.uses++;
            return;
          }
          // Kept (out of every scope) until the end of the pass; the codes themselves are freed at once.
          codes.set(input[0], noGrad(() => tidy(() => {
            const c = input[0].reshape(n, -1).gt(0).float();
            return { product: c.matmul(c.t()).keep(), rowSums: c.sum(1).keep(), length: c.shape[1]!, uses: 1 };
          })));
        }));
      }
    }

    try {
      const input = want.has('jacob_cov') ? batch.x.detach().requiresGrad_(true) : batch.x;
      // Only nwot: no graph is needed.
      const logits = (needLoss || want.has('jacob_cov') ? model.call(input) : noGrad(() => model.call(input))) as Tensor;
      for (const remove of removers) remove();
      removers.length = 0;

      if (needLoss) {
        const loss = crossEntropy(logits, batch.y);
        const acts = activations.map((a) => a.act);
        const inputs = [...(needWeightGrads ? weights : []), ...acts];
        const grads = grad(loss, inputs, { createGraph: want.has('grasp'), retainGraph: true, allowUnused: true });
        const weightGrads = needWeightGrads ? grads.slice(0, weights.length) : [];
        const actGrads = grads.slice(needWeightGrads ? weights.length : 0);

        noGrad(() => {
          if (want.has('grad_norm')) {
            const norms = weightGrads.map((g) => (g ? g.norm(2) : null)).filter((t): t is Tensor => t !== null);
            out.grad_norm = norms.length ? stack(norms).sum().item() : 0;
          }
          if (want.has('snip')) {
            const terms = weightGrads.flatMap((g, i) => (g ? [weights[i]!.mul(g).abs().sum()] : []));
            out.snip = terms.length ? stack(terms).sum().item() : 0;
          }
          if (want.has('fisher')) {
            const terms: Tensor[] = [];
            activations.forEach(({ layer, act }, i) => {
              const g = actGrads[i];
              if (!g) return; // the output does not reach the loss: its gradient is zero
              const prod = act.detach().mul(g.detach());
              const perSample = prod.ndim > 2 ? prod.sum([2, 3]) : prod;
              const delta = perSample.pow(2).mean(0).mul(0.5);
              terms.push(delta.abs().sum().mul(perChannelSize(layer)));
            });
            out.fisher = terms.length ? stack(terms).sum().item() : 0;
          }
        });
        if (want.has('grasp')) {
          // −Σ W ⊙ (H g): z = Σ stopgrad(g) · g, and ∂z/∂W = H g.
          const terms = weightGrads.flatMap((g) => (g ? [g.detach().mul(g).sum()] : []));
          if (terms.length === 0) out.grasp = 0;
          else {
            const z = stack(terms).sum();
            const hg = grad(z, weights, { retainGraph: want.has('jacob_cov'), allowUnused: true });
            out.grasp = noGrad(() => {
              const parts = hg.flatMap((h, i) => (h ? [weights[i]!.mul(h).sum()] : []));
              return parts.length ? -stack(parts).sum().item() : 0;
            });
          }
        }
      }
      if (want.has('jacob_cov')) {
        const [j] = grad(logits, [input], { gradOutputs: [onesLike(logits)], allowUnused: true });
        out.jacob_cov = noGrad(() => jacobCovScore(j ? j.reshape(n, -1) : zeros([n, 1])));
      }
      if (want.has('nwot')) out.nwot = noGrad(() => nwotScore([...codes.values()], n));
    } finally {
      for (const remove of removers) remove();
      for (const c of codes.values()) dispose([c.product, c.rowSums]);
      for (const a of activations) a.act.dispose();
    }
    return out;
  });
}

/** One distinct ReLU input's share of the NASWOT kernel: c·cᵀ, rowsum(c), code length, and how many ReLUs read it. */
interface CodeStats {
  product: Tensor;
  rowSums: Tensor;
  length: number;
  uses: number;
}

/** −Σ log(λ+k) + 1/(λ+k), λ the eigenvalues of the correlation of the per-sample input Jacobians; k = 1e-5. */
export function jacobCovScore(jacobians: Tensor): number {
  return tidy(() => {
    const corr = corrcoef(jacobians.double());
    // A constant row (e.g. a zero Jacobian) has no correlation: the reference gives NaN.
    if (corr.isnan().sum().item() > 0) return Number.NaN;
    const v = eigvalsh(corr).add(1e-5);
    return -v.log().add(v.reciprocal()).sum().item();
  });
}

/** log|det K| of the NASWOT kernel K = 2A − r·1ᵀ − 1·rᵀ + D, summing each input's share times its uses. */
function nwotScore(codes: CodeStats[], n: number): number {
  return tidy(() => {
    const a = zeros([n, n], { dtype: 'float64' });
    const r = zeros([n], { dtype: 'float64' });
    let length = 0;
    for (const c of codes) {
      a.add_(c.product.double(), c.uses);
      r.add_(c.rowSums.double(), c.uses);
      length += c.uses * c.length;
    }
    const k = a.mul(2).sub(r.reshape(n, 1)).sub(r.reshape(1, n)).add(length);
    return slogdet(k).logabsdet.item();
  });
}

/**
 * synflow: Σ |W ⊙ ∂R/∂W| with R the sum of the outputs of the network with
 * |W| for every parameter, in float64, on one all-ones input; batch norm is
 * removed as `batchNorm` says (kept layers run in train mode, as the reference).
 */
function synflow(model: AnyModule, inputShape: number[], batchNorm: 'reference' | 'none'): number {
  const layers = weightLayers(model);
  const kept = new Set<BatchNorm2d>();
  if (batchNorm === 'reference') {
    for (const m of model.modules()) {
      if (m instanceof ResNetBasicblock) for (const d of m.modules()) if (d instanceof BatchNorm2d) kept.add(d);
    }
  }
  const norms = model.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  type Swap = { restore(): void };
  const swaps: Swap[] = [];
  return tidy(() => {
    try {
      // Swap in |parameters| as float64 on the layers themselves: no copy of the network.
      const absWeights: Tensor[] = [];
      noGrad(() => {
        for (const layer of layers) {
          const { weight, bias } = layer;
          const w = weight.abs().double().requiresGrad_(true);
          absWeights.push(w);
          layer.weight = w;
          layer.bias = bias ? bias.abs().double() : null;
          swaps.push({ restore: () => { layer.weight = weight; layer.bias = bias; } });
        }
        for (const bn of norms) {
          if (kept.has(bn)) {
            const { weight, bias, runningMean, runningVar } = bn;
            bn.weight = weight ? weight.abs().double() : null;
            bn.bias = bias ? bias.abs().double() : null;
            bn.runningMean = runningMean ? runningMean.double() : null;
            bn.runningVar = runningVar ? runningVar.double() : null;
            swaps.push({
              restore: () => {
                bn.weight = weight;
                bn.bias = bias;
                bn.runningMean = runningMean;
                bn.runningVar = runningVar;
              },
            });
          } else {
            const bypass = bn as unknown as { forward: (x: Tensor) => Tensor };
            bypass.forward = (x: Tensor) => x;
            swaps.push({ restore: () => { delete (bypass as { forward?: unknown }).forward; } });
          }
        }
      });
      const x = ones([1, ...inputShape.slice(1)], { dtype: 'float64' });
      const r = (model.call(x) as Tensor).sum();
      const grads = grad(r, absWeights, { allowUnused: true });
      return noGrad(() => {
        const terms = grads.flatMap((g, i) => (g ? [absWeights[i]!.mul(g).abs().sum()] : []));
        return terms.length ? stack(terms).sum().item() : 0;
      });
    } finally {
      for (const s of swaps.reverse()) s.restore();
    }
  });
}
