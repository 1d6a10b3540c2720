// Weight-sharing searches as stored experiments: each epoch's record and
// checkpoint are stored; a run stopped (Ctrl-C) or killed (SIGKILL) at any
// moment and then started again ends with exactly the history and the
// architecture of an uninterrupted run, on SQLite and on PostgreSQL.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { findPostgresBinDir, usePostgresForTests } from '../testing/postgres.js';
import type { Store } from '../store/types.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { runTsnasAsync, startTsnas } from '../testing/cli.js';
import { Rng } from '../util/random.js';
import { TsnasError } from '../errors.js';
import { checkConfig } from './config.js';
import { runExperiment } from './run.js';
import { SUPERNET_STAGE } from './weight-sharing.js';

/** Tiny supernets on 240 Fashion-MNIST images at 8×8: a run takes a few seconds. Keyed by method (and mode). */
const METHODS: Record<string, Record<string, unknown>> = {
  darts: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 3, hessianEvery: 2, hessianIterations: 3 },
  gdas: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 3 },
  'gdas soft': { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2, mode: 'soft' },
  'beta-darts': { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2, betaLambdaMax: 5 },
  drnas: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2 },
  'darts-minus': { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2 },
  sdarts: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2 },
  proxyless: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2 },
  spos: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 3, budget: 12, population: 6, calibrationBatches: 1, evalBatches: 1 },
  darts2: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2 },
  pcdarts: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2, pcK: 2, archWarmup: 1 },
  fairnas: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2, budget: 8, population: 4, calibrationBatches: 1, evalBatches: 1 },
  enas: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2, controllerSteps: 3, calibrationBatches: 1, evalBatches: 1 },
  ofa: { epochs: 4, batch: 16, stepsPerEpoch: 2, budget: 6, population: 3, calibrationBatches: 1, evalBatches: 1 },
  // With the ranking diagnostic, so that its metrics are part of what a resumed run must reproduce.
  smash: { epochs: 4, channels: 4, cells: 1, resolution: 8, batch: 24, stepsPerEpoch: 2, budget: 4, hidden: 8, calibrationBatches: 1, evalBatches: 1, ranking: 5 },
};

/** OFA's elastic MobileNet, tiny. */
const TINY_MOBILENET = {
  resolutions: [8, 12], widths: [8, 16], strides: [2, 2], activations: ['relu', 'hswish'], squeezeExcite: [false, true], depths: [1, 2], kernels: [3, 5], expandRatios: [2, 3],
};

function rawConfig(method: string, name = 'ws') {
  const ofa = method === 'ofa';
  return {
    name,
    seed: 5,
    space: ofa ? { name: 'mobilenet', options: TINY_MOBILENET } : { name: 'nb201' },
    ...(ofa ? { constraints: ['flops <= 5e6'] } : {}),
    // 'gdas soft': the method before the space, in a mode of its options.
    strategy: { name: method.split(' ')[0]!, options: METHODS[method] },
    dataset: { name: 'fashion-mnist', limitTrain: 240 },
    estimator: ofa ? { kind: 'supernet' } : { kind: 'benchmark', benchmark: 'nb201:cifar10' },
    threads: 1,
  };
}

/** Everything a run stores, but times: the epoch records and the trials. */
async function fingerprint(store: Store, name: string) {
  const e = await store.getExperiment(name);
  assert.ok(e, `experiment ${name} exists`);
  const epochs = (await store.listEpochs(e.id)).map((r) => {
    const { seconds: _seconds, ...rest } = r.record as Record<string, unknown>;
    return [r.stage, r.epoch, rest];
  });
  const trials = (await store.listTrials(e.id)).map((t) => [t.number, t.sampleHash, t.state, t.metrics]);
  const checkpoint = await store.loadCheckpoint(e.id);
  return { status: e.status, epochs, trials, checkpointEpoch: checkpoint?.epoch };
}

