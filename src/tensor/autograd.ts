// Autograd beyond Tensor.backward(): grad(), grad modes.
import { native } from './native.js';
import { Tensor } from './tensor.js';

export interface GradOptions {
  /** Gradients of each output (default: ones for scalar outputs). */
  gradOutputs?: Tensor[];
  /** Build a graph of the gradient itself, for Hessian-vector products. */
  createGraph?: boolean;
  /** Keep the graph for another backward pass (defaults to createGraph). */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of failing. */
  allowUnused?: boolean;
}

/** d(sum of outputs)/d(inputs), without touching .grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const res = native.autogradGrad(
    outs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    options.gradOutputs?.map((t) => t.handle) ?? null,
    options.createGraph ?? false,
    options.retainGraph ?? null,
    options.allowUnused ?? false,
  );
  return res.map((g) => (g === null ? null : new Tensor(g)));
}

/** Runs fn with gradient recording off (restored afterwards). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with gradient recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * Runs fn in libtorch's inference mode: faster than noGrad, but tensors made
 * inside can never take part in autograd later.
 */
export function inferenceMode<T>(fn: () => T): T {
  native.enterInferenceMode();
  try {
    return fn();
  } finally {
    native.exitInferenceMode();
  }
}
