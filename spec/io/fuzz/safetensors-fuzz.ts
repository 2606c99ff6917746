// Structure-aware fuzzing of the safetensors header parser: valid files (random tensors, dtypes, shapes, names)
// are built, then mutated where the parser makes decisions (header length, offsets, shapes, dtypes, nesting,
// metadata, gaps, trailing bytes, truncation), and each is read: a result or a CheckpointError, nothing else.
import fc from 'fast-check';
import { readSafetensors } from '../../../lib/io/safetensors';
import { joinSafetensors, safetensorsFromHeaderText } from '../../../test-support/safetensors-bytes';
import { FuzzSummary, OutcomeCounter, resultOrNamedError } from './outcomes';

const SOURCE = 'fuzz.safetensors';
const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

const nameArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('conv_in.weight', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'a'.repeat(300)),
);
const tensorArb = fc.record({
  name: nameArb,
  dtype: fc.constantFrom('F32', 'F16', 'BF16', 'F64'),
  shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
});
const validArb = fc.uniqueArray(tensorArb, { selector: (t) => t.name, minLength: 0, maxLength: 6 }).filter((ts) => ts.every((t) => t.name !== '__metadata__'));

/** Any JSON value, nested up to `depth`, including the shapes that break naive code (deep nesting built below). */
const junkArb = fc.oneof(
  fc.constantFrom(null, true, -1, 0.5, 2 ** 53, 1e308, '', 'F32', '__proto__', [], {}, [-1], [1.5], ['1'], [2 ** 60]),
  fc.integer({ min: 1, max: 40 }).map((depth) => nest(depth)),
  fc.integer({ min: 65, max: 70 }).map((rank) => new Array(rank).fill(1)),
  fc.array(fc.integer({ min: -2, max: 2 ** 31 }), { maxLength: 5 }),
);

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

type Header = Record<string, any>;

/** header[name] = value as an own property, even for `__proto__` (plain assignment would set the prototype). */
function setEntry(header: Header, name: string, value: unknown): void {
  Object.defineProperty(header, name, { value, enumerable: true, writable: true, configurable: true });
}
type Mutation =
  | { kind: 'field'; index: number; field: 'dtype' | 'shape' | 'data_offsets'; value: unknown }
  | { kind: 'delete-field'; index: number; field: string }
  | { kind: 'entry'; index: number; value: unknown }
  | { kind: 'shift-offsets'; index: number; begin: number; end: number }
  | { kind: 'metadata'; value: unknown }
  | { kind: 'extra-entry'; name: string; begin: number; end: number; dtype: string }
  | { kind: 'length-field'; value: bigint }
  | { kind: 'length-delta'; delta: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'deep-header'; depth: number }
  | { kind: 'gap'; index: number; bytes: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), index: fc.nat(), field: fc.constantFrom('dtype' as const, 'shape' as const, 'data_offsets' as const), value: fc.oneof(junkArb, fc.constantFrom('I64', 'Q8', 'f32', 'constructor', 'BOOL')) }),
  fc.record({ kind: fc.constant('delete-field' as const), index: fc.nat(), field: fc.constantFrom('dtype', 'shape', 'data_offsets') }),
  fc.record({ kind: fc.constant('entry' as const), index: fc.nat(), value: junkArb }),
  fc.record({ kind: fc.constant('shift-offsets' as const), index: fc.nat(), begin: fc.integer({ min: -8, max: 8 }), end: fc.integer({ min: -8, max: 8 }) }),
  fc.record({ kind: fc.constant('metadata' as const), value: fc.oneof(junkArb, fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string(), junkArb), { maxKeys: 3 })) }),
  fc.record({ kind: fc.constant('extra-entry' as const), name: nameArb, begin: fc.nat({ max: 64 }), end: fc.nat({ max: 64 }), dtype: fc.constantFrom('F32', 'F16', 'U8') }),
  fc.record({ kind: fc.constant('length-field' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ kind: fc.constant('length-delta' as const), delta: fc.integer({ min: -16, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('gap' as const), index: fc.nat(), bytes: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ kind: fc.constant('deep-header' as const), depth: fc.oneof(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1000, max: 100_000 })) }),
);

