// zod issues as config errors: the field path, the value found and what was expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { TsnasError } from '../errors.js';
import { checkWith, describeExpected, expecting, helpOf, leafPaths } from './zod-check.js';

const schema = z.strictObject({
  size: z.number().int().min(1).max(64).default(4).describe('how many'),
  rate: z.number().gt(0).optional(),
  mode: z.enum(['fast', 'slow']).optional(),
  tags: z.array(z.string()).min(2).optional(),
  goal: expecting(
    z.union([expecting(z.string().regex(/^[a-z]+$/), 'lower-case letters'), z.strictObject({ name: z.string(), weight: z.number().min(0).optional() })]),
    'a goal name or {name, weight}',
  ).optional(),
  inner: z.strictObject({ depth: z.number().int().min(0) }).prefault({ depth: 1 }),
});

function messageOf(value: unknown, where?: string): string {
  try {
    checkWith(schema, value, where);
  } catch (e) {
    assert.ok(e instanceof TsnasError && e.code === 'config', String(e));
    return e.message;
  }
  assert.fail(`${JSON.stringify(value)} was accepted`);
}

test('checkWith returns the value with defaults filled in', () => {
  assert.deepEqual(checkWith(schema, {}), { size: 4, inner: { depth: 1 } });
  assert.deepEqual(checkWith(schema, { goal: { name: 'x' }, inner: { depth: 0 } }), { size: 4, goal: { name: 'x' }, inner: { depth: 0 } });
});

test('errors name the field path, the value found and what was expected', () => {
  const cases: [unknown, RegExp][] = [
    [{ size: 0 }, /^size: expected an integer >= 1 and <= 64, found 0$/],
    [{ size: 2.5 }, /^size: expected an integer >= 1 and <= 64, found 2\.5$/],
    [{ size: 'big' }, /^size: expected an integer >= 1 and <= 64, found "big"$/],
    [{ rate: 0 }, /^rate: expected a number > 0, found 0$/],
    [{ mode: 'warp' }, /^mode: expected one of fast, slow, found "warp"$/],
    [{ tags: ['a'] }, /^tags: expected a list of at least 2 item\(s\), found a list \["a"\]$/],
    [{ tags: ['a', 3] }, /^tags\[1\]: expected a string, found 3$/],
    [{ sise: 3 }, /^sise: unknown key \(value 3\); expected one of size, rate, mode, tags, goal, inner$/],
    [{ inner: { depth: 1, width: 2 } }, /^inner\.width: unknown key \(value 2\); expected one of depth$/],
    [{ inner: {} }, /^inner\.depth: is required: expected an integer >= 0$/],
    [{ goal: 'Max' }, /^goal: expected lower-case letters, found "Max"$/],
    [{ goal: { name: 'x', weight: -1 } }, /^goal\.weight: expected a number >= 0, found -1$/],
    [{ goal: 3 }, /^goal: expected a goal name or \{name, weight\}, found 3$/],
    [[1], /^\(config\): expected an object, found a list \[1\]$/],
  ];
  for (const [value, message] of cases) assert.match(messageOf(value), message, JSON.stringify(value));
  assert.match(messageOf({ size: 0 }, 'strategy.options'), /^strategy\.options\.size: expected an integer/);
});

test('leafPaths and helpOf walk the fields for flags and their help', () => {
  assert.deepEqual(leafPaths(schema).map((l) => l.path), ['size', 'rate', 'mode', 'tags', 'goal', 'inner.depth']);
  assert.equal(helpOf(schema.shape.size), 'how many');
  assert.equal(helpOf(schema.shape.rate), '');
  assert.equal(describeExpected(schema.shape.tags), 'a list of a string');
});
