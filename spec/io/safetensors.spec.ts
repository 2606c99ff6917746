import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CheckpointError } from '../../lib/io/checkpoint-error';
import { halfBitsToFloat32 } from '../../lib/io/float-convert';
import { findWeightFile, readStateDict } from '../../lib/node/fs/read-state-dict';
import { parseSafetensorsHeader, readSafetensors } from '../../lib/io/safetensors';
import { fixturePath, loadFixture } from '../helpers/fixtures';
import { editSafetensorsHeader, encodeSafetensors, joinSafetensors, safetensorsFromHeaderText, splitSafetensors } from '../../test-support/safetensors-bytes';
import { newAttentionName, stateDictSha256 } from './state-dict-hash';

const SOURCE = 'model.safetensors';
const goodFile = fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors');
const good = new Uint8Array(fs.readFileSync(goodFile));
const unetTiny = loadFixture('unet_tiny.json');
const checks: any[] = fs
  .readFileSync(fixturePath('weights_checks.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('readSafetensors on the tiny-unet fixtures', () => {
  const stateDict = readSafetensors(good, goodFile);

  test('tensor count, parameter count and weight hash match weights_checks.jsonl', () => {
    const check = checks.find((c) => c.file === 'tiny-unet/diffusion_pytorch_model.safetensors');
    expect(stateDict.size).toBe(check.tensors);
    let params = 0;
    for (const t of stateDict.values()) params += t.data.length;
    expect(params).toBe(check.params);
    expect(params).toBe(unetTiny.num_parameters);
    expect(stateDictSha256(stateDict)).toBe(check.sha256);
    expect(stateDictSha256(stateDict)).toBe(unetTiny.weights_sha256);
  });

  test('keys and shapes are unet_tiny.json state_dict_keys', () => {
    const expected = new Map<string, number[]>(unetTiny.state_dict_keys);
    expect([...stateDict.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, t] of stateDict) {
      expect({ name, shape: t.shape }).toEqual({ name, shape: expected.get(name) });
      expect(t.data.length).toBe(numel(t.shape));
    }
  });

  test('the old-key-name file holds the same weights under the old attention names', () => {
    const file = fixturePath('tiny-unet-oldkeys', 'diffusion_pytorch_model.safetensors');
    const old = readSafetensors(fs.readFileSync(file), file);
    const check = checks.find((c) => c.file === 'tiny-unet-oldkeys/diffusion_pytorch_model.safetensors');
    expect(old.size).toBe(check.tensors);
    expect(old.has('down_blocks.1.attentions.0.query.weight')).toBe(true);
    expect(stateDictSha256(old)).not.toBe(check.sha256); // the names differ...
    expect(stateDictSha256(old, newAttentionName)).toBe(check.sha256); // ...the weights do not
  });

  test('tensors never alias the file buffer', () => {
    const copy = good.slice();
    const sd = readSafetensors(copy, SOURCE);
    const before = sd.get('conv_in.weight')!.data[0];
    copy.fill(0);
    expect(sd.get('conv_in.weight')!.data[0]).toBe(before);
  });

  test('works on a Uint8Array at an odd offset of a larger buffer (no alignment needed)', () => {
    const padded = new Uint8Array(good.length + 3);
    padded.set(good, 3);
    const sd = readSafetensors(padded.subarray(3), SOURCE);
    expect(stateDictSha256(sd)).toBe(unetTiny.weights_sha256);
  });
});

