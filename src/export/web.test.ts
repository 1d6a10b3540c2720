// The web page of `tsnas export --web` in Debian's chromium (playwright-core):
// it loads the model in onnxruntime-web (wasm), classifies PNG files served
// beside it, and its logits equal onnxruntime-node's on the same images.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import * as ort from 'onnxruntime-node';
import { chromium, type Browser } from 'playwright-core';
import { decodePng, encodePng } from '../data/index.js';
import { measureLatencyTable, loadLatencyTable, predictLatency } from '../hardware/latency.js';
import { buildNetwork, getSpace, latencyModel } from '../kits/index.js';
import { lastJson, runTsnas } from '../testing/cli.js';
import { manualSeed } from '../tensor/index.js';
import { Rng } from '../util/random.js';
import { saveSafetensors } from './safetensors.js';

const CHROMIUM = '/usr/bin/chromium';
const ARCH = '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|';
const LABELS = ['cat', 'dog', 'ship', 'car', 'frog'];
const MEAN = [0.5, 0.45, 0.4];
const STD = [0.25, 0.2, 0.3];
const IMAGES = ['a.png', 'b.png', 'c.png'];
const TYPES: Record<string, string> = { '.html': 'text/html', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png', '.onnx': 'application/octet-stream' };

/** Serves dir's files, as any static server would. */
function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(dir) || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    resolve({ server, url: `http://127.0.0.1:${address.port}` });
  }));
}

/** The page's preprocessing: pixels / 255, normalised per channel, C×H×W. */
function nodeInput(png: Uint8Array): Float32Array {
  const image = decodePng(png, 'x.png');
  const plane = image.width * image.height;
  const x = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) x[c * plane + i] = (image.data[3 * i + c]! / 255 - MEAN[c]!) / STD[c]!;
  return x;
}

describe('tsnas export --web', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (install Debian package chromium)` }, () => {
  let dir: string;
  let web: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsnas-web-'));
    web = join(dir, 'page');
    manualSeed(3);
    const space = getSpace('nb201');
    const net = buildNetwork(space, space.parseArch(ARCH), { numClasses: LABELS.length, channels: 4, cells: 1 });
    saveSafetensors(join(dir, 'w.safetensors'), net.stateDict());
    net.dispose();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the page classifies images with the model and agrees with onnxruntime-node (logits within 1e-4)', async () => {
    const r = runTsnas(['export', '--space', 'nb201', '--arch', ARCH, '--weights', join(dir, 'w.safetensors'), '--channels', '4', '--cells', '1',
      '--web', web, '--labels', LABELS.join(','), '--mean', MEAN.join(','), '--std', STD.join(','), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).web, web);
    for (const f of ['index.html', 'app.mjs', 'meta.json', 'model.onnx', 'ort/ort.wasm.min.mjs', 'ort/ort-wasm-simd-threaded.wasm']) assert.ok(existsSync(join(web, f)), f);
    assert.deepEqual(JSON.parse(readFileSync(join(web, 'meta.json'), 'utf8')).labels, LABELS);

    const rng = new Rng(11);
    const pngs = IMAGES.map((name) => {
      const png = encodePng({ width: 32, height: 32, channels: 3, data: Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(rng.next() * 256)) });
      writeFileSync(join(web, name), png);
      return png;
    });
    const session = await ort.InferenceSession.create(readFileSync(join(web, 'model.onnx')));
    const expected: number[][] = [];
    for (const png of pngs) {
      const out = await session.run({ input: new ort.Tensor('float32', nodeInput(png), [1, 3, 32, 32]) });
      expected.push(Array.from(out[session.outputNames[0]!]!.data as Float32Array));
    }
    await session.release();

    const { server, url } = await serve(web);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${url}/index.html?images=${IMAGES.join(',')}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      const results = await page.evaluate(() => (window as unknown as { tsnasResults: { name: string; logits: number[]; top: { label: string }[]; ms: number; error?: string }[] }).tsnasResults);
      assert.deepEqual(errors, []);
      assert.equal(results.length, IMAGES.length);
      results.forEach((res, k) => {
        assert.equal(res.error, undefined);
        assert.equal(res.logits.length, LABELS.length);
        const diff = Math.max(...res.logits.map((v, j) => Math.abs(v - expected[k]![j]!)));
        assert.ok(diff <= 1e-4, `${res.name}: max |browser − node| = ${diff}`);
        const best = expected[k]!.indexOf(Math.max(...expected[k]!));
        assert.equal(res.top[0]!.label, LABELS[best]);
        assert.ok(res.ms >= 0);
      });
      // The page shows each image with its top classes and time.
      assert.equal(await page.locator('.result img').count(), IMAGES.length);
      assert.match(await page.locator('.result').first().innerText(), /ms/);
    } finally {
      await page.close();
      server.close();
    }
  });

  test('bad web flags are usage errors naming the flag', () => {
    const base = ['export', '--space', 'nb201', '--arch', ARCH, '--weights', join(dir, 'w.safetensors'), '--channels', '4', '--cells', '1'];
    const labels = runTsnas([...base, '--web', join(dir, 'p2'), '--labels', 'a,b']);
    assert.equal(labels.code, 2, labels.stderr);
    assert.match(labels.stderr, /--labels.*5 classes, got 2 labels/);
    const mean = runTsnas([...base, '--onnx', join(dir, 'x.onnx'), '--mean', '0.5']);
    assert.equal(mean.code, 2);
    assert.match(mean.stderr, /--mean.*--web/);
    const neither = runTsnas(base);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /--onnx/);
    const std = runTsnas([...base, '--web', join(dir, 'p3'), '--std', '1,0,1']);
    assert.equal(std.code, 2);
    assert.match(std.stderr, /--std/);
  });

  test('tsnas bench latency --runtime browser: a latency table timed in onnxruntime-web, usable like any other', () => {
    const out = join(dir, 'browser-lut.json');
    const r = runTsnas(['bench', 'latency', '--space', 'nb201', '--channels', '4', '--cells', '1', '--resolution', '8', '--warmup', '1', '--repeats', '3',
      '--runtime', 'browser', '--validate', '3', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const table = loadLatencyTable(out);
    assert.match(table.runtime.engine, /onnxruntime-web/);
    const local = measureLatencyTable(latencyModel('nb201'), { channels: 4, cells: 1, resolution: 8, warmup: 0, repeats: 1 });
    assert.deepEqual(table.entries.map((e) => `${e.op}@${e.channels}x${e.resolution}/${e.stride}`), local.entries.map((e) => `${e.op}@${e.channels}x${e.resolution}/${e.stride}`));
    for (const e of table.entries) assert.ok(Number.isFinite(e.forward_ms) && e.forward_ms >= 0, `${e.op}: ${e.forward_ms}`);
    assert.ok(predictLatency(latencyModel('nb201'), table, getSpace('nb201').parseArch(ARCH)) > 0);
    assert.equal(lastJson(r.stdout).validation.samples, 3);
    const backward = runTsnas(['bench', 'latency', '--space', 'nb201', '--channels', '4', '--cells', '1', '--resolution', '8', '--runtime', 'browser', '--backward', '--out', join(dir, 'x.json')]);
    assert.equal(backward.code, 2);
    assert.match(backward.stderr, /--backward.*forward passes only/);
  });
});

