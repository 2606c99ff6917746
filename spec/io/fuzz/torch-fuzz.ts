// Structure-aware fuzzing of the .bin reader: the pickle machine (opcode streams built as torch.save writes them,
// then mutated at opcode granularity: deleted, repeated, swapped, inserted opcodes, other memo references, ints,
// storage types and globals, DAGs built through the memo) and its zip reader (valid archives mutated in the
// fields the reader trusts: sizes, offsets, compression method, names, entry counts). Each input is read: a
// result or a CheckpointError, nothing else.
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { readTorchCheckpoint } from '../../../lib/io/torch-pickle';
import { rowMajorStrides } from '../../../test-support/torch-zip-bytes';
import { FuzzSummary, OutcomeCounter, resultOrNamedError } from './outcomes';

const SOURCE = 'fuzz.bin';

// --- opcodes, one chunk each -------------------------------------------------------------------------------------
const u32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const op = {
  proto: (v: number) => [0x80, v],
  str: (s: string) => {
    const b = [...Buffer.from(s, 'utf8')];
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number) => [0x4a, ...u32(n)],
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')],
  binput: (i: number) => [0x71, i & 255],
  binget: (i: number) => [0x68, i & 255],
  longBinget: (i: number) => [0x6a, ...u32(i)],
  mark: [0x28],
  tuple: [0x74],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  reduce: [0x52],
  persid: [0x51],
  setitems: [0x75],
  append: [0x61],
  newfalse: [0x89],
  stop: [0x2e],
};

interface TensorSpec {
  name: string;
  key: string;
  storageType: string;
  numel: number;
  size: number[];
  offset: number;
}

/** The opcode chunks of `{name: tensor, ...}` as torch.save writes them (memo entries included). */
function stateDictChunks(tensors: TensorSpec[]): number[][] {
  const chunks: number[][] = [op.proto(2), op.emptyDict, op.binput(0), op.mark];
  let memo = 1;
  for (const t of tensors) {
    chunks.push(op.str(t.name), op.binput(memo++), op.global('torch._utils', '_rebuild_tensor_v2'), op.binput(memo++), op.mark);
    chunks.push(op.mark, op.str('storage'), op.global('torch', t.storageType), op.str(t.key), op.str('cpu'), op.int(t.numel), op.tuple, op.persid);
    chunks.push(op.int(t.offset), op.mark, ...t.size.map(op.int), op.tuple, op.mark, ...rowMajorStrides(t.size).map(op.int), op.tuple);
    chunks.push(op.newfalse, op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce, op.tuple, op.reduce, op.binput(memo++));
  }
  chunks.push(op.setitems, op.stop);
  return chunks;
}

/** `levels` nested lists `x_{i+1} = [x_i, x_i]` through the memo: a DAG of 2^levels leaves in a few bytes. */
function dagChunks(levels: number): number[][] {
  const chunks: number[][] = [op.emptyList, op.binput(200)];
  for (let i = 0; i < levels; i++) chunks.push(op.mark, op.binget(200), op.binget(200), [0x6c], op.binput(200));
  return chunks;
}

const storageTypeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage') },
  { weight: 2, arbitrary: fc.constantFrom('LongStorage', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'Storage') },
);
const tensorArb = fc
  .record({
    name: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('w', '__proto__', 'constructor')),
    key: fc.constantFrom('0', '1', '2', '__proto__'),
    storageType: storageTypeArb,
    size: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    extra: fc.nat({ max: 3 }),
    offset: fc.nat({ max: 2 }),
  })
  .map((t) => ({ ...t, numel: t.size.reduce((a, b) => a * b, 1) + t.offset + t.extra }));

/** Storage bytes for the tensors: one entry per key, as long as its first tensor declares (the reader's rule). */
function storagesFor(tensors: TensorSpec[]): Record<string, Uint8Array> {
  const bytesPer: Record<string, number> = { HalfStorage: 2, BFloat16Storage: 2, DoubleStorage: 8, LongStorage: 8 };
  const out: Record<string, Uint8Array> = Object.create(null);
  for (const t of tensors) {
    if (!(t.key in out)) out[t.key] = new Uint8Array(t.numel * (bytesPer[t.storageType] ?? 4)).map((_, i) => i);
  }
  return out;
}

