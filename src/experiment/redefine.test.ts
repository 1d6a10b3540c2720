// A rejected config leaves nothing in the store, an experiment that never
// ran may be redefined, one that ran may not, and `tsnas rm` deletes one
// with the files it owns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

test('tsnas rm deletes the weights a morphism experiment kept and its artifacts in its directory; other files stay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-rm-files-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    const configFile = join(dir, 'm.json');
    writeFileSync(configFile, JSON.stringify({
      name: 'm', seed: 1, threads: 1,
      space: { name: 'chain', options: { maxDepth: 3, filters: [4], kernels: [1] } },
      strategy: { name: 'morphism', options: { children: 1, morphismsPerChild: 1, start: 'conv:1:4:relu' } },
      estimator: { kind: 'training', epochs: 1, batch: 16, resolution: 8 },
      dataset: { limitTrain: 32, validFraction: 0.25 },
      budget: { trials: 2 },
    }));
    const search = runTsnas(['search', '--config', configFile, '--storage', storage, '--quiet']);
    assert.equal(search.code, 0, search.stderr);
    const weightsDir = join(dir, 'm', 'weights');
    const kept = readdirSync(weightsDir).map((f) => join(weightsDir, f)).sort();
    assert.equal(kept.length, 2, 'one kept file per trial');
    // Files the experiment does not own: another sample's weights, a file of the user's, a recorded artifact outside its directory.
    const foreign = [join(weightsDir, 'f'.repeat(16) + '.safetensors'), join(dir, 'm', 'notes.txt'), join(dir, 'outside.safetensors')];
    for (const f of foreign) writeFileSync(f, 'x');
    const inside = join(dir, 'm', 'found', 'found.onnx');
    mkdirSync(join(dir, 'm', 'found'));
    writeFileSync(inside, 'x');
    const store = await openStore(storage);
    try {
      const [first] = await store.listTrials((await store.getExperiment('m'))!.id);
      // Finished trials take no artifacts through the store's API; a new trial of the experiment does.
      const { trial } = await store.createTrial(first!.experimentId, { other: 1 }, 'artifacts');
      await store.setArtifact(trial.id, 'found', inside);
      await store.setArtifact(trial.id, 'outside', foreign[2]!);
    } finally {
      await store.close();
    }

    const refused = runTsnas(['rm', 'm', '--storage', storage]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /would delete experiment 'm' \(\w+, 3 trials\) from sqlite:\S+ and 3 file\(s\) under /);
    for (const f of [...kept, inside]) assert.ok(existsSync(f), `${f} removed without --yes`);

    const done = runTsnas(['rm', 'm', '--yes', '--storage', storage]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /deleted experiment 'm' \(3 trials\) and 3 file\(s\) under /);
    for (const f of [...kept, inside]) {
      assert.ok(!existsSync(f), `${f} stayed`);
      assert.ok(done.stderr.includes(`rm: removed ${f}`), `${f} not reported`);
    }
    assert.ok(!existsSync(join(dir, 'm', 'found')), 'the emptied directory stayed');
    for (const f of foreign) assert.ok(existsSync(f), `${f} (not owned) was removed`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
