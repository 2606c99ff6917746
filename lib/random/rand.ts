import type { Generator } from './generator';
import { allocate, checkDtypeAndGenerator, checkedNumel, nonDeterministicGenerator, RandnDtype } from './randn';

export interface RandOptions {
  /**
   * The generator to draw from; its state advances. Without one, a fresh generator seeded
   * non-deterministically is used for this call only: pass a seeded generator for reproducible values.
   */
  generator?: Generator;
  /** `'float32'` (default: 24-bit uniforms, one 32-bit draw each) or `'float64'` (53-bit, two draws each). */
  dtype?: RandnDtype;
}

/**
 * Uniform noise in [0, 1) exactly as `torch.rand(shape, generator=g, dtype=...)` makes it on the CPU, bit for bit
 * for both dtypes. torch 1.13's CPU `uniform_` is one serial loop over the elements in row-major order (no
 * vectorised path, the same at every size): float32 takes one MT19937 draw `u` and returns `(u & 0xFFFFFF) · 2^-24`;
 * float64 takes two draws `hi, lo` and returns `(((hi << 32) | lo) & (2^53 - 1)) · 2^-53`
 * (`at::uniform_real_distribution`, `aten/src/ATen/core/TransformationHelper.h`). These are the uniforms
 * {@link randn} starts from, so `rand` and `randn` share one stream on a generator; `rand` neither uses nor clears
 * the generator's cached normal.
 *
 * ```ts
 * const g = new Generator().manualSeed(0);
 * rand([5], { generator: g });   // == torch.rand(5, generator=torch.Generator().manual_seed(0)): 0.4963, 0.7682, …
 * rand([2], { generator: g, dtype: 'float64' }); // continues the same stream, two draws a value
 * ```
 */
export function rand(shape: readonly number[], options?: RandOptions & { dtype?: 'float32' }): Float32Array;
export function rand(shape: readonly number[], options: RandOptions & { dtype: 'float64' }): Float64Array;
export function rand(shape: readonly number[], options?: RandOptions): Float32Array | Float64Array;
export function rand(shape: readonly number[], options: RandOptions = {}): Float32Array | Float64Array {
  const dtype = checkDtypeAndGenerator(options, 'rand');
  const numel = checkedNumel(shape, 'rand');
  const out = allocate(numel, dtype, shape, 'rand');
  const mt = (options.generator ?? nonDeterministicGenerator()).mt19937;
  if (out instanceof Float32Array) {
    mt.fillUniformFloat(out, 0, numel);
  } else {
    for (let i = 0; i < numel; i++) out[i] = mt.nextUniformDouble();
  }
  return out;
}
