// The user-defined space example from src/spaces/README.md, kept runnable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineSpace, diffSamples, range, whenGreater } from './index.js';
import { Rng } from '../util/random.js';

test('README example: a user-defined space', () => {
  const tiny = defineSpace({
    name: 'tiny',
    dimensions: [
      { label: 'depth', kind: 'integer', values: range(1, 3) },
      ...[0, 1, 2].flatMap((i) => [
        // Block i exists only when depth > i (block 0 always exists).
        { label: `block${i}_op`, values: ['conv3x3', 'conv5x5', 'maxpool'], group: `block${i}`, ...(i > 0 ? { when: whenGreater('depth', i) } : {}) },
        { label: `block${i}_width`, kind: 'integer' as const, values: [16, 32, 64], group: `block${i}`, ...(i > 0 ? { when: whenGreater('depth', i) } : {}) },
      ]),
      { label: 'activation', values: ['relu', 'swish'] },
    ],
    // Optional: a text form (default: canonical JSON) with its parser, and cell
    // graphs (`graphs`) for adjacency/path encodings and drawing.
    format: (s) => `${Array.from({ length: Number(s.depth) }, (_, i) => `${s[`block${i}_op`]}/${s[`block${i}_width`]}`).join(' ')} ${s.activation}`,
    parse: (text) => {
      const parts = text.trim().split(/\s+/);
      const activation = parts.pop()!;
      const s: Record<string, string | number> = { depth: parts.length, activation };
      parts.forEach((p, i) => {
        const [op, width] = p.split('/');
        s[`block${i}_op`] = op!;
        s[`block${i}_width`] = Number(width);
      });
      return s; // the builder validates it and reports bad labels/values
    },
  });

  assert.equal(tiny.size(), 1638n);
  assert.equal(tiny.sizeFormula(), 'sum over depth of the product of the active choices: 3^2 · 2 + 3^4 · 2 + 3^6 · 2 = 1638');
  const rng = new Rng(42);
  const a = tiny.sample(rng);
  const b = tiny.mutate(a, rng);
  assert.equal(diffSamples(a, b).changed.length, 1);
  const child = tiny.crossover(a, b, rng, 'cell');
  tiny.validate(child);
  assert.match(tiny.hash(child), /^[0-9a-f]{40}$/);
  assert.equal(tiny.encode(child, 'onehot').length, 23);
  const two = tiny.parse('conv3x3/16 maxpool/64 relu');
  assert.equal(tiny.neighbours(two).length, 11);
  assert.deepEqual(tiny.parse(tiny.format(a)), a);
  assert.throws(() => tiny.parse('conv3x3/17 relu'), /'block0_width' has value 17/);
});
