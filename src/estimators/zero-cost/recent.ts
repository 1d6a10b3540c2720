// Zero-cost proxies of 2021-2024 (per network; the rank aggregations that
// combine them over a population live in population.ts):
// - zico: Li et al., ICLR 2023 (ZiCo)
// - meco, meco_opt: Jiang et al., NeurIPS 2023 (MeCo)
// - swap, swap_reg: Peng et al., ICLR 2024 (SWAP-NAS)
// - zen: Lin et al., ICCV 2021 (Zen-NAS)
// - az_expressivity, az_progressivity, az_trainability: Lee & Ham, CVPR 2024 (AZ-NAS)
// - te_ntk, te_linear_regions: Chen et al., ICLR 2021 (TE-NAS)
// Each is computed from its paper's definition on the network's own weights
// (except zen, whose definition draws Gaussian weights) and the given batch;
// where a definition draws random numbers, they come from a ProxyRandom so
// that tests can replay a reference's draws.
import {
  Tensor, cat, corrcoef, tensor, crossEntropy, eigvalsh, grad, noGrad, randn, stack, tidy, where, zeros,
} from '../../tensor/index.js';
import { Activation, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, ReLU } from '../../nn/layers.js';
import type { AnyModule } from '../../nn/module.js';
import { Rng } from '../../util/random.js';
import { usageError } from '../../errors.js';

/** The random draws some definitions make (Gaussian weights and inputs, Rademacher probes, channel subsets). */
export interface ProxyRandom {
  normal(shape: number[]): Tensor;
  rademacher(shape: number[]): Tensor;
  /** k distinct integers of [0, n). */
  choose(n: number, k: number): number[];
}

/** libtorch's generator for tensors (seeded by the caller: manualSeed) and a seeded Rng for index choices. */
export function defaultProxyRandom(seed = 0): ProxyRandom {
  const rng = new Rng(seed);
  return {
    normal: (shape) => randn(shape),
    rademacher: (shape) => randn(shape).gt(0).float().mul(2).sub(1),
    choose: (n, k) => rng.sample(Array.from({ length: n }, (_, i) => i), k),
  };
}

type WeightLayer = Conv2d | Linear;

export function weightLayers(model: AnyModule): WeightLayer[] {
  return model.modules().filter((m): m is WeightLayer => m instanceof Conv2d || m instanceof Linear);
}

/** A network that names the blocks whose outputs AZ-NAS reads (the stem, then every cell). */
export interface FeatureBlocks {
  featureBlocks(): AnyModule[];
}

function featureBlocksOf(model: AnyModule): AnyModule[] {
  const f = (model as Partial<FeatureBlocks>).featureBlocks;
  if (typeof f !== 'function') {
    throw usageError(`the AZ-NAS proxies need a network that names its feature blocks (featureBlocks()); ${model.constructor.name} does not`, 'proxies');
  }
  return f.call(model);
}

/** Registers hooks and removes them all, whatever happens in `body`. */
function withHooks<T>(register: (add: (remove: () => void) => void) => void, body: () => T): T {
  const removers: (() => void)[] = [];
  try {
    register((r) => removers.push(r));
    return body();
  } finally {
    for (const r of removers) r();
  }
}

// ------------------------------------------------------------------ ZiCo

/**
 * ZiCo: the batch is cut into `splits` (>= 2) parts, each giving the
 * cross-entropy gradients of every conv/linear weight. Per layer,
 * log Σ_θ mean|g_θ| / std(g_θ) over the parts (population std, weights whose
 * gradient does not vary left out, a layer whose sum is 0 left out); summed.
 */
