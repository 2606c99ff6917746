import * as tf from '@tensorflow/tfjs-core';
import { activeKernelPath, KernelPath } from './kernel-path';

/**
 * `x · weight + bias` of a `[N*rows, K]` matrix whose rows are `samples` consecutive blocks of `rows = N*rows / N`
 * rows each (one sample's pixels, or one row per sample), `weight` `[K, M]`, `bias` `[M]`: `[N*rows, M]`.
 *
 * One formulation per kernel path, each giving a sample's rows the same bits whatever the batch:
 * - `wasm+native`: a batched product `[N, rows, K] × [K, M]` (the native kernels' row results depend on neither
 *   the row count nor the batch either: one fixed fused-multiply-add sequence per output, native/src/kernel_table.h;
 *   the batched form is kept from the oneDNN-based kernels before issue 19, whose bits depended on the row count).
 * - otherwise: one 2-D product (XNNPACK's and tfjs cpu's row results do not depend on the row count).
 *
 * ```ts
 * const t = linear(temb, w, b, 4); // temb: [4, 512], w: [512, 256] -> [4, 256]
 * ```
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, samples: number): tf.Tensor2D {
  if (x.rank !== 2 || weight.rank !== 2 || x.shape[1] !== weight.shape[0]) {
    throw new Error(`linear: x [${x.shape.join(', ')}] and weight [${weight.shape.join(', ')}] do not multiply`);
  }
  if (bias.rank !== 1 || bias.shape[0] !== weight.shape[1]) throw new Error(`linear: bias has shape [${bias.shape.join(', ')}], expected [${weight.shape[1]}]`);
  if (!Number.isSafeInteger(samples) || samples < 1 || x.shape[0] % samples !== 0) {
    throw new Error(`linear: samples=${samples} does not divide the ${x.shape[0]} rows of x`);
  }
  return LINEAR_BY_PATH[activeKernelPath()](x, weight, bias, samples);
}

type LinearImpl = (x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, samples: number) => tf.Tensor2D;

const linear2D: LinearImpl = (x, weight, bias) => tf.fused.matMul({ a: x, b: weight, bias }) as tf.Tensor2D;

const linearPerSample: LinearImpl = (x, weight, bias, samples) =>
  tf.tidy(() => {
    const rows = x.shape[0] / samples;
    const y = tf.fused.matMul({ a: tf.reshape(x, [samples, rows, x.shape[1]]) as tf.Tensor3D, b: weight as unknown as tf.Tensor3D, bias });
    return tf.reshape(y, [x.shape[0], weight.shape[1]]) as tf.Tensor2D;
  });

const LINEAR_BY_PATH: Readonly<Record<KernelPath, LinearImpl>> = {
  'wasm+native': linearPerSample,
  cpu: linear2D,
  wasm: linear2D,
  other: linear2D,
};
