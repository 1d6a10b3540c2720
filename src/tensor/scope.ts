// Explicit memory management for native tensors, which V8 cannot see.
//
// Every tensor created while a scope is open belongs to that scope. When the
// scope ends, it frees every tensor that was neither returned nor kept;
// returned tensors move to the enclosing scope. Tensors created outside any
// scope are owned by the caller (dispose them, or hand them to a Module).
import { native, type Handle } from './native.js';

/** Anything that holds native memory and can release it. */
export interface Disposable {
  dispose(): void;
}

interface Tracked {
  readonly handle: Handle;
  readonly isDisposed: boolean;
  kept: boolean;
  dispose(): void;
}

const stack: Tracked[][] = [];

/** Registers a freshly created tensor with the innermost open scope. */
export function track(t: Tracked): void {
  const top = stack[stack.length - 1];
  if (top) top.push(t);
}

function collectReturned(value: unknown, out: Set<Tracked>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('handle' in value && 'kept' in value) {
    out.add(value as unknown as Tracked);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectReturned(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectReturned(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectReturned(v, out, depth + 1);
  }
}

/**
 * Runs fn in a scope: tensors it creates are freed when it returns, except
 * those found in its result (tensors, or arrays, maps and plain objects of
 * them) and those marked with keep(). fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tracked[] = [];
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    throw new Error('tidy() takes a synchronous function; open a scope per step in async code');
  }
  const returned = new Set<Tracked>();
  collectReturned(result, returned);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (t.kept || t.isDisposed) continue;
    if (returned.has(t)) parent?.push(t);
    else t.dispose();
  }
  return result;
}

/** Exempts a tensor from every scope: its owner must dispose it. */
export function keep<T extends { kept: boolean }>(t: T): T {
  t.kept = true;
  return t;
}

/** Disposes every tensor found in value (tensors, arrays, maps, plain objects). */
export function dispose(value: unknown): void {
  const found = new Set<Tracked>();
  collectReturned(value, found);
  for (const t of found) t.dispose();
}

/** Live native tensors and the bytes they hold, across the whole process. */
export function memory(): { numTensors: number; numBytes: number } {
  return native.memory();
}

// A tensor collected by the garbage collector without dispose() is a leak:
// free it and say so once, so that the program's owner can find it.
let leaked = 0;
export const leakRegistry = new FinalizationRegistry<Handle>((h) => {
  if (!native.isLive(h)) return;
  native.free(h);
  leaked++;
  if (leaked === 1 || leaked % 10000 === 0) {
    process.emitWarning(
      `${leaked} tensor(s) were garbage-collected without dispose(); use tidy() or dispose()`,
      'TsnasLeakWarning',
    );
  }
});

export function leakedCount(): number {
  return leaked;
}
