// Image folders for tsnas fit: the scan lists every image and every file
// that cannot be decoded (named with the reason), the loader skips them when asked,
// and folder specs carry those options (?size=N&skip-bad).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImageFolder, scanImageFolder } from './folder.js';
import { datasetSource, formatDatasetSpec, parseDatasetSpec } from './spec.js';
import { encodePng } from './synthetic.js';

const png = (side: number, channels: number, value: number) => encodePng({ width: side, height: side, channels, data: new Uint8Array(side * side * channels).fill(value) });

test('scanImageFolder lists sizes, channels and bad files; loadImageFolder skips the bad ones only when asked', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsnas-scan-'));
  try {
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'a', '1.png'), png(8, 3, 10));
    writeFileSync(join(root, 'a', '2.png'), png(12, 1, 200));
    writeFileSync(join(root, 'a', 'cut.png'), png(8, 3, 10).subarray(0, 30));
    writeFileSync(join(root, 'b', '1.png'), png(8, 3, 90));
    writeFileSync(join(root, 'b', 'x.jpeg'), Buffer.from([0xff, 0xd8]));
    const scan = scanImageFolder({ dir: root });
    assert.deepEqual(scan.classes, ['a', 'b']);
    assert.deepEqual(scan.counts, [2, 1]);
    assert.deepEqual(scan.images.map((i) => [i.width, i.channels]), [[8, 3], [12, 1], [8, 3]]);
    assert.deepEqual(scan.bad.map((b) => b.file), [join(root, 'a', 'cut.png'), join(root, 'b', 'x.jpeg')]);
    assert.match(scan.bad[1]!.reason, /expected a PNG, JPEG or binary PGM\/PPM image/);

    assert.throws(() => loadImageFolder({ dir: root, size: 8 }), /cut\.png/);
    const d = loadImageFolder({ dir: root, size: 8, skipBad: true });
    assert.equal(d.n, 3);
    assert.equal(d.channels, 3, 'the gray image is repeated over R, G, B');
    assert.deepEqual(Array.from(d.labels), [0, 0, 1]);

    const spec = parseDatasetSpec(`folder:${root}?size=8&skip-bad`);
    assert.deepEqual(spec, { kind: 'folder', dir: root, size: 8, skipBad: true });
    assert.equal(formatDatasetSpec(spec), `folder:${root}?size=8&skip-bad`);
    const source = datasetSource(spec);
    assert.equal(source.load('train').n, 3);
    assert.equal(source.hasTest(), false);
    assert.throws(() => parseDatasetSpec(`folder:${root}?size=big`, '--dataset'), /--dataset.*unknown folder option "size=big", expected size=N \(1\.\.4096\) or skip-bad/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