describe('weight-sharing experiments (in process)', () => {
  setNumThreads(1);

  test('config: methods, their options and what a weight-sharing run cannot take are checked with the field path', () => {
    const errorOf = (raw: unknown) => {
      try {
        checkConfig(raw);
      } catch (e) {
        assert.ok(e instanceof TsnasError);
        return e.message;
      }
      assert.fail('accepted');
    };
    assert.match(errorOf({ strategy: { name: 'darts', options: { epochs: 0 } } }), /^strategy\.options\.epochs: expected an integer >= 1, found 0/);
    assert.match(errorOf({ strategy: { name: 'gdas', options: { pcK: 2 } } }), /^strategy\.options\.pcK: unknown key/);
    assert.match(errorOf({ strategy: { name: 'spos' }, parallel: 2 }), /^parallel: a weight-sharing run \(spos\) trains one supernet/);
    assert.match(errorOf({ strategy: { name: 'spos' }, constraints: ['accuracy >= 0.5'] }), /^constraints\[0\]: a weight-sharing run limits its search with "flops <= N" and "params <= N" only/);
    assert.match(errorOf({ strategy: { name: 'darts' }, estimator: { kind: 'composed', then: { kind: 'benchmark' } } }), /^estimator\.kind: estimator kind 'composed' screens many candidates/);
    assert.match(errorOf({ strategy: { name: 'evolution' }, estimator: { kind: 'supernet' } }), /^estimator\.kind: estimator kind 'supernet' keeps a weight-sharing search's own numbers/);
    // Defaults of weight-sharing runs: data split 50/50, the table on nb201, the search's own numbers elsewhere.
    const nb = checkConfig({ strategy: { name: 'darts' } });
    assert.equal(nb.dataset.validFraction, 0.5);
    assert.equal(nb.estimator.kind, 'benchmark');
    assert.equal((nb.strategy.options as Record<string, unknown>)['epochs'], 10);
    assert.equal(checkConfig({ space: { name: 'chain' }, strategy: { name: 'spos' } }).estimator.kind, 'supernet');
  });

  for (const method of Object.keys(METHODS)) {
    test(`${method}: stopped after each of several epochs and resumed, the same history and architecture as an uninterrupted run`, async () => {
      const before = memory().numTensors;
      const config = checkConfig(rawConfig(method));
      // OFA's found network is written out: into a temporary directory, not the working one.
      const artifactsDir = mkdtempSync(join(tmpdir(), 'tsnas-ws-files-'));
      const whole = await openStore('sqlite::memory:');
      const parts = await openStore('sqlite::memory:');
      try {
        const epochsSeen: number[] = [];
        const w = await runExperiment({ store: whole, config, artifactsDir, onEpoch: (r) => epochsSeen.push(r.epoch) });
        assert.equal(w.finished, true);
        assert.deepEqual(epochsSeen, [1, 2, 3, 4]);
        // Stop after epochs 1 and 3 (Ctrl-C as an AbortSignal), resuming each time.
        for (const stopAt of [1, 3]) {
          const controller = new AbortController();
          const r = await runExperiment({ store: parts, config, artifactsDir, signal: controller.signal, onEpoch: (rec) => rec.epoch === stopAt && controller.abort() });
          assert.equal(r.interrupted, true);
          assert.equal((await parts.getExperiment('ws'))!.status, 'stopped');
        }
        const last = await runExperiment({ store: parts, config, artifactsDir });
        assert.equal(last.finished, true);
        const fw = await fingerprint(whole, 'ws');
        assert.equal(fw.status, 'finished');
        assert.equal(fw.epochs.length, 4);
        assert.equal(fw.trials.length, 1);
        assert.equal(fw.trials[0]![2], 'complete');
        assert.ok(typeof (fw.trials[0]![3] as Record<string, number>)['accuracy'] === 'number', 'the found architecture has an accuracy (table or supernet)');
        assert.deepEqual(await fingerprint(parts, 'ws'), fw);
        // A finished experiment run again changes nothing.
        await runExperiment({ store: parts, config, artifactsDir });
        assert.deepEqual(await fingerprint(parts, 'ws'), fw);
      } finally {
        await whole.close();
        await parts.close();
        rmSync(artifactsDir, { recursive: true, force: true });
      }
      assert.equal(memory().numTensors, before, 'no tensor leaked');
    });
  }

  test('spos with ranking: Kendall τ, Spearman ρ and precision at the top 5% of the supernet against the table are metrics of the found cell; other spaces refuse it', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      const raw = rawConfig('spos');
      const config = checkConfig({ ...raw, strategy: { name: 'spos', options: { ...METHODS['spos'], epochs: 1, ranking: 6 } } });
      await runExperiment({ store, config });
      const [trial] = await store.listTrials((await store.getExperiment('ws'))!.id);
      const m = trial!.metrics!;
      assert.equal(m['ranking_cells'], 6);
      // ceil(5% of 6) = 1 cell: the supernet's best is the table's best or not.
      assert.ok(m['ranking_precision_top5'] === 0 || m['ranking_precision_top5'] === 1, JSON.stringify(m));
      assert.ok(m['ranking_kendall_tau']! >= -1 && m['ranking_kendall_tau']! <= 1 && m['ranking_spearman']! >= -1 && m['ranking_spearman']! <= 1, JSON.stringify(m));
      const chain = checkConfig({ ...raw, name: 'c', space: { name: 'chain' }, estimator: { kind: 'supernet' }, strategy: { name: 'spos', options: { epochs: 1, ranking: 6 } } });
      await assert.rejects(runExperiment({ store, config: chain }), /strategy\.options\.ranking: ranks the supernet against the NAS-Bench-201 table: needs space nb201/);
      assert.equal(await store.getExperiment('c'), null, 'nothing stored');
    } finally {
      await store.close();
    }
  });

  test('final: the found cell trained from scratch and tested; its weights as safetensors and ONNX; multi-trial configs refuse it', async () => {
    const store = await openStore('sqlite::memory:');
    const artifactsDir = mkdtempSync(join(tmpdir(), 'tsnas-ws-final-'));
    try {
      const raw = rawConfig('gdas');
      const config = checkConfig({ ...raw, strategy: { name: 'gdas', options: { ...METHODS['gdas'], epochs: 1 } }, final: { epochs: 1, batch: 32, channels: 4, cells: 1, resolution: 8, limitTrain: 128, limitTest: 64 } });
      const finalEpochs: number[] = [];
      await runExperiment({ store, config, artifactsDir, onFinalEpoch: (epoch) => finalEpochs.push(epoch) });
      assert.deepEqual(finalEpochs, [1]);
      const [trial] = await store.listTrials((await store.getExperiment('ws'))!.id);
      const m = trial!.metrics!;
      assert.ok(m['test_accuracy']! >= 0 && m['test_accuracy']! <= 1, JSON.stringify(m));
      assert.equal(typeof m['accuracy'], 'number', 'the table accuracy stays');
      assert.ok(m['final_params']! > 0);
      assert.equal(trial!.artifacts['final_weights'], join(artifactsDir, 'final.safetensors'));
      assert.ok(existsSync(join(artifactsDir, 'final.safetensors')) && existsSync(join(artifactsDir, 'final.onnx')));
      assert.throws(() => checkConfig({ strategy: { name: 'evolution' }, final: { epochs: 1 } }), /^TsnasError: final: trains the found architecture of a weight-sharing search/);
      assert.throws(() => checkConfig({ space: { name: 'chain' }, strategy: { name: 'spos' }, final: { channels: 8 } }), /final\.channels: is not used with space chain/);
    } finally {
      await store.close();
      rmSync(artifactsDir, { recursive: true, force: true });
    }
  });

  test('darts: each epoch stores α per edge with the operation names, the derived cell and the Hessian eigenvalue', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await runExperiment({ store, config: checkConfig(rawConfig('darts')) });
      const e = (await store.getExperiment('ws'))!;
      const records = await store.listEpochs(e.id, { stage: SUPERNET_STAGE });
      assert.equal(records.length, 4);
      const r = records[1]!.record as Record<string, any>;
      assert.equal(Object.keys(r['weights']).length, 6, 'six edges of the NB201 cell');
      for (const [label, w] of Object.entries(r['weights'] as Record<string, number[]>)) {
        assert.equal(w.length, 5);
        assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-5, `softmax of ${label} sums to 1`);
        assert.deepEqual(r['operations'][label], ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']);
      }
      assert.match(r['arch'], /^\|.*\|$/);
      assert.equal(typeof r['hessianEigenvalue'], 'number', 'measured every 2 epochs');
      assert.equal((records[0]!.record as Record<string, any>)['hessianEigenvalue'], null);
      const checkpoint = await store.loadCheckpoint(e.id);
      assert.equal(checkpoint?.epoch, 4);
      assert.ok(checkpoint!.data.byteLength > 1000);
    } finally {
      await store.close();
    }
  });
});

