import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { unzipSync } from 'fflate';
import { forEachManifestLine, ManifestLine, ManifestRecord, ManifestWriter, MAX_MANIFEST_LINE_BYTES, parseRecord, pngChecksums } from '../../../lib/node/scale-out/manifest';
import { npyUint8Header, writeNpzUint8 } from '../../../lib/node/scale-out/npz';
import { encodePng } from '../../../lib/node/png';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function record(seed: number): ManifestRecord {
  return {
    v: 1,
    seed,
    file: `seed${seed}.png`,
    pngSha256: 'a'.repeat(64),
    pixelsSha256: 'b'.repeat(64),
    absSum: 1408.8064,
    steps: 2,
    eta: 0,
    batch: 1,
    shape: [1, 32, 32, 3],
    backend: 'wasm',
    kernelPath: 'wasm',
    cpuIsa: 'avx2',
    model: 'embedded:tiny-random',
    modelHash: 'sha256:00',
    library: 'tfjs-diffusers@0.1.0',
    shard: '0/1',
    seconds: 0.1,
  };
}

describe('manifest records', () => {
  test('a record round-trips; each bad field is named with its value', () => {
    expect(parseRecord(JSON.stringify(record(7)))).toEqual(record(7));
    const bad = (patch: Record<string, unknown>) => parseRecord(JSON.stringify({ ...record(1), ...patch }));
    expect(bad({ seed: 1.5 })).toBe('field seed is 1.5');
    expect(bad({ seed: '18446744073709551615' })).toMatchObject({ seed: '18446744073709551615' });
    expect(bad({ pngSha256: 'xyz' })).toBe('field pngSha256 is "xyz"');
    expect(bad({ steps: 0 })).toBe('field steps is 0');
    expect(bad({ shape: [1, 32, 32] })).toBe('field shape is [1,32,32]');
    expect(bad({ v: 2 })).toBe('field v is 2');
    expect(parseRecord('{"v":1,"seed":12,"file":"se')).toMatch(/^not JSON/);
    expect(parseRecord('[1]')).toBe('not a JSON object');
  });

  test('pngChecksums: the bytes and the decoded pixels', () => {
    const png = encodePng({ shape: [1, 2, 2, 3], data: new Float32Array(12).fill(1) });
    const sums = pngChecksums(png);
    expect(sums.pngSha256).toMatch(/^[0-9a-f]{64}$/);
    // The pixels are twelve 255 bytes, whatever zlib made of them.
    expect(sums.pixelsSha256).toBe(createHash('sha256').update(new Uint8Array(12).fill(255)).digest('hex'));
  });
});

describe('forEachManifestLine: streamed lines, torn tail', () => {
  test('lines of any length across the 1 MiB reads come back whole with their offsets, cut past 64 KiB; a torn tail is reported', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(100_000), { minLength: 1, maxLength: 60 }), fc.nat(50), (lengths, tornLength) => {
        const file = path.join(tmp, 'lines.jsonl');
        const lines = lengths.map((n, i) => `${i}:`.padEnd(n + 2, 'x'));
        fs.writeFileSync(file, lines.map((l) => `${l}\n`).join('') + 'y'.repeat(tornLength));
        const seen: ManifestLine[] = [];
        const torn = forEachManifestLine(file, (line) => seen.push(line));
        expect(seen).toHaveLength(lines.length);
        let offset = 0;
        seen.forEach((line, i) => {
          const long = lines[i].length > MAX_MANIFEST_LINE_BYTES;
          expect(line.truncated).toBe(long);
          expect(line.text).toBe(long ? lines[i].slice(0, 1024) : lines[i]);
          expect(line.offset).toBe(offset);
          expect(line.lineNumber).toBe(i + 1);
          offset += lines[i].length + 1;
        });
        expect(torn).toBe(tornLength);
      }),
      { numRuns: 10 },
    );
  });

  test('ManifestWriter ends a torn last line before appending, so its records stay whole', () => {
    const file = path.join(tmp, 'manifest-0-of-1.jsonl');
    fs.writeFileSync(file, `${JSON.stringify(record(0))}\n{"v":1,"seed":1,"fi`);
    const writer = ManifestWriter.open(file);
    writer.append(record(2));
    writer.close();
    const parsed: (ManifestRecord | string)[] = [];
    expect(forEachManifestLine(file, ({ text }) => parsed.push(parseRecord(text)))).toBe(0);
    expect(parsed).toHaveLength(3);
    expect(parsed[0]).toEqual(record(0));
    expect(parsed[1]).toMatch(/^not JSON/);
    expect(parsed[2]).toEqual(record(2));
    expect(() => writer.append(record(3))).toThrow('is closed');
  });
});

describe('npz: uint8 NHWC arr_0', () => {
  test('the .npy header is numpy format 1.0, 64-byte aligned', () => {
    const header = npyUint8Header([2, 32, 32, 3]);
    expect(header.length % 64).toBe(0);
    expect(Array.from(header.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const text = Buffer.from(header.subarray(10)).toString('latin1');
    expect(text).toMatch(/^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(2, 32, 32, 3\), \} *\n$/);
    expect(header[8] | (header[9] << 8)).toBe(header.length - 10);
  });

  test('writeNpzUint8 streams the bytes into arr_0.npy; a wrong byte count leaves no file', async () => {
    const target = path.join(tmp, 'a.npz');
    const bytes = Uint8Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => i);
    await writeNpzUint8(target, [2, 4, 4, 3], (push) => {
      push(bytes.subarray(0, 10));
      push(bytes.subarray(10));
    });
    const npy = unzipSync(new Uint8Array(fs.readFileSync(target)))['arr_0.npy'];
    expect(Array.from(npy.subarray(npyUint8Header([2, 4, 4, 3]).length))).toEqual(Array.from(bytes));
    // numpy itself, where this machine has it, reads the same array (the project does not depend on Python).
    const python = spawnSync('python3', ['-c', `import numpy as np; a = np.load(${JSON.stringify(target)})['arr_0']; print(a.dtype, a.shape, int(a.sum()))`], { encoding: 'utf8' });
    if (python.status === 0) expect(python.stdout.trim()).toBe(`uint8 (2, 4, 4, 3) ${bytes.reduce((a, b) => a + b, 0)}`);

    const short = path.join(tmp, 'short.npz');
    await expect(writeNpzUint8(short, [2, 4, 4, 3], (push) => push(bytes.subarray(1)))).rejects.toThrow('95 bytes pushed, shape [2, 4, 4, 3] needs 96');
    expect(fs.readdirSync(tmp).sort()).toEqual(['a.npz']);
  });
});
