// `tsnas dashboard` as a process: prints its URL (and {"url"} with --json),
// serves the store, exits 130 on Ctrl-C without a stack trace, and exits 2
// naming the flag for a bad --storage or --port.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { SqliteStore } from '../store/sqlite.js';

const BIN = fileURLToPath(new URL('../../bin/tsnas.js', import.meta.url));

describe('tsnas dashboard (process)', () => {
  let dir: string;
  let storage: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsnas-dashboard-cli-'));
    storage = `sqlite:${join(dir, 'store.db')}`;
    const store = new SqliteStore(join(dir, 'store.db'));
    const e = await store.createExperiment('cli-run', {});
    const { trial } = await store.createTrial(e.id, { x: 1 }, 'x1');
    await store.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: 0.7 } });
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves on a free port, prints the URL, and Ctrl-C exits 130 cleanly', async () => {
    const child = spawn(process.execPath, [BIN, 'dashboard', '--storage', storage, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!stdout.includes('\n') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const { url } = JSON.parse(stdout.trim().split('\n').pop()!) as { url: string };
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.ok(stderr.includes(url), `stderr names the URL: ${stderr}`);
      const list = await (await fetch(new URL('api/experiments', url))).json();
      assert.equal(list.experiments[0].name, 'cli-run');
      assert.equal(list.experiments[0].counts.complete, 1);
      child.kill('SIGINT');
      assert.equal(await exited, 130);
      assert.doesNotMatch(stderr, /\bat .*\.js:\d+/, 'no stack trace');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('a bad --storage or a busy --port exits 2 naming the flag', async () => {
    const missing = spawnSync(process.execPath, [BIN, 'dashboard', '--storage', `sqlite:${join(dir, 'absent.db')}`, '--port', '0'], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--storage: no tsnas store at .*absent\.db/);
    const malformed = spawnSync(process.execPath, [BIN, 'dashboard', '--storage', 'mysql://x'], { encoding: 'utf8' });
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /--storage: storage URL must be/);

    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const busy = spawnSync(process.execPath, [BIN, 'dashboard', '--storage', storage, '--port', String(port)], { encoding: 'utf8' });
      assert.equal(busy.status, 2);
      assert.match(busy.stderr, new RegExp(`--port: port ${port} is already in use`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
