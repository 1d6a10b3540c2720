// Tensor-level behaviour: data round trips, metadata, errors crossing the
// native boundary, disposal, scopes, autograd modes, RNG and threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

import {
  Tensor, tensor, scalar, zeros, ones, full, empty, arange, eye, zerosLike, onesLike, rand, randn, randint, randperm,
  tidy, keep, dispose, memory, grad, noGrad, enableGrad, isGradEnabled, inferenceMode, manualSeed, setNumThreads,
  getNumThreads, cudaAvailable, defaultDevice, synchronize, conv2d, crossEntropy, dropout, cat, where,
} from './index.js';

/** Asserts that fn leaves the live native tensor count unchanged. */
function noLeak(fn: () => void): void {
  const before = memory().numTensors;
  fn();
  assert.equal(memory().numTensors, before, 'live tensors after the block');
}

// ---------------------------------------------------------------- data round trips

test('float32 round trip keeps every bit, including NaN, infinities and -0', () => noLeak(() => {
  const src = new Float32Array([1.5, -0, Number.NaN, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45]);
  const t = tensor(src, [7]);
  assert.equal(t.dtype, 'float32');
  const out = t.data();
  assert.ok(out instanceof Float32Array);
  assert.deepEqual(new Uint8Array(out.buffer), new Uint8Array(src.buffer));
  t.dispose();
}));

test('float64 round trip keeps every bit', () => noLeak(() => {
  const src = new Float64Array([Math.PI, -1e-300, 1.7976931348623157e308, Number.NaN, -0, 5e-324]);
  const t = tensor(src, [2, 3]);
  assert.equal(t.dtype, 'float64');
  const out = t.data();
  assert.ok(out instanceof Float64Array);
  assert.deepEqual(new Uint8Array(out.buffer), new Uint8Array(src.buffer));
  t.dispose();
}));

test('int64 round trip beyond 2^53 uses BigInt64Array', () => noLeak(() => {
  const src = new BigInt64Array([9007199254740993n, -9223372036854775808n, 9223372036854775807n, 0n, -1n]);
  const t = tensor(src);
  assert.equal(t.dtype, 'int64');
  const out = t.data();
  assert.ok(out instanceof BigInt64Array);
  assert.deepEqual(Array.from(out), Array.from(src));
  // Plain numbers converted to int64 on the way in.
  const u = tensor([3, -4, 5], [3], { dtype: 'int64' });
  assert.deepEqual(Array.from(u.data() as BigInt64Array), [3n, -4n, 5n]);
  assert.deepEqual(u.toArray(), [3, -4, 5]);
  dispose([t, u]);
}));

test('int32 and uint8 round trips at their limits', () => noLeak(() => {
  const i32 = new Int32Array([-2147483648, 2147483647, 0, -7]);
  const a = tensor(i32, [2, 2]);
  assert.equal(a.dtype, 'int32');
  assert.ok(a.data() instanceof Int32Array);
  assert.deepEqual(Array.from(a.data() as Int32Array), Array.from(i32));
  const u8 = new Uint8Array([0, 1, 128, 255]);
  const b = tensor(u8);
  assert.equal(b.dtype, 'uint8');
  assert.deepEqual(Array.from(b.data() as Uint8Array), [0, 1, 128, 255]);
  // uint8 arithmetic wraps as in torch.
  const c = b.add(1);
  assert.deepEqual(c.toArray(), [1, 2, 129, 0]);
  dispose([a, b, c]);
}));

test('bool round trip, and comparisons produce bool', () => noLeak(() => {
  const t = tensor([1, 0, 0, 1], [4], { dtype: 'bool' });
  assert.equal(t.dtype, 'bool');
  const out = t.data();
  assert.ok(out instanceof Uint8Array);
  assert.deepEqual(Array.from(out), [1, 0, 0, 1]);
  tidy(() => {
    const cmp = tensor([1, 2, 3]).gt(1.5);
    assert.equal(cmp.dtype, 'bool');
    assert.deepEqual(cmp.toArray(), [0, 1, 1]);
    assert.deepEqual(t.logicalNot().toArray(), [0, 1, 1, 0]);
    assert.deepEqual(where(t, 5, -5).toArray(), [5, -5, -5, 5]);
  });
  t.dispose();
}));

test('data() is a copy: writing it does not change the tensor', () => noLeak(() => {
  const t = tensor([1, 2, 3]);
  const d = t.data() as Float32Array;
  d[0] = 100;
  assert.deepEqual(t.toArray(), [1, 2, 3]);
  // A view into a larger buffer at an offset is read from the right place.
  const big = new Float64Array([9, 9, 4, 5, 6]);
  const u = tensor(big.subarray(2), [3]);
  assert.deepEqual(u.toArray(), [4, 5, 6]);
  dispose([t, u]);
}));

