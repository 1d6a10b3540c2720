// The dashboard in a real browser (Debian's chromium through playwright-core)
// over a temporary SQLite store: index counts, the experiment page, live
// updates without reload, escaping of store strings, the 404 page, and the
// JSON endpoints' shapes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { getSpace } from '../kits/index.js';
import type { Sample } from '../spaces/types.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { startDashboard, type Dashboard } from './server.js';

const CHROMIUM = '/usr/bin/chromium';
const nb201 = getSpace('nb201', {});
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|',
  '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
  '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
];
const HOSTILE_NAME = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;

/** Adds a trial with this architecture and runs it to the given outcome (with a 3-step learning curve). */
async function addTrial(store: Store, experimentId: number, arch: string, metrics: { accuracy: number; params: number } | 'failed'): Promise<number> {
  const sample = nb201.parse(arch);
  const { trial } = await store.createTrial(experimentId, sample as never, nb201.hash(sample as Sample));
  const claimed = await store.claimTrial(experimentId, 'test-worker');
  assert.equal(claimed?.id, trial.id);
  for (let step = 0; step < 3; step++) await store.reportIntermediate(trial.id, 'val_accuracy', step, 0.3 + 0.1 * step + (metrics === 'failed' ? 0 : metrics.accuracy / 10));
  if (metrics === 'failed') await store.finishTrial(trial.id, { state: 'failed', error: 'diverged <b>loss</b>' });
  else await store.finishTrial(trial.id, { state: 'complete', metrics });
  return trial.number;
}