export function zico(model: AnyModule, x: Tensor, y: Tensor, splits = 2): number {
  const n = x.shape[0]!;
  if (!(Number.isInteger(splits) && splits >= 2 && splits <= n)) {
    throw usageError(`ZiCo needs 2 <= splits <= batch size (${n}), got ${splits}`, 'zicoSplits');
  }
  const layers = weightLayers(model);
  const weights = layers.map((l) => l.weight);
  const perSplit: (Tensor | null)[][] = [];
  try {
    for (let s = 0; s < splits; s++) {
      const start = Math.floor((s * n) / splits);
      const end = Math.floor(((s + 1) * n) / splits);
      tidy(() => {
        const logits = model.call(x.slice(0, start, end)) as Tensor;
        const grads = grad(crossEntropy(logits, y.slice(0, start, end)), weights, { allowUnused: true });
        perSplit.push(grads.map((g) => (g ? g.detach().reshape(-1).keep() : null)));
      });
    }
    return tidy(() => noGrad(() => {
      let total = 0;
      layers.forEach((_, i) => {
        const gs = perSplit.map((p) => p[i]);
        if (gs.some((g) => g === null)) return; // the layer does not reach the loss
        const g = stack(gs as Tensor[]);
        const std = g.std(0, false);
        const mean = g.abs().mean(0);
        const varying = std.ne(0);
        const ratio = where(varying, mean.div(where(varying, std, 1)), 0).sum().item();
        if (ratio !== 0) total += Math.log(ratio);
      });
      return total;
    }));
  } finally {
    for (const g of perSplit.flat()) g?.dispose();
  }
}

// ------------------------------------------------------------------ MeCo

function is4d(t: unknown): t is Tensor {
  return t instanceof Tensor && t.ndim === 4;
}

/** Smallest eigenvalue of the Pearson correlation of the rows of `rows` [C, P]; NaN/inf entries (constant rows) count as 0. */
function minCorrelationEigenvalue(rows: Tensor): number {
  return tidy(() => {
    const c = corrcoef(rows.double());
    const clean = where(c.isnan().logicalOr(c.abs().eq(Infinity)), 0, c);
    return eigvalsh(clean).min().item();
  });
}

/**
 * MeCo: one image (the batch's first) through the network; for the feature
 * map [C, H, W] of every module with a 4-d output (containers included, as the
 * reference hooks every module), the smallest eigenvalue of the C×C Pearson
 * correlation of its channels (C × HW); summed. meco_opt: the correlation of
 * `channels` randomly chosen channels (all when fewer), its eigenvalue times C/channels.
 */
export function meco(model: AnyModule, x: Tensor, o: { optChannels?: number; random?: ProxyRandom } = {}): number {
  const k = o.optChannels;
  let total = 0;
  withHooks((add) => {
    for (const m of model.modules()) {
      add(m.registerForwardHook((_m, _in, out) => {
        // A 1×1 map has no correlation (the reference's NaNs, zeroed, add 0).
        if (!is4d(out) || out.shape[2]! * out.shape[3]! < 2) return;
        const c = out.shape[1]!;
        tidy(() => {
          let rows = out.detach().select(0, 0).reshape(c, -1);
          let scale = 1;
          if (k !== undefined) {
            const picked = c <= k ? Array.from({ length: c }, (_, i) => i) : o.random!.choose(c, k);
            rows = rows.indexSelect(0, tensor(picked, [picked.length], { dtype: 'int64' }));
            scale = c / k;
          }
          const v = minCorrelationEigenvalue(rows);
          if (Number.isFinite(v)) total += v * scale;
        });
      }));
    }
  }, () => tidy(() => { noGrad(() => model.call(x.slice(0, 0, 1))); }));
  return total;
}

// ------------------------------------------------------------------ codes of ReLU inputs

/** The tensors read by ReLU-like activations in a forward pass (each distinct tensor once), 4-d ones only. */
function activationInputs(model: AnyModule, run: () => void, fourD = true): Tensor[] {
  const seen = new Set<Tensor>();
  const inputs: Tensor[] = [];
  withHooks((add) => {
    for (const m of model.modules()) {
      if (!(m instanceof ReLU || m instanceof Activation)) continue;
      add(m.registerForwardHook((_m, input) => {
        const t = input[0] as Tensor;
        if (seen.has(t) || (fourD && t.ndim !== 4)) return;
        seen.add(t);
        inputs.push(t.detach().keep());
      }));
    }
  }, run);
  return inputs;
}

