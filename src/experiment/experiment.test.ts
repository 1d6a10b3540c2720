// Experiment configs, the loop, resume under SIGKILL and parallel trials,
// all on the deterministic NAS-Bench-201 table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsnasError } from '../errors.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { lastJson, runTsnas, runTsnasAsync, startTsnas } from '../testing/cli.js';
import { Rng } from '../util/random.js';
import { checkConfig, EXAMPLE_CONFIG, parseConfigText, setConfigPath } from './config.js';
import { threadsPerTrial } from './pool.js';
import { runExperiment } from './run.js';
import { summarizeExperiment } from './summary.js';

function configError(raw: unknown): TsnasError {
  try {
    checkConfig(raw);
  } catch (e) {
    assert.ok(e instanceof TsnasError, `expected a TsnasError, got ${e}`);
    assert.equal(e.code, 'config');
    assert.equal(e.exitCode, 2);
    return e;
  }
  assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}

test('config errors name the field path, the value and what was expected', () => {
  let e = configError({ budget: { trails: 5 } });
  assert.match(e.message, /^budget\.trails: unknown key \(value 5\); expected one of trials, minutes/);
  e = configError({ budget: { trials: 0 } });
  assert.match(e.message, /^budget\.trials: expected an integer >= 1 and <= 10000000, found 0/);
  e = configError({ strategy: { name: 'annealing' } });
  assert.match(e.message, /^strategy\.name: expected one of random, evolution.*found "annealing"/);
  e = configError({ constraints: ['params =< 1e6'] });
  assert.match(e.message, /^constraints\[0\]: expected METRIC OP NUMBER.*found "params =< 1e6"/);
  e = configError({ objectives: [{ name: 'params', direction: 'down' }] });
  assert.match(e.message, /^objectives\[0\]\.direction: expected one of max, min, found "down"/);
  e = configError({ estimator: { kind: 'benchmark', epochs: 3 } });
  assert.match(e.message, /^estimator\.epochs: is not used by estimator kind 'benchmark' \(value 3\)/);
  e = configError({ strategy: { name: 'nsga2' } });
  assert.match(e.message, /^objectives: expected at least 2 objectives for strategy nsga2/);
  e = configError({ seed: 'zero' });
  assert.match(e.message, /^seed: expected an integer >= 0 and <= 4294967295, found "zero"/);
  e = configError({ space: { name: 'darts' }, estimator: { kind: 'benchmark' } });
  assert.match(e.message, /^estimator\.kind: estimator kind 'benchmark' \(nb201:cifar10\) is a NAS-Bench-201 table and covers only space nb201, found space "darts"/);
  e = configError({ space: { name: 'chain' }, estimator: { kind: 'composed', then: { kind: 'benchmark' } } });
  assert.match(e.message, /^estimator\.then\.kind: estimator kind 'benchmark'/);
  e = configError({ space: { name: 'chain' }, estimator: { kind: 'training', channels: 8 } });
  assert.match(e.message, /^estimator\.channels: is not used with space chain/);
  e = configError({ space: { name: 'chain', options: { depth: 3 } } });
  assert.match(e.message, /^space\.options\.depth: unknown option of space chain \(value 3\); expected one of minDepth, maxDepth/);
  e = configError({ space: { name: 'chain', options: { minDepth: 4, maxDepth: 2 } } });
  assert.match(e.message, /^space\.options: chain depth range/);
  e = configError({ space: { name: 'resnet' } });
  assert.match(e.message, /^space\.name: unknown space "resnet", expected one of nb201, darts, chain, mobilenet, hierarchical, transformer/);
  e = configError({ estimator: { kind: 'composed' } });
  assert.match(e.message, /^estimator\.then: is required by estimator kind 'composed'/);
  e = configError({ estimator: { type: 'composed', then: { type: 'composed' } } });
  assert.match(e.message, /^estimator\.then\.kind: expected one of benchmark, training, proxies, found "composed"/);
  e = configError({ estimator: { type: 'predictor', model: 'forest', then: { type: 'benchmark' } } });
  assert.match(e.message, /^estimator\.model: expected one of mlp, lstm, gcn, ensemble, gp, gbt, found "forest"/);
  e = configError({ estimator: { type: 'predictor', kind: 'composed', then: {} } });
  assert.match(e.message, /^estimator\.type: gives both kind "composed" and type "predictor"/);
  e = configError({ estimator: { kind: 'composed', screen: { candidates: 5 }, topK: 6, then: { kind: 'benchmark' } } });
  assert.match(e.message, /^estimator\.topK: expected at most screen\.candidates \(5\), found 6/);
  e = configError({ estimator: { kind: 'predictor', warmup: 5, then: { kind: 'benchmark', epochs: 2 } } });
  assert.match(e.message, /^estimator\.then\.epochs: is not used by estimator kind 'benchmark'/);
  e = configError({ estimator: { kind: 'benchmark', screen: { candidates: 5 } } });
  assert.match(e.message, /^estimator\.screen: is not used by estimator kind 'benchmark'/);
});