const runCli = (args: string[], killAfterMs?: number) => runTsnasAsync(['search', ...args], {}, { killAfterMs });

/**
 * Runs the uninterrupted command into `whole`, then the same command into
 * `parts()` (a fresh store after each reset), SIGKILLed at random moments (start-up, mid-epoch, mid-checkpoint,
 * the final search) until it finishes; returns both fingerprints.
 */
async function killAndResume(method: string, whole: string, parts: () => string, dir: string, reset: () => Promise<void>) {
  const configPath = join(dir, `${method}.json`);
  writeFileSync(configPath, JSON.stringify(rawConfig(method)));
  const args = (storage: string) => ['--config', configPath, '--storage', storage, '--quiet'];
  const started = Date.now();
  const w = await runCli(args(whole));
  assert.equal(w.code, 0, w.stderr);
  const wholeMs = Date.now() - started;
  const seed = Date.now() % 100000;
  const rng = new Rng(seed);
  let kills = 0;
  // Kill times fall anywhere in the uninterrupted run's time; a run that ends before its first kill
  // (load changes from run to run) starts over on a fresh store.
  for (let attempt = 0; attempt < 40; attempt++) {
    const r = await runCli(args(parts()), kills < 3 ? 200 + rng.int(Math.max(1, wholeMs - 200)) : undefined);
    if (r.signal === 'SIGKILL') kills++;
    else {
      assert.equal(r.code, 0, r.stderr);
      if (kills > 0) break;
      await reset();
    }
  }
  assert.ok(kills >= 1, `no run was killed (kill seed ${seed})`);
  return { kills, seed };
}

