// tsnas dashboard [--storage URL] [--port P] [--host H] [--json]: a live web
// view of the store's experiments, served until Ctrl-C (exit 130).
import { TsnasError } from '../../errors.js';
import { isLoopbackHost } from '../../dashboard/access.js';
import { startDashboard } from '../../dashboard/server.js';
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { defineCommand } from '../command.js';
import { emitJson, log, stopOnSigint } from '../output.js';

/** Opens an existing store; every failure is a usage error naming --storage (a viewer never creates a store). */
async function openExistingStore(url: string): Promise<Store> {
  try {
    return await openStore(url, { readOnly: true });
  } catch (error) {
    if (error instanceof TsnasError && error.where === '--storage') throw error;
    throw new TsnasError('usage', `cannot open ${url.startsWith('sqlite:') ? url : 'the PostgreSQL store'}: ${(error as Error).message}`, { where: '--storage', cause: error });
  }
}

export const dashboardCommand = defineCommand({
  name: 'dashboard',
  summary: 'serve a live web dashboard of the experiments in a store (until Ctrl-C)',
  flags: {
    storage: { type: 'string', help: 'sqlite:PATH or postgres://...', default: DEFAULT_STORAGE_URL },
    port: { type: 'int', help: 'TCP port (0 = any free port)', default: 8090, min: 0 },
    host: { type: 'string', help: 'address to listen on (0.0.0.0 to share it on the network: then a token is required)', default: '127.0.0.1' },
    token: { type: 'string', help: 'the token every request must carry (default beyond loopback: a random one, printed in the URL)' },
    poll: { type: 'int', help: 'milliseconds between store reads of a watched page', default: 700, min: 50 },
    json: { type: 'boolean', help: 'print {"url": ...} as the last line of stdout once listening' },
  },
  async run({ flags }) {
    if (flags.port > 65535) throw new TsnasError('usage', `expected a port from 0 to 65535, got ${flags.port}`, { where: '--port' });
    const store = await openExistingStore(flags.storage);
    try {
      const token = flags.token;
      if (token !== undefined && !/^[A-Za-z0-9_.~-]{16,256}$/.test(token)) {
        throw new TsnasError('usage', 'a token must be 16 to 256 characters of letters, digits and - _ . ~ (it goes in a URL)', { where: '--token' });
      }
      const host = flags.host;
      const dashboard = await startDashboard({ store, port: flags.port, host, pollMs: flags.poll, ...(token !== undefined ? { token } : {}) });
      if (!isLoopbackHost(host)) {
        log(`tsnas dashboard: WARNING: listening on ${host}, beyond this machine: anyone who can reach the port and has the token sees every experiment in the store; the traffic is plain HTTP (not encrypted), so share it only on a network you trust`);
      }
      const stop = stopOnSigint('tsnas dashboard: stopping');
      try {
        log(`tsnas dashboard: serving ${dashboard.url} (Ctrl-C to stop)`);
        if (flags.json) emitJson({ url: dashboard.url });
        await new Promise<void>((done) => stop.signal.addEventListener('abort', () => done(), { once: true }));
      } finally {
        stop.release();
        await dashboard.close();
      }
      return 130;
    } finally {
      await store.close();
    }
  },
});