test('the example config is valid and defaults fill in', () => {
  const c = checkConfig(parseConfigText(EXAMPLE_CONFIG));
  assert.equal(c.strategy.name, 'evolution');
  assert.equal(c.estimator.benchmark, 'nb201:cifar10');
  assert.deepEqual(c.constraints.map((k) => [k.metric, k.op, k.value]), [['params', '<=', 1e6]]);
  assert.deepEqual(c.objectives, [{ name: 'accuracy', direction: 'max' }]);
  const d = checkConfig({ objectives: ['accuracy', 'params'], estimator: { kind: 'training' } });
  assert.deepEqual(d.objectives[1], { name: 'params', direction: 'min' });
  assert.equal(d.estimator.epochs, 2);
});

test('flags set any config field, read as YAML scalars', () => {
  const raw: Record<string, unknown> = {};
  setConfigPath(raw, 'budget.trials', '12');
  setConfigPath(raw, 'strategy.options.population', '8');
  setConfigPath(raw, 'objectives', '[accuracy, params]');
  setConfigPath(raw, 'constraints', 'params <= 2e5');
  const c = checkConfig(raw);
  assert.equal(c.budget.trials, 12);
  assert.equal(c.strategy.options['population'], 8);
  assert.deepEqual(c.objectives.map((o) => o.name), ['accuracy', 'params']);
  assert.equal(c.constraints[0]!.value, 2e5);
  // Compositions as flags: --estimator.type composed --estimator.then.type training ...
  const composed: Record<string, unknown> = {};
  for (const [path, value] of [['estimator.type', 'composed'], ['estimator.screen.proxies', 'synflow'], ['estimator.topK', '4'],
    ['estimator.then.type', 'training'], ['estimator.then.epochs', '3'], ['estimator.then.resolution', '16']]) setConfigPath(composed, path!, value!);
  const e = checkConfig(composed).estimator;
  assert.equal(e.kind, 'composed');
  assert.deepEqual(e.screen, { proxies: ['synflow'], candidates: 1000, proxyBatch: 64, channels: 8, cells: 1, resolution: 16 });
  assert.deepEqual(e.then, { kind: 'training', epochs: 3, batch: 128, lr: 0.1, channels: 8, cells: 1, resolution: 16 });
  const guided: Record<string, unknown> = {};
  setConfigPath(guided, 'estimator', '{type: predictor, model: ensemble, then: {type: benchmark}}');
  assert.deepEqual(checkConfig(guided).estimator, { kind: 'predictor', model: 'ensemble', warmup: 20, candidates: 100, kappa: 0, topK: 10, then: { kind: 'benchmark', benchmark: 'nb201:cifar10' } });
});