function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, level: 0 | 6 = 0): Uint8Array {
  const files: Record<string, Uint8Array> = Object.create(null);
  files['archive/data.pkl'] = pickle;
  files['archive/byteorder'] = Buffer.from('little');
  for (const key of Object.keys(storages)) files[`archive/data/${key}`] = storages[key];
  files['archive/version'] = Buffer.from('3\n');
  return zipSync(files, { level });
}

// --- pickle mutations ----------------------------------------------------------------------------------------------
const anyOpcodeChunkArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((b) => [b]),
  fc.nat({ max: 260 }).map(op.binget),
  fc.nat({ max: 260 }).map(op.binput),
  fc.nat().map(op.longBinget),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(op.int),
  fc.constantFrom(op.mark, op.tuple, op.emptyTuple, op.emptyDict, op.emptyList, op.reduce, op.persid, op.setitems, op.append, op.stop, [0x32], [0x30], [0x31], [0x85], [0x86], [0x87], [0x62], [0x73], [0x94], [0x64], [0x6c], [0x65]),
  fc.constantFrom(['os', 'system'], ['builtins', 'eval'], ['torch', 'constructor'], ['torch', '__proto__'], ['torch', 'toString'], ['collections', 'OrderedDict'], ['torch._utils', '_rebuild_parameter'], ['torch._utils', '_rebuild_tensor']).map(([m, n]) => op.global(m, n)),
  // LONG1 of 9 bytes, BINUNICODE8 / BINUNICODE lengths past the end, a FRAME, an unsupported protocol.
  fc.constantFrom<number[][]>([0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0xff], [0x8d, 255, 255, 255, 255, 255, 255, 255, 127], [0x58, 255, 255, 255, 255], [0x95, 1, 0, 0, 0, 0, 0, 0, 0], [0x80, 9]),
  fc.integer({ min: 1, max: 45 }).map((levels) => dagChunks(levels).flat()),
);

type PickleMutation =
  | { kind: 'delete'; at: number }
  | { kind: 'repeat'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'insert'; at: number; chunk: number[] }
  | { kind: 'int'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'dag-call'; levels: number; target: 'OrderedDict' | 'size' | 'persid' };