function applyToHeader(header: Header, names: string[], m: Mutation): void {
  const pick = (i: number) => (names.length === 0 ? undefined : names[i % names.length]);
  const candidate = 'index' in m ? pick(m.index) : undefined;
  // An earlier mutation may have replaced the entry by junk: edit entries that are still objects.
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const name = candidate !== undefined && isObject(header[candidate]) ? candidate : undefined;
  switch (m.kind) {
    case 'field':
      if (name !== undefined) header[name][m.field] = m.value;
      break;
    case 'delete-field':
      if (name !== undefined) delete header[name][m.field];
      break;
    case 'entry':
      if (name !== undefined) setEntry(header, name, m.value);
      break;
    case 'shift-offsets':
      if (name !== undefined && Array.isArray(header[name].data_offsets) && header[name].data_offsets.length === 2) {
        const [begin, end] = header[name].data_offsets;
        header[name].data_offsets = [Number(begin) + m.begin, Number(end) + m.end];
      }
      break;
    case 'metadata':
      setEntry(header, '__metadata__', m.value);
      break;
    case 'extra-entry':
      setEntry(header, m.name, { dtype: m.dtype, shape: [Math.max(0, m.end - m.begin) / (BYTES[m.dtype] ?? 1)], data_offsets: [m.begin, m.end] });
      break;
    default:
  }
}

function applyToBytes(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'length-field': {
      const out = bytes.slice();
      if (out.length >= 8) new DataView(out.buffer).setBigUint64(0, m.value, true);
      return out;
    }
    case 'length-delta': {
      const out = bytes.slice();
      if (out.length >= 8) {
        const view = new DataView(out.buffer);
        const n = view.getBigUint64(0, true) + BigInt(m.delta);
        view.setBigUint64(0, n < 0n ? 0n : n, true);
      }
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, m.at % (bytes.length + 1));
    case 'append': {
      const out = new Uint8Array(bytes.length + m.bytes.length);
      out.set(bytes);
      out.set(m.bytes, bytes.length);
      return out;
    }
    case 'flip': {
      const out = bytes.slice();
      if (out.length > 0) out[m.at % out.length] = m.value;
      return out;
    }
    default:
      return bytes;
  }
}

/** Builds a valid file from `tensors`, applies `mutations` (header edits first, then byte edits). */
export function mutatedSafetensors(tensors: { name: string; dtype: string; shape: number[] }[], mutations: Mutation[]): Uint8Array {
  const header: Header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [i, t] of tensors.entries()) {
    // A gap: unused bytes before tensor i (the offsets stay consistent, so only the tiling check can see it).
    for (const m of mutations) if (m.kind === 'gap' && m.index % tensors.length === i) offset += m.bytes;
    const n = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    setEntry(header, t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] });
    offset += n;
  }
  const names = tensors.map((t) => t.name);
  let deep = 0;
  for (const m of mutations) {
    if (m.kind === 'deep-header') deep = m.depth;
    else applyToHeader(header, names, m);
  }
  const data = new Uint8Array(offset).map((_, i) => i);
  // JSON.stringify recurses: very deep nesting is spliced into the text instead of built as an object.
  let bytes = deep > 0 ? withDeepValue(header, data, deep) : joinSafetensors(header, data);
  for (const m of mutations) bytes = applyToBytes(bytes, m);
  return bytes;
}

function withDeepValue(header: Header, data: Uint8Array, depth: number): Uint8Array {
  const text = JSON.stringify(header);
  const deepText = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  return safetensorsFromHeaderText(`{"deep":{"dtype":${deepText},"shape":[],"data_offsets":[0,0]},${text.slice(1)}`, data);
}

const KINDS: [string, RegExp][] = [
  ['too-short', /too short for the 8-byte header length/],
  ['header-length', /header length \d+ (runs past the end|exceeds the limit)/],
  ['json', /is not valid UTF-8 JSON/],
  ['not-object', /header must be a JSON object/],
  ['metadata', /__metadata__/],
  ['entry', /header entry must be an object/],
  ['dtype', /dtype .* is not supported/],
  ['shape', /shape must be a list/],
  ['offsets', /data_offsets must be|run past the end of the data region/],
  ['size', /needs \d+ bytes but data_offsets/],
  ['overlap', /overlap those of/],
  ['gap', /leave a gap/],
  ['trailing', /trailing bytes/],
];

/** Runs `runs` generated files through readSafetensors (seeded); throws on any input that breaks the property. */
export function fuzzSafetensorsHeader(runs: number, seed: number): FuzzSummary {
  const counter = new OutcomeCounter(['too-short', 'header-length'], KINDS);
  const start = performance.now();
  fc.assert(
    fc.property(validArb, fc.array(mutationArb, { minLength: 0, maxLength: 3 }), (tensors, mutations) => {
      const bytes = mutatedSafetensors(tensors, mutations);
      const kind = resultOrNamedError(() => readSafetensors(bytes, SOURCE), SOURCE, counter);
      if (mutations.length === 0 && kind !== 'ok') throw new Error(`an unmutated valid file was refused (${kind})`);
    }),
    { numRuns: runs, seed },
  );
  return counter.summary(performance.now() - start, seed);
}
