// tsnas fit and tsnas predict on a small image folder the test writes (three
// classes of tiny PNGs, mixed sizes, one gray image among colour ones):
// killed with SIGKILL mid-run and resumed, the model files, predict on the
// result, a finished fit rerun (nothing trained again); and the bad inputs,
// each exit 2 naming the file or the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../data/synthetic.js';
import { loadSafetensors } from '../export/safetensors.js';
import { Rng } from '../util/random.js';
import { openStore } from '../store/index.js';
import { memory, setNumThreads } from '../tensor/index.js';
import { lastJson, runTsnas, startTsnas } from '../testing/cli.js';
import { finalTraining } from './final.js';
import { finalResolution, planFit } from './fit.js';

const CLASSES = ['bars', 'dots', 'plain'];

/** Class 0 horizontal stripes, 1 a diagonal dot grid, 2 flat gray; sides 8, 12 and 16; image 5 of each class gray. */
function writeImage(path: string, k: number, i: number, rng: Rng): void {
  const size = 8 + (i % 3) * 4;
  const channels = i === 5 ? 1 : 3;
  const data = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = k === 0 ? (y % 2 ? 220 : 30) : k === 1 ? ((x + y) % 3 === 0 ? 240 : 20) : 120;
      for (let c = 0; c < channels; c++) data[(y * size + x) * channels + c] = Math.max(0, Math.min(255, v + Math.round(40 * (rng.next() - 0.5))));
    }
  }
  writeFileSync(path, encodePng({ width: size, height: size, channels, data }));
}

function writeFolder(root: string, perClass = 16, classes = CLASSES): void {
  const rng = new Rng(7);
  classes.forEach((name, k) => {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) writeImage(join(root, name, `${i}.png`), k % 3, i, rng);
  });
}

// Long enough for the smallest search on a busy machine (planning measures it and refuses a limit that cannot work).
const FIT = ['--time-limit', '60s', '--threads', '1', '--quiet', '--json'];

test('planFit: the data decided, a longer limit screens and trains more, no tensor left behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-fit-plan-'));
  try {
    writeFolder(dir);
    setNumThreads(1);
    const before = memory().numTensors;
    const lines: string[] = [];
    const plan = (seconds: number) => planFit({ dataset: `folder:${dir}`, timeLimitSeconds: seconds, skipBadImages: false, seed: 0 }, { threads: 1, log: (l) => lines.push(l) }).plan;
    const short = plan(120);
    const long = plan(3600);
    assert.equal(memory().numTensors, before);
    assert.equal(short.dataset, `folder:${dir}?size=12`);
    assert.deepEqual(short.classes, CLASSES);
    assert.equal(short.trainImages, 48);
    assert.equal(short.hasTest, false);
    assert.deepEqual(short.final, { channels: 16, cells: 1, resolution: 12, validFraction: 0.2 });
    assert.equal(short.search.resolution, 8);
    assert.ok(short.candidates >= 8 && short.halving.candidates <= short.candidates);
    assert.ok(long.candidates > short.candidates, `${long.candidates} cells in an hour, ${short.candidates} in 2 minutes`);
    assert.ok(long.halving.candidates >= short.halving.candidates);
    assert.ok(lines.some((l) => /every image is resized to 12x12/.test(l)), lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finalResolution: the largest resolution that leaves the final training three epochs, else the smallest', () => {
  // An epoch costs the pixels / 100 seconds, one second more for the test evaluation.
  const cost = (r: number) => ({ epoch: (r * r) / 100, overhead: 1 });
  assert.equal(finalResolution(32, 16, 32, cost), 32, '3 x 10.24 + 1 fits 32 s');
  assert.equal(finalResolution(32, 16, 20, cost), 24, '28 needs 24.5 s, 24 needs 18.3 s');
  assert.equal(finalResolution(32, 16, 5, cost), 16, 'nothing fits: the search resolution');
});

