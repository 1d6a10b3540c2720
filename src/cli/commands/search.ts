// tsnas search [--config exp.yaml] [--name NAME] [--FIELD VALUE | --ALIAS VALUE ...]:
// runs (or resumes) one stored experiment. The grammar (dotted config
// fields and their short aliases) is search-args.ts's.
import { checkConfig, type ExperimentConfig } from '../../experiment/config.js';
import { runExperiment } from '../../experiment/run.js';
import { describeEstimator, formatSummary, summarizeExperiment } from '../../experiment/summary.js';
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
import type { Command } from '../command.js';
import { emitJson, log, ProgressBar, stopOnSigint } from '../output.js';
import { explainConfigError, generatedName, parseSearchArgs, searchUsage, type SearchArgs } from '../search-args.js';

/** The checked config of `tsnas search` argv (a name made up when none is given). */
export function searchConfig(args: SearchArgs, announce = true): ExperimentConfig {
  let config: ExperimentConfig;
  try {
    config = checkConfig(args.raw);
  } catch (e) {
    throw explainConfigError(e, args.origins, args.config);
  }
  if (!config.name) {
    config.name = generatedName(config.strategy.name, config.space.name);
    if (announce) log(`search: new experiment ${config.name} (to resume it: the same command with --name ${config.name})`);
  }
  return config;
}

export const searchCommand: Command = {
  name: 'search',
  summary: 'run or resume a stored experiment (flags, --config exp.yaml, or both)',
  async run(argv) {
    const args = parseSearchArgs(argv);
    if (args.help) {
      process.stdout.write(`${searchUsage()}\n`);
      return 0;
    }
    const config = searchConfig(args, !args.check);
    if (args.check) {
      emitJson(config);
      return 0;
    }
    const storage = config.storage ?? DEFAULT_STORAGE_URL;
    const store = await openStore(storage);
    let bar: ProgressBar | undefined;
    // Ctrl-C stops cleanly (trials in flight back to pending, experiment
    // 'stopped', exit 130).
    const interrupt = stopOnSigint('search: interrupted, stopping (running trials go back to pending; Ctrl-C again to quit at once)');
    try {
      const result = await runExperiment({
        store,
        config,
        storageUrl: storage,
        signal: interrupt.signal,
        onStart: ({ resumed, told, budget, requeued }) => {
          log(`search ${config.name}: ${resumed ? `resuming at ${told}/${budget} trials${requeued ? ` (${requeued} running trial(s) back to pending)` : ''}` : `new experiment, ${budget} trials`} in ${storage}` +
            `, ${config.strategy.name} on ${config.space.name}, estimator ${describeEstimator(config.estimator as never)}, parallel ${config.parallel}`);
          bar = new ProgressBar('trials', budget, !args.quiet);
          bar.update(told);
        },
        onTrial: ({ told, best }) => bar?.update(told, best === undefined ? '' : `best ${config.objectives[0]!.name} ${Number(best.toFixed(4))}`),
      }).catch((e: unknown) => {
        throw explainConfigError(e, args.origins, args.config);
      });
      if (result.interrupted) {
        log(`search ${config.name}: stopped at ${result.told}/${config.budget.trials} trials; run the same command to resume (with --name ${config.name} if it had no name)`);
        return 130;
      }
      const summary = await summarizeExperiment(store, config.name!);
      if (args.json) emitJson({ ...summary, finished: result.finished, told: result.told, storage });
      else process.stdout.write(`${formatSummary(summary)}\n`);
      return 0;
    } finally {
      interrupt.release();
      await store.close();
    }
  },
};
