// The field's figures in reports, from small synthetic experiments written
// into a temporary SQLite store: every scalar series a weight-sharing run
// records (GDAS's τ, extra fields), α per edge as lines, each proxy against
// accuracy with its ρ, and several experiments' accuracy against search
// cost (also through `tsnas report --compare`), and bars (the memory
// figure of bench/differentiable_memory.mjs). Each is well-formed SVG
// with its axis labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSpace } from '../kits/index.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Json, Store } from '../store/types.js';
import { runTsnas } from '../testing/cli.js';
import { assertBalancedXml } from '../testing/xml.js';
import { barChart } from '../report/charts.js';
import { comparisonSections, experimentSections } from './report.js';

const nb201 = getSpace('nb201', {});
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
  '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|',
  '|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|',
];

async function addTrial(store: Store, experimentId: number, arch: string, metrics: Record<string, number>): Promise<void> {
  const sample = nb201.parse(arch);
  const { trial } = await store.createTrial(experimentId, sample as unknown as Json, nb201.hash(sample));
  await store.claimTrial(experimentId, 'w');
  await store.finishTrial(trial.id, { state: 'complete', metrics });
}

/** A GDAS-like run: three epochs with τ, an extra field, and α of two edges. */
async function weightSharingExperiment(store: Store, name: string, lambda: number): Promise<void> {
  const e = await store.createExperiment(name, { space: { name: 'nb201' }, strategy: { name: 'gdas', options: { fairLambda: lambda } } });
  await store.saveStrategyState(e.id, { method: 'gdas', phase: 'done', epochsDone: 3, epochs: 3 }, 0);
  const operations = { '1<-0': ['none', 'skip_connect', 'nor_conv_3x3'], '2<-1': ['none', 'skip_connect', 'nor_conv_3x3'] };
  for (const epoch of [1, 2, 3]) {
    await store.recordEpoch(e.id, 'supernet', epoch, {
      epoch, phase: 'search', seconds: 2, lr: 0.025, trainLoss: 2 - epoch / 4, trainAccuracy: 0.2 * epoch, validAccuracy: 0.18 * epoch,
      tau: 10 - 4 * (epoch - 1), extra: { entropy: 1.1 - 0.2 * epoch, note: 'text is not a series' },
      weights: { '1<-0': [0.3, 0.3 - 0.05 * epoch, 0.4 + 0.05 * epoch], '2<-1': [0.4, 0.3, 0.3] }, operations,
    });
  }
  await addTrial(store, e.id, ARCHS[0]!, { accuracy: 0.9 });
}

const svgsOf = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
const chartTitled = (html: string, title: string) => svgsOf(html).find((svg) => svg.includes(title));

test('a weight-sharing report draws every recorded scalar series and α of each edge as lines', async () => {
  const store = new SqliteStore(':memory:');
  try {
    await weightSharingExperiment(store, 'gdas-run', 0);
    const html = (await experimentSections(store, 'gdas-run')).map((s) => s.html).join('\n');
    const tau = chartTitled(html, 'temperature τ over the epochs');
    assert.ok(tau, 'a τ chart');
    assertBalancedXml(tau);
    assert.ok(tau.includes('>epoch<') && tau.includes('>temperature τ<'), 'axis labels');
    assert.equal((tau.match(/<circle/g) ?? []).length, 3, 'one point per epoch');
    assert.ok(chartTitled(html, 'extra.entropy over the epochs'), 'a numeric extra field is a series');
    assert.ok(!html.includes('extra.note'), 'text is not');
    assert.ok(!chartTitled(html, 'learning rate over the epochs'), 'a constant is not drawn');
    const alpha = chartTitled(html, 'gdas-run: α of 1&lt;-0');
    assert.ok(alpha, 'α of an edge as lines');
    assertBalancedXml(alpha);
    assert.equal((alpha.match(/<polyline/g) ?? []).length, 3, 'one line per operation');
    assert.ok(alpha.includes('>softmax(α)<') && alpha.includes('>nor_conv_3x3<'), 'axis label and legend');
  } finally {
    await store.close();
  }
});

