import * as tf from '@tensorflow/tfjs-core';
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { WasmBackendInternals, wasmBackendInternals, wasmHeapBytes, wasmTensorData } from '../../../backends/wasm-internals';
import type { NativeAddon } from './addon';
import { GROUP_NORM_KERNEL, NativeKernelName, ReplacedKernel } from '../../../backends/native/kernel-names';

export { GROUP_NORM_KERNEL, REPLACED_KERNELS } from '../../../backends/native/kernel-names';

/** Fused activations the addon applies (native/src/kernel_table.h `Activation`); 'prelu' falls back. */
const ACTIVATION_CODES: Readonly<Record<string, number>> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, elu: 4, leakyrelu: 5 };

/** Calls of each kernel: run natively, and handed to the original wasm kernel. */
export interface NativeKernelUsage {
  native: Record<NativeKernelName, number>;
  fallback: Record<ReplacedKernel, number>;
}

function zeroUsage(): NativeKernelUsage {
  return {
    native: { Conv2D: 0, FusedConv2D: 0, _FusedMatMul: 0, BatchMatMul: 0, [GROUP_NORM_KERNEL]: 0 },
    fallback: { Conv2D: 0, FusedConv2D: 0, _FusedMatMul: 0, BatchMatMul: 0 },
  };
}

const usage: NativeKernelUsage = zeroUsage();

/** A copy of the usage counters since the process started or {@link resetNativeKernelUsage}. */
export function nativeKernelUsage(): NativeKernelUsage {
  return { native: { ...usage.native }, fallback: { ...usage.fallback } };
}

/** Sets every usage counter back to 0. */
export function resetNativeKernelUsage(): void {
  const zero = zeroUsage();
  Object.assign(usage.native, zero.native);
  Object.assign(usage.fallback, zero.fallback);
}

export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: NamedAttrMap;
}

/** A kernel that returns null when it does not handle its arguments (the caller then runs the fallback). */
type NativeKernelImpl = (addon: NativeAddon, backend: WasmBackendInternals, args: KernelArgs) => TensorInfo | null;

const EVICTION_HOOK = Symbol.for('tfjs-diffusers.nativeEvictionHook');

interface EvictionHook {
  /** Backend data ids whose reordered weights the addon caches. */
  cachedIds: Set<number>;
}

/**
 * The addon caches reordered filters under the backend's data id of the filter. Wrapping the module's
 * `disposeData(id)` (called exactly when a tensor's memory is freed) evicts them, and wrapping its `dispose()`
 * (the backend going away) empties the caches. A backend seen for the first time (a new wasm backend reuses ids
 * from 1) starts with empty caches.
 */
function evictionHook(addon: NativeAddon, backend: WasmBackendInternals): EvictionHook {
  const tfjs = backend.wasm.tfjs as WasmBackendInternals['wasm']['tfjs'] & { [EVICTION_HOOK]?: EvictionHook };
  const existing = tfjs[EVICTION_HOOK];
  if (existing) return existing;
  addon.clearCaches();
  const hook: EvictionHook = { cachedIds: new Set() };
  const disposeData = tfjs.disposeData;
  tfjs.disposeData = (id: number) => {
    disposeData(id);
    if (hook.cachedIds.delete(id)) addon.evictWeights(id);
  };
  const dispose = tfjs.dispose as (() => void) | undefined;
  if (typeof dispose === 'function') {
    tfjs.dispose = () => {
      dispose();
      hook.cachedIds.clear();
      addon.clearCaches();
    };
  }
  tfjs[EVICTION_HOOK] = hook;
  return hook;
}

function isFloat32(...infos: Array<TensorInfo | undefined>): boolean {
  return infos.every((t) => t === undefined || t.dtype === 'float32');
}

/** Byte offset of a tensor's data in the wasm heap. */
function offsetOf(backend: WasmBackendInternals, info: TensorInfo): number {
  return wasmTensorData(backend, info).memoryOffset;
}

