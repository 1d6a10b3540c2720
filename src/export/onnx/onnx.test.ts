// ONNX export: the protobuf bytes of known messages, every built-in space's
// fixed network against onnxruntime (batch 1 and 5, perturbed weights and
// batch-norm statistics), the CLI round trip through safetensors, and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { manualSeed, memory, noGrad, tensor, tidy, type Tensor } from '../../tensor/index.js';
import { Module } from '../../nn/module.js';
import {
  Activation, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Flatten, LayerNorm, Linear, MaxPool2d, ReLU6, Sequential,
} from '../../nn/layers.js';
import { FactorizedReduce, Zero } from '../../nn/ops.js';
import { buildNetwork, exportWeightsToOnnx, getKit, getSpace, kitNames, networkInputShape, smallSetting } from '../../kits/index.js';
import { mobilenetSpace } from '../../spaces/index.js';
import { lastJson, runTsnas } from '../../testing/cli.js';
import { Rng } from '../../util/random.js';
import { saveSafetensors } from '../safetensors.js';
import { ProtoWriter, OnnxGraphBuilder, attr, checkOnnxAgainstModule, exportToOnnx } from './index.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('protobuf: varints, strings, floats, packed fields and nested messages encode as the wire format says', () => {
  // The protocol-buffers encoding guide's examples: field 1 = 150; field 2 = "testing"; packed field 4 = [3, 270, 86942].
  assert.equal(hex(new ProtoWriter().varint(1, 150).finish()), '089601');
  assert.equal(hex(new ProtoWriter().string(2, 'testing').finish()), '120774657374696e67');
  assert.equal(hex(new ProtoWriter().packedVarints(4, [3, 270, 86942]).finish()), '2206038e029ea705');
  assert.equal(hex(new ProtoWriter().message(3, (w) => w.varint(1, 150)).finish()), '1a03089601');
  // int64 -1: ten bytes of two's complement; 300 = 0b10_0101100.
  assert.equal(hex(new ProtoWriter().rawVarint(-1).finish()), 'ffffffffffffffffff01');
  assert.equal(hex(new ProtoWriter().rawVarint(300).finish()), 'ac02');
  // Field 2, wire type 5 (tag 0x15), then 1.0f little-endian; packed floats [1, -2].
  assert.equal(hex(new ProtoWriter().float(2, 1).finish()), '150000803f');
  assert.equal(hex(new ProtoWriter().packedFloats(7, [1, -2]).finish()), '3a080000803f000000c0');
  assert.equal(new ProtoWriter().packedVarints(4, []).length, 0, 'an empty packed field is left out');
  // A field number above 15 takes a two-byte tag: field 20, wire type 0 -> 0xa0 0x01.
  assert.equal(hex(new ProtoWriter().varint(20, 7).finish()), 'a00107');
});

test('an ONNX model: node attributes, initializers and symbolic dimensions are where onnx.proto puts them', () => {
  const g = new OnnxGraphBuilder('g');
  g.addInput('x', ['batch', 2]);
  g.addInitializer('w', [2], Float32Array.of(1, 2));
  const [y] = g.addNode('Add', ['x', 'w'], { pads: attr.ints([1, 1]) }, 'y');
  g.addOutput(y!, ['batch', 2]);
  const bytes = g.encode({ opset: 17, irVersion: 8 });
  // ModelProto starts with ir_version = 8 and producer_name "tsnas".
  assert.equal(hex(bytes.subarray(0, 9)), '0808' + '1205' + hex(new TextEncoder().encode('tsnas')));
  // The attribute: name "pads", ints packed [1, 1] (field 8), type INTS = 7 (field 20).
  assert.ok(hex(bytes).includes('0a0470616473' + '42020101' + 'a00107'), 'pads attribute bytes');
  // The initializer: dims [2], data_type FLOAT, name "w", raw_data of 1.0f and 2.0f.
  assert.ok(hex(bytes).includes('0a0102' + '1001' + '420177' + '4a08' + '0000803f00000040'), 'initializer bytes');
  // The symbolic batch dimension: Dimension { dim_param = "batch" }.
  assert.ok(hex(bytes).includes('0a07' + '1205' + hex(new TextEncoder().encode('batch'))), 'dim_param bytes');
  // The opset import: OperatorSetIdProto { domain "", version 17 } as field 8 of the model.
  assert.ok(hex(bytes).endsWith('42040a001011'), 'opset_import last');
});

