// A throwaway PostgreSQL server for tests: initdb into a temp dir, start it
// with a unix socket in that dir (no TCP), and remove everything on stop().
// CI runs as root with no server running, and postgres refuses to run as
// root, so the binaries then run as the `postgres` user via setpriv.
// A detached watchdog stops the server if this process dies without stop()
// (e.g. kill -9 of the test runner), so no postgres is ever left behind.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { TsnasError } from '../errors.js';

export interface TestPostgres {
  /** A postgresql:// URL of a database the caller may use freely. */
  readonly url: string;
  /** True when the server was started here (false with TSNAS_PG_URL). */
  readonly owned: boolean;
  /** The temp dir holding data, socket and log, and the postmaster's pid (only when owned). */
  readonly dir?: string;
  readonly pid?: number;
  /** Stops the server and removes its directory (a no-op for TSNAS_PG_URL). */
  stop(): Promise<void>;
  /**
   * Shuts the server down (fast shutdown: open connections are cut), keeping
   * its data, as an administrator restarting it would; startServer() brings
   * it back on the same URL. Only for owned servers.
   */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
}

/** The bin dir of the newest installed PostgreSQL (Debian puts them off PATH). */
export function findPostgresBinDir(): string | null {
  const fromEnv = process.env.TSNAS_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : null;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0]!, 'bin');
  }
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const found = onPath.status === 0 ? onPath.stdout.trim() : '';
  return found ? join(found, '..') : null;
}

