// The one grammar of `tsnas search`: every config field is a flag of the
// same dotted name (--strategy.name darts, --budget.trials 50), and
// SEARCH_ALIASES gives short names to the common ones (--strategy darts,
// --budget 50). Flags are applied over --config's file in the order given,
// so the same flags mean the same with or without --config and --name. A
// config error names the flag the user typed (explainConfigError).
import { TsnasError, usageError } from '../errors.js';
import { CONFIG_SCHEMA, configFieldPaths, readConfigFile, setConfigPath } from '../experiment/config.js';
import { findWeightSharingMethod, WEIGHT_SHARING_METHOD_NAMES, type WeightSharingMethod } from '../weight-sharing/methods.js';

type Raw = Record<string, unknown>;

/** One config field an alias sets: `text` is read as YAML (a JSON string stays a string); `append` adds to a list. */
interface Assignment {
  path: string;
  text: string;
  append?: boolean;
}

export interface SearchAlias {
  flag: string;
  /** The value's shape in --help, e.g. '<N>'. */
  value: string;
  help: string;
  /** Only weight-sharing strategies read it (their strategy.options). */
  weightSharingOnly?: boolean;
  /** The fields this value sets, for the chosen strategy (`method` undefined: a multi-trial strategy). */
  assign(text: string, method: WeightSharingMethod | undefined): Assignment[];
}

const quoted = (text: string) => JSON.stringify(text);
const field = (path: string, asString = false) => (text: string): Assignment[] => [{ path, text: asString ? quoted(text) : text }];
/** The network a weight-sharing method trains is sized in strategy.options; a multi-trial strategy's trials in estimator. */
const sizing = (key: string) => (text: string, method: WeightSharingMethod | undefined): Assignment[] =>
  [{ path: method ? `strategy.options.${key}` : `estimator.${key}`, text }];
const option = (key: string, help: string, value = '<N>', convert: (text: string) => string = (t) => t): Omit<SearchAlias, 'flag'> =>
  ({ value, help, weightSharingOnly: true, assign: (text) => [{ path: `strategy.options.${key}`, text: convert(text) }] });

/** The short flags of `tsnas search`, and the config fields each sets. */
export const SEARCH_ALIASES: readonly SearchAlias[] = [
  { flag: 'strategy', value: '<name>', help: 'strategy.name: a multi-trial strategy or a weight-sharing method', assign: field('strategy.name', true) },
  { flag: 'space', value: '<name>', help: 'space.name', assign: field('space.name', true) },
  { flag: 'space-options', value: '<json>', help: 'space.options, e.g. {"maxDepth":4}', assign: field('space.options') },
  {
    flag: 'benchmark', value: '<table:dataset>', help: 'estimator.kind benchmark with estimator.benchmark, e.g. nb201:cifar10',
    assign: (text) => [{ path: 'estimator.kind', text: 'benchmark' }, { path: 'estimator.benchmark', text: quoted(text) }],
  },
  { flag: 'dataset', value: '<name>', help: 'dataset.name: fashion-mnist | cifar10:<dir> | cifar100:<dir> | folder:<dir>', assign: field('dataset.name', true) },
  { flag: 'limit-train', value: '<N>', help: 'dataset.limitTrain', assign: field('dataset.limitTrain') },
  {
    flag: 'budget', value: '<N>', help: 'budget.trials; weight-sharing: strategy.options.budget (evaluations of the search on the trained supernet)',
    assign: (text, method) => [{ path: method ? 'strategy.options.budget' : 'budget.trials', text }],
  },
  ...['epochs', 'channels', 'cells', 'resolution'].map((key) => ({
    flag: key, value: '<N>', help: `weight-sharing: strategy.options.${key}; else estimator.${key}`, assign: sizing(key),
  })),
  {
    // A multi-trial strategy's --batch is the config field of that name (samples asked at once; the trials' is --estimator.batch).
    flag: 'batch', value: '<N>', help: 'weight-sharing: strategy.options.batch (images per step); else batch (samples asked at once)',
    assign: (text, method) => [{ path: method ? 'strategy.options.batch' : 'batch', text }],
  },
  { flag: 'steps-per-epoch', ...option('stepsPerEpoch', 'strategy.options.stepsPerEpoch') },
  { flag: 'time-budget', ...option('timeBudgetSeconds', 'strategy.options.timeBudgetSeconds', '<seconds>') },
  { flag: 'arch-warmup', ...option('archWarmup', 'strategy.options.archWarmup') },
  { flag: 'pc-k', ...option('pcK', 'strategy.options.pcK') },
  { flag: 'fair-lambda', ...option('fairLambda', 'strategy.options.fairLambda', '<x>') },
  { flag: 'skip-dropout', ...option('skipDropout', 'strategy.options.skipDropout', '<x>') },
  { flag: 'hessian-every', ...option('hessianEvery', 'strategy.options.hessianEvery') },
  { flag: 'early-stop', ...option('earlyStop', 'strategy.options.earlyStop') },
  { flag: 'sampling', ...option('sampling', 'strategy.options.sampling', '<uniform|strict-fair>', quoted) },
  { flag: 'phase-split', ...option('phaseSplit', 'strategy.options.phaseSplit, a comma list (full,kernel,depth,expand)', '<a,b,c,d>', (t) => `[${t}]`) },
  { flag: 'kd-weight', ...option('kdWeight', 'strategy.options.kdWeight', '<x>') },
  { flag: 'subnets-per-step', ...option('subnetsPerStep', 'strategy.options.subnetsPerStep') },
  { flag: 'ranking', ...option('ranking', 'strategy.options.ranking: Kendall τ of the supernet against the nb201 table over N cells (spos, fairnas, enas, smash)', '<N>') },
  {
    flag: 'cost', value: '<flops|latency:file>', help: 'strategy.options.cost.kind (and .table: a table of tsnas bench latency)', weightSharingOnly: true,
    assign: (text) => {
      const colon = text.indexOf(':');
      if (colon < 0) return [{ path: 'strategy.options.cost.kind', text: quoted(text) }];
      return [{ path: 'strategy.options.cost.kind', text: quoted(text.slice(0, colon)) }, { path: 'strategy.options.cost.table', text: quoted(text.slice(colon + 1)) }];
    },
  },
  { flag: 'cost-lambda', ...option('cost.lambda', 'strategy.options.cost.lambda', '<x>') },
  { flag: 'max-flops', value: '<N>', help: 'adds the constraint "flops <= N"', assign: (text) => [{ path: 'constraints', text: `flops <= ${text}`, append: true }] },
  { flag: 'max-params', value: '<N>', help: 'adds the constraint "params <= N"', assign: (text) => [{ path: 'constraints', text: `params <= ${text}`, append: true }] },
];

