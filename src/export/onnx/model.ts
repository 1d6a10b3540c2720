// An ONNX ModelProto builder on top of ProtoWriter. Field numbers and enum
// values are those of onnx/onnx.proto (proto2, package onnx):
//   ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8
//   OperatorSetIdProto: domain 1, version 2
//   GraphProto: node 1, name 2, initializer 5, input 11, output 12
//   NodeProto: input 1, output 2, name 3, op_type 4, attribute 5
//   AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20
//     (AttributeType FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7)
//   TensorProto: dims 1, data_type 2, name 8, raw_data 9 (DataType FLOAT 1, INT64 7)
//   ValueInfoProto: name 1, type 2; TypeProto: tensor_type 1;
//   TypeProto.Tensor: elem_type 1, shape 2; TensorShapeProto: dim 1;
//   TensorShapeProto.Dimension: dim_value 1, dim_param 2
import { TsnasError } from '../../errors.js';
import { ProtoWriter } from './protobuf.js';

/** The operator set the exporter targets (onnxruntime 1.30 runs opsets 7..23). */
export const ONNX_OPSET = 17;
/** IR version 8 goes with opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

export const DATA_TYPE = { float: 1, int64: 7 } as const;
export type ElementType = keyof typeof DATA_TYPE;

export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorData };

/** Helpers that tag attribute values with their ONNX type. */
export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  ints: (value: readonly number[]): Attribute => ({ type: 'ints', value }),
  floats: (value: readonly number[]): Attribute => ({ type: 'floats', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  tensor: (value: TensorData): Attribute => ({ type: 'tensor', value }),
};

export interface TensorData {
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
  name: string;
}

/** A graph input or output: element type and shape; a string dimension is symbolic (e.g. the batch). */
export interface ValueInfo {
  name: string;
  elementType: ElementType;
  shape: readonly (number | string)[];
}

const elementTypeOf = (data: Float32Array | BigInt64Array): ElementType => (data instanceof Float32Array ? 'float' : 'int64');

function encodeTensor(w: ProtoWriter, name: string, t: TensorData): void {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) {
    throw new TsnasError('internal', `ONNX tensor ${name}: dims [${t.dims.join(', ')}] hold ${expected} values, data has ${t.data.length}`);
  }
  w.packedVarints(1, t.dims);
  w.varint(2, DATA_TYPE[elementTypeOf(t.data)]);
  if (name) w.string(8, name);
  // raw_data is little-endian; typed arrays are little-endian on every platform Node runs on here.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function encodeAttribute(w: ProtoWriter, name: string, a: Attribute): void {
  w.string(1, name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value).varint(20, 1);
      break;
    case 'int':
      w.varint(3, a.value).varint(20, 2);
      break;
    case 'string':
      w.string(4, a.value).varint(20, 3);
      break;
    case 'tensor':
      w.message(5, (t) => encodeTensor(t, '', a.value)).varint(20, 4);
      break;
    case 'floats':
      w.packedFloats(7, a.value).varint(20, 6);
      break;
    case 'ints':
      w.packedVarints(8, a.value).varint(20, 7);
      break;
  }
}

function encodeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) => type.message(1, (tensorType) => {
    tensorType.varint(1, DATA_TYPE[v.elementType]);
    tensorType.message(2, (shape) => {
      for (const d of v.shape) {
        shape.message(1, (dim) => (typeof d === 'number' ? dim.varint(1, d) : dim.string(2, d)));
      }
    });
  }));
}

/** Collects nodes, initializers, inputs and outputs, then encodes a ModelProto. */
export class OnnxGraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers = new Map<string, TensorData>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly #used = new Set<string>();

  constructor(readonly name = 'tsnas') {}

  /** A value name not used before, built from hint (dots and slashes kept: they read like module paths). */
  uniqueName(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }

  addInput(name: string, shape: readonly (number | string)[], elementType: ElementType = 'float'): string {
    const unique = this.uniqueName(name);
    if (unique !== name) throw new TsnasError('internal', `ONNX graph input name ${name} is already taken`);
    this.inputs.push({ name, elementType, shape });
    return name;
  }

  /** Marks an existing value as a graph output. */
  addOutput(name: string, shape: readonly (number | string)[], elementType: ElementType = 'float'): void {
    this.outputs.push({ name, elementType, shape });
  }

  /** A constant tensor (weights, shapes); returns its value name. */
  addInitializer(hint: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    const name = this.uniqueName(hint);
    this.initializers.set(name, { dims: [...dims], data });
    return name;
  }

  /** Adds a node; returns the names of its outputs (one unless outputCount says more). */
  addNode(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, hint = opType, outputCount = 1): string[] {
    const outputs = Array.from({ length: outputCount }, (_, i) => this.uniqueName(outputCount === 1 ? hint : `${hint}:${i}`));
    this.nodes.push({ opType, inputs, outputs, attributes, name: this.uniqueName(`${hint}#node`) });
    return outputs;
  }

  /** Drops nodes and initializers no graph output depends on (e.g. cell nodes only "none" edges leave). */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name));
    const kept: NodeSpec[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      if (!node.outputs.some((o) => needed.has(o))) continue;
      kept.push(node);
      for (const input of node.inputs) if (input) needed.add(input);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    for (const name of [...this.initializers.keys()]) if (!needed.has(name)) this.initializers.delete(name);
  }

  /** The encoded ModelProto. */
  encode(o: { producerName?: string; producerVersion?: string; opset?: number; irVersion?: number } = {}): Uint8Array {
    if (this.outputs.length === 0) throw new TsnasError('internal', 'an ONNX graph needs at least one output');
    const w = new ProtoWriter();
    w.varint(1, o.irVersion ?? ONNX_IR_VERSION);
    w.string(2, o.producerName ?? 'tsnas');
    if (o.producerVersion) w.string(3, o.producerVersion);
    w.message(7, (g) => {
      for (const node of this.nodes) {
        g.message(1, (n) => {
          for (const input of node.inputs) n.string(1, input);
          for (const output of node.outputs) n.string(2, output);
          n.string(3, node.name);
          n.string(4, node.opType);
          for (const [name, a] of Object.entries(node.attributes)) n.message(5, (m) => encodeAttribute(m, name, a));
        });
      }
      g.string(2, this.name);
      for (const [name, t] of this.initializers) g.message(5, (m) => encodeTensor(m, name, t));
      for (const v of this.inputs) g.message(11, (m) => encodeValueInfo(m, v));
      for (const v of this.outputs) g.message(12, (m) => encodeValueInfo(m, v));
    });
    w.message(8, (op) => op.string(1, '').varint(2, o.opset ?? ONNX_OPSET));
    return w.finish();
  }
}
