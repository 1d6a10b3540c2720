#!/usr/bin/env node
// Peak memory of one search step of DARTS, PC-DARTS at K = 2 and K = 4, and
// GDAS on the same supernet, each in a fresh process (peak RSS growth over
// the step: autograd's saved activations live inside libtorch, where no
// tensor count sees them), median of --repeats runs; prints JSON and writes
// a bar chart as SVG.
//   node bench/differentiable_memory.mjs [--space darts --C 16 --cells 5 --batch 32 --resolution 32 --repeats 3 --out docs/differentiable-memory.svg]
// The measurement is src/weight-sharing/differentiable/memory-probe.ts's
// (measureStepPeak), with PC-DARTS's K passed on, which the probe's config
// does not take yet.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { barChart } from '../dist/report/charts.js';

const CONFIGS = [
  { label: 'DARTS', method: 'darts' },
  { label: 'PC-DARTS K = 2', method: 'pcdarts', pcK: 2 },
  { label: 'PC-DARTS K = 4', method: 'pcdarts', pcK: 4 },
  { label: 'GDAS', method: 'gdas' },
];

async function child(c) {
  const { setNumThreads, manualSeed, randint, randn } = await import('../dist/tensor/index.js');
  const { BilevelSearch } = await import('../dist/weight-sharing/differentiable/search.js');
  setNumThreads(1);
  manualSeed(0);
  const search = new BilevelSearch({ space: c.space, C: c.C, cells: c.cells, numClasses: 10 }, { method: c.method, epochs: 1, ...(c.pcK ? { pcK: c.pcK } : {}) });
  const batch = () => ({ x: randn([c.batch, 3, c.resolution, c.resolution]).keep(), y: randint(0, 10, [c.batch]).keep() });
  const train = batch();
  const valid = batch();
  const before = process.resourceUsage().maxRSS * 1024;
  search.step(train, valid);
  const after = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ peakStepBytes: after - before })}\n`);
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await child(JSON.parse(args[1]));
} else {
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : args[i + 1];
  };
  const network = { space: option('--space', 'darts'), C: Number(option('--C', 16)), cells: Number(option('--cells', 5)), batch: Number(option('--batch', 32)), resolution: Number(option('--resolution', 32)) };
  const repeats = Number(option('--repeats', 3));
  const out = option('--out', 'docs/differentiable-memory.svg');
  const self = fileURLToPath(import.meta.url);
  const results = [];
  for (const c of CONFIGS) {
    const runs = [];
    for (let r = 0; r < repeats; r++) {
      const text = execFileSync(process.execPath, [self, '--child', JSON.stringify({ ...network, ...c })], { encoding: 'utf8' });
      runs.push(JSON.parse(text.trim()).peakStepBytes / 2 ** 20);
    }
    runs.sort((a, b) => a - b);
    results.push({ ...c, mib: runs[Math.floor(runs.length / 2)], runs });
  }
  const darts = results[0].mib;
  const bars = results.map((r) => ({ label: r.label, value: Number(r.mib.toFixed(1)), note: `${(r.mib / darts).toFixed(2)}× DARTS` }));
  const title = `peak memory of one search step (${network.space}, C ${network.C}, ${network.cells} cells, batch ${network.batch}, ${network.resolution}px)`;
  writeFileSync(out, barChart(bars, { title, xLabel: `MiB: growth of the peak RSS over the step, median of ${repeats} fresh processes`, width: 720 }));
  process.stdout.write(`${JSON.stringify({ network, repeats, results })}\n`);
}
