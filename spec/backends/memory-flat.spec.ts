import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon, nativeKernelUsage, resetNativeKernelUsage } from '../../lib/node/backends/native';
import { wasmBackendInternals, wasmHeapBytes } from '../../lib/backends/wasm-internals';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { fixturePath } from '../helpers/fixtures';
import { testEachBackend, useTestBackend } from '../helpers/backends';

// Many denoising steps must not grow anything: tfjs tensors, wasm allocations, the wasm heap, or the native
// caches (primitives per shape, reordered filters per weight tensor). On wasm+native the UNet must actually run
// natively (usage counters).
const STEPS = 300;
const WARM_UP = 5;

afterAll(() => {
  tf.removeBackend('wasm');
});

testEachBackend(
  (backend) => `[${backend}] ${STEPS} UNet steps leave memory and caches flat`,
  async (backend) => {
    await useTestBackend(backend);
    const unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    let x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const step = (i: number): void => {
      const eps = unet.predict(x, 999 - (i % 1000));
      const next = tf.tidy(() => tf.sub(x, tf.mul(eps, 0.001))) as tf.Tensor4D;
      tf.dispose([x, eps]);
      x = next;
    };
    const snapshot = () => {
      const internals = wasmBackendInternals(tf.backend());
      const info = backend === 'wasm+native' ? loadNativeAddon().addon!.info() : undefined;
      return {
        tensors: tf.memory().numTensors,
        bytes: tf.memory().numBytes,
        dataIds: (tf.backend() as unknown as { numDataIds(): number }).numDataIds(),
        heapBytes: wasmHeapBytes(internals).length,
        winogradShapes: info?.winogradShapes,
        cachedWeights: info?.cachedWeights,
      };
    };
    resetNativeKernelUsage();
    for (let i = 0; i < WARM_UP; i++) step(i);
    await x.data();
    const usage = nativeKernelUsage();
    if (backend === 'wasm+native') {
      // The UNet's convolutions and matmuls ran natively, none handed back.
      expect(usage.native.FusedConv2D).toBeGreaterThan(0);
      expect(usage.native._FusedMatMul).toBeGreaterThan(0);
      expect(Object.values(usage.fallback).every((n) => n === 0)).toBe(true);
    } else {
      expect(Object.values(usage.native).every((n) => n === 0)).toBe(true);
    }
    const before = snapshot();
    for (let i = WARM_UP; i < STEPS; i++) step(i);
    await x.data();
    expect(snapshot()).toEqual(before);
    x.dispose();
    unet.dispose();
  },
  ['wasm', 'wasm+native'],
);
