// The native kernels for the tfjs wasm backend (native/: our own deterministic convolutions, matrix products and GroupNorm).
export { loadNativeAddon } from './addon';
export type { NativeAddonInfo } from './addon';
export { enableNativeKernels, disableNativeKernels, nativeKernelsEnabled, nativeKernelsStatus, setNativeThreads } from './register';
export type { NativeKernelsStatus } from './register';
export { nativeKernelUsage, resetNativeKernelUsage } from './kernels';
export type { NativeKernelUsage } from './kernels';
export { groupNormNative } from '../../../models/unet/ops/group-norm-op';
