// GroupNorm formulations on the cpu and wasm backends (why groupNormNHWC picks one per backend):
//
//   npx tsc -p bench/tsconfig.json && node build/bench/group-norm.js
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../lib/node/backends/set-backend';
import { groupNormBroadcast, groupNormPerChannel } from '../lib/models/unet/ops/group-norm-op';

type GroupNormFn = (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps: number) => tf.Tensor4D;

/** The textbook formulation with tf.moments (reductions over inner axes: a full transpose each), for comparison. */
const groupNormMoments: GroupNormFn = (x, gamma, beta, groups, eps) =>
  tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const perGroup = c / groups;
    const grouped = tf.reshape(x, [n, h * w, groups, perGroup]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const scale = tf.mul(tf.reshape(gamma, [1, 1, groups, perGroup]), tf.rsqrt(tf.add(variance, eps)));
    const shift = tf.sub(tf.reshape(beta, [1, 1, groups, perGroup]), tf.mul(mean, scale));
    return tf.reshape(tf.add(tf.mul(grouped, scale), shift), [n, h, w, c]);
  });

const VARIANTS: [string, GroupNormFn][] = [
  ['tf.moments', groupNormMoments],
  ['broadcast', groupNormBroadcast],
  ['per-channel batchNorm', groupNormPerChannel],
];

async function main(): Promise<void> {
  console.log('GroupNorm(32 groups) milliseconds per call, median of runs; the UNet calls it ~51 times per forward');
  console.log('backend  shape'.padEnd(30) + VARIANTS.map(([name]) => name.padStart(24)).join(''));
  for (const backend of ['wasm', 'cpu'] as const) {
    await setBackend(backend);
    for (const shape of [[1, 32, 32, 128], [1, 16, 16, 256], [1, 32, 32, 384], [8, 32, 32, 128]] as [number, number, number, number][]) {
      const c = shape[3];
      const x = tf.randomNormal(shape, 0.5, 2, 'float32', 1) as tf.Tensor4D;
      const gamma = tf.randomUniform([c], 0.9, 1.1, 'float32', 2) as tf.Tensor1D;
      const beta = tf.randomUniform([c], -0.1, 0.1, 'float32', 3) as tf.Tensor1D;
      const cells: string[] = [];
      for (const [, fn] of VARIANTS) {
        tf.dispose(fn(x, gamma, beta, 32, 1e-6)); // warm-up
        const runs = backend === 'cpu' ? 3 : 15;
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          const y = fn(x, gamma, beta, 32, 1e-6);
          y.dataSync();
          times.push(performance.now() - t0);
          y.dispose();
        }
        times.sort((a, b) => a - b);
        cells.push(times[runs >> 1].toFixed(2).padStart(24));
      }
      console.log(`${backend.padEnd(8)} ${shape.join('x')}`.padEnd(30) + cells.join(''));
      tf.dispose([x, gamma, beta]);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
