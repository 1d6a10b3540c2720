// Reading input files and writing output files with errors that name them.
// Outputs go through a temporary file in the same directory and a rename,
// so a crash or a kill never leaves half a model or report behind. A file
// the user names goes into an existing directory: tsnas creates no
// directories for it (a typo in a path is then an error, not a new tree).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TsnasError, dataError, usageError } from '../errors.js';

/** The whole file; a missing file, a directory or an unreadable file is a data error naming the path. */
export function readFileChecked(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'expected a file, found a directory' : `cannot read: ${(e as Error).message}`;
    throw new TsnasError('data', why, { where: path, cause: e });
  }
}

/**
 * Throws a usage error naming `where` unless a file can be written at path:
 * its directory exists and path is not itself a directory. Commands call it
 * before their work, so a mistyped output path fails at once.
 */
export function checkOutputFile(path: string, where: string): void {
  const dir = dirname(path);
  const dirStat = statOrUndefined(dir, where);
  if (!dirStat) throw usageError(`directory ${dir} does not exist (create it first)`, where);
  if (!dirStat.isDirectory()) throw usageError(`${dir} is not a directory`, where);
  if (statOrUndefined(path, where)?.isDirectory()) {
    throw usageError(`${where === path ? '' : `${path} `}is a directory; expected a file name`, where);
  }
}

/** The file's status; undefined when it or a directory on its way is missing (ENOTDIR: a file in the middle of the path). */
function statOrUndefined(path: string, where: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw usageError(`cannot look at ${path}: ${(e as Error).message}`, where);
  }
}

/**
 * Writes data to path atomically: a temporary file next to it, flushed,
 * then renamed over path. On failure the temporary file is removed and the
 * error names `where` (default: the path).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, where = path): void {
  checkOutputFile(path, where);
  // A device or pipe (/dev/null, /dev/stdout, a FIFO) is written in place: renaming over it would replace it by a file.
  const existing = statOrUndefined(path, where);
  if (existing && !existing.isFile()) {
    try {
      writeFileSync(path, data);
    } catch (e) {
      throw dataError(`cannot write${where === path ? '' : ` ${path}`}: ${(e as Error).message}`, where);
    }
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    throw dataError(`cannot write${where === path ? '' : ` ${path}`}: ${(e as Error).message}`, where);
  }
}
