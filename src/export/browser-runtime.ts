// onnxruntime-web (wasm) in a headless chromium as a latency runtime: each
// module is exported to ONNX, loaded in the page, and timed there, so that a
// latency table (and a search that targets it) describes the browser.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import type { LatencyRuntime } from '../hardware/latency.js';
import type { Module } from '../nn/module.js';
import { exportToOnnx } from './onnx/index.js';
import { ortDistDir } from './web.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const PAGE = `<!doctype html><meta charset="utf-8"><title>tsnas latency</title>
<script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
ort.env.wasm.numThreads = 1;
window.ort = ort;
document.body.dataset.ready = 'true';
</script><body></body>`;

/** A browser runtime; close() ends the browser and the page's server. */
export interface BrowserRuntime extends LatencyRuntime {
  close(): Promise<void>;
}

/** Serves the timing page and onnxruntime-web's files on a loopback port. */
function servePage(ortDir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { mjs: 'text/javascript', wasm: 'application/wasm' };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const name = path.startsWith('/ort/') ? path.slice('/ort/'.length) : '';
    if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
    readFile(join(ortDir, name)).then(
      (bytes) => res.writeHead(200, { 'content-type': types[name.split('.').pop()!] ?? 'application/octet-stream' }).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }));
  });
}

/**
 * Runs in the page: loads each model, then times them interleaved, round by
 * round, each repeat running a model enough times to last about 5 ms (the
 * page's timer is coarse). Median milliseconds per call.
 */
async function timeInPage(a: { models: { base64: string; shape: number[] }[]; warmup: number; repeats: number }): Promise<number[]> {
  type Ort = {
    InferenceSession: { create(bytes: Uint8Array): Promise<{ inputNames: string[]; run(feeds: Record<string, unknown>): Promise<unknown> }> };
    Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
  };
  const ort = (window as unknown as { ort: Ort }).ort;
  const runs: (() => Promise<unknown>)[] = [];
  for (const m of a.models) {
    const bytes = Uint8Array.from(atob(m.base64), (c) => c.charCodeAt(0));
    const session = await ort.InferenceSession.create(bytes);
    const size = m.shape.reduce((x, y) => x * y, 1);
    const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.7));
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, m.shape) };
    runs.push(() => session.run(feeds));
  }
  const inner: number[] = [];
  for (const run of runs) {
    for (let i = 0; i < a.warmup; i++) await run();
    const t0 = performance.now();
    await run();
    inner.push(Math.max(1, Math.min(500, Math.ceil(5 / Math.max(performance.now() - t0, 0.01)))));
  }
  const times: number[][] = runs.map(() => []);
  for (let r = 0; r < a.repeats; r++) {
    for (let k = 0; k < runs.length; k++) {
      const start = performance.now();
      for (let i = 0; i < inner[k]!; i++) await runs[k]!();
      times[k]!.push((performance.now() - start) / inner[k]!);
    }
  }
  return times.map((t) => {
    const s = [...t].sort((x, y) => x - y);
    const h = s.length >> 1;
    return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  });
}

/** Starts chromium with a page running onnxruntime-web (one wasm thread). Needs playwright-core and onnxruntime-web. */
export async function openBrowserRuntime(o: { chromium?: string } = {}): Promise<BrowserRuntime> {
  const executable = o.chromium ?? DEFAULT_CHROMIUM;
  if (!existsSync(executable)) throw usageError(`no browser at ${executable}: install Debian's chromium (apt-get install chromium) or name one`, '--browser');
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw usageError('timing in a browser drives chromium with playwright-core, which is not installed: run `npm install playwright-core`', '--runtime');
  }
  const { server, url } = await servePage(ortDistDir());
  let browser: Awaited<ReturnType<typeof playwright.chromium.launch>> | undefined;
  try {
    browser = await playwright.chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
    const opened = browser;
    return {
      engine: 'onnxruntime-web (wasm, chromium)',
      threads: 1,
      async timeForward(items: readonly { module: Module; inputShape: number[] }[], t: { warmup: number; repeats: number }): Promise<number[]> {
        const models = items.map(({ module, inputShape }) => ({
          base64: Buffer.from(exportToOnnx(module, inputShape.slice(1)).bytes).toString('base64'),
          shape: inputShape,
        }));
        return page.evaluate(timeInPage, { models, warmup: t.warmup, repeats: t.repeats });
      },
      async close() {
        await opened.close();
        server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    throw e;
  }
}