test('finalTraining under a deadline stops on the clock, then evaluates the held-out and test splits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-fit-deadline-'));
  try {
    writeFolder(join(dir, 'train'));
    writeFolder(join(dir, 'test'), 4);
    const epochs: number[] = [];
    // A hundred thousand epochs cannot finish in 1.5 s on any machine: only the deadline ends this training.
    const metrics = finalTraining({
      space: { name: 'nb201', options: {} }, arch: '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|',
      seed: 0, dataset: `folder:${dir}?size=8`, channels: 4, cells: 1, resolution: 8, epochs: 100_000, batch: 16, lr: 0.05, validFraction: 0.25,
      deadline: Date.now() + 1500, weightsPath: join(dir, 'w.safetensors'), threads: 1, progress: false,
    }, (e) => void epochs.push(e.epoch));
    assert.ok(epochs.length >= 1 && epochs.length < 100_000, `${epochs.length} epochs`);
    assert.equal(metrics.valid_images, 12);
    assert.equal(metrics.test_images, 12);
    const { tensors, metadata } = loadSafetensors(join(dir, 'w.safetensors'));
    for (const t of Object.values(tensors)) t.dispose();
    assert.deepEqual(JSON.parse(metadata.augment!), { crop: { padding: 4 }, flip: true }, 'colour images train with crops and flips');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas fit: killed and resumed, the model files, predict, a finished fit rerun', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-fit-'));
  try {
    const images = join(dir, 'images');
    writeFolder(images);
    const out = join(dir, 'model');
    const args = ['fit', `folder:${images}`, '--out', out, ...FIT];

    // kill -9 once a successive-halving rung exists: the rerun resumes.
    const first = startTsnas(args);
    const db = `sqlite:${join(out, 'tsnas.db')}`;
    for (let i = 0; i < 6000 && first.child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      if (!existsSync(join(out, 'tsnas.db'))) continue;
      const probe = await openStore(db).catch(() => undefined);
      if (!probe) continue;
      const rung = await probe.getExperiment('fit.rung0').catch(() => null);
      await probe.close();
      if (rung) {
        first.child.kill('SIGKILL');
        break;
      }
    }
    const killed = await first.exited;
    assert.equal(killed.signal, 'SIGKILL', `the fit ended before it could be killed: ${first.stderr()}`);
    assert.match(first.stderr(), /gray image\(s\) among .* colour ones: gray images are repeated over R, G and B/);
    assert.match(first.stderr(), /3 image size\(s\) .*every image is resized to 12x12/);

    const r = runTsnas(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /fit: resuming the plan in .*plan\.json/);
    // The final training ends on the clock (the time left less its evaluations and the export), its epochs counted without a total.
    assert.match(r.stderr, /\nfinal: epoch 1 train loss/);
    assert.match(r.stderr, /main: phase 3\/3, final training of .* until \d\d:\d\d:\d\d UTC on all training images/);
    const summary = lastJson(r);
    assert.deepEqual(summary.classes, CLASSES);
    assert.equal(summary.test_accuracy, null, 'the folder has no test split');
    // The classes differ plainly: the held-out images are told apart (chance is 1/3).
    assert.ok(summary.valid_accuracy >= 0.6, `validation accuracy ${summary.valid_accuracy}`);
    for (const f of ['best.safetensors', 'best.onnx', 'best.json', 'report.html', 'plan.json']) assert.ok(existsSync(join(out, f)), f);
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
    assert.equal(plan.dataset, `folder:${images}?size=12`);
    assert.ok(plan.candidates >= 8 && plan.halving.candidates >= 3, JSON.stringify(plan));
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /tsnas fit: fit[\s\S]*validation accuracy/);

    // predict: the top classes of images of each class.
    const files = CLASSES.flatMap((c) => [join(images, c, '1.png'), join(images, c, '5.png')]);
    const p = runTsnas(['predict', '--model', out, '--top', '2', '--json', '--threads', '1', ...files]);
    assert.equal(p.code, 0, p.stderr);
    const predictions = lastJson(p) as { file: string; top: { label: string; probability: number }[] }[];
    assert.deepEqual(predictions.map((x) => x.file), files);
    for (const x of predictions) {
      assert.equal(x.top.length, 2);
      assert.ok(x.top[0]!.probability >= x.top[1]!.probability && x.top[0]!.probability + x.top[1]!.probability <= 1 + 1e-6);
    }
    const right = predictions.filter((x, i) => x.top[0]!.label === CLASSES[i >> 1]).length;
    assert.ok(right >= 5, `${right} of 6 right: ${JSON.stringify(predictions)}`);
    const text = runTsnas(['predict', '--model', out, '--threads', '1', files[0]!]);
    assert.match(text.stdout, /bars\/1\.png: \w+ \d+\.\d%, \w+ \d+\.\d%, \w+ \d+\.\d%\n$/);
    const broken = join(dir, 'broken.png');
    writeFileSync(broken, readFileSync(files[0]!).subarray(0, 40));
    const refused = runTsnas(['predict', '--model', out, '--threads', '1', files[0]!, broken]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /broken\.png: truncated PNG/);

    // The model as a web page: classes, input and normalisation come from the model.
    const web = join(dir, 'web');
    const exported = runTsnas(['export', '--model', out, '--web', web, '--json', '--threads', '1']);
    assert.equal(exported.code, 0, exported.stderr);
    const meta = JSON.parse(readFileSync(join(web, 'meta.json'), 'utf8')) as { labels: string[]; inputShape: number[]; mean: number[]; std: number[] };
    assert.deepEqual(meta.labels, CLASSES);
    assert.equal(meta.inputShape.length, 3);
    assert.equal(meta.mean.length, meta.inputShape[0]);
    const mixed = runTsnas(['export', '--model', out, '--web', web, '--labels', 'a,b,c']);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /--labels: --model gives it/);

    // A finished fit run again: same answer, the final training not redone; other flags are refused.
    const store = await openStore(db);
    const finishedAt = async () => (await store.listTrials((await store.getExperiment('fit.final'))!.id))[0]!.finishedAt;
    const before = await finishedAt();
    const again = runTsnas(args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(lastJson(again).arch, summary.arch);
    assert.equal(await finishedAt(), before);
    const rungs = Math.round(Math.log(plan.halving.candidates) / Math.log(3));
    assert.deepEqual((await store.listExperiments()).map((e) => e.name), ['fit.screen', ...Array.from({ length: rungs }, (_, i) => `fit.rung${i}`), 'fit.final']);
    await store.close();
    const other = runTsnas(['fit', `folder:${images}`, '--out', out, ...FIT, '--max-params', '50000']);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /--out: .* holds a fit of .*rerun with the same dataset and flags to resume/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas fit and predict: bad inputs exit 2 naming the file or the flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-fit-bad-'));
  try {
    const fit = (folder: string, ...more: string[]) => runTsnas(['fit', `folder:${folder}`, '--out', join(dir, 'out', String(Math.random()).slice(2)), '--threads', '1', '--time-limit', '20s', ...more]);
    const expectError = (r: ReturnType<typeof runTsnas>, pattern: RegExp) => {
      assert.equal(r.code, 2, `${pattern}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    };

    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expectError(fit(empty), /empty: expected one sub-folder per class \(root\/<class>\/<image>\), found none/);
    const noImages = join(dir, 'no-images');
    mkdirSync(join(noImages, 'a'), { recursive: true });
    mkdirSync(join(noImages, 'b'));
    expectError(fit(noImages), /no-images: expected image files \(.*\) in the class folders, found none/);
    const one = join(dir, 'one');
    writeFolder(one, 4, ['only']);
    expectError(fit(one), /one: expected at least two class folders to tell apart, found one \(only\)/);

    // A truncated PNG and a corrupt JPEG: listed, and skipped only with --skip-bad-images.
    const bad = join(dir, 'bad');
    writeFolder(bad, 6, ['a', 'b']);
    const good = readFileSync(join(bad, 'a', '0.png'));
    writeFileSync(join(bad, 'a', 'broken.png'), good.subarray(0, 40));
    writeFileSync(join(bad, 'b', 'photo.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    expectError(fit(bad), /a\/broken\.png: 2 image file\(s\) cannot be decoded; give --skip-bad-images to skip them:\n.*broken\.png: truncated PNG[\s\S]*photo\.jpg: corrupt or unsupported JPEG/);
    // Skipped (the data is checked first), then a limit too short to do anything: both said.
    const skipped = runTsnas(['fit', `folder:${bad}`, '--out', join(dir, 'out-skip'), '--threads', '1', '--time-limit', '5s', '--skip-bad-images']);
    expectError(skipped, /--time-limit: a time limit of 5 s is too short to do anything; give at least 10 s/);
    assert.match(skipped.stderr, /skipped 2 image file\(s\) that cannot be decoded:\n.*broken\.png[\s\S]*photo\.jpg/);
    // A class whose only image is bad holds nothing readable.
    const hollow = join(dir, 'hollow');
    writeFolder(hollow, 3, ['a']);
    mkdirSync(join(hollow, 'b'));
    writeFileSync(join(hollow, 'b', 'x.png'), good.subarray(0, 40));
    expectError(fit(hollow, '--skip-bad-images'), /hollow\/b: class folder\(s\) b hold no readable image/);

    const images = join(dir, 'images');
    writeFolder(images, 4);
    expectError(fit(images, '--time-limit', '5s'), /--time-limit: a time limit of 5 s is too short to do anything; give at least 10 s/);
    expectError(fit(images, '--time-limit', '20 minutes'), /--time-limit: expected a duration such as 90s, 20m, 1h30m or a number of seconds, found "20 minutes"/);
    expectError(fit(images, '--max-params', '1000', '--target-latency-ms', '3'), /--target-latency-ms: give --max-params or --target-latency-ms, not both/);
    expectError(runTsnas(['fit', 'folder:', '--time-limit', '1m']), /"folder:" needs a directory/);
    expectError(runTsnas(['fit', `folder:${images}`]), /--time-limit/);

    expectError(runTsnas(['predict', '--model', empty, join(images, 'bars', '0.png')]), /best\.safetensors: expected a model directory holding best\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
