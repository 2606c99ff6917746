import { unzipSync } from 'fflate';
import { CheckpointError } from './checkpoint-error';
import { describeValue } from './describe-value';
import { elementReader, FloatDtype, toFloat32 } from './float-convert';
import { PickleHooks, PyDict, PyGlobal, PyTuple, typeName, unpickle } from './pickle-machine';
import { MAX_DESCRIBED_CHARS, MAX_NAME_CHARS, MAX_TENSOR_COUNT, MAX_TENSOR_RANK } from './reader-limits';
import { NamedTensor, StateDict } from './state-dict';

/**
 * PyTorch checkpoints written by `torch.save` (PyTorch ≥ 1.6, the zip format): a zip archive holding
 * `<name>/data.pkl` (a pickle of the state dict, in which each tensor is a call to `torch._utils._rebuild_tensor_v2`
 * on a storage given by a persistent id), `<name>/data/<key>` (each storage's raw little-endian bytes),
 * `<name>/version` and, from PyTorch 1.10 on, `<name>/byteorder`.
 *
 * Safety: the pickle runs on {@link unpickle}, a restricted machine that builds plain data only; the globals a
 * weights file needs are allowlisted below and stand for JavaScript functions that just record tensor views.
 * Any other global (`os.system`, `builtins.eval`, `posix.system`, ...) is refused before anything happens.
 * Sizes are checked before allocation: zip entries must be stored, not compressed (torch.save never compresses, and
 * a deflated entry can expand 1000-fold), so nothing read is larger than the file; each storage must be exactly as
 * long as its zip entry, each tensor view must lie inside its storage, and the tensors together may not be more than
 * twice the storages' size (so a small file cannot expand into a huge allocation through overlapping views). Error
 * messages describe values with a bounded, iterative {@link describeValue}, so a pickle whose memo builds a huge
 * DAG costs nothing to report.
 */

interface StorageType {
  /** The element type we convert from, or null for the integer types we refuse. */
  dtype: FloatDtype | null;
  torchDtype: string;
  bytesPerElement: number;
}

/** torch.*Storage names → element type; a Map, so `constructor`, `__proto__` or `toString` are not storage types. */
const STORAGE_TYPES: ReadonlyMap<string, StorageType> = new Map<string, StorageType>([
  ['FloatStorage', { dtype: 'F32', torchDtype: 'float32', bytesPerElement: 4 }],
  ['HalfStorage', { dtype: 'F16', torchDtype: 'float16', bytesPerElement: 2 }],
  ['BFloat16Storage', { dtype: 'BF16', torchDtype: 'bfloat16', bytesPerElement: 2 }],
  ['DoubleStorage', { dtype: 'F64', torchDtype: 'float64', bytesPerElement: 8 }],
  ['LongStorage', { dtype: null, torchDtype: 'int64', bytesPerElement: 8 }],
  ['IntStorage', { dtype: null, torchDtype: 'int32', bytesPerElement: 4 }],
  ['ShortStorage', { dtype: null, torchDtype: 'int16', bytesPerElement: 2 }],
  ['CharStorage', { dtype: null, torchDtype: 'int8', bytesPerElement: 1 }],
  ['ByteStorage', { dtype: null, torchDtype: 'uint8', bytesPerElement: 1 }],
  ['BoolStorage', { dtype: null, torchDtype: 'bool', bytesPerElement: 1 }],
]);

/** The only Python globals a `torch.save`d state dict may name. */
const ALLOWED_CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

/** A storage named by a persistent id: `('storage', torch.FloatStorage, '<key>', 'cpu', numel)`. */
class StorageRef {
  constructor(
    /** Its place in the order storages were first named: a bounded identity for view ids (the key is a string
     * of up to MAX_NAME_CHARS characters). */
    readonly index: number,
    readonly key: string,
    readonly typeName: string,
    readonly type: StorageType,
    readonly numel: number,
    readonly bytes: Uint8Array,
  ) {}
}