test('data of the wrong length is rejected with both sizes in the message', () => noLeak(() => {
  assert.throws(() => tensor(new Float32Array(3), [2, 2]), /12 bytes but shape and dtype need 16/);
}));

test('empty and 0-d tensors', () => noLeak(() => {
  tidy(() => {
    const e = tensor(new Float32Array(0), [2, 0]);
    assert.deepEqual(e.shape, [2, 0]);
    assert.equal(e.numel, 0);
    assert.equal(e.data().length, 0);
    assert.equal(e.sum().item(), 0);
    const s = scalar(2.5, { dtype: 'float64' });
    assert.deepEqual(s.shape, []);
    assert.equal(s.ndim, 0);
    assert.equal(s.item(), 2.5);
    assert.throws(() => tensor([1, 2]).item(), /one element|1 element|elements/);
  });
}));

test('float16 conversion reads back as float32', () => noLeak(() => {
  tidy(() => {
    const h = tensor([1, 0.1, 65504]).to({ dtype: 'float16' });
    assert.equal(h.dtype, 'float16');
    const d = h.data();
    assert.ok(d instanceof Float32Array);
    assert.equal(d[0], 1);
    assert.equal(d[1], 0.0999755859375); // nearest half to 0.1
    assert.equal(d[2], 65504);
  });
}));

// ---------------------------------------------------------------- metadata and factories

test('shape, dtype, device, ndim, numel and size', () => noLeak(() => {
  tidy(() => {
    const t = zeros([2, 3, 4], { dtype: 'float64' });
    assert.deepEqual(t.shape, [2, 3, 4]);
    assert.equal(t.dtype, 'float64');
    assert.equal(t.device, 'cpu');
    assert.equal(t.ndim, 3);
    assert.equal(t.numel, 24);
    assert.equal(t.size(-1), 4);
    assert.equal(t.size(1), 3);
    assert.equal(String(t), 'Tensor(shape=[2, 3, 4], dtype=float64, device=cpu)');
    assert.equal(defaultDevice(), cudaAvailable() ? 'cuda' : 'cpu');
  });
}));

test('factories and conversions', () => noLeak(() => {
  tidy(() => {
    assert.deepEqual(ones([2, 2]).toArray(), [1, 1, 1, 1]);
    assert.deepEqual(full([3], 7, { dtype: 'int32' }).toArray(), [7, 7, 7]);
    assert.equal(full([2], true, { dtype: 'bool' }).dtype, 'bool');
    assert.deepEqual(empty([2, 5]).shape, [2, 5]);
    assert.deepEqual(arange(4).toArray(), [0, 1, 2, 3]);
    assert.equal(arange(4).dtype, 'int64');
    assert.deepEqual(arange(1, 2, 0.25, { dtype: 'float32' }).toArray(), [1, 1.25, 1.5, 1.75]);
    assert.deepEqual(eye(2).toArray(), [1, 0, 0, 1]);
    const x = tensor([1.7, -2.2], [2], { dtype: 'float64' });
    assert.deepEqual(zerosLike(x).toArray(), [0, 0]);
    assert.equal(onesLike(x).dtype, 'float64');
    assert.deepEqual(x.long().toArray(), [1, -2]); // truncation toward zero, as torch
    assert.equal(x.float().dtype, 'float32');
    assert.equal(x.long().double().dtype, 'float64');
    const y = zeros([2], { requiresGrad: true });
    assert.equal(y.requiresGrad, true);
    assert.equal(y.isLeaf, true);
    // to() without copy may alias; with copy it never does.
    const c = x.to({ dtype: 'float64', copy: true });
    c.add_(1);
    assert.deepEqual(x.toArray(), [1.7, -2.2]);
  });
}));

test('ops not in the parity fixtures: scalar in-place variants, fill_ from a tensor', () => noLeak(() => {
  tidy(() => {
    const x = tensor([4, 9], [2], { dtype: 'float64' });
    x.sub_(1, 2).div_(2);
    assert.deepEqual(x.toArray(), [1, 3.5]);
    x.fill_(scalar(6, { dtype: 'float64' }));
    assert.deepEqual(x.toArray(), [6, 6]);
    const v = tensor([5, 6, 7]);
    assert.deepEqual(v.slice(0, 0, 3, 2).toArray(), [5, 7]);
  });
}));

// ---------------------------------------------------------------- errors from libtorch

