// Test helpers that write small torch.save-style checkpoints (zip + pickle) in memory, so the bad inputs are built
// in the tests instead of committed as binary files.
import { unzipSync, zipSync } from 'fflate';

/** Emits pickle opcodes (protocol 2, the subset torch.save writes, plus whatever a test wants to smuggle in). */
export class PickleBuilder {
  private readonly parts: number[] = [];

  raw(...bytes: (number | string | Uint8Array)[]): this {
    for (const b of bytes) {
      if (typeof b === 'number') this.parts.push(b);
      else if (typeof b === 'string') this.parts.push(...Buffer.from(b, 'latin1'));
      else this.parts.push(...b);
    }
    return this;
  }
  proto(version = 2): this {
    return this.raw(0x80, version);
  }
  global(module: string, name: string): this {
    return this.raw('c', `${module}\n${name}\n`);
  }
  str(s: string): this {
    const utf8 = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(utf8.length);
    return this.raw('X', len, utf8);
  }
  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.raw('J', b);
  }
  mark(): this {
    return this.raw('(');
  }
  tuple(): this {
    return this.raw('t');
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  emptyTuple(): this {
    return this.raw(')');
  }
  emptyDict(): this {
    return this.raw('}');
  }
  reduce(): this {
    return this.raw('R');
  }
  setitems(): this {
    return this.raw('u');
  }
  build(): this {
    return this.raw('b');
  }
  stop(): this {
    return this.raw('.');
  }
  /** `torch._utils._rebuild_tensor_v2(storage(key), offset, size, stride, False, OrderedDict())`, as torch writes it. */
  tensor(t: TensorSpec): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', t.storageType ?? 'FloatStorage').str(t.key).str('cpu').int(t.numel).tuple().raw('Q');
    this.int(t.offset ?? 0).ints(t.size).ints(t.stride ?? rowMajorStrides(t.size)).raw(0x89);
    this.global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

export interface TensorSpec {
  key: string;
  numel: number;
  size: number[];
  stride?: number[];
  offset?: number;
  storageType?: string;
}

export function rowMajorStrides(size: number[]): number[] {
  const strides = new Array<number>(size.length);
  for (let d = size.length - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= size[d];
  }
  return strides;
}

/** The pickle of `{name: tensor, ...}` as torch.save writes a state dict. */
export function stateDictPickle(tensors: Record<string, TensorSpec>): Uint8Array {
  const p = new PickleBuilder().proto(2).emptyDict().mark();
  for (const [name, spec] of Object.entries(tensors)) p.str(name).tensor(spec);
  return p.setitems().stop().bytes();
}

/** A torch zip checkpoint: `archive/data.pkl`, `archive/data/<key>`, `archive/version`, optional byteorder. */
export function torchZip(
  pickle: Uint8Array,
  storages: Record<string, Uint8Array>,
  options: { byteorder?: string; level?: 0 | 6; prefix?: string } = {},
): Uint8Array {
  const prefix = options.prefix ?? 'archive';
  const files: Record<string, Uint8Array> = { [`${prefix}/data.pkl`]: pickle };
  if (options.byteorder !== undefined) files[`${prefix}/byteorder`] = Buffer.from(options.byteorder);
  for (const [key, bytes] of Object.entries(storages)) files[`${prefix}/data/${key}`] = bytes;
  files[`${prefix}/version`] = Buffer.from('3\n');
  return zipSync(files, { level: options.level ?? 0 });
}

/** Unzips a checkpoint, lets `edit` change its entries, zips it again (stored). */
export function editTorchZip(bytes: Uint8Array, edit: (files: Record<string, Uint8Array>) => void): Uint8Array {
  const files = unzipSync(bytes);
  edit(files);
  return zipSync(files, { level: 0 });
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
