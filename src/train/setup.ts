// What every compute command does first: threads and seeds.
import { manualSeed, setNumThreads, getNumThreads } from '../tensor/index.js';

/** Applies --threads (when given) and seeds libtorch; returns the thread count in use. */
export function configureCompute(o: { threads?: number; seed?: number }): number {
  if (o.threads !== undefined) setNumThreads(o.threads);
  manualSeed(o.seed ?? 0);
  return getNumThreads();
}
