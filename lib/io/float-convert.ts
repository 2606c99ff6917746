/**
 * Little-endian raw tensor bytes → Float32Array, for the element types checkpoints store. Every function copies,
 * so the result never aliases the file buffer and needs no alignment.
 */

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies `bytes` (a multiple of 4 long) into a new Float32Array; F32 little-endian. */
function float32FromBytesLE(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** F64 little-endian → float32 (rounded to nearest: the precision a float32 model uses anyway). */
function float32FromFloat64BytesLE(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

/** BF16 little-endian → float32, exactly: a bfloat16 is the high half of a float32. */
function float32FromBfloat16BytesLE(bytes: Uint8Array): Float32Array {
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) bits[i] = (bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16;
  if (!LITTLE_ENDIAN_HOST) {
    const view = new DataView(out.buffer);
    for (let i = 0; i < n; i++) view.setUint32(4 * i, bits[i], true);
  }
  return out;
}

/** One IEEE half (as its 16 bits) → the float32 with the same value (exact: every half is a float32). */
export function halfBitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

let halfTable: Float32Array | undefined;

/** Every half's float32 value, by its 16 bits (built on first use). */
function halfToFloat32Table(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloat32(h);
  }
  return halfTable;
}

/** F16 little-endian → float32, exactly (through a 65,536-entry table built on first use). */
function float32FromFloat16BytesLE(bytes: Uint8Array): Float32Array {
  const table = halfToFloat32Table();
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  return out;
}

/** The floating-point element types the readers accept, by their safetensors names. */
export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** Bytes per element of each accepted type. */
export const FLOAT_DTYPE_BYTES: Readonly<Record<FloatDtype, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export function isFloatDtype(name: string): name is FloatDtype {
  return Object.prototype.hasOwnProperty.call(FLOAT_DTYPE_BYTES, name);
}

/** Raw little-endian elements of `dtype` → a new Float32Array (F16 and BF16 exact, F64 rounded to float32). */
export function toFloat32(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  switch (dtype) {
    case 'F32':
      return float32FromBytesLE(bytes);
    case 'F16':
      return float32FromFloat16BytesLE(bytes);
    case 'BF16':
      return float32FromBfloat16BytesLE(bytes);
    case 'F64':
      return float32FromFloat64BytesLE(bytes);
  }
}

/**
 * Reads single elements of `dtype` out of raw little-endian bytes, converting only the element asked for (a strided
 * view copies the elements it uses, never the span between them). `read(i)` is element `i`'s value as a float32.
 *
 * ```ts
 * const read = elementReader(storageBytes, 'F16');
 * read(3); // the fourth half, as a number
 * ```
 */
export function elementReader(bytes: Uint8Array, dtype: FloatDtype): (index: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  switch (dtype) {
    case 'F32':
      return (i) => view.getFloat32(4 * i, true);
    case 'F64':
      return (i) => Math.fround(view.getFloat64(8 * i, true));
    case 'F16': {
      const table = halfToFloat32Table();
      return (i) => table[view.getUint16(2 * i, true)];
    }
    case 'BF16': {
      const word = new DataView(new ArrayBuffer(4));
      return (i) => {
        word.setUint32(0, view.getUint16(2 * i, true) << 16);
        return word.getFloat32(0);
      };
    }
  }
}
