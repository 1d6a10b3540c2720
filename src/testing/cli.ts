// Running the tsnas CLI from tests, as a user would: `node bin/tsnas.js
// ARGS` in the repository root, the environment inherited (plus `env`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/, which sits in it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/tsnas.js', import.meta.url));

export interface CliOptions {
  /** Added to the inherited environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** Default: the repository root. */
  cwd?: string;
  /** runTsnas only: killed after this long (default 15 minutes, past any test's own timeout: only a hung process meets it); the kill is noted on stderr. */
  timeoutMs?: number;
}

export interface CliResult {
  /** The exit code, null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function environment(env: CliOptions['env']): NodeJS.ProcessEnv {
  return env ? { ...process.env, ...env } : process.env;
}

/** Runs `tsnas ...args` to its end. */
export function runTsnas(args: readonly string[], options: CliOptions = {}): CliResult {
  const timeoutMs = options.timeoutMs ?? 900_000;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: environment(options.env),
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const note = timedOut ? `\n[tsnas ${args.join(' ')}: killed after ${timeoutMs} ms]\n` : r.error ? `\n[tsnas ${args.join(' ')}: ${r.error.message}]\n` : '';
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + note };
}

/** Runs `tsnas ...args` without blocking this process; SIGKILLed after killAfterMs when given (kill-and-resume tests). */
export async function runTsnasAsync(args: readonly string[], options: Omit<CliOptions, 'timeoutMs'> & { killAfterMs?: number } = {}): Promise<CliResult> {
  const run = startTsnas(args, options);
  const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => run.child.kill('SIGKILL'), options.killAfterMs);
  const { status, signal } = await run.exited;
  clearTimeout(timer);
  return { status, signal, stdout: run.stdout(), stderr: run.stderr() };
}

/** A tsnas process running in the background (servers, workers, runs to interrupt). */
export interface TsnasProcess {
  child: ChildProcess;
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as they came. */
  output(): string;
}

/** Starts `tsnas ...args`; the caller waits for `exited` or kills `child`. */
export function startTsnas(args: readonly string[], options: Omit<CliOptions, 'timeoutMs'> = {}): TsnasProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env: environment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((stdout += d), (output += d)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((stderr += d), (output += d)));
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (status, signal) => resolve({ status, signal })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr, output: () => output };
}

/** The JSON value on the last line of a command's stdout (--json prints it last). */
export function lastJson(stdout: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}
