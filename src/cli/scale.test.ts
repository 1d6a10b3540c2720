// tsnas scale end to end on a tiny budget: the family's members, their
// FLOPs growing with φ, the JSON line and a well-formed plot; a space that
// cannot scale and bad multipliers are usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJson, runTsnas } from '../testing/cli.js';
import { assertBalancedXml } from '../testing/xml.js';

const TINY = ['--space', 'chain', '--space-options', '{"maxDepth":3,"filters":[4,8]}', '--arch', 'conv:3:4:relu > conv:3:8:relu',
  '--limit-train', '64', '--limit-test', '64', '--batch', '32', '--threads', '1'];

test('tsnas scale trains a tiny family and plots accuracy against FLOPs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-scale-'));
  try {
    const out = join(dir, 'scale.svg');
    const r = runTsnas(['scale', ...TINY, '--multipliers', '1.2,1.1,1.15', '--phi-max', '2', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = lastJson(r.stdout) as { chosen: unknown; family: { phi: number; flops: number; params: number; accuracy: number; inputSize: number }[] };
    assert.deepEqual(result.chosen, { depth: 1.2, width: 1.1, resolution: 1.15 });
    assert.deepEqual(result.family.map((m) => m.phi), [0, 1, 2]);
    for (let k = 1; k < 3; k++) assert.ok(result.family[k]!.flops > result.family[k - 1]!.flops);
    assert.equal(result.family[2]!.inputSize, Math.round(28 * 1.15 ** 2));
    for (const m of result.family) assert.ok(m.accuracy >= 0 && m.accuracy <= 1);
    const svg = readFileSync(out, 'utf8');
    assertBalancedXml(svg);
    assert.ok(svg.includes('FLOPs (multiply-adds) (log scale)') && svg.includes('>test accuracy<'));
    assert.equal((svg.match(/<circle/g) ?? []).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas scale: an unscalable space and bad multipliers are usage errors', () => {
  let r = runTsnas(['scale', '--space', 'nb201', '--arch', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--space.*cannot be scaled.*chain, mobilenet/);
  r = runTsnas(['scale', ...TINY, '--multipliers', '1.2,0.9,1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--multipliers/);
});
