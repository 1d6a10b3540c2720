// What a CLI command is. Each lives in src/cli/commands/<name>.ts and is
// listed in src/cli/commands/index.ts.
import { usageError } from '../errors.js';
import { parseArgs, usage, type FlagSpecs, type Parsed } from './args.js';

export interface Command {
  /** e.g. 'train' or 'space info' (words after `tsnas`). */
  readonly name: string;
  readonly summary: string;
  /** Returns the exit code. Throw TsnasError for user mistakes. */
  run(argv: string[]): Promise<number>;
}

/** Words a command takes besides its flags, e.g. NAME of `tsnas show NAME` (none when not declared). */
export interface PositionalSpec {
  name: string;
  min: number;
  max: number;
}

/** A command with declared flags and positional words: --help prints them, and parsing is strict. */
export function defineCommand<const Specs extends FlagSpecs>(def: {
  name: string;
  summary: string;
  flags: Specs;
  positional?: PositionalSpec;
  run(parsed: Parsed<Specs>): Promise<number>;
}): Command {
  return {
    name: def.name,
    summary: def.summary,
    async run(argv) {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`${usage(def.name, def.summary, def.flags)}\n`);
        return 0;
      }
      const parsed = parseArgs(argv, def.flags);
      const p = def.positional ?? { name: '', min: 0, max: 0 };
      const n = parsed.positional.length;
      if (n < p.min || n > p.max) {
        const expected = p.max === 0 ? 'no arguments besides flags' : p.min === p.max ? `${p.min === 1 ? 'one' : p.min} ${p.name}` : `at most ${p.max} ${p.name}`;
        throw usageError(`expected ${expected}, got ${n ? parsed.positional.map((a) => `'${a}'`).join(' ') : 'none'}`, p.max === 0 ? parsed.positional[0]! : p.name);
      }
      return def.run(parsed);
    },
  };
}
