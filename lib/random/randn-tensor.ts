import * as tf from '@tensorflow/tfjs-core';
import { Generator } from './generator';
import { checkedNumel, fillNormal, RandnDtype, RandnVariant, RANDN_DTYPES, RANDN_VARIANTS } from './randn';

/** Memory layout of the returned tensor; `shape` is always given in torch's NCHW order. */
export type RandnTensorLayout = 'NCHW' | 'NHWC';

const RANDN_TENSOR_LAYOUTS: readonly RandnTensorLayout[] = ['NCHW', 'NHWC'];

export interface RandnTensorOptions {
  /**
   * One generator for the whole tensor (one stream), or one per batch element (`shape[0]` of them):
   * element b is then `randn([1, ...shape.slice(1)])` from `generator[b]`, as diffusers' `randn_tensor`
   * does. Without one, a fresh non-deterministically seeded generator is used for this call.
   */
  generator?: Generator | Generator[];
  /**
   * Which torch dtype to draw: `'float32'` (default) or `'float64'`. tfjs has no float64 tensors, so
   * float64 draws are rounded to float32 on upload (as `torch.randn(..., dtype=float64).float()`).
   */
  dtype?: RandnDtype;
  /**
   * `'NCHW'` (default): the tensor has `shape`. `'NHWC'` (rank 4 only): values are drawn for torch's NCHW
   * `shape` in torch's order, then transposed on the CPU to `[N, H, W, C]`, so that an NHWC pipeline gets
   * torch's noise bit for bit on every backend.
   */
  layout?: RandnTensorLayout;
  /** torch CPU kernel to reproduce for float32 (see {@link RandnVariant}); default `'avx2'`. */
  variant?: RandnVariant;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Generator) return 'a Generator';
  if (typeof value === 'object' && value !== null) return `an object (${value.constructor?.name ?? 'Object'})`;
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}

/** The generator(s) as a list of one per batch element, or a single generator for the whole tensor. */
function resolveGenerators(generator: unknown, shape: readonly number[]): Generator | Generator[] {
  if (generator === undefined) {
    const g = new Generator();
    g.seed();
    return g;
  }
  if (generator instanceof Generator) return generator;
  if (Array.isArray(generator)) {
    generator.forEach((g, i) => {
      if (!(g instanceof Generator)) {
        throw new Error(`randnTensor: generator[${i}] must be a Generator, got ${describe(g)}`);
      }
    });
    if (shape.length === 0) {
      throw new Error('randnTensor: a list of generators needs a batch dimension, but shape is [] (a scalar)');
    }
    if (generator.length !== shape[0]) {
      throw new Error(
        `randnTensor: got a list of ${generator.length} generators for a batch of shape[0]=${shape[0]} ` +
          `(shape [${shape.join(', ')}]); pass one generator per batch element, or a single Generator ` +
          'to draw the whole batch from one stream',
      );
    }
    return generator as Generator[];
  }
  throw new Error(`randnTensor: generator must be a Generator or an array of Generators, got ${describe(generator)}`);
}

/** `[N, C, H, W]` row-major values to `[N, H, W, C]`. */
export function nchwToNhwc(src: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c, h, w] = shape;
  const dst = new Float32Array(src.length);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * c * hw;
    for (let ch = 0; ch < c; ch++) {
      const srcPlane = base + ch * hw;
      for (let p = 0; p < hw; p++) dst[base + p * c + ch] = src[srcPlane + p];
    }
  }
  return dst;
}

/**
 * Draws torch's noise for `shape` (row-major, NCHW order) into a float32 array, with one stream or
 * one generator per batch element. The CPU half of {@link randnTensor}.
 */
export function randnTensorValues(shape: readonly number[], options: RandnTensorOptions = {}): Float32Array {
  if (typeof options !== 'object' || options === null) {
    throw new Error(`randnTensor: options must be an object, got ${String(options)}`);
  }
  const dtype = options.dtype ?? 'float32';
  if (!RANDN_DTYPES.includes(dtype)) {
    throw new Error(
      `randnTensor: dtype=${JSON.stringify(dtype)} is not one of ${RANDN_DTYPES.map((d) => `'${d}'`).join(', ')}`,
    );
  }
  const variant = options.variant ?? 'avx2';
  if (!RANDN_VARIANTS.includes(variant)) {
    throw new Error(
      `randnTensor: variant=${JSON.stringify(variant)} is not one of ${RANDN_VARIANTS.map((d) => `'${d}'`).join(', ')}`,
    );
  }
  const numel = checkedNumel(shape, 'randnTensor');
  const generators = resolveGenerators(options.generator, shape);
  let out: Float32Array;
  let drawn: Float64Array | undefined;
  try {
    out = new Float32Array(numel);
    if (dtype === 'float64') drawn = new Float64Array(numel);
  } catch (err) {
    throw new Error(
      `randnTensor: shape [${shape.join(', ')}] has ${numel} elements ` +
        `(${numel * (dtype === 'float64' ? 12 : 4)} bytes while drawing ${dtype}), too large to allocate ` +
        `(${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
  const target = drawn ?? out;
  if (Array.isArray(generators)) {
    const per = shape[0] === 0 ? 0 : numel / shape[0];
    generators.forEach((g, b) => fillNormal(target.subarray(b * per, (b + 1) * per), g, variant));
  } else {
    fillNormal(target, generators, variant);
  }
  if (drawn) out.set(drawn); // float64 -> float32, round to nearest
  return out;
}

/**
 * diffusers' `randn_tensor`: torch's CPU noise (bit for bit, see {@link randn}), drawn on the CPU with
 * the generator(s) and then placed on the active tfjs backend, so every backend gets the same values.
 * Returns a float32 tensor (tfjs has no float64: `dtype: 'float64'` draws are rounded to float32).
 *
 * ```ts
 * const g = new Generator().manualSeed(0);
 * const latents = randnTensor([1, 3, 32, 32], { generator: g });
 * const perSample = randnTensor([2, 3, 32, 32], { generator: [new Generator().manualSeed(0), new Generator().manualSeed(1)] });
 * const nhwc = randnTensor([1, 3, 32, 32], { generator: new Generator().manualSeed(0), layout: 'NHWC' }); // shape [1, 32, 32, 3]
 * ```
 */
export function randnTensor(shape: readonly number[], options: RandnTensorOptions = {}): tf.Tensor {
  const layout = options?.layout ?? 'NCHW';
  if (!RANDN_TENSOR_LAYOUTS.includes(layout)) {
    throw new Error(
      `randnTensor: layout=${JSON.stringify(layout)} is not one of ${RANDN_TENSOR_LAYOUTS.map((d) => `'${d}'`).join(', ')}`,
    );
  }
  if (layout === 'NHWC' && (!Array.isArray(shape) || shape.length !== 4)) {
    throw new Error(
      `randnTensor: layout 'NHWC' needs a rank-4 NCHW shape [N, C, H, W], got [${Array.isArray(shape) ? shape.join(', ') : String(shape)}]`,
    );
  }
  const values = randnTensorValues(shape, options);
  if (layout === 'NHWC') {
    const [n, c, h, w] = shape;
    return tf.tensor(nchwToNhwc(values, shape), [n, h, w, c], 'float32');
  }
  return tf.tensor(values, [...shape], 'float32');
}