describe('readSafetensors dtypes', () => {
  test('F16 is upcast exactly: normals, subnormals, infinities, NaN, signed zero', () => {
    const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555];
    const expected = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity, NaN, -0, 0.333251953125];
    const bytes = new Uint8Array(new Uint16Array(halves).buffer);
    const sd = readSafetensors(encodeSafetensors([{ name: 'h', dtype: 'F16', shape: [halves.length], bytes }]), SOURCE);
    const got = Array.from(sd.get('h')!.data);
    expect(got).toEqual(expected);
    expect(Object.is(got[9], -0)).toBe(true);
    // Each half's value is exactly representable as float32 (so the upcast is exact).
    for (const h of halves) {
      const v = halfBitsToFloat32(h);
      if (!Number.isNaN(v)) expect(Math.fround(v)).toBe(v);
    }
  });

  test('BF16 is upcast exactly (the high 16 bits of the float32)', () => {
    const values = new Float32Array([1, -3.5, 1e30, -1e-30, 0.1, 65536.5]);
    const bits = new Uint32Array(values.buffer);
    const bf16 = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) bf16[i] = bits[i] >>> 16;
    const sd = readSafetensors(
      encodeSafetensors([{ name: 'b', dtype: 'BF16', shape: [2, 3], bytes: new Uint8Array(bf16.buffer) }]),
      SOURCE,
    );
    const expected = new Float32Array(values.length);
    const expectedBits = new Uint32Array(expected.buffer);
    for (let i = 0; i < values.length; i++) expectedBits[i] = bits[i] & 0xffff0000;
    expect(sd.get('b')!.shape).toEqual([2, 3]);
    expect(Array.from(sd.get('b')!.data)).toEqual(Array.from(expected));
  });

  test('F64 is rounded to float32; F32 is bit-exact; 0-d and empty tensors are fine', () => {
    const f64 = new Float64Array([0.1, -1 / 3, 1e300]);
    const f32 = new Float32Array([0.1, Number.MIN_VALUE, -0]);
    const sd = readSafetensors(
      encodeSafetensors([
        { name: 'd', dtype: 'F64', shape: [3], bytes: new Uint8Array(f64.buffer) },
        { name: 'f', dtype: 'F32', shape: [3, 1], bytes: new Uint8Array(f32.buffer) },
        { name: 'scalar', dtype: 'F32', shape: [], bytes: new Uint8Array(new Float32Array([7]).buffer) },
        { name: 'empty', dtype: 'F16', shape: [0, 4], bytes: new Uint8Array(0) },
      ]),
      SOURCE,
    );
    expect(Array.from(sd.get('d')!.data)).toEqual([Math.fround(0.1), Math.fround(-1 / 3), Infinity]);
    expect(new Uint8Array(sd.get('f')!.data.buffer)).toEqual(new Uint8Array(f32.buffer));
    expect(sd.get('scalar')).toEqual({ shape: [], data: new Float32Array([7]) });
    expect(sd.get('empty')).toEqual({ shape: [0, 4], data: new Float32Array(0) });
  });

  test('__metadata__ is not a tensor; it maps strings to strings, as the reference implementation requires', () => {
    const bytes = editSafetensorsHeader(good, (h) => {
      h.__metadata__ = { format: 'pt', note: 'anything' };
      Object.defineProperty(h.__metadata__, '__proto__', { value: 'x', enumerable: true });
    });
    expect(Buffer.from(bytes).includes('"__proto__":"x"')).toBe(true);
    expect(readSafetensors(bytes, SOURCE).has('__metadata__')).toBe(false);
    const { metadata } = parseSafetensorsHeader(bytes, SOURCE);
    expect(metadata.note).toBe('anything');
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toBe('x'); // an own key, no prototype change
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    const nested = editSafetensorsHeader(good, (h) => {
      h.__metadata__ = { format: 'pt', nested: { a: 1 } };
    });
    expect(() => parseSafetensorsHeader(nested, SOURCE)).toThrow(`${SOURCE}: __metadata__ "nested" must be a string, got {"a":1}`);
  });
});

