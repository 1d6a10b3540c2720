// A static web page that classifies images with an exported ONNX model in
// onnxruntime-web (wasm): the page (assets/web), the model, meta.json, and
// the onnxruntime-web files it loads. Any static file server serves it.
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';

/** What the page needs to know of the model beside its bytes. */
export interface WebModelMeta {
  /** One image as [channels, height, width]. */
  inputShape: [number, number, number];
  /** Per-channel normalisation the network was trained with; absent: pixels in [0, 1]. */
  mean?: number[];
  std?: number[];
  /** Class names by output index. */
  labels?: string[];
  title?: string;
}

const PAGE_FILES = ['index.html', 'app.mjs'];
/** The wasm build of onnxruntime-web without WebGPU: its loader, glue and binary. */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/** onnxruntime-web's dist folder; an optional peer dependency, so a missing one says how to add it. */
export function ortDistDir(): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('onnxruntime-web');
  } catch {
    throw usageError('the web page runs the model in onnxruntime-web, which is not installed: run `npm install onnxruntime-web`', '--web');
  }
  // The package's main file lies in dist/, beside the browser builds.
  const dir = dirname(main);
  for (const f of ORT_FILES) if (!existsSync(join(dir, f))) throw usageError(`onnxruntime-web has no ${f} in ${dir}: install onnxruntime-web 1.17 or later`, '--web');
  return dir;
}

function checkMeta(meta: WebModelMeta): void {
  const [channels] = meta.inputShape;
  if (channels !== 1 && channels !== 3) throw usageError(`the web page reads gray or RGB images, the model takes ${channels} channels`, '--web');
  for (const key of ['mean', 'std'] as const) {
    const v = meta[key];
    if (v && v.length !== channels) throw usageError(`expected ${channels} values (one per channel), got ${v.length}`, `--${key}`);
  }
  if (meta.std?.some((s) => !(s > 0))) throw usageError(`standard deviations must be positive, got ${meta.std.join(',')}`, '--std');
}

/** Writes the page, the model and onnxruntime-web's files into dir (created if missing); returns the files written. */
export function writeWebApp(dir: string, onnx: Uint8Array, meta: WebModelMeta): string[] {
  checkMeta(meta);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw usageError(`${dir} exists and is not a directory`, '--web');
  const ort = ortDistDir();
  const assets = fileURLToPath(new URL('../../assets/web/', import.meta.url));
  mkdirSync(join(dir, 'ort'), { recursive: true });
  const written: string[] = [];
  for (const f of PAGE_FILES) copyFileSync(join(assets, f), join(dir, f)), written.push(join(dir, f));
  for (const f of ORT_FILES) copyFileSync(join(ort, f), join(dir, 'ort', f)), written.push(join(dir, 'ort', f));
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  writeFileAtomic(join(dir, 'model.onnx'), onnx);
  written.push(join(dir, 'meta.json'), join(dir, 'model.onnx'));
  return written;
}
