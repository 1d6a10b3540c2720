// A minimal protocol-buffers writer: just the wire types ONNX files use
// (varint, 64-bit little-endian is unused, length-delimited, 32-bit float).
// Messages are built bottom-up: a nested message is encoded to bytes first,
// then written as a length-delimited field of its parent.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  #buf = new Uint8Array(64);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }

  /** Base-128 varint of a non-negative integer, or of a negative one as 10-byte two's complement (int64). */
  rawVarint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`varint needs an integer, got ${value}`);
    this.#reserve(10);
    // Fast path for small values, which are nearly all of them.
    if (v < 0x80n) {
      this.#buf[this.#len++] = Number(v);
      return this;
    }
    while (v >= 0x80n) {
      this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#len++] = Number(v);
    return this;
  }

  rawBytes(bytes: Uint8Array): this {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  #tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** An int32/int64/enum/bool field. */
  varint(field: number, value: number | bigint): this {
    this.#tag(field, WIRE_VARINT);
    return this.rawVarint(value);
  }

  /** A bytes field, or an already-encoded nested message. */
  bytes(field: number, bytes: Uint8Array): this {
    this.#tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(bytes.length);
    return this.rawBytes(bytes);
  }

  string(field: number, text: string): this {
    return this.bytes(field, utf8.encode(text));
  }

  /** A nested message written by fill. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    fill(inner);
    return this.bytes(field, inner.finish());
  }

  /** A 32-bit float field. */
  float(field: number, value: number): this {
    this.#tag(field, WIRE_FIXED32);
    this.#reserve(4);
    new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#len, 4).setFloat32(0, value, true);
    this.#len += 4;
    return this;
  }

  /** A packed repeated varint field (one length-delimited run); nothing for an empty list. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field; nothing for an empty list. */
  packedFloats(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, data);
  }

  get length(): number {
    return this.#len;
  }

  /** The bytes written so far (a copy, so the writer may go on). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
