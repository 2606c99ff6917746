/**
 * Float32 scalar arithmetic as PyTorch's CPU code does it: shared by the torch-exact noise (random/) and the scheduler
 * tables (schedulers/), which hold float32 values in JS numbers.
 *
 * The scheduler tables live in JS `Float32Array`s, so `alpha_prod_t` and friends are JS numbers. PyTorch computes
 * `1 - alpha_prod_t`, `alpha_prod_t ** 0.5`, … on float32 tensors: each result is rounded to float32. For `+ - * /`
 * and `sqrt` of float32 inputs, computing in double and rounding once to float32 gives the correctly rounded
 * float32 result (double has more than 2·24 + 2 bits), so `Math.fround(a op b)` equals torch's float32 op.
 */

const fround = Math.fround;

/** Rounds to the nearest float32 (ties to even). */
export const f32 = Math.fround;

/** `x ** 0.5` on a float32 tensor: torch's pow special-cases the exponent 0.5 as sqrt. */
export function sqrtF32(x: number): number {
  return Math.fround(Math.sqrt(x));
}

/**
 * The fused multiply-add `a * b + c` of float32 values, rounded once to float32, as GCC emits it for `c + a * b` in
 * PyTorch's AVX2 kernels (`torch.linspace`, the randn transform). Correctly rounded for float32 inputs: `a·b` is exact
 * in a double, so the only error is the double rounding of `a·b + c`, which matters only when that double sum lands
 * exactly on a float32 midpoint; then the sign of the sum's rounding error (an error-free two-sum) picks the neighbour.
 *
 * ```ts
 * fmaF32(Math.fround(1 + 2 ** -12), Math.fround(1 + 2 ** -12), -1); // 2^-11 + 2^-24, exactly
 * ```
 */
export function fmaF32(a: number, b: number, c: number): number {
  const s = a * b + c;
  const r = fround(s);
  const d = s - r;
  // s is a float32 midpoint exactly when d ≠ 0 and r + 2d (the other neighbour) is a float32.
  const other = r + 2 * d;
  if (d === 0 || fround(other) !== other) return r;
  return breakMidpointTie(a * b, c, s, r, other);
}

/**
 * `p + c` rounded to the double `s`, a float32 midpoint between `r` and `other`: the error-free two-sum
 * `p + c = s + err` says on which side the exact sum lies. Kept out of {@link fmaF32} so that stays small
 * enough to inline.
 */
function breakMidpointTie(p: number, c: number, s: number, r: number, other: number): number {
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  return err > 0 === other > r ? other : r;
}