// ------------------------------------------------------------------ SWAP

/**
 * SWAP: the first `samples` images (<= 62) through the network; every unit of
 * every ReLU (4-d inputs) has a pattern, the signs of its input over those
 * images; the score is the number of distinct patterns. swap_reg multiplies it by
 * exp(−(P − μ)² / σ), P the parameters in thousands.
 */
export function swap(model: AnyModule, x: Tensor, samples = 16): number {
  const s = Math.min(samples, x.shape[0]!);
  if (!(Number.isInteger(s) && s >= 1 && s <= 62)) throw usageError(`SWAP needs 1..62 samples, got ${samples}`, 'swapSamples');
  return tidy(() => noGrad(() => {
    const inputs = activationInputs(model, () => tidy(() => { model.call(x.slice(0, 0, s)); }));
    try {
      // Each unit's pattern as an integer: Σ_k [input_k > 0]·2^k.
      const powers = tensor(Array.from({ length: s }, (_, i) => 2 ** i), [s, 1], { dtype: 'int64' });
      const keys = cat(inputs.map((t) => t.reshape(s, -1).gt(0).long().mul(powers).sum(0)));
      const sorted = keys.sort().values;
      const n = sorted.shape[0]!;
      return n === 0 ? 0 : 1 + sorted.slice(0, 1, n).ne(sorted.slice(0, 0, n - 1)).sum().item();
    } finally {
      for (const t of inputs) t.dispose();
    }
  }));
}

export function swapRegularizer(params: number, mu: number, sigma: number): number {
  return Math.exp(-((params / 1e3 - mu) ** 2) / sigma);
}

// ------------------------------------------------------------------ Zen-score

/**
 * Zen-score with the network's weights replaced by N(0, 1) draws (biases 0,
 * batch-norm scale 1 and shift 0), batch norm on batch statistics, and two
 * Gaussian inputs x and x + 0.01·ε of the batch's shape:
 * log E_n Σ |f(x) − f(x + 0.01ε)| + Σ_BN log √(mean_c σ²_c), f the features
 * entering the last global average pooling and σ²_c each batch norm's batch
 * variance (biased) in the pass of x. Weights are put back afterwards.
 */
export function zen(model: AnyModule, inputShape: number[], random: ProxyRandom, mixup = 0.01): number {
  const layers = weightLayers(model);
  const norms = model.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  const pools = model.modules().filter((m): m is AdaptiveAvgPool2d => m instanceof AdaptiveAvgPool2d);
  if (pools.length === 0) throw usageError(`Zen-score reads the features before global average pooling; ${model.constructor.name} has no AdaptiveAvgPool2d`, 'proxies');
  const restore: (() => void)[] = [];
  return tidy(() => noGrad(() => {
    try {
      for (const layer of layers) {
        const { weight, bias } = layer;
        layer.weight = random.normal(weight.shape).keep();
        layer.bias = bias ? zeros(bias.shape).keep() : null;
        restore.push(() => { layer.weight.dispose(); layer.bias?.dispose(); layer.weight = weight; layer.bias = bias; });
      }
      for (const bn of norms) {
        const { weight, bias } = bn;
        if (!weight) continue;
        bn.weight = zeros(weight.shape).add(1).keep();
        bn.bias = bias ? zeros(bias.shape).keep() : null;
        restore.push(() => { bn.weight!.dispose(); bn.bias?.dispose(); bn.weight = weight; bn.bias = bias; });
      }
      const x = random.normal(inputShape);
      const mixed = x.add(random.normal(inputShape).mul(mixup));
      const features = (input: Tensor, bnLogs?: number[]): Tensor => {
        let last: Tensor | undefined;
        withHooks((add) => {
          for (const p of pools) add(p.registerForwardPreHook((_m, inp) => { last?.dispose(); last = (inp[0] as Tensor).keep(); }));
          if (bnLogs) {
            for (const bn of norms) {
              add(bn.registerForwardPreHook((_m, inp) => {
                tidy(() => { bnLogs.push(0.5 * Math.log((inp[0] as Tensor).var([0, 2, 3], false).mean().item())); });
              }));
            }
          }
        }, () => tidy(() => { model.call(input); }));
        return last!;
      };
      const bnLogs: number[] = [];
      const fx = features(x, bnLogs);
      const fm = features(mixed);
      try {
        const diff = fx.sub(fm).abs().sum([1, 2, 3]).mean().item();
        return Math.log(diff) + bnLogs.reduce((a, b) => a + b, 0);
      } finally {
        fx.dispose();
        fm.dispose();
      }
    } finally {
      for (const r of restore.reverse()) r();
    }
  }));
}

