import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon, NativeAddonInfo } from './addon';
import { GROUP_NORM_KERNEL, groupNormKernelFunc, nativeKernelFunc, REPLACED_KERNELS } from './kernels';

/** Marks kernel functions registered here; holds the original kernel config they replaced. */
const ORIGINAL = Symbol.for('tfjs-diffusers.originalKernel');

type TaggedKernelFunc = tf.KernelFunc & { [ORIGINAL]?: tf.KernelConfig | null };

function registered(name: string): tf.KernelConfig | undefined {
  return tf.getKernel(name, 'wasm');
}

function isOurs(config: tf.KernelConfig | undefined): boolean {
  return config !== undefined && ORIGINAL in (config.kernelFunc as TaggedKernelFunc);
}

/**
 * Registers the native kernels (native/src, tfjsd-kernels) for the tfjs `wasm` backend: Conv2D, FusedConv2D, _FusedMatMul and
 * BatchMatMul run natively on the wasm heap (anything they do not handle goes to the original wasm kernel), and the
 * fused GroupNorm kernel used by `groupNormNative` appears. Works before or after the wasm backend starts.
 * Returns false, with the reason in {@link nativeKernelsStatus}, when the addon is not available.
 *
 * ```ts
 * await setBackend('wasm', { native: false });
 * if (enableNativeKernels()) console.log(nativeKernelsStatus().info);
 * ```
 */
export function enableNativeKernels(): boolean {
  const { addon } = loadNativeAddon();
  if (addon === null) return false;
  if (nativeKernelsEnabled()) return true;
  for (const name of REPLACED_KERNELS) {
    const original = registered(name);
    if (original === undefined) {
      throw new Error(`enableNativeKernels: the wasm backend has no ${name} kernel to replace (is @tensorflow/tfjs-backend-wasm loaded?)`);
    }
    const kernelFunc: TaggedKernelFunc = nativeKernelFunc(name, addon, original.kernelFunc);
    kernelFunc[ORIGINAL] = original;
    tf.unregisterKernel(name, 'wasm');
    // The original setup/dispose functions still bind the wasm functions the fallback calls.
    tf.registerKernel({ ...original, kernelFunc });
  }
  if (registered(GROUP_NORM_KERNEL) === undefined) {
    const kernelFunc: TaggedKernelFunc = groupNormKernelFunc(addon);
    kernelFunc[ORIGINAL] = null;
    tf.registerKernel({ kernelName: GROUP_NORM_KERNEL, backendName: 'wasm', kernelFunc });
  }
  return true;
}

/**
 * Puts the original wasm kernels back and removes the GroupNorm kernel.
 *
 * ```ts
 * disableNativeKernels(); // plain tfjs wasm from here on
 * ```
 */
export function disableNativeKernels(): void {
  for (const name of REPLACED_KERNELS) {
    const current = registered(name);
    if (current === undefined || !isOurs(current)) continue;
    const original = (current.kernelFunc as TaggedKernelFunc)[ORIGINAL] as tf.KernelConfig;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original);
  }
  if (isOurs(registered(GROUP_NORM_KERNEL))) tf.unregisterKernel(GROUP_NORM_KERNEL, 'wasm');
}

/** Whether the native kernels are registered for the wasm backend now. */
export function nativeKernelsEnabled(): boolean {
  return REPLACED_KERNELS.every((name) => isOurs(registered(name)));
}

export interface NativeKernelsStatus {
  /** The addon loaded. */
  available: boolean;
  /** The kernels are registered. */
  enabled: boolean;
  /** Where the addon was loaded from. */
  path?: string;
  /** Why it is not available. */
  reason?: string;
  /** Kernels name and version, ISA, threads and cache sizes. */
  info?: NativeAddonInfo;
}

/**
 * Whether the native kernels can run, are on, and what they run on.
 *
 * ```ts
 * nativeKernelsStatus(); // { available: true, enabled: true, path: '.../tfjs_diffusers_native.node', info: { kernels: 'tfjsd-kernels', kernelsVersion: 1, isa: 'avx2', ... } }
 * ```
 */
export function nativeKernelsStatus(): NativeKernelsStatus {
  const load = loadNativeAddon();
  if (load.addon === null) return { available: false, enabled: false, reason: load.error };
  return { available: true, enabled: nativeKernelsEnabled(), path: load.path, info: load.addon.info() };
}

/**
 * Sets the threads of the native kernels' pool (default: the logical cores). The values do not depend on it.
 *
 * ```ts
 * setNativeThreads(2);
 * ```
 * @throws when the addon is not available.
 */
export function setNativeThreads(threads: number): void {
  const load = loadNativeAddon();
  if (load.addon === null) throw new Error(`setNativeThreads: the native addon is not available: ${load.error}`);
  if (!Number.isSafeInteger(threads) || threads < 1) throw new Error(`setNativeThreads: threads=${threads} must be a positive integer`);
  load.addon.setNumThreads(threads);
}
