// Configs and options are declared as zod schemas (types and validation
// from one declaration). This turns zod's issues into the project's config
// errors: the field path, the value found and what was expected (exit 2),
// and walks a schema's fields for dotted flags and their help.
import { z } from 'zod';
import { configError, type TsnasError } from '../errors.js';

/** How a value looks in an error message. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list ${JSON.stringify(v).slice(0, 60)}`;
  if (typeof v === 'object') return `an object with keys ${Object.keys(v as object).join(', ') || '(none)'}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const expectedTexts = z.registry<{ expected: string }>();

/** Names what `schema` expects in error messages, where its checks alone say too little (a pattern's meaning, a union). */
export function expecting<S extends z.ZodType>(schema: S, text: string): S {
  expectedTexts.add(schema, { expected: text });
  return schema;
}

type AnySchema = z.core.$ZodType;
const defOf = (s: AnySchema) => s._zod.def as z.core.$ZodTypeDef & Record<string, any>;

/** The schema inside optional/default/prefault/nullable wrappers, and the first expected text met on the way. */
function unwrapped(schema: AnySchema): { inner: AnySchema; expected?: string } {
  let s = schema;
  let expected = expectedTexts.get(s as z.ZodType)?.expected;
  for (;;) {
    const def = defOf(s);
    if (!['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type)) return expected === undefined ? { inner: s } : { inner: s, expected };
    s = def['innerType'] as AnySchema;
    expected ??= expectedTexts.get(s as z.ZodType)?.expected;
  }
}

/** The schema inside its optional/default wrappers. */
export const unwrap = (schema: AnySchema): AnySchema => unwrapped(schema).inner;

/** The help text of a schema (its description), looked up through its wrappers. */
export function helpOf(schema: AnySchema): string {
  let s: AnySchema | undefined = schema;
  while (s) {
    const d = (s as z.ZodType).description;
    if (d !== undefined) return d;
    const inner = defOf(s)['innerType'] as AnySchema | undefined;
    s = inner;
  }
  return '';
}

// Integers without bounds get the safe-integer range in JSON Schema; that is no bound worth naming.
const named = (bound: unknown): bound is number => typeof bound === 'number' && Math.abs(bound) < Number.MAX_SAFE_INTEGER;

/** What a schema accepts, in words (e.g. "an integer >= 1 and <= 64", "one of max, min"). */
export function describeExpected(schema: AnySchema): string {
  const { inner, expected } = unwrapped(schema);
  if (expected !== undefined) return expected;
  const def = defOf(inner);
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'enum':
      return `one of ${Object.values(def['entries'] as Record<string, string>).join(', ')}`;
    case 'literal':
      return (def['values'] as unknown[]).map((v) => JSON.stringify(v)).join(' or ');
    case 'boolean':
      return 'true or false';
    case 'number': {
      const json = z.toJSONSchema(inner as z.ZodType) as { type?: string; minimum?: number; exclusiveMinimum?: number; maximum?: number; exclusiveMaximum?: number };
      const bounds: string[] = [];
      if (named(json.exclusiveMinimum)) bounds.push(`> ${json.exclusiveMinimum}`);
      else if (named(json.minimum)) bounds.push(`>= ${json.minimum}`);
      if (named(json.exclusiveMaximum)) bounds.push(`< ${json.exclusiveMaximum}`);
      else if (named(json.maximum)) bounds.push(`<= ${json.maximum}`);
      const what = json.type === 'integer' ? 'an integer' : 'a number';
      return bounds.length ? `${what} ${bounds.join(' and ')}` : what;
    }
    case 'array':
      return `a list of ${describeExpected(def['element'] as AnySchema)}`;
    case 'object':
    case 'record':
      return 'an object';
    case 'union':
      return (def['options'] as AnySchema[]).map(describeExpected).join(' or ');
    default:
      return def.type;
  }
}

const joinPath = (path: string, key: PropertyKey) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key);

/** The field schema at `key` of an object, array or record schema. */
function child(schema: AnySchema, key: PropertyKey): AnySchema | undefined {
  const s = unwrap(schema);
  const def = defOf(s);
  if (def.type === 'object') return (def['shape'] as Record<string, AnySchema>)[String(key)];
  if (def.type === 'array') return def['element'] as AnySchema;
  if (def.type === 'record') return def['valueType'] as AnySchema;
  return undefined;
}

/** Whether a value has the shape (string, number, list, object...) a union's option takes, so that option's error is the one reported. */
function hasShapeOf(schema: AnySchema, value: unknown): boolean {
  const type = defOf(unwrap(schema)).type;
  if (type === 'array') return Array.isArray(value);
  if (type === 'object' || type === 'record') return typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'enum' || type === 'literal') return typeof value === 'string';
  return typeof value === type;
}

/** The option of a union schema that a value's shape selects (the schema itself when it is no union or none fits). */
function optionFor(schema: AnySchema, value: unknown): AnySchema {
  const def = defOf(unwrap(schema));
  if (def.type !== 'union') return schema;
  return (def['options'] as AnySchema[]).find((o) => hasShapeOf(o, value)) ?? schema;
}

function errorOf(schema: AnySchema, value: unknown, issues: readonly z.core.$ZodIssue[], where: string): TsnasError {
  // Unknown keys first, as a reader fixes a misspelt key before its value.
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  let at: AnySchema | undefined = schema;
  let found = value;
  let path = where;
  for (const key of issue.path) {
    at = at && child(optionFor(at, found), key);
    found = typeof found === 'object' && found !== null ? (found as Record<PropertyKey, unknown>)[key] : undefined;
    path = joinPath(path, key);
  }
  // zod reports the issue of a union's only option of the value's shape as that option's.
  if (at && issue.code !== 'invalid_union') at = optionFor(at, found);
  const fail = (message: string, fieldPath = path) => configError(message, fieldPath || '(config)');
  if (!at) return fail(`${issue.message}, found ${showValue(found)}`);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const known = Object.keys(defOf(unwrap(at))['shape'] as object);
      return fail(`unknown key (value ${showValue((found as Record<string, unknown>)[key])}); expected one of ${known.join(', ')}`, joinPath(path, key));
    }
    case 'invalid_union': {
      const options = defOf(unwrap(at))['options'] as AnySchema[];
      const i = options.findIndex((o) => hasShapeOf(o, found));
      if (i >= 0 && issue.errors[i]?.length) return errorOf(options[i]!, found, issue.errors[i]!, path);
      break;
    }
    case 'too_small':
      if (issue.origin === 'array' && Array.isArray(found)) return fail(`expected a list of at least ${issue.minimum} item(s), found ${showValue(found)}`);
      break;
  }
  if (found === undefined) return fail(`is required: expected ${describeExpected(at)}`);
  return fail(`expected ${describeExpected(at)}, found ${showValue(found)}`);
}

/**
 * Checks value against schema and returns zod's output (defaults filled
 * in); throws a config error at the first problem, its field path prefixed
 * with `where` (e.g. strategy.options).
 */
export function checkWith<S extends z.ZodType>(schema: S, value: unknown, where = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw errorOf(schema, value, result.error.issues, where);
}

/** Leaf field paths of a schema (for flags), e.g. ['seed', 'budget.trials', ...]; records and lists give their own path. */
export function leafPaths(schema: AnySchema, path = ''): { path: string; schema: AnySchema }[] {
  const def = defOf(unwrap(schema));
  if (def.type === 'object') {
    return Object.entries(def['shape'] as Record<string, AnySchema>).flatMap(([k, s]) => leafPaths(s, joinPath(path, k)));
  }
  return [{ path, schema }];
}