// ------------------------------------------------------------------ AZ-NAS

export interface AzComponents {
  az_expressivity: number;
  az_progressivity: number;
  az_trainability: number;
}

/** Entropy of the normalised eigenvalues of the channel covariance of a feature map [B, C, H, W] over its B·H·W positions. */
function isotropy(feature: Tensor): number {
  return tidy(() => {
    const c = feature.shape[1]!;
    const f = feature.double().permute(0, 2, 3, 1).reshape(-1, c);
    const centred = f.sub(f.mean(0, true));
    const sigma = centred.t().matmul(centred).div(f.shape[0]!);
    const s = eigvalsh(sigma);
    const p = s.div(s.sum());
    return p.neg().mul(p.add(1e-8).log()).sum().item();
  });
}

/** Largest singular value of a matrix, from the eigenvalues of its smaller Gram matrix (float64). */
function largestSingularValue(m: Tensor): number {
  return tidy(() => {
    const d = m.double();
    const gram = d.shape[0]! < d.shape[1]! ? d.matmul(d.t()) : d.t().matmul(d);
    return Math.sqrt(Math.max(0, eigvalsh(gram).max().item()));
  });
}

/**
 * AZ-NAS's expressivity (Σ over the blocks' features of their isotropy),
 * progressivity (the smallest increase of isotropy from one block to the next)
 * and trainability (mean over consecutive blocks of 2 − σ − 1/σ, σ the largest
 * singular value of E[g_in g_outᵀ] for a Rademacher g_out and g_in its
 * vector-Jacobian product; −∞ when a block is the identity), from one
 * train-mode forward of the batch. Its fourth component, complexity, is the
 * FLOPs of the cost model.
 */
