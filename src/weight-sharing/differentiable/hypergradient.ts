// Second-order DARTS: the gradient of the validation loss at the unrolled
// weights w' = w − ξ·(∇w L_train(w, α) + momentum and weight-decay terms),
//   ∇α L_val(w', α) − ξ·∇²_{α,w} L_train(w, α)·∇w' L_val(w', α),
// where the mixed second derivative times v = ∇w' L_val is the central
// finite difference (∇α L_train(w + εv) − ∇α L_train(w − εv)) / 2ε with
// ε = 0.01/‖v‖ (DARTS, Liu et al. 2019, eq. 7-8). Also the power iteration
// for the dominant Hessian eigenvalue of the validation loss w.r.t. α.
import { TsnasError } from '../../errors.js';
import { foreach, grad, noGrad, stack, tidy, zerosLike, type Tensor } from '../../tensor/index.js';

export interface UnrolledOptions {
  /** Network weights (leaves; modified in place during the call, restored after). */
  weights: Tensor[];
  /** Architecture parameters. */
  alphas: Tensor[];
  /** Runs a forward pass on the training batch and returns its loss (scalar, in the autograd graph). */
  trainLoss: () => Tensor;
  /** The same on the validation batch; may add α-only regularisers. */
  validLoss: () => Tensor;
  /** The virtual step size ξ (DARTS uses the weights' learning rate). */
  xi: number;
  weightDecay?: number;
  momentum?: number;
  /** The weight optimizer's momentum buffers, aligned with weights (null where none yet). */
  momentumBuffers?: (Tensor | null)[];
  /** ε = epsilonScale / ‖v‖ (default 0.01). */
  epsilonScale?: number;
  /** How gradients are taken (default: autograd's grad); e.g. a segmented backward. */
  gradient?: GradientOracle;
}

/** Gradients of the scalar a loss closure returns w.r.t. inputs (null where unused), owned by the caller's scope. */
export type GradientOracle = (loss: () => Tensor, inputs: Tensor[]) => (Tensor | null)[];

/** The plain oracle: one autograd grad() call. */
export const autogradOracle: GradientOracle = (loss, inputs) => grad(loss(), inputs, { allowUnused: true });

export interface UnrolledResult {
  /** The hypergradient per α (owned by the caller). */
  grads: Tensor[];
  /** L_val(w', α). */
  validLoss: number;
}

/** ‖xs‖ over all tensors. */
function globalNorm(xs: Tensor[]): number {
  return tidy(() => stack(foreach.norm(xs)).norm().item());
}

const orZeros = (gs: (Tensor | null)[], like: Tensor[]) => gs.map((g, i) => g ?? zerosLike(like[i]!));

/** The second-order architecture gradient (DARTS's Architect._backward_step_unrolled). */
export function unrolledArchGradient(o: UnrolledOptions): UnrolledResult {
  const { weights, alphas, xi } = o;
  const wd = o.weightDecay ?? 0;
  const momentum = o.momentum ?? 0;
  return tidy(() => {
    const saved = noGrad(() => weights.map((w) => w.detach().clone()));
    try {
      // w' = w − ξ(momentum·buf + ∇w L_train + wd·w)
      const gradientOf = o.gradient ?? autogradOracle;
      const trainGrads = orZeros(gradientOf(o.trainLoss, weights), weights);
      noGrad(() => {
        const step = trainGrads.map((g, i) => {
          let d = wd !== 0 ? g.add(weights[i]!.mul(wd)) : g;
          const buf = o.momentumBuffers?.[i];
          if (momentum !== 0 && buf) d = d.add(buf.mul(momentum));
          return d;
        });
        foreach.add_(weights, step, -xi);
      });
      let validLoss = NaN;
      const all = gradientOf(() => {
        const valid = o.validLoss();
        validLoss = valid.item();
        return valid;
      }, [...alphas, ...weights]);
      const direct = orZeros(all.slice(0, alphas.length), alphas);
      const v = orZeros(all.slice(alphas.length), weights);
      const norm = globalNorm(v);
      if (!Number.isFinite(norm)) throw new TsnasError('data', `second-order DARTS: the validation gradient norm is ${norm}`);
      if (norm === 0) {
        noGrad(() => weights.forEach((w, i) => w.copy_(saved[i]!)));
        return { grads: direct.map((g) => g.detach()), validLoss };
      }
      const eps = (o.epsilonScale ?? 0.01) / norm;
      const alphaGradAt = (sign: 1 | -1) => {
        noGrad(() => {
          weights.forEach((w, i) => w.copy_(saved[i]!));
          foreach.add_(weights, v, sign * eps);
        });
        return orZeros(gradientOf(o.trainLoss, alphas), alphas);
      };
      const plus = alphaGradAt(1);
      const minus = alphaGradAt(-1);
      const grads = noGrad(() => direct.map((d, i) => d.sub(plus[i]!.sub(minus[i]!).mul(xi / (2 * eps)))));
      return { grads, validLoss };
    } finally {
      noGrad(() => weights.forEach((w, i) => w.copy_(saved[i]!)));
    }
  });
}

/** The gradient of validLoss w.r.t. α alone (first-order DARTS): no weight gradients are computed. */
export function firstOrderArchGradient(alphas: Tensor[], validLoss: () => Tensor, gradient: GradientOracle = autogradOracle): UnrolledResult {
  return tidy(() => {
    let value = NaN;
    const grads = orZeros(gradient(() => {
      const loss = validLoss();
      value = loss.item();
      return loss;
    }, alphas), alphas);
    return { grads, validLoss: value };
  });
}

/**
 * The dominant eigenvalue (largest in magnitude, with its sign) of the
 * Hessian of loss() w.r.t. the parameters, by power iteration on exact
 * Hessian-vector products (double backward through one graph).
 */
export function dominantHessianEigenvalue(params: Tensor[], loss: () => Tensor, o: { iterations?: number; tolerance?: number } = {}): number {
  const iterations = o.iterations ?? 20;
  const tolerance = o.tolerance ?? 1e-4;
  return tidy(() => {
    const grads = grad(loss(), params, { createGraph: true, allowUnused: true });
    const used = params.map((_, i) => i).filter((i) => grads[i] !== null);
    if (used.length === 0) return 0;
    const g = used.map((i) => grads[i]!);
    const p = used.map((i) => params[i]!);
    let v = noGrad(() => {
      const r = p.map((t) => zerosLike(t).normal_());
      const n = globalNorm(r);
      return r.map((t) => t.div(n));
    });
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      const hv = tidy(() => orZeros(grad(g, p, { gradOutputs: v, retainGraph: true, allowUnused: true }), p).map((t) => t.detach()));
      const next = noGrad(() => {
        const rayleigh = stack(hv.map((h, i) => h.mul(v[i]!).sum())).sum().item();
        const n = globalNorm(hv);
        return { rayleigh, v: n > 0 ? hv.map((h) => h.div(n)) : hv };
      });
      const converged = Math.abs(next.rayleigh - lambda) <= tolerance * Math.max(1, Math.abs(next.rayleigh));
      lambda = next.rayleigh;
      v = next.v;
      if (converged && it > 1) break;
    }
    return lambda;
  });
}
