import * as tf from '@tensorflow/tfjs-core';

/**
 * The parts of @tensorflow/tfjs-backend-wasm 4.22.0 that are not public API but that the threaded loader
 * (wasm-threads.ts) and the native kernels (native/) rely on. {@link wasmBackendInternals} checks them at run time
 * and spec/backends/wasm-internals.spec.ts fails loudly when a tfjs upgrade changes them.
 */
export const PINNED_TFJS_VERSION = '4.22.0';

/** What the backend keeps per tensor (`BackendWasm.dataIdMap` values). */
export interface WasmTensorData {
  /** The backend's own id of this allocation, never reused; what `wasm.tfjs.disposeData` receives. */
  id: number;
  /** Byte offset of the data in the wasm heap. */
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

/** The emscripten module of the wasm backend (`BackendWasm.wasm`). */
export interface WasmModuleInternals {
  /** The heap as bytes; replaced when the memory grows (single-threaded binary). */
  HEAPU8: Uint8Array;
  /** The WebAssembly.Memory; exported by the threaded binary only. */
  wasmMemory?: WebAssembly.Memory;
  /** emscripten's pthread bookkeeping; present in the threaded binary only. */
  PThread?: {
    runningWorkers: Array<{ unref?: () => void }>;
    unusedWorkers: unknown[];
    terminateAllThreads(): void;
  };
  tfjs: {
    getThreadsCount(): number;
    disposeData(id: number): void;
    [name: string]: unknown;
  };
  /** Set by wasm-threads.ts on the modules it creates. */
  tfjsDiffusersBinary?: WasmBinaryKind;
}

/** Which of the three wasm binaries a backend runs. */
type WasmBinaryKind = 'threaded-simd' | 'simd' | 'plain';

/** The `BackendWasm` members used here. */
export interface WasmBackendInternals {
  wasm: WasmModuleInternals;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined; has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * The backend as {@link WasmBackendInternals}, after checking that every member used here exists.
 *
 * ```ts
 * const internals = wasmBackendInternals(tf.findBackend('wasm')!);
 * ```
 * @throws naming the missing members (a tfjs version other than {@link PINNED_TFJS_VERSION}).
 */
export function wasmBackendInternals(backend: tf.KernelBackend): WasmBackendInternals {
  const b = backend as unknown as Partial<WasmBackendInternals>;
  const missing: string[] = [];
  if (typeof b.makeOutput !== 'function') missing.push('makeOutput()');
  if (typeof b.typedArrayFromHeap !== 'function') missing.push('typedArrayFromHeap()');
  if (typeof b.disposeData !== 'function') missing.push('disposeData()');
  if (b.dataIdMap == null || typeof b.dataIdMap.get !== 'function') missing.push('dataIdMap.get()');
  const wasm = b.wasm as Partial<WasmModuleInternals> | undefined;
  if (wasm == null) missing.push('wasm');
  else {
    if (!(wasm.HEAPU8 instanceof Uint8Array)) missing.push('wasm.HEAPU8');
    if (wasm.tfjs == null || typeof wasm.tfjs.disposeData !== 'function') missing.push('wasm.tfjs.disposeData()');
    if (wasm.tfjs == null || typeof wasm.tfjs.getThreadsCount !== 'function') missing.push('wasm.tfjs.getThreadsCount()');
  }
  if (missing.length > 0) {
    throw new Error(
      `tfjs-diffusers: the wasm backend lacks ${missing.join(', ')}: these tfjs internals are used as in ` +
        `@tensorflow/tfjs-backend-wasm ${PINNED_TFJS_VERSION} (installed: ${installedWasmBackendVersion()})`,
    );
  }
  return b as WasmBackendInternals;
}

/** The installed @tensorflow/tfjs-backend-wasm version, or 'unknown'. */
export function installedWasmBackendVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional and synchronous: the version only if the package is already installed, without importing it eagerly
    return (require('@tensorflow/tfjs-backend-wasm') as { version_wasm?: string }).version_wasm ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * A byte view of the whole wasm heap as it is now. Take it after every allocation (`makeOutput`): growing the
 * memory detaches (single-threaded) or outgrows (threaded, SharedArrayBuffer) earlier views. The threaded binary's
 * `HEAPU8` is refreshed lazily, so its memory's current buffer is used instead.
 */
export function wasmHeapBytes(backend: WasmBackendInternals): Uint8Array {
  const memory = backend.wasm.wasmMemory;
  return memory ? new Uint8Array(memory.buffer) : backend.wasm.HEAPU8;
}

/** The data record of a tensor on the wasm backend. @throws when the tensor is not on it. */
export function wasmTensorData(backend: WasmBackendInternals, info: tf.TensorInfo): WasmTensorData {
  const data = backend.dataIdMap.get(info.dataId);
  if (data == null) throw new Error('tfjs-diffusers: a tensor passed to a wasm kernel is not on the wasm backend');
  return data;
}