test('the encoded model runs in onnxruntime', async () => {
  const g = new OnnxGraphBuilder();
  g.addInput('x', ['n', 3]);
  g.addInitializer('w', [3], Float32Array.of(1, 2, 3));
  const [y] = g.addNode('Mul', ['x', 'w']);
  g.addNode('Relu', ['x'], {}, 'unused'); // pruned: no output needs it
  g.addOutput(y!, ['n', 3]);
  g.prune();
  assert.equal(g.nodes.length, 1);
  const session = await ort.InferenceSession.create(g.encode());
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 1, 1, -1, 0, 2), [2, 3]) });
  assert.deepEqual([...(out[y!]!.data as Float32Array)], [1, 2, 3, -1, 0, 6]);
  await session.release();
});

/** Random weights, and batch-norm statistics far from their initial 0 and 1, so that eval mode matters. */
function perturb(net: Module): void {
  noGrad(() => {
    for (const m of net.modules()) {
      if (m instanceof LayerNorm) {
        m.weight?.uniform_(0.5, 1.5);
        m.bias?.normal_(0, 0.2);
      }
      if (!(m instanceof BatchNorm2d)) continue;
      m.weight?.uniform_(0.5, 1.5);
      m.bias?.normal_(0, 0.2);
      m.runningMean?.normal_(0, 0.3);
      m.runningVar?.uniform_(0.5, 2);
    }
  });
}

async function assertMatchesOnnx(net: Module, inputShape: readonly number[], what: string): Promise<void> {
  const exported = exportToOnnx(net, inputShape);
  for (const batch of [1, 5]) {
    const check = await checkOnnxAgainstModule(exported.bytes, net, inputShape, { batch });
    assert.equal(check.outputShape[0], batch, `${what}: batch ${batch}`);
    assert.ok(check.maxRelDiff < 1e-4, `${what}, batch ${batch}: onnxruntime differs by ${check.maxAbsDiff} (relative ${check.maxRelDiff})`);
  }
}


for (const name of kitNames()) {
  const { space, options } = smallSetting(getKit(name));
  test(`${name}: sampled fixed networks give onnxruntime's output to 1e-4, batch 1 and 5, and leak nothing`, async () => {
    manualSeed(7);
    const rng = new Rng(11 + name.length);
    const start = memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const s = space.sample(rng);
      const o = i === 2 ? { ...options, inChannels: 1 } : options;
      const net = buildNetwork(space, s, o);
      try {
        perturb(net);
        await assertMatchesOnnx(net, networkInputShape(space, s, o), `${name} ${space.format(s)}`);
        assert.ok(net.training, 'export and check leave the training flag as it was');
      } finally {
        net.dispose();
      }
    }
    assert.equal(memory().numTensors, start);
  });
}

test('layers and operations outside the sampled networks: strided zeros, factorized reduce on odd maps, ceil-mode pools, activations', async () => {
  manualSeed(3);
  const start = memory().numTensors;
  const cases: [string, Module, number[]][] = [
    ['Zero 4->8 stride 2', new Zero(4, 8, 2), [4, 7, 7]],
    ['Zero 4->4 stride 2', new Zero(4, 4, 2), [4, 7, 7]],
    ['FactorizedReduce stride 2', new FactorizedReduce(4, 6, 2), [4, 7, 7]],
    ['conv, ReLU6, pools, activations, head', new Sequential(
      new Conv2d(3, 6, 3, { stride: 1, padding: 2, dilation: 2, groups: 3 }),
      new ReLU6(),
      new MaxPool2d(3, { stride: 2, ceilMode: true }),
      new Activation('mish'),
      new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: true }),
      new Activation('swish'),
      new Conv2d(6, 8, [1, 3], { padding: [0, 1] }),
      new Activation('hswish'),
      new AdaptiveAvgPool2d(2),
      new Flatten(),
      new Linear(32, 3),
    ), [3, 9, 8]],
  ];
  // A ViT built for 16x16 images on 24x24 ones: its position embedding is resized (bilinear) at export.
  const vit = getSpace('transformer');
  cases.push(['transformer on a larger input', buildNetwork(vit, vit.sample(new Rng(2)), { numClasses: 4, inputSize: 16 }), [3, 24, 24]]);
  try {
    for (const [what, m, shape] of cases) await assertMatchesOnnx(m, shape, what);
  } finally {
    for (const [, m] of cases) m.dispose();
  }
  assert.equal(memory().numTensors, start);
});

class Sine extends Module {
  forward(x: Tensor): Tensor {
    return x.sign();
  }
}

test('a module without an exporter is a usage error naming its class and path; non-tracking batch norm too', () => {
  const start = memory().numTensors;
  const net = new Sequential(new Conv2d(3, 4, 3), new Sine());
  assert.throws(() => exportToOnnx(net, [3, 8, 8]), (e: Error & { code?: string }) =>
    e.code === 'usage' && /module '1' of class Sine/.test(e.message));
  net.dispose();
  const bn = new Sequential(new BatchNorm2d(3, { trackRunningStats: false }));
  assert.throws(() => exportToOnnx(bn, [3, 4, 4]), /'0' \(BatchNorm2d with track_running_stats=false\)/);
  bn.dispose();
  assert.throws(() => exportToOnnx(new Sine(), [3, 0, 4]), /input shape must be positive integers/);
  assert.equal(memory().numTensors, start);
});

