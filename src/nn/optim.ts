// Optimizers with PyTorch 1.13's update rules (the single-tensor path's
// arithmetic, computed with multi-tensor calls so that a step costs a handful
// of native calls rather than several per parameter).
//
// Like torch's foreach path, step() may overwrite a parameter's .grad with the
// effective update direction (gradient plus weight decay, Nesterov term):
// clear gradients with zeroGrad() before the next backward pass.
import { Tensor, foreach, noGrad, tidy, zerosLike } from '../tensor/index.js';
import { TsnasError } from '../errors.js';

/** Hyper-parameters of a group: numbers and flags, always including lr. */
type Hyper = { lr: number };
type HyperValues = Record<string, number | boolean>;
/** A group in a state dict: its options plus the indices of its parameters. */
export type SavedParamGroup = { params: number[]; [option: string]: number | boolean | number[] };

export interface ParamGroup<H extends Hyper = Hyper> {
  params: Tensor[];
  /** Hyper-parameters of this group (lr, momentum, ...); schedulers change lr here. */
  options: H;
}

/** Input form of a group: its parameters plus any hyper-parameters overriding the defaults. */
export type ParamGroupInput<H extends Hyper> = { params: Tensor[] } & Partial<H>;

type StateValue = Tensor | number;
type ParamState = Record<string, StateValue>;

/** Serialisable optimizer state: per-parameter state keyed by parameter index. */
export interface OptimizerStateDict {
  state: Record<string, ParamState>;
  paramGroups: SavedParamGroup[];
}

export abstract class Optimizer<H extends Hyper = Hyper> {
  readonly paramGroups: ParamGroup<H>[];
  /** Per-parameter state (momentum buffers, moments); owned by the optimizer. */
  protected readonly state = new Map<Tensor, ParamState>();

  protected constructor(params: Tensor[] | ParamGroupInput<H>[], defaults: H) {
    const inputs: ParamGroupInput<H>[] =
      params.length > 0 && params[0] instanceof Tensor
        ? [{ params: params as Tensor[] } as ParamGroupInput<H>]
        : (params as ParamGroupInput<H>[]);
    if (inputs.length === 0 || inputs.every((g) => g.params.length === 0)) {
      throw new TsnasError('usage', `${this.constructor.name} got an empty parameter list`);
    }
    const seen = new Set<Tensor>();
    this.paramGroups = inputs.map(({ params: groupParams, ...overrides }) => {
      for (const p of groupParams) {
        if (seen.has(p)) throw new TsnasError('usage', `${this.constructor.name}: a parameter appears in more than one group`);
        seen.add(p);
      }
      const options = { ...defaults, ...(overrides as unknown as Partial<H>) } as H;
      this.validate(options);
      return { params: [...groupParams], options };
    });
  }

  /** Throws a TsnasError naming the bad hyper-parameter. */
  protected abstract validate(options: H): void;
  /** Updates the parameters of one group that have gradients. */
  protected abstract update(group: ParamGroup<H>, params: Tensor[], grads: Tensor[]): void;

  /** One optimisation step over every parameter that has a gradient. */
  step(): void {
    tidy(() => {
      noGrad(() => {
        for (const group of this.paramGroups) {
          const params: Tensor[] = [];
          const grads: Tensor[] = [];
          for (const p of group.params) {
            const g = p.grad;
            if (g) {
              params.push(p);
              grads.push(g);
            }
          }
          if (params.length > 0) this.update(group, params, grads);
        }
      });
    });
  }

  /** Drops the gradients of every parameter (set_to_none). */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** The learning rate of every group. */
  get lrs(): number[] {
    return this.paramGroups.map((g) => g.options.lr);
  }
  /** Sets the learning rate of every group (or of each group, from an array). */
  setLr(lr: number | number[]): void {
    this.paramGroups.forEach((g, i) => {
      const value = typeof lr === 'number' ? lr : lr[i];
      if (value === undefined || !(value >= 0)) throw new TsnasError('usage', `learning rate for group ${i} must be >= 0, got ${value}`);
      g.options.lr = value;
    });
  }

