// A shortened main job on Fashion-MNIST (Debian's package): every phase,
// the report, the saved weights (reloaded, they give the same accuracy; the
// ONNX file gives the same logits in onnxruntime) and
// the resume of a finished job (nothing re-run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetSource } from '../data/spec.js';
import { subsetDataset } from '../data/dataset.js';
import { limitIndices } from '../data/loader.js';
import { loadSafetensors } from '../export/safetensors.js';
import { checkOnnxAgainstModule } from '../export/onnx/verify.js';
import { NB201Network } from '../networks/nb201.js';
import { nb201Space } from '../spaces/nb201.js';
import { openStore } from '../store/index.js';
import { memory } from '../tensor/index.js';
import { lastJson, runTsnas, startTsnas } from '../testing/cli.js';
import { evaluate } from '../train/trainer.js';

const haveData = existsSync('/usr/share/datasets/fashion-mnist');

test('shortened main job: screening, halving, final training, report, weights, resume', { skip: !haveData && 'Fashion-MNIST is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-main-'));
  try {
    const args = ['main', '--name', 'short', '--out-dir', dir, '--threads', '2', '--quiet', '--json',
      '--candidates', '60', '--halving-candidates', '3', '--halving-train', '1500', '--halving-valid', '500',
      '--final-channels', '8', '--final-epochs', '2', '--final-limit-train', '8000', '--limit-test', '2000', '--lr', '0.1'];
    const started = Date.now();
    const r = runTsnas(args, {}, { timeoutMs: 1_800_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr);
    const summary = lastJson(r.stdout);
    // C=8, 2 epochs on 8000 images at 16x16 reaches about 0.8; 0.7 leaves room for other seeds and cells.
    assert.ok(summary.test_accuracy >= 0.7, `test accuracy ${summary.test_accuracy} (${seconds.toFixed(0)} s)`);
    assert.equal(summary.screened, 60);
    assert.match(r.stderr, /phase 1\/3.*\n[\s\S]*phase 2\/3[\s\S]*phase 3\/3/);

    // The report: self-contained SVG charts, the winning cell, learning curves.
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.ok((html.match(/<svg/g) ?? []).length >= 5, 'charts and cells are inline SVG');
    assert.ok(!/(src|href)="https?:/.test(html), 'nothing is fetched');
    assert.ok(html.includes('Pareto front') && html.includes('test accuracy by epoch') && html.includes(summary.arch.replace(/\|/g, '|')));

    // The weights load into the winner's network and give the reported accuracy.
    const before = memory().numTensors;
    const { tensors, metadata } = loadSafetensors(join(dir, 'best.safetensors'));
    assert.equal(metadata['arch'], summary.arch);
    const space = nb201Space();
    const net = new NB201Network({ ops: space.opsOf(space.parse(summary.arch)), C: 8, N: 1, numClasses: 10, inChannels: 1 });
    net.loadStateDict(tensors);
    for (const t of Object.values(tensors)) t.dispose();
    const source = datasetSource('fashion-mnist');
    const full = source.load('test');
    const testSet = subsetDataset(full, limitIndices(Array.from({ length: full.n }, (_, i) => i), 2000, 0));
    const again = evaluate(net, testSet, { augment: { resize: 16, normalize: source.normalization(full) } });
    // best.onnx is the same network: onnxruntime gives the reloaded weights' logits.
    const onnx = await checkOnnxAgainstModule(readFileSync(join(dir, 'best.onnx')), net, [1, 16, 16], { batch: 3 });
    assert.deepEqual(onnx.outputShape, [3, 10]);
    assert.ok(onnx.maxAbsDiff < 1e-4, `onnxruntime differs by ${onnx.maxAbsDiff}`);
    net.dispose();
    assert.equal(memory().numTensors, before);
    assert.ok(Math.abs(again.accuracy - summary.test_accuracy) < 1e-9, `reloaded ${again.accuracy} vs ${summary.test_accuracy}`);

    // Running it again resumes a finished job: same answer, nothing trained again.
    const store = await openStore(`sqlite:${join(dir, 'tsnas.db')}`);
    const finishedAt = async () => (await store.listTrials((await store.getExperiment('short.final'))!.id))[0]!.finishedAt;
    const first = await finishedAt();
    const r2 = runTsnas(args, {}, { timeoutMs: 1_800_000 });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(lastJson(r2.stdout).test_accuracy, summary.test_accuracy);
    assert.equal(await finishedAt(), first);
    const names = (await store.listExperiments()).map((e) => e.name);
    assert.deepEqual(names, ['short.screen', 'short.rung0', 'short.final']);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C during the main job\'s training: exit 130, the trial back to pending, the phase stopped; the same command finishes it', { skip: !haveData && 'Fashion-MNIST is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-main-int-'));
  try {
    const args = ['main', '--name', 'tiny', '--out-dir', dir, '--threads', '1', '--quiet', '--json', '--candidates', '8', '--proxy-batch', '8',
      '--screen-parallel', '1', '--resolution', '8', '--halving-candidates', '2', '--halving-epochs', '2', '--halving-train', '300', '--halving-valid', '100',
      '--final-channels', '4', '--final-resolution', '8', '--final-epochs', '1', '--final-limit-train', '300', '--limit-test', '100'];
    const run = startTsnas(args);
    const child = run.child;
    // SIGINT while a successive-halving trial trains.
    const db = `sqlite:${join(dir, 'tsnas.db')}`;
    for (let i = 0; i < 6000 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (!existsSync(join(dir, 'tsnas.db'))) continue;
      const probe = await openStore(db).catch(() => undefined);
      if (!probe) continue;
      const e = await probe.getExperiment('tiny.rung0').catch(() => null);
      const running = e ? (await probe.countTrials(e.id)).running : 0;
      await probe.close();
      if (running > 0) {
        child.kill('SIGINT');
        break;
      }
    }
    assert.equal((await run.exited).code, 130, run.stderr());
    assert.match(run.stderr(), /main: stopped in tiny\.rung0; run the same command to resume/);
    const store = await openStore(db);
    try {
      const rung = (await store.getExperiment('tiny.rung0'))!;
      assert.equal(rung.status, 'stopped');
      const counts = await store.countTrials(rung.id);
      assert.equal(counts.running, 0);
      assert.ok(counts.pending >= 1, JSON.stringify(counts));
      assert.equal((await store.getExperiment('tiny.screen'))!.status, 'finished');
      assert.equal(await store.getExperiment('tiny.final'), null);
    } finally {
      await store.close();
    }
    const resumed = runTsnas(args, {}, { timeoutMs: 1_800_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(existsSync(join(dir, 'report.html')) && existsSync(join(dir, 'best.safetensors')));
    const after = await openStore(db);
    try {
      for (const e of await after.listExperiments()) {
        assert.equal(e.status, 'finished', e.name);
        const counts = await after.countTrials(e.id);
        assert.equal(counts.pending + counts.running, 0, e.name);
      }
    } finally {
      await after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
