// tsnas space info|sample|cost|draw as a user runs them: outputs, files and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsnas } from '../testing/cli.js';
import { DARTS_V2_TEXT } from '../spaces/darts.js';
import { assertBalancedXml } from '../testing/xml.js';

const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

const tsnas = (...args: string[]) => runTsnas(args);
/** The JSON object on the last line of stdout, after checking the exit code. */
function json(...args: string[]) {
  const r = tsnas(...args);
  assert.equal(r.code, 0, `${args.join(' ')}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

test('space info: exact sizes as decimal strings, formulas and dimensions', () => {
  const nb = json('space', 'info', '--space', 'nb201', '--json');
  assert.equal(nb.size, '15625');
  assert.equal(nb.dimensions.length, 6);
  assert.deepEqual(nb.dimensions[0], {
    label: 'edge_1_0', kind: 'categorical', values: ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'], group: 'node1',
  });
  const darts = json('space', 'info', '--space', 'darts', '--json');
  assert.equal(darts.size, '1076746950455072400');
  assert.equal(BigInt(darts.size), (1n * 3n * 6n * 10n * 7n ** 8n) ** 2n);
  assert.match(darts.formula, /\(1·3·6·10·7\^8\)\^2/);
  assert.equal(darts.dimensions.length, 24);
  // Conditional dimensions say when they exist.
  const chain = json('space', 'info', '--space', 'chain', '--json');
  const layer3 = chain.dimensions.find((d: { label: string }) => d.label === 'layer3_op');
  assert.equal(layer3.when, 'depth > 3');
  const text = tsnas('space', 'info', '--space', 'nb201');
  assert.equal(text.code, 0);
  assert.match(text.stdout, /15625 samples/);
  assert.match(text.stdout, /edge_3_2 +categorical +none, skip_connect/);
});

test('space sample: seeded samples with their costs, reproducible', () => {
  const a = json('space', 'sample', '--space', 'mobilenet', '--n', '3', '--seed', '7', '--json');
  const b = json('space', 'sample', '--space', 'mobilenet', '--n', '3', '--seed', '7', '--json');
  assert.equal(a.samples.length, 3);
  assert.deepEqual(a, b, 'same seed, same samples');
  for (const s of a.samples) {
    assert.match(s.arch, /^r\d+\|/);
    assert.match(s.hash, /^[0-9a-f]{40}$/);
    assert.ok(s.params > 1e6 && s.flops > 1e7, `${s.arch}: ${s.params} params, ${s.flops} flops`);
  }
  // A sample's cost is what `space cost` gives for its text form.
  const first = a.samples[0];
  assert.deepEqual(json('space', 'cost', '--space', 'mobilenet', '--arch', first.arch, '--json'), { params: first.params, flops: first.flops });
  const other = json('space', 'sample', '--space', 'mobilenet', '--n', '3', '--seed', '8', '--json');
  assert.notDeepEqual(other.samples.map((s: { hash: string }) => s.hash), a.samples.map((s: { hash: string }) => s.hash));
  const text = tsnas('space', 'sample', '--space', 'nb201', '--n', '4', '--seed', '1');
  assert.equal(text.code, 0);
  assert.equal(text.stdout.trim().split('\n').length, 4);
  assert.match(text.stdout, /params .*M flops +\|/);
});

test("space cost: NAS-Bench-201's parameter counts, other inputs, JSON samples and DARTS genotypes", () => {
  assert.deepEqual(json('space', 'cost', '--space', 'nb201', '--arch', ALL_CONV, '--json'), { params: 1_531_546, flops: 220_119_690 });
  assert.equal(json('space', 'cost', '--space', 'nb201', '--arch', ALL_CONV, '--classes', '100', '--json').params, 1_537_396);
  // Smaller networks, one-channel input, a JSON list of six ops.
  const small = json('space', 'cost', '--space', 'nb201', '--arch', ALL_CONV, '--channels', '8', '--cells', '1', '--input', '1x28x28', '--json');
  assert.ok(small.params < 1_531_546 / 10);
  const list = JSON.stringify(Array(6).fill('nor_conv_3x3'));
  assert.deepEqual(json('space', 'cost', '--space', 'nb201', '--arch', list, '--json'), json('space', 'cost', '--space', 'nb201', '--arch', ALL_CONV, '--json'));
  const darts = json('space', 'cost', '--space', 'darts', '--arch', DARTS_V2_TEXT, '--json');
  assert.equal(darts.params, 3_349_342);
  const aux = json('space', 'cost', '--space', 'darts', '--arch', DARTS_V2_TEXT, '--auxiliary', '--json');
  assert.ok(aux.params > darts.params);
  const text = tsnas('space', 'cost', '--space', 'nb201', '--arch', ALL_CONV);
  assert.match(text.stdout, /1531546 parameters, 220119690 FLOPs/);
});

test('space draw: a well-formed SVG file, or DOT by extension', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-space-'));
  try {
    const svg = join(dir, 'cell.svg');
    const r = tsnas('space', 'draw', '--space', 'nb201', '--arch', ALL_CONV, '--out', svg);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^(<\?xml[^>]*>\s*)?<svg[\s>]/);
    assert.match(text.trimEnd(), /<\/svg>$/);
    assertBalancedXml(text);
    assert.equal(text.match(/nor_conv_3x3/g)?.length, 6, 'the six edges carry their op');
    const dot = join(dir, 'genotype.dot');
    const d = tsnas('space', 'draw', '--space', 'darts', '--arch', DARTS_V2_TEXT, '--out', dot, '--json');
    assert.equal(d.code, 0, d.stderr);
    const dotText = readFileSync(dot, 'utf8');
    assert.match(dotText, /^digraph /);
    assert.match(dotText, /cluster_1/, 'normal and reduction cells');
    assert.equal(JSON.parse(d.stdout.trim()).format, 'dot');
    const bad = tsnas('space', 'draw', '--space', 'nb201', '--arch', ALL_CONV, '--out', join(dir, 'cell.png'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--out: expected a file ending in \.svg, \.dot or \.gv/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--space-options: the course cell (4 nodes, 6 ops) in info, sample, cost and draw; bad options name the field, exit code 2', () => {
  const course = JSON.stringify({ nodes: 4, ops: ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3', 'max_pool_3x3'] });
  const info = json('space', 'info', '--space', 'nb201', '--space-options', course, '--json');
  assert.equal(info.size, String(6 ** 10));
  assert.match(info.formula, /^6\^10 = 60466176 \(6 ops on each of 10 edges\)/);
  assert.equal(info.dimensions.length, 10);
  assert.equal(info.dimensions.at(-1).label, 'edge_4_3');
  const [sampled] = json('space', 'sample', '--space', 'nb201', '--space-options', course, '--seed', '3', '--json').samples;
  assert.deepEqual(json('space', 'cost', '--space', 'nb201', '--space-options', course, '--arch', sampled.arch, '--json'), { params: sampled.params, flops: sampled.flops });
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-space-'));
  try {
    const pool = '|max_pool_3x3~0|+|max_pool_3x3~0|max_pool_3x3~1|+|max_pool_3x3~0|max_pool_3x3~1|max_pool_3x3~2|+|max_pool_3x3~0|max_pool_3x3~1|max_pool_3x3~2|max_pool_3x3~3|';
    const r = tsnas('space', 'draw', '--space', 'nb201', '--space-options', course, '--arch', pool, '--out', join(dir, 'cell.svg'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'cell.svg'), 'utf8').match(/max_pool_3x3/g)?.length, 10, 'the ten edges carry their op');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [options, message] of [['{"nodes":0}', /--space-options: space\.options\.nodes: .*integer from 1 to 8, got 0/], ['{"ops":["none","conv_9x9"]}', /space\.options\.ops\[1\]: unknown op "conv_9x9"/], ['{"cells":3}', /unknown option 'cells' of the nb201 space, expected one of nodes, ops/]] as const) {
    const bad = tsnas('space', 'info', '--space', 'nb201', '--space-options', options);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, message);
  }
});

test('bad architectures and flags: errors point at the bad token, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['space', 'cost', '--space', 'nb201', '--arch', '|nor_conv_3x3~0|+|conv~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|', '--json'],
      /--arch: at position 19: found 'conv', expected an op for edge 2<-0[^\n]*\n\|nor_conv_3x3~0\|\+\|conv~0\|[^\n]*\n {18}\^/],
    [['space', 'draw', '--space', 'chain', '--arch', 'conv:3:32:relu > sep_conv:4:64:swish', '--out', 'x.svg'],
      /--arch: at position 27: found '4', expected a kernel/],
    [['space', 'cost', '--space', 'darts', '--arch', DARTS_V2_TEXT.replace("'dil_conv_3x3', 2", "'dil_conv_9x9', 2")], /found 'dil_conv_9x9'|'dil_conv_9x9'/],
    [['space', 'cost', '--space', 'nb201', '--arch', '{"edge_1_0": "none"}'], /--arch: .*edge_2_0/],
    [['space', 'info', '--space', 'resnet'], /--space: expected one of nb201, darts, chain, mobilenet, hierarchical, transformer, got 'resnet'/],
    [['space', 'cost', '--space', 'nb201', '--arch', ALL_CONV, '--input', '3x32'], /--input: expected CxHxW/],
    [['space', 'sample', '--space', 'nb201', '--n', '0'], /--n: expected a value >= 1/],
    [['space', 'cost', '--space', 'nb201'], /--arch: is required/],
  ];
  for (const [args, message] of cases) {
    const r = tsnas(...args);
    assert.equal(r.code, 2, `${args.join(' ')} exits 2\n${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const help = tsnas('--help');
  for (const name of ['space info', 'space sample', 'space cost', 'space draw']) assert.ok(help.stdout.includes(name), name);
});