/** Runs `fill` to write `out`; frees `out` again if it throws. */
function filledOrDisposed(backend: WasmBackendInternals, out: TensorInfo, fill: () => void): TensorInfo {
  try {
    fill();
  } catch (err) {
    backend.disposeData(out.dataId, true);
    throw err;
  }
  return out;
}

/** A rank-1 bias of `n` values, the only bias tfjs' wasm kernels accept (they throw on others; so does the fallback). */
function isChannelBias(bias: TensorInfo, n: number): boolean {
  return bias.shape.length === 1 && bias.shape[0] === n;
}

function conv2dImpl(
  addon: NativeAddon,
  backend: WasmBackendInternals,
  inputs: { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
  attrs: NamedAttrMap,
): TensorInfo | null {
  const { x, filter, bias, preluActivationWeights } = inputs;
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const code = ACTIVATION_CODES[activation];
  if (code === undefined || preluActivationWeights !== undefined) return null;
  if (!isFloat32(x, filter, bias) || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (((attrs.dataFormat as string | undefined) ?? 'NHWC') !== 'NHWC') return null;
  const dilations = (attrs.dilations as number | [number, number] | undefined) ?? 1;
  const [dh, dw] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (dh !== 1 || dw !== 1) return null;
  if (filter.shape[2] !== x.shape[3]) return null; // the original kernel reports the mismatch
  const outChannels = filter.shape[3];
  if (bias !== undefined && !isChannelBias(bias, outChannels)) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number | backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  if (util.sizeFromShape(info.inShape) === 0 || util.sizeFromShape(info.outShape) === 0) return null;
  const hook = evictionHook(addon, backend);
  const filterId = wasmTensorData(backend, filter).id;
  const out = backend.makeOutput(info.outShape, 'float32');
  const p = info.padInfo;
  const dims = [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels,
    info.strideHeight, info.strideWidth, 1, 1,
    p.top, p.bottom, p.left, p.right,
    info.outHeight, info.outWidth,
  ]; // prettier-ignore
  hook.cachedIds.add(filterId);
  return filledOrDisposed(backend, out, () =>
    addon.conv2d(
      wasmHeapBytes(backend), // after makeOutput: the allocation may have grown the heap
      offsetOf(backend, x),
      offsetOf(backend, filter),
      bias === undefined ? -1 : offsetOf(backend, bias),
      offsetOf(backend, out),
      filterId,
      dims,
      code,
      (attrs.leakyreluAlpha as number | undefined) ?? 0,
    ),
  );
}

function matMulImpl(
  addon: NativeAddon,
  backend: WasmBackendInternals,
  inputs: { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
  attrs: NamedAttrMap,
  cacheB: boolean,
): TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs;
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const code = ACTIVATION_CODES[activation];
  if (code === undefined || preluActivationWeights !== undefined) return null;
  if (!isFloat32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb || m === 0 || n === 0 || k === 0) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(outerA);
  const batchB = util.sizeFromShape(outerB);
  let outer: number[];
  try {
    outer = backend_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null; // the original kernel reports the mismatch
  }
  // One operand broadcast whole, or both with the same batch layout; anything else goes to the original kernel.
  const sameLayout = batchA === batchB && util.sizeFromShape(outer) === batchA;
  if (!sameLayout && batchA !== 1 && batchB !== 1) return null;
  if (bias !== undefined && !isChannelBias(bias, n)) return null;
  // _FusedMatMul's B is a linear layer's weight in the UNet: its packed copy is cached under its id (evicted with it).
  let bKey = -1;
  if (cacheB && batchB === 1) {
    bKey = wasmTensorData(backend, b).id;
    evictionHook(addon, backend).cachedIds.add(bKey);
  }
  const out = backend.makeOutput([...outer, m, n], 'float32');
  return filledOrDisposed(backend, out, () =>
    addon.matmul(
      wasmHeapBytes(backend),
      offsetOf(backend, a),
      offsetOf(backend, b),
      bias === undefined ? -1 : offsetOf(backend, bias),
      offsetOf(backend, out),
      batchA,
      batchB,
      m,
      k,
      n,
      transposeA,
      transposeB,
      code,
      (attrs.leakyreluAlpha as number | undefined) ?? 0,
      bKey,
    ),
  );
}

/** A kernel input the op always passes. */
function input(inputs: NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}

const IMPLS: Record<ReplacedKernel, NativeKernelImpl> = {
  Conv2D: (addon, backend, { inputs, attrs }) =>
    conv2dImpl(
      addon,
      backend,
      { x: input(inputs, 'x', 'Conv2D'), filter: input(inputs, 'filter', 'Conv2D') },
      { ...attrs, activation: 'linear' },
    ),
  FusedConv2D: (addon, backend, { inputs, attrs }) =>
    conv2dImpl(
      addon,
      backend,
      {
        x: input(inputs, 'x', 'FusedConv2D'),
        filter: input(inputs, 'filter', 'FusedConv2D'),
        bias: inputs.bias,
        preluActivationWeights: inputs.preluActivationWeights,
      },
      attrs ?? {},
    ),
  BatchMatMul: (addon, backend, { inputs, attrs }) =>
    matMulImpl(
      addon,
      backend,
      { a: input(inputs, 'a', 'BatchMatMul'), b: input(inputs, 'b', 'BatchMatMul') },
      { ...attrs, activation: 'linear' },
      false,
    ),
  _FusedMatMul: (addon, backend, { inputs, attrs }) =>
    matMulImpl(
      addon,
      backend,
      {
        a: input(inputs, 'a', '_FusedMatMul'),
        b: input(inputs, 'b', '_FusedMatMul'),
        bias: inputs.bias,
        preluActivationWeights: inputs.preluActivationWeights,
      },
      attrs ?? {},
      true,
    ),
};

const warned = new Set<string>();

/**
 * The kernel function registered for `name`: the native implementation when it handles the arguments, else the
 * original wasm kernel. A native error (e.g. an argument the addon rejects) is reported once per
 * kernel and the call falls back too.
 */
export function nativeKernelFunc(name: ReplacedKernel, addon: NativeAddon, original: tf.KernelFunc): tf.KernelFunc {
  const impl = IMPLS[name];
  return (args) => {
    const backend = wasmBackendInternals(args.backend as tf.KernelBackend);
    let out: TensorInfo | null = null;
    try {
      out = impl(addon, backend, args as KernelArgs);
    } catch (err) {
      if (!warned.has(name)) {
        warned.add(name);
        console.warn(`tfjs-diffusers: native ${name} failed (${err instanceof Error ? err.message : String(err)}); using the wasm kernel.`);
      }
      out = null;
    }
    if (out === null) {
      usage.fallback[name]++;
      return original(args);
    }
    usage.native[name]++;
    return out;
  };
}

/** The fused GroupNorm(+SiLU) kernel (see {@link GROUP_NORM_KERNEL}); inputs are checked by `groupNormNative`. */
export function groupNormKernelFunc(addon: NativeAddon): tf.KernelFunc {
  return ({ inputs, backend: kernelBackend, attrs }) => {
    const backend = wasmBackendInternals(kernelBackend as tf.KernelBackend);
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const { groups, epsilon, silu } = attrs as { groups: number; epsilon: number; silu: boolean };
    const [n, h, w, c] = x.shape;
    const out = backend.makeOutput(x.shape, 'float32');
    filledOrDisposed(backend, out, () =>
      addon.groupNorm(
        wasmHeapBytes(backend),
        offsetOf(backend, x),
        offsetOf(backend, gamma),
        offsetOf(backend, beta),
        offsetOf(backend, out),
        n,
        h * w,
        c,
        groups,
        epsilon,
        silu,
      ),
    );
    usage.native[GROUP_NORM_KERNEL]++;
    return out;
  };
}
