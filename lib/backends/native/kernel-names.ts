// Kernel names of the registration. The GroupNorm kernel's name is defined beside the op that runs it (safe in
// any bundle), and the registration imports it from there.
import { GROUP_NORM_KERNEL } from '../../models/unet/ops/kernel-path';

export { GROUP_NORM_KERNEL };

/** tfjs kernels the addon replaces on the wasm backend (the originals stay as the fallback). */
export const REPLACED_KERNELS = ['Conv2D', 'FusedConv2D', '_FusedMatMul', 'BatchMatMul'] as const;
export type ReplacedKernel = (typeof REPLACED_KERNELS)[number];
export type NativeKernelName = ReplacedKernel | typeof GROUP_NORM_KERNEL;
