// A small schema language for experiment configs: enough to check types,
// ranges, enums and unknown keys, and to fill defaults. Every error names
// the field path, the value found and what was expected (exit code 2).
import { configError } from '../errors.js';

export type Schema =
  | { kind: 'string'; enum?: readonly string[]; pattern?: RegExp; patternHelp?: string; default?: string; help?: string }
  | { kind: 'number'; integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean; default?: number; help?: string }
  | { kind: 'boolean'; default?: boolean; help?: string }
  | { kind: 'array'; items: Schema; minItems?: number; default?: unknown[]; help?: string }
  | {
      kind: 'object';
      fields: Record<string, Schema>;
      required?: readonly string[];
      /** Free-form object (e.g. a strategy's own options), checked later by its owner. */
      open?: boolean;
      /** Absent stays absent (else an absent object is checked as {} and gets its fields' defaults). */
      optional?: boolean;
      default?: Record<string, unknown>;
      help?: string;
    }
  /** One of several schemas; the first that accepts the value wins. */
  | { kind: 'oneOf'; options: readonly Schema[]; describe: string; default?: unknown; help?: string };

/** How a value looks in an error message. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list ${JSON.stringify(v).slice(0, 60)}`;
  if (typeof v === 'object') return `an object with keys ${Object.keys(v as object).join(', ') || '(none)'}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const joinPath = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

function describe(s: Schema): string {
  switch (s.kind) {
    case 'string':
      return s.enum ? `one of ${s.enum.join(', ')}` : s.patternHelp ?? 'a string';
    case 'number': {
      const what = s.integer ? 'an integer' : 'a number';
      const bounds: string[] = [];
      if (s.min !== undefined) bounds.push(`${s.exclusiveMin ? '>' : '>='} ${s.min}`);
      if (s.max !== undefined) bounds.push(`<= ${s.max}`);
      return bounds.length ? `${what} ${bounds.join(' and ')}` : what;
    }
    case 'boolean':
      return 'true or false';
    case 'array':
      return `a list of ${describe(s.items)}`;
    case 'object':
      return 'an object';
    case 'oneOf':
      return s.describe;
  }
}

/** Checks value against schema; returns it with defaults filled in. Throws configError at the first problem. */
export function validate(schema: Schema, value: unknown, path = ''): unknown {
  const where = path || '(config)';
  const fail = (expected: string): never => {
    throw configError(`expected ${expected}, found ${showValue(value)}`, where);
  };
  if (value === undefined && 'default' in schema && schema.default !== undefined) value = structuredClone(schema.default);
  // Optional fields without a default stay absent (required ones are checked by their object).
  if (value === undefined && (schema.kind !== 'object' || schema.optional)) return undefined;
  switch (schema.kind) {
    case 'string':
      if (typeof value !== 'string') return fail(describe(schema));
      if (schema.enum && !schema.enum.includes(value)) return fail(describe(schema));
      if (schema.pattern && !schema.pattern.test(value)) return fail(describe(schema));
      return value;
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(describe(schema));
      if (schema.integer && !Number.isInteger(value)) return fail(describe(schema));
      if (schema.min !== undefined && (schema.exclusiveMin ? value <= schema.min : value < schema.min)) return fail(describe(schema));
      if (schema.max !== undefined && value > schema.max) return fail(describe(schema));
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return fail(describe(schema));
      return value;
    case 'array': {
      if (!Array.isArray(value)) return fail(describe(schema));
      if (schema.minItems !== undefined && value.length < schema.minItems) {
        return fail(`a list of at least ${schema.minItems} item(s)`);
      }
      return value.map((item, i) => validate(schema.items, item, joinPath(path, i)));
    }
    case 'object': {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(describe(schema));
      const obj = value as Record<string, unknown>;
      if (schema.open) return { ...obj };
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj)) {
        if (!(key in schema.fields)) {
          throw configError(`unknown key (value ${showValue(obj[key])}); expected one of ${Object.keys(schema.fields).join(', ')}`, joinPath(path, key));
        }
      }
      for (const key of schema.required ?? []) {
        if (obj[key] === undefined) throw configError(`is required: expected ${describe(schema.fields[key]!)}`, joinPath(path, key));
      }
      for (const [key, fieldSchema] of Object.entries(schema.fields)) {
        const v = validate(fieldSchema, obj[key], joinPath(path, key));
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    case 'oneOf': {
      // The option of the value's own shape decides, so its error is the one reported.
      const shape = (sch: Schema) => (sch.kind === 'array' ? Array.isArray(value) : sch.kind === 'object' ? typeof value === 'object' && value !== null && !Array.isArray(value) : typeof value === sch.kind);
      const option = schema.options.find(shape);
      if (!option) return fail(schema.describe);
      return validate(option, value, path);
    }
  }
}

/** Leaf field paths of a schema (for flags), e.g. ['seed', 'budget.trials', ...]; open objects give their own path. */
export function leafPaths(schema: Schema, path = ''): { path: string; schema: Schema }[] {
  if (schema.kind === 'object' && !schema.open) {
    return Object.entries(schema.fields).flatMap(([k, s]) => leafPaths(s, joinPath(path, k)));
  }
  return [{ path, schema }];
}
