// The files an experiment owns in its files directory (runs/<name>, or the
// directory beside its SQLite store): the weights its trials kept for weight
// inheritance and the artifacts its trials recorded there. `tsnas rm`
// removes them with the experiment; anything else in the directory stays.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Store } from '../store/types.js';
import { keptWeightsDir, weightsFile } from './estimators.js';

/** The owned files that exist, sorted; a trial's artifact outside filesDir is not owned (another experiment or the user may hold it). */
export async function ownedFiles(store: Store, experimentId: number, filesDir: string): Promise<string[]> {
  const weightsDir = keptWeightsDir(filesDir);
  const owned = new Set<string>();
  for (const trial of await store.listTrials(experimentId)) {
    owned.add(weightsFile(weightsDir, trial.sampleHash));
    for (const path of Object.values(trial.artifacts)) if (isInside(path, filesDir)) owned.add(path);
  }
  return [...owned].filter((path) => existsSync(path)).sort();
}

/** Removes the files, then the directories between them and filesDir (filesDir included) that this left empty. */
export function removeOwnedFiles(files: readonly string[], filesDir: string): void {
  const dirs = new Set<string>();
  for (const file of files) {
    rmSync(file, { force: true });
    for (let dir = dirname(file); isInside(dir, filesDir); dir = dirname(dir)) dirs.add(resolve(dir));
  }
  // Deepest first, so that a parent is checked after its children went.
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  }
}

function isInside(path: string, dir: string): boolean {
  const r = relative(resolve(dir), resolve(path));
  return r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r);
}