/** A tensor view recorded by `_rebuild_tensor_v2`: storage, offset, size, stride (in elements). */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

/** Zip entries we read: `data.pkl`, `byteorder`, `version`, `data/<key>` under one top-level folder. */
const RELEVANT_ENTRY = /^[^/]+\/(data\.pkl|byteorder|version|\.data\/version|data\/[^/]+)$/;
/** Longest zip entry name read: `<folder>/data/<key>`, keys bounded by MAX_NAME_CHARS (a Map keyed by longer
 * names would be quadratic: see MAX_NAME_CHARS). */
const MAX_ENTRY_NAME_CHARS = 2 * MAX_NAME_CHARS;
/** A central-directory record is at least 46 bytes, which bounds how many entries a file can really have. */
const MIN_CENTRAL_RECORD_BYTES = 46;
/** Tensors may add up to at most this many times the storage data (tied weights are fine, bombs are not). */
const MAX_TENSOR_TO_STORAGE_RATIO = 2;

function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A bounded description of a pickled value for an error message (O(MAX_DESCRIBED_CHARS) whatever the value). */
function describe(value: unknown): string {
  return describeValue(value, {
    maxChars: MAX_DESCRIBED_CHARS,
    special: (v) =>
      v instanceof StorageRef
        ? `storage ${describeValue(v.key, { maxChars: MAX_DESCRIBED_CHARS })}`
        : v instanceof TensorRef
          ? '<tensor>'
          : v instanceof PyGlobal
            ? describeValue(v.qualifiedName, { maxChars: MAX_DESCRIBED_CHARS }).slice(1, -1)
            : undefined,
  });
}

/** Thrown from inside fflate's filter: a compressed entry, refused before anything is inflated. */
class CompressedEntryError extends Error {
  constructor(readonly entry: string, readonly method: number) {
    super(`entry ${entry} is compressed (method ${method})`);
    this.name = 'CompressedEntryError';
  }
}

/** Unzips what a torch checkpoint needs, validating sizes and compression before anything is inflated. */
function readArchive(bytes: Uint8Array, source: string): { prefix: string; entries: Map<string, Uint8Array> } {
  if (!isZip(bytes)) {
    if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
      throw new CheckpointError(
        source,
        'this is the legacy (pre-zip) torch.save format, which this reader does not support: re-save it with a recent ' +
          'PyTorch (`torch.save(torch.load(f, weights_only=True), f)`) or convert it to safetensors',
      );
    }
    if (bytes.length >= 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') {
      throw new CheckpointError(source, 'this is the legacy tar torch.save format (PyTorch < 0.4): re-save it with a recent PyTorch');
    }
    throw new CheckpointError(source, 'not a PyTorch checkpoint: it does not start with a zip signature (PK\\x03\\x04)');
  }
  const maxEntries = Math.floor(bytes.length / MIN_CENTRAL_RECORD_BYTES);
  const declaredSize = new Map<string, number>();
  let entryCount = 0;
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, {
      filter: (file) => {
        entryCount++;
        if (entryCount > maxEntries) {
          throw new Error(`the central directory claims more entries than a ${bytes.length}-byte file can hold`);
        }
        if (!RELEVANT_ENTRY.test(file.name)) return false;
        if (file.name.length > MAX_ENTRY_NAME_CHARS) {
          throw new Error(`entry name of ${file.name.length} characters, more than the limit of ${MAX_ENTRY_NAME_CHARS} (storage keys are short)`);
        }
        if (file.compression !== 0) {
          throw new CompressedEntryError(file.name, file.compression);
        }
        if (file.size > bytes.length) {
          throw new Error(`entry ${describe(file.name)} claims ${file.size} bytes, more than the whole file`);
        }
        if (file.originalSize !== file.size) {
          throw new Error(`stored entry ${describe(file.name)} claims ${file.size} bytes in the file but ${file.originalSize} unpacked`);
        }
        declaredSize.set(file.name, file.originalSize);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof CompressedEntryError) {
      throw new CheckpointError(
        source,
        `zip entry ${describe(err.entry)} is compressed (method ${err.method}${err.method === 8 ? ', deflate' : ''}): torch.save ` +
          'stores entries uncompressed, and a compressed entry can unpack to over 1000 times its size, so compressed ' +
          'checkpoints are refused (re-save it with torch.save, or convert it to safetensors)',
        undefined,
        { cause: err },
      );
    }
    throw new CheckpointError(source, `not a valid zip archive (truncated or corrupted download?): ${(err as Error).message}`, undefined, { cause: err });
  }
  const pickles = Object.keys(raw).filter((name) => name.endsWith('/data.pkl'));
  if (pickles.length !== 1) {
    throw new CheckpointError(
      source,
      pickles.length === 0
        ? 'zip archive without a <name>/data.pkl entry: not a torch.save checkpoint'
        : `zip archive with several data.pkl entries (${pickles.join(', ')})`,
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const entries = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(raw)) {
    if (!name.startsWith(prefix)) continue;
    if (data.length !== declaredSize.get(name)) {
      throw new CheckpointError(
        source,
        `zip entry ${describe(name)} holds ${data.length} bytes but its header says ${declaredSize.get(name)} (truncated or corrupted file)`,
      );
    }
    entries.set(name.slice(prefix.length), data);
  }
  const byteorder = entries.get('byteorder');
  if (byteorder !== undefined) {
    const order = new TextDecoder().decode(byteorder).trim();
    if (order !== 'little') {
      throw new CheckpointError(source, `byteorder ${describe(order)} is not supported (only little-endian checkpoints are)`);
    }
  }
  return { prefix, entries };
}