for (const method of ['darts', 'gdas', 'spos']) {
  test(`${method} (CLI, SQLite): SIGKILL at random moments, then the same command: the history and architecture of an uninterrupted run`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnas-ws-kill-'));
    try {
      const db = (f: string) => `sqlite:${join(dir, f)}`;
      const { kills, seed } = await killAndResume(method, db('whole.db'), () => db('parts.db'), dir, async () => {
        for (const f of ['parts.db', 'parts.db-wal', 'parts.db-shm']) rmSync(join(dir, f), { force: true });
      });
      const a = await openStore(db('whole.db'));
      const b = await openStore(db('parts.db'));
      try {
        const fa = await fingerprint(a, 'ws');
        assert.equal(fa.status, 'finished');
        assert.equal(fa.epochs.length, 4);
        assert.deepEqual(await fingerprint(b, 'ws'), fa, `kill seed ${seed}, ${kills} kills`);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('darts (CLI): Ctrl-C after the first stored epoch exits 130 and leaves the experiment stopped; the same command finishes it as an uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-ws-sigint-'));
  try {
    const configPath = join(dir, 'darts.json');
    writeFileSync(configPath, JSON.stringify(rawConfig('darts')));
    const args = (db: string) => ['--config', configPath, '--storage', `sqlite:${join(dir, db)}`];
    const whole = await runCli(args('whole.db'));
    assert.equal(whole.code, 0, whole.stderr);
    // A run that ends before the signal lands (a very busy machine) starts over on a fresh store.
    const interruptOnce = async () => {
      const run = startTsnas(['search', ...args('parts.db')]);
      let sent = false;
      run.child.stderr!.on('data', () => {
        if (!sent && /epoch 1\/4/.test(run.stderr())) {
          sent = true;
          run.child.kill('SIGINT');
        }
      });
      return { code: (await run.exited).code, stderr: run.stderr() };
    };
    let interrupted = await interruptOnce();
    for (let attempt = 0; attempt < 5 && interrupted.code === 0; attempt++) {
      for (const f of ['parts.db', 'parts.db-wal', 'parts.db-shm']) rmSync(join(dir, f), { force: true });
      interrupted = await interruptOnce();
    }
    assert.equal(interrupted.code, 130, interrupted.stderr);
    const parts = await openStore(`sqlite:${join(dir, 'parts.db')}`);
    try {
      const e = (await parts.getExperiment('ws'))!;
      assert.equal(e.status, 'stopped');
      assert.ok((await parts.listEpochs(e.id)).length < 4, 'stopped before the last epoch');
    } finally {
      await parts.close();
    }
    const resumed = await runCli(args('parts.db'));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming darts after epoch [1-3]\/4/);
    const a = await openStore(`sqlite:${join(dir, 'whole.db')}`);
    const b = await openStore(`sqlite:${join(dir, 'parts.db')}`);
    try {
      assert.deepEqual(await fingerprint(b, 'ws'), await fingerprint(a, 'ws'));
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const pgAvailable = process.env.TSNAS_PG_URL !== undefined || findPostgresBinDir() !== null;

describe('weight-sharing experiments on PostgreSQL', { skip: pgAvailable ? false : 'no PostgreSQL binaries (install Debian package postgresql) and no TSNAS_PG_URL' }, () => {
  const pgTest = usePostgresForTests('tsnas_ws');
  for (const method of ['darts', 'gdas', 'spos']) {
    test(`${method} (CLI): SIGKILL at random moments, then the same command: the history and architecture of an uninterrupted run`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tsnas-ws-pg-'));
      const whole = await pgTest.freshSchema();
      let parts = await pgTest.freshSchema();
      try {
        const { kills, seed } = await killAndResume(method, whole.url, () => parts.url, dir, async () => {
          await parts.dispose();
          parts = await pgTest.freshSchema();
        });
        const a = await openStore(whole.url);
        const b = await openStore(parts.url);
        try {
          const fa = await fingerprint(a, 'ws');
          assert.equal(fa.status, 'finished');
          assert.deepEqual(await fingerprint(b, 'ws'), fa, `kill seed ${seed}, ${kills} kills`);
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        await whole.dispose();
        await parts.dispose();
        rmSync(dir, { recursive: true, force: true });
        assert.equal(existsSync(dir), false);
      }
    });
  }
});
