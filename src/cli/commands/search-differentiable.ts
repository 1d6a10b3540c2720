// tsnas search --strategy darts|darts2|pcdarts|gdas|spos|enas|ofa ...: the
// weight-sharing form of `tsnas search`. Its flags (--dataset, --epochs,
// --channels, ...) differ from the multi-trial form's, so argv picks the form
// before any flag is parsed, as the --config form does (search-config.ts).
// The search itself is darts.ts's (`tsnas darts --method` is its alias).
import { usageError } from '../../errors.js';
import { strategyNames } from '../../strategies/index.js';
import type { Command } from '../command.js';
import { defineCommand } from '../command.js';
import { WEIGHT_SHARING_METHODS, isWeightSharingMethod, runWeightSharingSearch, weightSharingFlags, type WeightSharingMethod } from './darts.js';

/** The value(s) of --strategy in argv (`--strategy X` or `--strategy=X`), split at commas; null when absent. */
function strategyArgument(argv: readonly string[]): string[] | null {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let value: string | undefined;
    if (arg === '--strategy') value = argv[i + 1];
    else if (arg.startsWith('--strategy=')) value = arg.slice('--strategy='.length);
    else continue;
    return value === undefined ? [] : value.split(',').map((s) => s.trim());
  }
  return null;
}

/** Whether `tsnas search` argv asks for a weight-sharing strategy (throws when it mixes one with multi-trial ones). */
export function wantsWeightSharingForm(argv: readonly string[]): boolean {
  const names = strategyArgument(argv);
  if (!names || !names.some(isWeightSharingMethod)) return false;
  if (names.length > 1) throw usageError(`a weight-sharing strategy runs alone, got '${names.join(',')}' (compare them in separate runs)`, '--strategy');
  return true;
}

export const searchWeightSharingCommand = defineCommand({
  name: 'search',
  summary: `weight-sharing search on a supernet (--strategy ${WEIGHT_SHARING_METHODS.join('|')})`,
  flags: {
    strategy: { type: 'string', help: WEIGHT_SHARING_METHODS.join(' | '), required: true, choices: WEIGHT_SHARING_METHODS },
    ...weightSharingFlags,
  },
  run: ({ flags }) => runWeightSharingSearch(flags.strategy as WeightSharingMethod, flags, '--strategy'),
});

/**
 * `tsnas search` with the weight-sharing form added: --strategy darts|...
 * runs it; any other --strategy goes to `other`. An unknown strategy's error
 * lists both kinds.
 */
export function withWeightSharingForm(other: Command): Command {
  return {
    name: other.name,
    summary: `${other.summary}; --strategy ${WEIGHT_SHARING_METHODS.join('|')} runs a weight-sharing search`,
    run: (argv) => {
      if (wantsWeightSharingForm(argv)) return searchWeightSharingCommand.run(argv);
      const names = strategyArgument(argv);
      const known = [...strategyNames, ...WEIGHT_SHARING_METHODS] as readonly string[];
      const unknown = names?.find((n) => !known.includes(n));
      if (unknown !== undefined && !argv.includes('--help') && !argv.includes('-h')) {
        throw usageError(`expected one of ${strategyNames.join(', ')} (multi-trial) or ${WEIGHT_SHARING_METHODS.join(', ')} (weight-sharing), got '${unknown}'`, '--strategy');
      }
      return other.run(argv);
    },
  };
}
