import { createFloat32Scratch, log256Ps, sincos256Ps } from '../../lib/random/float32-math';
import { fmaF32 } from '../../lib/math/float32';

/** Exact value of a finite double as m · 2^e with a BigInt m. */
function exact(x: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const expField = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  if (expField === 0) return { m: sign * frac, e: -1074 };
  return { m: sign * (frac | (1n << 52n)), e: expField - 1075 };
}

/** Reference fma: the exact a·b + c rounded once to float32 (nearest, ties to even), with BigInts. */
function referenceFmaF32(a: number, b: number, c: number): number {
  const A = exact(a);
  const B = exact(b);
  const C = exact(c);
  const e = Math.min(A.e + B.e, C.e);
  const sum = (A.m * B.m << BigInt(A.e + B.e - e)) + (C.m << BigInt(C.e - e));
  if (sum === 0n) return a * b + c; // signed zero as IEEE defines it
  const neg = sum < 0n;
  let mag = neg ? -sum : sum;
  // Round mag · 2^e to 24 significant bits (or to the subnormal grid 2^-149).
  const bitLength = mag.toString(2).length;
  let shift = Math.max(bitLength - 24, -149 - e);
  let scaled: bigint;
  if (shift > 0) {
    const half = 1n << BigInt(shift - 1);
    const rem = mag & ((1n << BigInt(shift)) - 1n);
    scaled = mag >> BigInt(shift);
    if (rem > half || (rem === half && (scaled & 1n) === 1n)) scaled += 1n;
  } else {
    scaled = mag;
    shift = 0;
  }
  mag = scaled;
  const value = Number(mag) * 2 ** (e + shift); // exact: ≤ 25 bits, in range
  return Math.fround(neg ? -value : value);
}

/** Deterministic float32 values with spread exponents (xorshift, so the test is reproducible). */
function* float32Samples(count: number, seed: number): Generator<[number, number, number]> {
  let s = seed >>> 0;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const value = (): number => Math.fround((next() < 0.5 ? -1 : 1) * (1 + next()) * 2 ** Math.floor(next() * 40 - 20));
  for (let i = 0; i < count; i++) yield [value(), value(), value()];
}

describe('fmaF32', () => {
  test('equals a BigInt reference on 20000 mixed-exponent float32 triples', () => {
    let checked = 0;
    for (const [a, b, c] of float32Samples(20000, 12345)) {
      const got = fmaF32(a, b, c);
      const want = referenceFmaF32(a, b, c);
      if (!Object.is(got, want)) throw new Error(`fmaF32(${a}, ${b}, ${c}) = ${got}, want ${want}`);
      checked++;
    }
    expect(checked).toBe(20000);
  });

  test('breaks a double-rounding tie the way the exact sum says (where fround(a*b+c) is wrong)', () => {
    const a = Math.fround(1 + 2 ** -12); // a·a = 1 + 2^-11 + 2^-24: a float32 midpoint
    const up = 1 + 2 ** -11 + 2 ** -23;
    const down = 1 + 2 ** -11;
    expect(Math.fround(a * a + 2 ** -80)).toBe(down); // naive: the double sum absorbs 2^-80, then ties to even
    expect(fmaF32(a, a, 2 ** -80)).toBe(up);
    expect(fmaF32(a, a, -(2 ** -80))).toBe(down);
    expect(referenceFmaF32(a, a, 2 ** -80)).toBe(up);
  });
});

describe('Cephes float32 log and sincos', () => {
  // These are float32 polynomial approximations, not libm: compare against Math within 2 float32 ULP
  // of the result (the Cephes single-precision error bound is about 1 ULP; fma changes the last bit).
  const f32Ulp = (x: number): number => 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);

  test('log256Ps(u) is within 2 ULP of log(u) on (0, 1]', () => {
    const scratch = createFloat32Scratch();
    for (let i = 1; i <= 2 ** 12; i++) {
      const u = Math.fround(i / 2 ** 12 - 2 ** -30);
      const want = Math.log(u);
      if (want === 0) continue;
      expect(Math.abs(log256Ps(u, scratch) - want)).toBeLessThanOrEqual(2 * f32Ulp(want));
    }
    expect(log256Ps(1, scratch)).toBe(0);
    expect(log256Ps(0, scratch)).toBe(-Infinity);
    expect(log256Ps(-1, scratch)).toBeNaN();
  });

  test('sincos256Ps(θ) is within 2 ULP of sin/cos (absolute 2^-23 near zeros) on [0, 2π)', () => {
    const out = new Float64Array(2);
    for (let i = 0; i < 2 ** 12; i++) {
      const theta = Math.fround((2 * Math.PI * i) / 2 ** 12);
      sincos256Ps(theta, out);
      const [s, c] = [Math.sin(theta), Math.cos(theta)];
      expect(Math.abs(out[0] - s)).toBeLessThanOrEqual(2 * Math.max(f32Ulp(s || 1e-30), 2 ** -24));
      expect(Math.abs(out[1] - c)).toBeLessThanOrEqual(2 * Math.max(f32Ulp(c || 1e-30), 2 ** -24));
      expect(Math.fround(out[0])).toBe(out[0]);
      expect(Math.fround(out[1])).toBe(out[1]);
    }
  });
});
