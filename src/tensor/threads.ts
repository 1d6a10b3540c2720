// The default thread count, apart from the addon so that reading it loads nothing.
import { availableParallelism } from 'node:os';
import { usageError } from '../errors.js';

/**
 * The libtorch threads a process starts with: TSNAS_THREADS when set, else
 * every core (Debian's libtorch alone would start with one). Reading it does
 * not load the addon.
 */
export function defaultThreads(): number {
  const env = process.env['TSNAS_THREADS'];
  if (env === undefined || env === '') return availableParallelism();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw usageError(`TSNAS_THREADS must be a positive integer, got ${JSON.stringify(env)}`, 'TSNAS_THREADS');
  return n;
}
