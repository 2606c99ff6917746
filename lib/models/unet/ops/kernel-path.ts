import * as tf from '@tensorflow/tfjs-core';

/**
 * The custom kernel of the fused native GroupNorm(+SiLU), registered for the `wasm` backend by the Node-only native
 * addon (`enableNativeKernels()`); inputs `{x, gamma, beta}`, attrs `{groups, epsilon, silu}`.
 */
export const GROUP_NORM_KERNEL = 'TfjsDiffusersGroupNorm';

/**
 * Which set of kernels runs the UNet's ops: tfjs' pure-JS `cpu` backend, `wasm` (XNNPACK), `wasm+native` (wasm with
 * the native kernels registered), or any `other` backend (webgl, webgpu, tensorflow).
 */
export type KernelPath = 'cpu' | 'wasm' | 'wasm+native' | 'other';

/**
 * The kernel path of the active backend. This is the ONE place the UNet asks which backend runs: each op in this
 * folder picks its formulation from a table keyed by the path, and layers only call the ops. Safe in browser
 * bundles (tfjs-core only: the native kernels announce themselves through the kernel registry).
 *
 * ```ts
 * const impl = GROUP_NORM_BY_PATH[activeKernelPath()];
 * ```
 */
export function activeKernelPath(): KernelPath {
  const backend = tf.getBackend();
  if (backend === 'cpu') return 'cpu';
  if (backend === 'wasm') return tf.getKernel(GROUP_NORM_KERNEL, 'wasm') !== undefined ? 'wasm+native' : 'wasm';
  return 'other';
}
