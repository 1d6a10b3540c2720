// Candidate operations of the NAS-Bench-201 and DARTS search spaces.
//
// Structure, hyper-parameters and parameter names follow the reference
// implementations (XAutoDL's cell_operations for NAS-Bench-201, DARTS's
// operations), so a state dict saved by those PyTorch models loads here.
import { Tensor, cat, pad, zeros } from '../tensor/index.js';
import { TsnasError } from '../errors.js';
import { Module } from './module.js';
import {
  AvgPool2d, BatchNorm2d, Conv2d, Identity, MaxPool2d, ModuleList, ReLU, Sequential, type Pair,
} from './layers.js';

// ------------------------------------------------------------ NAS-Bench-201 (XAutoDL) operations

/** ReLU -> Conv (bias only when BN is not affine) -> BN; children under "op" as in XAutoDL. */
export class ReLUConvBN extends Module {
  readonly op: Sequential;
  constructor(cIn: number, cOut: number, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
    affine = true, trackRunningStats = true) {
    super();
    this.op = this.registerModule('op', new Sequential(
      new ReLU(),
      new Conv2d(cIn, cOut, kernel, { stride, padding, dilation, bias: !affine }),
      new BatchNorm2d(cOut, { affine, trackRunningStats }),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

/** XAutoDL's SepConv: one block of ReLU, depthwise (dilated) conv, pointwise conv, BN. */
export class SingleSepConv extends Module {
  readonly op: Sequential;
  constructor(cIn: number, cOut: number, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
    affine = true, trackRunningStats = true) {
    super();
    this.op = this.registerModule('op', new Sequential(
      new ReLU(),
      new Conv2d(cIn, cIn, kernel, { stride, padding, dilation, groups: cIn, bias: false }),
      new Conv2d(cIn, cOut, 1, { padding: 0, bias: !affine }),
      new BatchNorm2d(cOut, { affine, trackRunningStats }),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

/** XAutoDL's DualSepConv: two SingleSepConv blocks, the first strided (op_a, op_b). */
export class DualSepConv extends Module {
  readonly opA: SingleSepConv;
  readonly opB: SingleSepConv;
  constructor(cIn: number, cOut: number, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
    affine = true, trackRunningStats = true) {
    super();
    this.opA = this.registerModule('op_a', new SingleSepConv(cIn, cIn, kernel, stride, padding, dilation, affine, trackRunningStats));
    this.opB = this.registerModule('op_b', new SingleSepConv(cIn, cOut, kernel, 1, padding, dilation, affine, trackRunningStats));
  }
  forward(x: Tensor): Tensor {
    return this.opB.call(this.opA.call(x));
  }
}

/** 3x3 pooling (stride given, padding 1), after a 1x1 ReLUConvBN when the channel count changes. */
export class Pooling extends Module {
  readonly preprocess: ReLUConvBN | null;
  readonly op: AvgPool2d | MaxPool2d;
  constructor(cIn: number, cOut: number, stride: number, mode: 'avg' | 'max', affine = true, trackRunningStats = true) {
    super();
    this.preprocess = this.registerModule('preprocess',
      cIn === cOut ? null : new ReLUConvBN(cIn, cOut, 1, 1, 0, 1, affine, trackRunningStats));
    this.op = this.registerModule('op', mode === 'avg'
      ? new AvgPool2d(3, { stride, padding: 1, countIncludePad: false })
      : new MaxPool2d(3, { stride, padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(this.preprocess ? this.preprocess.call(x) : x);
  }
}

/**
 * The "none" operation: zeros shaped like the output the edge would have
 * (cOut channels, spatial size divided by stride). isZero lets cells skip it.
 */
export class Zero extends Module {
  readonly isZero = true;
  constructor(readonly cIn: number, readonly cOut: number, readonly stride: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    if (this.cIn === this.cOut) {
      const strided = this.stride === 1 ? x : x.slice(2, 0, x.size(2), this.stride).slice(3, 0, x.size(3), this.stride);
      return strided.mul(0);
    }
    const [n, , h, w] = x.shape;
    const out = (d: number) => Math.ceil(d / this.stride);
    return zeros([n!, this.cOut, out(h!), out(w!)], { dtype: x.dtype, device: x.device });
  }
}

/**
 * XAutoDL's FactorizedReduce. Stride 2: ReLU, then two stride-2 1x1 convs, the
 * second on the input shifted by one pixel (zero padded at the far edge),
 * concatenated, then BN. Stride 1: a 1x1 conv and BN.
 */
export class FactorizedReduce extends Module {
  readonly convs: ModuleList<Conv2d> | null = null;
  readonly conv: Conv2d | null = null;
  readonly bn: BatchNorm2d;
  constructor(cIn: number, cOut: number, readonly stride: number, affine = true, trackRunningStats = true) {
    super();
    if (stride === 2) {
      this.registerModule('relu', new ReLU());
      const half = Math.floor(cOut / 2);
      this.convs = this.registerModule('convs', new ModuleList([
        new Conv2d(cIn, half, 1, { stride, padding: 0, bias: !affine }),
        new Conv2d(cIn, cOut - half, 1, { stride, padding: 0, bias: !affine }),
      ]));
    } else if (stride === 1) {
      this.conv = this.registerModule('conv', new Conv2d(cIn, cOut, 1, { stride, padding: 0, bias: !affine }));
    } else {
      throw new TsnasError('config', `FactorizedReduce stride must be 1 or 2, got ${stride}`);
    }
    this.bn = this.registerModule('bn', new BatchNorm2d(cOut, { affine, trackRunningStats }));
  }
  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.convs) {
      const r = x.relu();
      const shifted = pad(r, [0, 1, 0, 1]).slice(2, 1, r.size(2) + 1).slice(3, 1, r.size(3) + 1);
      out = cat([this.convs.at(0).call(r), this.convs.at(1).call(shifted)], 1);
    } else {
      out = this.conv!.call(x);
    }
    return this.bn.call(out);
  }
}

/**
 * NAS-Bench-201's residual reduction block: two 3x3 ReLUConvBN (the first
 * strided) plus a shortcut (2x2 avg pool + 1x1 conv when strided; a 1x1
 * ReLUConvBN when only the width changes).
 */
export class ResNetBasicblock extends Module {
  readonly convA: ReLUConvBN;
  readonly convB: ReLUConvBN;
  readonly downsample: Module | null;
  readonly inDim: number;
  readonly outDim: number;
  constructor(inplanes: number, planes: number, stride: number, affine = true, trackRunningStats = true) {
    super();
    if (stride !== 1 && stride !== 2) throw new TsnasError('config', `ResNetBasicblock stride must be 1 or 2, got ${stride}`);
    this.inDim = inplanes;
    this.outDim = planes;
    this.convA = this.registerModule('conv_a', new ReLUConvBN(inplanes, planes, 3, stride, 1, 1, affine, trackRunningStats));
    this.convB = this.registerModule('conv_b', new ReLUConvBN(planes, planes, 3, 1, 1, 1, affine, trackRunningStats));
    let downsample: Module | null = null;
    if (stride === 2) {
      downsample = new Sequential(
        new AvgPool2d(2, { stride: 2, padding: 0 }),
        new Conv2d(inplanes, planes, 1, { stride: 1, padding: 0, bias: false }),
      );
    } else if (inplanes !== planes) {
      downsample = new ReLUConvBN(inplanes, planes, 1, 1, 0, 1, affine, trackRunningStats);
    }
    this.downsample = this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const block = this.convB.call(this.convA.call(x));
    const residual = this.downsample ? this.downsample.call(x) : x;
    return residual.add(block);
  }
}

/** Builds an operation of a cell edge from its channel counts and stride. */
export type NB201OpFactory = (cIn: number, cOut: number, stride: number, affine: boolean, trackRunningStats: boolean) => Module;

/** NAS-Bench-201 / XAutoDL operations by name (the benchmark uses the first five). */
export const NB201_OPS: Readonly<Record<string, NB201OpFactory>> = Object.freeze({
  none: (cIn, cOut, stride) => new Zero(cIn, cOut, stride),
  skip_connect: (cIn, cOut, stride, affine, track) =>
    stride === 1 && cIn === cOut ? new Identity() : new FactorizedReduce(cIn, cOut, stride, affine, track),
  nor_conv_1x1: (cIn, cOut, stride, affine, track) => new ReLUConvBN(cIn, cOut, 1, stride, 0, 1, affine, track),
  nor_conv_3x3: (cIn, cOut, stride, affine, track) => new ReLUConvBN(cIn, cOut, 3, stride, 1, 1, affine, track),
  avg_pool_3x3: (cIn, cOut, stride, affine, track) => new Pooling(cIn, cOut, stride, 'avg', affine, track),
  max_pool_3x3: (cIn, cOut, stride, affine, track) => new Pooling(cIn, cOut, stride, 'max', affine, track),
  nor_conv_7x7: (cIn, cOut, stride, affine, track) => new ReLUConvBN(cIn, cOut, 7, stride, 3, 1, affine, track),
  dua_sepc_3x3: (cIn, cOut, stride, affine, track) => new DualSepConv(cIn, cOut, 3, stride, 1, 1, affine, track),
  dua_sepc_5x5: (cIn, cOut, stride, affine, track) => new DualSepConv(cIn, cOut, 5, stride, 2, 1, affine, track),
  dil_sepc_3x3: (cIn, cOut, stride, affine, track) => new SingleSepConv(cIn, cOut, 3, stride, 2, 2, affine, track),
  dil_sepc_5x5: (cIn, cOut, stride, affine, track) => new SingleSepConv(cIn, cOut, 5, stride, 4, 2, affine, track),
});

/** The five operations of the NAS-Bench-201 benchmark, in its canonical order. */
export const NB201_OP_NAMES = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;

/** Builds NB201_OPS[name], with a clear error for an unknown name. */
export function nb201Op(name: string, cIn: number, cOut: number, stride: number, affine = true,
  trackRunningStats = true): Module {
  const factory = Object.hasOwn(NB201_OPS, name) ? NB201_OPS[name] : undefined;
  if (!factory) {
    throw new TsnasError('config', `unknown NAS-Bench-201 operation "${name}"; expected one of ${Object.keys(NB201_OPS).join(', ')}`);
  }
  return factory(cIn, cOut, stride, affine, trackRunningStats);
}

// ------------------------------------------------------------ DARTS operations

/** DARTS's ReLUConvBN: conv without bias, BN(affine). */
export class DartsReLUConvBN extends Module {
  readonly op: Sequential;
  constructor(cIn: number, cOut: number, kernel: Pair, stride: Pair, padding: Pair, affine = true) {
    super();
    this.op = this.registerModule('op', new Sequential(
      new ReLU(),
      new Conv2d(cIn, cOut, kernel, { stride, padding, bias: false }),
      new BatchNorm2d(cOut, { affine }),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

/** DARTS's DilConv: ReLU, depthwise dilated conv, pointwise conv, BN. */
export class DilConv extends Module {
  readonly op: Sequential;
  constructor(cIn: number, cOut: number, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, affine = true) {
    super();
    this.op = this.registerModule('op', new Sequential(
      new ReLU(),
      new Conv2d(cIn, cIn, kernel, { stride, padding, dilation, groups: cIn, bias: false }),
      new Conv2d(cIn, cOut, 1, { padding: 0, bias: false }),
      new BatchNorm2d(cOut, { affine }),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

/**
 * DARTS's SepConv: two stacked [ReLU, depthwise conv, pointwise conv, BN]
 * blocks; the first carries the stride and keeps cIn channels. dilation
 * (default 1, as DARTS) dilates both depthwise convs.
 */
export class SepConv extends Module {
  readonly op: Sequential;
  constructor(cIn: number, cOut: number, kernel: Pair, stride: Pair, padding: Pair, affine = true, dilation: Pair = 1) {
    super();
    this.op = this.registerModule('op', new Sequential(
      new ReLU(),
      new Conv2d(cIn, cIn, kernel, { stride, padding, dilation, groups: cIn, bias: false }),
      new Conv2d(cIn, cIn, 1, { padding: 0, bias: false }),
      new BatchNorm2d(cIn, { affine }),
      new ReLU(),
      new Conv2d(cIn, cIn, kernel, { stride: 1, padding, dilation, groups: cIn, bias: false }),
      new Conv2d(cIn, cOut, 1, { padding: 0, bias: false }),
      new BatchNorm2d(cOut, { affine }),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

/** DARTS's FactorizedReduce: ReLU, two stride-2 1x1 convs (the second on x[:, :, 1:, 1:]), concat, BN. */
export class DartsFactorizedReduce extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(cIn: number, cOut: number, affine = true) {
    super();
    if (cOut % 2 !== 0) throw new TsnasError('config', `DARTS FactorizedReduce needs an even output width, got ${cOut}`);
    this.registerModule('relu', new ReLU());
    this.conv1 = this.registerModule('conv_1', new Conv2d(cIn, cOut / 2, 1, { stride: 2, padding: 0, bias: false }));
    this.conv2 = this.registerModule('conv_2', new Conv2d(cIn, cOut / 2, 1, { stride: 2, padding: 0, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(cOut, { affine }));
  }
  forward(x: Tensor): Tensor {
    const r = x.relu();
    const shifted = r.slice(2, 1, r.size(2)).slice(3, 1, r.size(3));
    return this.bn.call(cat([this.conv1.call(r), this.conv2.call(shifted)], 1));
  }
}

/** DARTS's conv_7x1_1x7: ReLU, 1x7 conv, 7x1 conv, BN. */
export class Conv7x1x1x7 extends Module {
  readonly op: Sequential;
  constructor(c: number, stride: number, affine = true) {
    super();
    this.op = this.registerModule('op', new Sequential(
      new ReLU(),
      new Conv2d(c, c, [1, 7], { stride: [1, stride], padding: [0, 3], bias: false }),
      new Conv2d(c, c, [7, 1], { stride: [stride, 1], padding: [3, 0], bias: false }),
      new BatchNorm2d(c, { affine }),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

export type DartsOpFactory = (c: number, stride: number, affine: boolean) => Module;

/** DARTS operations by name (operations.py). */
export const DARTS_OPS: Readonly<Record<string, DartsOpFactory>> = Object.freeze({
  none: (c, stride) => new Zero(c, c, stride),
  avg_pool_3x3: (_c, stride) => new AvgPool2d(3, { stride, padding: 1, countIncludePad: false }),
  max_pool_3x3: (_c, stride) => new MaxPool2d(3, { stride, padding: 1 }),
  skip_connect: (c, stride, affine) => (stride === 1 ? new Identity() : new DartsFactorizedReduce(c, c, affine)),
  sep_conv_3x3: (c, stride, affine) => new SepConv(c, c, 3, stride, 1, affine),
  sep_conv_5x5: (c, stride, affine) => new SepConv(c, c, 5, stride, 2, affine),
  sep_conv_7x7: (c, stride, affine) => new SepConv(c, c, 7, stride, 3, affine),
  dil_conv_3x3: (c, stride, affine) => new DilConv(c, c, 3, stride, 2, 2, affine),
  dil_conv_5x5: (c, stride, affine) => new DilConv(c, c, 5, stride, 4, 2, affine),
  conv_7x1_1x7: (c, stride, affine) => new Conv7x1x1x7(c, stride, affine),
});

/** The eight DARTS primitives, in DARTS's order. */
export const DARTS_PRIMITIVES = [
  'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5',
] as const;

/**
 * An operation as DARTS's search (mixed-op) network builds it: pooling is
 * followed by a non-affine BN, every op is built with affine=false.
 */
export function dartsSearchOp(name: string, c: number, stride: number): Module {
  const factory = Object.hasOwn(DARTS_OPS, name) ? DARTS_OPS[name] : undefined;
  if (!factory) {
    throw new TsnasError('config', `unknown DARTS operation "${name}"; expected one of ${Object.keys(DARTS_OPS).join(', ')}`);
  }
  const op = factory(c, stride, false);
  return name.includes('pool') ? new Sequential(op, new BatchNorm2d(c, { affine: false })) : op;
}
