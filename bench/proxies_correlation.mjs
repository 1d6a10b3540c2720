#!/usr/bin/env node
// Rank correlation of zero-cost proxy scores with the NAS-Bench-201 table,
// for every dataset column, from the JSON lines of
//   tsnas proxies --archs N --json ... > scores.jsonl
// Usage: node bench/proxies_correlation.mjs scores.jsonl[.gz] [more.jsonl ...] [--subsets K --size N]
//          [--valid nb201_cifar10_valid_acc.csv] [--ensemble a,b,c] [--cells archs.txt]
// The lines of all files are merged by arch: a cell's scores are those of every
// file that holds it (a later file's value of a proxy wins), its seconds their
// sum; so proxies computed in separate runs on the same cells are one table.
// Population proxies (az_nas, te_nas, ensemble) are aggregated over the cells
// that hold all their components: so scores of components computed in
// several runs are ranked as one population.
// --valid adds the CSV's column (arch,<name>) as one more truth, named after it;
// --ensemble sets the ensemble's members (default: DEFAULT_ENSEMBLE); it may be repeated.
// --cells file keeps only the cells listed there (arch strings, one a line), so that
// runs over more cells can be compared with one over some of them, population proxies
// ranked among those cells only.
// --search-ensembles a,b,c [--fit N] tries every ensemble of 2 to 4 of those
// proxies: ranked by CIFAR-10 ρ on the first N cells (200) that hold them all,
// the best five are then scored on the other cells, which played no part in
// choosing them (each set ranked as its own population).
// With --subsets, it also reports the mean, standard deviation and range of
// Spearman's ρ over K random subsets of N cells (seeded): how much a
// correlation measured on N random cells varies with the draw.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Nb201Table, NB201_DATASETS } from '../dist/benchmarks/nb201.js';
import { rankQuality } from '../dist/estimators/rank.js';
import { Rng } from '../dist/util/random.js';
import { DEFAULT_ENSEMBLE, POPULATION_PROXIES, checkEnsemble, parseProxyList, populationComponents } from '../dist/estimators/zero-cost/proxies.js';
import { populationScores } from '../dist/estimators/zero-cost/population.js';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [value] = args.splice(i, 2).slice(1);
  return Number(value);
};
const text = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  return args.splice(i, 2)[1];
};
const validFile = text('--valid');
const cellsFile = text('--cells');
const ensembles = [];
for (let e = text('--ensemble'); e !== undefined; e = text('--ensemble')) ensembles.push(checkEnsemble(parseProxyList(e)));
if (ensembles.length === 0) ensembles.push([...DEFAULT_ENSEMBLE]);
const searchPool = text('--search-ensembles');
const fit = option('--fit') ?? 200;
const subsets = option('--subsets') ?? 0;
const size = option('--size') ?? 1000;
const read = (file) => (file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file)).toString('utf8');
const byArch = new Map();
for (const r of args.flatMap((file) => read(file).split('\n')).filter((l) => l.trim() !== '').map((l) => JSON.parse(l))) {
  if (!r.arch || !r.scores) continue;
  const cell = byArch.get(r.arch);
  if (cell) Object.assign(cell.scores, r.scores), (cell.seconds += r.seconds);
  else byArch.set(r.arch, { arch: r.arch, scores: { ...r.scores }, seconds: r.seconds });
}
const listed = cellsFile && new Set(readFileSync(cellsFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== ''));
if (listed) {
  const missing = [...listed].filter((a) => !byArch.has(a));
  if (missing.length > 0) throw new Error(`${cellsFile}: ${missing.length} listed cells have no scores, e.g. ${missing[0]}`);
}
const cells = [...byArch.values()].filter((c) => !listed || listed.has(c.arch));
const table = Nb201Table.load();
const proxies = [...new Set(cells.flatMap((c) => Object.keys(c.scores)))];
// Population proxies over the cells that hold their components (all of them, when one run scored every proxy).
const holds = (cell, names) => names.every((n) => (POPULATION_PROXIES.includes(n) ? holds(cell, populationComponents(n)) : n in cell.scores));
const aggregate = (name, proxy, members) => {
  const population = cells.filter((c) => holds(c, members));
  if (population.length === 0) return;
  populationScores(population.map((c) => c.scores), proxy, members).forEach((v, i) => (population[i].scores[name] = v));
  proxies.push(name);
};
for (const p of ['az_nas', 'te_nas']) aggregate(p, p, populationComponents(p));
for (const members of ensembles) aggregate(`ensemble(${members.join('+')})`, 'ensemble', members);
const truths = NB201_DATASETS.map((d) => [d, (arch) => table.accuracy(arch, d)]);
if (validFile) {
  const lines = readFileSync(validFile, 'utf8').trim().split(/\r?\n/);
  const column = lines[0].split(',')[1];
  const valid = new Map(lines.slice(1).map((l) => { const i = l.lastIndexOf(','); return [l.slice(0, i), Number(l.slice(i + 1))]; }));
  truths.push([column, (arch) => valid.get(arch) ?? Number.NaN]);
}
const out = { n: cells.length, seconds_per_arch: cells.reduce((s, c) => s + c.seconds, 0) / cells.length, datasets: {} };
const rng = new Rng(0);
const draws = Array.from({ length: subsets }, () => rng.sample(cells, Math.min(size, cells.length)));
for (const [d, truth] of truths) {
  out.datasets[d] = Object.fromEntries(proxies.map((p) => {
    const quality = (set) => rankQuality(set.map((c) => c.scores[p] ?? Number.NaN), set.map((c) => truth(c.arch)));
    const q = quality(cells);
    const entry = { spearman: q.spearman, kendall: q.kendall, n: q.n };
    if (draws.length > 0) {
      const rhos = draws.map((set) => quality(set).spearman);
      const mean = rhos.reduce((a, b) => a + b, 0) / rhos.length;
      const sd = Math.sqrt(rhos.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, rhos.length - 1));
      entry[`subsets_of_${size}`] = { k: rhos.length, mean, sd, min: Math.min(...rhos), max: Math.max(...rhos) };
    }
    return [p, entry];
  }));
}
if (searchPool) {
  const pool = parseProxyList(searchPool, '--search-ensembles');
  const combos = [];
  const extend = (from, chosen) => {
    if (chosen.length >= 2) combos.push(chosen);
    if (chosen.length < 4) for (let i = from; i < pool.length; i++) extend(i + 1, [...chosen, pool[i]]);
  };
  extend(0, []);
  const population = cells.filter((c) => holds(c, pool));
  const [fitting, rest] = [population.slice(0, fit), population.slice(fit)];
  const rho = (set, members) => rankQuality(populationScores(set.map((c) => c.scores), 'ensemble', members), set.map((c) => table.accuracy(c.arch, 'cifar10'))).spearman;
  const best = combos.map((members) => ({ members, fit: rho(fitting, members) })).sort((a, b) => b.fit - a.fit).slice(0, 5);
  out.ensemble_search = {
    pool, fit_cells: fitting.length, other_cells: rest.length,
    best: best.map((e) => ({ ...e, other: rho(rest, e.members), all: rho(population, e.members) })),
  };
}
console.log(JSON.stringify(out, null, 1));
