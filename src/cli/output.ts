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
