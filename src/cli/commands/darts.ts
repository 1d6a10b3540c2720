// tsnas darts [--method M] ...: another name for `tsnas search --strategy M`
// (default darts), kept for scripts written before weight-sharing searches
// became stored experiments.
import type { Command } from '../command.js';
import { renameFlag } from '../search-args.js';
import { searchCommand } from './search.js';

/** `tsnas darts` argv as `tsnas search` argv: --method becomes --strategy, darts unless given. */
export function dartsToSearchArgv(argv: readonly string[]): string[] {
  const out = argv.map((a) => (a === '--method' ? '--strategy' : a.startsWith('--method=') ? `--strategy=${a.slice('--method='.length)}` : a));
  const named = out.some((a) => a === '--strategy' || a.startsWith('--strategy=') || a === '--strategy.name' || a.startsWith('--strategy.name='));
  return named ? out : ['--strategy', 'darts', ...out];
}

export const dartsCommand: Command = {
  name: 'darts',
  summary: 'a weight-sharing search: tsnas search --strategy M (here --method M, default darts)',
  async run(argv) {
    try {
      return await searchCommand.run(dartsToSearchArgv(argv));
    } catch (e) {
      throw argv.some((a) => a === '--method' || a.startsWith('--method=')) ? renameFlag(e, '--strategy', '--method') : e;
    }
  },
};
