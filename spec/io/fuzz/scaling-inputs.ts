// Inputs of growing size for the readers' time property (spec/io/time-property.spec.ts): for each reader, a family
// of inputs whose shape fast-check draws (element type, rank, view pattern, name lengths) and whose size grows with
// `scale`. Each family is a shape a hostile file can take to make a reader superlinear (issue 22): many small
// strided views over one large storage, tensor names or storage keys over V8's 16,383-character string-hash limit
// (longer strings are hashed by their length alone, so a Map of them degenerates into a list), JSON objects with such
// keys, and, as a control, ordinary inputs (contiguous tensors, a noise PNG). Each family's smallest input takes
// about 10 ms or more to read, so that timer and scheduler noise on a loaded machine stay small beside it. The reader may accept the input or
// refuse it with a named error: the property is about time and memory, not the outcome.
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { PNG } from 'pngjs';

/** One generated input and the call that reads it. */
export interface ScalingInput {
  bytes: number;
  input: Uint8Array | string;
}

export interface ScalingFamily<P> {
  /** What grows with the scale, for messages. */
  describes: string;
  params: fc.Arbitrary<P>;
  /** The input at `scale` (1, 4, ...): its size is linear in scale. */
  make(params: P, scale: number): ScalingInput;
}

/** A growable byte buffer (Buffer.concat once at the end; no per-byte arrays). */
class Bytes {
  private readonly chunks: Buffer[] = [];
  push(...parts: (number[] | Buffer | string)[]): this {
    for (const p of parts) this.chunks.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.isBuffer(p) ? p : Buffer.from(p));
    return this;
  }
  done(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks));
  }
}

const u32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const pstr = (s: string) => {
  const utf8 = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([0x58, ...u32(utf8.length)]), utf8]);
};
const pint = (n: number) => [0x4a, ...u32(n)];
const pints = (values: number[]) => [0x28, ...values.flatMap(pint), 0x74];
const global = (module: string, name: string) => `c${module}\n${name}\n`;
const BINPUT = (i: number) => [0x72, ...u32(i)]; // LONG_BINPUT
const BINGET = (i: number) => [0x6a, ...u32(i)]; // LONG_BINGET

const STORAGES = { F32: ['FloatStorage', 4], F16: ['HalfStorage', 2], BF16: ['BFloat16Storage', 2], F64: ['DoubleStorage', 8] } as const;
type Dtype = keyof typeof STORAGES;
const dtypeArb = fc.constantFrom<Dtype>('F32', 'F16', 'BF16', 'F64');

interface View {
  name: string;
  key: string;
  offset: number;
  size: number[];
  stride: number[];
}

/**
 * A torch.save zip: `views` over storages (each `key` → numel elements of `dtype`), the storage key string memoized
 * once per key (as torch's pickler does) so that the file holds each key once however many views use it.
 */
function torchCheckpoint(dtype: Dtype, storages: Map<string, number>, views: View[]): Uint8Array {
  const [storageType, bytesPerElement] = STORAGES[dtype];
  const pickle = new Bytes().push([0x80, 2, 0x7d, 0x28]);
  const keyMemo = new Map<string, number>();
  let memo = 0;
  for (const v of views) {
    pickle.push(pstr(v.name), global('torch._utils', '_rebuild_tensor_v2'), [0x28, 0x28], pstr('storage'), global('torch', storageType));
    const known = keyMemo.get(v.key);
    if (known === undefined) {
      keyMemo.set(v.key, memo);
      pickle.push(pstr(v.key), BINPUT(memo++));
    } else {
      pickle.push(BINGET(known));
    }
    pickle.push(pstr('cpu'), pint(storages.get(v.key)!), [0x74, 0x51]);
    pickle.push(pint(v.offset), pints(v.size), pints(v.stride), [0x89], global('collections', 'OrderedDict'), [0x29, 0x52, 0x74, 0x52]);
  }
  pickle.push([0x75, 0x2e]);
  const files: Record<string, Uint8Array> = { 'archive/data.pkl': pickle.done(), 'archive/version': Buffer.from('3\n') };
  for (const [key, numel] of storages) {
    const data = new Uint8Array(numel * bytesPerElement);
    for (let i = 0; i < data.length; i += 7) data[i] = i & 63; // finite values in every type
    files[`archive/data/${key}`] = data;
  }
  return zipSync(files, { level: 0 });
}

