// A small, strict flag parser: every flag is declared, values are checked,
// and every mistake is a usage error naming the flag and the value.
import { usageError } from '../errors.js';

export type FlagType = 'string' | 'number' | 'int' | 'boolean';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean;
  required?: boolean;
  choices?: readonly string[];
  /** Bounds for number/int flags. */
  min?: number;
  max?: number;
}

/** Seeds are 32-bit (libtorch's and the Rng's); a larger one would be taken modulo 2^32 without a word. */
export const MAX_SEED = 2 ** 32 - 1;

/** Decimal numbers only: Number() would also take hex, octal, binary and 'Infinity'. */
const DECIMAL = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | number | boolean | undefined>;

/** The value a flag of this spec parses to: its choices, a string, a number or a boolean. */
type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'string'
    ? S['choices'] extends readonly (infer C extends string)[]
      ? C
      : string
    : number;

/** Parsed flags typed by their specs (declared `as const` or inline): a required flag or one with a default is always there. */
export type FlagsOf<Specs extends FlagSpecs> = {
  [K in keyof Specs]: Specs[K] extends { required: true } | { default: string | number | boolean } ? FlagValue<Specs[K]> : FlagValue<Specs[K]> | undefined;
};

export interface Parsed<Specs extends FlagSpecs = FlagSpecs> {
  flags: FlagsOf<Specs>;
  positional: string[];
}

/** Flags every compute command takes. */
export const computeFlags = {
  threads: { type: 'int', help: 'libtorch threads', min: 1 },
  seed: { type: 'int', help: 'random seed', default: 0, min: 0, max: MAX_SEED },
  json: { type: 'boolean', help: 'print one JSON object on the last line of stdout' },
} as const satisfies FlagSpecs;

function convert(name: string, spec: FlagSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw usageError(`expected true or false, got '${raw}'`, `--${name}`);
    case 'number':
    case 'int': {
      const v = Number(raw);
      if (!DECIMAL.test(raw) || !Number.isFinite(v) || (spec.type === 'int' && !Number.isInteger(v))) {
        throw usageError(`expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got '${raw}'`, `--${name}`);
      }
      if (spec.min !== undefined && v < spec.min) {
        throw usageError(`expected a value >= ${spec.min}, got ${raw}`, `--${name}`);
      }
      if (spec.max !== undefined && v > spec.max) {
        throw usageError(`expected a value <= ${spec.max}, got ${raw}`, `--${name}`);
      }
      return v;
    }
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw usageError(`expected one of ${spec.choices.join(', ')}, got '${raw}'`, `--${name}`);
      }
      return raw;
  }
}

export function parseArgs<const Specs extends FlagSpecs>(argv: readonly string[], specs: Specs): Parsed<Specs> {
  const flags: ParsedFlags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`).join(', ');
      throw usageError(`unknown flag; known flags: ${known}`, `--${name}`);
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (spec.type === 'boolean') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw usageError('missing value', `--${name}`);
      raw = next;
      i++;
    }
    flags[name] = convert(name, spec, raw);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (flags[name] === undefined) {
      if (spec.required) throw usageError('is required', `--${name}`);
      if (spec.default !== undefined) flags[name] = spec.default;
    }
  }
  // Every flag was converted by its spec's type, and required or defaulted ones are set: what FlagsOf says.
  return { flags: flags as FlagsOf<Specs>, positional };
}

export function usage(command: string, summary: string, specs: FlagSpecs): string {
  const lines = [`usage: tsnas ${command} [flags]`, '', summary, '', 'flags:'];
  for (const [name, s] of Object.entries(specs)) {
    const value = s.type === 'boolean' ? '' : ` <${s.choices ? s.choices.join('|') : s.type}>`;
    const dflt = s.default !== undefined && s.type !== 'boolean' ? ` (default ${s.default})` : '';
    lines.push(`  --${name}${value}${s.required ? ' (required)' : ''}  ${s.help}${dflt}`);
  }
  return lines.join('\n');
}