export function azComponents(model: AnyModule, x: Tensor, random: ProxyRandom): AzComponents {
  const blocks = featureBlocksOf(model);
  return tidy(() => {
    const features: Tensor[] = [];
    try {
      withHooks((add) => {
        for (const b of blocks) add(b.registerForwardHook((_m, _in, out) => { features.push((out as Tensor).keep()); }));
      }, () => tidy(() => { model.call(x); }));
      if (features.length < 2) throw usageError(`AZ-NAS needs at least two feature blocks, found ${features.length}`, 'proxies');
      const iso = features.map((f) => noGrad(() => isotropy(f.detach())));
      const steps = iso.slice(1).map((v, i) => v - iso[i]!);
      const scores: number[] = [];
      for (let i = features.length - 1; i >= 1; i--) {
        scores.push(tidy(() => {
          const fOut = features[i]!;
          const fIn = features[i - 1]!;
          const gOut = random.rademacher(fOut.shape);
          const [gradIn] = grad(fOut, [fIn], { gradOutputs: [gOut], retainGraph: true, allowUnused: true });
          return noGrad(() => {
            let gIn = gradIn ?? zeros(fIn.shape);
            if (gIn.shape.join() === gOut.shape.join() && gIn.eq(gOut).logicalNot().sum().item() === 0) return -Infinity;
            const [b, co, ho, wo] = gOut.shape as [number, number, number, number];
            const [, ci, hi, wi] = gIn.shape as [number, number, number, number];
            if (hi !== ho || wi !== wo) {
              // Pixel unshuffle: each output position's stride×stride input patch becomes channels.
              const s = Math.floor(hi / ho);
              gIn = gIn.reshape(b, ci, ho, s, wo, s).permute(0, 1, 3, 5, 2, 4).reshape(b, ci * s * s, ho, wo);
            }
            const gi = gIn.permute(0, 2, 3, 1).reshape(b * ho * wo, -1);
            const go = gOut.permute(0, 2, 3, 1).reshape(b * ho * wo, co);
            const sigma = largestSingularValue(gi.t().matmul(go).div(b * ho * wo));
            return -sigma - 1 / (sigma + 1e-6) + 2;
          });
        }));
      }
      const nanToInf = (v: number) => (Number.isNaN(v) ? -Infinity : v);
      return {
        az_expressivity: nanToInf(iso.reduce((a, b) => a + b, 0)),
        az_progressivity: nanToInf(Math.min(...steps)),
        az_trainability: nanToInf(scores.reduce((a, b) => a + b, 0) / scores.length),
      };
    } finally {
      for (const f of features) f.dispose();
    }
  });
}

// ------------------------------------------------------------------ TE-NAS

/**
 * TE-NAS's NTK term: −(condition number of the NTK), the NTK being G·Gᵀ with
 * row i of G the gradient of sample i's summed logits with respect to every
 * parameter named weight (convs, linear layers and batch-norm scales), from
 * one train-mode forward of the batch; a NaN condition number counts as 1e5.
 */
export function teNtk(model: AnyModule, x: Tensor): number {
  const weights = model.namedParameters().filter(([name]) => name.split('.').at(-1) === 'weight').map(([, p]) => p);
  const n = x.shape[0]!;
  return tidy(() => {
    const logits = model.call(x) as Tensor;
    const rows: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      rows.push(tidy(() => {
        const gs = grad(logits.select(0, i).sum(), weights, { retainGraph: i < n - 1, allowUnused: true });
        // float32 rows, as the reference: n × (all weights) is the largest tensor here.
        return noGrad(() => cat(gs.map((g, j) => (g ?? zeros(weights[j]!.shape)).reshape(-1))));
      }));
    }
    return noGrad(() => {
      const g = stack(rows);
      const eig = eigvalsh(g.matmul(g.t()).double());
      const cond = eig.max().item() / eig.min().item();
      return -(Number.isNaN(cond) ? 1e5 : cond);
    });
  });
}

/**
 * TE-NAS's linear regions: the number of distinct activation patterns (which
 * side of zero every unit of every 4-d ReLU input is on) among the batch's
 * samples, from one train-mode forward: Σ_i 1 / #{j : pattern_j = pattern_i}.
 */
export function teLinearRegions(model: AnyModule, x: Tensor): number {
  const n = x.shape[0]!;
  return tidy(() => noGrad(() => {
    const inputs = activationInputs(model, () => tidy(() => { model.call(x); }));
    try {
      // Hamming distances from the codes c: d_ij = r_i + r_j − 2·(c cᵀ)_ij, r the row sums.
      const a = zeros([n, n], { dtype: 'float64' });
      const r = zeros([n], { dtype: 'float64' });
      for (const t of inputs) {
        tidy(() => {
          const c = t.reshape(n, -1).gt(0).double();
          a.add_(c.matmul(c.t()));
          r.add_(c.sum(1));
        });
      }
      const d = r.reshape(n, 1).add(r.reshape(1, n)).sub(a.mul(2));
      return d.eq(0).double().sum(1).reciprocal().sum().item();
    } finally {
      for (const t of inputs) t.dispose();
    }
  }));
}
