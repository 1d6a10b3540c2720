// nb201 and darts specifics: text forms, error positions, encodings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsnasError } from '../errors.js';
import { Rng } from '../util/random.js';
import {
  DARTS_V2_TEXT,
  dartsSpace,
  formatGenotype,
  nb201Space,
  NB201_OPS,
  parseGenotype,
  parseNb201Ops,
  pathEncoding,
  nb201CellGraph,
  cellPaths,
} from './index.js';

const NB_TEXT = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const DARTS_V1_TEXT =
  "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])";

const isUsage = (pattern: RegExp) => (e: unknown) => e instanceof TsnasError && e.exitCode === 2 && pattern.test(e.message);

test('nb201 parses and formats benchmark strings exactly', () => {
  const nb = nb201Space();
  const s = nb.parse(NB_TEXT);
  assert.equal(s.edge_2_1, 'avg_pool_3x3');
  assert.equal(s.edge_3_2, 'skip_connect');
  assert.equal(nb.format(s), NB_TEXT);
  assert.deepEqual(nb.opsOf(s), ['nor_conv_3x3', 'nor_conv_3x3', 'avg_pool_3x3', 'skip_connect', 'nor_conv_3x3', 'skip_connect']);
  assert.deepEqual(nb.fromOps(nb.opsOf(s)), s);
  assert.deepEqual(nb.parseArch(JSON.stringify(nb.opsOf(s))), s);
  assert.equal(nb.dimensions().map((d) => d.label).join(','), 'edge_1_0,edge_2_0,edge_2_1,edge_3_0,edge_3_1,edge_3_2');
  assert.deepEqual(nb.dimensions()[0]!.values, NB201_OPS);
  assert.equal(nb.neighbours(s).length, 24);
});

test('nb201 parse errors point at the bad token', () => {
  const bad = (text: string, pattern: RegExp) => assert.throws(() => parseNb201Ops(text), isUsage(pattern));
  bad(NB_TEXT.replace('avg_pool_3x3', 'avg_pool_3x4'), /position 34: found 'avg_pool_3x4', expected an op for edge 2<-1/);
  bad(NB_TEXT.replace('avg_pool_3x3~1', 'avg_pool_3x3~0'), /position 47: found '0', expected input 1/);
  bad(NB_TEXT.replace('|+|skip', '||skip'), /position 49: found '\|', expected '\+' before node 3/);
  bad(NB_TEXT + 'x', /found 'x', expected the end of the string/);
  bad(NB_TEXT.slice(0, 48), /position 49: found the end of the text, expected '\+' before node 3/);
  bad(NB_TEXT.slice(0, 40), /found 'avg_poo', expected an op/);
  bad('', /position 1: found the end of the text, expected '\|' opening node 1/);
  // The caret sits under the bad token.
  try {
    parseNb201Ops(NB_TEXT.replace('skip_connect~2', 'conv~2'));
    assert.fail('no error');
  } catch (e) {
    const lines = (e as Error).message.split('\n');
    assert.equal(lines[2]!.indexOf('^'), NB_TEXT.lastIndexOf('skip_connect'));
  }
});

