import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { loadNativeAddon } from '../../lib/node/backends/native';
import { REPLACED_KERNELS } from '../../lib/node/backends/native/kernels';
import {
  installedWasmBackendVersion,
  PINNED_TFJS_VERSION,
  wasmBackendInternals,
  wasmHeapBytes,
  wasmTensorData,
} from '../../lib/backends/wasm-internals';

// The threaded loader and the native kernels use tfjs-backend-wasm internals that are not public API. These tests
// fail loudly when a tfjs upgrade changes them: re-check lib/node/backends/wasm-threads.ts and lib/backends/native/
// against the new version before changing PINNED_TFJS_VERSION.

afterAll(() => {
  tf.removeBackend('wasm');
});

describe(`tfjs internals used by the wasm threads and native kernels (pinned ${PINNED_TFJS_VERSION})`, () => {
  test('the installed tfjs packages are the pinned version', () => {
    expect(tf.version_core).toBe(PINNED_TFJS_VERSION);
    expect(installedWasmBackendVersion()).toBe(PINNED_TFJS_VERSION);
  });

  for (const threads of [1, 2]) {
    describe(`on the ${threads === 1 ? 'single-threaded' : 'threaded'} binary`, () => {
      beforeAll(async () => {
        await setBackend('wasm', { threads, native: false });
      });

      test('BackendWasm has makeOutput, typedArrayFromHeap, dataIdMap and the wasm module bridge', () => {
        expect(() => wasmBackendInternals(tf.backend())).not.toThrow();
      });

      test('dataIdMap gives the heap offset and id of a tensor; typedArrayFromHeap and the heap agree on its bytes', () => {
        const backend = wasmBackendInternals(tf.backend());
        const t = tf.tensor1d([1.5, -2.25, 3]);
        const data = wasmTensorData(backend, t);
        expect(Number.isSafeInteger(data.id) && data.id > 0).toBe(true);
        expect(data.memoryOffset % 4).toBe(0);
        expect(Array.from(backend.typedArrayFromHeap(t))).toEqual([1.5, -2.25, 3]);
        const heap = wasmHeapBytes(backend);
        expect(Array.from(new Float32Array(heap.buffer, data.memoryOffset, 3))).toEqual([1.5, -2.25, 3]);
        const { addon } = loadNativeAddon();
        if (addon !== null) expect(addon.readFloat(heap, data.memoryOffset + 4)).toBe(-2.25); // the addon sees the same bytes
        t.dispose();
      });

      test('makeOutput allocates on the heap; writing there is what reading the tensor returns', async () => {
        const backend = wasmBackendInternals(tf.backend());
        const info = backend.makeOutput([2, 2], 'float32');
        const out = tf.engine().makeTensorFromTensorInfo(info);
        new Float32Array(wasmHeapBytes(backend).buffer, wasmTensorData(backend, info).memoryOffset, 4).set([1, 2, 3, 4]);
        expect(Array.from(await out.data())).toEqual([1, 2, 3, 4]);
        out.dispose();
      });

      test('freeing a tensor calls wasm.tfjs.disposeData with its dataIdMap id (the native weight cache evicts there)', () => {
        const backend = wasmBackendInternals(tf.backend());
        const t = tf.tensor1d([1, 2, 3]);
        const { id } = wasmTensorData(backend, t);
        const spy = jest.spyOn(backend.wasm.tfjs, 'disposeData');
        try {
          t.dispose();
          expect(spy).toHaveBeenCalledWith(id);
        } finally {
          spy.mockRestore();
        }
      });

      test('the kernels the native addon replaces are registered for wasm', () => {
        for (const name of REPLACED_KERNELS) expect(tf.getKernel(name, 'wasm')).toBeDefined();
      });
    });
  }
});
