import { createFloat32Scratch, log256Ps, sincos256Ps } from './float32-math';
import { Generator } from './generator';
import type { MT19937 } from './mt19937';
import { MEMORY_LIMITS } from '../config/memory-limits';

/** Element types {@link randn} can draw. */
export type RandnDtype = 'float32' | 'float64';

/**
 * Which torch CPU kernel to reproduce for float32 tensors of 16 elements or more:
 * - `'avx2'` (default): `normal_fill_AVX2`, what every x86-64 build of torch runs (AVX2 or AVX-512 CPUs);
 * - `'default'`: the scalar `normal_fill` with libm `logf/cosf/sinf`, what torch runs without AVX2
 *   (ARM, Apple silicon, `ATEN_CPU_CAPABILITY=default`); emulated here with `Math.log/cos/sin` rounded to
 *   float32, so it matches that kernel closely but not bit for bit everywhere.
 * Both variants give the same values for float64 and for tensors of fewer than 16 elements.
 */
export type RandnVariant = 'avx2' | 'default';

export const RANDN_DTYPES: readonly RandnDtype[] = ['float32', 'float64'];
export const RANDN_VARIANTS: readonly RandnVariant[] = ['avx2', 'default'];

export interface RandnOptions {
  /**
   * The generator to draw from; its state advances. Without one, a fresh generator seeded
   * non-deterministically (`new Generator().seed()`) is used for this call only, like torch's default
   * generator when nobody seeded it: pass a seeded generator for reproducible noise.
   */
  generator?: Generator;
  /** `'float32'` (default) or `'float64'`. */
  dtype?: RandnDtype;
  /** torch kernel to reproduce for float32 (default `'avx2'`, see {@link RandnVariant}). */
  variant?: RandnVariant;
}

/** torch's cut-over: below 16 elements, every dtype takes the serial cached-normal path. */
const BLOCK = 16;
const HALF = 8;
const TWO_PI_F32 = Math.fround(2 * Math.PI);

/** Elements of a shape, checking each dimension; `where` names the caller in error messages. */
export function checkedNumel(shape: readonly number[], where: string): number {
  if (!Array.isArray(shape)) {
    throw new Error(`${where}: shape must be an array of dimensions, got ${typeof shape} ${String(shape)}`);
  }
  let numel = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      const shown = typeof d === 'string' ? JSON.stringify(d) : String(d);
      throw new Error(`${where}: shape[${i}]=${shown} must be a non-negative integer (shape [${shape.join(', ')}])`);
    }
    numel *= d;
  }
  if (numel > MEMORY_LIMITS.maxTensorElements) {
    throw new Error(
      `${where}: shape [${shape.join(', ')}] has ${numel} elements, too large to allocate ` +
        `(at most ${MEMORY_LIMITS.maxTensorElements} elements in one typed array)`,
    );
  }
  return numel;
}

