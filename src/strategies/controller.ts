// An LSTM policy over a space's decisions (Zoph & Le, 2017; Pham et al.,
// 2018): one LSTM step per dimension, in the space's order; the step's head
// gives a distribution over that dimension's values and the chosen value is
// the next step's input. Inactive (conditional) dimensions still take a step
// with a per-dimension "absent" token, so every sample has the same length
// and a batch is teacher-forced in one pass.
//
// The weights live in plain Float32Arrays (the source of truth, saved in the
// strategy state) and are mirrored into libtorch tensors for the forward
// and backward passes; Adam and gradient clipping run in TypeScript on the
// arrays, which is cheap at this size and keeps resumption bit-exact.
import type { Dimension, Sample, SearchSpace } from '../spaces/types.js';
import {
  cat, embedding, lstmCell, linear, logSoftmax, noGrad, tensor, tidy, zeros, type Tensor,
} from '../tensor/index.js';
import type { Rng } from '../util/random.js';

export interface ControllerOptions {
  /** LSTM hidden size, also the embedding size (default 32). */
  hidden?: number;
  learningRate?: number;
  /** Global gradient-norm clip (default 5). */
  clipNorm?: number;
  /** Softmax temperature when sampling (default 1). */
  temperature?: number;
  /** Logits are squashed to tanhConstant·tanh(logits/tanhConstant) when > 0 (ENAS' trick against early collapse; default 0 = off). */
  tanhConstant?: number;
}

export interface ControllerState {
  params: number[][];
  adamM: number[][];
  adamV: number[][];
  step: number;
}

interface ParamSpec {
  name: string;
  shape: number[];
}

export class Controller {
  readonly hidden: number;
  private readonly dims: readonly Dimension[];
  /** Token of (dimension, value index); the absent token of dimension d is tokenBase[d] + values. */
  private readonly tokenBase: number[];
  private readonly specs: ParamSpec[];
  private params: Float32Array[];
  private adamM: Float32Array[];
  private adamV: Float32Array[];
  private step = 0;
  private tensors: Tensor[] | null = null;
  readonly learningRate: number;
  readonly clipNorm: number;
  readonly temperature: number;
  readonly tanhConstant: number;

  constructor(private readonly space: SearchSpace, rng: Rng, options: ControllerOptions = {}) {
    this.hidden = options.hidden ?? 32;
    this.learningRate = options.learningRate ?? 0.01;
    this.clipNorm = options.clipNorm ?? 5;
    this.temperature = options.temperature ?? 1;
    this.tanhConstant = options.tanhConstant ?? 0;
    this.dims = space.dimensions();
    this.tokenBase = [];
    let tokens = 1; // token 0 starts the sequence
    for (const d of this.dims) {
      this.tokenBase.push(tokens);
      tokens += d.values.length + 1;
    }
    const h = this.hidden;
    this.specs = [
      { name: 'embedding', shape: [tokens, h] },
      { name: 'wIh', shape: [4 * h, h] },
      { name: 'wHh', shape: [4 * h, h] },
      { name: 'bIh', shape: [4 * h] },
      { name: 'bHh', shape: [4 * h] },
      ...this.dims.flatMap((d) => [
        { name: `head.${d.label}.w`, shape: [d.values.length, h] },
        { name: `head.${d.label}.b`, shape: [d.values.length] },
      ]),
    ];
    // Uniform(-0.1, 0.1), as in the NAS controllers; heads start near uniform policies.
    this.params = this.specs.map((s) => {
      const a = new Float32Array(s.shape.reduce((x, y) => x * y, 1));
      for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * 0.1;
      return a;
    });
    this.adamM = this.params.map((p) => new Float32Array(p.length));
    this.adamV = this.params.map((p) => new Float32Array(p.length));
  }

  /** The parameters as leaf tensors requiring grad, rebuilt after each update. */
  private weights(): Tensor[] {
    if (!this.tensors) {
      this.tensors = this.params.map((p, i) => tensor(p, this.specs[i]!.shape, { dtype: 'float32' }).keep().requiresGrad_(true));
    }
    return this.tensors;
  }

  private head(weights: Tensor[], d: number): [Tensor, Tensor] {
    return [weights[5 + 2 * d]!, weights[6 + 2 * d]!];
  }

  private squash(logits: Tensor): Tensor {
    let l = logits;
    if (this.tanhConstant > 0) l = l.div(this.tanhConstant).tanh().mul(this.tanhConstant);
    return this.temperature !== 1 ? l.div(this.temperature) : l;
  }

  /** Draws one sample from the policy; returns it with its log-probability. */
  sample(rng: Rng): { sample: Sample; logProb: number } {
    return this.sampleBatch(rng, 1)[0]!;
  }