describe('readSafetensors bad input: a clear CheckpointError naming file, key and value', () => {
  const firstKey = Object.keys(splitSafetensors(good).header).find((k) => k !== '__metadata__')!;

  function expectError(bytes: Uint8Array, ...patterns: (string | RegExp)[]): void {
    let error: unknown;
    try {
      readSafetensors(bytes, SOURCE);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as Error).message;
    expect(message.startsWith(`${SOURCE}: `)).toBe(true);
    for (const p of patterns) expect(message).toMatch(p);
  }

  test('shorter than the 8-byte length', () => {
    expectError(good.subarray(0, 5), 'file is 5 bytes, too short');
    expectError(new Uint8Array(0), 'file is 0 bytes');
  });

  test('truncated file: the last tensors run past the end of the data region', () => {
    expectError(good.subarray(0, good.length - 100), /tensor ".+": data_offsets \[\d+,\d+\] run past the end of the data region/);
    expectError(good.subarray(0, Math.floor(good.length / 2)), 'run past the end of the data region');
  });

  test('truncated inside the header', () => {
    expectError(good.subarray(0, 1000), 'header length 33200 runs past the end of the file (1000 bytes)');
  });

  test('header length past the end of the file (including a huge 64-bit value)', () => {
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expectError(huge, 'header length 18446744073709551615 runs past the end of the file');
    const oneTooMany = good.slice();
    new DataView(oneTooMany.buffer).setBigUint64(0, BigInt(good.length - 7), true);
    expectError(oneTooMany, `header length ${good.length - 7} runs past the end`);
  });

  test('header that is not JSON, or not an object', () => {
    const garbled = good.slice();
    garbled[8] = 0x5b; // '{' → '['
    expectError(garbled, 'is not valid UTF-8 JSON');
    const notUtf8 = good.slice();
    notUtf8[20] = 0xff;
    expectError(notUtf8, 'is not valid UTF-8 JSON');
    expectError(safetensorsFromHeaderText('[1,2]'), 'header must be a JSON object, got [1,2]');
  });

  test('unknown dtype', () => {
    expectError(
      editSafetensorsHeader(good, (h) => (h[firstKey].dtype = 'Q8')),
      `tensor "${firstKey}": dtype "Q8" is not supported (supported: F32, F16, BF16, F64)`,
    );
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].dtype = 'I64')), 'dtype "I64" is not supported');
    expectError(editSafetensorsHeader(good, (h) => delete h[firstKey].dtype), 'dtype undefined is not supported');
  });

  test('bad shape and a shape × dtype size that does not match the offsets', () => {
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].shape = [16, -1])), 'shape must be a list of at most 64 non-negative integers, got [16,-1]');
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].shape = '16')), 'got "16"');
    expectError(
      editSafetensorsHeader(good, (h) => (h[firstKey].shape = [17])),
      `tensor "${firstKey}": shape [17] × F32 (4 bytes) needs 68 bytes but data_offsets [0,64] hold 64`,
    );
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].dtype = 'F16')), 'needs 32 bytes but data_offsets [0,64] hold 64');
  });

  test('overlapping offsets', () => {
    const bytes = editSafetensorsHeader(good, (h) => {
      const keys = Object.keys(h).filter((k) => k !== '__metadata__');
      const [a, b] = [h[keys[0]], h[keys[1]]];
      const size = b.data_offsets[1] - b.data_offsets[0];
      b.data_offsets = [a.data_offsets[1] - 4, a.data_offsets[1] - 4 + size];
    });
    expectError(bytes, /data_offsets \[60, \d+\] overlap those of "conv_in.bias" \[0, 64\]/);
  });

  test('a gap between tensors, a gap at the start and trailing bytes are refused, as by the reference implementation', () => {
    const { header, data } = splitSafetensors(good);
    const keys = Object.keys(header).filter((k) => k !== '__metadata__');
    const sorted = keys.slice().sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
    // Gap: move every tensor after the first 4 bytes on, with 4 unused bytes in between.
    const withGap = { ...header };
    for (const k of sorted.slice(1)) withGap[k] = { ...header[k], data_offsets: header[k].data_offsets.map((o: number) => o + 4) };
    const [first, second] = sorted;
    const firstEnd = header[first].data_offsets[1];
    const gapped = new Uint8Array(data.length + 4);
    gapped.set(data.subarray(0, firstEnd));
    gapped.set(data.subarray(firstEnd), firstEnd + 4);
    expectError(
      joinSafetensors(withGap, gapped),
      `tensor "${second}": data_offsets [${firstEnd + 4}, ${header[second].data_offsets[1] + 4}] leave a gap of 4 bytes after "${first}" (which ends at ${firstEnd})`,
    );
    // Gap at the start: every tensor 8 bytes on.
    const shifted = Object.fromEntries(Object.entries(header).map(([k, v]) => [k, k === '__metadata__' ? v : { ...v, data_offsets: v.data_offsets.map((o: number) => o + 8) }]));
    const padded = new Uint8Array(data.length + 8);
    padded.set(data, 8);
    expectError(joinSafetensors(shifted, padded), 'leave a gap of 8 bytes after the start of the data region');
    // Trailing bytes.
    const trailing = new Uint8Array(good.length + 3);
    trailing.set(good);
    expectError(trailing, `the data region is ${data.length + 3} bytes but the tensors end at ${data.length}: 3 trailing bytes`);
  });

  test('shapes over the rank limit and metadata that is not an object of strings', () => {
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].shape = new Array(65).fill(1))), 'shape must be a list of at most 64 non-negative integers');
    expectError(editSafetensorsHeader(good, (h) => (h.__metadata__ = [1])), '__metadata__ must be an object of strings, got [1]');
  });

  test('a huge shape: the size is computed exactly (no float rounding in the message)', () => {
    expectError(
      editSafetensorsHeader(good, (h) => (h[firstKey].shape = [2 ** 31, 2 ** 31, 2 ** 31])),
      `tensor "${firstKey}": shape [2147483648,2147483648,2147483648] × F32 (4 bytes) needs 39614081257132168796771975168 bytes`,
    );
  });

  test('out-of-file and malformed offsets', () => {
    const dataLength = splitSafetensors(good).data.length;
    expectError(
      editSafetensorsHeader(good, (h) => (h[firstKey].data_offsets = [dataLength - 32, dataLength + 32])),
      `data_offsets [${dataLength - 32},${dataLength + 32}] run past the end of the data region (${dataLength} bytes)`,
    );
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].data_offsets = [64, 0])), 'data_offsets must be [begin, end] with 0 <= begin <= end, got [64,0]');
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].data_offsets = [0])), 'got [0]');
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey].data_offsets = [0.5, 64.5])), 'got [0.5,64.5]');
    expectError(editSafetensorsHeader(good, (h) => (h[firstKey] = 3)), 'header entry must be an object');
  });
});