  protected getState(p: Tensor): ParamState | undefined {
    return this.state.get(p);
  }
  protected setState(p: Tensor, s: ParamState): void {
    for (const v of Object.values(s)) if (v instanceof Tensor) v.keep();
    this.state.set(p, s);
  }

  /**
   * State in torch's layout: parameters are numbered across groups in order.
   * Tensors are the optimizer's own (not copies): do not dispose them.
   */
  stateDict(): OptimizerStateDict {
    const state: Record<string, ParamState> = {};
    const paramGroups: SavedParamGroup[] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const ids: number[] = [];
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s) state[String(index)] = { ...s };
        ids.push(index++);
      }
      paramGroups.push({ ...(group.options as unknown as HyperValues), params: ids });
    }
    return { state, paramGroups };
  }

  /** Restores state saved by stateDict(); tensors are copied, the caller keeps dict's. */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new TsnasError('data', `optimizer state has ${dict.paramGroups.length} parameter groups, expected ${this.paramGroups.length}`);
    }
    const byIndex: Tensor[] = [];
    dict.paramGroups.forEach((saved, i) => {
      const group = this.paramGroups[i]!;
      if (saved.params.length !== group.params.length) {
        throw new TsnasError('data', `optimizer state group ${i} has ${saved.params.length} parameters, expected ${group.params.length}`);
      }
      saved.params.forEach((id, j) => {
        byIndex[id] = group.params[j]!;
      });
    });
    const restored = new Map<Tensor, ParamState>();
    for (const [key, saved] of Object.entries(dict.state)) {
      const p = byIndex[Number(key)];
      if (!p) throw new TsnasError('data', `optimizer state refers to parameter ${key}, which no group has`);
      for (const [name, v] of Object.entries(saved)) {
        if (v instanceof Tensor && (v.shape.length !== p.shape.length || v.shape.some((d, k) => d !== p.shape[k]))) {
          throw new TsnasError('data', `optimizer state "${key}.${name}": expected shape [${p.shape.join(', ')}], found [${v.shape.join(', ')}]`);
        }
      }
      restored.set(p, saved);
    }
    this.disposeState();
    for (const [p, saved] of restored) {
      const copy: ParamState = {};
      for (const [name, v] of Object.entries(saved)) {
        copy[name] = v instanceof Tensor ? noGrad(() => v.to({ device: p.device, dtype: p.dtype, copy: true })) : v;
      }
      this.setState(p, copy);
    }
    dict.paramGroups.forEach((saved, i) => {
      const { params: _ids, ...options } = saved;
      Object.assign(this.paramGroups[i]!.options, options);
    });
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    this.disposeState();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

