/**
 * float32 arithmetic for the bit-exact port of torch's AVX2 `normal_fill`: scalar ports of the Cephes
 * `log256_ps` / `sincos256_ps` of
 * `aten/src/ATen/native/cpu/avx_mathfun.h`, with the fused multiply-adds GCC put in torch's build
 * (docs/reproducibility.md, "The AVX2 and default variants"). Every input and output is a float32 value held in a JS number.
 */

import { fmaF32 } from '../math/float32';

const fround = Math.fround;

// avx_mathfun.h constants, rounded to float32 as the `_PS256_CONST` tables hold them.
const FLT_MIN_NORM_POS = 1.1754943508222875e-38; // 2^-126
// eslint-disable-next-line no-loss-of-precision -- avx_mathfun.h's literal as written; fround rounds it as the C compiler does
const SQRTHF = fround(0.707106781186547524);
const LOG_P0 = fround(7.0376836292e-2);
const LOG_P1 = fround(-1.151461031e-1);
const LOG_P2 = fround(1.167699874e-1);
const LOG_P3 = fround(-1.2420140846e-1);
const LOG_P4 = fround(1.4249322787e-1);
const LOG_P5 = fround(-1.6668057665e-1);
const LOG_P6 = fround(2.0000714765e-1);
const LOG_P7 = fround(-2.4999993993e-1);
const LOG_P8 = fround(3.3333331174e-1);
const LOG_Q1 = fround(-2.12194440e-4);
const LOG_Q2 = fround(0.693359375);

const FOPI = fround(1.27323954473516);
const MINUS_DP1 = fround(-0.78515625);
const MINUS_DP2 = fround(-2.4187564849853515625e-4);
// eslint-disable-next-line no-loss-of-precision -- avx_mathfun.h's literal as written; fround rounds it as the C compiler does
const MINUS_DP3 = fround(-3.77489497744594108e-8);
const COSCOF_P0 = fround(2.443315711809948e-5);
const COSCOF_P1 = fround(-1.388731625493765e-3);
const COSCOF_P2 = fround(4.166664568298827e-2);
const SINCOF_P0 = fround(-1.9515295891e-4);
const SINCOF_P1 = fround(8.3321608736e-3);
const SINCOF_P2 = fround(-1.6666654611e-1);

/**
 * One lane of `log256_ps(x)` for a float32 `x > 0` (torch only calls it on `1 - u` ∈ (0, 1]).
 * Not libm's logf: the Cephes polynomial, float32 throughout, with GCC's fused multiply-adds.
 * `bits` must be a scratch view pair over one 4-byte buffer (reused, so no allocation per call).
 */
export function log256Ps(x: number, scratch: Float32Scratch): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x < FLT_MIN_NORM_POS) x = FLT_MIN_NORM_POS;
  scratch.f32[0] = x;
  const bits = scratch.u32[0];
  let e = fround(((bits >>> 23) - 127) + 1);
  scratch.u32[0] = (bits & ~0x7f800000) | 0x3f000000;
  x = scratch.f32[0]; // x in [0.5, 1)
  if (x < SQRTHF) {
    e = fround(e - 1);
    x = fround(fround(x - 1) + x);
  } else {
    x = fround(x - 1);
  }
  const z = fround(x * x);
  let y = LOG_P0;
  y = fmaF32(y, x, LOG_P1);
  y = fmaF32(y, x, LOG_P2);
  y = fmaF32(y, x, LOG_P3);
  y = fmaF32(y, x, LOG_P4);
  y = fmaF32(y, x, LOG_P5);
  y = fmaF32(y, x, LOG_P6);
  y = fmaF32(y, x, LOG_P7);
  y = fmaF32(y, x, LOG_P8);
  y = fround(y * x);
  y = fmaF32(y, z, fround(e * LOG_Q1));
  y = fround(y - z * 0.5); // z·0.5 is exact
  x = fround(x + y);
  return fmaF32(e, LOG_Q2, x);
}

/**
 * One lane of `sincos256_ps(θ)` for a float32 `θ ≥ 0` (torch calls it on `2π·u`, u ∈ [0, 1)):
 * writes sin θ to `out[0]` and cos θ to `out[1]` (float32 values). The Cephes reduction by π/4 with
 * its three-part extended-precision constant, and the two minimax polynomials, with GCC's fused
 * multiply-adds.
 */
export function sincos256Ps(theta: number, out: Float32Array | Float64Array): void {
  const negative = theta < 0;
  let x = Math.abs(theta);
  let y = fround(x * FOPI);
  let j = y | 0; // cvttps: truncation (y < 2^31 here)
  j = (j + 1) & ~1;
  y = j; // exact: small integer
  const swap = (j & 4) !== 0;
  const polySin = (j & 2) === 0;
  const cosNegative = (~(j - 2) & 4) !== 0;
  x = fmaF32(y, MINUS_DP1, x);
  x = fmaF32(y, MINUS_DP2, x);
  x = fmaF32(y, MINUS_DP3, x);
  const z = fround(x * x);
  let c = COSCOF_P0;
  c = fmaF32(c, z, COSCOF_P1);
  c = fmaF32(c, z, COSCOF_P2);
  c = fround(c * z);
  c = fmaF32(c, z, -(z * 0.5));
  c = fround(c + 1);
  let s = SINCOF_P0;
  s = fmaF32(s, z, SINCOF_P1);
  s = fmaF32(s, z, SINCOF_P2);
  s = fround(s * z);
  s = fmaF32(s, x, x);
  let sin = polySin ? s : c;
  let cos = polySin ? c : s;
  if (negative !== swap) sin = -sin;
  if (cosNegative) cos = -cos;
  out[0] = sin;
  out[1] = cos;
}

/** A 4-byte scratch buffer seen as float32 and as uint32, for bit manipulation without allocation. */
export interface Float32Scratch {
  f32: Float32Array;
  u32: Uint32Array;
}

/** A fresh {@link Float32Scratch} (callers create one per batch of work, not per value). */
export function createFloat32Scratch(): Float32Scratch {
  const buffer = new ArrayBuffer(4);
  return { f32: new Float32Array(buffer), u32: new Uint32Array(buffer) };
}
