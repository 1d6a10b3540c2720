#!/usr/bin/env node
// tsnas fit on CIFAR-10 written out as PNG files (issue 15): the shared
// binaries (../shared/data/cifar10: 40,000 training and 10,000 test images)
// become DIR/train/<class>/N.png and DIR/test/<class>/N.png once, then
// `tsnas fit folder:DIR --time-limit T` runs from scratch for each limit and
// the script prints the test accuracy and the wall seconds of each.
//
// Usage: node bench/fit_cifar10_png.mjs [--dir /tmp/cifar10-png] [--limits 5m,20m,60m] [--threads 2] [--out runs/fit-bench]
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { datasetSource } from '../dist/data/spec.js';
import { encodePng } from '../dist/data/synthetic.js';

const { values } = parseArgs({ options: {
  dir: { type: 'string', default: '/tmp/cifar10-png' },
  limits: { type: 'string', default: '5m,20m,60m' },
  threads: { type: 'string', default: '2' },
  out: { type: 'string', default: 'runs/fit-bench' },
  cifar: { type: 'string', default: '../shared/data/cifar10' },
} });

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function writeSplit(split) {
  const d = datasetSource(`cifar10:${values.cifar}`).load(split);
  const plane = d.height * d.width;
  for (const c of CLASSES) mkdirSync(join(values.dir, split, c), { recursive: true });
  for (let i = 0; i < d.n; i++) {
    const chw = d.images.subarray(i * 3 * plane, (i + 1) * 3 * plane);
    const hwc = new Uint8Array(3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) hwc[3 * p + c] = chw[c * plane + p];
    writeFileSync(join(values.dir, split, CLASSES[d.labels[i]], `${i}.png`), encodePng({ width: d.width, height: d.height, channels: 3, data: hwc }));
  }
  return d.n;
}

if (!existsSync(join(values.dir, 'test'))) {
  const t0 = Date.now();
  const n = writeSplit('train') + writeSplit('test');
  console.error(`wrote ${n} PNG files to ${values.dir} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

for (const limit of values.limits.split(',')) {
  const out = join(values.out, limit);
  rmSync(out, { recursive: true, force: true });
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['bin/tsnas.js', 'fit', `folder:${values.dir}`, '--time-limit', limit, '--out', out, '--threads', values.threads, '--quiet', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const wall = (Date.now() - t0) / 1000;
  const result = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').at(-1)) : undefined;
  console.log(JSON.stringify({ limit, exit: r.status, wall_seconds: wall, test_accuracy: result?.test_accuracy, valid_accuracy: result?.valid_accuracy, arch: result?.arch, params: result?.params, screened: result?.screened }));
}
