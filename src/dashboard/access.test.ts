// Who may talk to the dashboard, checked with plain HTTP requests: Host
// headers that do not name the served address are refused (DNS rebinding),
// and beyond loopback a token is needed on pages, JSON and event streams.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { allowedHosts, isLoopbackHost } from './access.js';
import { startDashboard } from './server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET path from 127.0.0.1:port with exactly these headers (host '' sends none); an event stream is cut after its first event. */
function get(port: number, path: string, headers: Record<string, string>): Promise<Reply> {
  const noHost = headers['host'] === '';
  if (noHost) delete headers['host'];
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, method: 'GET', setHost: !noHost }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (res.headers['content-type']?.startsWith('text/event-stream') && body.includes('data: ')) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode!, headers: res.headers, body });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard access', () => {
  let store: Store;
  before(async () => {
    store = new SqliteStore(':memory:');
    const e = await store.createExperiment('run-a', {});
    const { trial } = await store.createTrial(e.id, { x: 1 }, 'x1');
    await store.finishTrial(trial.id, { state: 'complete', metrics: { accuracy: 0.7 } });
  });
  after(() => store.close());

  test('loopback: localhost, 127.0.0.1 and [::1] with the port are served; any other Host is 403 on every path', async () => {
    const dashboard = await startDashboard({ store, port: 0, log: () => {} });
    try {
      assert.equal(dashboard.token, null, 'no token on loopback');
      assert.doesNotMatch(dashboard.url, /token/);
      const port = dashboard.port;
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
        assert.equal((await get(port, '/api/experiments', { host })).status, 200, host);
      }
      for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, 'localhost', `localhost.evil.example:${port}`, '']) {
        for (const path of ['/', '/api/experiments', '/api/events', '/experiments/run-a', '/static/dashboard.js']) {
          const reply = await get(port, path, { host });
          if (host === '') assert.equal(reply.status === 403 || reply.status === 400, true, `${path} without Host: ${reply.status}`);
          if (host === '') continue;
          assert.equal(reply.status, 403, `${path} with Host ${host}`);
          assert.doesNotMatch(reply.body, /run-a/, 'nothing of the store in the refusal');
        }
      }
    } finally {
      await dashboard.close();
    }
  });

  test('allowed hosts: a specific address allows only itself; loopback names are recognised', () => {
    assert.deepEqual([...allowedHosts('192.0.2.5', 8090)], ['192.0.2.5:8090']);
    assert.deepEqual([...allowedHosts('2001:db8::1', 8090)], ['[2001:db8::1]:8090']);
    assert.ok(allowedHosts('127.0.0.1', 80).has('localhost'), 'the default port may be left out');
    assert.ok(allowedHosts('0.0.0.0', 8090).has('127.0.0.1:8090'));
    assert.deepEqual(['127.0.0.1', '127.0.1.1', '::1', '[::1]', 'localhost', '0.0.0.0', '::', '10.0.0.1'].map(isLoopbackHost), [true, true, true, true, true, false, false, false]);
  });

  test('beyond loopback: a token is generated and required on pages, JSON and event streams (query, header or the cookie the page sets)', async () => {
    const dashboard = await startDashboard({ store, port: 0, host: '0.0.0.0', log: () => {} });
    try {
      const token = dashboard.token!;
      assert.match(token, /^[A-Za-z0-9_-]{32}$/);
      assert.ok(dashboard.url.endsWith(`/?token=${token}`), dashboard.url);
      const port = dashboard.port;
      const host = `127.0.0.1:${port}`;
      for (const path of ['/', '/api/experiments', '/api/events', '/api/experiments/run-a', '/api/experiments/run-a/events', '/static/dashboard.js']) {
        const missing = await get(port, path, { host });
        assert.equal(missing.status, 401, `${path} without a token`);
        assert.doesNotMatch(missing.body, /run-a/);
        const sep = path.includes('?') ? '&' : '?';
        assert.equal((await get(port, `${path}${sep}token=wrong-${token.slice(6)}`, { host })).status, 401, `${path} with a wrong token`);
        assert.equal((await get(port, path, { host, authorization: `Bearer ${token}x` })).status, 401, `${path} with a wrong header`);
        assert.equal((await get(port, path, { host, cookie: `tsnas-dashboard-${port}=nope` })).status, 401, `${path} with a wrong cookie`);
        const byQuery = await get(port, `${path}${sep}token=${token}`, { host });
        assert.equal(byQuery.status, 200, `${path} with the token in the query`);
        assert.equal((await get(port, path, { host, authorization: `Bearer ${token}` })).status, 200, `${path} with the token in a header`);
      }
      const events = await get(port, `/api/events?token=${token}`, { host });
      assert.match(events.body, /event: experiments\ndata: .*run-a/, 'the stream sends the index');
      // The page sets the cookie, which then lets its script and event streams in.
      const pageReply = await get(port, `/?token=${token}`, { host });
      const cookie = String(pageReply.headers['set-cookie']).split(';')[0]!;
      assert.equal(cookie, `tsnas-dashboard-${port}=${token}`);
      assert.match(String(pageReply.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
      assert.equal((await get(port, '/api/experiments/run-a/events', { host, cookie })).status, 200);
      // The Host check comes first, token or not.
      assert.equal((await get(port, `/api/experiments?token=${token}`, { host: `evil.example:${port}` })).status, 403);
    } finally {
      await dashboard.close();
    }
  });

  test('a token given on loopback is enforced too', async () => {
    const dashboard = await startDashboard({ store, port: 0, token: 'a-given-token-of-some-length', log: () => {} });
    try {
      assert.equal(dashboard.token, 'a-given-token-of-some-length');
      const host = `localhost:${dashboard.port}`;
      assert.equal((await get(dashboard.port, '/api/experiments', { host })).status, 401);
      assert.equal((await get(dashboard.port, '/api/experiments?token=a-given-token-of-some-length', { host })).status, 200);
    } finally {
      await dashboard.close();
    }
  });
});
