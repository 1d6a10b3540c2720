// The `tsnas` entry point: finds the command, runs it, and turns errors into
// messages and exit codes (2 for usage, config and data errors).
import { TsnasError } from '../errors.js';
import { commands } from './commands/index.js';
import type { Command } from './command.js';

function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  // Longest match first, so 'space info' wins over 'space'.
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = commands.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: tsnas <command> [flags]   (tsnas <command> --help for its flags)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${help()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const found = find(argv);
  if (!found) {
    process.stderr.write(`tsnas: error: unknown command '${argv.slice(0, 2).join(' ')}'\n\n${help()}\n`);
    return 2;
  }
  try {
    return await found.command.run(found.rest);
  } catch (e) {
    if (e instanceof TsnasError) {
      process.stderr.write(`tsnas ${found.command.name}: error: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
