// tsnas search [--config exp.yaml] [--name NAME] [--FIELD VALUE | --ALIAS VALUE ...]:
// runs (or resumes) one stored experiment. The grammar (dotted config
// fields and their short aliases) is search-args.ts's.
import { checkConfig, type ExperimentConfig } from '../../experiment/config.js';
import { runExperiment } from '../../experiment/run.js';
import { queueEvaluator } from '../../distributed/coordinator.js';
import { describeEstimator, formatSummary, summarizeExperiment } from '../../experiment/summary.js';
import { DEFAULT_STORAGE_URL, experimentFilesDir, openStore } from '../../store/index.js';
import { defaultThreads } from '../../tensor/threads.js';
import type { WeightSharingEpoch } from '../../weight-sharing/run.js';
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

const pct = (v: number | null | undefined) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '-');

/** One stored supernet epoch as a progress line. */
function epochLine(e: WeightSharingEpoch, epochs: number): string {
  return `epoch ${e.epoch}/${epochs} (${e.phase}): train ${pct(e.trainAccuracy)} loss ${e.trainLoss.toFixed(3)}` +
    (typeof e.validAccuracy === 'number' ? `, valid ${pct(e.validAccuracy)}` : '') +
    (typeof e.tau === 'number' ? `, τ ${e.tau.toFixed(2)}` : '') +
    (typeof e.hessianEigenvalue === 'number' ? `, λmax ${e.hessianEigenvalue.toFixed(4)}` : '') +
    (typeof e.skipFraction === 'number' ? `, skip ${pct(e.skipFraction)} none ${pct(e.noneFraction)}` : '') +
    `, ${e.seconds.toFixed(1)} s${e.arch ? `: ${e.arch}` : ''}`;
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
    const threads = config.threads ?? defaultThreads();
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
        queueEvaluator,
        artifactsDir: experimentFilesDir(storage, config.name!),
        signal: interrupt.signal,
        onStart: ({ resumed, told, budget, requeued }) => {
          log(`search ${config.name}: ${resumed ? `resuming at ${told}/${budget} trials${requeued ? ` (${requeued} running trial(s) back to pending)` : ''}` : `new experiment, ${budget} trials`} in ${storage}` +
            `, ${config.strategy.name} on ${config.space.name}, estimator ${describeEstimator(config.estimator as never)}, parallel ${config.parallel}, ${threads} libtorch threads`);
          bar = new ProgressBar('trials', budget, !args.quiet);
          bar.update(told);
        },
        onTrial: ({ told, best }) => bar?.update(told, best === undefined ? '' : `best ${config.objectives[0]!.name} ${Number(best.toFixed(4))}`),
        onWeightSharingStart: ({ resumed, epochsDone, epochs, method }) =>
          log(`search ${config.name}: ${resumed ? `resuming ${method} after epoch ${epochsDone}/${epochs}` : `new ${method} run, ${epochs} supernet epochs`} in ${storage}, on ${config.space.name}, estimator ${describeEstimator(config.estimator as never)}, ${threads} libtorch threads`),
        onEpoch: (e, epochs) => {
          if (!args.quiet) log(epochLine(e, epochs));
        },
        onPhase: (phase, detail) => log(
          phase === 'search' ? `search ${config.name}: supernet trained; final search`
            : phase === 'final' ? `search ${config.name}: training ${detail} from scratch`
              : `search ${config.name}: found ${detail}; evaluating it (${describeEstimator(config.estimator as never)})`),
        onFinalEpoch: (epoch, epochs, testAccuracy) => {
          if (!args.quiet) log(`final: epoch ${epoch}/${epochs}, test accuracy ${(100 * testAccuracy).toFixed(2)}%`);
        },
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