const pickleMutationArb: fc.Arbitrary<PickleMutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), chunk: anyOpcodeChunkArb }),
  fc.record({ kind: fc.constant('int' as const), at: fc.nat(), value: fc.constantFrom(-1, 0, 1, 3, 2 ** 31 - 1, -(2 ** 31), 65, 1000) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dag-call' as const), levels: fc.integer({ min: 1, max: 45 }), target: fc.constantFrom('OrderedDict' as const, 'size' as const, 'persid' as const) }),
);

function mutatePickle(chunks: number[][], m: PickleMutation): number[][] {
  const out = chunks.slice();
  const at = (i: number) => i % Math.max(1, out.length);
  switch (m.kind) {
    case 'delete':
      out.splice(at(m.at), 1);
      break;
    case 'repeat':
      out.splice(at(m.at), 0, out[at(m.at)] ?? []);
      break;
    case 'swap': {
      if (out.length === 0) break;
      const [i, j] = [at(m.at), at(m.with)];
      [out[i], out[j]] = [out[j], out[i]];
      break;
    }
    case 'insert':
      out.splice(at(m.at), 0, m.chunk);
      break;
    case 'int': {
      // Change the m.at-th BININT (numel, offset, a size or a stride).
      const ints = out.map((c, i) => (c[0] === 0x4a && c.length === 5 ? i : -1)).filter((i) => i >= 0);
      if (ints.length > 0) out[ints[m.at % ints.length]] = op.int(m.value);
      break;
    }
    case 'truncate':
      out.splice(at(m.at));
      break;
    case 'dag-call': {
      // Replace the whole pickle's root by a call that receives a DAG: OrderedDict(dag), a tensor of size dag, a
      // persistent id of dag. Every error path that describes the argument must stay bounded.
      const dag = dagChunks(m.levels);
      const call =
        m.target === 'OrderedDict'
          ? [op.global('collections', 'OrderedDict'), ...dag, [0x85], op.reduce]
          : m.target === 'persid'
            ? [...dag, op.persid]
            : [op.global('torch._utils', '_rebuild_tensor_v2'), op.mark, op.int(0), op.int(0), ...dag, ...dag, op.newfalse, op.emptyDict, op.tuple, op.reduce];
      return [op.proto(2), op.emptyDict, op.mark, op.str('w'), ...call, op.setitems, op.stop];
    }
  }
  return out;
}

const PICKLE_KINDS: [string, RegExp][] = [
  ['not-zip', /not a PyTorch checkpoint|legacy/],
  ['zip', /not a valid zip archive|zip entry ".*" (holds|is compressed)|zip archive with/],
  ['refused-global', /global .* is not allowed/],
  ['refused-opcode', /opcode .* is not allowed|unknown opcode/],
  ['truncated', /truncated pickle|ends without STOP/],
  ['stack', /empty stack|without a MARK|STOP with/],
  ['memo', /memo entry/],
  ['call', /called with|REDUCE|is not callable|BUILD on/],
  ['persid', /persistent id|storage .* (has no zip entry|declares|is described twice)/],
  ['view', /bad tensor view|reaches element|first argument/],
  ['dtype', /dtype .* is not supported|protocol/],
  ['not-state-dict', /holds a|not a tensor|is not a string/],
  ['limit', /more than/],
  ['pickle-other', /data\.pkl: /],
];

/** Fuzzes the pickle machine through readTorchCheckpoint (zip kept valid); `runs` inputs, seeded. */
export function fuzzTorchPickle(runs: number, seed: number): FuzzSummary {
  // The first check of the unpickler: the opcode stream ends early, or its first opcodes are refused.
  const counter = new OutcomeCounter(['not-zip', 'zip', 'truncated'], PICKLE_KINDS);
  const start = performance.now();
  fc.assert(
    fc.property(fc.array(tensorArb, { minLength: 0, maxLength: 4 }), fc.array(pickleMutationArb, { minLength: 0, maxLength: 3 }), (tensors, mutations) => {
      let chunks = stateDictChunks(tensors);
      for (const m of mutations) chunks = mutatePickle(chunks, m);
      const zip = torchZip(new Uint8Array(chunks.flat()), storagesFor(tensors));
      const kind = resultOrNamedError(() => readTorchCheckpoint(zip, SOURCE), SOURCE, counter);
      const plain = tensors.every((t) => ['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage'].includes(t.storageType));
      const sameKeyAgreement = tensors.every((t) => tensors.every((u) => u.key !== t.key || (u.storageType === t.storageType && u.numel === t.numel)));
      const uniqueNames = new Set(tensors.map((t) => t.name)).size === tensors.length;
      if (mutations.length === 0 && plain && sameKeyAgreement && uniqueNames && kind !== 'ok') {
        throw new Error(`an unmutated valid checkpoint was refused (${kind})`);
      }
    }),
    { numRuns: runs, seed },
  );
  return counter.summary(performance.now() - start, seed);
}

// --- zip mutations -------------------------------------------------------------------------------------------------
type ZipMutation =
  | { kind: 'field'; record: 'local' | 'central' | 'end'; index: number; offset: number; width: 2 | 4; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'deflate' }
  | { kind: 'rename'; index: number; name: string }
  | { kind: 'prepend'; bytes: number };

/** Offsets of the fields the reader trusts, per record type (APPNOTE 4.3.7, 4.3.12, 4.3.16). */
const FIELDS = {
  local: [[8, 2], [18, 4], [22, 4], [26, 2], [28, 2]], // method, compressed, uncompressed, name length, extra length
  central: [[10, 2], [20, 4], [24, 4], [28, 2], [30, 2], [42, 4]], // method, sizes, name/extra length, local offset
  end: [[8, 2], [10, 2], [12, 4], [16, 4], [20, 2]], // entries here/total, cd size, cd offset, comment length
} as const;
const SIGNATURES = { local: 0x04034b50, central: 0x02014b50, end: 0x06054b50 } as const;

const zipMutationArb: fc.Arbitrary<ZipMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    record: fc.constantFrom('local' as const, 'central' as const, 'end' as const),
    index: fc.nat(),
    offset: fc.nat(),
    width: fc.constant(4 as const),
    value: fc.oneof(fc.constantFrom(0, 1, 8, 12, 99, 0xffff, 0xffffffff, 0x7fffffff), fc.nat({ max: 4096 })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ kind: 'deflate' as const }),
  fc.record({ kind: fc.constant('rename' as const), index: fc.nat(), name: fc.constantFrom('archive/data/__proto__', '../x', '', 'archive/data.pkl', 'archive/data/constructor', 'other/data.pkl') }),
  fc.record({ kind: fc.constant('prepend' as const), bytes: fc.integer({ min: 1, max: 64 }) }),
);

