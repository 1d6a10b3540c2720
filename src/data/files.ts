// Reading data files that may or may not be gzipped.
import { existsSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dataError, TsnasError } from '../errors.js';
import { readFileChecked } from '../util/files.js';

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The contents of a file, gunzipped when it starts with the gzip magic
 * (whatever its name). Missing, unreadable or corrupt files are data errors.
 */
export function readDataFile(path: string): Uint8Array {
  const raw = readFileChecked(path);
  if (!isGzip(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new TsnasError('data', `gzip data is corrupt or truncated (${(e as Error).message})`, { where: path, cause: e });
  }
}

/** The first of the candidate paths that exists as a file, or undefined. */
export function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p) && statSync(p).isFile());
}

/** Throws a data error unless dir is an existing directory. */
export function requireDirectory(dir: string, what: string): void {
  if (!existsSync(dir)) throw dataError(`${what} directory not found`, dir);
  if (!statSync(dir).isDirectory()) throw dataError(`expected the ${what} directory, found a file`, dir);
}
