/**
 * `torch.exp` and `torch.log` of float32 tensors as PyTorch's CPU kernels compute them on an AVX2 build: SLEEF's
 * `Sleef_expf8_u10` and `Sleef_logf8_u10` (1-ulp accuracy, not libm's correctly rounded values), one lane at a time,
 * with the fused multiply-adds of SLEEF's AVX2 helpers (`vmla` = `_mm256_fmadd_ps`). The DPM-Solver family computes
 * λ = log α − log σ and e^{−h} on float32 0-dim tensors with these; a correctly rounded exp differs from torch's in
 * about one input of ten, which moves a step's output by an ulp.
 *
 * ```ts
 * expF32(Math.fround(-0.5));  // torch.exp(torch.tensor(-0.5)).item()
 * logF32(Math.fround(3));     // torch.log(torch.tensor(3.0)).item()
 * ```
 */
import { f32, fmaF32 } from './float32';

// SLEEF's misc.h constants (float32). Literals longer than a double holds are written as the shortest decimal of the
// same double (SLEEF's extra digits change nothing; no-loss-of-precision).
const R_LN2F = f32(1.4426950408889634);
const L2UF = f32(0.693145751953125);
const L2LF = f32(1.428606765330187045e-6);
const FLT_MIN = 1.1754943508222875e-38;

const EXP_C0 = f32(0.000198527617612853646278381);
const EXP_C1 = f32(0.00139304355252534151077271);
const EXP_C2 = f32(0.00833336077630519866943359);
const EXP_C3 = f32(0.0416664853692054748535156);
const EXP_C4 = f32(0.166666671633720397949219);

const LOG_T0 = f32(0.3027294874);
const LOG_T1 = f32(0.3996108174);
const LOG_T2 = f32(0.666669488);
const LN2_HI = f32(0.69314718246459960938);
const LN2_LO = f32(-1.904654323148236017e-9);

const bits = new DataView(new ArrayBuffer(4));

/** 2^e as a float32 for an integer e in [-126, 127] (SLEEF's `vpow2i`). */
function pow2i(e: number): number {
  bits.setInt32(0, (e + 0x7f) << 23, true);
  return bits.getFloat32(0, true);
}

