// Runs an exported model in onnxruntime-node and compares it with tsnas's own
// eval-mode forward on the same random input.
import { TsnasError } from '../../errors.js';
import type { AnyModule } from '../../nn/module.js';
import { noGrad, randn, tidy } from '../../tensor/index.js';

type OrtModule = typeof import('onnxruntime-node');
let ortModule: Promise<OrtModule> | null = null;

/** onnxruntime-node, loaded on first use (a devDependency: a clear error where it is not installed). */
async function loadOnnxRuntime(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node').catch((e: unknown) => {
    ortModule = null;
    throw new TsnasError('state', `checking an ONNX file needs the npm package onnxruntime-node, which failed to load: ${(e as Error).message}`);
  });
  return ortModule;
}

/** Whether onnxruntime-node (an optional peer dependency) is installed, so that exports can be checked. */
export async function onnxRuntimeAvailable(): Promise<boolean> {
  return loadOnnxRuntime().then(() => true, () => false);
}

export interface OnnxCheck {
  batch: number;
  outputShape: number[];
  /** max |onnxruntime − tsnas| over the output. */
  maxAbsDiff: number;
  /** max |onnxruntime − tsnas| / max |tsnas|. */
  maxRelDiff: number;
}

/**
 * Runs the ONNX model on a random [batch, ...inputShape] input in onnxruntime
 * and module.forward (eval mode, no grad) on the same input. The module's
 * training flags are restored afterwards.
 */
export async function checkOnnxAgainstModule(onnx: Uint8Array, module: AnyModule, inputShape: readonly number[],
  o: { batch?: number; inputName?: string; outputName?: string } = {}): Promise<OnnxCheck> {
  const ort = await loadOnnxRuntime();
  const batch = o.batch ?? 2;
  const modes = module.modules().map((m) => [m, m.training] as const);
  module.eval();
  let input: Float32Array;
  let expected: Float32Array;
  let expectedShape: number[];
  try {
    [input, expected, expectedShape] = tidy(() => noGrad(() => {
      const x = randn([batch, ...inputShape]);
      const y = module.call(x) as ReturnType<typeof randn>;
      return [x.data() as Float32Array, y.data() as Float32Array, y.shape] as const;
    })) as unknown as [Float32Array, Float32Array, number[]];
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  const session = await ort.InferenceSession.create(onnx);
  try {
    const feeds = { [o.inputName ?? 'input']: new ort.Tensor('float32', input, [batch, ...inputShape]) };
    const results = await session.run(feeds);
    const out = results[o.outputName ?? 'logits'];
    if (!out) throw new TsnasError('internal', `onnxruntime returned no output named ${o.outputName ?? 'logits'}`);
    const got = out.data as Float32Array;
    const outputShape = [...out.dims];
    if (outputShape.join(',') !== expectedShape.join(',')) {
      throw new TsnasError('internal', `ONNX output shape [${outputShape.join(', ')}] differs from tsnas's [${expectedShape.join(', ')}]`);
    }
    let maxAbsDiff = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i]! - expected[i]!);
      // NaN differences count as infinite.
      maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
      scale = Math.max(scale, Math.abs(expected[i]!));
    }
    return { batch, outputShape, maxAbsDiff, maxRelDiff: scale > 0 ? maxAbsDiff / scale : maxAbsDiff };
  } finally {
    await session.release();
  }
}
