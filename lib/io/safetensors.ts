import { BoundedJsonError, parseBoundedJson } from './bounded-json';
import { CheckpointError } from './checkpoint-error';
import { describeValue } from './describe-value';
import { FLOAT_DTYPE_BYTES, FloatDtype, isFloatDtype, toFloat32 } from './float-convert';
import {
  MAX_DESCRIBED_CHARS,
  MAX_TENSOR_COUNT,
  MAX_TENSOR_RANK,
  SAFETENSORS_HEADER_JSON_LIMITS,
  SAFETENSORS_MAX_HEADER_BYTES,
} from './reader-limits';
import { NamedTensor, StateDict } from './state-dict';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an unsigned 64-bit little-endian header
 * length N, N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`,
 * then the data region; offsets are relative to the start of the data region.
 */

/** One entry of a safetensors header, validated. */
interface SafetensorsEntry {
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

const describe = (value: unknown): string => describeValue(value, { maxChars: MAX_DESCRIBED_CHARS });

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses and checks a safetensors header without converting any tensor, as strictly as the reference
 * implementation: header length within the file and under {@link SAFETENSORS_MAX_HEADER_BYTES}; UTF-8 JSON within
 * the stated depth and size; at most {@link MAX_TENSOR_COUNT} tensors; known dtype; a shape of at most
 * {@link MAX_TENSOR_RANK} non-negative integers; `numel × bytes per element = end − begin`; and the tensors, in
 * offset order, tile the data region exactly (no overlap, no gap, no trailing bytes). `__metadata__` must map
 * strings to strings. Throws a {@link CheckpointError} naming `source`, the tensor and the bad value.
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
    throw new CheckpointError(
      source,
      `header length ${n} exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes (about ${MAX_TENSOR_COUNT} tensors): refused`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch (err) {
    throw new CheckpointError(source, `header (${n} bytes after the length) is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  let header: unknown;
  try {
    header = parseBoundedJson(text, source, SAFETENSORS_HEADER_JSON_LIMITS);
  } catch (err) {
    const detail = err instanceof BoundedJsonError ? err.detail : (err as Error).message;
    throw new CheckpointError(source, `header (${n} bytes after the length) is not valid UTF-8 JSON: ${detail}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointError(source, `header must be a JSON object, got ${describe(header)}`);
  }
  const names = Object.keys(header);
  if (names.length > MAX_TENSOR_COUNT + 1) {
    throw new CheckpointError(source, `header lists ${names.length} entries, more than the limit of ${MAX_TENSOR_COUNT} tensors: refused`);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const name of names) {
    const raw = (header as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      metadata = checkMetadata(raw, source);
      continue;
    }
    entries.push(checkEntry(name, raw, dataLength, source));
  }
  checkTiling(entries, dataLength, source);
  return { entries, metadata, dataStart };
}

function checkMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CheckpointError(source, `__metadata__ must be an object of strings, got ${describe(raw)}`);
  }
  const metadata: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw new CheckpointError(source, `__metadata__ ${describe(key)} must be a string, got ${describe(value)}`);
    }
    metadata[key] = value;
  }
  return metadata;
}

function checkEntry(name: string, raw: unknown, dataLength: number, source: string): SafetensorsEntry {
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
  if (!Array.isArray(shape) || shape.length > MAX_TENSOR_RANK || !shape.every(isNonNegativeInteger)) {
    throw new CheckpointError(
      source,
      `shape must be a list of at most ${MAX_TENSOR_RANK} non-negative integers, got ${describe(shape)}`,
      name,
    );
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
  // BigInt: a hostile shape's product overflows a double's exact range (rank ≤ MAX_TENSOR_RANK keeps this cheap).
  const expectedBytes = shape.reduce((a: bigint, b: number) => a * BigInt(b), 1n) * BigInt(FLOAT_DTYPE_BYTES[dtype]);
  if (expectedBytes !== BigInt(end - begin)) {
    throw new CheckpointError(
      source,
      `shape ${describe(shape)} × ${dtype} (${FLOAT_DTYPE_BYTES[dtype]} bytes) needs ${expectedBytes} bytes but data_offsets ${describe(offsets)} hold ${end - begin}`,
      name,
    );
  }
  return { name, dtype, shape: shape.slice(), begin, end };
}

/**
 * The tensors, sorted by offsets, must cover the data region exactly, as the reference implementation requires:
 * an overlap would alias two tensors, a gap or trailing bytes would hide data no tensor accounts for.
 */
function checkTiling(entries: SafetensorsEntry[], dataLength: number, source: string): void {
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: SafetensorsEntry | undefined;
  for (const current of byOffset) {
    if (current.begin < covered && previous !== undefined) {
      throw new CheckpointError(
        source,
        `data_offsets [${current.begin}, ${current.end}] overlap those of ${describe(previous.name)} [${previous.begin}, ${previous.end}]`,
        current.name,
      );
    }
    if (current.begin > covered) {
      throw new CheckpointError(
        source,
        `data_offsets [${current.begin}, ${current.end}] leave a gap of ${current.begin - covered} bytes after ` +
          (previous === undefined ? 'the start of the data region' : `${describe(previous.name)} (which ends at ${covered})`) +
          ': safetensors tensors must be contiguous',
        current.name,
      );
    }
    covered = current.end;
    previous = current;
  }
  if (covered !== dataLength) {
    throw new CheckpointError(
      source,
      `the data region is ${dataLength} bytes but the tensors end at ${covered}: ${dataLength - covered} trailing bytes that no tensor describes (corrupted or appended data)`,
    );
  }
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
  return new Map(safetensorsTensors(bytes, source));
}

/**
 * {@link readSafetensors} one tensor at a time: the header is parsed and checked whole on the first `next()`, then
 * each tensor is converted when it is asked for, so a caller can let the event loop turn between two (a multi-GB
 * checkpoint converts for seconds).
 *
 * ```ts
 * for (const [name, tensor] of safetensorsTensors(bytes, file)) { stateDict.set(name, tensor); await pause(); }
 * ```
 */
export function* safetensorsTensors(bytes: Uint8Array, source: string): Generator<[string, NamedTensor]> {
  const { entries, dataStart } = parseSafetensorsHeader(bytes, source);
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    yield [entry.name, { shape: entry.shape, data: toFloat32(raw, entry.dtype) }];
  }
}