/** The allowlist and the JavaScript stand-ins for the few callables a torch state dict uses. */
function torchHooks(entries: Map<string, Uint8Array>, storages: Map<string, StorageRef>): PickleHooks {
  return {
    findGlobal(module, name) {
      const qualified = `${module}.${name}`;
      if (ALLOWED_CALLABLES.has(qualified)) return new PyGlobal(module, name);
      if (module === 'torch' && STORAGE_TYPES.has(name)) return new PyGlobal(module, name);
      throw new Error(
        `global ${describeValue(qualified, { maxChars: MAX_DESCRIBED_CHARS }).slice(1, -1)} is not allowed: a PyTorch weights file only names collections.OrderedDict, ` +
          'torch._utils._rebuild_tensor_v2 / _rebuild_parameter and torch.*Storage types; this file asks for something ' +
          'else and is refused without running anything (do not load it with torch.load either)',
      );
    },

    call(callable, args) {
      if (!(callable instanceof PyGlobal)) throw new Error(`REDUCE on a ${typeName(callable)}, which is not callable`);
      switch (callable.qualifiedName) {
        case 'collections.OrderedDict':
          if (args.length === 0) return new PyDict();
          throw new Error(`collections.OrderedDict called with ${describe(args)} (only OrderedDict() is supported)`);
        case 'torch._utils._rebuild_tensor':
        case 'torch._utils._rebuild_tensor_v2':
          return rebuildTensor(callable.qualifiedName, args);
        case 'torch._utils._rebuild_parameter':
        case 'torch._utils._rebuild_parameter_with_state':
          if (!(args[0] instanceof TensorRef)) {
            throw new Error(`${callable.qualifiedName} expects a tensor first, got ${describe(args[0])}`);
          }
          return args[0];
        default:
          throw new Error(`${callable.qualifiedName} is not callable here (it is a storage type)`);
      }
    },

    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
        throw new Error(`persistent id ${describe(pid)} is not a ('storage', type, key, location, numel) tuple`);
      }
      const [, type, key, , numel] = pid as unknown[];
      const info = type instanceof PyGlobal && type.module === 'torch' ? STORAGE_TYPES.get(type.name) : undefined;
      if (info === undefined) {
        throw new Error(`persistent id with storage type ${describe(type)}, not a torch.*Storage`);
      }
      if (typeof key !== 'string' || !isNonNegativeInteger(numel)) {
        throw new Error(`persistent id ${describe(pid)}: the key must be a string and numel a non-negative integer`);
      }
      if (key.length > MAX_NAME_CHARS) {
        throw new Error(`storage key ${describe(key)} has ${key.length} characters, more than the limit of ${MAX_NAME_CHARS} (torch.save writes short decimal keys)`);
      }
      const storageTypeName = (type as PyGlobal).name;
      const known = storages.get(key);
      if (known !== undefined) {
        if (known.typeName !== storageTypeName || known.numel !== numel) {
          throw new Error(`storage ${describe(key)} is described twice, differently (${known.typeName}×${known.numel}, ${storageTypeName}×${numel})`);
        }
        return known;
      }
      const data = entries.get(`data/${key}`);
      if (data === undefined) throw new Error(`storage ${describe(key)} has no zip entry data/${key.slice(0, MAX_DESCRIBED_CHARS)}`);
      if (data.length !== numel * info.bytesPerElement) {
        throw new Error(
          `storage ${describe(key)} declares ${numel} × ${storageTypeName} (${numel * info.bytesPerElement} bytes) but its zip entry holds ${data.length} bytes`,
        );
      }
      const storage = new StorageRef(storages.size, key, storageTypeName, info, numel, data);
      storages.set(key, storage);
      return storage;
    },

    build(obj, _state) {
      // OrderedDict state dicts carry a `_metadata` attribute (module versions): plain data, ignored.
      if (obj instanceof PyDict) return obj;
      throw new Error(`BUILD on a ${typeName(obj)} is not supported`);
    },
  };

  function rebuildTensor(name: string, args: PyTuple): TensorRef {
    const expected = name.endsWith('_v2') ? [6, 7] : [4];
    if (!expected.includes(args.length)) throw new Error(`${name} called with ${args.length} arguments (expected ${expected.join(' or ')})`);
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) throw new Error(`${name}: first argument ${describe(storage)} is not a storage`);
    // Rank first: a size list shared through the memo by many tensors must not be walked at its full length each time.
    const ints = (v: unknown): v is number[] => Array.isArray(v) && v.length <= MAX_TENSOR_RANK && v.every(isNonNegativeInteger);
    if (!isNonNegativeInteger(offset) || !ints(size) || !ints(stride) || size.length !== stride.length) {
      throw new Error(
        `${name}: bad tensor view offset=${describe(offset)} size=${describe(size)} stride=${describe(stride)} ` +
          `(non-negative integers, at most ${MAX_TENSOR_RANK} dimensions, as many strides as sizes)`,
      );
    }
    if (args.length >= 6) {
      const hooks = args[5];
      if (!(hooks instanceof PyDict) || hooks.size !== 0) throw new Error(`${name}: backward hooks ${describe(hooks)} are not supported`);
    }
    return new TensorRef(storage, offset, [...size], [...stride]);
  }
}

