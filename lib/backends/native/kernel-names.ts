// Kernel names of the native registration (lib/node/backends/native/) and of the ops that dispatch to them
// (lib/models/unet/ops/): plain strings, safe in any bundle.

/**
 * The custom kernel of the fused native GroupNorm(+SiLU), registered for the `wasm` backend by the Node-only native
 * addon (`enableNativeKernels()`); inputs `{x, gamma, beta}`, attrs `{groups, epsilon, silu}`.
 */
export const GROUP_NORM_KERNEL = 'TfjsDiffusersGroupNorm';

/** tfjs kernels the addon replaces on the wasm backend (the originals stay as the fallback). */
export const REPLACED_KERNELS = ['Conv2D', 'FusedConv2D', '_FusedMatMul', 'BatchMatMul'] as const;
export type ReplacedKernel = (typeof REPLACED_KERNELS)[number];
export type NativeKernelName = ReplacedKernel | typeof GROUP_NORM_KERNEL;
