// Export of a module tree to ONNX, in eval mode. Each module class has an
// exporter (registerOnnxExporter) that emits the ONNX nodes of its eval-mode
// forward from the exporters of its children; values carry their static
// shape, with -1 for the dynamic batch dimension. Classes without an exporter
// fail with a TsnasError naming the class and the module path.
import { Tensor } from '../../tensor/index.js';
import { TsnasError } from '../../errors.js';
import type { AnyModule } from '../../nn/module.js';
import { OnnxGraphBuilder, ONNX_IR_VERSION, ONNX_OPSET, attr, type Attribute } from './model.js';

/** A value of the graph: its name and static shape (-1 = the batch dimension). */
export interface OnnxValue {
  name: string;
  shape: number[];
}

/** Emits the nodes of module's forward on inputs; returns the output value. */
export type OnnxModuleExporter<M extends AnyModule = AnyModule> = (ctx: OnnxExportContext, module: M, inputs: OnnxValue[]) => OnnxValue;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModuleClass<M extends AnyModule> = abstract new (...args: any[]) => M;
const EXPORTERS = new Map<ModuleClass<AnyModule>, OnnxModuleExporter>();

/**
 * Registers the exporter of a module class. The class itself must match
 * (a subclass may change forward, so it needs its own exporter).
 */
export function registerOnnxExporter<M extends AnyModule>(cls: ModuleClass<M>, exporter: OnnxModuleExporter<M>): void {
  EXPORTERS.set(cls, exporter as OnnxModuleExporter);
}

/** A module class with its exporter, to register later (a space kit's list). */
export interface OnnxExporterEntry {
  readonly module: ModuleClass<AnyModule>;
  readonly exporter: OnnxModuleExporter;
}

/** Pairs a module class with its exporter (typed on the class). */
export function onnxExporter<M extends AnyModule>(module: ModuleClass<M>, exporter: OnnxModuleExporter<M>): OnnxExporterEntry {
  return { module, exporter: exporter as OnnxModuleExporter };
}

/** Whether a module class has an exporter. */
export function hasOnnxExporter(cls: ModuleClass<AnyModule>): boolean {
  return EXPORTERS.has(cls);
}

/** What exporters use to emit nodes and constants. */
export class OnnxExportContext {
  readonly builder = new OnnxGraphBuilder();
  readonly #paths = new Map<AnyModule, string>();
  readonly #intConstants = new Map<string, string>();
  readonly #floatConstants = new Map<number, string>();
  readonly #weights = new Map<Tensor, string>();

  constructor(root: AnyModule) {
    for (const [path, m] of root.namedModules()) this.#paths.set(m, path);
  }

  /** The module's dotted path in the exported tree ('' for the root). */
  pathOf(m: AnyModule): string {
    return this.#paths.get(m) ?? `<${m.constructor.name}>`;
  }

  /** Runs the exporter of m's class. */
  module(m: AnyModule, ...inputs: OnnxValue[]): OnnxValue {
    const exporter = EXPORTERS.get(m.constructor as ModuleClass<AnyModule>);
    if (!exporter) {
      const path = this.pathOf(m);
      throw new TsnasError('usage',
        `cannot export module ${path ? `'${path}' ` : ''}of class ${m.constructor.name} to ONNX: no exporter is registered for it ` +
        '(see src/export/onnx/README.md, "Adding a layer")', { where: 'onnx' });
    }
    return exporter(this, m, inputs);
  }

  /** Adds a single-output node whose output has the given shape. */
  node(opType: string, inputs: (OnnxValue | string)[], attributes: Record<string, Attribute>, shape: number[], hint = opType): OnnxValue {
    const [name] = this.builder.addNode(opType, inputs.map((v) => (typeof v === 'string' ? v : v.name)), attributes, hint);
    return { name: name!, shape };
  }