test('the CLI exits with 2 and names the file, field and flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-exp-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'strategy:\n  name: evolution\n  colour: red\n');
    let r = runTsnas(['search', '--config', file, '--storage', `sqlite:${join(dir, 'x.db')}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /strategy\.colour: unknown key \(value "red"\).*\(in .*bad\.yaml\)/);
    r = runTsnas(['search', '--name', 'x', '--budget.trials', 'many', '--storage', `sqlite:${join(dir, 'x.db')}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--budget\.trials: expected an integer >= 1 and <= 10000000, found "many"/);
    // Compositions are flags like any field.
    const composed = ['search', '--name', 'c', '--storage', `sqlite:${join(dir, 'x.db')}`, '--quiet', '--estimator.type', 'predictor', '--estimator.model', 'gp',
      '--estimator.warmup', '4', '--estimator.candidates', '12', '--estimator.topK', '3', '--estimator.then.type', 'benchmark', '--budget.trials', '10'];
    r = runTsnas([...composed, '--estimator.topK', '13']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /estimator\.topK: expected at most candidates \(12\), found 13/);
    r = runTsnas([...composed, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.equal(summary.counts.complete, 10);
    assert.equal(summary.estimator, 'predictor(gp after 4, 12 -> top 3) -> benchmark nb201:cifar10');
    assert.deepEqual(summary.screening, { screenedOut: 2 * 9, rounds: 4 + 2 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Everything that must match between two runs of one config. */
async function fingerprint(store: Store, name: string) {
  const e = (await store.getExperiment(name))!;
  const trials = await store.listTrials(e.id);
  const summary = await summarizeExperiment(store, name);
  return {
    trials: trials.map((t) => [t.number, t.sampleHash, t.state, t.metrics]),
    best: summary.bestArchitecture?.arch,
    status: e.status,
  };
}

function benchConfig(overrides: Record<string, unknown> = {}) {
  return checkConfig({
    name: 'exp',
    seed: 3,
    strategy: { name: 'evolution', options: { population: 10, sampleSize: 3 } },
    estimator: { kind: 'benchmark', benchmark: 'nb201:cifar10' },
    constraints: ['params <= 1e6'],
    budget: { trials: 60 },
    ...overrides,
  });
}

test('parallel trials in worker threads give the same trials as one at a time', async () => {
  assert.equal(threadsPerTrial(2, 4), 1);
  assert.equal(threadsPerTrial(16, 4), 4);
  const sequential = await openStore('sqlite::memory:');
  const parallel = await openStore('sqlite::memory:');
  try {
    const r1 = await runExperiment({ store: sequential, config: benchConfig({ parallel: 1, batch: 3 }) });
    const r2 = await runExperiment({ store: parallel, config: benchConfig({ parallel: 3, threads: 3 }) });
    assert.equal(r1.told, 60);
    assert.equal(r2.told, 60);
    assert.ok(r1.counts.pruned > 0, 'some trials break params <= 1e6');
    assert.deepEqual(await fingerprint(parallel, 'exp'), await fingerprint(sequential, 'exp'));
  } finally {
    await sequential.close();
    await parallel.close();
  }
});

test('a stopped run resumes to the same trials as an uninterrupted one', async () => {
  const whole = await openStore('sqlite::memory:');
  const parts = await openStore('sqlite::memory:');
  try {
    const config = benchConfig({ strategy: { name: 'reinforce', options: { batch: 4 } }, batch: 2 });
    await runExperiment({ store: whole, config });
    const first = await runExperiment({ store: parts, config, stopAfter: 7 });
    assert.equal(first.finished, false);
    assert.equal((await parts.getExperiment('exp'))!.status, 'stopped');
    for (let i = 0; i < 20 && !(await runExperiment({ store: parts, config, stopAfter: 9 })).finished; i++);
    assert.deepEqual(await fingerprint(parts, 'exp'), await fingerprint(whole, 'exp'));
    // The same name with another config is refused rather than mixed.
    await assert.rejects(runExperiment({ store: parts, config: { ...config, seed: 4 } }), /experiment 'exp' exists with seed = 3, but this config has 4/);
  } finally {
    await whole.close();
    await parts.close();
  }
});

for (const variant of ['evolution', 'bo', 'predictor-guided evolution']) {
  test(`SIGKILL at random moments, then the same command: same trials and best as an uninterrupted run (${variant})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-kill-'));
    const seed = Date.now() % 100000;
    const rng = new Rng(seed);
    const strategy = variant === 'bo' ? 'bo' : 'evolution';
    const guided = variant.startsWith('predictor');
    const budget = strategy === 'bo' ? 40 : guided ? 80 : 600;
    const options = strategy === 'bo' ? '{initial: 10, batch: 2, ensemble: 2, randomCandidates: 30, mutationCandidates: 20}' : '{population: 20, sampleSize: 5}';
    // The predictor's rounds (asks of 40, a GP fitted on every result) must be decided again identically after a kill.
    const estimator = guided ? ['--estimator', '{type: predictor, model: gp, warmup: 10, candidates: 40, topK: 4, then: {type: benchmark}}'] : [];
    const args = (db: string) => ['--name', 'exp', '--storage', `sqlite:${join(dir, db)}`, '--quiet', '--seed', '7', '--strategy.name', strategy,
      '--strategy.options', options, '--budget.trials', String(budget), '--batch', '2', '--constraints', 'params <= 1e6', ...estimator];
    try {
      const started = Date.now();
      const whole = await runTsnasAsync(['search', ...args('whole.db')]);
      assert.equal(whole.code, 0, whole.stderr);
      // Kills land anywhere from start-up to near the end of an uninterrupted run.
      const wholeMs = Date.now() - started;
      let kills = 0;
      // Kill times fall in the first 60% of the uninterrupted run's time; a run that still ends before
      // its first kill (load changes from run to run) starts over on a fresh database.
      for (let attempt = 0; attempt < 40; attempt++) {
        const r = await runTsnasAsync(['search', ...args('parts.db')], {}, { killAfterMs: kills < 4 ? 150 + rng.int(Math.max(1, Math.round(wholeMs * 0.6) - 150)) : undefined });
        if (r.signal === 'SIGKILL') kills++;
        else {
          assert.equal(r.code, 0, r.stderr);
          if (kills > 0) break;
          for (const f of ['parts.db', 'parts.db-wal', 'parts.db-shm']) rmSync(join(dir, f), { force: true });
        }
      }
      assert.ok(kills >= 1, `no run was killed (kill seed ${seed})`);
      const a = await openStore(`sqlite:${join(dir, 'whole.db')}`);
      const b = await openStore(`sqlite:${join(dir, 'parts.db')}`);
      try {
        const fa = await fingerprint(a, 'exp');
        const fb = await fingerprint(b, 'exp');
        assert.equal(fa.trials.length, budget);
        assert.deepEqual(fb, fa, `kill seed ${seed}, ${kills} kills`);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Ctrl-C (SIGINT) after the first trials: exit 130, nothing left running, status stopped; the same command resumes to the trials of an uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-sigint-'));
  const budget = 600;
  const args = (db: string) => ['search', '--name', 'exp', '--storage', `sqlite:${join(dir, db)}`, '--quiet', '--seed', '5', '--strategy.name', 'evolution',
    '--strategy.options', '{population: 20, sampleSize: 5}', '--budget.trials', String(budget), '--batch', '2', '--constraints', 'params <= 1e6'];
  try {
    const whole = runTsnas([...args('whole.db')]);
    assert.equal(whole.code, 0, whole.stderr);
    // SIGINT once the store shows finished trials.
    const run = startTsnas(args('parts.db'));
    const child = run.child;
    let doneBeforeSignal = 0;
    for (let i = 0; i < 2000 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const probe = await openStore(`sqlite:${join(dir, 'parts.db')}`).catch(() => undefined);
      if (!probe) continue;
      const e = await probe.getExperiment('exp').catch(() => null);
      const counts = e ? await probe.countTrials(e.id) : undefined;
      await probe.close();
      if (counts && counts.complete + counts.pruned >= 20) {
        doneBeforeSignal = counts.complete + counts.pruned;
        child.kill('SIGINT');
        break;
      }
    }
    assert.equal((await run.exited).code, 130, run.stderr());
    assert.match(run.stderr(), /stopped at \d+\/600 trials; run the same command to resume/);
    const store = await openStore(`sqlite:${join(dir, 'parts.db')}`);
    try {
      const e = (await store.getExperiment('exp'))!;
      assert.equal(e.status, 'stopped');
      const counts = await store.countTrials(e.id);
      assert.equal(counts.running, 0);
      const finished = counts.complete + counts.pruned;
      assert.ok(finished >= doneBeforeSignal && finished < budget, `${finished} trials finished`);
    } finally {
      await store.close();
    }
    const resumed = runTsnas([...args('parts.db')]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming at \d+\/600/);
    const a = await openStore(`sqlite:${join(dir, 'whole.db')}`);
    const b = await openStore(`sqlite:${join(dir, 'parts.db')}`);
    try {
      const fa = await fingerprint(a, 'exp');
      assert.equal(fa.trials.length, budget);
      assert.deepEqual(await fingerprint(b, 'exp'), fa);
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
