// Without the addon (here: switched off by its environment variable, read when the addon is first looked for),
// the library runs plain wasm and says so in one line.
process.env.TFJS_DIFFUSERS_NATIVE = 'off';

import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { enableNativeKernels, groupNormNative, nativeKernelsEnabled, nativeKernelsStatus } from '../../lib/node/backends/native';
import { autoWasmThreads, wasmBackendInfo } from '../../lib/node/backends/wasm-threads';

afterAll(() => {
  tf.removeBackend('wasm');
});

describe('wasm without the native addon', () => {
  test("setBackend('wasm') runs plain wasm and prints one line on stderr saying why, once", async () => {
    // On stderr directly (console.warn would add a stack trace under jest).
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await setBackend('wasm')).toBe('wasm');
      await setBackend('wasm'); // a second call says nothing more
      expect(write.mock.calls.map((c) => String(c[0]))).toEqual([
        'tfjs-diffusers: native kernels disabled by TFJS_DIFFUSERS_NATIVE=off; running plain wasm.\n',
      ]);
    } finally {
      write.mockRestore();
    }
    expect(nativeKernelsEnabled()).toBe(false);
    expect(nativeKernelsStatus()).toEqual({ available: false, enabled: false, reason: 'disabled by TFJS_DIFFUSERS_NATIVE=off' });
    const y = tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid');
    expect(Array.from(await y.data())).toEqual([4, 4, 4, 4]);
  });

  test("threads 'auto' is every logical core without the native kernels", async () => {
    await setBackend('wasm');
    expect(wasmBackendInfo()?.threads).toBe(autoWasmThreads());
  });

  test('enableNativeKernels() is false and groupNormNative is null', () => {
    expect(enableNativeKernels()).toBe(false);
    expect(groupNormNative(tf.ones([1, 2, 2, 4]), tf.ones([4]), tf.zeros([4]), 2, 1e-6, true)).toBeNull();
  });

  test('native: true throws with the reason; native: true on another backend throws', async () => {
    await expect(setBackend('wasm', { native: true })).rejects.toThrow(
      "setBackend('wasm', { native: true }): the native kernels are not available: disabled by TFJS_DIFFUSERS_NATIVE=off",
    );
    await expect(setBackend('cpu', { native: true })).rejects.toThrow(
      "setBackend('cpu', { native: true }): the native kernels exist for the wasm backend only",
    );
  });
});
