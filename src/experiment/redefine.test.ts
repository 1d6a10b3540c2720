// A rejected config leaves nothing in the store, an experiment that never
// ran may be redefined, one that ran may not, and `tsnas rm` deletes one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsnas } from '../testing/cli.js';
import { openStore } from '../store/index.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';

const tableConfig = (population: number) => checkConfig({ name: 'a', strategy: { name: 'evolution', options: { population, sampleSize: 2 } }, budget: { trials: 4 } });

test('a config refused by its estimator (missing data) stores nothing; the corrected command runs', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    const bad = checkConfig({ name: 'a', estimator: { kind: 'training' }, dataset: { name: 'cifar10:/no/such/dir' }, budget: { trials: 2 } });
    await assert.rejects(runExperiment({ store, config: bad }), /CIFAR-10 directory not found/);
    assert.equal(await store.getExperiment('a'), null);
    const r = await runExperiment({ store, config: tableConfig(4) });
    assert.equal(r.finished, true);
  } finally {
    await store.close();
  }
});

test('an experiment that never ran anything may be redefined; one with trials may not', async () => {
  const store = await openStore('sqlite::memory:');
  try {
    // Created but never run (as a crash before the first trial would leave it).
    await store.createExperiment('a', { strategy: { name: 'evolution', options: { population: 'abc' } } });
    const r = await runExperiment({ store, config: tableConfig(4) });
    assert.equal(r.told, 4);
    await assert.rejects(runExperiment({ store, config: tableConfig(5) }), /experiment 'a' exists with strategy = .*resume it with the same config, or pick another --name/);
  } finally {
    await store.close();
  }
});

test('tsnas rm NAME deletes an experiment only with --yes; unknown names and missing names exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-rm-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    const search = runTsnas(['search', '--name', 'x', '--budget', '3', '--storage', storage, '--quiet']);
    assert.equal(search.code, 0, search.stderr);
    const refused = runTsnas(['rm', 'x', '--storage', storage]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes: would delete experiment 'x' \(finished, 3 trials\)/);
    assert.match(runTsnas(['ls', '--storage', storage]).stdout, /^x\s/m);
    const done = runTsnas(['rm', 'x', '--yes', '--storage', storage]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(runTsnas(['ls', '--storage', storage]).stdout, /no experiments/);
    const again = runTsnas(['rm', 'x', '--yes', '--storage', storage]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /NAME: no experiment named 'x'/);
    assert.equal(runTsnas(['rm', '--yes', '--storage', storage]).code, 2);
    // The name is free again.
    assert.equal(runTsnas(['search', '--name', 'x', '--budget', '2', '--strategy', 'random', '--storage', storage, '--quiet']).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
