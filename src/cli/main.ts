// The `tsnas` entry point: finds the command, loads and runs it, and turns
// errors into messages and exit codes (2 for usage, config and data errors).
import { readFileSync } from 'node:fs';
import { TsnasError } from '../errors.js';
import { commands, type CommandEntry } from './commands/index.js';

function find(argv: string[]): { entry: CommandEntry; rest: string[] } | undefined {
  // Longest match first, so 'space info' wins over 'space'.
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const entry = commands.find((c) => c.name === name);
    if (entry) return { entry, rest: argv.slice(words) };
  }
  return undefined;
}

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: tsnas <command> [flags]   (tsnas <command> --help for its flags; tsnas --version)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** The version of package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${help()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const found = find(argv);
  if (!found) {
    process.stderr.write(`tsnas: error: unknown command '${argv.slice(0, 2).join(' ')}'\n\n${help()}\n`);
    return 2;
  }
  try {
    const command = await found.entry.load();
    return await command.run(found.rest);
  } catch (e) {
    if (e instanceof TsnasError) {
      process.stderr.write(`tsnas ${found.entry.name}: error: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