function recordOffsets(zip: Uint8Array, signature: number): number[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.length);
  const out: number[] = [];
  for (let i = 0; i + 4 <= zip.length; i++) if (view.getUint32(i, true) === signature) out.push(i);
  return out;
}

function mutateZip(zip: Uint8Array, m: ZipMutation): Uint8Array {
  switch (m.kind) {
    case 'field': {
      const records = recordOffsets(zip, SIGNATURES[m.record]);
      if (records.length === 0) return zip;
      const [offset, width] = FIELDS[m.record][m.offset % FIELDS[m.record].length];
      const at = records[m.index % records.length] + offset;
      if (at + width > zip.length) return zip;
      const out = zip.slice();
      const view = new DataView(out.buffer);
      if (width === 2) view.setUint16(at, m.value & 0xffff, true);
      else view.setUint32(at, m.value >>> 0, true);
      return out;
    }
    case 'truncate':
      return zip.subarray(0, m.at % (zip.length + 1));
    case 'flip': {
      const out = zip.slice();
      if (out.length > 0) out[m.at % out.length] = m.value;
      return out;
    }
    case 'prepend': {
      const out = new Uint8Array(zip.length + m.bytes);
      out.set(zip, m.bytes);
      return out;
    }
    default:
      return zip; // 'deflate' and 'rename' are applied when the archive is built
  }
}

const ZIP_KINDS: [string, RegExp][] = [
  ['not-zip', /not a PyTorch checkpoint|legacy/],
  ['invalid-zip', /not a valid zip archive/],
  ['compressed', /is compressed/],
  ['entry-size', /zip entry .* holds|claims \d+ bytes/],
  ['entries', /data\.pkl entr/],
  ['pickle', /data\.pkl: /],
  ['storage', /storage/],
  ['other-named', /./],
];

/** Fuzzes the zip reader under readTorchCheckpoint (pickle kept valid); `runs` inputs, seeded. */
export function fuzzTorchZip(runs: number, seed: number): FuzzSummary {
  // The zip reader's first check: the signature and central directory (fflate's parse).
  const counter = new OutcomeCounter(['not-zip', 'invalid-zip'], ZIP_KINDS);
  const start = performance.now();
  const validTensorArb = tensorArb.filter((t) => !['LongStorage', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'Storage'].includes(t.storageType));
  fc.assert(
    fc.property(fc.uniqueArray(validTensorArb, { selector: (t) => t.key, maxLength: 3 }), fc.array(zipMutationArb, { minLength: 0, maxLength: 3 }), (tensors, mutations) => {
      const storages = storagesFor(tensors);
      const files: Record<string, Uint8Array> = Object.create(null);
      files['archive/data.pkl'] = new Uint8Array(stateDictChunks(tensors).flat());
      for (const key of Object.keys(storages)) files[`archive/data/${key}`] = storages[key];
      files['archive/version'] = Buffer.from('3\n');
      const names = Object.keys(files);
      for (const m of mutations) {
        if (m.kind !== 'rename') continue;
        const from = names[m.index % names.length];
        if (files[from] === undefined) continue;
        Object.defineProperty(files, m.name, { value: files[from], enumerable: true, configurable: true, writable: true });
        if (m.name !== from) delete files[from];
      }
      let zip: Uint8Array = zipSync(files, { level: mutations.some((m) => m.kind === 'deflate') ? 6 : 0 });
      for (const m of mutations) zip = mutateZip(zip, m);
      resultOrNamedError(() => readTorchCheckpoint(zip, SOURCE), SOURCE, counter);
    }),
    { numRuns: runs, seed },
  );
  return counter.summary(performance.now() - start, seed);
}
