/**
 * Dynamic thresholding of the predicted x₀ (Imagen, Saharia et al. 2022), as diffusers' `_threshold_sample`:
 * per sample, s = the `ratio` quantile of |x₀| over all its other elements, clamped to [1, sampleMaxValue];
 * x₀ ← clamp(x₀, −s, s) / s. It reduces over every non-batch element, so it is the same for NCHW and NHWC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32 } from '../math/float32';

/** Where `torch.quantile(x, q)` (linear interpolation) reads a sorted row of `n` values. */
export interface QuantilePosition {
  /** Index of the lower neighbour in the ascending row. */
  below: number;
  /** Index of the upper neighbour. */
  above: number;
  /** float32 interpolation weight of the upper neighbour. */
  weight: number;
}

/**
 * torch.quantile's position of `q` in a sorted row of `n` values: `rank = q * (n − 1)` in float32 (q is made a
 * float32 tensor), `below = ⌊rank⌋`, `above = ⌈rank⌉`, `weight = rank − below` in float32.
 *
 * ```ts
 * quantilePosition(192, 0.995);  // { below: 190, above: 191, weight: 0.0449… }
 * ```
 */
export function quantilePosition(n: number, q: number): QuantilePosition {
  if (!Number.isInteger(n) || n < 1) throw new Error(`quantilePosition: n=${n} must be a positive integer`);
  if (!(q >= 0 && q <= 1)) throw new Error(`quantilePosition: q=${q} must be in [0, 1]`);
  const rank = f32(f32(q) * (n - 1));
  const below = Math.trunc(rank);
  return { below, above: Math.ceil(rank), weight: f32(rank - below) };
}

/**
 * The per-sample threshold s of dynamic thresholding, shape [batch]: torch.quantile(|x|, ratio, dim=1) of each
 * sample's flattened values, clamped to [1, sampleMaxValue]. `sample`'s first dimension is the batch.
 *
 * ```ts
 * const s = dynamicThresholds(predOriginalSample, 0.995, 2);  // tf.Tensor1D, one value per sample
 * ```
 */
export function dynamicThresholds(sample: tf.Tensor, ratio: number, sampleMaxValue: number): tf.Tensor1D {
  const [batch] = sample.shape;
  if (sample.rank < 2) throw new Error(`dynamicThresholds: sample must have a batch dimension, got shape [${sample.shape}]`);
  const perSample = sample.size / batch;
  const { below, above, weight } = quantilePosition(perSample, ratio);
  return tf.tidy(() => {
    const absFlat = tf.abs(tf.reshape(sample, [batch, perSample]));
    // The top (n − below) values, descending: column k holds the ascending element n − 1 − k.
    const top = tf.topk(absFlat, perSample - below, true).values;
    const column = (ascendingIndex: number) => tf.reshape(tf.slice(top, [0, perSample - 1 - ascendingIndex], [batch, 1]), [batch]);
    const low = column(below);
    const high = above === below ? low : column(above);
    // torch's lerp: weight < 0.5 ? low + weight·(high − low) : high − (high − low)·(1 − weight).
    const span = tf.sub(high, low);
    const s =
      Math.abs(weight) < 0.5 ? tf.add(low, tf.mul(span, weight)) : tf.sub(high, tf.mul(span, f32(1 - weight)));
    // torch.clamp(s, min=1, max=sampleMaxValue) is min(max(s, 1), sampleMaxValue), also when sampleMaxValue < 1.
    return tf.minimum(tf.maximum(s, 1), sampleMaxValue) as tf.Tensor1D;
  });
}

/**
 * diffusers' `_threshold_sample`: x ← clamp(x, −s, s) / s per sample, s from {@link dynamicThresholds}.
 * Works on any layout whose first dimension is the batch.
 *
 * ```ts
 * const x0 = thresholdSample(predOriginalSample, 0.995, 1);  // == clamp to [-1, 1] when s clamps to 1
 * ```
 */
export function thresholdSample(sample: tf.Tensor, ratio: number, sampleMaxValue: number): tf.Tensor {
  return tf.tidy(() => {
    const [batch] = sample.shape;
    const ones = sample.shape.slice(1).map(() => 1);
    const s = tf.reshape(dynamicThresholds(sample, ratio, sampleMaxValue), [batch, ...ones]);
    return tf.div(tf.minimum(tf.maximum(sample, tf.neg(s)), s), s);
  });
}
