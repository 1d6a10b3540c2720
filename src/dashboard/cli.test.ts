// `tsnas dashboard` as a process: prints its URL (and {"url"} with --json),
// serves the store, exits 130 on Ctrl-C without a stack trace, and exits 2
// naming the flag for a bad --storage or --port.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteStore } from '../store/sqlite.js';
import { lastJson, runTsnas, startTsnas } from '../testing/cli.js';

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
    const server = startTsnas(['dashboard', '--storage', storage, '--port', '0', '--json']);
    const child = server.child;
    try {
      const deadline = Date.now() + 20_000;
      while (!server.stdout().includes('\n') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const { url } = lastJson(server.stdout()) as { url: string };
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.ok(server.stderr().includes(url), `stderr names the URL: ${server.stderr()}`);
      const list = await (await fetch(new URL('api/experiments', url))).json();
      assert.equal(list.experiments[0].name, 'cli-run');
      assert.equal(list.experiments[0].counts.complete, 1);
      child.kill('SIGINT');
      assert.equal((await server.exited).code, 130);
      assert.doesNotMatch(server.stderr(), /\bat .*\.js:\d+/, 'no stack trace');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('--host 0.0.0.0 prints a warning and a URL with a fresh token, which is then required; --token gives it', async () => {
    for (const given of [undefined, 'my-chosen-token-1234']) {
      const server = startTsnas(['dashboard', '--storage', storage, '--port', '0', '--host', '0.0.0.0', '--json', ...(given ? ['--token', given] : [])]);
      const child = server.child;
      try {
        const deadline = Date.now() + 20_000;
        while (!server.stdout().includes('\n') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
        const { url } = lastJson(server.stdout()) as { url: string };
        const token = new URL(url).searchParams.get('token');
        if (given) assert.equal(token, given);
        else assert.match(token ?? '', /^[A-Za-z0-9_-]{32}$/);
        assert.match(server.stderr(), /WARNING: listening on 0\.0\.0\.0/);
        const port = new URL(url).port;
        assert.equal((await fetch(`http://127.0.0.1:${port}/api/experiments`)).status, 401);
        const list = await (await fetch(`http://127.0.0.1:${port}/api/experiments?token=${token}`)).json();
        assert.equal(list.experiments[0].name, 'cli-run');
        child.kill('SIGINT');
        assert.equal((await server.exited).code, 130);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
    const short = runTsnas(['dashboard', '--storage', storage, '--port', '0', '--token', 'short']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--token: a token must be 16 to 256 characters/);
  });

  test('a bad --storage or a busy --port exits 2 naming the flag', async () => {
    const missing = runTsnas(['dashboard', '--storage', `sqlite:${join(dir, 'absent.db')}`, '--port', '0']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--storage: no tsnas store at .*absent\.db/);
    const malformed = runTsnas(['dashboard', '--storage', 'mysql://x']);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /--storage: storage URL must be/);

    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const busy = runTsnas(['dashboard', '--storage', storage, '--port', String(port)]);
      assert.equal(busy.code, 2);
      assert.match(busy.stderr, new RegExp(`--port: port ${port} is already in use`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
