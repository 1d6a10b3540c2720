// Hostile and mistaken command lines, one table: each exits with the given
// code, names the culprit, prints no stack trace and leaves no file behind
// (every row runs in an empty directory of its own, and the fixtures'
// directory is listed before and after). A new command, flag or file format
// joins the table (issue 17 keeps growing this corpus). The rows share two
// processes (runTsnasRows: main() per row, output captured), so that
// libtorch loads twice, not once per row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { encodeCifarRecords, encodeIdx, encodePng, encodePnm, syntheticDataset, writeIdxPair } from '../data/synthetic.js';
import { IDX_IMAGES_MAGIC } from '../data/idx.js';
import { runTsnas, runTsnasRows, type CliResult } from '../testing/cli.js';
import { rawSafetensors } from '../testing/fixtures.js';
import { saveSafetensors } from '../export/safetensors.js';
import { buildNetwork } from '../kits/index.js';
import { nb201Space } from '../spaces/nb201.js';
import { memory } from '../tensor/index.js';

const NB201_ARCH = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|';

interface Row {
  args: string[];
  message: RegExp;
  /** Default 2. */
  code?: number;
}

/** Every file and directory under dir, relative to it, sorted. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((p) => relative(dir, join(dir, p))).sort();
}

/** Writes a folder dataset root/{a,b}/ with one good side x side image in b and the given file in a. */
function folderWith(root: string, name: string, bytes: Uint8Array | string, side = 8): string {
  const good = encodePng({ width: side, height: side, channels: 1, data: new Uint8Array(side * side) });
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'), { recursive: true });
  writeFileSync(join(root, 'b', 'good.png'), good);
  writeFileSync(join(root, 'a', name), bytes);
  return `folder:${root}`;
}

/** A Fashion-MNIST directory of n synthetic 28x28 images per split, with `replace` written over some of its files. */
function idxDir(root: string, n: number, replace: Record<string, Uint8Array | string> = {}): string {
  const data = syntheticDataset({ n, channels: 1, height: 28, width: 28, numClasses: 10 });
  writeIdxPair(root, 'train', data);
  writeIdxPair(root, 't10k', data);
  for (const [name, bytes] of Object.entries(replace)) writeFileSync(join(root, name), bytes);
  return `fashion-mnist:${root}`;
}

