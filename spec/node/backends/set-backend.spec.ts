import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { isBackendAvailable, setBackend, WasmThreadsChangeError } from '../../../lib/node/backends/set-backend';
import { wasmBackendInfo } from '../../../lib/node/backends/wasm-threads';
import { nativeBuildCommand, reportNativeUnavailableOnce } from '../../../lib/node/backends/native-unavailable-notice';

afterAll(() => {
  tf.removeBackend('wasm');
});

describe('setBackend in Node', () => {
  test('isBackendAvailable is false for webgl and webgpu (their packages load in Node but register nothing)', () => {
    expect(isBackendAvailable('webgl')).toBe(false);
    expect(isBackendAvailable('webgpu')).toBe(false);
    expect(isBackendAvailable('cpu')).toBe(true);
    expect(isBackendAvailable('wasm')).toBe(true);
  });

  test("setBackend('webgl') and ('webgpu') say why, in one sentence", async () => {
    await expect(setBackend('webgl')).rejects.toThrow(
      /^setBackend\('webgl'\): @tensorflow\/tfjs-backend-webgl loaded but registered no 'webgl' backend in this environment \(WebGL needs a browser with a WebGL2 context\)\.$/,
    );
    await expect(setBackend('webgpu')).rejects.toThrow(/\(WebGPU needs navigator\.gpu: .*\)\.$/);
  });

  test('refuses another wasm thread count while the wasm backend holds tensors, and says what to do', async () => {
    await setBackend('wasm', { threads: 1, native: false });
    const held = tf.tensor([1, 2, 3]);
    const other = tf.tensor([4]);
    expect(tf.engine().registry['wasm'].numDataIds()).toBe(2);
    const attempt = setBackend('wasm', { threads: 2, native: false });
    await expect(attempt).rejects.toBeInstanceOf(WasmThreadsChangeError);
    await expect(attempt).rejects.toThrow(
      "setBackend('wasm', { threads: 2 }): the wasm backend runs 1 thread and holds 2 tensors (a loaded model's " +
        'weights, for example); a new thread count re-creates the backend and would invalidate them. Choose the ' +
        'threads before loading (call setBackend first), or dispose what you loaded (pipeline.dispose()) and then change them.',
    );
    // 'auto' keeps the running backend instead of re-creating it; the tensor is intact.
    await setBackend('wasm', { native: false });
    expect(wasmBackendInfo()?.threads).toBe(1);
    expect(Array.from(await held.data())).toEqual([1, 2, 3]);
    // Once what it held is gone, the change goes through.
    tf.dispose([held, other]);
    expect(tf.engine().registry['wasm'].numDataIds()).toBe(0);
    await setBackend('wasm', { threads: 2, native: false });
    expect(wasmBackendInfo()?.threads).toBe(2);
    await setBackend('wasm', { threads: 1, native: false });
  });
});

describe('the native-kernels-absent notice', () => {
  test('names the command that fits: npm rebuild in a consumer, npm run build:native in this repository', () => {
    expect(nativeBuildCommand(path.join('/app', 'node_modules', 'tfjs-diffusers', 'dist', 'node', 'backends'))).toBe('npm rebuild tfjs-diffusers');
    expect(nativeBuildCommand(path.join('/src', 'tfjs-diffusers', 'lib', 'node', 'backends'))).toBe('npm run build:native');
    expect(nativeBuildCommand()).toBe('npm run build:native');
  });

  test('is one line, printed once per reason on a given stream', () => {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    expect(reportNativeUnavailableOnce('not built (x)', stream)).toBe(true);
    expect(reportNativeUnavailableOnce('not built (x)', stream)).toBe(false);
    expect(lines).toEqual(['tfjs-diffusers: native kernels not built (x); running plain wasm.\n']);
  });
});
