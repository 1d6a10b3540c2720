// Test helper: runs the built CLI (bin/tsnas.js) as a user would.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TSNAS_BIN = fileURLToPath(new URL('../../bin/tsnas.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsnas ...args` to the end; `env` adds to this process's environment. */
export function runTsnas(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [TSNAS_BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON object on the last line of stdout. */
export function lastJson(r: CliResult): any {
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}
