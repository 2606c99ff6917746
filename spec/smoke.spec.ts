import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../lib/node/backends/set-backend';
test('setBackend loads cpu and wasm', async () => {
  for (const name of ['cpu', 'wasm'] as const) {
    expect(await setBackend(name)).toBe(name);
    expect(tf.getBackend()).toBe(name);
    expect(Array.from(await tf.add(tf.tensor([1, 2]), 1).data())).toEqual([2, 3]);
  }
});
