import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CheckpointError } from '../../lib/io/checkpoint-error';
import { readStateDict } from '../../lib/node/fs/read-state-dict';
import { readSafetensors } from '../../lib/io/safetensors';
import { readTorchCheckpoint } from '../../lib/io/torch-pickle';
import { fixturePath, loadFixture } from '../helpers/fixtures';
import { stateDictSha256 } from './state-dict-hash';
import { PickleBuilder, editTorchZip, f32Bytes, stateDictPickle, torchZip } from '../../test-support/torch-zip-bytes';
import { errorOf } from '../helpers/errors';

const SOURCE = 'model.bin';
const unetTiny = loadFixture('unet_tiny.json');

function readFixture(folder: string, file: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(fixturePath(folder, file)));
}

/** Runs the reader on `bytes` and checks it fails with a CheckpointError naming the file and matching `patterns`. */
function expectError(bytes: Uint8Array, ...patterns: (string | RegExp)[]): void {
  const error = errorOf(() => readTorchCheckpoint(bytes, SOURCE));
  expect(error).toBeInstanceOf(CheckpointError);
  expect(error.message.startsWith(`${SOURCE}: `)).toBe(true);
  for (const p of patterns) expect(error.message).toMatch(p);
}

describe('readTorchCheckpoint on the tiny-unet fixtures', () => {
  for (const folder of ['tiny-unet', 'tiny-unet-oldkeys']) {
    test(`${folder}: the .bin holds exactly the tensors of the .safetensors (names, order, shapes, bits)`, () => {
      const fromBin = readTorchCheckpoint(readFixture(folder, 'diffusion_pytorch_model.bin'), SOURCE);
      const fromSafetensors = readSafetensors(readFixture(folder, 'diffusion_pytorch_model.safetensors'), 'x');
      expect(fromBin.size).toBe(328);
      expect([...fromBin.keys()].sort()).toEqual([...fromSafetensors.keys()].sort());
      for (const [name, t] of fromBin) {
        const ref = fromSafetensors.get(name)!;
        expect({ name, shape: t.shape }).toEqual({ name, shape: ref.shape });
        // Bit-exact: compare the raw float32 bytes (NaN-safe, -0-safe).
        expect(Buffer.compare(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength))).toBe(0);
      }
    });
  }

  test('the .bin keys come in state_dict order (unet_tiny.json state_dict_keys) and hash to weights_sha256', () => {
    const sd = readTorchCheckpoint(readFixture('tiny-unet', 'diffusion_pytorch_model.bin'), SOURCE);
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual(unetTiny.state_dict_keys);
    expect(stateDictSha256(sd)).toBe(unetTiny.weights_sha256);
  });

  test('readStateDict reads a folder that has only the .bin', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'io-torch-'));
    try {
      fs.copyFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.bin'), path.join(dir, 'diffusion_pytorch_model.bin'));
      expect(stateDictSha256(readStateDict(dir))).toBe(unetTiny.weights_sha256);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readTorchCheckpoint on small hand-built checkpoints', () => {
  test('a transposed (non-contiguous) view is materialised in row-major order; offsets are honoured', () => {
    const pickle = stateDictPickle({
      t: { key: '0', numel: 6, size: [3, 2], stride: [1, 3] },
      tail: { key: '0', numel: 6, size: [2], offset: 4 },
      scalar: { key: '0', numel: 6, size: [], offset: 5 },
    });
    const sd = readTorchCheckpoint(torchZip(pickle, { '0': f32Bytes([0, 1, 2, 3, 4, 5]) }), SOURCE);
    expect(sd.get('t')).toEqual({ shape: [3, 2], data: new Float32Array([0, 3, 1, 4, 2, 5]) });
    expect(sd.get('tail')).toEqual({ shape: [2], data: new Float32Array([4, 5]) });
    expect(sd.get('scalar')).toEqual({ shape: [], data: new Float32Array([5]) });
  });

  test('HalfStorage, BFloat16Storage and DoubleStorage are upcast / rounded to float32', () => {
    const pickle = stateDictPickle({
      h: { key: 'h', numel: 3, size: [3], storageType: 'HalfStorage' },
      b: { key: 'b', numel: 2, size: [2], storageType: 'BFloat16Storage' },
      d: { key: 'd', numel: 2, size: [2], storageType: 'DoubleStorage' },
    });
    const sd = readTorchCheckpoint(
      torchZip(
        pickle,
        {
          h: new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001]).buffer),
          b: new Uint8Array(new Uint16Array([0x3f80, 0xc060]).buffer),
          d: new Uint8Array(new Float64Array([0.1, -2.5]).buffer),
        },
        { byteorder: 'little' },
      ),
      SOURCE,
    );
    expect(Array.from(sd.get('h')!.data)).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(sd.get('b')!.data)).toEqual([1, -3.5]);
    expect(Array.from(sd.get('d')!.data)).toEqual([Math.fround(0.1), -2.5]);
  });


  test('an OrderedDict state dict with its _metadata attribute (BUILD) and _rebuild_parameter', () => {
    const p = new PickleBuilder().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    p.str('w').global('torch._utils', '_rebuild_parameter').mark().tensor({ key: '0', numel: 2, size: [2] }).raw(0x88);
    p.global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
    p.setitems();
    // state: {'_metadata': {'': {'version': 1}}}
    p.emptyDict().str('_metadata').emptyDict().str('').emptyDict().str('version').int(1).raw('s').raw('s').raw('s').build().stop();
    const sd = readTorchCheckpoint(torchZip(p.bytes(), { '0': f32Bytes([7, 8]) }), SOURCE);
    expect([...sd.keys()]).toEqual(['w']);
    expect(Array.from(sd.get('w')!.data)).toEqual([7, 8]);
  });

  test('tied weights (the same view under two names) share one array', () => {
    const spec = { key: '0', numel: 2, size: [2] };
    const sd = readTorchCheckpoint(torchZip(stateDictPickle({ a: spec, b: spec }), { '0': f32Bytes([1, 2]) }), SOURCE);
    expect(sd.get('a')!.data).toBe(sd.get('b')!.data);
  });
});

