/**
 * Checks shared by the schedulers' `step`, `addNoise` and `getVelocity`, and the draw of the variance noise.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Generator } from '../random/generator';
import { randnTensor } from '../random/randn-tensor';

/** The memory layout of image tensors: PyTorch's NCHW (the default) or tfjs' usual NHWC. */
export type SampleLayout = 'NCHW' | 'NHWC';

/** How a step gets its variance noise. */
export interface VarianceNoiseOptions {
  /** The generator(s) the noise is drawn from, as `randnTensor(shape, { generator })`. */
  generator?: Generator | Generator[];
  /** The noise itself, same shape and layout as `modelOutput`; then nothing is drawn. */
  varianceNoise?: tf.Tensor;
  /**
   * The layout of `modelOutput` and `sample` (default 'NCHW'). The step math is elementwise and the same for
   * both; the layout only tells how to draw the noise: for 'NHWC' tensors [B, H, W, C] the noise is drawn as
   * torch draws it for [B, C, H, W] (NCHW order) and returned as NHWC, so the same seed gives the same image.
   */
  layout?: SampleLayout;
}

function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** `value` is a float32 tf.Tensor. */
export function assertFloatTensor(owner: string, name: string, value: unknown): asserts value is tf.Tensor {
  if (!(value instanceof tf.Tensor)) {
    throw new Error(`${owner}: ${name} must be a tf.Tensor, got ${value === null ? 'null' : typeof value}`);
  }
  if (value.isDisposed) throw new Error(`${owner}: ${name} is disposed`);
  if (value.dtype !== 'float32') throw new Error(`${owner}: ${name} has dtype ${value.dtype}; expected float32`);
}

/** Both are float32 tensors of one shape. */
export function assertSameShape(
  owner: string,
  nameA: string,
  a: unknown,
  nameB: string,
  b: unknown,
): asserts a is tf.Tensor {
  assertFloatTensor(owner, nameA, a);
  assertFloatTensor(owner, nameB, b);
  const sa = (a as tf.Tensor).shape;
  const sb = (b as tf.Tensor).shape;
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw new Error(`${owner}: ${nameA} has shape ${shapeString(sa)} but ${nameB} has shape ${shapeString(sb)}`);
  }
}

/** An integer timestep that indexes a table of `numTrainTimesteps` values. */
export function assertTimestep(owner: string, name: string, timestep: unknown, numTrainTimesteps: number): number {
  if (typeof timestep !== 'number' || !Number.isInteger(timestep)) {
    throw new Error(`${owner}: ${name}=${String(timestep)} must be an integer timestep`);
  }
  if (timestep < 0 || timestep >= numTrainTimesteps) {
    throw new Error(
      `${owner}: ${name}=${timestep} is outside the trained timesteps [0, ${numTrainTimesteps - 1}]`,
    );
  }
  return timestep;
}

/** The `layout` option is valid for this tensor. */
export function assertLayout(owner: string, layout: unknown, sample: tf.Tensor): SampleLayout {
  if (layout !== 'NCHW' && layout !== 'NHWC') {
    throw new Error(`${owner}: layout=${String(layout)} is not one of 'NCHW', 'NHWC'`);
  }
  if (layout === 'NHWC' && sample.rank !== 4) {
    throw new Error(`${owner}: layout='NHWC' needs rank-4 tensors [B, H, W, C], got shape ${shapeString(sample.shape)}`);
  }
  return layout;
}

/**
 * The variance noise of a step: `varianceNoise` if given (checked against `modelOutput`'s shape), else
 * `randnTensor(modelOutput.shape, { generator })` as diffusers draws it, in NCHW order also for 'NHWC' tensors.
 */
export function varianceNoiseFor(owner: string, modelOutput: tf.Tensor, options: VarianceNoiseOptions): tf.Tensor {
  const { generator, varianceNoise, layout = 'NCHW' } = options;
  if (varianceNoise !== undefined) {
    assertSameShape(owner, 'varianceNoise', varianceNoise, 'modelOutput', modelOutput);
    return varianceNoise;
  }
  if (layout === 'NHWC') {
    const [b, h, w, c] = modelOutput.shape;
    // randnTensor draws the values of the NCHW shape in torch's order and hands them back as NHWC.
    return randnTensor([b, c, h, w], { generator, layout: 'NHWC' });
  }
  return randnTensor(modelOutput.shape, { generator });
}
