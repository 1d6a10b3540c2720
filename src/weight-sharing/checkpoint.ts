// What every weight-sharing run needs to checkpoint itself (run.ts): the
// generators reseeded per epoch, and modules and optimizers flattened into
// named tensors plus JSON.
import { TsnasError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerStateDict } from '../nn/optim.js';
import type { Json } from '../util/json.js';
import { manualSeed, noGrad, Tensor } from '../tensor/index.js';
import { Rng } from '../util/random.js';

/**
 * Reseeds libtorch's generator and returns a fresh Rng, both derived from
 * (seed, stage): each epoch (stage = its 0-based index) and the final step
 * (stage 'final') then draw the same numbers whether or not the run was
 * resumed in between.
 */
export function reseed(seed: number, stage: number | 'final'): Rng {
  const index = stage === 'final' ? 0x7fffffff : stage;
  const derived = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  manualSeed(derived.nextUint32());
  return derived;
}

/**
 * Lets the event loop run (so that a Ctrl-C handler can abort `signal`),
 * then throws signal.reason when it is aborted: long loops of a run call it
 * between steps.
 */
export async function betweenSteps(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** A module's state dict (parameters and buffers) under `prefix.`. */
export function moduleTensors(prefix: string, module: Module): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(module.stateDict()).map(([k, t]) => [`${prefix}.${k}`, t]));
}

/** Loads tensors saved by moduleTensors into the module (copied). */
export function loadModuleTensors(prefix: string, module: Module, tensors: Record<string, Tensor>): void {
  const own = Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, t]) => [k.slice(prefix.length + 1), t]));
  module.loadStateDict(own);
}

/** Parameter lists (e.g. α) under `prefix.0`, `prefix.1`, ... */
export function listTensors(prefix: string, tensors: readonly Tensor[]): Record<string, Tensor> {
  return Object.fromEntries(tensors.map((t, i) => [`${prefix}.${i}`, t]));
}

/** Copies saved values into the listed tensors in place. */
export function loadListTensors(prefix: string, targets: readonly Tensor[], tensors: Record<string, Tensor>): void {
  targets.forEach((t, i) => {
    const saved = tensors[`${prefix}.${i}`];
    if (!saved) throw new TsnasError('data', `checkpoint has no tensor ${prefix}.${i}`);
    noGrad(() => t.copy_(saved));
  });
}

/** An optimizer's state: its buffers as tensors under `prefix.`, the rest as JSON. */
export function optimizerCheckpoint(prefix: string, optimizer: Optimizer): { state: Json; tensors: Record<string, Tensor> } {
  const dict = optimizer.stateDict();
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number>> = {};
  for (const [param, values] of Object.entries(dict.state)) {
    for (const [name, v] of Object.entries(values)) {
      if (v instanceof Tensor) tensors[`${prefix}.${param}.${name}`] = v;
      else (scalars[param] ??= {})[name] = v;
    }
  }
  return { state: { scalars, paramGroups: dict.paramGroups } as unknown as Json, tensors };
}

/** Restores what optimizerCheckpoint saved (tensors are copied). */
export function loadOptimizerCheckpoint(prefix: string, optimizer: Optimizer, state: Json, tensors: Record<string, Tensor>): void {
  const { scalars, paramGroups } = state as unknown as { scalars: Record<string, Record<string, number>>; paramGroups: OptimizerStateDict['paramGroups'] };
  const perParam: OptimizerStateDict['state'] = {};
  for (const [param, values] of Object.entries(scalars)) perParam[param] = { ...values };
  const head = `${prefix}.`;
  for (const [key, t] of Object.entries(tensors)) {
    if (!key.startsWith(head)) continue;
    const [param, name] = key.slice(head.length).split('.') as [string, string];
    (perParam[param] ??= {})[name] = t;
  }
  optimizer.loadStateDict({ state: perParam, paramGroups });
}
