import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, memory, randn, tidy } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import type { Module } from './module.js';
import {
  DARTS_OPS, DARTS_PRIMITIVES, DartsFactorizedReduce, FactorizedReduce, NB201_OPS, NB201_OP_NAMES, Pooling, ReLUConvBN,
  ResNetBasicblock, SepConv, Zero, dartsSearchOp, nb201Op,
} from './ops.js';
import { Identity } from './layers.js';
import { assertClose } from '../testing/assert.js';
import { decode, loadNnFixture, type Encoded } from '../testing/fixtures.js';

interface OpCase {
  module: string;
  state: Record<string, Encoded>;
  input: Encoded;
  outputWeight: Encoded;
  trainOutput: Encoded;
  inputGrad: Encoded;
  paramGrads: Record<string, Encoded>;
  runningAfter: Record<string, Encoded>;
  evalOutput: Encoded;
}
const cases = loadNnFixture<Record<string, OpCase>>('ops.json');

const builders: Record<string, () => Module> = {
  relu_conv_bn: () => new ReLUConvBN(4, 6, 3, 2, 1, 1),
  relu_conv_bn_nonaffine: () => new ReLUConvBN(4, 4, 1, 1, 0, 1, false),
  factorized_reduce: () => new FactorizedReduce(4, 6, 2),
  darts_sep_conv: () => new SepConv(4, 6, 3, 2, 1),
  darts_factorized_reduce: () => new DartsFactorizedReduce(4, 6),
  pooling: () => new Pooling(4, 6, 1, 'avg'),
  resnet_block: () => new ResNetBasicblock(4, 8, 2),
};

const toTensor = (key: string, e: Encoded): Tensor => decode(e, key.endsWith('num_batches_tracked') ? 'int64' : 'float32');

for (const [name, c] of Object.entries(cases)) {
  test(`${c.module}: forward, backward and running statistics match PyTorch`, () => {
    const start = memory().numTensors;
    const build = builders[name];
    assert.ok(build, `a builder for fixture case ${name}`);
    const m = build();
    const state = Object.fromEntries(Object.entries(c.state).map(([k, e]) => [k, toTensor(k, e)]));
    m.loadStateDict(state); // strict: the parameter names match the PyTorch reference
    for (const t of Object.values(state)) t.dispose();

    tidy(() => {
      const x = decode(c.input).requiresGrad_();
      const y = m.call(x);
      assertClose(y, c.trainOutput, `${name} train output`);
      y.mul(decode(c.outputWeight)).sum().backward();
      assertClose(x.grad!, c.inputGrad, `${name} input grad`, 1e-4, 1e-5);
      const params = Object.fromEntries(m.namedParameters());
      assert.deepEqual(Object.keys(params).sort(), Object.keys(c.paramGrads).sort());
      for (const [k, g] of Object.entries(c.paramGrads)) assertClose(params[k]!.grad!, g, `${name} grad ${k}`, 1e-4, 1e-5);
      const own = m.stateDict();
      for (const [k, e] of Object.entries(c.runningAfter)) assertClose(own[k]!, e, `${name} ${k} after a training step`);
      m.eval();
      assertClose(m.call(x), c.evalOutput, `${name} eval output`);
    });
    m.dispose();
    assert.equal(memory().numTensors, start);
  });
}

test('every NAS-Bench-201 and DARTS operation gives the expected output shape', () => {
  const start = memory().numTensors;
  tidy(() => {
    const x = randn([2, 4, 8, 8]);
    for (const name of Object.keys(NB201_OPS)) {
      for (const [cOut, stride] of [[4, 1], [6, 1], [6, 2]] as const) {
        if (name === 'skip_connect' && cOut === 6 && stride === 1) continue; // FactorizedReduce(stride 1) covered below
        const op = nb201Op(name, 4, cOut, stride);
        assert.deepEqual(op.call(x).shape, [2, cOut, 8 / stride, 8 / stride], `${name} ${cOut} ${stride}`);
        op.dispose();
      }
    }
    for (const name of Object.keys(DARTS_OPS)) {
      for (const stride of [1, 2]) {
        const op = DARTS_OPS[name]!(4, stride, true);
        assert.deepEqual(op.call(x).shape, [2, 4, 8 / stride, 8 / stride], `DARTS ${name} stride ${stride}`);
        op.dispose();
      }
    }
    const fr1 = new FactorizedReduce(4, 6, 1);
    assert.deepEqual(fr1.call(x).shape, [2, 6, 8, 8]);
    fr1.dispose();
    // XAutoDL's FactorizedReduce pads, so odd sizes work.
    const fr2 = new FactorizedReduce(4, 7, 2);
    assert.deepEqual(fr2.call(randn([1, 4, 7, 7])).shape, [1, 7, 4, 4]);
    fr2.dispose();
  });
  assert.equal(memory().numTensors, start);
});

test('op factories: structure, parameter counts and errors', () => {
  assert.deepEqual([...NB201_OP_NAMES], ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']);
  assert.equal(DARTS_PRIMITIVES.length, 8);
  const skip = nb201Op('skip_connect', 4, 4, 1);
  assert.ok(skip instanceof Identity);
  const reduce = nb201Op('skip_connect', 4, 8, 2);
  assert.ok(reduce instanceof FactorizedReduce);
  // 3x3 conv without bias (BN affine) plus BN weight and bias.
  const conv = nb201Op('nor_conv_3x3', 16, 16, 1);
  assert.equal(conv.numParameters(), 16 * 16 * 9 + 32);
  const convNonAffine = nb201Op('nor_conv_3x3', 16, 16, 1, false);
  assert.equal(convNonAffine.numParameters(), 16 * 16 * 9 + 16, 'conv bias when BN is not affine');
  assert.equal(nb201Op('avg_pool_3x3', 4, 4, 1).numParameters(), 0);
  const sep = DARTS_OPS['sep_conv_3x3']!(8, 1, true);
  assert.equal(sep.numParameters(), 2 * (8 * 9 + 8 * 8 + 16));
  const dil = DARTS_OPS['dil_conv_5x5']!(8, 1, true);
  assert.equal(dil.numParameters(), 8 * 25 + 8 * 8 + 16);
  const pool = dartsSearchOp('max_pool_3x3', 8, 1);
  assert.equal(pool.children().length, 2, 'search-time pooling is followed by BN');
  assert.equal(pool.numParameters(), 0, 'that BN is not affine');
  for (const m of [skip, reduce, conv, convNonAffine, sep, dil, pool]) m.dispose();
  assert.throws(() => nb201Op('conv_9x9', 4, 4, 1), (e: unknown) => e instanceof TsnasError && /unknown NAS-Bench-201 operation "conv_9x9"/.test(e.message));
  assert.throws(() => dartsSearchOp('nor_conv_3x3', 4, 1), /unknown DARTS operation/);
  assert.throws(() => new FactorizedReduce(4, 4, 3), /stride must be 1 or 2/);
});

test('Zero returns zeros of the strided output shape', () => {
  tidy(() => {
    const x = randn([2, 4, 7, 7]);
    const same = new Zero(4, 4, 2).call(x);
    assert.deepEqual(same.shape, [2, 4, 4, 4]);
    assert.ok(same.toArray().every((v) => v === 0));
    assert.deepEqual(new Zero(4, 8, 2).call(x).shape, [2, 8, 4, 4]);
    assert.deepEqual(new Zero(4, 8, 1).call(x).shape, [2, 8, 7, 7]);
  });
});
