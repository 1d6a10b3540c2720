// The dashboard in chromium over a temporary SQLite store of 5,000
// synthetic NAS-Bench-201 trials, served with a token: the token is
// enforced in the browser, the page draws everything at that size, and a
// new trial arrives live as an update (not a second snapshot).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { getSpace } from '../kits/index.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { Rng } from '../util/random.js';
import { startDashboard, type Dashboard } from './server.js';

const CHROMIUM = '/usr/bin/chromium';
const TRIALS = 5000;
const TOKEN = 'large-test-token-0123456789';
const nb201 = getSpace('nb201', {});

/** A complete trial of a fresh random architecture; accuracy and params grow with its convolutions. */
async function addRandomTrial(store: Store, experimentId: number, rng: Rng): Promise<number> {
  for (;;) {
    const sample = nb201.sample(rng);
    const { trial, created } = await store.createTrial(experimentId, sample as never, nb201.hash(sample));
    if (!created) continue;
    const convs = Object.values(sample).filter((op) => String(op).includes('conv')).length;
    await store.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: 0.5 + 0.06 * convs + 0.05 * rng.next(), params: 1e5 * (1 + convs) * (1 + rng.next()) } });
    return trial.number;
  }
}

describe('dashboard with 5,000 trials and a token, in chromium', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (install Debian package chromium)` }, () => {
  let dir: string;
  let store: Store;
  let dashboard: Dashboard;
  let browser: Browser;
  let experimentId: number;
  const rng = new Rng(5);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsnas-dashboard-large-'));
    store = new SqliteStore(join(dir, 'store.db'));
    const e = await store.createExperiment('big', { space: { name: 'nb201' }, objectives: ['accuracy', 'params'] });
    experimentId = e.id;
    for (let i = 0; i < TRIALS; i++) await addRandomTrial(store, e.id, rng);
    dashboard = await startDashboard({ store, port: 0, pollMs: 200, token: TOKEN, log: () => {} });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('without the token the browser gets 401 and nothing of the store; with the printed URL every view draws and follows a new trial', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    let snapshots = 0;
    let updates = 0;
    // Count the events the page receives (EventSource is wrapped before the page's script runs).
    await page.exposeFunction('__countEvent', (type: string) => (type === 'snapshot' ? snapshots++ : type === 'update' ? updates++ : 0));
    await page.addInitScript({
      content: `{
        const Original = window.EventSource;
        window.EventSource = class extends Original {
          addEventListener(type, listener, options) {
            super.addEventListener(type, (ev) => { window.__countEvent(type); listener(ev); }, options);
          }
        };
      }`,
    });
    try {
      const base = new URL(dashboard.url);
      const refused = await page.goto(new URL('experiments/big', base.origin).href);
      assert.equal(refused?.status(), 401);
      assert.doesNotMatch((await page.content()), /nor_conv|accuracy/);

      await page.goto(dashboard.url);
      const row = page.locator('#experiments-body tr[data-name="big"]');
      await row.waitFor({ timeout: 60_000 });
      assert.equal(await row.locator('.total').textContent(), String(TRIALS));
      // The link carries no token: the cookie set by the first page lets the next page and its event stream in.
      await page.locator('a', { hasText: 'big' }).click();
      await page.locator('#total', { hasText: String(TRIALS) }).waitFor({ timeout: 60_000 });
      assert.equal(await page.locator('#trials-body tr').count(), 200, 'the table keeps the 200 most recent');
      assert.equal(await page.locator('#chart-parallel svg path').count(), TRIALS, 'one line per trial');
      assert.equal(await page.locator('#chart-pareto svg circle').count() >= TRIALS, true);
      assert.equal(await page.locator('#cells > .cell svg').count(), 3);
      assert.ok((await page.locator('#chart-importance .spread-row').count()) >= 6 * 4, 'choices of every edge');

      const number = await addRandomTrial(store, experimentId, rng);
      // Generous bounds: a busy machine slows the read and the redraw, which is not what this checks.
      await page.locator('#total', { hasText: String(TRIALS + 1) }).waitFor({ timeout: 30_000 });
      await page.locator(`#trials-body tr[data-number="${number}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await page.locator('#chart-parallel svg path').count(), TRIALS + 1);
      assert.equal(snapshots, 1, 'one snapshot when the stream opened');
      assert.ok(updates >= 1, 'the new trial came as an update');
      assert.deepEqual(errors, [], 'no script errors in the page');
    } finally {
      await context.close();
    }
  });
});