  /** A parameter or buffer as a float32 initializer (once per tensor). */
  weight(t: Tensor, hint: string): string {
    const known = this.#weights.get(t);
    if (known) return known;
    if (t.dtype !== 'float32' && t.dtype !== 'float64') {
      throw new TsnasError('usage', `cannot export ${hint} of dtype ${t.dtype} to ONNX: expected a floating-point tensor`, { where: 'onnx' });
    }
    const source = t.device === 'cpu' ? t : t.to({ device: 'cpu' });
    const raw = source.data() as Float32Array | Float64Array;
    if (source !== t) source.dispose();
    const name = this.builder.addInitializer(hint, t.shape, raw instanceof Float32Array ? raw : Float32Array.from(raw));
    this.#weights.set(t, name);
    return name;
  }

  /** A 2-D parameter transposed, as a float32 initializer (MatMul's right operand for a linear layer). */
  transposedWeight(t: Tensor, hint: string): string {
    if (t.ndim !== 2) throw new TsnasError('internal', `ONNX export: ${hint} must be 2-D to transpose, got shape [${t.shape.join(', ')}]`);
    const source = t.device === 'cpu' ? t : t.to({ device: 'cpu' });
    const raw = source.data() as Float32Array | Float64Array;
    if (source !== t) source.dispose();
    const [rows, cols] = t.shape as [number, number];
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = raw[r * cols + c]!;
    return this.builder.addInitializer(hint, [cols, rows], out);
  }

  /** A float32 initializer of given values (not tied to a tensor). */
  floats(hint: string, dims: number[], values: Float32Array): string {
    return this.builder.addInitializer(hint, dims, values);
  }

  /** A scalar float constant, shared by all nodes that use the same value. */
  scalar(value: number): string {
    let name = this.#floatConstants.get(value);
    if (!name) {
      name = this.builder.addInitializer(`const_${value}`, [], Float32Array.of(value));
      this.#floatConstants.set(value, name);
    }
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds), shared by equal lists. */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.#intConstants.get(key);
    if (!name) {
      name = this.builder.addInitializer(`ints_${key.replace(/,/g, '_').replace(/-/g, 'm')}`, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
      this.#intConstants.set(key, name);
    }
    return name;
  }
}

export interface OnnxExportOptions {
  /** Graph input and output names; default 'input' and 'logits'. */
  inputName?: string;
  outputName?: string;
  /** Name of the symbolic batch dimension; default 'batch'. */
  batchDim?: string;
  producerVersion?: string;
}

export interface OnnxExport {
  /** The encoded ModelProto (write it to a .onnx file). */
  bytes: Uint8Array;
  opset: number;
  irVersion: number;
  inputName: string;
  outputName: string;
  /** Output shape with -1 for the batch. */
  outputShape: number[];
  nodeCount: number;
}

/**
 * The ONNX model of module's eval-mode forward on one [batch, ...inputShape]
 * input (batch dynamic). The module's training flags are restored afterwards.
 */
export function exportToOnnx(root: AnyModule, inputShape: readonly number[], o: OnnxExportOptions = {}): OnnxExport {
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TsnasError('usage', `ONNX export input shape must be positive integers (without the batch), got [${inputShape.join(', ')}]`, { where: 'input' });
  }
  const inputName = o.inputName ?? 'input';
  const outputName = o.outputName ?? 'logits';
  const batchDim = o.batchDim ?? 'batch';
  const modes = root.modules().map((m) => [m, m.training] as const);
  root.eval();
  try {
    const ctx = new OnnxExportContext(root);
    ctx.builder.addInput(inputName, [batchDim, ...inputShape]);
    const out = ctx.module(root, { name: inputName, shape: [-1, ...inputShape] });
    // A named output, even when the network's last node is an input-free constant path.
    ctx.builder.uniqueName(outputName);
    ctx.builder.nodes.push({ opType: 'Identity', inputs: [out.name], outputs: [outputName], attributes: {}, name: ctx.builder.uniqueName(`${outputName}#node`) });
    ctx.builder.addOutput(outputName, out.shape.map((d) => (d === -1 ? batchDim : d)));
    ctx.builder.prune();
    const bytes = ctx.builder.encode({ producerName: 'tsnas', ...(o.producerVersion ? { producerVersion: o.producerVersion } : {}) });
    return { bytes, opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION, inputName, outputName, outputShape: out.shape, nodeCount: ctx.builder.nodes.length };
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}

export { attr };
