// What a CLI command is. Each lives in src/cli/commands/<name>.ts and is
// listed in src/cli/commands/index.ts.
import { parseArgs, usage, type FlagSpecs, type Parsed } from './args.js';

export interface Command {
  /** e.g. 'train' or 'space info' (words after `tsnas`). */
  readonly name: string;
  readonly summary: string;
  /** Returns the exit code. Throw TsnasError for user mistakes. */
  run(argv: string[]): Promise<number>;
}

/** A command with declared flags: --help prints them, and parsing is strict. */
export function defineCommand(def: {
  name: string;
  summary: string;
  flags: FlagSpecs;
  run(parsed: Parsed): Promise<number>;
}): Command {
  return {
    name: def.name,
    summary: def.summary,
    async run(argv) {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`${usage(def.name, def.summary, def.flags)}\n`);
        return 0;
      }
      return def.run(parseArgs(argv, def.flags));
    },
  };
}
