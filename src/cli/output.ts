// Output conventions: results on stdout (with --json, one JSON object on the
// last line), progress and logs on stderr.
import { stderr } from 'node:process';

export function emitJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function log(message: string): void {
  stderr.write(`${message}\n`);
}

export { ProgressBar } from '../util/progress.js';

/**
 * A clean stop on Ctrl-C: the first SIGINT prints `message` and aborts the
 * signal (the command finishes what it must and exits 130); the listener is
 * then gone, so a second Ctrl-C quits at once. Call release() when done.
 */
export function stopOnSigint(message: string): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    stderr.write(`\n${message}\n`);
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.removeListener('SIGINT', onSigint) };
}
