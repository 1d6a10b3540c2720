// Precomputed proxy scores of a tabular benchmark's cells (JSON lines, gzipped
// or not: {"arch": "<the space's format>", "scores": {"synflow": ..., ...}}, as
// bench/proxies_correlation.mjs writes them), so that a proxy-informed search
// on the table counts only table queries.
import { TsnasError } from '../errors.js';
import { readDataFile } from '../data/files.js';
import type { Sample } from '../spaces/types.js';
import type { ProxyScoreSource } from '../strategies/types.js';

export function loadProxyScoreFile(path: string, format: (s: Sample) => string): ProxyScoreSource {
  const byArch = new Map<string, Record<string, number>>();
  const names = new Set<string>();
  const text = Buffer.from(readDataFile(path)).toString('utf8');
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: { arch?: unknown; scores?: unknown };
    try {
      row = JSON.parse(line) as typeof row;
    } catch (e) {
      throw new TsnasError('data', `line ${i + 1} is not JSON (${(e as Error).message})`, { where: path });
    }
    if (typeof row.arch !== 'string' || typeof row.scores !== 'object' || row.scores === null) {
      throw new TsnasError('data', `line ${i + 1}: expected {"arch": string, "scores": {name: number}}`, { where: path });
    }
    const scores = row.scores as Record<string, number>;
    for (const k of Object.keys(scores)) names.add(k);
    byArch.set(row.arch, scores);
  });
  if (byArch.size === 0) throw new TsnasError('data', 'no scores in the file', { where: path });
  return {
    score(samples, wanted) {
      for (const n of wanted) if (!names.has(n)) throw new TsnasError('data', `no '${n}' scores in the file; it has ${[...names].join(', ')}`, { where: path });
      return samples.map((s) => {
        const arch = format(s);
        const scores = byArch.get(arch);
        if (!scores) throw new TsnasError('data', `no scores for ${arch}`, { where: path });
        return scores;
      });
    },
  };
}
