/**
 * The forward process shared by the DDIM and DDPM schedulers: diffusers' `add_noise` and `get_velocity`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32, sqrtF32 } from '../math/float32';
import { assertSameShape, assertTimestep } from './step-inputs';

/**
 * One timestep for the whole batch, or one per batch element: a number, a list, or (as diffusers users pass them)
 * a scalar or 1-D tfjs tensor such as `tf.tensor1d([10, 990], 'int32')`.
 */
export type Timesteps = number | ArrayLike<number> | tf.Scalar | tf.Tensor1D;

/** The timesteps as a list of numbers; a tensor is read synchronously (it holds one value per batch element). */
function timestepList(owner: string, timesteps: Timesteps): number[] {
  if (typeof timesteps === 'number') return [timesteps];
  if (timesteps instanceof tf.Tensor) {
    if (timesteps.rank > 1) {
      throw new Error(`${owner}: timesteps must be a number, a list or a Tensor1D; got a tensor of shape [${timesteps.shape.join(', ')}]`);
    }
    return Array.from(timesteps.dataSync());
  }
  return Array.from(timesteps);
}

/**
 * √ᾱ_t and √(1 − ᾱ_t) for each timestep, float32 as torch computes them, shaped [n, 1, …, 1] to broadcast over
 * the batch dimension of a tensor of rank `rank` (n = 1 or the batch size).
 */
function noisingCoefficients(
  owner: string,
  alphasCumprod: Float32Array,
  timesteps: Timesteps,
  like: tf.Tensor,
): { sqrtAlphaProd: tf.Tensor; sqrtOneMinusAlphaProd: tf.Tensor } {
  const list = timestepList(owner, timesteps);
  const batch = like.rank === 0 ? 1 : like.shape[0];
  if (list.length !== 1 && list.length !== batch) {
    throw new Error(`${owner}: got ${list.length} timesteps for a batch of ${batch}; give 1 or ${batch}`);
  }
  const sqrtAlpha = new Float32Array(list.length);
  const sqrtOneMinusAlpha = new Float32Array(list.length);
  list.forEach((t, i) => {
    const alphaProd = alphasCumprod[assertTimestep(owner, `timesteps[${i}]`, t, alphasCumprod.length)];
    sqrtAlpha[i] = sqrtF32(alphaProd);
    sqrtOneMinusAlpha[i] = sqrtF32(f32(1 - alphaProd));
  });
  const shape = [list.length, ...like.shape.slice(1).map(() => 1)];
  return {
    sqrtAlphaProd: tf.tensor(sqrtAlpha, shape, 'float32'),
    sqrtOneMinusAlphaProd: tf.tensor(sqrtOneMinusAlpha, shape, 'float32'),
  };
}

/**
 * diffusers' `add_noise`: √ᾱ_t · original + √(1 − ᾱ_t) · noise, the batch dimension first (any layout).
 */
export function addNoiseWith(
  owner: string,
  alphasCumprod: Float32Array,
  originalSamples: tf.Tensor,
  noise: tf.Tensor,
  timesteps: Timesteps,
): tf.Tensor {
  assertSameShape(owner, 'originalSamples', originalSamples, 'noise', noise);
  return tf.tidy(() => {
    const c = noisingCoefficients(owner, alphasCumprod, timesteps, originalSamples);
    return tf.add(tf.mul(c.sqrtAlphaProd, originalSamples), tf.mul(c.sqrtOneMinusAlphaProd, noise));
  });
}

/**
 * diffusers' `get_velocity`: √ᾱ_t · noise − √(1 − ᾱ_t) · sample, the v-prediction training target.
 */
export function velocityWith(
  owner: string,
  alphasCumprod: Float32Array,
  sample: tf.Tensor,
  noise: tf.Tensor,
  timesteps: Timesteps,
): tf.Tensor {
  assertSameShape(owner, 'sample', sample, 'noise', noise);
  return tf.tidy(() => {
    const c = noisingCoefficients(owner, alphasCumprod, timesteps, sample);
    return tf.sub(tf.mul(c.sqrtAlphaProd, noise), tf.mul(c.sqrtOneMinusAlphaProd, sample));
  });
}
