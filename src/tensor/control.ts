// Process-wide controls: RNG seed, threads, devices.
import { native } from './native.js';

export { defaultThreads } from './threads.js';

/** Seeds libtorch's generators: runs are then bit-for-bit reproducible on CPU. */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`threads must be a positive integer, got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Records every libtorch op (forward, backward, optimiser) with libtorch's
 * own profiler, the one torch.autograd.profiler uses, until stopOpProfiler()
 * writes them to `file` as a Chrome trace (tsnas bench step --profile).
 */
export function startOpProfiler(file: string): void {
  native.profilerStart(file);
}

export function stopOpProfiler(): void {
  native.profilerStop();
}

export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}

/** 'cuda' when the linked libtorch has a usable GPU, else 'cpu'. */
export function defaultDevice(): string {
  return native.cudaAvailable() ? 'cuda' : 'cpu';
}

/** Waits for queued GPU work (for timing); a no-op on CPU. */
export function synchronize(): void {
  native.cudaSynchronize();
}
