// Latency lookup tables: measured on this runtime, their predictions rank
// fixed networks like their measured end-to-end latency, and the per-label
// tables hardware-aware DARTS reads add up the cells that share a label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DARTS_V2_TEXT, dartsSpace } from '../spaces/darts.js';
import { nb201Space } from '../spaces/nb201.js';
import { getNumThreads, memory, setNumThreads } from '../tensor/index.js';
import { latencyModel } from '../kits/index.js';
import {
  latencyCostTables, latencyMetric, loadLatencyTable, measureLatencyTable, measureNetworkLatency, measureNetworksLatency,
  predictLatency, saveLatencyTable,
} from './latency.js';

const NB201 = latencyModel('nb201');
const DARTS = latencyModel('darts');

const all = (op: string) => `|${op}~0|+|${op}~0|${op}~1|+|${op}~0|${op}~1|${op}~2|`;

/** One thread, as the table records; restored afterwards. */
function withOneThread<T>(fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(1);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}

test('nb201: the table predicts the latency ranking of six fixed networks with different op mixes (Spearman > 0.5)', () => {
  withOneThread(() => {
    const start = memory().numTensors;
    const table = measureLatencyTable(NB201, { channels: 8, cells: 1, resolution: 16, batch: 2, repeats: 11, clock: 'cpu' });
    assert.equal(table.runtime.threads, 1);
    assert.equal(table.measurement.clock, 'cpu');
    // 3 stages × 5 candidates, each once.
    assert.equal(table.entries.length, 15);
    assert.deepEqual([...new Set(table.entries.map((e) => `${e.channels}x${e.resolution}`))], ['8x16', '16x8', '32x4']);
    const entry = (op: string, c: number) => table.entries.find((e) => e.op === op && e.channels === c)!.forward_ms;
    // Timings themselves are not asserted (a busy machine changes them): `tsnas bench latency --validate N`
    // measures how well the table ranks and predicts whole networks. Here: every entry was measured.
    for (const c of [8, 16, 32]) for (const op of ['nor_conv_3x3', 'skip_connect']) assert.ok(entry(op, c) >= 0 && Number.isFinite(entry(op, c)), `${op} at C=${c}`);
    assert.ok(table.fixed.forward_ms > 0);
    const nb = nb201Space();
    const cells = [
      all('nor_conv_3x3'),
      all('nor_conv_1x1'),
      all('skip_connect'),
      all('avg_pool_3x3'),
      '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|',
      '|none~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|',
    ].map((text) => nb.parse(text));
    const predicted = cells.map((s) => predictLatency(NB201, table, s));
    const measured = measureNetworksLatency(NB201, table.network, cells, { repeats: 3, clock: 'cpu' }).map((t) => t.forward);
    assert.ok(measured.every((m) => m > 0 && Number.isFinite(m)));
    // A prediction is the fixed part plus the entries of the cell's edges, exactly.
    const sumOf = (s: (typeof cells)[number]) => table.fixed.forward_ms + NB201.sampleEdgeOps(table.network, s).reduce((acc, o) => acc + table.entries.find((e) => e.op === o.op && e.channels === o.position.channels && e.resolution === o.position.resolution)!.forward_ms, 0);
    cells.forEach((s, i) => assert.ok(Math.abs(predicted[i]! - sumOf(s)) < 1e-9, `cell ${i}: predicted ${predicted[i]}, sum of entries ${sumOf(s)}`));
    assert.equal(latencyMetric(NB201, table)(cells[2]!), predicted[2]);
    assert.equal(memory().numTensors, start);
  });
});