/** Round half to even, as `_mm256_cvtps_epi32` in the default rounding mode. */
function rintToInt(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torch.exp of a float32 `x` (SLEEF `xexpf`, AVX2): the result is a float32 held in a JS number.
 *
 * ```ts
 * expF32(0);  // 1
 * ```
 */
export function expF32(x: number): number {
  const d = f32(x);
  if (Number.isNaN(d)) return NaN;
  const q = rintToInt(f32(d * R_LN2F));
  let s = fmaF32(q, -L2UF, d);
  s = fmaF32(q, -L2LF, s);
  let u = EXP_C0;
  u = fmaF32(u, s, EXP_C1);
  u = fmaF32(u, s, EXP_C2);
  u = fmaF32(u, s, EXP_C3);
  u = fmaF32(u, s, EXP_C4);
  u = fmaF32(u, s, 0.5);
  u = f32(1 + fmaF32(f32(s * s), u, s));
  // vldexp2: u · 2^(q>>1) · 2^(q − (q>>1)), each product rounded to float32.
  const half = q >> 1;
  u = f32(f32(u * pow2i(half)) * pow2i(q - half));
  if (d < -104) u = 0;
  if (d > 100) u = Infinity;
  return u;
}

/** The unbiased exponent field of a float32 (SLEEF's `vilogb2k`: no special cases). */
function exponentOf(x: number): number {
  bits.setFloat32(0, x, true);
  return ((bits.getInt32(0, true) >>> 23) & 0xff) - 0x7f;
}

/** x with `e` added to its exponent field (SLEEF's `vldexp3`). */
function addToExponent(x: number, e: number): number {
  bits.setFloat32(0, x, true);
  bits.setInt32(0, bits.getInt32(0, true) + (e << 23), true);
  return bits.getFloat32(0, true);
}

/**
 * torch.log of a float32 `x` (SLEEF `xlogf_u1`, AVX2, double-float arithmetic with FMA).
 *
 * ```ts
 * logF32(1);  // 0
 * ```
 */
export function logF32(x: number): number {
  let d = f32(x);
  if (Number.isNaN(d) || d < 0) return NaN;
  if (d === 0) return -Infinity;
  if (d === Infinity) return Infinity;
  const subnormal = d < FLT_MIN;
  if (subnormal) d = f32(d * 1.8446744073709552e19);
  let e = exponentOf(f32(d * f32(1 / 0.75)));
  const m = addToExponent(d, -e);
  if (subnormal) e -= 64;
  // s = dfmul((LN2_HI, LN2_LO), e)
  const ef = e;
  let sx = f32(LN2_HI * ef);
  let sy = fmaF32(LN2_LO, ef, fmaF32(LN2_HI, ef, -sx));
  // x = dfdiv(dfadd2(-1, m), dfadd2(1, m))
  const [nx, ny] = dfadd2(-1, m);
  const [dx, dy] = dfadd2(1, m);
  const t0 = f32(1 / dx);
  const qx = f32(nx * t0);
  const u0 = fmaF32(t0, nx, -qx);
  let qy = fmaF32(-dy, t0, fmaF32(-dx, t0, 1));
  qy = fmaF32(qx, qy, fmaF32(ny, t0, u0));
  const x2 = f32(qx * qx);
  let t = LOG_T0;
  t = fmaF32(t, x2, LOG_T1);
  t = fmaF32(t, x2, LOG_T2);
  // s = dfadd(s, dfscale(x, 2)) (|s| >= |2x| form)
  const ax = f32(qx * 2);
  const ay = f32(qy * 2);
  let rx = f32(sx + ax);
  let ry = f32(f32(f32(f32(sx - rx) + ax) + sy) + ay);
  sx = rx;
  sy = ry;
  // s = dfadd(s, x2 · x · t)
  const y = f32(f32(x2 * qx) * t);
  rx = f32(sx + y);
  ry = f32(f32(f32(sx - rx) + y) + sy);
  return f32(rx + ry);
}

/** SLEEF's `dfadd2_vf2_vf_vf`: the float32 sum of a and b with its rounding error. */
function dfadd2(a: number, b: number): [number, number] {
  const rx = f32(a + b);
  const v = f32(rx - a);
  return [rx, f32(f32(a - f32(rx - v)) + f32(b - v))];
}

type F2 = [number, number];

/** SLEEF's `dfadd2_vf2_vf2_vf`: (x.x + x.y) + y as a double-float. */
function dfadd2F2F(x: F2, y: number): F2 {
  const rx = f32(x[0] + y);
  const v = f32(rx - x[0]);
  const ry = f32(f32(x[0] - f32(rx - v)) + f32(y - v));
  return [rx, f32(ry + x[1])];
}

/** SLEEF's `dfadd2_vf2_vf2_vf2`. */
function dfadd2F2F2(x: F2, y: F2): F2 {
  const rx = f32(x[0] + y[0]);
  const v = f32(rx - x[0]);
  const ry = f32(f32(x[0] - f32(rx - v)) + f32(y[0] - v));
  return [rx, f32(ry + f32(x[1] + y[1]))];
}

/** SLEEF's `dfmul_vf2_vf2_vf` (FMA form). */
function dfmulF2F(x: F2, y: number): F2 {
  const rx = f32(x[0] * y);
  return [rx, fmaF32(x[1], y, fmaF32(x[0], y, -rx))];
}

/** SLEEF's `dfmul_vf2_vf2_vf2` (FMA form). */
function dfmulF2F2(x: F2, y: F2): F2 {
  const rx = f32(x[0] * y[0]);
  return [rx, fmaF32(x[0], y[1], fmaF32(x[1], y[0], fmaF32(x[0], y[0], -rx)))];
}

/** SLEEF's `dfsqu_vf2_vf2` (FMA form). */
function dfsquF2(x: F2): F2 {
  const rx = f32(x[0] * x[0]);
  return [rx, fmaF32(f32(x[0] + x[0]), x[1], fmaF32(x[0], x[0], -rx))];
}

/** u · 2^q as SLEEF's `vldexp2` (two float32 products). */
function ldexp2(u: number, q: number): number {
  const half = q >> 1;
  return f32(f32(u * pow2i(half)) * pow2i(q - half));
}

/**
 * torch.expm1 of a float32 `x` (SLEEF `xexpm1f`, AVX2: e^x in double-float minus 1).
 *
 * ```ts
 * expm1F32(Math.fround(-1e-3));  // torch.expm1(torch.tensor(-1e-3)).item()
 * ```
 */
export function expm1F32(x: number): number {
  const a = f32(x);
  if (Number.isNaN(a)) return NaN;
  if (a > 88.72283172607421875) return Infinity;
  if (a < -16.635532333438686) return -1;
  if (Object.is(a, -0)) return -0;
  // expk2f((a, 0))
  const q = rintToInt(f32(a * R_LN2F));
  let s: F2 = dfadd2F2F([a, 0], f32(q * -L2UF));
  s = dfadd2F2F(s, f32(q * -L2LF));
  let u = f32(0.1980960224e-3);
  u = fmaF32(u, s[0], f32(0.1394256484e-2));
  u = fmaF32(u, s[0], f32(0.8333456703e-2));
  u = fmaF32(u, s[0], f32(0.4166637361e-1));
  let t = dfadd2F2F(dfmulF2F(s, u), f32(0.16666665941423425));
  t = dfadd2F2F(dfmulF2F2(s, t), 0.5);
  t = dfadd2F2F2(s, dfmulF2F2(dfsquF2(s), t));
  // dfadd_vf2_vf_vf2(1, t)
  const tx = f32(1 + t[0]);
  const ty = f32(f32(f32(1 - tx) + t[0]) + t[1]);
  let ex: F2 = [ldexp2(tx, q), ldexp2(ty, q)];
  if (a < -104) ex = [0, 0];
  const d = dfadd2F2F(ex, -1);
  return f32(d[0] + d[1]);
}