test('hostile inputs: exit 2, the culprit named, no stack trace, no stray file', { timeout: 600_000 }, async () => {
  const tensorsBefore = memory().numTensors;
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-hostile-'));
  const stores = mkdtempSync(join(tmpdir(), 'tsnas-hostile-stores-'));
  try {
    const fx = join(dir, 'fx');
    mkdirSync(fx);
    const file = (name: string, content: string | Uint8Array) => {
      const path = join(fx, name);
      writeFileSync(path, content);
      return path;
    };
    const store = `sqlite:${join(fx, 'none.db')}`;
    const row = (alias: string, n: number) => `[${Array(n).fill(`*${alias}`).join(', ')}]`;
    const nest = (i: number) => `a${i}: &a${i} {${Array.from({ length: 8 }, (_, j) => `k${j}: *a${i - 1}`).join(', ')}}`;
    const yaml = {
      empty: file('empty.yaml', ''),
      comments: file('comments.yaml', '# nothing but a comment\n\n'),
      dup: file('dup.yaml', 'name: a\nbudget: {trials: 3}\nbudget: {trials: 4}\n'),
      huge: file('huge.yaml', Array.from({ length: 120_000 }, (_, i) => `k${i}: ${i}`).join('\n')),
      bomb: file('bomb.yaml', `a: &a [1, 2]\nb: &b ${row('a', 10)}\nc: &c ${row('b', 10)}\nd: &d ${row('c', 10)}\ne: ${row('d', 100)}\n`),
      mapBomb: file('map-bomb.yaml', ['a0: &a0 {x: 1, y: 2}', ...Array.from({ length: 11 }, (_, i) => nest(i + 1))].join('\n')),
      deep: file('deep.yaml', `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`),
      list: file('list.yaml', '- 1\n- 2\n'),
    };

    // Weights for `tsnas export`: the network is never built, so one chain layer will do.
    const f32 = (shape: unknown, offsets: unknown) => ({ dtype: 'F32', shape, data_offsets: offsets });
    const good = rawSafetensors({ 'blocks.0.0.weight': f32([2], [0, 8]) }, 8);
    const weights: [string, Uint8Array | string, RegExp][] = [
      ['null.safetensors', rawSafetensors(null, 0), /null\.safetensors: header must be a JSON object of tensors, found null/],
      ['array.safetensors', rawSafetensors([1], 0), /array\.safetensors: header must be a JSON object of tensors, found an array/],
      ['not-json.safetensors', (() => { const b = rawSafetensors({}, 0); b[8] = 0x7b; b[9] = 0x7b; return b; })(), /not-json\.safetensors: header is not JSON/],
      ['negative.safetensors', rawSafetensors({ w: f32([-2], [0, 8]) }, 8), /negative\.safetensors: tensor "w": shape must be a list of integers >= 0, found \[-2\]/],
      ['fraction.safetensors', rawSafetensors({ w: f32([1.5], [0, 8]) }, 8), /fraction\.safetensors: tensor "w": shape must be .*\[1\.5\]/],
      ['string-dim.safetensors', rawSafetensors({ w: f32(['2'], [0, 8]) }, 8), /string-dim\.safetensors: tensor "w": shape must be .*\["2"\]/],
      ['huge-dim.safetensors', rawSafetensors({ w: f32([1e300], [0, 8]) }, 8), /huge-dim\.safetensors: tensor "w": shape must be/],
      ['huge-count.safetensors', rawSafetensors({ w: f32([2 ** 40, 2 ** 40], [0, 8]) }, 8), /huge-count\.safetensors: tensor "w": shape .* needs more than the 8 data bytes/],
      ['no-offsets.safetensors', rawSafetensors({ w: { dtype: 'F32', shape: [2] } }, 8), /no-offsets\.safetensors: tensor "w": data_offsets must be \[begin, end\]/],
      ['past-end.safetensors', rawSafetensors({ w: f32([2], [0, 16]) }, 8), /past-end\.safetensors: tensor "w": data_offsets \[0, 16\] are outside the 8 data bytes/],
      ['overlap.safetensors', rawSafetensors({ v: f32([2], [0, 8]), w: f32([1], [4, 8]) }, 8), /overlap\.safetensors: tensor "w" at \[4, 8\] overlaps/],
      ['size.safetensors', rawSafetensors({ w: f32([3], [0, 8]) }, 12), /size\.safetensors: tensor "w": shape \[3\] of F32 needs 12 bytes, data_offsets \[0, 8\] give 8/],
      ['dtype.safetensors', rawSafetensors({ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, 8), /dtype\.safetensors: tensor "w": unsupported dtype "Q4"/],
      ['truncated.safetensors', good.slice(0, good.length - 3), /truncated\.safetensors: tensor "blocks\.0\.0\.weight": data_offsets \[0, 8\] are outside the 5 data bytes/],
      ['short-header.safetensors', good.slice(0, 12), /short-header\.safetensors: header length \d+ runs past the end of the 12-byte file/],
      ['tiny.safetensors', 'abc', /tiny\.safetensors: expected at least 8 bytes/],
    ];
    const exportArgs = (w: string, onnx = join(fx, 'out.onnx')) => ['export', '--space', 'chain', '--arch', 'conv:3:16:relu', '--weights', w, '--onnx', onnx];
    const nb201Weights = join(fx, 'nb201.safetensors');
    const net = buildNetwork('nb201', nb201Space().parse(NB201_ARCH), { numClasses: 3, inChannels: 1, channels: 4, cells: 1 });
    saveSafetensors(nb201Weights, net.stateDict());
    net.dispose();
    const aDirectory = join(fx, 'a-directory');
    mkdirSync(aDirectory);
    const missing = join(fx, 'no', 'such');
    const aFile = file('a-file.txt', 'x');

    // Datasets: a good one, an empty one, a one-image one, and broken files of each format.
    const fm = idxDir(join(fx, 'fm'), 6);
    const fmEmpty = idxDir(join(fx, 'fm-empty'), 0);
    const fmOne = idxDir(join(fx, 'fm-one'), 1);
    const odd = folderWith(join(fx, 'odd'), 'x.png', encodePng({ width: 5, height: 5, channels: 1, data: new Uint8Array(25) }), 5);
    const idxImages = 'train-images-idx3-ubyte';
    const pgm = (header: string, pixels: number) => Buffer.concat([Buffer.from(header, 'latin1'), Buffer.alloc(pixels)]);
    const png = Buffer.from(encodePng({ width: 8, height: 8, channels: 1, data: new Uint8Array(64) }));
    const hugePng = Buffer.from(png);
    hugePng.writeUInt32BE(100_000, 16);
    hugePng.writeUInt32BE(100_000, 20);
    const badIdat = Buffer.from(png);
    badIdat.fill(0x55, badIdat.indexOf('IDAT') + 6, badIdat.indexOf('IDAT') + 10);
    const cifar = join(fx, 'cifar');
    mkdirSync(cifar);
    const record = syntheticDataset({ n: 2, channels: 3, height: 32, width: 32 }).images as Uint8Array;
    writeFileSync(join(cifar, 'data_batch_1.bin'), encodeCifarRecords([[1], [12]], record));
    writeFileSync(join(cifar, 'test_batch.bin'), encodeCifarRecords([[1], [2]], record));
    const cifarShort = join(fx, 'cifar-short');
    mkdirSync(cifarShort);
    writeFileSync(join(cifarShort, 'data_batch_1.bin'), encodeCifarRecords([[1]], record).subarray(0, 3000));
    const broken: [string, RegExp][] = [
      [idxDir(join(fx, 'idx-header'), 2, { [idxImages]: encodeIdx(IDX_IMAGES_MAGIC, [2], new Uint8Array(0)).subarray(0, 6) }), /idx-header\/train-images-idx3-ubyte: truncated header/],
      [idxDir(join(fx, 'idx-short'), 2, { [idxImages]: encodeIdx(IDX_IMAGES_MAGIC, [2, 28, 28], new Uint8Array(100)) }), /idx-short\/train-images-idx3-ubyte: truncated file/],
      [idxDir(join(fx, 'idx-magic'), 2, { [idxImages]: encodeIdx(0x0801, [2, 28, 28], new Uint8Array(2 * 784)) }), /idx-magic\/train-images-idx3-ubyte: .*magic/i],
      [idxDir(join(fx, 'idx-gzip'), 2, { [idxImages]: Buffer.from([0x1f, 0x8b, 1, 2, 3]) }), /idx-gzip\/train-images-idx3-ubyte: gzip data is corrupt or truncated/],
      [`cifar10:${cifar}`, /cifar\/data_batch_1\.bin: .*label/i],
      [`cifar10:${cifarShort}`, /cifar-short\/data_batch_1\.bin: expected a multiple of 3073 bytes/],
      [folderWith(join(fx, 'png-short'), 'x.png', png.subarray(0, 30)), /png-short\/a\/x\.png: truncated PNG/],
      [folderWith(join(fx, 'png-idat'), 'x.png', badIdat), /png-idat\/a\/x\.png: PNG image data is corrupt/],
      [folderWith(join(fx, 'png-huge'), 'x.png', hugePng), /png-huge\/a\/x\.png: truncated PNG: expected 10000100000 bytes of filtered rows/],
      [folderWith(join(fx, 'not-image'), 'x.png', 'hello'), /not-image\/a\/x\.png: expected a PNG, JPEG or binary PGM\/PPM image/],
      [folderWith(join(fx, 'jpeg-stub'), 'x.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), /jpeg-stub\/a\/x\.jpg: corrupt or unsupported JPEG/],
      [folderWith(join(fx, 'pgm-short'), 'x.pgm', pgm('P5\n8 8\n255\n', 10)), /pgm-short\/a\/x\.pgm: truncated P5 file/],
      [folderWith(join(fx, 'pgm-maxval'), 'x.pgm', pgm('P5\n8 8\n0\n', 64)), /pgm-maxval\/a\/x\.pgm: .*maxval/],
      [folderWith(join(fx, 'pgm-huge'), 'x.pgm', pgm('P5\n99999999 99999999\n255\n', 0)), /pgm-huge\/a\/x\.pgm: truncated P5 file: expected 9999999800000000 pixel bytes/],
      [folderWith(join(fx, 'ppm-bad'), 'x.ppm', encodePnm({ width: 8, height: 8, channels: 3, data: new Uint8Array(100) }).subarray(0, 40)), /ppm-bad\/a\/x\.ppm: truncated/],
      [`fashion-mnist:${join(fx, 'absent')}`, /absent: Fashion-MNIST directory not found/],
      [`folder:${aFile}`, /a-file\.txt: expected the image folder directory, found a file/],
    ];
    const nb201 = NB201_ARCH;
    const train = (dataset: string, ...more: string[]) => ['train', '--arch', nb201, '--channels', '4', '--cells', '1', '--epochs', '0', '--threads', '1', '--dataset', dataset, ...more];
    const trainingConfig = (name: string, dataset: string, resolution: number) => file(`${name}.yaml`, [
      `name: ${name}`, 'space: {name: nb201}', 'strategy: {name: random}',
      `estimator: {kind: training, epochs: 1, batch: 4, channels: 4, cells: 1, resolution: ${resolution}}`,
      `dataset: {name: "${dataset}", validFraction: 0.2}`, 'objectives: [accuracy]', 'constraints: []', 'budget: {trials: 1}', 'threads: 1',
    ].join('\n'));
    const weightSharingConfig = (name: string, resolution: number, finalResolution: number) => file(`${name}.yaml`, [
      `name: ${name}`, 'space: {name: nb201}', 'estimator: {kind: supernet}', `dataset: {name: "${fm}"}`, 'threads: 1',
      `strategy: {name: spos, options: {epochs: 1, channels: 4, cells: 1, resolution: ${resolution}, batch: 4, stepsPerEpoch: 1, budget: 2, population: 2}}`,
      `final: {epochs: 1, batch: 4, channels: 4, cells: 1, resolution: ${finalResolution}}`,
    ].join('\n'));
    const darts = "Genotype(normal=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_5x5', 0), ('dil_conv_5x5', 1), ('dil_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 9)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('dil_conv_5x5', 1), ('sep_conv_5x5', 1), ('max_pool_3x3', 2), ('avg_pool_3x3', 1), ('skip_connect', 3), ('dil_conv_5x5', 2), ('avg_pool_3x3', 4)], reduce_concat=range(2, 6))";
    const arch: [string, string, RegExp][] = [
      ['chain', 'conv:3:17:relu', /--arch: at position 8: found '17', expected a filter count/],
      ['chain', nb201, /--arch: at position 1: .*expected a layer/],
      ['nb201', '|nor_conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|', /--arch: at position 2: found 'nor_conv_9x9', expected an op for edge 1<-0/],
      ['nb201', '|none~1|+|none~0|none~1|+|none~0|none~1|none~2|', /--arch: at position 7: found '1', expected input 0/],
      ['darts', darts, /--arch: normal edge 7 \(node 5\) has input 9, expected 0\.\.4/],
      ['darts', nb201, /--arch: at position 1: found '\|', expected a name, number, quoted string/],
      ['hierarchical', `${nb201} @ 3x33,2x64`, /--arch: at position \d+: found '3x33', expected a stage/],
      ['hierarchical', `${nb201} @ 3x32`, /--arch: .*expected 2 or 3 or 4 stages \(found 1\)/],
      ['mobilenet', 'r100|k3e3,k5e6|k7e4|k7e6|k3e3|k5e3', /--arch: at position 1: found 'r100', expected a resolution/],
      ['mobilenet', 'r224|k3e3', /--arch: .*expected 5 stages separated by '\|' \(found 1\)/],
      ['transformer', 'e64|h3:m1', /--arch: at position 5: found 'h3:m1', expected a layer 'h<heads>:m<ratio>'/],
      ['transformer', '{"e": "x"}', /--arch: space transformer: unknown label 'e'/],
    ];

    const rows: Row[] = [
      // Arguments and flags.
      { args: ['space', 'info', '--space', 'nb201', 'extra'], message: /extra: expected no arguments besides flags, got 'extra'/ },
      { args: ['ls', 'extra', '--storage', store], message: /extra: expected no arguments besides flags/ },
      { args: ['show', '--storage', store], message: /NAME: expected one NAME, got none/ },
      { args: ['show', 'a', 'b', '--storage', store], message: /NAME: expected one NAME, got 'a' 'b'/ },
      { args: ['init', 'a.yaml', 'b.yaml'], message: /FILE: expected at most 1 FILE/ },
      { args: ['search', '--seed', '0x10', '--check'], message: /--seed: expected an integer >= 0 and <= 4294967295, found "0x10"/ },
      { args: ['search', '--seed', '4294967296', '--check'], message: /--seed: expected an integer >= 0 and <= 4294967295, found 4294967296/ },
      { args: ['train', '--seed', '0x10'], message: /--seed: expected an integer, got '0x10'/ },
      { args: ['train', '--seed', '99999999999'], message: /--seed: expected a value <= 4294967295/ },
      { args: ['search', '--name', '..', '--check'], message: /--name: expected a name of letters, digits, _ \. - starting with a letter or digit/ },
      { args: ['search', '--strategy.options.population', 'abc', '--check'], message: /--strategy\.options\.population: expected an integer >= 1/ },
      { args: ['search', '--strategy.options.nosuch', '1', '--check'], message: /strategy\.options\.nosuch: unknown key/ },
      { args: ['search', '--budget', '1e11', '--check'], message: /--budget: expected an integer >= 1 and <= 10000000/ },
      { args: ['search', '--budget.trials', 'abc', '--check'], message: /--budget\.trials: expected an integer >= 1 and <= 10000000, found "abc"/ },
      { args: ['search', '--parallel', '0', '--check'], message: /--parallel: expected an integer >= 1 and <= 64, found 0/ },
      { args: ['train', '--arch', nb201, '--lr', 'abc'], message: /--lr: expected a number, got 'abc'/ },
      { args: ['train', '--arch', nb201, '--lr', '1e999'], message: /--lr: expected a number, got '1e999'/ },
      { args: ['train', '--arch', nb201, '--channels', '1.5'], message: /--channels: expected an integer, got '1\.5'/ },
      { args: ['train', '--arch', nb201, '--epochs', '-1'], message: /--epochs: expected a value >= 0, got -1/ },
      { args: ['train', '--arch', nb201, '--threads', '0'], message: /--threads: expected a value >= 1, got 0/ },
      { args: ['train', '--arch', nb201, '--json=3'], message: /--json: expected true or false, got '3'/ },
      { args: ['train', '--arch', nb201, '--batch'], message: /--batch: missing value/ },
      { args: ['export', '--space', 'chain', '--arch', 'conv:3:16:relu', '--weights', 'w', '--onnx', 'o.onnx', '--check-batch', '0'], message: /--check-batch: expected a value >= 1, got 0/ },
      { args: ['export', '--space', 'chain', '--arch', 'conv:3:16:relu', '--weights', 'w', '--onnx', 'o.onnx', '--input', '3,x,32'], message: /--input: expected C,H,W/ },
      { args: ['ls', '--storage', '42'], message: /--storage: storage URL must be sqlite:PATH/ },
      // Stores and limits.
      { args: ['show', 'x', '--storage', store], message: /--storage: no tsnas store at/ },
      { args: ['rm', 'x', '--storage', store], message: /--storage: no tsnas store at/ },
      { args: ['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'random', '--seeds', '0-1000000000'], message: /--seeds: 1000000001 seeds, at most 100000 in one run/ },
      { args: ['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'random', '--budget', '100000000000'], message: /--budget: expected a value <= 15625/ },
      { args: ['search', '--budget', '2', '--storage', 'sqlite:/proc/tsnas-x/y.db'], message: /--storage: cannot create the store's directory \/proc\/tsnas-x/ },
      { args: ['search', '--budget', '2', '--quiet', '--storage', 'sqlite:/proc/tsnas-x.db'], message: /--storage: cannot write to the store \/proc\/tsnas-x\.db \(SQLITE_CANTOPEN: .*\): the file or its directory is read-only/ },
      // Config files.
      { args: ['search', '--config', yaml.empty, '--check'], message: /empty\.yaml: the config file is empty/ },
      { args: ['search', '--config', yaml.comments, '--check'], message: /comments\.yaml: the config file is empty/ },
      { args: ['search', '--config', yaml.dup, '--check'], message: /dup\.yaml: the key "budget" appears twice in one mapping \(line 3\)/ },
      { args: ['search', '--config', yaml.huge, '--check'], message: /huge\.yaml: is \d+ bytes, more than a config may be/ },
      { args: ['search', '--config', yaml.bomb, '--check'], message: /bomb\.yaml: cannot parse: .*alias/i },
      { args: ['search', '--config', yaml.mapBomb, '--check'], message: /map-bomb\.yaml: cannot parse: .*alias/i },
      { args: ['search', '--config', yaml.deep, '--check'], message: /deep\.yaml: cannot parse/ },
      { args: ['search', '--config', yaml.list, '--check'], message: /list\.yaml: expected a mapping of fields at the top/ },
      { args: ['search', '--config', aDirectory, '--check'], message: /a-directory: cannot read the config/ },
      { args: ['search', '--config', join(fx, 'absent.yaml'), '--check'], message: /absent\.yaml: cannot read the config/ },
      // Weights files.
      ...weights.map(([name, bytes, message]) => ({ args: exportArgs(file(name, bytes)), message })),
      { args: exportArgs(aDirectory), message: /a-directory: expected a file, found a directory/ },
      { args: exportArgs(join(fx, 'absent.safetensors')), message: /absent\.safetensors: file not found/ },
      // Output files: a missing directory is an error, never created; a directory is not a file name.
      { args: ['init', join(missing, 'x.yaml')], message: /no\/such\/x\.yaml: directory .*no\/such does not exist/ },
      { args: ['init', join(aFile, 'x.yaml')], message: /a-file\.txt\/x\.yaml: .*a-file\.txt is not a directory/ },
      { args: ['init', '--force', aDirectory], message: /a-directory: is a directory; expected a file name/ },
      { args: ['init', aDirectory], message: /a-directory: is a directory; expected a file name/ },
      { args: exportArgs('w.safetensors', join(missing, 'x.onnx')), message: /--onnx: directory .*no\/such does not exist/ },
      { args: exportArgs('w.safetensors', aDirectory), message: /--onnx: .*a-directory is a directory; expected a file name/ },
      { args: ['export', '--space', 'nb201', '--arch', nb201, '--channels', '4', '--cells', '1', '--weights', nb201Weights, '--onnx', join(fx, 'n.onnx'), '--input', '1,5,5'], message: /input: the network cannot take 1x5x5 images/ },
      { args: ['space', 'draw', '--space', 'nb201', '--arch', nb201, '--out', join(missing, 'x.svg')], message: /--out: directory .*no\/such does not exist/ },
      { args: ['bench', 'search', '--benchmark', 'nb201:cifar10', '--strategy', 'random', '--plot', join(missing, 'x.svg')], message: /--plot: directory .*no\/such does not exist/ },
      { args: ['bench', 'latency', '--space', 'nb201', '--threads', '1', '--out', join(missing, 't.json')], message: /--out: directory .*no\/such does not exist/ },
      { args: ['report', 'x', '--storage', store, '--out', join(missing, 'r.html')], message: /--out: directory .*no\/such does not exist/ },
      // Too small for the network or the split, and broken data files.
      { args: train(fm, '--resolution', '5'), message: /--resolution: the network cannot take 1x5x5 images/ },
      { args: ['proxies', '--dataset', odd, '--archs', '1', '--batch', '2', '--channels', '4', '--cells', '1', '--threads', '1'], message: /--dataset: the network cannot take 1x5x5 images/ },
      { args: ['bench', 'latency', '--space', 'nb201', '--resolution', '5', '--channels', '4', '--cells', '1', '--threads', '1', '--out', join(fx, 'lut.json')], message: /--resolution: the network cannot take 3x5x5 images/ },
      { args: train(fmEmpty), message: /fm-empty\/train-images-idx3-ubyte: the dataset fashion-mnist\/train has no images/ },
      { args: ['search', '--config', trainingConfig('one-image', fmOne, 8), '--storage', `sqlite:${join(stores, 'a.db')}`], message: /dataset: leaves no validation image: fashion-mnist:.*fm-one has 1 training images/ },
      { args: ['search', '--config', trainingConfig('odd-size', fm, 5), '--storage', `sqlite:${join(stores, 'b.db')}`], message: /estimator\.resolution: the network cannot take 1x5x5 images/ },
      { args: ['search', '--config', weightSharingConfig('ws-odd', 5, 8), '--storage', `sqlite:${join(stores, 'c.db')}`], message: /strategy\.options\.resolution: the network cannot take 1x5x5 images/ },
      { args: ['search', '--config', weightSharingConfig('ws-final-odd', 8, 5), '--storage', `sqlite:${join(stores, 'd.db')}`], message: /final\.resolution: the network cannot take 1x5x5 images/ },
      { args: ['main', '--name', 'm', '--out-dir', join(stores, 'main'), '--dataset', fm, '--final-resolution', '7', '--threads', '1', '--quiet'], message: /--final-resolution: the network cannot take 1x7x7 images/ },
      ...broken.map(([dataset, message]) => ({ args: train(dataset), message })),
      // Architectures that are wrong for each built-in space.
      ...arch.map(([space, a, message]) => ({ args: ['space', 'cost', '--space', space, '--arch', a], message })),
    ];

    const before = listing(dir);
    const cwds = rows.map((_, i) => join(dir, `cwd-${i}`));
    for (const cwd of cwds) mkdirSync(cwd);
    // Two processes share the rows (each loads libtorch once), in the rows' own working directories.
    const half = Math.ceil(rows.length / 2);
    const batches = [rows.slice(0, half), rows.slice(half)].map((b, k) => b.map((r, i) => ({ args: r.args, cwd: cwds[k * half + i]! })));
    const results: CliResult[] = (await Promise.all(batches.map((b) => runTsnasRows(b, { timeoutMs: 300_000 })))).flat();
    const stray = cwds.filter((cwd) => readdirSync(cwd).length > 0).map((cwd) => `${cwd}: ${readdirSync(cwd).join(', ')}`);
    assert.deepEqual(stray, [], 'rows left files in their working directories');
    for (const cwd of cwds) rmSync(cwd, { recursive: true });
    // Every failing row at once: one message lists them all.
    const failures = rows.flatMap((r, i) => {
      const { code, stderr } = results[i]!;
      const problems = [
        code === (r.code ?? 2) ? '' : `exit ${code}, expected ${r.code ?? 2}`,
        r.message.test(stderr) ? '' : `no match for ${r.message}`,
        /^\s+at |node:internal|^node:/m.test(stderr) ? 'a stack trace' : '',
      ].filter((p) => p !== '');
      return problems.length === 0 ? [] : [`tsnas ${r.args.join(' ')}: ${problems.join('; ')}\n${stderr}`];
    });
    assert.deepEqual(failures, []);
    assert.deepEqual(listing(dir), before, 'the rows left files among the fixtures');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(stores, { recursive: true, force: true });
  }
  assert.equal(memory().numTensors, tensorsBefore);
});

test('an unreachable PostgreSQL server: exit 1, the URL named without its password and a hint, no stack trace', () => {
  for (const url of ['postgresql://me:secret@localhost/db?host=/nonexistent-tsnas-dir&port=5', 'postgresql://me:secret@127.0.0.1:1/db']) {
    for (const args of [['ls'], ['search', '--budget', '2', '--quiet', '--name', 'x']]) {
      const r = runTsnas([...args, '--storage', url]);
      const what = `tsnas ${args.join(' ')} --storage ${url}\n${r.stderr}`;
      assert.equal(r.code, 1, what);
      assert.match(r.stderr, /cannot open PostgreSQL store postgresql:\/\/me:\*\*\*@.*: connect (ENOENT|ECONNREFUSED) .* \(is the server running, and is the URL right\?\)/, what);
      assert.doesNotMatch(r.stderr, /secret|^\s+at |node:internal/m, what);
    }
  }
});
