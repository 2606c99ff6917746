import { CheckpointError } from './checkpoint-error';
import { FLOAT_DTYPE_BYTES, FloatDtype, isFloatDtype, toFloat32 } from './float-convert';
import { StateDict } from './state-dict';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an unsigned 64-bit little-endian header
 * length N, N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`,
 * then the data region; offsets are relative to the start of the data region.
 */

/** The reference implementation refuses headers over 100 MB; so do we (a bigger one is not a real checkpoint). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** One entry of a safetensors header, validated. */
export interface SafetensorsEntry {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  /** Offsets into the data region, end exclusive. */
  begin: number;
  end: number;
}

/** A parsed, validated header: the tensors in header order, the free-form metadata, where the data starts. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses and checks a safetensors header without converting any tensor: header length within the file, JSON,
 * dtype, shape, `numel × bytes per element = end − begin`, offsets inside the data region, no two tensors
 * overlapping. `__metadata__` is returned as is. Throws a {@link CheckpointError} naming `source`, the tensor and
 * the bad value.
 *
 * ```ts
 * const header = parseSafetensorsHeader(fs.readFileSync(file), file);
 * header.entries.map((e) => `${e.name} ${e.dtype} [${e.shape}]`);
 * ```
 */
export function parseSafetensorsHeader(bytes: Uint8Array, source: string): SafetensorsHeader {
  if (bytes.length < 8) {
    throw new CheckpointError(source, `file is ${bytes.length} bytes, too short for the 8-byte header length of a safetensors file`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new CheckpointError(
      source,
      `header length ${headerLength} runs past the end of the file (${bytes.length} bytes): truncated or not a safetensors file`,
    );
  }
  const n = Number(headerLength);
  if (n > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new CheckpointError(source, `header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit of the format`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new CheckpointError(source, `header (${n} bytes after the length) is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointError(source, `header must be a JSON object, got ${describe(header)}`);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) metadata = raw as Record<string, string>;
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new CheckpointError(source, `header entry must be an object with dtype, shape, data_offsets; got ${describe(raw)}`, name);
    }
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !isFloatDtype(dtype)) {
      throw new CheckpointError(
        source,
        `dtype ${describe(dtype)} is not supported (supported: ${Object.keys(FLOAT_DTYPE_BYTES).join(', ')})`,
        name,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
      throw new CheckpointError(source, `shape must be a list of non-negative integers, got ${describe(shape)}`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
      throw new CheckpointError(source, `data_offsets must be [begin, end] with 0 <= begin <= end, got ${describe(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      throw new CheckpointError(
        source,
        `data_offsets ${describe(offsets)} run past the end of the data region (${dataLength} bytes): truncated file or bad offsets`,
        name,
      );
    }
    const numel = shape.reduce((a: number, b: number) => a * b, 1);
    const expectedBytes = numel * FLOAT_DTYPE_BYTES[dtype];
    if (expectedBytes !== end - begin) {
      throw new CheckpointError(
        source,
        `shape ${describe(shape)} × ${dtype} (${FLOAT_DTYPE_BYTES[dtype]} bytes) needs ${expectedBytes} bytes but data_offsets ${describe(offsets)} hold ${end - begin}`,
        name,
      );
    }
    entries.push({ name, dtype, shape: shape.slice(), begin, end });
  }
  const byBegin = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byBegin.length; i++) {
    const previous = byBegin[i - 1];
    const current = byBegin[i];
    if (current.begin < previous.end) {
      throw new CheckpointError(
        source,
        `data_offsets [${current.begin}, ${current.end}] overlap those of ${JSON.stringify(previous.name)} [${previous.begin}, ${previous.end}]`,
        current.name,
      );
    }
  }
  return { entries, metadata, dataStart };
}

/**
 * Reads a whole safetensors file into a state dict, every tensor upcast to float32 (F16 and BF16 exactly; F64 is
 * rounded to float32, the precision the model runs in). `source` names the file in error messages.
 *
 * ```ts
 * const file = 'unet/diffusion_pytorch_model.safetensors';
 * const stateDict = readSafetensors(fs.readFileSync(file), file);
 * stateDict.get('conv_in.weight'); // { shape: [128, 3, 3, 3], data: Float32Array }
 * ```
 */
export function readSafetensors(bytes: Uint8Array, source: string): StateDict {
  const { entries, dataStart } = parseSafetensorsHeader(bytes, source);
  const stateDict: StateDict = new Map();
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    stateDict.set(entry.name, { shape: entry.shape, data: toFloat32(raw, entry.dtype) });
  }
  return stateDict;
}