function postgresUserIds(): { uid: number; gid: number } | null {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return null;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts a fresh server (about 1-2 s), or, when TSNAS_PG_URL is set, returns
 * that URL and starts nothing. Throws a TsnasError('state') naming what is
 * missing when no PostgreSQL is installed.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.TSNAS_PG_URL;
  if (external) {
    const notOwned = async () => {
      throw new TsnasError('state', 'the server at TSNAS_PG_URL is not this process\'s to stop and start');
    };
    return { url: external, owned: false, stop: async () => {}, stopServer: notOwned, startServer: notOwned };
  }

  const binDir = findPostgresBinDir();
  if (!binDir) {
    throw new TsnasError(
      'state',
      'PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin, TSNAS_PG_BIN or PATH; install Debian package postgresql (scripts/setup.sh does) or set TSNAS_PG_URL',
    );
  }
  const asRoot = process.getuid?.() === 0;
  const postgresIds = asRoot ? postgresUserIds() : null;
  if (asRoot && !postgresIds) {
    throw new TsnasError('state', 'running as root but there is no "postgres" user to run the test server as; set TSNAS_PG_URL instead');
  }

  // /tmp rather than $TMPDIR: the postgres user must be able to reach the
  // dir, and a unix socket path must stay under about 100 characters.
  const dir = mkdtempSync(join(existsSync('/tmp') ? '/tmp' : tmpdir(), 'tsnas-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (postgresIds) chownSync(dir, postgresIds.uid, postgresIds.gid);
  // Every command runs through this prefix so that root hands it to postgres.
  const asServerUser = (command: string[]): string[] =>
    postgresIds ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', ...command] : command;
  const run = (command: string[], what: string): void => {
    const [file, ...args] = asServerUser(command);
    const r = spawnSync(file!, args, { encoding: 'utf8', cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
    if (r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      rmSync(dir, { recursive: true, force: true });
      throw new TsnasError('state', `${what} failed (exit ${r.status}): ${r.stderr || r.stdout}${log ? `\nserver log:\n${log}` : ''}`);
    }
  };

  run([join(binDir, 'initdb'), '-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], 'initdb');
  // The socket lives in our private dir, so any port number is free there;
  // TCP is off so nothing else on the machine can clash with or reach it.
  const port = 20000 + Math.floor(Math.random() * 40000);
  const serverArgs = ['-D', dataDir, '-k', dir, '-p', String(port), '-c', 'listen_addresses=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50', '-c', 'shared_buffers=16MB'];
  // The postmaster is our direct child (setpriv execs, unlike runuser or
  // pg_ctl which fork), so its exit is reaped here and leaves no zombie.
  const [file, ...args] = asServerUser([join(binDir, 'postgres'), ...serverArgs]);
  /** Starts the postmaster and waits until it accepts connections; `exited` resolves when it is gone. */
  const launch = async () => {
    const server = spawn(file!, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail('not ready after 30 s'), 30_000);
      function fail(why: string): void {
        clearTimeout(timer);
        server.kill('SIGQUIT');
        rmSync(dir, { recursive: true, force: true });
        reject(new TsnasError('state', `test PostgreSQL server ${why}; its log:\n${log.slice(-2000)}`));
      }
      server.stderr!.setEncoding('utf8');
      server.stderr!.on('data', (chunk: string) => {
        log = (log + chunk).slice(-8000);
        if (log.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
      server.once('error', (error) => fail(`could not be started (${error.message})`));
    });
    server.removeAllListeners('exit');
    server.removeAllListeners('error');
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    server.unref();
    (server.stderr as unknown as { unref?: () => void }).unref?.();
    return { server, exited };
  };
  let current = await launch();

  // If this process dies without stop() (e.g. kill -9), the watchdog's read
  // hits end-of-file and it shuts the server down (whichever postmaster the
  // pid file names: the server may have been restarted), waiting for the
  // server to remove its pid file. It uses only shell builtins, so killing
  // it on a normal stop orphans nothing.
  const pidFile = shellQuote(join(dataDir, 'postmaster.pid'));
  const watchdog = spawn(
    'sh',
    ['-c', `read _; read pid < ${pidFile} && kill -QUIT "$pid" 2>/dev/null; i=0; while [ -e ${pidFile} ] && [ $i -lt 100000 ]; do i=$((i+1)); done; rm -rf ${shellQuote(dir)}`],
    { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
  );
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();

  let stopped = false;
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    watchdog.kill('SIGKILL');
    current.server.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopNow);
  let running = true;

  // The host parameter (the socket dir) overrides the nominal localhost, for
  // pg and libpq alike; a real host name keeps it a valid WHATWG URL.
  const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  return {
    url,
    owned: true,
    dir,
    get pid() {
      return current.server.pid;
    },
    stop: async () => {
      process.removeListener('exit', stopNow);
      if (stopped) return;
      stopped = true;
      // Referenced again so that this process stays alive to reap both.
      watchdog.ref();
      current.server.ref();
      const watchdogExited = new Promise<void>((resolve) => watchdog.once('exit', () => resolve()));
      watchdog.kill('SIGKILL');
      current.server.kill('SIGQUIT');
      await Promise.all([current.exited, watchdogExited]);
      rmSync(dir, { recursive: true, force: true });
    },
    stopServer: async () => {
      if (stopped || !running) return;
      running = false;
      // SIGINT: fast shutdown (sessions cut, data kept, a clean restart).
      current.server.ref();
      current.server.kill('SIGINT');
      await current.exited;
    },
    startServer: async () => {
      if (stopped || running) return;
      current = await launch();
      running = true;
    },
  };
}

/**
 * For a test file or suite: registers hooks that start one server (or use
 * TSNAS_PG_URL) with an admin connection, and gives each test a fresh schema
 * whose URL selects it through the search_path option.
 */
export function usePostgresForTests(prefix: string): {
  admin(): pg.Client;
  /** The server (to stop and start it: its admin connection is then lost, see reconnectAdmin). */
  server(): TestPostgres;
  /** A new admin connection, after the server was restarted. */
  reconnectAdmin(): Promise<void>;
  freshSchema(): Promise<{ schema: string; url: string; dispose(): Promise<void> }>;
} {
  let server: TestPostgres | undefined;
  let admin: pg.Client | undefined;
  before(async () => {
    server = await startTestPostgres();
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => {});
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await server?.stop();
  });
  let counter = 0;
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  return {
    admin: () => admin!,
    server: () => server!,
    async reconnectAdmin() {
      await admin?.end().catch(() => {});
      admin = new pg.Client({ connectionString: server!.url });
      // A connection cut by a restart must not crash the test process.
      admin.on('error', () => {});
      await admin.connect();
    },
    async freshSchema() {
      const schema = `${prefix}_${runId}_${counter++}`;
      await admin!.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(server!.url);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return { schema, url: url.toString(), dispose: async () => void (await admin!.query(`DROP SCHEMA ${schema} CASCADE`)) };
    },
  };
}