test('exportWeightsToOnnx: DARTS weights with the auxiliary head (unused in eval mode) export without saying so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-onnx-aux-'));
  const start = memory().numTensors;
  try {
    const space = getSpace('darts');
    const s = space.sample(new Rng(4));
    const trained = buildNetwork(space, s, { numClasses: 3, channels: 4, cells: 5, auxiliary: true });
    perturb(trained);
    const weightsPath = join(dir, 'w.safetensors');
    saveSafetensors(weightsPath, trained.stateDict());
    trained.dispose();
    const { exported, net, inputShape } = exportWeightsToOnnx({ space, sample: s, weightsPath, onnxPath: join(dir, 'w.onnx'), network: { channels: 4, cells: 5 } });
    try {
      assert.deepEqual(inputShape, [3, 32, 32]);
      assert.deepEqual(exported.outputShape, [-1, 3]);
      assert.deepEqual(readFileSync(join(dir, 'w.onnx')), Buffer.from(exported.bytes));
      const check = await checkOnnxAgainstModule(exported.bytes, net, inputShape, { batch: 2 });
      assert.ok(check.maxRelDiff < 1e-4, `relative difference ${check.maxRelDiff}`);
    } finally {
      net.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(memory().numTensors, start);
});

test('CLI: safetensors in, ONNX out; the file reproduces the network in onnxruntime; bad input exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-onnx-'));
  const start = memory().numTensors;
  try {
    manualSeed(5);
    const space = mobilenetSpace({ resolutions: [32] });
    const arch = 'r32|k3e3,k5e4|k3e3,k3e4|k5e6,k3e3|k3e4,k3e3|k7e3,k3e3';
    const s = space.parseArch(arch);
    const net = buildNetwork(space, s, { numClasses: 7, inChannels: 1 });
    perturb(net);
    const weights = join(dir, 'w.safetensors');
    saveSafetensors(weights, net.stateDict());
    const onnxPath = join(dir, 'net.onnx');
    const options = JSON.stringify({ resolutions: [32] });
    // Classes and channels come from the weights.
    const r = runTsnas(['export', '--space', 'mobilenet', '--space-options', options, '--arch', arch, '--weights', weights, '--onnx', onnxPath, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.equal(summary.onnx, onnxPath);
    assert.equal(summary.opset, 17);
    assert.ok(summary.max_abs_diff < 1e-4, `max_abs_diff ${summary.max_abs_diff}`);
    const bytes = readFileSync(onnxPath);
    assert.equal(summary.bytes, bytes.length);
    // The written file on a batch of 3, against the network the weights came from.
    const session = await ort.InferenceSession.create(bytes);
    const x = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
    const out = await session.run({ input: new ort.Tensor('float32', x, [3, 1, 32, 32]) });
    await session.release();
    net.eval();
    const expected = tidy(() => noGrad(() => net.call(tensor(x, [3, 1, 32, 32])).data() as Float32Array));
    net.dispose();
    assert.deepEqual(out['logits']!.dims, [3, 7]);
    const got = out['logits']!.data as Float32Array;
    const scale = Math.max(...expected.map(Math.abs));
    expected.forEach((v, i) => assert.ok(Math.abs(v - got[i]!) <= 1e-4 * scale, `logit ${i}: ${got[i]} vs ${v}`));

    const cases: [string[], RegExp][] = [
      [['--space', 'mobilenet', '--space-options', options, '--arch', arch, '--weights', weights, '--onnx', onnxPath, '--classes', '9'],
        /state dict key "classifier.weight": expected shape \[9, 1280\], found \[7, 1280\]/],
      [['--space', 'mobilenet', '--space-options', options, '--arch', arch, '--weights', join(dir, 'missing.safetensors'), '--onnx', onnxPath],
        /missing\.safetensors: file not found/],
      [['--space', 'mobilenet', '--space-options', options, '--arch', arch, '--weights', weights, '--onnx', onnxPath, '--input', '1,24,24'],
        /--input: mobilenet networks take the sample's resolution 32x32, got 24x24/],
      [['--space', 'nb201', '--arch', arch, '--weights', weights, '--onnx', onnxPath], /--arch/],
      [['--space', 'chain', '--arch', 'conv:3:16:relu', '--weights', weights, '--onnx', onnxPath, '--input', '3,32'], /--input: expected C,H,W/],
    ];
    for (const [args, message] of cases) {
      const bad = runTsnas(['export', ...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: exit 2\n${bad.stderr}`);
      assert.match(bad.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(memory().numTensors, start);
});
