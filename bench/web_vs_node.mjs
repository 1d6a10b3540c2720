#!/usr/bin/env node
// Time per image of a `tsnas export --web DIR` page's model: onnxruntime-web
// (wasm, one thread) in headless chromium, as the page itself measures it
// (session.run of one image), against onnxruntime-node (intra-op threads 1)
// on the same model and input, alternating rounds. Prints one JSON line.
// Usage (after `npx tsc -p .`): node bench/web_vs_node.mjs DIR [--images 50] [--rounds 3]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { chromium } from 'playwright-core';
import { encodePng } from '../dist/data/index.js';

const dir = process.argv[2];
if (!dir || !existsSync(join(dir, 'model.onnx'))) {
  console.error('usage: node bench/web_vs_node.mjs DIR (a folder written by tsnas export --web)');
  process.exit(2);
}
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const images = arg('images', 50);
const rounds = arg('rounds', 3);
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const [c, h, w] = meta.inputShape;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const k = s.length >> 1; return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2; };

// One image, served beside the page and fed to node.
const pixels = Uint8Array.from({ length: h * w * c }, (_, i) => (i * 37) % 256);
writeFileSync(join(dir, 'bench.png'), encodePng({ width: w, height: h, channels: c, data: pixels }));
const input = new Float32Array(c * h * w);
for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) input[k * h * w + i] = (pixels[c * i + k] / 255 - (meta.mean?.[k] ?? 0)) / (meta.std?.[k] ?? 1);

const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), { intraOpNumThreads: 1, interOpNumThreads: 1 });
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, c, h, w]) };
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png' };
const server = createServer((req, res) => {
  const path = join(dir, new URL(req.url, 'http://x').pathname);
  if (!path.startsWith(dir) || !existsSync(path)) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });

const node = [];
const web = [];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < images; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    t.push(performance.now() - t0);
  }
  node.push(median(t));
  const ms = await page.evaluate(async (n) => {
    const out = [];
    for (let i = 0; i < 5 + n; i++) out.push((await window.tsnasClassify('bench.png')).ms);
    return out.slice(5);
  }, images);
  web.push(median(ms));
}
await browser.close();
server.close();
await session.release();
console.log(JSON.stringify({ model: meta.title, input: meta.inputShape, images, rounds, node_ms: node, web_ms: web, node_median_ms: median(node), web_median_ms: median(web), ratio: median(web) / median(node) }));
