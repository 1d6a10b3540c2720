// tsnas search --config exp.yaml [--storage URL] [--name NAME] [--path.to.field VALUE ...]:
// runs (or resumes) a config-driven experiment through the store. The flag
// form of `tsnas search` (--benchmark, --seeds) lives in search.ts, which
// hands argv here when it sees --config, --storage or --name.
import { TsnasError, usageError } from '../../errors.js';
import { checkConfig, configFieldPaths, readConfigFile, setConfigPath } from '../../experiment/config.js';
import { runExperiment } from '../../experiment/run.js';
import { queueEvaluator } from '../../distributed/coordinator.js';
import { describeEstimator, formatSummary, summarizeExperiment } from '../../experiment/summary.js';
import { DEFAULT_STORAGE_URL, openStore } from '../../store/index.js';
import type { Command } from '../command.js';
import { emitJson, log, ProgressBar, stopOnSigint } from '../output.js';

/** Flags of this form itself; every other --x.y is a config field. */
const OWN_FLAGS = ['config', 'storage', 'name', 'json', 'quiet', 'help'] as const;

/** Whether `tsnas search` argv asks for the config-driven form: --config, --storage, --name, or a dotted config field such as --estimator.type. */
export function wantsConfigForm(argv: readonly string[]): boolean {
  return argv.some((a) => ['--config', '--storage', '--name'].some((f) => a === f || a.startsWith(`${f}=`)) || /^--[A-Za-z]+\.[A-Za-z]/.test(a));
}

function usageText(): string {
  const fields = configFieldPaths().map(({ path, help }) => `  --${path} <value>  ${help}`);
  return [
    'usage: tsnas search --config exp.yaml [--storage sqlite:runs/tsnas.db] [--name NAME] [--FIELD VALUE ...]',
    '',
    'Runs the experiment a config describes, or resumes it (same name in the same store).',
    'tsnas init writes a commented example config.',
    '',
    'flags:',
    '  --config <file>    YAML or JSON experiment config (optional: defaults and flags alone work)',
    `  --storage <url>    sqlite:PATH or postgres://... (default: the config's storage, else ${DEFAULT_STORAGE_URL})`,
    "  --name <name>      experiment name (default: the config's name, else the file's name)",
    '  --json             print a JSON summary as the last line of stdout',
    '  --quiet            no progress bar',
    '',
    'config fields as flags (values read as YAML: 5, true, [a, b]; strategy.options.X and space.options.X too;',
    "a whole object as YAML flow, e.g. --estimator '{type: composed, screen: {proxies: [synflow, nwot]}, topK: 10, then: {type: training}}';",
    '--estimator.type is another name for --estimator.kind):',
    ...fields,
  ].join('\n');
}

/** Splits argv into this form's flags and config field overrides (in order). */
export function parseSearchConfigArgs(argv: readonly string[]): { own: Record<string, string | boolean>; overrides: [string, string][] } {
  const own: Record<string, string | boolean> = {};
  const overrides: [string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw usageError(`unexpected argument '${arg}'; flags are --name value`, arg);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const isBoolean = name === 'json' || name === 'quiet' || name === 'help';
    if (value === undefined && !isBoolean) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw usageError('missing value', `--${name}`);
      value = next;
      i++;
    }
    if ((OWN_FLAGS as readonly string[]).includes(name)) own[name] = isBoolean ? value !== 'false' : value!;
    else overrides.push([name, value ?? 'true']);
  }
  return { own, overrides };
}

export const searchConfigCommand: Command = {
  name: 'search',
  summary: 'run or resume a config-driven experiment (tsnas search --config exp.yaml)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(`${usageText()}\n`);
      return 0;
    }
    const { own, overrides } = parseSearchConfigArgs(argv);
    const raw: Record<string, unknown> = typeof own['config'] === 'string' ? readConfigFile(own['config']) : {};
    for (const [path, value] of overrides) setConfigPath(raw, path, value);
    if (typeof own['name'] === 'string') raw['name'] = own['name'];
    let config;
    try {
      config = checkConfig(raw);
    } catch (e) {
      // Name the file and the flag a bad field came from.
      if (e instanceof TsnasError && e.where) {
        const fromFlag = overrides.find(([p]) => e.where === p || e.where!.startsWith(`${p}.`) || e.where!.startsWith(`${p}[`));
        const origin = fromFlag ? ` (from --${fromFlag[0]})` : typeof own['config'] === 'string' ? ` (in ${own['config']})` : '';
        throw new TsnasError(e.code, `${e.message}${origin}`, { cause: e });
      }
      throw e;
    }
    if (!config.name) throw usageError('expected an experiment name: give --name or a config file (named after its file)', '--name');
    const storage = (own['storage'] as string | undefined) ?? config.storage ?? DEFAULT_STORAGE_URL;
    const store = await openStore(storage);
    const quiet = own['quiet'] === true;
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
        signal: interrupt.signal,
        onStart: ({ resumed, told, budget, requeued }) => {
          log(`search ${config.name}: ${resumed ? `resuming at ${told}/${budget} trials${requeued ? ` (${requeued} running trial(s) back to pending)` : ''}` : `new experiment, ${budget} trials`} in ${storage}` +
            `, ${config.strategy.name} on ${config.space.name}, estimator ${describeEstimator(config.estimator as never)}, parallel ${config.parallel}`);
          bar = new ProgressBar('trials', budget, !quiet);
          bar.update(told);
        },
        onTrial: ({ told, best }) => bar?.update(told, best === undefined ? '' : `best ${config.objectives[0]!.name} ${Number(best.toFixed(4))}`),
      });
      if (result.interrupted) {
        log(`search ${config.name}: stopped at ${result.told}/${config.budget.trials} trials; run the same command to resume`);
        return 130;
      }
      const summary = await summarizeExperiment(store, config.name);
      if (own['json'] === true) emitJson({ ...summary, finished: result.finished, told: result.told, storage });
      else process.stdout.write(`${formatSummary(summary)}\n`);
      return 0;
    } finally {
      interrupt.release();
      await store.close();
    }
  },
};

/** `tsnas search` with both forms: the config form when --config/--storage/--name is given, else the flag form. */
export function withConfigForm(flagForm: Command): Command {
  return {
    name: flagForm.name,
    summary: `${flagForm.summary}; --config exp.yaml runs a stored, resumable experiment`,
    run: (argv) => (wantsConfigForm(argv) ? searchConfigCommand.run(argv) : flagForm.run(argv)),
  };
}
