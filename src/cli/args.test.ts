// The flag parser: values typed by their specs, defaults and required flags, and its messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { computeFlags, parseArgs, usage } from './args.js';

const specs = {
  ...computeFlags,
  out: { type: 'string', help: 'output file', required: true },
  clock: { type: 'string', help: 'which clock', default: 'wall', choices: ['wall', 'cpu'] },
  rate: { type: 'number', help: 'a rate', min: 0, max: 1 },
  quiet: { type: 'boolean', help: 'say less' },
} as const;

test('parseArgs types each flag by its spec: required and defaulted flags are always there', () => {
  const { flags, positional } = parseArgs(['--out', 'a.json', '--threads', '2', '--clock=cpu', '--quiet', 'extra'], specs);
  // Each assignment compiles only if the parsed type is the one named (tsc checks this file).
  const out: string = flags.out;
  const seed: number = flags.seed;
  const clock: 'wall' | 'cpu' = flags.clock;
  const threads: number | undefined = flags.threads;
  const rate: number | undefined = flags.rate;
  const quiet: boolean | undefined = flags.quiet;
  assert.deepEqual({ out, seed, clock, threads, rate, quiet }, { out: 'a.json', seed: 0, clock: 'cpu', threads: 2, rate: undefined, quiet: true });
  assert.deepEqual(positional, ['extra']);
});

test('parseArgs names the flag and the value in its usage errors', () => {
  const cases: [string[], RegExp][] = [
    [['--threads', '2'], /^--out: is required$/],
    [['--out', 'a', '--threads', 'two'], /^--threads: expected an integer, got 'two'$/],
    [['--out', 'a', '--rate', '2'], /^--rate: expected a value <= 1, got 2$/],
    [['--out', 'a', '--clock', 'sun'], /^--clock: expected one of wall, cpu, got 'sun'$/],
    [['--out', 'a', '--quiet=maybe'], /^--quiet: expected true or false, got 'maybe'$/],
    [['--out'], /^--out: missing value$/],
    [['--frob'], /^--frob: unknown flag; known flags: --threads, --seed/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseArgs(argv, specs), (e: Error) => e instanceof TsnasError && e.code === 'usage' && message.test(e.message), argv.join(' '));
  }
});

test('usage lists every flag with its value, requirement and default', () => {
  const text = usage('demo', 'A demo.', specs);
  assert.match(text, /^usage: tsnas demo \[flags\]/);
  assert.match(text, /--out <string> \(required\)  output file/);
  assert.match(text, /--clock <wall\|cpu>  which clock \(default wall\)/);
  assert.match(text, /--quiet  say less/);
});