/** Allocates the output, turning the engine's RangeError into a message with the size. */
export function allocate(numel: number, dtype: RandnDtype, shape: readonly number[], where: string): Float32Array | Float64Array {
  const bytesPerElement = dtype === 'float64' ? 8 : 4;
  try {
    return dtype === 'float64' ? new Float64Array(numel) : new Float32Array(numel);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${where}: shape [${shape.join(', ')}] has ${numel} elements (${numel * bytesPerElement} bytes as ${dtype}), ` +
        `too large to allocate (${reason})`,
      { cause: err },
    );
  }
}

/**
 * Checks the options shared by {@link randn} and `rand` (an object, a known dtype, a single Generator or none);
 * returns the dtype, `'float32'` by default. `where` names the caller in error messages.
 */
export function checkDtypeAndGenerator(
  options: { dtype?: RandnDtype; generator?: Generator },
  where: string,
): RandnDtype {
  if (typeof options !== 'object' || options === null) {
    throw new Error(`${where}: options must be an object, got ${String(options)}`);
  }
  const dtype = options.dtype ?? 'float32';
  if (!RANDN_DTYPES.includes(dtype)) {
    throw new Error(`${where}: dtype=${JSON.stringify(dtype)} is not one of ${RANDN_DTYPES.map((d) => `'${d}'`).join(', ')}`);
  }
  if (options.generator !== undefined && !(options.generator instanceof Generator)) {
    const g: unknown = options.generator;
    const shown = Array.isArray(g) ? `an array (${where} takes one Generator; randnTensor takes a list)` : `${typeof g} ${String(g)}`;
    throw new Error(`${where}: generator must be a Generator, got ${shown}`);
  }
  return dtype;
}

function checkOptions(options: RandnOptions, where: string): Required<Omit<RandnOptions, 'generator'>> {
  const dtype = checkDtypeAndGenerator(options, where);
  const variant = options.variant ?? 'avx2';
  if (!RANDN_VARIANTS.includes(variant)) {
    throw new Error(
      `${where}: variant=${JSON.stringify(variant)} is not one of ${RANDN_VARIANTS.map((d) => `'${d}'`).join(', ')}`,
    );
  }
  return { dtype, variant };
}

/**
 * Standard normal noise exactly as `torch.randn(shape, generator=g, dtype=...)` makes it on the CPU:
 * float32 bit for bit (torch's AVX2 kernel, or its scalar kernel with `variant: 'default'`), float64
 * within a few ULP (JavaScript's `Math.log/cos/sin` are not glibc's). Values are row-major in `shape`.
 *
 * ```ts
 * const g = new Generator().manualSeed(0);
 * const x = randn([1, 3, 32, 32], { generator: g }); // == torch.randn((1,3,32,32), generator=g)
 * const y = randn([5], { generator: g, dtype: 'float64' }); // continues the same stream
 * ```
 */
export function randn(shape: readonly number[], options?: RandnOptions & { dtype?: 'float32' }): Float32Array;
export function randn(shape: readonly number[], options: RandnOptions & { dtype: 'float64' }): Float64Array;
export function randn(shape: readonly number[], options?: RandnOptions): Float32Array | Float64Array;
export function randn(shape: readonly number[], options: RandnOptions = {}): Float32Array | Float64Array {
  const { dtype, variant } = checkOptions(options, 'randn');
  const numel = checkedNumel(shape, 'randn');
  const out = allocate(numel, dtype, shape, 'randn');
  const generator = options.generator ?? nonDeterministicGenerator();
  fillNormal(out, generator, variant);
  return out;
}

/** A fresh generator seeded from a non-deterministic source, for calls without a generator. */
export function nonDeterministicGenerator(): Generator {
  const g = new Generator();
  g.seed();
  return g;
}

/**
 * Fills `out` with torch's normals for a contiguous tensor of `out.length` elements, the dtype being
 * the array's type. Exported for {@link randnTensor}; most callers want {@link randn}.
 */
export function fillNormal(out: Float32Array | Float64Array, generator: Generator, variant: RandnVariant = 'avx2'): void {
  const numel = out.length;
  if (numel < BLOCK) {
    // Serial at::normal_distribution<double>, cached normal and all; cast to the dtype on store.
    for (let i = 0; i < numel; i++) out[i] = generator.nextNormalDouble() * 1 + 0; // torch's `v·std + mean`
    return;
  }
  const mt = generator.mt19937;
  if (out instanceof Float32Array) {
    fillNormalFloat32(out, mt, variant === 'avx2' ? boxMuller16Avx2 : boxMuller16ScalarFloat);
  } else {
    fillNormalFloat64(out, mt);
  }
}

type BoxMuller16Float32 = (d: Float32Array, start: number, scratch: BoxMullerScratch) => void;

interface BoxMullerScratch {
  bits: ReturnType<typeof createFloat32Scratch>;
  sincos: Float64Array;
}

/** torch's `normal_fill` shape: all uniforms first, then 16-blocks, then a freshly drawn last block for the tail. */
function fillNormalFloat32(d: Float32Array, mt: MT19937, block: BoxMuller16Float32): void {
  const numel = d.length;
  const scratch: BoxMullerScratch = { bits: createFloat32Scratch(), sincos: new Float64Array(2) };
  mt.fillUniformFloat(d, 0, numel);
  for (let i = 0; i <= numel - BLOCK; i += BLOCK) block(d, i, scratch);
  if (numel % BLOCK !== 0) {
    const start = numel - BLOCK;
    mt.fillUniformFloat(d, start, BLOCK);
    block(d, start, scratch);
  }
}

/** `normal_fill_16_AVX2` lane by lane (float32, Cephes log/sincos, std 1 and mean 0 fused as torch does). */
function boxMuller16Avx2(d: Float32Array, i: number, scratch: BoxMullerScratch): void {
  const sc = scratch.sincos;
  for (let j = 0; j < HALF; j++) {
    const u1 = Math.fround(1 - d[i + j]);
    const u2 = d[i + j + HALF];
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * log256Ps(u1, scratch.bits))));
    const theta = Math.fround(TWO_PI_F32 * u2);
    sincos256Ps(theta, sc);
    // fma(n, std=1, mean=0) == n + 0 (turns -0 into +0 like the FMA does).
    d[i + j] = Math.fround(radius * sc[1]) + 0;
    d[i + j + HALF] = Math.fround(radius * sc[0]) + 0;
  }
}

/**
 * torch's scalar `normal_fill_16<float>`: libm `logf/cosf/sinf`, emulated with the double functions
 * rounded to float32; `θ = (float)(2π · u2)` computed in double, as the C++ promotes it.
 */
function boxMuller16ScalarFloat(d: Float32Array, i: number): void {
  for (let j = 0; j < HALF; j++) {
    const u1 = Math.fround(1 - d[i + j]);
    const u2 = d[i + j + HALF];
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
    const theta = Math.fround(2 * Math.PI * u2);
    d[i + j] = Math.fround(radius * Math.fround(Math.cos(theta))) + 0;
    d[i + j + HALF] = Math.fround(radius * Math.fround(Math.sin(theta))) + 0;
  }
}

/** `normal_fill<double>`: double uniforms (two draws each), double Box–Muller with libm-like functions. */
function fillNormalFloat64(d: Float64Array, mt: MT19937): void {
  const numel = d.length;
  for (let i = 0; i < numel; i++) d[i] = mt.nextUniformDouble();
  for (let i = 0; i <= numel - BLOCK; i += BLOCK) boxMuller16Double(d, i);
  if (numel % BLOCK !== 0) {
    const start = numel - BLOCK;
    for (let i = start; i < numel; i++) d[i] = mt.nextUniformDouble();
    boxMuller16Double(d, start);
  }
}

function boxMuller16Double(d: Float64Array, i: number): void {
  for (let j = 0; j < HALF; j++) {
    const u1 = 1 - d[i + j];
    const u2 = d[i + j + HALF];
    const radius = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    d[i + j] = radius * Math.cos(theta) + 0;
    d[i + j + HALF] = radius * Math.sin(theta) + 0;
  }
}
