/**
 * Float32 scalar arithmetic, as PyTorch does it on 0-dim float32 tensors.
 *
 * The scheduler tables live in JS `Float32Array`s, so `alpha_prod_t` and friends are JS numbers. PyTorch computes
 * `1 - alpha_prod_t`, `alpha_prod_t ** 0.5`, … on float32 tensors: each result is rounded to float32. For `+ - * /`
 * and `sqrt` of float32 inputs, computing in double and rounding once to float32 gives the correctly rounded
 * float32 result (double has more than 2·24 + 2 bits), so `Math.fround(a op b)` equals torch's float32 op.
 */

/** Rounds to the nearest float32 (ties to even). */
export const f32 = Math.fround;

/** `x ** 0.5` on a float32 tensor: torch's pow special-cases the exponent 0.5 as sqrt. */
export function sqrtF32(x: number): number {
  return Math.fround(Math.sqrt(x));
}

const f32Buffer = new Float32Array(1);
const i32View = new Int32Array(f32Buffer.buffer);

/** The float32 next to `x` (a float32 value, finite, non-zero) in the direction of `towards`. */
function adjacentF32(x: number, towards: number): number {
  f32Buffer[0] = x;
  // Positive floats grow with their bit pattern, negative ones shrink.
  const awayFromZero = (towards > x) === (x > 0);
  i32View[0] += awayFromZero ? 1 : -1;
  return f32Buffer[0];
}

/**
 * The fused multiply-add `a * b + c` of float32 values, rounded once to float32, as a compiler emits it for
 * `c + a * b` when it contracts float expressions (PyTorch's AVX2 kernels are built that way).
 *
 * `a * b` of two float32 values is exact in double; the sum is then rounded twice (to double, to float32),
 * which is wrong only when the double sum lands exactly halfway between two float32 values: that case is
 * resolved with the exact error term of the double sum.
 */
export function fmaF32(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  // TwoSum: product + c === sum + error exactly.
  const bVirtual = sum - product;
  const error = product - (sum - bVirtual) + (c - bVirtual);
  const rounded = Math.fround(sum);
  if (error === 0 || rounded === sum || !Number.isFinite(rounded) || rounded === 0) return rounded;
  const other = adjacentF32(rounded, sum);
  const isMidpoint = sum - rounded === (other - rounded) / 2;
  if (!isMidpoint) return rounded;
  // The exact value lies past the midpoint on the side of `error`.
  const exactTowardsOther = (other > rounded) === (error > 0);
  return exactTowardsOther ? other : rounded;
}
