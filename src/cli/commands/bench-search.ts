// tsnas bench search: strategies compared on a tabular benchmark over many
// seeds (nothing stored); the summary is the last JSON line. The logic
// lives in src/benchmarks/harness.ts; this file parses and prints.
// `tsnas search` runs one stored experiment (search.ts).
import { TsnasError, usageError } from '../../errors.js';
import { runBenchmarkSearch, parseSeeds, type SearchSummary } from '../../benchmarks/harness.js';
import { loadProxyScoreFile } from '../../benchmarks/proxy-scores.js';
import { Nb201Benchmark, expectedBestCurve, parseNb201BenchmarkName } from '../../benchmarks/nb201.js';
import { regretPlotSvg, type RegretSeries } from '../../benchmarks/plot.js';
import { getSpace } from '../../kits/index.js';
import type { Nb201Space } from '../../spaces/nb201.js';
import { isStrategyName, strategyNames, type StrategyName } from '../../strategies/index.js';
import { setNumThreads } from '../../tensor/index.js';
import { checkOutputFile, writeFileAtomic } from '../../util/files.js';
import { computeFlags } from '../args.js';
import { defineCommand } from '../command.js';
import { emitJson, log, ProgressBar } from '../output.js';

export const benchSearchCommand = defineCommand({
  name: 'bench search',
  summary: 'compare multi-trial strategies on a tabular benchmark over many seeds (JSON summary; nothing stored)',
  flags: {
    space: { type: 'string', help: 'search space', default: 'nb201' },
    benchmark: { type: 'string', help: 'tabular benchmark as the estimator: nb201:cifar10|cifar100|imagenet16_120', required: true },
    strategy: { type: 'string', help: `strategy, or a comma list to compare: ${strategyNames.join('|')}`, required: true },
    budget: { type: 'int', help: 'queries per run (at most 15,625, the table\'s size)', default: 100, min: 1, max: 15_625 },
    seeds: { type: 'string', help: 'seeds to run: A-B, N or a comma list (default: --seed)' },
    objectives: { type: 'string', help: 'comma list, accuracy first: accuracy[,params|flops|latency_<device>_ms|energy_<device>_mj] (devices: docs/benchmarks.md)', default: 'accuracy' },
    lambda: { type: 'string', help: 'scalarised search: λ of each objective after the first (comma list; default 1 each)' },
    batch: { type: 'int', help: 'samples asked at once (parallel workers)', default: 1, min: 1 },
    options: { type: 'string', help: 'strategy options as JSON, e.g. {"population":20}' },
    'proxy-scores': { type: 'string', help: 'precomputed proxy scores of every cell (JSON lines, e.g. bench/results/proxies_nb201_all_scores.jsonl.gz) for proxy-bo' },
    plot: { type: 'string', help: 'write regret curves (SVG) to this file' },
    quiet: { type: 'boolean', help: 'no progress bar' },
    ...computeFlags,
  },
  async run({ flags }) {
    if (flags.threads !== undefined) setNumThreads(flags.threads);
    const strategies = flags.strategy.split(',').map((s) => s.trim());
    for (const s of strategies) {
      if (!isStrategyName(s)) throw usageError(`expected one of ${strategyNames.join(', ')}, got '${s}'`, '--strategy');
    }
    if (flags.plot !== undefined) checkOutputFile(flags.plot, '--plot');
    const dataset = parseNb201BenchmarkName(flags.benchmark);
    const space = getSpace(flags.space);
    if (space.name !== 'nb201') throw usageError(`the nb201 benchmark covers only the nb201 space, got '${space.name}'`, '--space');
    const benchmark = new Nb201Benchmark(dataset, undefined, space as Nb201Space);

    const seeds = flags.seeds !== undefined ? parseSeeds(flags.seeds) : [flags.seed];
    const budget = flags.budget;
    const objectives = flags.objectives.split(',').map((s) => s.trim());
    const known = Object.keys(benchmark.metrics);
    for (const o of objectives) if (!known.includes(o)) throw usageError(`the nb201 benchmark measures ${known.join(', ')}, got '${o}'`, '--objectives');
    if (objectives[0] !== 'accuracy') throw usageError(`the first objective must be accuracy, got '${objectives[0]}'`, '--objectives');
    const lambdas = flags.lambda === undefined ? undefined : flags.lambda.split(',').map((v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw usageError(`expected numbers, got '${v}'`, '--lambda');
      return n;
    });
    let strategyOptions: object | undefined;
    if (flags.options !== undefined) {
      try {
        strategyOptions = JSON.parse(flags.options) as object;
      } catch (e) {
        throw new TsnasError('usage', `expected a JSON object: ${(e as Error).message}`, { where: '--options' });
      }
      if (typeof strategyOptions !== 'object' || strategyOptions === null || Array.isArray(strategyOptions)) throw usageError('expected a JSON object', '--options');
    }

    const proxyScores = flags['proxy-scores'] === undefined ? undefined : loadProxyScoreFile(flags['proxy-scores'], (s) => space.format(s));

    const progress = new ProgressBar('search', strategies.length * seeds.length, !flags.quiet);
    const summaries: SearchSummary[] = [];
    for (const name of strategies as StrategyName[]) {
      const start = Date.now();
      const { summary } = runBenchmarkSearch({
        benchmark, strategy: name, budget, seeds, objectives, lambdas, batch: flags.batch,
        strategyOptions: strategyOptions as never, proxyScores,
        onRun: () => progress.tick(1, name),
      });
      summaries.push(summary);
      const hv = summary.hypervolume_ratio === undefined ? '' : `  hypervolume ratio ${summary.hypervolume_ratio.toFixed(4)}`;
      log(`${name}: best after ${budget} queries ${summary.final_mean.toFixed(3)} ± ${summary.final_std.toFixed(3)} over ${seeds.length} seeds, optimum found in ${(100 * summary.optimum_rate).toFixed(0)}%${hv} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
    }

    if (flags.plot !== undefined) {
      const series: RegretSeries[] = summaries.map((s) => ({ label: s.strategy, curve: s.curve_mean }));
      series.push({ label: 'random (exact)', curve: expectedBestCurve(benchmark.table.values(dataset), budget), dashed: true });
      const svg = regretPlotSvg(series, { title: `NAS-Bench-201 ${dataset}: mean regret over ${seeds.length} seeds`, optimum: benchmark.optimum() });
      writeFileAtomic(flags.plot, svg, '--plot');
    }

    if (flags.json) {
      if (summaries.length === 1) emitJson(summaries[0]);
      else emitJson({ dataset, budget, seeds: seeds.length, strategies: summaries });
    } else {
      for (const s of summaries) {
        process.stdout.write(`${s.strategy}\t${s.dataset}\tbudget ${s.budget}\tseeds ${s.seeds}\tfinal ${s.final_mean.toFixed(3)} ± ${s.final_std.toFixed(3)}\toptimum rate ${s.optimum_rate.toFixed(2)}${s.hypervolume_ratio === undefined ? '' : `\thypervolume ratio ${s.hypervolume_ratio.toFixed(4)}`}\n`);
      }
    }
    return 0;
  },
});