/** Flags of the command itself (not config fields); the boolean ones take no value. */
const OWN_FLAGS: Record<string, { boolean: boolean; help: string }> = {
  config: { boolean: false, help: '<file>  YAML or JSON experiment config (optional: defaults and flags alone work)' },
  json: { boolean: true, help: 'print a JSON summary as the last line of stdout' },
  quiet: { boolean: true, help: 'no progress bar' },
  check: { boolean: true, help: 'check the config, print it (JSON) and run nothing' },
  help: { boolean: true, help: 'this text' },
};

const TOP_LEVEL_FIELDS = Object.keys(CONFIG_SCHEMA.shape);

/** Whether `where` (e.g. budget.trials or constraints[0]) is a config field path. */
function isConfigPath(where: string): boolean {
  return TOP_LEVEL_FIELDS.includes(where.split(/[.[]/)[0]!);
}

/** A config field path, and the flag (as typed, with --) that set it. */
export interface FlagOrigin {
  path: string;
  flag: string;
}

export interface SearchArgs {
  /** The raw config: --config's file, then every flag applied in order. Check it with checkConfig. */
  raw: Raw;
  origins: FlagOrigin[];
  config?: string;
  json: boolean;
  quiet: boolean;
  check: boolean;
  help: boolean;
}

/** Splits argv into [flag name, value] pairs (value undefined for boolean own flags). */
function tokens(argv: readonly string[]): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      out.push(['help', undefined]);
      continue;
    }
    if (!arg.startsWith('--')) throw usageError(`unexpected argument; flags are --name value (see tsnas search --help)`, arg);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (OWN_FLAGS[name]?.boolean) {
      const text = eq < 0 ? 'true' : arg.slice(eq + 1);
      if (text !== 'true' && text !== 'false') throw usageError(`expected true or false, got '${text}'`, `--${name}`);
      if (text === 'true') out.push([name, undefined]);
      continue;
    }
    let value = eq < 0 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw usageError('missing value', `--${name}`);
      value = next;
      i++;
    }
    out.push([name, value]);
  }
  return out;
}

const aliasOf = (name: string) => SEARCH_ALIASES.find((a) => a.flag === name);

/** The strategy the flags and file choose (a later flag wins over an earlier one and over the file). */
function chosenStrategy(flags: [string, string | undefined][], raw: Raw): string | undefined {
  const given = flags.filter(([n]) => n === 'strategy' || n === 'strategy.name').at(-1);
  if (given) return given[1];
  const s = raw['strategy'];
  return typeof s === 'object' && s !== null ? (s as Raw)['name'] as string | undefined : undefined;
}