test('trials with a proxy score and an accuracy get the proxy against accuracy, with Spearman ρ', async () => {
  const store = new SqliteStore(':memory:');
  try {
    const e = await store.createExperiment('proxy-run', { space: { name: 'nb201' }, estimator: { kind: 'composed' } });
    // synflow ranks the trials as accuracy does; jacob_cov in reverse.
    for (const [i, arch] of ARCHS.entries()) await addTrial(store, e.id, arch, { accuracy: 0.5 + 0.1 * i, synflow: 10 ** (2 * i + 1), jacob_cov: -i });
    const html = (await experimentSections(store, 'proxy-run')).map((s) => s.html).join('\n');
    const synflow = chartTitled(html, 'synflow against accuracy');
    assert.ok(synflow, 'a synflow scatter');
    assertBalancedXml(synflow);
    assert.ok(synflow.includes('Spearman ρ 1.000, n 4'));
    assert.ok(synflow.includes('>synflow (log scale)<') && synflow.includes('>accuracy<'), 'axis labels; decades of scores on a log axis');
    assert.ok(chartTitled(html, 'jacob_cov against accuracy')!.includes('Spearman ρ -1.000'));
    assert.ok(!chartTitled(html, 'snip against accuracy'), 'no chart of a proxy the trials lack');
  } finally {
    await store.close();
  }
});

test('experiments compared: best accuracy against search cost, in the library and through tsnas report --compare', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-compare-'));
  try {
    const path = join(dir, 'c.db');
    const store = new SqliteStore(path);
    try {
      await weightSharingExperiment(store, 'fair-0', 0);
      await weightSharingExperiment(store, 'fair-1', 1);
      const e = await store.createExperiment('random', { space: { name: 'nb201' } });
      for (const [i, arch] of ARCHS.entries()) await addTrial(store, e.id, arch, { accuracy: [0.6, 0.8, 0.7, 0.85][i]!, train_seconds: 5 });
      const sections = await comparisonSections(store, ['fair-0', 'fair-1', 'random']);
      const chart = chartTitled(sections[0]!.html, 'best accuracy found against search cost');
      assert.ok(chart);
      assertBalancedXml(chart);
      assert.ok(chart.includes('>search cost (seconds) (log scale)<') && chart.includes('>accuracy<'), 'axis labels');
      for (const name of ['fair-0', 'fair-1', 'random']) assert.ok(chart.includes(`>${name}<`), `${name} in the legend`);
      assert.equal((chart.match(/<polyline/g) ?? []).length, 1, 'a curve for the multi-trial run; a weight-sharing run is one point');
      // random: 4 trials of 5 s, best 0.85; a weight-sharing run: 3 epochs of 2 s then its trial.
      assert.ok(sections[0]!.html.includes('<td>random</td><td>0.85</td><td>20</td>'), sections[0]!.html.slice(-400));
      assert.ok(sections.some((s) => s.title === 'fair-1: architecture weights per edge over the epochs'), 'each experiment\'s own sections follow');
    } finally {
      await store.close();
    }
    const out = join(dir, 'compare.html');
    const r = runTsnas(['report', '--compare', 'fair-0,random', '--storage', `sqlite:${path}`, '--out', out, '--figures']);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.ok(html.includes('best accuracy found against search cost'));
    // --figures: every chart of the page also as its own SVG file.
    const files = readdirSync(join(dir, 'figures')).sort();
    assert.equal(files.length, svgsOf(html).length);
    assert.equal(files[0], '01-best-accuracy-found-against-search-cost.svg');
    assert.ok(files.some((f) => /^\d+-fair-0-temperature-over-the-epochs\.svg$/.test(f)), files.join(' '));
    assertBalancedXml(readFileSync(join(dir, 'figures', files[0]!), 'utf8'));
    const bad = runTsnas(['report', '--compare', 'fair-0', '--storage', `sqlite:${path}`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--compare/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bars (the memory figure): one labelled bar per row, lengths in proportion, value axis labelled', () => {
  const svg = barChart([{ label: 'DARTS', value: 80, note: '1.00× DARTS' }, { label: 'PC-DARTS K = 4', value: 40 }, { label: 'GDAS & co', value: 20 }], { title: 'memory', xLabel: 'MiB' });
  assertBalancedXml(svg);
  const widths = [...svg.matchAll(/<rect x="150" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(widths.length, 3);
  assert.ok(Math.abs(widths[0]! / widths[1]! - 2) < 0.01 && Math.abs(widths[1]! / widths[2]! - 2) < 0.01, `${widths}`);
  assert.ok(svg.includes('>MiB<') && svg.includes('>GDAS &amp; co<') && svg.includes('80 (1.00× DARTS)'));
});
