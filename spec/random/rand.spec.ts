import * as fs from 'fs';
import { Generator } from '../../lib/random/generator';
import { rand } from '../../lib/random/rand';
import { randn } from '../../lib/random/randn';
import { readSafetensors } from '../../lib/io/safetensors';
import { FixtureArray, fixturePath, loadFixture } from '../helpers/fixtures';
import { recipeStateDict } from '../helpers/recipe-weights';
import { stateDictSha256 } from '../io/state-dict-hash';
import { float32BitMismatches } from './randn-fixture';
import type { UNetTinyFixture } from '../models/unet/unet-fixture';

/** spec/fixtures/rand.json, written by scripts/fixtures/make_rand_fixture.py with torch 1.13.1. */
interface RandFixture {
  cases: { seed: string; shape: number[]; dtype: 'float32' | 'float64'; values: FixtureArray }[];
  sequences: { seed: string; calls: { fn: 'rand' | 'randn'; shape: number[]; dtype: 'float32' | 'float64'; values: FixtureArray }[] }[];
}

const fixture = loadFixture<RandFixture>('rand.json');

/** Indices where two float64 arrays differ in any bit (so -0 vs +0 and NaN payloads count). */
function float64BitMismatches(actual: Float64Array, expected: readonly number[]): number[] {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  const a = new BigUint64Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new BigUint64Array(Float64Array.from(expected).buffer);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) bad.push(i);
  return bad;
}

/** Bit-for-bit comparison for either dtype: rand is exact for float32 AND float64 (no libm involved). */
function expectBitExact(actual: Float32Array | Float64Array, expected: FixtureArray, what: string): void {
  expect(actual.length).toBe(expected.data.length);
  const bad =
    expected.dtype === 'float64'
      ? (expect(actual).toBeInstanceOf(Float64Array), float64BitMismatches(actual as Float64Array, expected.data))
      : (expect(actual).toBeInstanceOf(Float32Array), float32BitMismatches(actual as Float32Array, expected.data));
  expect({ what, mismatchedIndices: bad.slice(0, 10), count: bad.length }).toEqual({ what, mismatchedIndices: [], count: 0 });
}

describe('rand against torch.rand (spec/fixtures/rand.json)', () => {
  for (const c of fixture.cases) {
    test(`${c.dtype} [${c.shape}] from manual_seed(${c.seed})`, () => {
      const g = new Generator().manualSeed(c.seed);
      expectBitExact(rand(c.shape, { generator: g, dtype: c.dtype }), c.values, `${c.dtype} [${c.shape}] seed ${c.seed}`);
    });
  }

  for (const [k, s] of fixture.sequences.entries()) {
    const what = s.calls.map((c) => `${c.fn}(${c.dtype} [${c.shape}])`).join(', ');
    test(`sequence ${k}: ${what} on one generator share its stream (randn's cached normal survives rand)`, () => {
      const g = new Generator().manualSeed(s.seed);
      for (const call of s.calls) {
        const draw = call.fn === 'rand' ? rand : randn;
        expectBitExact(draw(call.shape, { generator: g, dtype: call.dtype }), call.values, `${call.fn} [${call.shape}]`);
      }
    });
  }

  test('the fixture covers both dtypes, an image-sized tensor, 64-bit and negative seeds, and rand between randn calls', () => {
    expect(new Set(fixture.cases.map((c) => c.dtype))).toEqual(new Set(['float32', 'float64']));
    expect(fixture.cases.some((c) => c.values.data.length === 3 * 32 * 32)).toBe(true);
    expect(fixture.cases.some((c) => BigInt(c.seed) >= 2n ** 32n)).toBe(true);
    expect(fixture.cases.some((c) => BigInt(c.seed) < 0n)).toBe(true);
    expect(fixture.sequences.some((s) => s.calls.map((c) => c.fn).join() === 'randn,rand,randn')).toBe(true);
  });

  test('values lie in [0, 1) with 24 (float32) and 53 (float64) bits', () => {
    const g = new Generator().manualSeed(3);
    const f = rand([4096], { generator: g });
    const d = rand([4096], { generator: g, dtype: 'float64' });
    expect(f.filter((v) => !(v >= 0 && v < 1 && Number.isInteger(v * 2 ** 24)))).toEqual(new Float32Array(0));
    expect(d.filter((v) => !(v >= 0 && v < 1 && Number.isInteger(v * 2 ** 53)))).toEqual(new Float64Array(0));
    expect(d.some((v) => !Number.isInteger(v * 2 ** 32))).toBe(true); // more than 32 bits are really used
  });

  test('without a generator each call draws fresh values', () => {
    const a = rand([64]);
    const b = rand([64]);
    expect(float32BitMismatches(a, b).length).toBeGreaterThan(0);
  });

  test('bad arguments name the option and the value', () => {
    expect(() => rand([2], { dtype: 'float16' as never })).toThrow(/rand: dtype="float16" is not one of 'float32', 'float64'/);
    expect(() => rand([2], { generator: [new Generator()] as never })).toThrow(/rand: generator must be a Generator, got an array/);
    expect(() => rand([2, -1])).toThrow(/rand: shape\[1\]=-1 must be a non-negative integer/);
    expect(() => rand([2], null as never)).toThrow(/rand: options must be an object, got null/);
  });
});

describe('rand rebuilds the tiny fixture weights from their recipe (spec/fixtures/README.md)', () => {
  test('recipe(weights_seed) equals tiny-unet/diffusion_pytorch_model.safetensors bit for bit, and hashes to weights_sha256', () => {
    const tiny = loadFixture<UNetTinyFixture & { weights_seed: number; weights_sha256: string }>('unet_tiny.json');
    const file = fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors');
    const stored = readSafetensors(new Uint8Array(fs.readFileSync(file)), file);
    const rebuilt = recipeStateDict(tiny.state_dict_keys, tiny.weights_seed);
    expect([...rebuilt.keys()].sort()).toEqual([...stored.keys()].sort());
    const mismatched: string[] = [];
    for (const [name, t] of rebuilt) {
      const s = stored.get(name)!;
      expect(t.shape).toEqual(s.shape);
      const bad = float32BitMismatches(t.data, s.data);
      if (bad.length > 0) mismatched.push(`${name}: ${bad.length} of ${t.data.length} values differ, first at ${bad[0]}`);
    }
    expect(mismatched).toEqual([]);
    expect(stateDictSha256(rebuilt)).toBe(tiny.weights_sha256);
  });
});