/** Parses `tsnas search` argv into a raw config (over --config's file) and the flag behind each field. */
export function parseSearchArgs(argv: readonly string[]): SearchArgs {
  const flags = tokens(argv);
  const result: SearchArgs = { raw: {}, origins: [], json: false, quiet: false, check: false, help: false };
  for (const [name, value] of flags) {
    if (name === 'config') result.config = value;
    else if (name in OWN_FLAGS) (result as unknown as Record<string, boolean>)[name] = true;
    else if (!aliasOf(name) && !isConfigPath(name)) {
      throw usageError(`unknown flag; expected a config field such as --budget.trials, or one of ${[...Object.keys(OWN_FLAGS), ...SEARCH_ALIASES.map((a) => a.flag)].map((f) => `--${f}`).join(', ')}`, `--${name}`);
    }
  }
  if (result.help) return result;
  if (result.config !== undefined) result.raw = readConfigFile(result.config);
  const strategy = chosenStrategy(flags, result.raw);
  if (strategy?.includes(',')) throw usageError(`one experiment runs one strategy, got '${strategy}'; compare strategies over seeds with tsnas bench search`, '--strategy');
  const method = strategy === undefined ? undefined : findWeightSharingMethod(strategy);
  for (const [name, value] of flags) {
    if (name in OWN_FLAGS) continue;
    const flag = `--${name}`;
    const alias = aliasOf(name);
    if (!alias) {
      setConfigPath(result.raw, name, value!, flag);
      result.origins.push({ path: name, flag });
      continue;
    }
    if (alias.weightSharingOnly && !method) {
      throw usageError(`is read by the weight-sharing methods (${WEIGHT_SHARING_METHOD_NAMES.join(', ')}), but the strategy is ${strategy ?? 'the default multi-trial one'}`, flag);
    }
    for (const a of alias.assign(value!, method)) {
      if (a.append) {
        const current = result.raw[a.path];
        const list = Array.isArray(current) ? current : current === undefined ? [] : [current];
        result.raw[a.path] = [...list, a.text];
        result.origins.push({ path: `${a.path}[${list.length}]`, flag });
      } else {
        setConfigPath(result.raw, a.path, a.text, flag);
        result.origins.push({ path: a.path, flag });
      }
    }
  }
  return result;
}

/** The flag that set `where` or a field around or inside it: the most specific, the last given. */
function originOf(where: string, origins: readonly FlagOrigin[]): FlagOrigin | undefined {
  const inside = (path: string, outer: string) => path === outer || path.startsWith(`${outer}.`) || path.startsWith(`${outer}[`);
  const candidates = origins.filter((o) => inside(where, o.path));
  if (candidates.length > 0) return candidates.reduce((best, o) => (o.path.length >= best.path.length ? o : best));
  return origins.filter((o) => inside(o.path, where)).at(-1);
}

/**
 * A config error (its `where` a config path) told against what the user
 * typed: the flag that set the field (`--budget: ... (config field
 * budget.trials)`), else the config file (`budget.trials: ... (in
 * exp.yaml)`). Other errors pass unchanged.
 */
export function explainConfigError(error: unknown, origins: readonly FlagOrigin[], configFile?: string): unknown {
  if (!(error instanceof TsnasError) || error.where === undefined || !isConfigPath(error.where)) return error;
  const where = error.where;
  const bare = error.message.startsWith(`${where}: `) ? error.message.slice(where.length + 2) : error.message;
  const origin = originOf(where, origins);
  if (origin) return new TsnasError(error.code, origin.flag === `--${where}` ? bare : `${bare} (config field ${where})`, { where: origin.flag, cause: error });
  if (configFile !== undefined) return new TsnasError(error.code, `${bare} (in ${configFile})`, { where, cause: error });
  return error;
}

/** The same error told against another flag (`from` as typed by a wrapper, `to` as typed by the user). */
export function renameFlag(error: unknown, from: string, to: string): unknown {
  if (!(error instanceof TsnasError) || error.where !== from) return error;
  return new TsnasError(error.code, error.message.slice(from.length + 2), { where: to, cause: error });
}

/** A fresh experiment's name when none is given: `<strategy>-<space>-<UTC yyyymmdd-hhmmss>`. */
export function generatedName(strategy: string, space: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${strategy}-${space}-${stamp}`;
}

/** `tsnas search --help`. */
export function searchUsage(): string {
  const pad = (s: string) => s.padEnd(34);
  return [
    'usage: tsnas search [--config exp.yaml] [--name NAME] [--storage URL] [--FIELD VALUE ...]',
    '',
    'Runs a stored experiment, or resumes it (same --name in the same store). Without --name',
    'a name is made up and printed: give it to resume. tsnas init writes a commented config.',
    'Flags apply over the config file in the order given. To compare strategies over many',
    'seeds on a tabular benchmark, see tsnas bench search.',
    '',
    'flags:',
    ...Object.entries(OWN_FLAGS).map(([name, f]) => `  ${pad(`--${name}${f.boolean ? '' : ` ${f.help.split('  ')[0]}`}`)}${f.boolean ? f.help : f.help.split('  ')[1]}`),
    '',
    'short flags (aliases of config fields):',
    ...SEARCH_ALIASES.map((a) => `  ${pad(`--${a.flag} ${a.value}`)}${a.help}${a.weightSharingOnly ? ' (weight-sharing)' : ''}`),
    '',
    'config fields as flags (values read as YAML: 5, true, [a, b]; strategy.options.X and space.options.X too;',
    "a whole object as YAML flow, e.g. --estimator '{type: composed, screen: {proxies: [synflow, nwot]}, topK: 10, then: {type: training}}';",
    '--estimator.type is another name for --estimator.kind):',
    ...configFieldPaths().map(({ path, help }) => `  ${pad(`--${path} <value>`)}${help}`),
  ].join('\n');
}
