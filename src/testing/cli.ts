// Running the tsnas CLI from tests, as a user would: `node bin/tsnas.js
// ARGS` in the repository root, this process's environment plus `env`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/, which sits in it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TSNAS_BIN = fileURLToPath(new URL('../../bin/tsnas.js', import.meta.url));
/** The CLI's entry function, which ROWS_RUNNER calls (a path, not an import: src/testing sits below src/cli). */
const CLI_MAIN = new URL('../cli/main.js', import.meta.url).href;

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
  return watch(spawn(process.execPath, [TSNAS_BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Collects a child's output and its end. */
function watch(child: ChildProcess): TsnasProcess {
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

/** One command line of runTsnasRows, run in cwd (default the repository root). */
export interface CliRow {
  args: readonly string[];
  cwd?: string;
}

// Runs the rows one after the other through main(), as bin/tsnas.js would,
// with stdout and stderr captured per row; an exception out of main() is
// what would have been an uncaught stack trace.
const ROWS_RUNNER = `
import { readFileSync, writeFileSync } from 'node:fs';
const [rowsFile, resultsFile, mainUrl] = process.argv.slice(2);
const { main } = await import(mainUrl);
const rows = JSON.parse(readFileSync(rowsFile, 'utf8'));
const results = [];
const { stdout, stderr } = process;
const writes = { out: stdout.write, err: stderr.write };
for (const row of rows) {
  let out = '', err = '', code;
  stdout.write = (chunk) => ((out += String(chunk)), true);
  stderr.write = (chunk) => ((err += String(chunk)), true);
  try {
    process.chdir(row.cwd);
    code = await main(row.args);
  } catch (e) {
    err += 'uncaught: ' + (e instanceof Error ? e.stack : String(e)) + '\\n';
    code = 1;
  } finally {
    stdout.write = writes.out;
    stderr.write = writes.err;
  }
  results.push({ code, signal: null, stdout: out, stderr: err });
  writeFileSync(resultsFile, JSON.stringify(results));
}
process.exit(0);
`;

/**
 * Runs many command lines in one process (libtorch loads once), each
 * through the CLI's main() as `tsnas ARGS` would run it: its exit code and
 * captured output. A row whose process died (a native abort, a timeout
 * after timeoutMs) reports code null and the process's stderr.
 */
export async function runTsnasRows(rows: readonly CliRow[], options: { timeoutMs?: number } = {}): Promise<CliResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-rows-'));
  try {
    const rowsFile = join(dir, 'rows.json');
    const resultsFile = join(dir, 'results.json');
    writeFileSync(rowsFile, JSON.stringify(rows.map((r) => ({ args: r.args, cwd: r.cwd ?? REPO_ROOT }))));
    // A file, not node -e: worker threads (parallel trials) take over the process's node flags.
    const runner = join(dir, 'runner.mjs');
    writeFileSync(runner, ROWS_RUNNER);
    const run = watch(spawn(process.execPath, [runner, rowsFile, resultsFile, CLI_MAIN], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 900_000);
    const { code, signal } = await run.exited;
    clearTimeout(timer);
    let results: CliResult[] = [];
    try {
      results = JSON.parse(readFileSync(resultsFile, 'utf8')) as CliResult[];
    } catch {
      // Died before the first row finished.
    }
    const died = { code: null, signal, stdout: '', stderr: `[the rows' process ended with ${signal ?? `exit ${code}`} here]\n${run.stderr()}` };
    return rows.map((_, i) => results[i] ?? died);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
