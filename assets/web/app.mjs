// The page tsnas writes with `tsnas export --web`: classifies images with the
// exported ONNX model in onnxruntime-web (wasm), entirely in the browser.
// meta.json (written beside it) says the input shape, normalisation and labels.
import * as ort from './ort/ort.wasm.min.mjs';

ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
// Threads need cross-origin isolation, which a plain static server does not give.
ort.env.wasm.numThreads = 1;

const meta = await (await fetch('meta.json')).json();
const [channels, height, width] = meta.inputShape;
const session = await ort.InferenceSession.create('model.onnx', { executionProviders: ['wasm'] });
const inputName = session.inputNames[0];
const outputName = session.outputNames[0];

/** RGBA pixels (height×width×4) → a normalised 1×C×H×W float32 tensor, as tsnas's data pipeline makes it. */
export function toInput(rgba) {
  const plane = height * width;
  const data = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    // Gray models take gray images as they are and colour ones by luminance.
    const values = channels === 1 ? [r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b)] : [r, g, b];
    for (let c = 0; c < channels; c++) {
      const mean = meta.mean ? meta.mean[c] : 0;
      const std = meta.std ? meta.std[c] : 1;
      data[c * plane + i] = (values[c] / 255 - mean) / std;
    }
  }
  return new ort.Tensor('float32', data, [1, channels, height, width]);
}

/** An image element → its pixels at the model's size (resized by the canvas when it differs). */
function pixelsOf(image) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(image, 0, 0, width, height);
  return context.getImageData(0, 0, width, height).data;
}

function softmax(logits) {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Classifies one loaded image: logits, the top classes and the milliseconds the model took. */
export async function classify(image) {
  const input = toInput(pixelsOf(image));
  const started = performance.now();
  const output = await session.run({ [inputName]: input });
  const ms = performance.now() - started;
  const logits = Array.from(output[outputName].data);
  const probabilities = softmax(logits);
  const top = probabilities.map((p, k) => ({ label: meta.labels?.[k] ?? String(k), probability: p }))
    .sort((a, b) => b.probability - a.probability).slice(0, 3);
  return { logits, top, ms };
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`cannot decode ${src}`));
    image.src = src;
  });
}

const results = document.getElementById('results');

async function show(name, src) {
  const row = document.createElement('div');
  row.className = 'result';
  results.append(row);
  try {
    const image = await loadImage(src);
    const r = await classify(image);
    const list = r.top.map((t) => `<li>${escapeHtml(t.label)} <span class="meta">${(100 * t.probability).toFixed(1)}%</span></li>`).join('');
    row.innerHTML = `<img alt=""><div><div>${escapeHtml(name)}</div><ol>${list}</ol><div class="meta">${r.ms.toFixed(2)} ms</div></div>`;
    row.querySelector('img').src = src;
    return { name, ...r };
  } catch (e) {
    row.innerHTML = `<div class="error">${escapeHtml(name)}: ${escapeHtml(e.message)}</div>`;
    return { name, error: e.message };
  }
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function showFiles(files) {
  for (const file of files) {
    const url = URL.createObjectURL(file);
    await show(file.name, url);
  }
}

document.getElementById('model').textContent =
  `${meta.title ?? 'model.onnx'}: input ${channels}×${height}×${width}, ${meta.labels ? meta.labels.length : '?'} classes, onnxruntime-web ${ort.env.versions?.web ?? ''} (wasm)`;
document.getElementById('files').addEventListener('change', (e) => showFiles(e.target.files));
const drop = document.getElementById('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); showFiles(e.dataTransfer.files); });

// ?images=a.png,b.png classifies images served beside the page on load (demos and tests read window.tsnasResults).
const listed = new URLSearchParams(location.search).get('images');
const done = [];
if (listed) for (const name of listed.split(',').filter(Boolean)) done.push(await show(name, name));
window.tsnasResults = done;
window.tsnasClassify = async (src) => classify(await loadImage(src));
document.body.dataset.ready = 'true';