describe('readStateDict picks the weight file of a diffusers model folder', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'io-read-state-dict-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('safetensors is preferred over .bin', () => {
    const dir = fixturePath('tiny-unet');
    expect(findWeightFile(dir)).toBe(path.join(dir, 'diffusion_pytorch_model.safetensors'));
    expect(stateDictSha256(readStateDict(dir))).toBe(unetTiny.weights_sha256);
  });

  test('.bin when it is the only weight file; a file path is read directly', () => {
    const dir = path.join(tmp, 'bin-only');
    fs.mkdirSync(dir);
    fs.copyFileSync(fixturePath('tiny-unet', 'config.json'), path.join(dir, 'config.json'));
    fs.writeFileSync(path.join(dir, 'diffusion_pytorch_model.bin'), 'x');
    expect(findWeightFile(dir)).toBe(path.join(dir, 'diffusion_pytorch_model.bin'));
    expect(findWeightFile(goodFile)).toBe(goodFile);
    expect(stateDictSha256(readStateDict(goodFile))).toBe(unetTiny.weights_sha256);
  });

  test('a folder without weights: the error lists what was looked for', () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(path.join(dir, 'unet'), { recursive: true });
    expect(() => readStateDict(dir)).toThrow(
      `${dir}: no weights found: looked for diffusion_pytorch_model.safetensors and diffusion_pytorch_model.bin (this looks like a pipeline folder: try ${path.join(dir, 'unet')})`,
    );
    expect(() => readStateDict(path.join(tmp, 'missing'))).toThrow(`${path.join(tmp, 'missing')}: no such folder`);
  });
});
