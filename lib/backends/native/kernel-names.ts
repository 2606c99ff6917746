// Kernel names shared by the registration (Node only) and groupNormNative (safe in any bundle: tfjs-core only).

/** The custom kernel of the fused GroupNorm(+SiLU); inputs `{x, gamma, beta}`, attrs `{groups, epsilon, silu}`. */
export const GROUP_NORM_KERNEL = 'TfjsDiffusersGroupNorm';

/** tfjs kernels the addon replaces on the wasm backend (the originals stay as the fallback). */
export const REPLACED_KERNELS = ['Conv2D', 'FusedConv2D', '_FusedMatMul', 'BatchMatMul'] as const;
export type ReplacedKernel = (typeof REPLACED_KERNELS)[number];
export type NativeKernelName = ReplacedKernel | typeof GROUP_NORM_KERNEL;