test('nb201: the prediction follows the fixed cell, which skips nodes reached only through none', () => {
  const config = { channels: 4, cells: 2, resolution: 8 };
  const nb = nb201Space();
  // Node 1 and node 2 feed the output only through none: edge 1<-0 is never computed.
  const ops = NB201.sampleEdgeOps(config, nb.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|none~2|'));
  assert.deepEqual(ops.slice(0, 1).map((o) => o.op), ['skip_connect']);
  assert.equal(ops.length, 3 * 2);
  // All none: one zero edge into the output per cell.
  assert.deepEqual(NB201.sampleEdgeOps(config, nb.parse(all('none'))).map((o) => o.op), Array(6).fill('none'));
});

test('darts: positions, per-label tables summed over the cells that share a label, predictions of the whole network', () => {
  withOneThread(() => {
    const start = memory().numTensors;
    const config = { channels: 4, cells: 3, resolution: 8 };
    const occ = DARTS.occurrences(config);
    assert.equal(occ.length, 3 * 14);
    // Cells: normal (0: C 4 at 8x8), reduce (1: C 8, inputs 8x8, nodes 4x4), reduce (2: C 16, inputs 4x4, nodes 2x2).
    assert.deepEqual(occ[0]!.position, { channels: 4, resolution: 8, stride: 1 });
    assert.deepEqual(occ[14 + 2]!.position, { channels: 8, resolution: 8, stride: 2 }, 'node 3 <- input 0');
    assert.deepEqual(occ[14 + 4]!.position, { channels: 8, resolution: 4, stride: 1 }, 'node 3 <- node 2');
    assert.deepEqual(occ[28]!.position, { channels: 16, resolution: 4, stride: 2 });
    assert.deepEqual(occ[41]!.position, { channels: 16, resolution: 2, stride: 1 });
    const table = measureLatencyTable(DARTS, { ...config, repeats: 7, backward: true, clock: 'cpu' });
    assert.ok(table.entries.every((e) => e.forward_backward_ms !== undefined && e.forward_backward_ms >= 0));
    const sep = table.entries.find((e) => e.op === 'sep_conv_5x5' && e.stride === 2)!;
    assert.ok(Number.isFinite(sep.forward_backward_ms!) && Number.isFinite(sep.forward_ms));
    const tables = latencyCostTables(DARTS, table);
    assert.equal(Object.keys(tables).length, 28);
    // reduce_edge_2_0 appears in cells 1 and 2, at stride 2; normal_edge_5_4 in cell 0 only.
    const entry = (op: string, c: number, r: number, stride: number) => table.entries.find((e) => e.op === op && e.channels === c && e.resolution === r && e.stride === stride)!.forward_ms;
    assert.ok(Math.abs(tables['reduce_edge_2_0']!['sep_conv_3x3']! - entry('sep_conv_3x3', 8, 8, 2) - entry('sep_conv_3x3', 16, 4, 2)) < 1e-12);
    assert.ok(Math.abs(tables['normal_edge_5_4']!['max_pool_3x3']! - entry('max_pool_3x3', 4, 8, 1)) < 1e-12);
    const v2 = dartsSpace().parse(DARTS_V2_TEXT);
    const predicted = predictLatency(DARTS, table, v2);
    const measured = measureNetworkLatency(DARTS, table.network, v2, { repeats: 3, clock: 'cpu' }).forward;
    assert.ok(predicted > 0 && measured > 0, `predicted ${predicted} ms, measured ${measured} ms`);
    assert.ok(predictLatency(DARTS, table, v2, { backward: true }) >= predicted);
    // A table belongs to its space.
    assert.throws(() => predictLatency(NB201, table, v2), /measured for space darts, not nb201/);
    assert.equal(memory().numTensors, start);
  });
});

test('latency tables round-trip through JSON; a damaged file is named with its field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-latency-'));
  try {
    const table = withOneThread(() => measureLatencyTable(NB201, { channels: 4, cells: 1, resolution: 8, repeats: 3, warmup: 1 }));
    const path = join(dir, 'lut.json');
    saveLatencyTable(path, table);
    const back = loadLatencyTable(path);
    assert.deepEqual(back, table);
    const cell = nb201Space().parse(all('nor_conv_1x1'));
    assert.equal(predictLatency(NB201, back, cell), predictLatency(NB201, table, cell));
    assert.throws(() => predictLatency(NB201, back, cell, { backward: true }), /--backward/);
    const raw = JSON.parse(readFileSync(path, 'utf8'));
    const clockless = { ...raw, measurement: { ...raw.measurement, clock: 'sundial' } };
    writeFileSync(path, JSON.stringify(clockless));
    assert.throws(() => loadLatencyTable(path), /measurement\.clock: expected wall or cpu, found "sundial"/);
    raw.entries[3].forward_ms = 'fast';
    writeFileSync(path, JSON.stringify(raw));
    assert.throws(() => loadLatencyTable(path), (e: Error) => e.message.includes(path) && /entries\[3\]\.forward_ms: expected a number/.test(e.message));
    // A table of another configuration has no entry for this network's positions.
    const other = { ...table, network: { ...table.network, channels: 6 } };
    assert.throws(() => predictLatency(NB201, other, cell), /no entry for nor_conv_1x1 at 6 channels/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