// ------------------------------------------------------------ SGD

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/** torch.optim.SGD (1.13): momentum buffer starts as the first gradient. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroupInput<SGDOptions>[], options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options });
  }
  protected validate(o: SGDOptions): void {
    if (!(o.lr >= 0)) throw new TsnasError('config', `SGD lr must be >= 0, got ${o.lr}`);
    if (!(o.momentum >= 0)) throw new TsnasError('config', `SGD momentum must be >= 0, got ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new TsnasError('config', `SGD weight_decay must be >= 0, got ${o.weightDecay}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new TsnasError('config', `SGD nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum}, dampening ${o.dampening}`);
    }
  }
  protected update(group: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[]): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group.options;
    if (maximize) foreach.mul_(grads, -1);
    if (weightDecay !== 0) foreach.add_(grads, params, weightDecay);
    let directions = grads;
    if (momentum !== 0) {
      const bufs: Tensor[] = [];
      const oldBufs: Tensor[] = [];
      const oldGrads: Tensor[] = [];
      params.forEach((p, i) => {
        const s = this.getState(p);
        if (s) {
          const buf = s['momentumBuffer'] as Tensor;
          oldBufs.push(buf);
          oldGrads.push(grads[i]!);
          bufs.push(buf);
        } else {
          const buf = grads[i]!.detach().clone();
          this.setState(p, { momentumBuffer: buf });
          bufs.push(buf);
        }
      });
      if (oldBufs.length > 0) {
        foreach.mul_(oldBufs, momentum);
        foreach.add_(oldBufs, oldGrads, 1 - dampening);
      }
      if (nesterov) foreach.add_(grads, bufs, momentum);
      else directions = bufs;
    }
    foreach.add_(params, directions, -lr);
  }
}

// ------------------------------------------------------------ Adam and AdamW

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

function validateAdam(name: string, o: AdamOptions): void {
  if (!(o.lr >= 0)) throw new TsnasError('config', `${name} lr must be >= 0, got ${o.lr}`);
  if (!(o.eps >= 0)) throw new TsnasError('config', `${name} eps must be >= 0, got ${o.eps}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) throw new TsnasError('config', `${name} beta1 must be in [0, 1), got ${o.beta1}`);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) throw new TsnasError('config', `${name} beta2 must be in [0, 1), got ${o.beta2}`);
  if (!(o.weightDecay >= 0)) throw new TsnasError('config', `${name} weight_decay must be >= 0, got ${o.weightDecay}`);
}

/** Shared body of Adam and AdamW; decoupled selects AdamW's weight decay. */
function adamUpdate(opt: AdamBase, group: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[], decoupled: boolean): void {
  const { lr, beta1, beta2, eps, weightDecay, amsgrad, maximize } = group.options;
  if (maximize) foreach.mul_(grads, -1);
  if (weightDecay !== 0) {
    if (decoupled) foreach.mul_(params, 1 - lr * weightDecay);
    else foreach.add_(grads, params, weightDecay);
  }
  const states = params.map((p) => opt.stateOf(p, amsgrad));
  const expAvgs = states.map((s) => s['expAvg'] as Tensor);
  const expAvgSqs = states.map((s) => s['expAvgSq'] as Tensor);
  foreach.mul_(expAvgs, beta1);
  foreach.add_(expAvgs, grads, 1 - beta1);
  foreach.mul_(expAvgSqs, beta2);
  foreach.addcmul_(expAvgSqs, grads, grads, 1 - beta2);
  let second = expAvgSqs;
  if (amsgrad) {
    second = states.map((s, i) => {
      const max = s['maxExpAvgSq'] as Tensor;
      return max.copy_(max.maximum(expAvgSqs[i]!));
    });
  }
  const denoms = foreach.sqrt(second);
  // Parameters usually share one step count; group them so each group is one call.
  const bySteps = new Map<number, number[]>();
  states.forEach((s, i) => {
    const step = (s['step'] as number) + 1;
    s['step'] = step;
    const list = bySteps.get(step);
    if (list) list.push(i);
    else bySteps.set(step, [i]);
  });
  for (const [step, indices] of bySteps) {
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
    for (const i of indices) denoms[i]!.div_(biasCorrection2Sqrt).add_(eps);
    foreach.addcdiv_(
      indices.map((i) => params[i]!), indices.map((i) => expAvgs[i]!), indices.map((i) => denoms[i]!), -stepSize,
    );
  }
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  /** The moments of p, created (zeros) on first use. */
  stateOf(p: Tensor, amsgrad: boolean): ParamState {
    let s = this.getState(p);
    if (!s) {
      s = { step: 0, expAvg: zerosLike(p), expAvgSq: zerosLike(p) };
      if (amsgrad) s['maxExpAvgSq'] = zerosLike(p);
      this.setState(p, s);
    }
    return s;
  }
}

/** torch.optim.Adam (1.13): L2 weight decay added to the gradient. */
export class Adam extends AdamBase {
  constructor(params: Tensor[] | ParamGroupInput<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }
  protected validate(o: AdamOptions): void {
    validateAdam('Adam', o);
  }
  protected update(group: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[]): void {
    adamUpdate(this, group, params, grads, false);
  }
}

/** torch.optim.AdamW (1.13): decoupled weight decay, default 1e-2. */
export class AdamW extends AdamBase {
  constructor(params: Tensor[] | ParamGroupInput<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...options });
  }
  protected validate(o: AdamOptions): void {
    validateAdam('AdamW', o);
  }
  protected update(group: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[]): void {
    adamUpdate(this, group, params, grads, true);
  }
}
