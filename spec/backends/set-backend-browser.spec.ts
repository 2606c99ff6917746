import * as tf from '@tensorflow/tfjs-core';
import {
  BROWSER_BACKEND_NAMES,
  WEBGL_PRECISION_FLAGS,
  defaultBackendName,
  isBackendAvailable,
  setBackend,
} from '../../lib/backends/set-backend-browser';
import type { BackendName } from '../../lib/node/backends/set-backend';

// The browser setBackend's error paths, checked in Node where WebGL and WebGPU are absent; the paths that start
// WebGL and WebGPU for real run in Chromium (spec/e2e/browser.spec.ts).
describe('browser setBackend, run in Node', () => {
  it('refuses webgl with the reason: no canvas outside a browser page', async () => {
    await expect(setBackend('webgl')).rejects.toThrow(
      "setBackend('webgl'): there is no canvas here (no document nor OffscreenCanvas: not a browser page); in Node, use 'cpu' or 'wasm'",
    );
  });

  it('refuses webgpu with the reason: navigator.gpu is undefined', async () => {
    await expect(setBackend('webgpu')).rejects.toThrow(/setBackend\('webgpu'\): this browser has no WebGPU: navigator\.gpu is undefined/);
  });

  it('refuses Node-only and unknown backends, naming the browser ones', async () => {
    await expect(setBackend('tfjs-node')).rejects.toThrow("unknown browser backend 'tfjs-node'; expected one of webgpu, webgl, wasm, cpu");
    await expect(setBackend('metal' as BackendName)).rejects.toThrow("unknown browser backend 'metal'");
  });

  it('starts cpu and wasm, and says so', async () => {
    await expect(setBackend('cpu')).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await expect(setBackend('wasm')).resolves.toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('lists only registered backends as available and picks the fastest of them', () => {
    expect(BROWSER_BACKEND_NAMES.filter(isBackendAvailable)).toEqual(['wasm', 'cpu']);
    expect(defaultBackendName()).toBe('wasm');
  });

  it('keeps WebGL on float32 textures and CPU forwarding explicit', () => {
    expect(WEBGL_PRECISION_FLAGS).toEqual({ WEBGL_FORCE_F16_TEXTURES: false, WEBGL_CPU_FORWARD: true });
  });
});
