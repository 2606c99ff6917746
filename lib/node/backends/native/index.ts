// The optional native kernels for the tfjs wasm backend (native/: oneDNN + a fused GroupNorm).
export { loadNativeAddon, ADDON_ENV } from './addon';
export type { NativeAddonInfo } from './addon';
export { enableNativeKernels, disableNativeKernels, nativeKernelsEnabled, nativeKernelsStatus, setNativeThreads } from './register';
export type { NativeKernelsStatus } from './register';
export { nativeKernelUsage, resetNativeKernelUsage, GROUP_NORM_KERNEL } from './kernels';
export type { NativeKernelUsage } from './kernels';
export { groupNormNative } from '../../../models/unet/ops/group-norm-op';
