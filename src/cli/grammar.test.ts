// The grammar of `tsnas search` (search-args.ts): aliases and dotted config
// fields, the strategy kind deciding what --budget and --epochs set, errors
// naming the flag typed; tsnas --version; bench search; and commands that
// compute nothing never loading libtorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configError } from '../errors.js';
import { checkConfig } from '../experiment/config.js';
import { explainConfigError, generatedName, parseSearchArgs, SEARCH_ALIASES } from './search-args.js';
import { dartsToSearchArgv } from './commands/darts.js';
import { commands } from './commands/index.js';
import { lastJson, runTsnas } from '../testing/cli.js';

const checked = (argv: string[]) => checkConfig(parseSearchArgs(argv).raw);
const withoutName = ({ name: _name, ...rest }: Record<string, unknown>) => rest;

test('aliases set the same config as the dotted fields, with or without --config and --name', () => {
  const aliases = ['--strategy', 'random', '--space', 'nb201', '--benchmark', 'nb201:cifar100', '--budget', '7', '--seed', '3', '--max-params', '1e6', '--max-flops', '2e8', '--batch', '2'];
  const dotted = ['--strategy.name', 'random', '--space.name', 'nb201', '--estimator.kind', 'benchmark', '--estimator.benchmark', 'nb201:cifar100',
    '--budget.trials', '7', '--seed', '3', '--constraints', '[params <= 1e6, flops <= 2e8]', '--batch', '2'];
  const a = checked(aliases);
  assert.deepEqual(a, checked(dotted));
  assert.equal(a.strategy.name, 'random');
  assert.deepEqual(a.estimator, { kind: 'benchmark', benchmark: 'nb201:cifar100' });
  assert.equal(a.budget.trials, 7);
  assert.equal(a.batch, 2);
  assert.deepEqual(a.constraints.map((c) => c.text), ['params <= 1e6', 'flops <= 2e8']);
  assert.deepEqual(checked([...aliases, '--name', 'x']), { ...a, name: 'x' });

  const dir = mkdtempSync(join(tmpdir(), 'tsnas-grammar-'));
  try {
    // A file with other values: the flags win over it, in the same way.
    const file = join(dir, 'exp.yaml');
    writeFileSync(file, 'strategy: {name: evolution}\nbudget: {trials: 50}\nconstraints: [params <= 1e6]\nestimator: {kind: benchmark}\n');
    const fromFile = checked(['--config', file, '--strategy', 'random', '--benchmark', 'nb201:cifar100', '--budget', '7', '--seed', '3', '--max-flops', '2e8', '--batch', '2']);
    assert.deepEqual(fromFile, { ...a, name: 'exp' });
    // Through the CLI, the checked config (--check) is the same for every form.
    const forms = [aliases, dotted, [...aliases, '--name', 'x'], ['--config', file, ...aliases.slice(0, -6), '--max-flops', '2e8', '--batch', '2']];
    const printed = forms.map((f) => {
      const r = runTsnas(['search', '--check', ...f], { TSNAS_FORBID_NATIVE: '1' });
      assert.equal(r.code, 0, r.stderr);
      return withoutName(lastJson(r));
    });
    for (const p of printed) assert.deepEqual(p, printed[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--budget, --epochs and the sizes go to strategy.options for a weight-sharing method, else to budget and estimator', () => {
  const sizes = ['--budget', '30', '--epochs', '3', '--channels', '8', '--cells', '1', '--resolution', '16', '--batch', '32'];
  const ws = parseSearchArgs(['--strategy', 'spos', ...sizes, '--dataset', 'fashion-mnist', '--limit-train', '400']).raw as any;
  assert.deepEqual(ws.strategy, { name: 'spos', options: { budget: 30, epochs: 3, channels: 8, cells: 1, resolution: 16, batch: 32 } });
  assert.deepEqual(ws.dataset, { name: 'fashion-mnist', limitTrain: 400 });
  assert.equal(ws.budget, undefined);
  assert.equal(ws.estimator, undefined);
  // The strategy decides wherever it is given: after the flags, or in the file.
  const late = parseSearchArgs([...sizes, '--strategy.name', 'darts']).raw as any;
  assert.deepEqual(late.strategy.options, ws.strategy.options);
  // Checked, the aliases and the dotted fields are the same weight-sharing experiment.
  assert.deepEqual(checked(['--strategy', 'spos', ...sizes, '--limit-train', '400']),
    checked(['--strategy.name', 'spos', ...sizes.flatMap((t, i) => (i % 2 === 0 ? [`--strategy.options.${t.slice(2)}`] : [t])), '--dataset.limitTrain', '400']));
  const multi = parseSearchArgs(['--strategy', 'random', ...sizes]).raw as any;
  assert.deepEqual(multi.budget, { trials: 30 });
  assert.deepEqual(multi.estimator, { epochs: 3, channels: 8, cells: 1, resolution: 16 });
  assert.equal(multi.batch, 32);
  assert.equal(multi.strategy.options, undefined);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-grammar-'));
  try {
    const file = join(dir, 'ws.yaml');
    writeFileSync(file, 'strategy: {name: ofa}\n');
    assert.deepEqual((parseSearchArgs(['--config', file, '--budget', '9']).raw as any).strategy, { name: 'ofa', options: { budget: 9 } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the weight-sharing flags of the one-off command map to strategy.options', () => {
  const raw = parseSearchArgs(['--strategy', 'pcdarts', '--pc-k', '2', '--fair-lambda', '0.5', '--arch-warmup', '1', '--hessian-every', '2', '--early-stop', '3',
    '--steps-per-epoch', '4', '--time-budget', '60', '--cost', 'latency:lut.json', '--cost-lambda', '0.1', '--skip-dropout', '0.2',
    '--space-options', '{"maxDepth":4}']).raw as any;
  assert.deepEqual(raw.strategy.options, {
    pcK: 2, fairLambda: 0.5, archWarmup: 1, hessianEvery: 2, earlyStop: 3, stepsPerEpoch: 4, timeBudgetSeconds: 60,
    cost: { kind: 'latency', table: 'lut.json', lambda: 0.1 }, skipDropout: 0.2,
  });
  assert.deepEqual(raw.space.options, { maxDepth: 4 });
  const ofa = parseSearchArgs(['--strategy', 'ofa', '--phase-split', '2,1,1,1', '--kd-weight', '0.5', '--subnets-per-step', '2', '--sampling', 'uniform', '--max-flops', '1400000']).raw as any;
  assert.deepEqual(ofa.strategy.options, { phaseSplit: [2, 1, 1, 1], kdWeight: 0.5, subnetsPerStep: 2, sampling: 'uniform' });
  assert.deepEqual(ofa.constraints, ['flops <= 1400000']);
  assert.deepEqual((parseSearchArgs(['--strategy', 'darts', '--cost', 'flops']).raw as any).strategy.options, { cost: { kind: 'flops' } });
  // tsnas darts is tsnas search --strategy (--method M, default darts).
  assert.deepEqual(dartsToSearchArgv(['--method', 'gdas', '--epochs', '2']), ['--strategy', 'gdas', '--epochs', '2']);
  assert.deepEqual(dartsToSearchArgv(['--method=spos']), ['--strategy=spos']);
  assert.deepEqual(dartsToSearchArgv(['--epochs', '2']), ['--strategy', 'darts', '--epochs', '2']);
});

test('errors name the flag the user typed, or the config file', () => {
  const cases: [string[], RegExp][] = [
    [['--budget', '0'], /--budget: expected an integer >= 1 and <= 10000000, found 0 \(config field budget\.trials\)/],
    [['--budget.trials', 'many'], /--budget\.trials: expected an integer >= 1 and <= 10000000, found "many"\n/],
    [['--strategy', 'frob'], /--strategy: expected one of .*found "frob" \(config field strategy\.name\)/],
    [['--benchmark', 'nb201:mnist'], /--benchmark: expected nb201:cifar10.*found "nb201:mnist" \(config field estimator\.benchmark\)/],
    [['--epochs', '3'], /--epochs: is not used by estimator kind 'benchmark'.*\(config field estimator\.epochs\)/],
    [['--max-params', 'lots'], /--max-params: expected METRIC OP NUMBER.*\(config field constraints\[0\]\)/],
    [['--pc-k', '3'], /--pc-k: is read by the weight-sharing methods \(.*darts.*\)/],
    [['--strategy', 'darts', '--pc-k', '3'], /--pc-k: unknown key \(value 3\).*\(config field strategy\.options\.pcK\)/],
    [['--strategy', 'spos', '--epochs', '0'], /--epochs: expected an integer >= 1, found 0 \(config field strategy\.options\.epochs\)/],
    [['--frob', '1'], /--frob: unknown flag; expected a config field such as --budget\.trials/],
    [['--estimator.frob', '1'], /--estimator\.frob: unknown key/],
    [['--seeds', '0-4'], /--seeds: unknown flag/],
    [['--strategy', 'random,local'], /--strategy: one experiment runs one strategy.*tsnas bench search/],
    [['--budget'], /--budget: missing value/],
  ];
  for (const [args, message] of cases) {
    const r = runTsnas(['search', '--check', ...args], { TSNAS_FORBID_NATIVE: '1' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-grammar-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'budget: {trials: 0}\n');
    const r = runTsnas(['search', '--check', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /budget\.trials: expected an integer >= 1 and <= 10000000, found 0 \(in .*bad\.yaml\)/);
    // The flag wins over the file in the message as in the config.
    assert.match(runTsnas(['search', '--check', '--config', file, '--budget', '-1']).stderr, /--budget: .*found -1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A library error found later (e.g. by a method's own option check) maps the same way.
  const { origins } = parseSearchArgs(['--strategy', 'darts', '--pc-k', '3']);
  const e = explainConfigError(configError('unknown option of darts', 'strategy.options.pcK'), origins) as Error & { where?: string };
  assert.equal(e.where, '--pc-k');
  assert.equal(e.message, '--pc-k: unknown option of darts (config field strategy.options.pcK)');
  const method = runTsnas(['darts', '--check', '--method', 'frob'], { TSNAS_FORBID_NATIVE: '1' });
  assert.equal(method.code, 2);
  assert.match(method.stderr, /tsnas darts: error: --method: expected one of .*found "frob"/);
  const other = configError('x', 'results.csv');
  assert.equal(explainConfigError(other, origins), other, 'errors about files, not config fields, pass unchanged');
});

test('without --name a name is made up and printed; with it, the same command resumes', () => {
  assert.equal(generatedName('evolution', 'nb201', new Date('2026-01-02T03:04:05Z')), 'evolution-nb201-20260102-030405');
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-grammar-'));
  try {
    const args = (budget: number) => ['search', '--strategy', 'random', '--budget', String(budget), '--storage', `sqlite:${join(dir, 'x.db')}`, '--quiet', '--json'];
    const first = runTsnas(args(4));
    assert.equal(first.code, 0, first.stderr);
    const name = /new experiment (random-nb201-\d{8}-\d{6})/.exec(first.stderr)?.[1];
    assert.ok(name, first.stderr);
    assert.equal(lastJson(first).name, name);
    const again = runTsnas([...args(6), '--name', name!]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resuming at 4\/6 trials/);
    assert.equal(lastJson(again).counts.complete, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas --version and -V print the package version', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = runTsnas([flag], { TSNAS_FORBID_NATIVE: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});

test('commands that compute nothing never load libtorch', async () => {
  const forbid = { TSNAS_FORBID_NATIVE: '1' };
  // The guard works: a command that computes fails under it.
  const computes = runTsnas(['bench', 'step', '--steps', '1', '--threads', '1'], forbid);
  assert.notEqual(computes.code, 0);
  assert.match(computes.stderr, /TSNAS_FORBID_NATIVE=1 forbids it/);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-grammar-'));
  try {
    const storage = `sqlite:${join(dir, 'x.db')}`;
    const made = runTsnas(['search', '--name', 'e', '--strategy', 'random', '--budget', '3', '--storage', storage, '--quiet']);
    assert.equal(made.code, 0, made.stderr);
    const runs: string[][] = [
      ['--help'], ['search', '--help'], ['train', '--help'], ['dashboard', '--help'],
      ['init', join(dir, 'x.yaml')], ['search', '--check', '--config', join(dir, 'x.yaml')],
      ['ls', '--storage', storage], ['show', 'e', '--storage', storage], ['report', 'e', '--storage', storage, '--out', join(dir, 'r.html')],
    ];
    for (const args of runs) {
      const r = runTsnas(args, forbid);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Each listed summary is its command's own (the list loads nothing).
  for (const entry of commands) {
    const command = await entry.load();
    assert.equal(command.name, entry.name);
    assert.equal(command.summary, entry.summary);
  }
});

test('tsnas search --help lists every alias; tsnas bench search keeps the multi-seed JSON summary', () => {
  const help = runTsnas(['search', '--help'], { TSNAS_FORBID_NATIVE: '1' });
  assert.equal(help.code, 0);
  for (const a of SEARCH_ALIASES) assert.ok(help.stdout.includes(`--${a.flag} `), `--${a.flag} listed`);
  assert.match(help.stdout, /--budget\.trials <value>/);
  const r = runTsnas(['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'random', '--budget', '5', '--seeds', '0-2', '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(Object.keys(lastJson(r)), ['strategy', 'dataset', 'budget', 'seeds', 'final_mean', 'final_std', 'optimum_rate', 'curve_mean']);
  assert.equal(lastJson(r).seeds, 3);
});
