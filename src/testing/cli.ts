// Running the tsnas CLI from tests, as a user would: `node bin/tsnas.js
// ARGS` in the repository root, this process's environment plus `env`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/, which sits in it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TSNAS_BIN = fileURLToPath(new URL('../../bin/tsnas.js', import.meta.url));

/** Added to this process's environment (undefined removes a variable). */
export type CliEnv = Record<string, string | undefined>;

export interface CliResult {
  /** The exit code, null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const environment = (env: CliEnv): NodeJS.ProcessEnv => ({ ...process.env, ...env });

/**
 * Runs `tsnas ...args` to its end. It is killed after timeoutMs (default 15
 * minutes, past any test's own timeout: only a hung process meets it), and
 * the kill is noted on stderr.
 */
export function runTsnas(args: readonly string[], env: CliEnv = {}, options: { cwd?: string; timeoutMs?: number } = {}): CliResult {
  const timeoutMs = options.timeoutMs ?? 900_000;
  const r = spawnSync(process.execPath, [TSNAS_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: environment(env),
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const note = timedOut ? `\n[tsnas ${args.join(' ')}: killed after ${timeoutMs} ms]\n` : r.error ? `\n[tsnas ${args.join(' ')}: ${r.error.message}]\n` : '';
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + note };
}

/** A tsnas process running in the background (servers, workers, runs to interrupt). */
export interface TsnasProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they came. */
  output(): string;
}

/** Starts `tsnas ...args`; the caller waits for `exited` or kills `child`. */
export function startTsnas(args: readonly string[], env: CliEnv = {}, options: { cwd?: string } = {}): TsnasProcess {
  const child = spawn(process.execPath, [TSNAS_BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((stdout += d), (output += d)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((stderr += d), (output += d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr, output: () => output };
}

/** Runs `tsnas ...args` without blocking this process; SIGKILLed after killAfterMs when given (kill-and-resume tests). */
export async function runTsnasAsync(args: readonly string[], env: CliEnv = {}, options: { cwd?: string; killAfterMs?: number } = {}): Promise<CliResult> {
  const run = startTsnas(args, env, options);
  const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => run.child.kill('SIGKILL'), options.killAfterMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}

/** The JSON value on the last line of a command's stdout (--json prints it last). */
export function lastJson(output: string | { stdout: string }): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const text = typeof output === 'string' ? output : output.stdout;
  return JSON.parse(text.trim().split('\n').at(-1)!);
}
