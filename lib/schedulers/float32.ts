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

/**
 * The fused multiply-add `a * b + c` of float32 values, rounded once to float32, as GCC emits it for `c + a * b`
 * in PyTorch's AVX2 kernels (e.g. `torch.linspace`). Shared with the torch-exact randn.
 */
export { fmaF32 } from '../random/float32-math';
