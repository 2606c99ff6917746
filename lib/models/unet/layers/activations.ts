import * as tf from '@tensorflow/tfjs-core';

/**
 * SiLU (swish), `x * sigmoid(x)`: what diffusers' `nn.SiLU` computes. tfjs has no fused SiLU kernel, so this is
 * two element-wise ops.
 *
 * ```ts
 * silu(tf.tensor1d([-1, 0, 2])).print(); // [-0.2689, 0, 1.7616]
 * ```
 */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