describe('dashboard in chromium', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (install Debian package chromium)` }, () => {
  let dir: string;
  let store: Store;
  let writer: Store;
  let dashboard: Dashboard;
  let browser: Browser;
  let experimentId: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsnas-dashboard-'));
    const path = join(dir, 'store.db');
    // The server reads through its own connection; the test writes through
    // another, as a search process would.
    store = new SqliteStore(path);
    writer = new SqliteStore(path);
    const experiment = await writer.createExperiment('cifar-search', { space: { name: 'nb201' }, objectives: ['accuracy', 'params'] });
    experimentId = experiment.id;
    await writer.setExperimentStatus(experiment.id, 'running');
    await addTrial(writer, experiment.id, ARCHS[0]!, { accuracy: 0.91, params: 1.2e6 });
    await addTrial(writer, experiment.id, ARCHS[1]!, { accuracy: 0.85, params: 0.4e6 });
    await addTrial(writer, experiment.id, ARCHS[2]!, 'failed');
    await addTrial(writer, experiment.id, ARCHS[3]!, { accuracy: 0.88, params: 0.9e6 });
    const hostile = await writer.createExperiment(HOSTILE_NAME, { space: { name: 'nb201' } });
    // Not an nb201 sample, so the page shows its JSON: a string with markup.
    const { trial } = await writer.createTrial(hostile.id, { note: '<b id="injected">bold</b>' }, 'hostile-0');
    await writer.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: 0.5 } });
    dashboard = await startDashboard({ store, port: 0, pollMs: 200, log: () => {} });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await store?.close();
    await writer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function withPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const result = await fn(page);
      assert.deepEqual(errors, [], 'no script errors in the page');
      return result;
    } finally {
      await page.close();
    }
  }

  test('JSON endpoints: the experiments list and one experiment have the documented shape; unknown names are 404', async () => {
    const list = await (await fetch(new URL('api/experiments', dashboard.url))).json();
    assert.deepEqual(list.experiments.map((e: { name: string }) => e.name), ['cifar-search', HOSTILE_NAME]);
    const row = list.experiments[0];
    assert.deepEqual(row.counts, { pending: 0, running: 0, complete: 3, failed: 1, pruned: 0 });
    assert.equal(row.total, 4);
    assert.equal(row.status, 'running');
    assert.equal(row.objective, 'accuracy');
    assert.equal(row.best, 0.91);

    const response = await fetch(new URL('api/experiments/cifar-search', dashboard.url));
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /application\/json/);
    const snapshot = await response.json();
    assert.deepEqual(Object.keys(snapshot).sort(), ['best', 'cells', 'counts', 'curves', 'dimensions', 'epochs', 'experiment', 'front', 'importance', 'objectives', 'total', 'trials', 'weightSharing']);
    assert.equal(snapshot.weightSharing, null, 'a multi-trial experiment has no supernet view');
    assert.equal(snapshot.experiment.name, 'cifar-search');
    assert.deepEqual(snapshot.objectives, [{ name: 'accuracy', direction: 'max' }, { name: 'params', direction: 'min' }]);
    assert.equal(snapshot.best, 0);
    assert.equal(snapshot.trials[0].arch, ARCHS[0]);
    assert.deepEqual(snapshot.trials.map((t: { number: number }) => t.number), [0, 1, 2, 3], 'in number order');
    assert.equal(snapshot.trials[2].state, 'failed');
    assert.equal(snapshot.trials[2].error, 'diverged <b>loss</b>');
    assert.ok(snapshot.trials.every((t: { durationMs: number | null }) => typeof t.durationMs === 'number' && t.durationMs >= 0));
    assert.deepEqual(snapshot.front.numbers, [0, 1, 3]);
    assert.equal(snapshot.cells.length, 3);
    const detail = await (await fetch(new URL('api/experiments/cifar-search/trials/1', dashboard.url))).json();
    assert.equal(detail.trial.arch, ARCHS[1]);
    assert.match(detail.svg, /^<svg /);
    assert.equal((await fetch(new URL('api/experiments/cifar-search/trials/99', dashboard.url))).status, 404);

    const missing = await fetch(new URL('api/experiments/no-such-run', dashboard.url));
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /no-such-run/);
    const missingEvents = await fetch(new URL('api/experiments/no-such-run/events', dashboard.url));
    assert.equal(missingEvents.status, 404);
    await missingEvents.body?.cancel();
  });

  test('the experiment page draws the best cells, parallel coordinates, per-choice means and axes with tick labels, and compares ticked trials', async () => {
    await withPage(async (page) => {
      await page.goto(new URL('experiments/cifar-search', dashboard.url).href);
      await page.locator('#cells svg').first().waitFor({ timeout: 10_000 });
      assert.deepEqual(await page.locator('#cells > .cell').evaluateAll((cells) => cells.map((c) => (c as HTMLElement).dataset.number)), ['0', '3', '1'], 'best first');
      // One line per complete trial through one axis per dimension of the space (6 edges) and the objective.
      assert.equal(await page.locator('#chart-parallel svg path').count(), 3);
      assert.equal(await page.locator('#chart-parallel svg .axis').count(), 7);
      assert.ok((await page.locator('#chart-parallel').textContent())!.includes('nor_conv_3x3'), 'categorical axes are labelled with their values');
      // Edge 1 of the three complete trials: nor_conv_3x3 (#0, #3) and avg_pool_3x3 (#1); six edges, each with one row per choice seen.
      const rows = await page.locator('#chart-importance .spread-row text').allTextContents();
      assert.ok(rows.includes('nor_conv_3x3 (n=2)') && rows.includes('avg_pool_3x3 (n=1)'), rows.join(' | '));
      // The Pareto chart's x axis (params, log scale, within one decade) has tick labels.
      const ticks = await page.locator('#chart-pareto svg text[text-anchor="middle"][font-size="11"]').allTextContents();
      assert.ok(ticks.length >= 2, `x tick labels: ${ticks.join(', ')}`);
      await page.locator('#trials-body tr[data-number="0"] .compare-tick').check();
      await page.locator('#trials-body tr[data-number="1"] .compare-tick').check();
      await page.locator('#compare .card svg').nth(1).waitFor({ timeout: 5_000 });
      assert.deepEqual(await page.locator('#compare .card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.number)), ['0', '1']);
      assert.ok((await page.locator('#compare .card').nth(1).textContent())!.includes(ARCHS[1]!));
      await page.locator('#compare-clear').click();
      assert.equal(await page.locator('#compare .card').count(), 0);
    });
  });

  test('the index lists the experiments with their counts by state', async () => {
    await withPage(async (page) => {
      await page.goto(dashboard.url);
      const row = page.locator('#experiments-body tr[data-name="cifar-search"]');
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('.total').textContent(), '4');
      assert.equal(await row.locator('.count-complete').textContent(), '3');
      assert.equal(await row.locator('.count-failed').textContent(), '1');
      assert.equal(await row.locator('.status').textContent(), 'running');
      assert.equal(await row.locator('.best').textContent(), 'accuracy 0.91');
    });
  });

  test('the experiment page shows the best trial, charts and the trials table, and updates live without reload', async () => {
    await withPage(async (page) => {
      await page.goto(dashboard.url);
      await page.locator('a', { hasText: 'cifar-search' }).click();
      await page.waitForURL(/\/experiments\/cifar-search$/);
      await page.locator('#best-value', { hasText: 'accuracy 0.91' }).waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#best-arch').textContent(), ARCHS[0]);
      assert.equal(await page.locator('#best-number').textContent(), '#0');
      assert.equal(await page.locator('#count-complete').textContent(), '3');
      assert.equal(await page.locator('#trials-body tr').count(), 4);
      for (const chart of ['bestSoFar', 'pareto', 'curves']) assert.equal(await page.locator(`#chart-${chart} svg`).count(), 1, chart);
      // Pareto front (red points): #0 (0.91, 1.2M), #3 (0.88, 0.9M) and #1 (0.85, 0.4M) trade accuracy for params; none dominates another.
      assert.equal(await page.locator('#chart-pareto circle[fill="#d62728"]').count(), 3);

      // A marker that a reload would wipe.
      await page.evaluate(() => ((window as unknown as Record<string, number>).__noReload = 1));
      // Generous waits: the page must follow the store without a reload, however busy the machine.
      const number = await addTrial(writer, experimentId, ARCHS[4]!, { accuracy: 0.93, params: 0.1e6 });
      await page.locator('#count-complete', { hasText: '4' }).waitFor({ timeout: 60_000 });
      await page.locator(`#trials-body tr[data-number="${number}"]`).waitFor({ timeout: 60_000 });
      await page.locator('#best-value', { hasText: 'accuracy 0.93' }).waitFor({ timeout: 60_000 });
      assert.equal(await page.locator('#trials-body tr').count(), 5);
      assert.equal(await page.locator('#best-arch').textContent(), ARCHS[4]);
      assert.equal(await page.evaluate(() => (window as unknown as Record<string, number>).__noReload), 1, 'the page was not reloaded');

      // A pending trial appears as pending, and the status follows the store.
      await writer.createTrial(experimentId, { edge_1_0: 'none' }, 'pending-extra');
      await writer.setExperimentStatus(experimentId, 'finished');
      await page.locator('#count-pending', { hasText: '1' }).waitFor({ timeout: 5_000 });
      await page.locator('#status', { hasText: 'finished' }).waitFor({ timeout: 5_000 });
    });
    // Closing the page ends its event stream on the server too.
    const deadline = Date.now() + 5_000;
    while (dashboard.subscriberCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(dashboard.subscriberCount(), 0);
  });

  test('the index follows the store live, and a running trial\'s learning curve appears on the experiment page', async () => {
    await withPage(async (page) => {
      await page.goto(dashboard.url);
      const row = page.locator('#experiments-body tr[data-name="cifar-search"]');
      await row.waitFor({ timeout: 10_000 });
      const before = Number(await row.locator('.total').textContent());
      const sample = nb201.parse('|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|');
      await writer.createTrial(experimentId, sample as never, nb201.hash(sample));
      // The lowest pending trial is claimed (one may be left from an earlier test).
      const trial = (await writer.claimTrial(experimentId, 'live-worker'))!;
      await row.locator('.count-running', { hasText: '1' }).waitFor({ timeout: 5_000 });
      assert.equal(await row.locator('.total').textContent(), String(before + 1));

      await page.locator('a', { hasText: 'cifar-search' }).click();
      await page.locator(`#trials-body tr[data-number="${trial.number}"] .state-running`).waitFor({ timeout: 10_000 });
      const curvePoints = () => page.locator('#chart-curves circle').count();
      const pointsBefore = await curvePoints();
      await writer.reportIntermediate(trial.id, 'val_accuracy', 0, 0.42);
      await writer.reportIntermediate(trial.id, 'val_accuracy', 1, 0.47);
      const deadline = Date.now() + 5_000;
      while ((await curvePoints()) < pointsBefore + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await curvePoints(), pointsBefore + 2, 'two new learning-curve points drawn');
      await writer.finishTrial(trial.id, { state: 'pruned', reason: 'early stop' });
      await page.locator(`#trials-body tr[data-number="${trial.number}"] .state-pruned`).waitFor({ timeout: 5_000 });
    });
  });

  test('strings from the store are shown as text, never run or parsed as HTML', async () => {
    await withPage(async (page) => {
      await page.goto(dashboard.url);
      const link = page.locator('#experiments-body a').nth(1);
      await link.waitFor({ timeout: 10_000 });
      assert.equal(await link.textContent(), HOSTILE_NAME);
      await link.click();
      await page.locator('#best-value', { hasText: 'accuracy 0.5' }).waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#experiment-name').textContent(), HOSTILE_NAME);
      assert.equal(await page.title(), `tsnas: ${HOSTILE_NAME}`);
      assert.equal(await page.locator('#best-arch').textContent(), '{"note":"<b id=\\"injected\\">bold</b>"}');
      assert.equal(await page.locator('#injected').count(), 0, 'no element made from the architecture string');
      assert.equal(await page.locator('img').count(), 0, 'no element made from the name');
      assert.equal(await page.evaluate(() => (window as unknown as Record<string, unknown>).__pwned), undefined);
    });
  });

  test('a weight-sharing experiment shows its phase, curves and the α heatmap of every edge, and follows new epochs live', async () => {
    const ops = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
    const edges = ['edge_1_0', 'edge_2_0', 'edge_2_1', 'edge_3_0', 'edge_3_1', 'edge_3_2'];
    const e = await writer.createExperiment('darts-run', { space: { name: 'nb201' }, strategy: { name: 'darts', options: {} } });
    const epoch = async (n: number) => {
      const weights = Object.fromEntries(edges.map((edge, i) => [edge, ops.map((_, k) => (k === i % 5 ? 0.2 + 0.1 * n : (0.8 - 0.1 * n) / 4))]));
      await writer.recordEpoch(e.id, 'supernet', n, {
        epoch: n, phase: 'search', seconds: 1, lr: 0.02, trainLoss: 2 - n / 4, trainAccuracy: 0.2 * n, validLoss: 2.1 - n / 4, validAccuracy: 0.18 * n,
        weights, operations: Object.fromEntries(edges.map((edge) => [edge, ops])), arch: ARCHS[n]!, skipFraction: 0.1 * n, noneFraction: 0, parameterFreeFraction: 0.1 * n, hessianEigenvalue: 0.1 * n, tau: null,
      });
      await writer.saveStrategyState(e.id, { method: 'darts', phase: 'supernet', epochsDone: n, epochs: 3 }, 0);
    };
    await epoch(1);
    await withPage(async (page) => {
      await page.goto(new URL('experiments/darts-run', dashboard.url).href);
      await page.locator('#ws-status', { hasText: 'darts: supernet, 1/3 supernet epochs' }).waitFor({ timeout: 10_000 });
      // One heatmap per edge, one row per operation, one column per epoch.
      const heatmaps = page.locator('#ws-alpha svg', { hasText: 'α of edge_' });
      assert.equal(await heatmaps.count(), 6);
      assert.equal(await heatmaps.first().locator('rect').count(), 5);
      assert.equal(await page.locator('#ws-cell svg').count(), 1, 'the derived cell is drawn');
      assert.equal(await page.locator('#ws-cell code').textContent(), ARCHS[1]);
      for (const chart of ['accuracy', 'loss', 'eigenvalue', 'skip']) assert.equal(await page.locator(`#ws-${chart} svg`).count(), 1, chart);
      assert.equal(await page.locator('#ws-warnings li').count(), 0);
      await epoch(2);
      await page.locator('#ws-status', { hasText: '2/3 supernet epochs' }).waitFor({ timeout: 5_000 });
      assert.equal(await heatmaps.first().locator('rect').count(), 10);
      assert.equal(await page.locator('#ws-cell code').textContent(), ARCHS[2], 'the drawing follows the newest derived cell');
      // Epoch 3: the skip share reaches 0.3, a collapse warning marked on the eigenvalue and skip charts.
      await epoch(3);
      await page.locator('#ws-warnings li', { hasText: 'collapse warning at epoch 3: skip share 0.3' }).waitFor({ timeout: 5_000 });
      assert.equal(await page.locator('#ws-skip svg .mark').count(), 1);
      assert.equal(await page.locator('#ws-eigenvalue svg .mark').count(), 1);
    });
  });

  test('an unknown experiment gets a 404 page naming it', async () => {
    await withPage(async (page) => {
      const response = await page.goto(new URL('experiments/no-such-run', dashboard.url).href);
      assert.equal(response?.status(), 404);
      assert.match((await page.locator('#missing').textContent())!, /No experiment named 'no-such-run'/);
    });
  });
});