/** Names of exactly `length` characters sharing all but their last 8 (the worst case for a colliding Map). */
const longName = (prefix: string, length: number, i: number) => prefix.repeat(Math.ceil(length / prefix.length)).slice(0, length - 8) + String(i).padStart(8, '0');

/** Many small strided views reaching to the end of one large storage (issue 22: 100,000 views, 12.8 MB → 334 s). */
export const torchStridedViews: ScalingFamily<{ dtype: Dtype; rank: number; perDim: number; slack: number }> = {
  describes: 'strided views over one storage of proportional size',
  params: fc.record({ dtype: dtypeArb, rank: fc.integer({ min: 1, max: 3 }), perDim: fc.integer({ min: 2, max: 3 }), slack: fc.integer({ min: 8, max: 24 }) }),
  make({ dtype, rank, perDim, slack }, scale) {
    const count = 500 * scale;
    const numel = count * slack * perDim ** rank;
    const views: View[] = [];
    for (let i = 0; i < count; i++) {
      // Strides chosen so that each view's last element is near the end of the storage.
      const size = new Array<number>(rank).fill(perDim);
      const stride: number[] = [];
      let reach = numel - 1 - i;
      for (let d = 0; d < rank; d++) {
        const s = Math.max(1, Math.floor(reach / (perDim - 1) / (rank - d)));
        stride.push(s);
        reach -= s * (perDim - 1);
      }
      views.push({ name: `v${i}`, key: '0', offset: i, size, stride });
    }
    const input = torchCheckpoint(dtype, new Map([['0', numel]]), views);
    return { bytes: input.length, input };
  },
};

/** Tensor names over 16,383 characters, differing only at the end (a colliding dict in the pickle machine). */
export const torchLongNames: ScalingFamily<{ length: number }> = {
  describes: 'tensor names of 16,400-20,000 characters',
  params: fc.record({ length: fc.integer({ min: 16_400, max: 20_000 }) }),
  make({ length }, scale) {
    const views: View[] = [];
    for (let i = 0; i < 60 * scale; i++) views.push({ name: longName('down_blocks.', length, i), key: '0', offset: 0, size: [1], stride: [1] });
    const input = torchCheckpoint('F32', new Map([['0', 1]]), views);
    return { bytes: input.length, input };
  },
};

/** One storage key over 16,383 characters shared (through the memo) by many views: view ids that collide. */
export const torchLongStorageKey: ScalingFamily<{ length: number; dtype: Dtype }> = {
  describes: 'views of a storage whose key has 16,400-60,000 characters',
  params: fc.record({ length: fc.integer({ min: 16_400, max: 60_000 }), dtype: dtypeArb }),
  make({ length, dtype }, scale) {
    const key = longName('k', length, 0);
    const count = 150 * scale;
    const views: View[] = [];
    for (let i = 0; i < count; i++) views.push({ name: `w${i}`, key, offset: i, size: [1], stride: [1] });
    const input = torchCheckpoint(dtype, new Map([[key, count]]), views);
    return { bytes: input.length, input };
  },
};

/** Ordinary contiguous tensors (the control: what a real checkpoint looks like). */
export const torchContiguous: ScalingFamily<{ dtype: Dtype; elements: number }> = {
  describes: 'contiguous tensors, one storage each',
  params: fc.record({ dtype: dtypeArb, elements: fc.integer({ min: 64, max: 1024 }) }),
  make({ dtype, elements }, scale) {
    const storages = new Map<string, number>();
    const views: View[] = [];
    for (let i = 0; i < 400 * scale; i++) {
      storages.set(String(i), elements);
      views.push({ name: `block.${i}.weight`, key: String(i), offset: 0, size: [elements], stride: [1] });
    }
    const input = torchCheckpoint(dtype, storages, views);
    return { bytes: input.length, input };
  },
};

