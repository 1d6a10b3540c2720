// The experiment store: the contract (types.ts), its two backends, and
// openStore(url), which picks the backend from a storage URL:
//   sqlite:path/to/file.db   (relative to the working directory; sqlite::memory: for a throwaway store)
//   postgres://... or postgresql://...
import { dirname, join } from 'node:path';
import { TsnasError } from '../errors.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore, SQLITE_SCHEMA_VERSION } from './sqlite.js';
// Type only: the class is loaded on demand by openStore (import './postgres.js' for the value).
export type { PostgresStore } from './postgres.js';

/** Where experiments go when no --storage is given: one SQLite file under ./runs. */
export const DEFAULT_STORAGE_URL = 'sqlite:runs/tsnas.db';

export type StorageLocation = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/** Parses a storage URL; throws a usage error naming the URL and the accepted forms. */
export function parseStorageUrl(url: string): StorageLocation {
  if (typeof url === 'string') {
    if (url.startsWith('sqlite:')) {
      // sqlite:relative/file.db, sqlite:/abs/file.db, and the URL-like sqlite:///abs/file.db
      let path = url.slice('sqlite:'.length);
      if (path.startsWith('//')) path = path.slice(2);
      if (path.length > 0) return { kind: 'sqlite', path };
    } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
      return { kind: 'postgres', url };
    }
  }
  throw new TsnasError(
    'usage',
    `storage URL must be sqlite:PATH (e.g. ${DEFAULT_STORAGE_URL}), postgres://... or postgresql://..., got ${JSON.stringify(url)}`,
    { where: '--storage' },
  );
}

/**
 * Where files that belong to an experiment go (found networks, reports):
 * beside an SQLite store file, runs/<name> otherwise.
 */
export function experimentFilesDir(url: string, name: string): string {
  const location = parseStorageUrl(url);
  return location.kind === 'sqlite' && location.path !== ':memory:' ? join(dirname(location.path), name) : join('runs', name);
}

/**
 * Opens (creating and migrating as needed) the store at a storage URL. With
 * readOnly (commands that only read: ls, show, report, dashboard), the
 * store must exist and be of this version, and nothing is written to it.
 */
export async function openStore(url: string = DEFAULT_STORAGE_URL, options: { readOnly?: boolean } = {}): Promise<Store> {
  const location = parseStorageUrl(url);
  if (location.kind === 'sqlite') return new SqliteStore(location.path, options);
  // Loaded only when asked for, so SQLite users never load pg.
  const { PostgresStore } = await import('./postgres.js');
  return PostgresStore.open(location.url, options);
}
