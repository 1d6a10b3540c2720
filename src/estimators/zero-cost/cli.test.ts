// tsnas proxies end to end on a synthetic CIFAR-10 directory, with the vendored NAS-Bench-201 table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDataset, writeCifar10Dir } from '../../data/synthetic.js';
import { networkShape, proxiesCommand } from '../../cli/commands/proxies.js';
import { memory } from '../../tensor/index.js';
import { populationScores } from './population.js';

async function run(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await proxiesCommand.run(argv);
    return { code, lines: out.join('').split('\n').filter((l) => l !== '') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

test('tsnas proxies scores cells and correlates them with the table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-'));
  try {
    const data = syntheticDataset({ n: 20, channels: 3, height: 32, width: 32, numClasses: 10, seed: 1 });
    writeCifar10Dir(dir, data, data);
    const before = memory().numTensors;
    const common = ['--dataset', `cifar10:${dir}`, '--channels', '2', '--cells', '1', '--batch', '4', '--seed', '3'];
    const { code, lines } = await run([...common, '--archs', '4', '--proxies', 'synflow,nwot,params',
      '--benchmark', 'nb201:cifar100', '--json']);
    assert.equal(code, 0);
    assert.equal(lines.length, 5, 'one line per cell, then the summary');
    const cells = lines.slice(0, 4).map((l) => JSON.parse(l));
    for (const c of cells) assert.deepEqual(Object.keys(c.scores), ['synflow', 'nwot', 'params']);
    const summary = JSON.parse(lines[4]!);
    assert.equal(summary.n, 4);
    assert.equal(summary.benchmark, 'nb201:cifar100');
    assert.deepEqual(Object.keys(summary.spearman), ['synflow', 'nwot', 'params']);
    assert.ok(summary.seconds_per_arch > 0);
    assert.equal(memory().numTensors, before);

    // A file of arch strings, in text mode: one line per cell with its scores.
    const file = join(dir, 'archs.txt');
    writeFileSync(file, `# two cells\n${cells[0].arch}\n${cells[1].arch}\n`);
    const text = await run([...common, '--archs', file, '--proxies', 'synflow']);
    assert.equal(text.lines.length, 2);
    assert.ok(text.lines[0]!.startsWith(cells[0].arch));
    assert.match(text.lines[0]!, new RegExp(`synflow=`));
    // Same seed, same scores.
    const again = await run([...common, '--archs', file, '--proxies', 'synflow', '--json']);
    assert.equal(JSON.parse(again.lines[0]!).scores.synflow, cells[0].scores.synflow);
    // The reference code's network and an augmented batch: other fisher and synflow values, same
    // parameter count of the cost model (it counts the benchmark's network).
    const variant = await run([...common, '--archs', file, '--proxies', 'fisher,synflow,params', '--network', 'zero-cost-nas', '--json']);
    const plain = await run([...common, '--archs', file, '--proxies', 'fisher,synflow,params', '--json']);
    const [v, p] = [JSON.parse(variant.lines[0]!), JSON.parse(plain.lines[0]!)];
    assert.notEqual(v.scores.synflow, p.scores.synflow);
    assert.equal(v.scores.params, p.scores.params);
    assert.equal(JSON.parse(variant.lines.at(-1)!).network, 'zero-cost-nas');
    const augmented = await run([...common, '--archs', file, '--proxies', 'fisher', '--augment', '--json']);
    assert.notEqual(JSON.parse(augmented.lines[0]!).scores.fisher, p.scores.fisher);
    assert.equal(JSON.parse(augmented.lines.at(-1)!).augment, true);
    // Fresh draws: the same cell listed twice gets two batches and two initialisations (other
    // scores), reproducibly; without them it scores the same twice. No tensor is left behind.
    const twice = join(dir, 'twice.txt');
    writeFileSync(twice, `${cells[0].arch}\n${cells[0].arch}\n`);
    const fresh = async (extra: string[] = []) => (await run([...common, '--archs', twice, '--proxies', 'snip', '--json', ...extra]))
      .lines.map((l) => JSON.parse(l));
    const [f1, f2, fSummary] = await fresh(['--fresh-draws']);
    assert.notEqual(f1.scores.snip, f2.scores.snip);
    assert.equal(fSummary.fresh_draws, true);
    const again2 = await fresh(['--fresh-draws']);
    assert.deepEqual(again2.slice(0, 2).map((c) => c.scores), [f1.scores, f2.scores]);
    const [s1, s2] = await fresh();
    assert.equal(s1.scores.snip, s2.scores.snip);
    assert.equal(memory().numTensors, before);
    // Population proxies: the cells are printed once all are scored, with their components and the aggregate.
    const pop = await run([...common, '--archs', '3', '--proxies', 'az_nas,ensemble', '--ensemble', 'meco,swap', '--json']);
    const popCells = pop.lines.slice(0, 3).map((l) => JSON.parse(l));
    for (const c of popCells) {
      assert.deepEqual(Object.keys(c.scores).sort(), ['az_expressivity', 'az_nas', 'az_progressivity', 'az_trainability', 'ensemble', 'flops', 'meco', 'swap']);
      assert.ok(c.scores.az_nas <= 0 && c.scores.ensemble <= 0, 'sums of log(rank / L)');
    }
    // The aggregate is that of the printed components over the cells of the run.
    assert.deepEqual(populationScores(popCells.map((c) => c.scores), 'az_nas'), popCells.map((c) => c.scores.az_nas));
    assert.deepEqual(JSON.parse(pop.lines[3]!).ensemble, ['meco', 'swap']);
    assert.equal(memory().numTensors, before);
    await assert.rejects(run([...common, '--archs', '2', '--ensemble', 'meco']), /at least two/);
    await assert.rejects(run([...common, '--archs', '2', '--network', 'pytorch']), /--network/);
    await assert.rejects(run([...common, '--archs', '2', '--proxies', 'bogus']), /unknown proxy 'bogus'/);
    await assert.rejects(run([...common, '--archs', '2', '--benchmark', 'nb201:mnist']), /nb201:<dataset>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas proxies --out appends each cell as it is scored and resumes where a run stopped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-out-'));
  try {
    const data = syntheticDataset({ n: 8, channels: 3, height: 32, width: 32, numClasses: 10, seed: 1 });
    writeCifar10Dir(dir, data, data);
    const before = memory().numTensors;
    const out = join(dir, 'scores.jsonl');
    const common = ['--dataset', `cifar10:${dir}`, '--channels', '2', '--cells', '1', '--batch', '4', '--threads', '1', '--proxies', 'meco,params', '--out', out, '--json'];
    const records = () => readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    const first = await run([...common, '--archs', '2']);
    assert.equal(first.code, 0);
    assert.equal(records().length, 2, 'one line per cell, no summary');
    // The same 3 cells drawn with the same seed start with those 2: only the third is scored and appended.
    const archs3 = (await run(['--dataset', `cifar10:${dir}`, '--channels', '2', '--cells', '1', '--batch', '4', '--proxies', 'params', '--archs', '3', '--json']))
      .lines.slice(0, 3).map((l) => JSON.parse(l).arch);
    assert.deepEqual(records().map((r) => r.arch), archs3.slice(0, 2));
    const second = await run([...common, '--archs', '3']);
    assert.equal(JSON.parse(second.lines.at(-1)!).n, 1);
    assert.deepEqual(records().map((r) => r.arch), archs3);
    // A record cut short by a kill is dropped and its cell scored again, on a line of its own.
    const whole = readFileSync(out, 'utf8');
    writeFileSync(out, whole.slice(0, whole.length - 20));
    const third = await run([...common, '--archs', '3']);
    assert.equal(JSON.parse(third.lines.at(-1)!).n, 1);
    const cellsOf = (rs: { arch: string; scores: unknown }[]) => rs.map(({ arch, scores }) => ({ arch, scores }));
    assert.deepEqual(cellsOf(records()), cellsOf(whole.trim().split('\n').map((l) => JSON.parse(l))));
    assert.equal(memory().numTensors, before);
    // Another run's file (other proxies), population proxies and a corrupt line are refused by name.
    await assert.rejects(run([...common.slice(0, -5), '--proxies', 'params', '--out', out, '--archs', '3']), /scores\.jsonl: line 1 holds the scores meco,params, not this run's params/);
    await assert.rejects(run([...common, '--archs', '3', '--proxies', 'az_nas']), /--out: az_nas, te_nas and ensemble/);
    appendFileSync(out, 'garbage\n');
    await assert.rejects(run([...common, '--archs', '3']), /scores\.jsonl: line 4 is not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tsnas proxies --shape scores with the network of another NAS-Bench-201 dataset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-proxies-shape-'));
  try {
    const data = syntheticDataset({ n: 8, channels: 3, height: 32, width: 32, numClasses: 10, seed: 1 });
    writeCifar10Dir(dir, data, data);
    const before = memory().numTensors;
    const common = ['--dataset', `cifar10:${dir}`, '--channels', '2', '--cells', '1', '--batch', '4', '--threads', '1', '--archs', '2', '--proxies', 'meco,params', '--json'];
    const shaped = async (shape?: string) => {
      const { lines } = await run([...common, ...(shape ? ['--shape', shape] : [])]);
      return { cells: lines.slice(0, 2).map((l) => JSON.parse(l)), summary: JSON.parse(lines[2]!) };
    };
    const own = await shaped();
    const c100 = await shaped('nb201:cifar100');
    const im16 = await shaped('nb201:imagenet16_120');
    assert.deepEqual([own.summary.classes, own.summary.input], [10, [3, 32, 32]]);
    assert.deepEqual([c100.summary.classes, c100.summary.input], [100, [3, 32, 32]]);
    assert.deepEqual([im16.summary.classes, im16.summary.input], [120, [3, 16, 16]]);
    // The head grows by (classes - 10) × (4C + 1) weights (C = 2); the input size changes no parameter count.
    const headWidth = 4 * 2 + 1;
    assert.equal(c100.cells[0].scores.params - own.cells[0].scores.params, 90 * headWidth);
    assert.equal(im16.cells[0].scores.params - own.cells[0].scores.params, 110 * headWidth);
    // Same images and weights' seed, other network: other features.
    assert.notEqual(im16.cells[0].scores.meco, own.cells[0].scores.meco);
    assert.equal(memory().numTensors, before);
    await assert.rejects(run([...common, '--shape', 'cifar100']), /--shape: expected nb201:<dataset>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The dataset's images and labels must fit the network.
  const grey = { channels: 1, height: 28, width: 28, numClasses: 10 };
  assert.throws(() => networkShape('nb201:cifar100', grey, 'fashion-mnist'), /--shape: fashion-mnist images have 1 channels; the network of nb201:cifar100 takes 3/);
  assert.throws(() => networkShape('nb201:cifar10', { ...grey, channels: 3, numClasses: 100 }, 'cifar100'), /more than the 10 outputs/);
  assert.deepEqual(networkShape(undefined, grey, 'fashion-mnist'), { numClasses: 10 });
  assert.deepEqual(networkShape('nb201:imagenet16_120', { ...grey, channels: 3, height: 32, width: 32 }, 'cifar10'), { numClasses: 120, resize: 16 });
});
