import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, runTsnas } from '../testing/cli.js';
import { bestSoFar, lineChart, logTicks, niceTicks, parallelCoordinates, scatterChart, spreadChart } from './charts.js';

test('chart helpers: ticks, best-so-far, well-formed SVG', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(bestSoFar([[1, 3], [2, 1], [3, 5]], true), [[1, 3], [2, 3], [3, 5]]);
  assert.deepEqual(bestSoFar([[1, 3], [2, 1], [3, 5]], false), [[1, 3], [2, 1], [3, 1]]);
  const line = lineChart([{ name: 'a<b', points: [[1, 1], [2, 4]] }, { name: 'c', points: [[1, 2]] }], { title: 'T & U', xLabel: 'x', yLabel: 'y' });
  assert.match(line, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(line.includes('T &amp; U') && line.includes('a&lt;b') && line.includes('<polyline'));
  const scatter = scatterChart([{ x: 10, y: 1 }, { x: 100, y: 2 }, { x: 1000, y: 1.5 }], [{ x: 10, y: 1 }, { x: 100, y: 2 }], { title: 's', xLabel: 'params', yLabel: 'acc', logX: true });
  assert.equal((scatter.match(/<circle/g) ?? []).length, 5);
  assert.ok(scatter.includes('Pareto front') && scatter.includes('(log scale)'));
});

test('log axes get tick labels even within one decade; marks, parallel coordinates and spread rows draw what they are given', () => {
  assert.deepEqual(logTicks(1, 4), [1, 2, 3, 4], 'decades when two or more fall inside');
  const within = logTicks(Math.log10(4e5), Math.log10(1.2e6)).map((t) => Number((10 ** t).toPrecision(6)));
  assert.deepEqual(within, [5e5, 1e6], '1-2-5 steps inside 4e5..1.2e6');
  const narrow = logTicks(Math.log10(1.1e6), Math.log10(1.3e6)).map((t) => Number((10 ** t).toPrecision(6)));
  assert.ok(narrow.length >= 2 && narrow.every((v) => v >= 1.1e6 && v <= 1.3e6), `linear ticks inside a narrow span: ${narrow}`);
  const scatter = scatterChart([{ x: 4e5, y: 0.85 }, { x: 1.2e6, y: 0.91 }], [], { title: 's', xLabel: 'params', yLabel: 'acc', logX: true });
  assert.ok(scatter.includes('>5.0e+5<') && scatter.includes('>1.0e+6<'), 'x tick labels on a log axis within one decade');

  const marked = lineChart([{ name: 'λ', points: [[1, 0.1], [2, 0.2]] }], { title: 't', xLabel: 'epoch', yLabel: 'λ', marks: [{ x: 2, label: 'a <warning>' }] });
  assert.equal((marked.match(/class="mark"/g) ?? []).length, 1);
  assert.ok(marked.includes('a &lt;warning&gt;'));

  const parallel = parallelCoordinates(
    [{ name: 'op', categories: ['conv', 'pool'] }, { name: 'acc' }],
    [{ values: [0, 0.9], colour: 1, label: '#0' }, { values: [null, 0.5], colour: 0 }, { values: [1, 0.7], colour: 0.5 }],
    { title: 'p', colourLabel: 'acc', colourRange: [0.5, 0.9] },
  );
  assert.equal((parallel.match(/<path /g) ?? []).length, 3);
  assert.ok(/<path d="M[\d.]+ [\d.]+"/.test(parallel), 'an inactive value breaks the line: the second row is one point');
  assert.ok(parallel.includes('>conv<') && parallel.includes('>pool<'), 'categorical axes are labelled with their values');

  const spread = spreadChart([{ name: 'edge', rows: [{ label: 'conv', mean: 0.8, spread: 0.1, note: 'n=2' }, { label: 'pool', mean: 0.6, spread: 0 }] }], { title: 'm', xLabel: 'acc' });
  assert.equal((spread.match(/class="spread-row"/g) ?? []).length, 2);
  assert.ok(spread.includes('conv (n=2)') && spread.includes('>0.8<'), 'labels and value-axis ticks');
});

test('tsnas report NAME writes report.html with the curve, the Pareto scatter and the top cells', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-report-'));
  try {
    const storage = `sqlite:${join(dir, 'r.db')}`;
    let r = runTsnas(['search', '--name', 'rep', '--storage', storage, '--quiet', '--budget.trials', '40', '--strategy.name', 'random']);
    assert.equal(r.code, 0, r.stderr);
    const out = join(dir, 'report.html');
    r = runTsnas(['report', 'rep', '--storage', storage, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.ok(html.includes('best accuracy so far') && html.includes('accuracy against params') && html.includes('top architectures'));
    assert.ok((html.match(/<svg/g) ?? []).length >= 5);
    // --png: set-up installs Debian's chromium, which renders the page to a PNG.
    r = runTsnas(['report', 'rep', '--storage', storage, '--out', out, '--png']);
    assert.equal(r.code, 0, r.stderr);
    const png = readFileSync(join(dir, 'report.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.equal(png.readUInt32BE(16), 1280, 'rendered at the page width');
    r = runTsnas(['report', 'nope', '--storage', storage, '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no experiment named 'nope' in this store; it has rep/);
    r = runTsnas(['show', 'rep', '--storage', storage, '--json']);
    const shown = lastJson(r.stdout);
    assert.equal(shown.total, 40);
    assert.ok(shown.pareto.trials.length >= 1);
    assert.equal(shown.bestArchitecture.arch, shown.best[0].arch);
    r = runTsnas(['ls', '--storage', storage, '--json']);
    assert.deepEqual(JSON.parse(r.stdout.trim()).experiments.map((e: { name: string }) => e.name), ['rep']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