function safetensors(headerText: string, dataBytes: number): Uint8Array {
  const json = Buffer.from(headerText, 'utf8');
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/** A safetensors header of many tensors with names over 16,383 characters (JSON.parse builds a colliding object). */
export const safetensorsLongNames: ScalingFamily<{ length: number }> = {
  describes: 'safetensors tensor names of 16,400-20,000 characters',
  params: fc.record({ length: fc.integer({ min: 16_400, max: 20_000 }) }),
  make({ length }, scale) {
    const parts: string[] = [];
    const count = 60 * scale;
    for (let i = 0; i < count; i++) parts.push(`${JSON.stringify(longName('mid_block.', length, i))}:{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`);
    const input = safetensors(`{${parts.join(',')}}`, 4 * count);
    return { bytes: input.length, input };
  },
};

/** Many small safetensors tensors (the control). */
export const safetensorsManyTensors: ScalingFamily<{ dtype: Dtype; elements: number }> = {
  describes: 'safetensors files of many small tensors',
  params: fc.record({ dtype: dtypeArb, elements: fc.integer({ min: 1, max: 256 }) }),
  make({ dtype, elements }, scale) {
    const bytesPerElement = STORAGES[dtype][1];
    const parts: string[] = [];
    const count = 2000 * scale;
    const size = elements * bytesPerElement;
    for (let i = 0; i < count; i++) parts.push(`"t.${i}":{"dtype":"${dtype}","shape":[${elements}],"data_offsets":[${size * i},${size * (i + 1)}]}`);
    const input = safetensors(`{${parts.join(',')}}`, size * count);
    return { bytes: input.length, input };
  },
};

/** A JSON object with keys over 16,383 characters (a config.json written to make JSON.parse quadratic). */
export const jsonLongKeys: ScalingFamily<{ length: number }> = {
  describes: 'JSON keys of 16,400-20,000 characters',
  params: fc.record({ length: fc.integer({ min: 16_400, max: 20_000 }) }),
  make({ length }, scale) {
    const parts: string[] = [];
    for (let i = 0; i < 60 * scale; i++) parts.push(`${JSON.stringify(longName('block_out_channels', length, i))}:${i}`);
    const input = `{${parts.join(',')}}`;
    return { bytes: input.length, input };
  },
};

/** A JSON config of many ordinary values (the control). */
export const jsonManyValues: ScalingFamily<{ nesting: number }> = {
  describes: 'JSON of many short keys and arrays',
  params: fc.record({ nesting: fc.integer({ min: 1, max: 4 }) }),
  make({ nesting }, scale) {
    const parts: string[] = [];
    for (let i = 0; i < 10_000 * scale; i++) parts.push(`"k${i}":${'['.repeat(nesting)}${i},0.5${']'.repeat(nesting)}`);
    const input = `{${parts.join(',')}}`;
    return { bytes: input.length, input };
  },
};

/** An RGB(A) noise PNG (incompressible, so the file grows with the pixels). */
export const pngNoise: ScalingFamily<{ alpha: boolean; seed: number }> = {
  describes: 'noise PNGs',
  params: fc.record({ alpha: fc.boolean(), seed: fc.integer({ min: 1, max: 2 ** 30 }) }),
  make({ alpha, seed }, scale) {
    const width = 256;
    const height = 512 * scale;
    const png = new PNG({ width, height });
    let x = seed;
    for (let i = 0; i < png.data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      png.data[i] = x >>> 24;
    }
    const input = new Uint8Array(PNG.sync.write(png, { colorType: alpha ? 6 : 2 }));
    return { bytes: input.length, input };
  },
};
