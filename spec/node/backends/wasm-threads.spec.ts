import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { autoWasmThreads, configuredWasmThreads, MAX_WASM_THREADS, resolveWasmThreads, wasmBackendInfo } from '../../../lib/node/backends/wasm-threads';
import { maxAbsDiff } from '../../helpers/fixtures';

/** A conv + matmul chain on shapes of the cifar10 UNet, computed on the active backend. */
async function convAndMatMul(): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const x = tf.randomNormal([2, 16, 16, 64], 0, 1, 'float32', 1);
    const filter = tf.randomNormal([3, 3, 64, 96], 0, 0.05, 'float32', 2);
    const bias = tf.randomNormal([96], 0, 0.1, 'float32', 3);
    const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, bias, pad: 'same', strides: 1 });
    const w = tf.randomNormal([96, 80], 0, 0.1, 'float32', 4);
    return tf.matMul(tf.reshape(y, [2 * 16 * 16, 96]), w);
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

afterAll(() => {
  tf.removeBackend('wasm'); // terminates the pthread workers
});

describe('multi-threaded wasm in Node', () => {
  test('resolveWasmThreads checks its argument', () => {
    expect(resolveWasmThreads(3)).toBe(3);
    expect(resolveWasmThreads('auto')).toBe(autoWasmThreads());
    expect(() => resolveWasmThreads(0)).toThrow(/threads=0 must be 'auto' or an integer in \[1, 8\]/);
    expect(() => resolveWasmThreads(MAX_WASM_THREADS + 1)).toThrow(/threads=9/);
    expect(() => resolveWasmThreads(1.5)).toThrow(/threads=1.5/);
  });

  let threaded: Float32Array;

  test('threads: 2 starts the threaded-SIMD binary with 2 threads in the pool (1 worker + the JS thread)', async () => {
    await setBackend('wasm', { threads: 2, native: false });
    expect(configuredWasmThreads()).toBe(2);
    expect(wasmBackendInfo()).toEqual({ binary: 'threaded-simd', threads: 2, workers: 1 });
    expect(getThreadsCount()).toBe(2); // tfjs' own count, past its cap of half the logical cores
    const heap = (tf.backend() as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory.buffer;
    expect(heap).toBeInstanceOf(SharedArrayBuffer);
    threaded = await convAndMatMul();
  });

  test('results equal the single-threaded backend', async () => {
    await setBackend('wasm', { threads: 1, native: false }); // re-creates the backend
    expect(wasmBackendInfo()).toEqual({ binary: 'simd-or-plain', threads: 1, workers: 0 });
    const single = await convAndMatMul();
    // XNNPACK splits the work by output tiles, and every output element is summed by the same micro-kernel in the
    // same order whatever thread runs it: the results are identical, not merely close.
    expect(maxAbsDiff(threaded, single)).toBe(0);
  });

  test('a threads setting the backend already has does not re-create it', async () => {
    await setBackend('wasm', { threads: 2, native: false });
    const backend = tf.backend();
    await setBackend('wasm', { threads: 2, native: false });
    expect(tf.backend()).toBe(backend);
  });

  test('falls back to single-threaded wasm with one line when the threaded binary cannot start', async () => {
    // The module object itself (lib/ sees it through its `import * as fs` namespace, which forwards to it).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS module object itself, which lib/ sees through its namespace import (patching the namespace would not reach it)
    const nodeFs = require('fs') as typeof fs;
    const realRead = nodeFs.readFileSync;
    const read = jest.spyOn(nodeFs, 'readFileSync').mockImplementation(((file: fs.PathOrFileDescriptor, options?: unknown) => {
      if (String(file).endsWith('tfjs-backend-wasm-threaded-simd.wasm')) throw new Error('simulated: cannot read the binary');
      return (realRead as (f: fs.PathOrFileDescriptor, o?: unknown) => unknown)(file, options);
    }) as typeof fs.readFileSync);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await setBackend('wasm', { threads: 1, native: false });
      await setBackend('wasm', { threads: 2, native: false });
      expect(wasmBackendInfo()).toEqual({ binary: 'simd-or-plain', threads: 1, workers: 0 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(
        /^tfjs-diffusers: multi-threaded wasm did not start \(simulated: cannot read the binary\); using single-threaded wasm\.$/,
      );
      expect(Array.from(await tf.add(tf.tensor([1, 2]), 1).data())).toEqual([2, 3]);
    } finally {
      read.mockRestore();
      warn.mockRestore();
    }
  });
});
