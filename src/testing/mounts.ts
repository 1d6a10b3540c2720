// File systems for tests of refused writes: a small tmpfs (a disk that
// fills up) and a read-only bind mount (a store nobody, root included, may
// write). Both need mount(8) and the right to mount (root in CI); tests skip
// with mountRefusal() as the reason where that is missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function mount(args: string[]): string | null {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  if (r.error) return `mount(8) could not be run: ${r.error.message}`;
  return r.status === 0 ? null : `mount ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`;
}

let refusal: string | null | undefined;

/** Why this process may not mount file systems, or null when it may (checked once, with a 64 KiB tmpfs). */
export function mountRefusal(): string | null {
  if (refusal !== undefined) return refusal;
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-mount-probe-'));
  refusal = mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  if (refusal === null) unmount(dir);
  rmdirSync(dir);
  return refusal;
}

/** Mounts a tmpfs of sizeBytes on dir (which must exist). */
export function mountTmpfs(dir: string, sizeBytes: number): void {
  const failure = mount(['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  if (failure) throw new Error(failure);
}

/** Shows the directory source, read-only, at target (which must exist). */
export function bindReadOnly(source: string, target: string): void {
  const failure = mount(['--bind', source, target]) ?? mount(['-o', 'remount,ro,bind', target]);
  if (failure) {
    unmount(target);
    throw new Error(failure);
  }
}

/** Unmounts dir; lazily, so that a file left open by a failed test does not keep it. */
export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}
