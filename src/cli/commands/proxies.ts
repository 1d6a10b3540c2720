// tsnas proxies: zero-cost proxy scores of NAS-Bench-201 cells, and with
// --benchmark their rank correlation with the table's accuracies.
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { computeFlags } from '../args.js';
import { emitJson, log, ProgressBar } from '../output.js';
import { datasetSource, standardAugment } from '../../data/spec.js';
import { configureCompute } from '../../train/setup.js';
import { nb201Space, parseNb201Ops } from '../../spaces/nb201.js';
import { NB201Network } from '../../networks/nb201.js';
import { checkNetworkInput } from '../../nn/module.js';
import { Nb201Table, nb201DatasetShape, parseNb201BenchmarkName } from '../../benchmarks/nb201.js';
import {
  DEFAULT_ENSEMBLE, checkEnsemble, isPopulationProxy, parseProxyList, type ProxyName,
} from '../../estimators/zero-cost/proxies.js';
import { withPopulationScores } from '../../estimators/zero-cost/population.js';
import { PROXY_NETWORKS, proxyBatch, scoreNb201, type ProxyResult } from '../../estimators/zero-cost/score.js';
import { rankQuality } from '../../estimators/rank.js';
import { Rng } from '../../util/random.js';
import { dispose } from '../../tensor/index.js';
import { TsnasError, dataError, usageError } from '../../errors.js';

/** N distinct random cells (seeded), or the arch strings of a file (one per line, # comments). */
export function resolveArchs(spec: string, seed: number): string[] {
  const space = nb201Space();
  if (/^\d+$/.test(spec)) {
    const n = Number(spec);
    if (n < 1 || n > 15625) throw usageError(`expected a count in 1..15625 or a file of arch strings, got ${spec}`, '--archs');
    const rng = new Rng(seed);
    const seen = new Set<string>();
    while (seen.size < n) seen.add(space.format(space.sample(rng)));
    return [...seen];
  }
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (e) {
    throw new TsnasError('usage', `expected a count or a readable file of arch strings: ${(e as Error).message}`, { where: '--archs', cause: e });
  }
  const archs = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  if (archs.length === 0) throw usageError(`no arch strings in ${spec}`, '--archs');
  return archs.map((a) => space.format(space.parse(a.replace(/^"|"$/g, ''))));
}

/**
 * The cells an earlier run already appended to `file` (see --out), checked to hold the same proxies.
 * Every record ends with a line break, so text after the last one was cut short (the run was
 * killed while writing it): `intactBytes` is the length of the file without it.
 */
export function scoredCells(file: string, proxies: readonly string[]): { archs: Set<string>; intactBytes: number; cut: boolean } {
  const archs = new Set<string>();
  if (!existsSync(file)) return { archs, intactBytes: 0, cut: false };
  const text = readFileSync(file, 'utf8');
  const intact = text.slice(0, text.lastIndexOf('\n') + 1);
  const wanted = [...proxies].sort().join(',');
  intact.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let record: { arch?: unknown; scores?: Record<string, unknown> };
    try {
      record = JSON.parse(line);
    } catch {
      throw dataError(`line ${i + 1} is not JSON`, file);
    }
    if (typeof record.arch !== 'string' || record.scores === undefined) return; // a run's summary line
    const held = Object.keys(record.scores).sort().join(',');
    if (held !== wanted) throw dataError(`line ${i + 1} holds the scores ${held}, not this run's ${wanted}`, file);
    archs.add(record.arch);
  });
  return { archs, intactBytes: Buffer.byteLength(intact), cut: intact.length < text.length };
}