  /**
   * Draws k independent samples in one batched pass (the native calls cost
   * the same for 1 row or 8, so strategies that must skip repeats draw
   * several at once).
   */
  sampleBatch(rng: Rng, k: number): { sample: Sample; logProb: number }[] {
    return tidy(() =>
      noGrad(() => {
        const w = this.weights();
        let h = zeros([k, this.hidden]);
        let c = zeros([k, this.hidden]);
        let tokens = new Array<number>(k).fill(0);
        const logProbs = new Array<number>(k).fill(0);
        const out: Record<string, string | number>[] = Array.from({ length: k }, () => ({}));
        this.dims.forEach((d, di) => {
          const x = embedding(w[0]!, tensor(tokens, [k], { dtype: 'int64' }));
          [h, c] = lstmCell(x, h, c, w[1]!, w[2]!, w[3]!, w[4]!);
          const active = out.map((o) => !d.condition || d.condition(o));
          const absent = this.tokenBase[di]! + d.values.length;
          if (!active.some(Boolean)) {
            tokens = tokens.map(() => absent);
            return;
          }
          const [hw, hb] = this.head(w, di);
          const logp = logSoftmax(this.squash(linear(h, hw, hb)), 1).data() as Float32Array;
          const n = d.values.length;
          tokens = out.map((o, r) => {
            if (!active[r]) return absent;
            const u = rng.next();
            let j = 0;
            let acc = Math.exp(logp[r * n]!);
            while (j < n - 1 && u >= acc) acc += Math.exp(logp[r * n + ++j]!);
            logProbs[r]! += logp[r * n + j]!;
            o[d.label] = d.values[j]!;
            return this.tokenBase[di]! + j;
          });
        });
        return out.map((o, r) => ({ sample: o as Sample, logProb: logProbs[r]! }));
      }),
    );
  }

  /**
   * Teacher-forced pass over a batch: per-sample log-probability and mean
   * per-decision entropy, as tensors in the autograd graph (call inside tidy).
   */
  evaluate(samples: readonly Sample[]): { logProb: Tensor; entropy: Tensor } {
    const w = this.weights();
    const b = samples.length;
    let h = zeros([b, this.hidden]);
    let c = zeros([b, this.hidden]);
    let tokens = new Array<number>(b).fill(0);
    const logProbs: Tensor[] = [];
    const entropies: Tensor[] = [];
    const decisions = new Array<number>(b).fill(0);
    // Every native call costs tens of microseconds here, more than its arithmetic,
    // so the loop avoids optional ops: masks only when a dimension is inactive
    // somewhere, and [b, 1] shapes kept until the end.
    this.dims.forEach((d, di) => {
      const x = embedding(w[0]!, tensor(tokens, [b], { dtype: 'int64' }));
      [h, c] = lstmCell(x, h, c, w[1]!, w[2]!, w[3]!, w[4]!);
      const choice = samples.map((s) => (s[d.label] === undefined ? -1 : d.values.indexOf(s[d.label]!)));
      tokens = choice.map((k) => this.tokenBase[di]! + (k < 0 ? d.values.length : k));
      if (choice.every((k) => k < 0)) return;
      choice.forEach((k, i) => (decisions[i]! += k < 0 ? 0 : 1));
      const [hw, hb] = this.head(w, di);
      const logp = logSoftmax(this.squash(linear(h, hw, hb)), 1);
      let picked = logp.gather(1, tensor(choice.map((k) => Math.max(k, 0)), [b, 1], { dtype: 'int64' }));
      // Negative entropy, summed over the step's values.
      let negEntropy = logp.exp().mul(logp).sum(1, true);
      if (choice.some((k) => k < 0)) {
        const mask = tensor(choice.map((k) => (k < 0 ? 0 : 1)), [b, 1], { dtype: 'float32' });
        picked = picked.mul(mask);
        negEntropy = negEntropy.mul(mask);
      }
      logProbs.push(picked);
      entropies.push(negEntropy);
    });
    const count = tensor(decisions.map((n) => -Math.max(n, 1)), [b], { dtype: 'float32' });
    return {
      logProb: cat(logProbs, 1).sum(1),
      entropy: cat(entropies, 1).sum(1).div(count),
    };
  }

  /** Log-probabilities of samples under the current policy, without autograd. */
  logProbs(samples: readonly Sample[]): number[] {
    return tidy(() => noGrad(() => Array.from(this.evaluate(samples).logProb.data() as Float32Array)));
  }

  /**
   * One optimisation step on a scalar loss built by `lossFn` (inside a tidy
   * scope): backward, global-norm clipping, Adam. Returns the loss.
   */
  update(lossFn: () => Tensor): number {
    const { loss, grads } = tidy(() => {
      const l = lossFn();
      l.backward();
      const g = this.weights().map((t) => (t.grad ? (t.grad.data() as Float32Array) : null));
      return { loss: l.item(), grads: g };
    });
    this.release();
    let norm2 = 0;
    for (const g of grads) if (g) for (let i = 0; i < g.length; i++) norm2 += g[i]! * g[i]!;
    const norm = Math.sqrt(norm2);
    const scale = this.clipNorm > 0 && norm > this.clipNorm ? this.clipNorm / norm : 1;
    this.step++;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    grads.forEach((g, k) => {
      if (!g) return;
      const p = this.params[k]!;
      const m = this.adamM[k]!;
      const v = this.adamV[k]!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * scale;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        p[i]! -= (this.learningRate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8);
      }
    });
    return loss;
  }

  /** Drops the tensor mirror (rebuilt on next use). */
  private release(): void {
    if (this.tensors) for (const t of this.tensors) t.dispose();
    this.tensors = null;
  }

  getState(): ControllerState {
    return {
      params: this.params.map((p) => Array.from(p)),
      adamM: this.adamM.map((p) => Array.from(p)),
      adamV: this.adamV.map((p) => Array.from(p)),
      step: this.step,
    };
  }

  setState(state: ControllerState): void {
    this.release();
    this.params = state.params.map((p) => Float32Array.from(p));
    this.adamM = state.adamM.map((p) => Float32Array.from(p));
    this.adamV = state.adamV.map((p) => Float32Array.from(p));
    this.step = state.step;
  }

  dispose(): void {
    this.release();
  }

  /** For error messages and checks. */
  get spaceName(): string {
    return this.space.name;
  }
}
