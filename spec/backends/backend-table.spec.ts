import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, BACKENDS, backendOfRegistryName, backendsByRank, BATCH_INVARIANT_BACKENDS, isBackendName, tableKernelPath } from '../../lib/backends/backend-table';
import { startRegisteredBackend } from '../../lib/backends/start-backend';
import { activeKernelPath } from '../../lib/models/unet/ops/kernel-path';
import { setBackend } from '../../lib/node/backends/set-backend';

// The one table of backends: what docs/backends.md promises is read from its rows.
describe('backend table', () => {
  test('the default orders docs/backends.md states come from the ranks: Node tfjs-node-gpu, tfjs-node, wasm, cpu; browsers webgpu, webgl, wasm, cpu', () => {
    expect(backendsByRank('node')).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
    expect(backendsByRank('browser')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  test('batch invariance is claimed for the measured backends only (cpu, wasm)', () => {
    expect(BATCH_INVARIANT_BACKENDS).toEqual(['cpu', 'wasm']);
  });

  test('every name has a row, registry names map back, and unknown names are refused', () => {
    expect(BACKEND_NAMES).toEqual(['cpu', 'wasm', 'webgl', 'webgpu', 'tfjs-node', 'tfjs-node-gpu']);
    for (const name of BACKEND_NAMES) expect(backendOfRegistryName(BACKENDS[name].registryName)?.registryName).toBe(BACKENDS[name].registryName);
    expect(backendOfRegistryName('tensorflow')?.kernelPath).toBe('other');
    expect(isBackendName('wasm')).toBe(true);
    expect(isBackendName('toString')).toBe(false);
    expect(backendOfRegistryName('nope')).toBeUndefined();
  });

  test("a page's kernel path in provenance records is the row's, the 'other' backends named by themselves", () => {
    expect(['cpu', 'wasm', 'webgl', 'webgpu', 'tfjs-node'].map(tableKernelPath)).toEqual(['cpu', 'wasm', 'webgl', 'webgpu', 'tfjs-node']);
    expect(tableKernelPath('some-backend')).toBe('some-backend');
  });

  test("the UNet's kernel path follows the active backend's row", async () => {
    await setBackend('cpu');
    expect(activeKernelPath()).toBe('cpu');
    await setBackend('wasm', { native: false, threads: 1 });
    expect(activeKernelPath()).toBe('wasm');
  });

  test('the shared start path names a backend whose package registered nothing', async () => {
    await expect(startRegisteredBackend('webgl')).rejects.toThrow(
      "setBackend('webgl'): @tensorflow/tfjs-backend-webgl loaded but registered no 'webgl' backend in this environment (WebGL needs a browser with a WebGL2 context).",
    );
    expect(tf.getBackend()).toBe('wasm');
  });
});