export const proxiesCommand = defineCommand({
  name: 'proxies',
  summary: 'zero-cost proxy scores of NAS-Bench-201 cells (and their rank correlation with the benchmark)',
  flags: {
    space: { type: 'string', help: 'search space', default: 'nb201', choices: ['nb201'] },
    dataset: { type: 'string', help: 'fashion-mnist | cifar10:<dir> | cifar100:<dir> | folder:<dir>', default: 'fashion-mnist' },
    archs: { type: 'string', help: 'a number of random cells, or a file of arch strings', required: true },
    batch: { type: 'int', help: 'images in the scoring batch', default: 64, min: 2 },
    proxies: { type: 'string', help: "'all' or a comma-separated list (az_nas, te_nas and ensemble rank the cells of this run together; te_nas costs far more than the rest, so the default leaves it out)", default: 'grad_norm,snip,grasp,fisher,synflow,jacob_cov,nwot,zico,meco,swap,swap_reg,params,flops,ensemble' },
    ensemble: { type: 'string', help: `members of the ensemble proxy, comma-separated (default ${DEFAULT_ENSEMBLE.join(',')})` },
    benchmark: { type: 'string', help: 'nb201:cifar10 | nb201:cifar100 | nb201:imagenet16_120: correlate with the table' },
    shape: {
      type: 'string',
      help: "nb201:cifar100 | nb201:imagenet16_120 | nb201:cifar10: score with the network NAS-Bench-201 trained on that dataset: its classes (100, 120) and input size (ImageNet16-120: 16×16, the batch area-downsampled); the images and labels stay --dataset's. Default: --dataset's own size and classes",
    },
    channels: { type: 'int', help: 'channels of the first stage (C)', default: 16, min: 1 },
    cells: { type: 'int', help: 'cells per stage (N)', default: 5, min: 1 },
    network: {
      type: 'string', default: 'benchmark', choices: [...PROXY_NETWORKS],
      help: "benchmark: NAS-Bench-201's own network; zero-cost-nas: the reference code's (biased convs, plain BN in cells)",
    },
    augment: { type: 'boolean', help: "the batch gets the dataset's training augmentation (random crop, flip), as a training loader's would" },
    'fresh-draws': {
      type: 'boolean',
      help: "each cell gets its own batch and initial weights (seeded from --seed and the cell's position), as the reference's scoring loop does; default: one batch and one weight seed for all cells",
    },
    out: {
      type: 'string',
      help: "append each cell's JSON line to this file as soon as it is scored, and skip the cells it already holds, so that a stopped run resumes (per-network proxies only)",
    },
    ...computeFlags,
  },
  async run({ flags }) {
    const seed = flags.seed;
    const threads = configureCompute({ threads: flags.threads, seed });
    const proxies: ProxyName[] = parseProxyList(flags.proxies);
    const ensemble = flags.ensemble === undefined ? undefined : checkEnsemble(parseProxyList(flags.ensemble, '--ensemble'), '--ensemble');
    // Population proxies need every cell's components first: the cells are printed at the end.
    const population = proxies.some(isPopulationProxy);
    const dataset = flags.benchmark ? parseNb201BenchmarkName(flags.benchmark) : undefined;
    const table = dataset ? Nb201Table.load() : undefined;
    const out = flags.out;
    if (out !== undefined && population) {
      throw usageError('az_nas, te_nas and ensemble rank the cells of one run together: list their components instead and aggregate the file (bench/proxies_correlation.mjs)', '--out');
    }
    const done = out === undefined ? undefined : scoredCells(out, proxies);
    const listed = resolveArchs(flags.archs, seed);
    const archs = done ? listed.filter((a) => !done.archs.has(a)) : listed;
    if (done) {
      log(`proxies: ${listed.length - archs.length} of the ${listed.length} cells already in ${out}${done.cut ? ' (its cut-short last line is dropped)' : ''}`);
      if (done.cut) truncateSync(out!, done.intactBytes);
    }
    if (table) {
      const unknown = archs.find((a) => !table.has(a));
      if (unknown) throw usageError(`'${unknown}' is not in the NAS-Bench-201 table`, '--archs');
    }
    const source = datasetSource(flags.dataset);
    const train = source.load('train');
    const { numClasses, resize } = networkShape(flags.shape, train, source.name);
    const augment = flags.augment === true ? standardAugment(source, train) : undefined;
    // Images too small for the network fail here, not deep inside the first score.
    const probe = new NB201Network({ ops: parseNb201Ops(listed[0]!), C: flags.channels, N: flags.cells, numClasses, inChannels: train.channels });
    const input: [number, number, number] = [train.channels, resize ?? train.height, resize ?? train.width];
    try {
      checkNetworkInput(probe, input, '--dataset');
    } finally {
      probe.dispose();
    }
    const freshDraws = flags['fresh-draws'] === true;
    const drawBatch = (batchSeed: number) => proxyBatch(train, {
      size: flags.batch, seed: batchSeed, normalize: source.normalization(train), resize, augment,
    });
    const shared = freshDraws ? undefined : drawBatch(seed);
    const cellSeeds = new Rng(seed);
    log(`proxies: ${archs.length} cells, ${proxies.join(', ')}; ${freshDraws ? 'a batch per cell' : 'one batch'} of ${flags.batch} ${source.name} images${resize ? ` at ${resize}×${resize}` : ''}, ${numClasses} classes; ${threads} threads`);
    const json = flags.json === true;
    let results: ProxyResult[] = [];
    const record = (r: ProxyResult) => ({ arch: r.arch, scores: r.scores, seconds: r.seconds });
    const print = (r: ProxyResult) => {
      if (json) emitJson(record(r));
      else process.stdout.write(`${r.arch}  ${Object.entries(r.scores).map(([p, v]) => `${p}=${fmt(v!)}`).join(' ')}  ${r.seconds.toFixed(2)}s\n`);
    };
    const bar = new ProgressBar('proxies', archs.length, !json || process.stderr.isTTY === true);
    try {
      for (const arch of archs) {
        const cellSeed = freshDraws ? cellSeeds.int(2 ** 31) : seed;
        const batch = shared ?? drawBatch(cellSeed);
        let r: ProxyResult;
        try {
          r = scoreNb201(arch, {
            proxies, batch, numClasses, C: flags.channels, N: flags.cells, seed: cellSeed,
            network: flags.network, ensemble,
          });
        } finally {
          if (!shared) dispose([batch.x, batch.y]);
        }
        results.push(r);
        if (out !== undefined) appendFileSync(out, `${JSON.stringify(record(r))}\n`);
        if (!population) print(r);
        bar.tick();
      }
    } finally {
      if (shared) dispose([shared.x, shared.y]);
    }
    if (population) {
      const scores = withPopulationScores(results.map((r) => r.scores), proxies, ensemble);
      results = results.map((r, i) => ({ ...r, scores: scores[i]! }));
      results.forEach(print);
    }
    const secondsPerArch = results.reduce((s, r) => s + r.seconds, 0) / Math.max(1, results.length);
    const summary: Record<string, unknown> = {
      n: results.length, seconds_per_arch: secondsPerArch, proxies, ...(ensemble ? { ensemble } : {}), seed, threads, network: flags.network, augment: augment !== undefined, fresh_draws: freshDraws,
      classes: numClasses, input,
    };
    if (table && dataset) {
      const truth = results.map((r) => table.accuracy(r.arch, dataset));
      const spearman: Record<string, number | null> = {};
      const kendall: Record<string, number | null> = {};
      const valid: Record<string, number> = {};
      for (const p of proxies) {
        const q = rankQuality(results.map((r) => r.scores[p]!), truth);
        spearman[p] = q.spearman;
        kendall[p] = q.kendall;
        valid[p] = q.n;
      }
      Object.assign(summary, { benchmark: `nb201:${dataset}`, spearman, kendall, valid });
      if (!json) for (const p of proxies) log(`${p}: spearman ${spearman[p]?.toFixed(3)} kendall ${kendall[p]?.toFixed(3)} (${valid[p]} finite)`);
    }
    if (json) emitJson(summary);
    else log(`${results.length} cells, ${secondsPerArch.toFixed(2)} s per cell`);
    return 0;
  },
});

/**
 * The head size and (square) input side of the scoring network: --dataset's own, or with --shape
 * those of NAS-Bench-201's network for that dataset, which the dataset's images and labels must fit.
 */
export function networkShape(
  spec: string | undefined,
  train: { channels: number; height: number; width: number; numClasses: number },
  name: string,
): { numClasses: number; resize?: number } {
  if (spec === undefined) return { numClasses: train.numClasses };
  const dataset = parseNb201BenchmarkName(spec, '--shape');
  const { input: [channels, height, width], classes } = nb201DatasetShape(dataset);
  if (train.channels !== channels) {
    throw usageError(`${name} images have ${train.channels} channels; the network of ${spec} takes ${channels}`, '--shape');
  }
  if (train.numClasses > classes) {
    throw usageError(`${name} has ${train.numClasses} classes, more than the ${classes} outputs of the network of ${spec}`, '--shape');
  }
  const same = train.height === height && train.width === width;
  return { numClasses: classes, ...(same ? {} : { resize: height }) };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(4) : v.toFixed(4);
}