describe('readTorchCheckpoint bad input: a clear CheckpointError, nothing run', () => {
  const good = readFixture('tiny-unet', 'diffusion_pytorch_model.bin');
  const goodPickle = (): Uint8Array => {
    let pkl: Uint8Array | undefined;
    editTorchZip(good, (files) => {
      pkl = files['diffusion_pytorch_model/data.pkl'];
    });
    return pkl!;
  };

  function replaceInPickle(from: string, to: string): Uint8Array {
    return editTorchZip(good, (files) => {
      const name = 'diffusion_pytorch_model/data.pkl';
      const text = Buffer.from(files[name]).toString('latin1');
      expect(text.includes(from)).toBe(true);
      files[name] = new Uint8Array(Buffer.from(text.replace(from, to), 'latin1'));
    });
  }

  test('a pickle that names os.system, posix.system or builtins.eval is refused at the GLOBAL', () => {
    for (const [module, name] of [
      ['os', 'system'],
      ['posix', 'system'],
      ['builtins', 'eval'],
      ['torch', 'load'],
    ]) {
      expectError(
        replaceInPickle('collections\nOrderedDict\n', `${module}\n${name}\n`),
        `data.pkl: global ${module}.${name} is not allowed`,
        'refused without running anything',
        /\(pickle byte \d+\)/,
      );
    }
  });

  test('storage types are looked up as own entries: torch.constructor, __proto__, toString are refused at the GLOBAL', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const pickle = stateDictPickle({ w: { key: '0', numel: 1, size: [1], storageType: name } });
      expectError(torchZip(pickle, { '0': f32Bytes([1]) }), `data.pkl: global torch.${name} is not allowed`);
    }
  });

  test('a compressed (deflated) entry is refused: torch.save never compresses', () => {
    const pickle = stateDictPickle({ w: { key: '0', numel: 4, size: [2, 2] } });
    expectError(torchZip(pickle, { '0': f32Bytes([1, 2, 3, 4]) }, { level: 6 }), /zip entry "archive\/data(\.pkl|\/0)" is compressed \(method 8, deflate\)/);
  });

  test('a tensor of more than 64 dimensions, or more than 100,000 tensors, is refused', () => {
    const rank65 = stateDictPickle({ w: { key: '0', numel: 1, size: new Array(65).fill(1) } });
    expectError(torchZip(rank65, { '0': f32Bytes([1]) }), 'bad tensor view', 'at most 64 dimensions');
    // 100,001 keys that all name one memoised tensor: a few bytes each.
    const p = new PickleBuilder().proto(2).emptyDict().mark().str('t').tensor({ key: '0', numel: 1, size: [1] }).raw(0x71, 1);
    p.setitems().mark();
    for (let i = 0; i < 100_001; i++) p.str(`k${i}`).raw(0x68, 1);
    expectError(torchZip(p.setitems().stop().bytes(), { '0': f32Bytes([1]) }), 'the state dict has 100002 entries, more than the limit of 100000 tensors');
  });

  test('the classic exploit pickles (protocol 0 GLOBAL, protocol 4 STACK_GLOBAL) are refused', () => {
    const protocol0 = new PickleBuilder().raw('cos\nsystem\n(S\'touch /tmp/pwned\'\ntR.').bytes();
    expectError(torchZip(protocol0, {}), 'global os.system is not allowed', '(pickle byte 0)');
    const protocol4 = new PickleBuilder().proto(4).raw(0x8c, 8, 'builtins', 0x8c, 4, 'exec', 0x93).bytes();
    expectError(torchZip(protocol4, {}), 'global builtins.exec is not allowed');
  });

  test('opcodes torch.save never writes are refused by name', () => {
    const newobj = new PickleBuilder().proto(2).global('collections', 'OrderedDict').emptyTuple().raw(0x81).stop().bytes();
    expectError(torchZip(newobj, {}), 'opcode NEWOBJ is not allowed');
    const inst = new PickleBuilder().proto(2).mark().raw('i', 'collections\nOrderedDict\n').stop().bytes();
    expectError(torchZip(inst, {}), 'opcode INST is not allowed');
    expectError(torchZip(new PickleBuilder().proto(2).raw(0xff).bytes(), {}), 'unknown opcode 0xff');
    expectError(torchZip(new PickleBuilder().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop().bytes(), {}), 'torch.FloatStorage is not callable here');
  });

  test('truncated zip', () => {
    expectError(good.subarray(0, Math.floor(good.length / 2)), 'not a valid zip archive (truncated or corrupted download?)');
    expectError(good.subarray(0, 100), 'not a valid zip archive');
    expectError(good.subarray(0, 4), 'not a valid zip archive');
  });

  test('truncated pickle, a pickle without STOP, a pickle that is not a dict', () => {
    const pkl = goodPickle();
    expectError(editTorchZip(good, (f) => (f['diffusion_pytorch_model/data.pkl'] = pkl.subarray(0, 1000))), 'truncated pickle');
    expectError(editTorchZip(good, (f) => (f['diffusion_pytorch_model/data.pkl'] = pkl.subarray(0, pkl.length - 1))), 'the pickle ends without STOP');
    expectError(torchZip(new PickleBuilder().proto(2).int(3).stop().bytes(), {}), 'data.pkl holds a int, not a state dict');
    expectError(torchZip(new PickleBuilder().proto(2).emptyDict().str('x').int(3).raw('s').stop().bytes(), {}), 'tensor "x": value is a int, not a tensor');
  });

  test('a storage smaller than it declares, or than the tensor view', () => {
    expectError(
      editTorchZip(good, (f) => (f['diffusion_pytorch_model/data/0'] = f['diffusion_pytorch_model/data/0'].subarray(0, 100))),
      'storage "0" declares 432 × FloatStorage (1728 bytes) but its zip entry holds 100 bytes',
    );
    const pickle = stateDictPickle({ w: { key: '0', numel: 4, size: [2, 3] } });
    expectError(torchZip(pickle, { '0': f32Bytes([1, 2, 3, 4]) }), 'tensor "w": view offset=0 size=[2,3] stride=[3,1] reaches element 5 but storage "0" has 4 elements');
    const offset = stateDictPickle({ w: { key: '0', numel: 4, size: [2], offset: 3 } });
    expectError(torchZip(offset, { '0': f32Bytes([1, 2, 3, 4]) }), 'reaches element 4 but storage "0" has 4 elements');
    const missing = stateDictPickle({ w: { key: '7', numel: 4, size: [4] } });
    expectError(torchZip(missing, { '0': f32Bytes([1, 2, 3, 4]) }), 'storage "7" has no zip entry data/7');
  });

  test('overlapping views that would blow up memory are refused', () => {
    const views: Record<string, { key: string; numel: number; size: number[]; stride: number[]; offset: number }> = {};
    for (let i = 0; i < 8; i++) views[`v${i}`] = { key: '0', numel: 8, size: [8], stride: [0], offset: i };
    expectError(torchZip(stateDictPickle(views), { '0': f32Bytes([0, 1, 2, 3, 4, 5, 6, 7]) }), 'the tensors add up to more than 2× the storage data');
  });

  test('integer tensors, big-endian files, missing data.pkl, the legacy format', () => {
    const long = stateDictPickle({ n: { key: '0', numel: 1, size: [], storageType: 'LongStorage' } });
    expectError(torchZip(long, { '0': new Uint8Array(8) }), 'tensor "n": dtype int64 (torch.LongStorage) is not supported');
    const pickle = stateDictPickle({ w: { key: '0', numel: 1, size: [1] } });
    expectError(torchZip(pickle, { '0': f32Bytes([1]) }, { byteorder: 'big' }), 'byteorder "big" is not supported');
    expectError(editTorchZip(good, (f) => delete f['diffusion_pytorch_model/data.pkl']), 'zip archive without a <name>/data.pkl entry');
    const legacy = new PickleBuilder().proto(2).raw(0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.').bytes();
    expectError(legacy, 'legacy (pre-zip) torch.save format', 're-save');
    expectError(new Uint8Array(Buffer.from('{"not": "a checkpoint"}')), 'not a PyTorch checkpoint');
  });

  test('a stored entry whose unpacked size differs from its stored size is refused before reading', () => {
    const zip = torchZip(stateDictPickle({ w: { key: '0', numel: 1, size: [1] } }), { '0': f32Bytes([1]) });
    // Patch the central directory's uncompressed size of data.pkl to 4 GB - 2.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.length);
    let patched = false;
    for (let i = 0; i + 46 <= zip.length; i++) {
      if (view.getUint32(i, true) === 0x02014b50 && Buffer.from(zip.subarray(i + 46, i + 46 + 16)).toString() === 'archive/data.pkl') {
        view.setUint32(i + 24, 0xfffffffe, true);
        patched = true;
      }
    }
    expect(patched).toBe(true);
    expectError(zip, /stored entry "archive\/data.pkl" claims \d+ bytes in the file but 4294967294 unpacked/);
  });
});