test('nb201 path encoding follows the NASLib layout', () => {
  const nb = nb201Space();
  const all3 = nb.fromOps(Array(6).fill('nor_conv_3x3'));
  const e = nb.encode(all3, 'path');
  assert.equal(e.length, 5 + 25 + 125);
  // nor_conv_3x3 is index 2 of [avg_pool_3x3, nor_conv_1x1, nor_conv_3x3, none, skip_connect].
  const ones = e.flatMap((x, i) => (x ? [i] : []));
  assert.deepEqual(ones, [2, 5 + 2 + 2 * 5, 30 + 2 + 2 * 5 + 2 * 25]);
  // Four paths: 0->3, 0->1->3, 0->2->3, 0->1->2->3; 'none' is an op, as in the reference.
  const g = nb201CellGraph(['none', 'skip_connect', 'nor_conv_1x1', 'avg_pool_3x3', 'none', 'nor_conv_3x3']);
  assert.deepEqual(cellPaths(g).map((p) => p.ops.join('>')).sort(), ['avg_pool_3x3', 'none>nor_conv_1x1>nor_conv_3x3', 'none>none', 'skip_connect>nor_conv_3x3'].sort());
  assert.equal(pathEncoding(g, { vocabulary: ['avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3', 'none', 'skip_connect'], maxLength: 3 }).filter((x) => x).length, 4);
  assert.equal(cellPaths(g, ['none']).length, 2);
  const adjacency = nb.encode(all3, 'adjacency');
  assert.equal(adjacency.length, 16 + 6 * 5);
  assert.deepEqual(adjacency.slice(0, 16), [0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  const onehot = nb.encode(all3, 'onehot');
  assert.deepEqual(onehot.slice(0, 5), [0, 0, 0, 1, 0]);
});

test('darts genotype text round-trips exactly (DARTS V1 and V2, list and range styles)', () => {
  for (const text of [DARTS_V2_TEXT, DARTS_V1_TEXT]) {
    assert.equal(formatGenotype(parseGenotype(text)), text);
    const ranged = text.replace(/\[2, 3, 4, 5\]/g, 'range(2, 6)');
    assert.equal(formatGenotype(parseGenotype(ranged)), ranged);
  }
  const d = dartsSpace();
  const s = d.parse(DARTS_V2_TEXT);
  // The sample is canonical: within a node the lower input comes first.
  assert.equal(s.normal_node4_inputs, '0,1');
  assert.equal(s.normal_node4_op0, 'skip_connect');
  assert.equal(s.normal_node4_op1, 'sep_conv_3x3');
  const canonical = d.format(s);
  assert.match(canonical, /normal_concat=range\(2, 6\)/);
  assert.deepEqual(d.parse(canonical), s);
  assert.deepEqual(d.parseArch(JSON.stringify(parseGenotype(DARTS_V2_TEXT))), s);
  assert.deepEqual(d.fromGenotype(d.genotypeOf(s)), s);
  // Pythonic variants: module-qualified name, double quotes, newlines, trailing commas.
  const loose = DARTS_V2_TEXT.replace('Genotype(', 'genotypes.Genotype(\n  ').replace(/'/g, '"').replace('], normal_concat', ',], normal_concat');
  assert.deepEqual(d.parse(loose), s);
});

test('darts parse errors name the position, the cell and the node', () => {
  const d = dartsSpace();
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3' 2)")), isUsage(/position 181: found '2', expected ',' between op and input/));
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace("'dil_conv_3x3'", "'conv_9x9'")), isUsage(/found ''conv_9x9'', expected an op/));
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)")), isUsage(/normal edge 7 \(node 5\) has input 7, expected 0..4/));
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace("('skip_connect', 0), ('dil_conv_3x3', 2)", "('skip_connect', 2), ('dil_conv_3x3', 2)")), isUsage(/normal node 5 takes input 2 twice/));
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('none', 2)")), isUsage(/has op 'none', expected one of max_pool_3x3/));
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 3, 5]')), isUsage(/normal_concat must be range\(2, 6\)/));
  assert.throws(() => d.parse(DARTS_V2_TEXT.replace(', reduce_concat=[2, 3, 4, 5]', '')), isUsage(/expected the field reduce_concat/));
  assert.throws(() => d.parse('Genotype(normal=[], normal=[])'), isUsage(/'normal' is repeated/));
});

test('darts graphs and encodings', () => {
  const d = dartsSpace();
  const s = d.parse(DARTS_V2_TEXT);
  const [normal, reduce] = d.graphs(s);
  assert.equal(normal!.name, 'normal');
  assert.equal(reduce!.name, 'reduce');
  assert.equal(normal!.edges.filter((e) => e.op).length, 8);
  assert.equal(normal!.edges.filter((e) => !e.op).length, 4);
  assert.equal(d.encode(s, 'path').length, 2 * 2 * (7 + 49 + 343 + 2401));
  assert.equal(d.encode(s, 'adjacency').length, 2 * (49 + 21 * 7));
  // Cell-level crossover takes each cell whole from one parent.
  const rng = new Rng(4);
  const other = d.sample(rng);
  for (let i = 0; i < 10; i++) {
    const child = d.crossover(s, other, rng, 'cell');
    for (const cell of ['normal', 'reduce']) {
      const labels = Object.keys(child).filter((l) => l.startsWith(cell));
      const fromS = labels.every((l) => child[l] === s[l]);
      const fromOther = labels.every((l) => child[l] === other[l]);
      assert.ok(fromS || fromOther, `${cell} cell mixes parents`);
    }
  }
});