test('a libtorch shape error becomes a JS exception with libtorch\'s message, and the process survives', () =>
  noLeak(() => {
    tidy(() => {
      const a = ones([2, 3]);
      const b = ones([4, 5]);
      assert.throws(() => a.matmul(b), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
        // The C++ backtrace is left out of the message.
        assert.doesNotMatch(e.message, /frame #/);
        return true;
      });
      assert.throws(() => conv2d(ones([1, 3, 5, 5]), ones([4, 2, 3, 3])), /expected input\[1, 3, 5, 5\] to have 2 channels/);
      assert.throws(() => cat([ones([2, 3]), ones([2, 4])], 0), /Sizes of tensors must match/);
      // Work continues normally afterwards.
      assert.deepEqual(a.matmul(ones([3, 1])).toArray(), [3, 3]);
    });
  }));

test('a libtorch dtype error becomes a JS exception', () => noLeak(() => {
  tidy(() => {
    const x = ones([3, 4]);
    assert.throws(() => x.indexSelect(0, tensor([0, 1])), /index_select\(\): Expected dtype int(32 or int)?64 for index/);
    assert.throws(() => crossEntropy(ones([2, 3]), tensor([0.5, 1], [2])), /expected scalar type Long|Expected floating point type|Float/);
    assert.throws(() => tensor([1, 2], [2], { dtype: 'int64' }).addcdiv_(ones([2]), ones([2])), /result type Float can't be cast to the desired output type Long/);
    assert.deepEqual(x.indexSelect(0, tensor([2], [1], { dtype: 'int64' })).shape, [1, 4]);
  });
}));

test('autograd errors surface as JS exceptions', () => noLeak(() => {
  tidy(() => {
    const w = ones([3], { requiresGrad: true });
    assert.throws(() => w.add_(1), /a leaf Variable that requires grad is being used in an in-place operation/);
    const loss = w.mul(w).sum();
    loss.backward();
    assert.throws(() => loss.backward(), /backward through the graph a second time/);
    assert.throws(() => ones([2]).sum().backward(), /does not require grad/);
    assert.deepEqual(w.grad!.toArray(), [2, 2, 2]);
  });
}));

test('unknown dtypes and bad thread counts are rejected before reaching libtorch', () => noLeak(() => {
  assert.throws(() => zeros([2], { dtype: 'complex64' as never }), /unknown dtype 'complex64'/);
  assert.throws(() => setNumThreads(0), RangeError);
  assert.throws(() => setNumThreads(1.5), RangeError);
}));

// ---------------------------------------------------------------- disposal

test('using a disposed tensor throws; dispose is idempotent', () => noLeak(() => {
  const t = ones([2]);
  const before = memory();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.equal(memory().numTensors, before.numTensors - 1);
  assert.equal(memory().numBytes, before.numBytes - 8);
  assert.throws(() => t.add(1), /tensor was disposed/);
  assert.throws(() => t.data(), /tensor was disposed/);
  assert.throws(() => t.sum(), /tensor was disposed/);
  t.dispose();
  // A disposed id is never confused with the tensor that reuses its slot.
  const u = ones([2]);
  assert.throws(() => t.add(1), /tensor was disposed/);
  assert.deepEqual(u.toArray(), [1, 1]);
  u.dispose();
}));

test('dispose() frees tensors in arrays and objects', () => noLeak(() => {
  const a = ones([1]);
  const b = ones([1]);
  const c = ones([1]);
  dispose({ list: [a, b], inner: { c } });
  assert.ok(a.isDisposed && b.isDisposed && c.isDisposed);
}));

// ---------------------------------------------------------------- scopes

test('tidy frees intermediates and keeps the returned tensors', () => {
  const start = memory().numTensors;
  const out = tidy(() => {
    const a = ones([3]);
    const b = a.mul(2);
    const c = b.add(1);
    assert.equal(memory().numTensors, start + 3);
    return c;
  });
  assert.equal(memory().numTensors, start + 1);
  assert.deepEqual(out.toArray(), [3, 3, 3]);
  out.dispose();
  assert.equal(memory().numTensors, start);
});

test('tidy keeps tensors returned inside arrays, objects and maps', () => {
  const start = memory().numTensors;
  const r = tidy(() => {
    ones([1]);
    return { a: ones([1]), list: [ones([2]), 7], map: new Map([['m', ones([3])]]) };
  });
  assert.equal(memory().numTensors, start + 3);
  assert.deepEqual(r.map.get('m')!.shape, [3]);
  dispose([r.a, r.list[0], r.map.get('m')]);
  assert.equal(memory().numTensors, start);
});

test('nested tidy: inner results belong to the outer scope', () => {
  const start = memory().numTensors;
  let inner: Tensor | undefined;
  const out = tidy(() => {
    ones([1]);
    inner = tidy(() => {
      ones([1]);
      return ones([2]);
    });
    assert.equal(memory().numTensors, start + 2, 'inner intermediate freed, inner result alive');
    return inner.add(1);
  });
  assert.equal(inner!.isDisposed, true, 'the inner result was freed by the outer scope');
  assert.equal(memory().numTensors, start + 1);
  out.dispose();
  assert.equal(memory().numTensors, start);
});

test('keep() exempts a tensor from every scope', () => {
  const start = memory().numTensors;
  let kept: Tensor[] = [];
  tidy(() => {
    tidy(() => {
      kept = [keep(ones([1])), ones([1]).keep()];
      ones([1]);
    });
  });
  assert.equal(memory().numTensors, start + 2);
  assert.ok(kept.every((t) => !t.isDisposed));
  dispose(kept);
  assert.equal(memory().numTensors, start);
});

test('tidy frees intermediates when fn throws, and rejects async functions', () => {
  const start = memory().numTensors;
  assert.throws(() => tidy(() => {
    ones([4]);
    ones([4]).matmul(ones([5]));
  }), /inconsistent tensor size|size/);
  assert.equal(memory().numTensors, start);
  assert.throws(() => tidy(() => Promise.resolve(1) as unknown as number), /synchronous/);
});

// ---------------------------------------------------------------- autograd modes

test('grad(): allowUnused returns null for an input the output does not use', () => noLeak(() => {
  tidy(() => {
    const x = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const y = tensor([3], [1], { dtype: 'float64', requiresGrad: true });
    const loss = x.mul(x).sum();
    const [gx, gy] = grad(loss, [x, y], { allowUnused: true, retainGraph: true });
    assert.deepEqual(gx!.toArray(), [2, 4]);
    assert.equal(gy, null);
    assert.throws(() => grad(loss, [x, y]), /appears to not have been used in the graph/);
    // grad() does not touch .grad
    assert.equal(x.grad, null);
  });
}));

test('grad() with gradOutputs weights each output', () => noLeak(() => {
  tidy(() => {
    const x = tensor([1, 2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x);
    const [g] = grad(y, [x], { gradOutputs: [tensor([1, 0, 2], [3], { dtype: 'float64' })] });
    assert.deepEqual(g!.toArray(), [2, 0, 12]);
  });
}));

test('backward accumulates into .grad; retainGrad and setting grad to null', () => noLeak(() => {
  tidy(() => {
    const w = tensor([1, -2], [2], { dtype: 'float64', requiresGrad: true });
    const h = w.mul(3).retainGrad();
    const loss = h.square().sum();
    loss.backward(null, { retainGraph: true });
    assert.deepEqual(h.grad!.toArray(), [6, -12]);
    assert.deepEqual(w.grad!.toArray(), [18, -36]);
    loss.backward();
    assert.deepEqual(w.grad!.toArray(), [36, -72], 'second backward accumulates');
    assert.equal(h.isLeaf, false);
    assert.equal(h.hasGradFn, true);
    w.grad = null;
    assert.equal(w.grad, null);
  });
}));

test('noGrad turns recording off and restores it, even after an exception', () => noLeak(() => {
  tidy(() => {
    const w = ones([2], { requiresGrad: true });
    assert.equal(isGradEnabled(), true);
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      const inner = enableGrad(() => w.mul(2));
      assert.equal(inner.requiresGrad, true, 'enableGrad inside noGrad records');
      return w.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(isGradEnabled(), true);
    assert.throws(() => noGrad(() => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(isGradEnabled(), true);
    assert.equal(w.mul(2).requiresGrad, true);
  });
}));

test('inferenceMode: no recording inside, and inference tensors refuse autograd later', () => noLeak(() => {
  tidy(() => {
    const w = ones([2], { requiresGrad: true });
    const y = inferenceMode(() => {
      assert.equal(isGradEnabled(), false);
      return w.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(isGradEnabled(), true);
    assert.equal(w.mul(2).requiresGrad, true, 'mode restored');
    assert.throws(() => y.requiresGrad_(), /inference/i);
    assert.throws(() => inferenceMode(() => {
      throw new Error('inside');
    }), /inside/);
    assert.equal(isGradEnabled(), true);
  });
}));

test('double backward: d/dx of (d/dx x^3) is 6x', () => noLeak(() => {
  tidy(() => {
    const x = tensor([2, -1], [2], { dtype: 'float64', requiresGrad: true });
    const [g] = grad(x.pow(3).sum(), [x], { createGraph: true });
    assert.deepEqual(g!.toArray(), [12, 3]);
    assert.equal(g!.requiresGrad, true);
    const [h] = grad(g!.sum(), [x]);
    assert.deepEqual(h!.toArray(), [12, -6]);
  });
}));

// ---------------------------------------------------------------- RNG and threads

function draws(seed: number): number[][] {
  return tidy(() => {
    manualSeed(seed);
    const x = ones([64]);
    return [
      rand([5]).toArray(),
      randn([3, 7]).toArray(),
      randn([4], { dtype: 'float64' }).toArray(),
      randint(0, 100, [6]).toArray(),
      randperm(12).toArray(),
      dropout(x, 0.5, true).toArray(),
      zeros([8]).bernoulli_(0.5).toArray(),
      zeros([8]).normal_(0, 1).toArray(),
    ];
  });
}

test('manualSeed makes every random draw reproducible bit for bit', () => noLeak(() => {
  const a = draws(1234);
  const b = draws(1234);
  assert.deepEqual(a, b);
  const c = draws(1235);
  for (let i = 0; i < a.length; i++) assert.notDeepEqual(a[i], c[i], `draw ${i} depends on the seed`);
  // bigint seeds are accepted. As in torch, the CPU generator (mt19937)
  // takes the low 32 bits of the seed, so 2^40 + 1 draws as seed 1 does.
  tidy(() => {
    manualSeed(2n ** 40n + 1n);
    const p = rand([4]).toArray();
    manualSeed(1);
    const q = rand([4]).toArray();
    assert.deepEqual(p, q);
  });
}));

test('dropout keeps about 1-p of the entries, scaled by 1/(1-p); its gradient uses the same mask', () => noLeak(() => {
  tidy(() => {
    manualSeed(99);
    const n = 200_000;
    const p = 0.3;
    const x = ones([n], { requiresGrad: true });
    const y = dropout(x, p, true);
    const values = y.data() as Float32Array;
    const scale = Math.fround(1 / (1 - p));
    let zeros = 0;
    for (const v of values) {
      if (v === 0) zeros++;
      else assert.ok(Math.abs(v - scale) < 1e-6, `a kept value is ${v}, expected ${scale}`);
    }
    // Binomial: sd of the dropped fraction is sqrt(p(1-p)/n) ~ 0.001; allow 5 sd.
    assert.ok(Math.abs(zeros / n - p) < 0.005, `dropped fraction ${zeros / n}`);
    const [g] = grad(y.sum(), [x]);
    assert.deepEqual(Array.from(g!.data() as Float32Array), Array.from(values), 'gradient equals the scaled mask');
    // Edge cases: p=0 is the identity, p=1 drops everything without NaN, eval is the identity.
    assert.equal(dropout(x, 0, true).sum().item(), n);
    const all = dropout(x, 1, true);
    assert.equal(all.sum().item(), 0);
    assert.equal(all.isnan().sum().item(), 0);
    assert.equal(dropout(x, 0.9, false).sum().item(), n);
  });
}));

test('setNumThreads changes the intra-op pool, and results do not depend on it', () => noLeak(() => {
  const original = getNumThreads();
  try {
    tidy(() => {
      manualSeed(5);
      const a = randn([64, 64], { dtype: 'float64' });
      const b = randn([64, 64], { dtype: 'float64' });
      setNumThreads(1);
      assert.equal(getNumThreads(), 1);
      const one = a.matmul(b).sum().item();
      setNumThreads(2);
      assert.equal(getNumThreads(), 2);
      const two = a.matmul(b).sum().item();
      assert.ok(Math.abs(one - two) <= 1e-9 * Math.abs(one), `${one} vs ${two}`);
    });
  } finally {
    setNumThreads(original);
  }
  assert.equal(getNumThreads(), original);
}));

test('detach_ cuts a tensor from its graph in place; synchronize is safe on CPU', () => noLeak(() => {
  tidy(() => {
    const w = ones([2], { requiresGrad: true });
    const y = w.mul(2);
    assert.equal(y.hasGradFn, true);
    y.detach_();
    assert.equal(y.hasGradFn, false);
    assert.equal(y.requiresGrad, false);
    assert.deepEqual(y.toArray(), [2, 2]);
    synchronize();
  });
}));

test('the addon works in a worker thread, with its own tensors', async () => {
  const moduleUrl = new URL('./index.js', import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(moduleUrl)}).then(({ tensor, tidy }) => {
      const sum = tidy(() => tensor([1, 2, 3]).mul(2).sum().item());
      parentPort.postMessage(sum);
    });`;
  const worker = new Worker(code, { eval: true });
  const result = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.equal(result, 12);
  await worker.terminate();
});
