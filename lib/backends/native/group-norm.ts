import * as tf from '@tensorflow/tfjs-core';
import { GROUP_NORM_KERNEL } from './kernel-names';

/**
 * Whether the active backend runs the native kernels (wasm with `enableNativeKernels()` in effect). Layers may pick
 * another formulation when it is faster there (e.g. batched, transposed matmuls). Safe in browser bundles.
 *
 * ```ts
 * if (nativeKernelsActive()) scores = tf.matMul(q, k, false, true);
 * ```
 */
export function nativeKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(GROUP_NORM_KERNEL, 'wasm') !== undefined;
}

/**
 * GroupNorm (+ SiLU) of an NHWC tensor in one native kernel, when the active backend is wasm with the native
 * kernels enabled; otherwise null, and the caller runs its tfjs ops. Same math as `torch.nn.GroupNorm(groups, C,
 * eps)` (biased variance, per-channel affine), then `y * sigmoid(y)` when `silu`. Statistics are accumulated in
 * double, so results differ from the float32 tfjs ops by float rounding only (~1e-6 relative).
 *
 * ```ts
 * const y = groupNormNative(x, gamma, beta, 32, 1e-6, true) ?? silu(groupNormNHWC(x, gamma, beta, 32, 1e-6));
 * ```
 * @throws when `groups` does not divide the channels or gamma / beta are not `[C]`.
 */
export function groupNormNative(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  epsilon: number,
  silu: boolean,
): tf.Tensor | null {
  if (!nativeKernelsActive()) return null;
  if (x.dtype !== 'float32' || gamma.dtype !== 'float32' || beta.dtype !== 'float32' || x.rank !== 4) return null;
  const c = x.shape[3] as number;
  if (!Number.isSafeInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new Error(`groupNormNative: groups=${groups} does not divide the ${c} channels of x [${x.shape.join(', ')}]`);
  }
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.size !== c) throw new Error(`groupNormNative: ${name} has shape [${t.shape.join(', ')}], expected [${c}]`);
  }
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new Error(`groupNormNative: epsilon=${epsilon} must be a finite number >= 0`);
  if (x.size === 0) return null;
  return tf.engine().runKernel(GROUP_NORM_KERNEL, { x, gamma, beta }, { groups, epsilon, silu }) as tf.Tensor;
}
