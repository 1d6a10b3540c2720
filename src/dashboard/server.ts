// The live dashboard's HTTP server (node:http only). Pages are small HTML
// shells; their script (client.ts) fills them from Server-Sent Events. Each
// event stream is fed by one poller per topic (the index, or one
// experiment), shared by all its subscribers, which reads the store every
// `pollMs` and sends only what changed (an experiment: new or changed trials
// and epochs, see data.ts). Who may connect is checked first (access.ts).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TsnasError } from '../errors.js';
import type { Store } from '../store/types.js';
import { escapeXml } from '../viz/svg.js';
import { allowedHosts, isLoopbackHost, newToken, tokenCookieName, tokenProof } from './access.js';
import { DASHBOARD_CSS, DASHBOARD_JS } from './client.js';
import { experimentSnapshot, ExperimentTracker, listExperimentRows, trialDetail, ViewDiffer, type ExperimentView, type SnapshotOptions } from './data.js';

export interface DashboardOptions {
  store: Store;
  /** 0 picks any free port. */
  port?: number;
  /** 127.0.0.1 by default; any other than loopback requires a token. */
  host?: string;
  /**
   * Required on every request (see access.ts). Generated when the host is
   * not loopback and none is given; a token given for loopback is enforced too.
   */
  token?: string;
  /** How often a watched topic re-reads the store (ms). */
  pollMs?: number;
  /** Comment lines sent this often keep idle streams open through proxies (ms). */
  keepAliveMs?: number;
  snapshot?: SnapshotOptions;
  /** Where poll errors go (they do not stop the server). */
  log?: (message: string) => void;
}

export interface Dashboard {
  /** e.g. http://127.0.0.1:8090/, with ?token=... when a token is required. */
  readonly url: string;
  /** The token requests must carry; null when none is required (loopback). */
  readonly token: string | null;
  readonly port: number;
  /** Open event streams (for tests and diagnostics). */
  subscriberCount(): number;
  /** Ends every stream, stops the pollers and the server. The store stays open (the caller owns it). */
  close(): Promise<void>;
}

interface Message {
  event: string;
  data: string;
}

/**
 * What a topic follows. refresh() re-reads the store and returns what
 * subscribers holding the previous state need (null when nothing changed);
 * full() is the whole current state, for a newcomer. An optional cheap
 * fingerprint lets a poll skip refresh() when nothing moved (a large
 * experiment costs far more to read than its counts).
 */
interface TopicSource {
  refresh(): Promise<Message | null>;
  full(): Message;
  fingerprint?(): Promise<string>;
}

/**
 * One SSE topic: its source and the responses listening to it. Reads and
 * sends run one at a time (`chain`), so a newcomer's full state and the
 * updates after it follow each other in order.
 */
class Topic {
  readonly subscribers = new Set<ServerResponse>();
  private read = false;
  private lastFingerprint: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The read or send in progress, so that close() can wait for it before the store is closed. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: TopicSource,
    private readonly pollMs: number,
    private readonly log: (message: string) => void,
    private readonly onEmpty: () => void,
  ) {}

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(job);
    return this.chain;
  }

  /** Reads the source; the fingerprint is taken before, so a change in between is seen by the next poll rather than lost. */
  private async refresh(): Promise<Message | null> {
    const fingerprint = await this.source.fingerprint?.();
    const update = await this.source.refresh();
    this.lastFingerprint = fingerprint;
    this.read = true;
    return update;
  }

  add(res: ServerResponse): Promise<void> {
    res.on('close', () => {
      this.subscribers.delete(res);
      if (this.subscribers.size === 0) void this.stop();
    });
    return this.enqueue(async () => {
      if (res.writableEnded || res.destroyed) return;
      if (!this.read) await this.refresh();
      write(res, this.source.full());
      this.subscribers.add(res);
      if (this.timer === undefined && !this.stopped) this.schedule();
    });
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.enqueue(() => this.poll()), this.pollMs);
  }

  private async poll(): Promise<void> {
    try {
      const fingerprint = await this.source.fingerprint?.();
      if (fingerprint === undefined || fingerprint !== this.lastFingerprint) {
        const update = await this.refresh();
        if (update) for (const res of this.subscribers) write(res, update);
      }
    } catch (error) {
      this.log(`dashboard: reading the store failed (will retry): ${(error as Error).message}`);
    }
    if (!this.stopped) this.schedule();
  }

  /** Stops polling; resolves once a read in progress has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.onEmpty();
    return this.chain;
  }
}

function write(res: ServerResponse, { event, data }: Message): void {
  // A viewer that left (or a closing server) gets nothing: writing after end would raise.
  if (res.writableEnded || res.destroyed) return;
  // JSON.stringify output has no raw newlines, so one data: line carries it.
  res.write(`event: ${event}\ndata: ${data}\n\n`);
}

/**
 * The compiled modules the page's script imports (the charts it draws from
 * the rows it holds), served from next to this file, by their path under
 * /static/. They import nothing from Node (see src/report/charts.ts).
 */