function product(values: number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Copies a tensor view out of its storage as float32, checking it lies inside the storage. */
function materialize(tensor: TensorRef, key: string, source: string): Float32Array {
  const { storage, offset, size, stride } = tensor;
  const { dtype, torchDtype, bytesPerElement } = storage.type;
  if (dtype === null) {
    throw new CheckpointError(source, `dtype ${torchDtype} (torch.${storage.typeName}) is not supported: only floating-point tensors are`, key);
  }
  const numel = product(size);
  if (numel === 0) return new Float32Array(0);
  let last = offset;
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  if (last >= storage.numel) {
    throw new CheckpointError(
      source,
      `view offset=${offset} size=[${size}] stride=[${stride}] reaches element ${last} but storage ${describe(storage.key)} has ${storage.numel} elements`,
      key,
    );
  }
  let contiguous = true;
  for (let d = size.length - 1, expected = 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) contiguous = false;
    expected *= size[d];
  }
  if (contiguous) {
    return toFloat32(storage.bytes.subarray(offset * bytesPerElement, (offset + numel) * bytesPerElement), dtype);
  }
  // A strided view (e.g. a transposed tensor saved as is): gather it in row-major order, converting only the
  // elements it uses (converting the span between its first and last element would make many small views over a
  // large storage quadratic: issue 22, 100,000 views of a 12.8 MB file took 334 s).
  const read = elementReader(storage.bytes, dtype);
  const out = new Float32Array(numel);
  const index = new Array<number>(size.length).fill(0);
  let at = offset;
  for (let i = 0; i < numel; i++) {
    out[i] = read(at);
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d] < size[d]) {
        at += stride[d];
        break;
      }
      at -= (size[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Reads a PyTorch zip checkpoint (`torch.save(model.state_dict(), f)`, the format of `diffusion_pytorch_model.bin`)
 * into a state dict, every tensor as float32 (float16 / bfloat16 exactly, float64 rounded). The pickle inside is read
 * by a restricted machine that never runs code: a file naming anything beyond torch's tensor-rebuilding functions
 * is refused. `source` names the file in error messages.
 *
 * ```ts
 * const file = 'unet/diffusion_pytorch_model.bin';
 * const stateDict = readTorchCheckpoint(fs.readFileSync(file), file);
 * ```
 */
export function readTorchCheckpoint(bytes: Uint8Array, source: string): StateDict {
  return new Map(torchCheckpointTensors(bytes, source));
}

/**
 * {@link readTorchCheckpoint} one tensor at a time: the archive and the pickle are read and checked on the first
 * `next()`, then each tensor's view is materialized when it is asked for, so a caller can let the event loop turn
 * between two (a multi-GB checkpoint converts for seconds). A storage that several keys view is converted once.
 *
 * ```ts
 * for (const [name, tensor] of torchCheckpointTensors(bytes, file)) { stateDict.set(name, tensor); await pause(); }
 * ```
 */
export function* torchCheckpointTensors(bytes: Uint8Array, source: string): Generator<[string, NamedTensor]> {
  const { entries } = readArchive(bytes, source);
  const pickle = entries.get('data.pkl')!;
  const storages = new Map<string, StorageRef>();
  let root: unknown;
  try {
    root = unpickle(pickle, torchHooks(entries, storages));
  } catch (err) {
    throw new CheckpointError(source, `data.pkl: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (!(root instanceof PyDict)) {
    throw new CheckpointError(source, `data.pkl holds a ${typeName(root)}, not a state dict (a dict of name → tensor)`);
  }
  if (root.size > MAX_TENSOR_COUNT) {
    throw new CheckpointError(source, `the state dict has ${root.size} entries, more than the limit of ${MAX_TENSOR_COUNT} tensors: refused`);
  }
  let storageElements = 0;
  for (const storage of storages.values()) storageElements += storage.numel;
  const budget = MAX_TENSOR_TO_STORAGE_RATIO * storageElements;
  const shared = new Map<string, Float32Array>();
  let materialized = 0;
  for (const [key, value] of root) {
    if (typeof key !== 'string') throw new CheckpointError(source, `state dict key ${describe(key)} is not a string`);
    if (!(value instanceof TensorRef)) {
      throw new CheckpointError(source, `value is a ${typeName(value)}, not a tensor: only a flat state dict (name → tensor) is supported`, key);
    }
    // Bounded (the storage's index, not its key: see MAX_NAME_CHARS), so the Map of views hashes it properly.
    const viewId = `${value.storage.index}|${value.offset}|${value.size}|${value.stride}`;
    let data = shared.get(viewId);
    if (data === undefined) {
      materialized += product(value.size);
      if (materialized > budget) {
        throw new CheckpointError(
          source,
          `the tensors add up to more than ${MAX_TENSOR_TO_STORAGE_RATIO}× the storage data in the file (overlapping views): refused`,
          key,
        );
      }
      data = materialize(value, key, source);
      shared.set(viewId, data);
    }
    const tensor: NamedTensor = { shape: [...value.size], data };
    yield [key, tensor];
  }
}