const BROWSER_MODULES = new Map(['report/charts.js', 'viz/svg.js'].map((path) => [path, readFileSync(new URL(`../${path}`, import.meta.url), 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '\n')]));

const SECURITY_HEADERS = {
  // No inline scripts and nothing from elsewhere: even a string that slipped
  // past escaping could not run.
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:",
  'x-content-type-options': 'nosniff',
  // The page's URL may carry the token: never pass it on.
  'referrer-policy': 'no-referrer',
};

function page(title: string, bodyAttributes: string, content: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<link rel="stylesheet" href="/static/dashboard.css"></head>
<body ${bodyAttributes}>
${content}
<script type="module" src="/static/dashboard.js"></script>
</body></html>
`;
}

const STATES = ['pending', 'running', 'complete', 'failed', 'pruned'];

function indexPage(): string {
  return page('tsnas dashboard', 'data-page="index"', `<h1>tsnas dashboard</h1>
<p class="muted">Experiments of this store, updated live (<span id="live">connecting...</span>).</p>
<table id="experiments"><thead><tr><th>experiment</th><th>status</th><th>trials</th>${STATES.map((s) => `<th>${s}</th>`).join('')}<th>best</th><th>created</th></tr></thead>
<tbody id="experiments-body"></tbody></table>
<p id="experiments-empty" class="muted"></p>`);
}

function experimentPage(name: string): string {
  const counts = STATES.map((s) => `<span>${s} <b id="count-${s}">-</b></span>`).join('');
  return page(`tsnas: ${name}`, `data-page="experiment" data-name="${escapeXml(name)}"`, `<p><a href="/">all experiments</a></p>
<h1 id="experiment-name">${escapeXml(name)}</h1>
<p>status <b id="status">-</b>; objectives <span id="objectives">-</span>; <span id="live">connecting...</span> <span id="updated" class="muted"></span></p>
<p class="counts"><span>trials <b id="total">-</b></span>${counts}</p>
<h2>Best trial</h2>
<p><b id="best-number">-</b> <span id="best-value"></span> <span id="best-metrics" class="muted"></span></p>
<p><code id="best-arch"></code></p>
<div id="weight-sharing" hidden><h2>Supernet</h2><p id="ws-status"></p>
<ul id="ws-warnings" class="warnings"></ul>
<div class="charts"><div id="ws-cell"></div><div id="ws-accuracy"></div><div id="ws-loss"></div><div id="ws-eigenvalue"></div><div id="ws-skip"></div></div>
<h3>Architecture weights (softmax of α) per edge, over the epochs</h3><div id="ws-alpha" class="charts"></div></div>
<div id="cells-box" hidden><h2>Best cells</h2><div id="cells" class="charts"></div></div>
<h2>Charts</h2>
<div class="charts"><div id="chart-bestSoFar"></div><div id="chart-pareto"></div><div id="chart-curves"></div></div>
<div id="space-box" hidden><h2>Over the space</h2>
<div class="charts"><div id="chart-parallel"></div><div id="chart-importance"></div></div></div>
<div id="compare-box" hidden><h2>Compare</h2><p class="muted">Trials ticked in the table, side by side. <button id="compare-clear" type="button">clear</button></p><div id="compare" class="compare"></div></div>
<h2>Trials</h2>
<p class="muted"><label>compare trial # <input id="compare-add" type="number" min="0" step="1"></label> <span id="trials-note"></span></p>
<table id="trials"><thead><tr id="trials-head"></tr></thead><tbody id="trials-body"></tbody></table>`);
}

function notFoundPage(what: string): string {
  return page('tsnas: not found', 'data-page="missing"', `<p><a href="/">all experiments</a></p>
<h1>Not found</h1><p id="missing">${escapeXml(what)}</p>`);
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(body);
}
const sendJson = (res: ServerResponse, status: number, value: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
const sendHtml = (res: ServerResponse, status: number, html: string) => send(res, status, 'text/html; charset=utf-8', html);

/** Splits /a/b%2Fc into ['a', 'b/c']; null when a segment is not valid percent-encoding. */
function segments(pathname: string): string[] | null {
  try {
    return pathname.split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}

/** Starts the dashboard; resolves once it listens. Throws TsnasError('usage') naming --port when it cannot. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { store } = options;
  const pollMs = options.pollMs ?? 700;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const topics = new Map<string, Topic>();
  const streams = new Set<ServerResponse>();

  // The index is small: it is re-read whole and sent whole when it changed.
  const indexSource = (): TopicSource => {
    let last: Message = { event: 'experiments', data: '' };
    return {
      async refresh() {
        const data = JSON.stringify({ experiments: await listExperimentRows(store) });
        if (data === last.data) return null;
        last = { event: 'experiments', data };
        return last;
      },
      full: () => last,
    };
  };
  // An experiment is fingerprinted first, then read incrementally; updates carry what changed.
  const experimentSource = (name: string): TopicSource => {
    const tracker = new ExperimentTracker(store, name, options.snapshot);
    let differ = new ViewDiffer();
    let followed: number | null = null;
    let view: ExperimentView | null = null;
    let full: Message | null = null;
    const missing: Message = { event: 'missing', data: JSON.stringify({ error: `no experiment named '${name}'` }) };
    return {
      async refresh() {
        const next = await tracker.refresh();
        const wasMissing = view === null;
        view = next;
        full = null;
        if (next === null) return wasMissing ? null : missing;
        if (tracker.experimentId !== followed) {
          // A first read, or the experiment was deleted and created again: everyone starts over.
          followed = tracker.experimentId;
          differ = new ViewDiffer();
          differ.diff(next);
          return this.full();
        }
        const delta = differ.diff(next);
        return delta && { event: 'update', data: JSON.stringify(delta) };
      },
      full() {
        if (view === null) return missing;
        full ??= { event: 'snapshot', data: JSON.stringify(view) };
        return full;
      },
      fingerprint: () => tracker.fingerprint(),
    };
  };

  async function openStream(req: IncomingMessage, res: ServerResponse, key: string, source: TopicSource): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY_HEADERS });
    res.write(`retry: 2000\n\n`);
    streams.add(res);
    const keepAlive = setInterval(() => {
      if (!res.writableEnded && !res.destroyed) res.write(': keep-alive\n\n');
    }, keepAliveMs);
    req.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(res);
    });
    let topic = topics.get(key);
    if (!topic) {
      topic = new Topic(source, pollMs, log, () => topics.delete(key));
      topics.set(key, topic);
    }
    await topic.add(res);
  }

  const token = options.token ?? (isLoopbackHost(options.host ?? '127.0.0.1') ? null : newToken());
  let hosts = new Set<string>();
  let port = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before anything else: a page from another origin that rebinds its own
    // name to this address sends that name as Host.
    const host = (req.headers.host ?? '').toLowerCase();
    if (!hosts.has(host)) return send(res, 403, 'text/plain; charset=utf-8', `Host ${JSON.stringify(req.headers.host ?? '')} is not the address this dashboard serves\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', `method ${req.method} not allowed; the dashboard is read-only\n`, { allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (token !== null) {
      const proof = tokenProof(req, url, token, port);
      if (proof === null) return send(res, 401, 'text/plain; charset=utf-8', 'this dashboard needs its token: open the URL it printed (with ?token=...), or send Authorization: Bearer TOKEN\n');
      // The page's own requests (script, modules, event streams) then carry the cookie instead.
      if (proof === 'query') res.setHeader('set-cookie', `${tokenCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`);
    }
    const parts = segments(url.pathname);
    if (parts === null) return sendHtml(res, 400, notFoundPage(`malformed percent-encoding in path ${url.pathname}`));
    const [first, second, third, fourth] = parts;

    if (parts.length === 0) return sendHtml(res, 200, indexPage());
    if (first === 'static') {
      const path = parts.slice(1).join('/');
      if (path === 'dashboard.js') return send(res, 200, 'text/javascript; charset=utf-8', DASHBOARD_JS);
      if (path === 'dashboard.css') return send(res, 200, 'text/css; charset=utf-8', DASHBOARD_CSS);
      const module = BROWSER_MODULES.get(path);
      if (module !== undefined) return send(res, 200, 'text/javascript; charset=utf-8', module);
    }
    if (first === 'experiments' && parts.length === 2) {
      const experiment = await store.getExperiment(second!);
      if (!experiment) return sendHtml(res, 404, notFoundPage(`No experiment named '${second}' in this store.`));
      return sendHtml(res, 200, experimentPage(second!));
    }
    if (first === 'api') {
      if (second === 'events' && parts.length === 2) return openStream(req, res, '', indexSource());
      if (second === 'experiments' && parts.length === 2) return sendJson(res, 200, { experiments: await listExperimentRows(store) });
      if (second === 'experiments' && parts.length === 5 && fourth === 'trials') {
        const number = Number(parts[4]);
        const detail = /^\d{1,9}$/.test(parts[4]!) ? await trialDetail(store, third!, number) : null;
        return detail ? sendJson(res, 200, detail) : sendJson(res, 404, { error: `no trial ${parts[4]} in experiment '${third}'` });
      }
      if (second === 'experiments' && (parts.length === 3 || (parts.length === 4 && fourth === 'events'))) {
        const name = third!;
        if (parts.length === 3) {
          const snapshot = await experimentSnapshot(store, name, options.snapshot);
          return snapshot ? sendJson(res, 200, snapshot) : sendJson(res, 404, { error: `no experiment named '${name}'` });
        }
        if (!(await store.getExperiment(name))) return sendJson(res, 404, { error: `no experiment named '${name}'` });
        return openStream(req, res, `experiment:${name}`, experimentSource(name));
      }
      return sendJson(res, 404, { error: `no API endpoint ${url.pathname}` });
    }
    return sendHtml(res, 404, notFoundPage(`No page at ${url.pathname}.`));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`dashboard: ${req.method} ${req.url} failed: ${(error as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const port = options.port ?? 8090;
      if (error.code === 'EADDRINUSE') reject(new TsnasError('usage', `port ${port} is already in use; pick another or 0 for any free port`, { where: '--port' }));
      else if (error.code === 'EACCES') reject(new TsnasError('usage', `no permission to listen on port ${port}`, { where: '--port' }));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new TsnasError('usage', `cannot listen on host ${options.host ?? '127.0.0.1'}: ${error.code}`, { where: '--host' }));
      else reject(error);
    });
    server.listen(options.port ?? 8090, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  port = address.port;
  hosts = allowedHosts(options.host ?? '127.0.0.1', port);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/${token === null ? '' : `?token=${token}`}`;

  return {
    url,
    token,
    port: address.port,
    subscriberCount: () => streams.size,
    async close() {
      await Promise.all([...topics.values()].map((topic) => topic.stop()));
      topics.clear();
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
