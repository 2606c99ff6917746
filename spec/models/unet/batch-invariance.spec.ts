// Batch invariance: a sample's UNet output has the same bits whatever batch it runs in (batch 1, 3, 4, 16), on every
// default path: cpu, wasm, and wasm + native kernels; on an AVX-512 CPU the native case runs again in a child
// process under TFJS_DIFFUSERS_NATIVE_ISA=avx2, the AVX2 kernels (read at load, hence the child). Bit for bit: no
// tolerance. (spec/backends/native-kernels.spec.ts shows every ISA gives the same bits.) The scale-out promise (an image depends only on its seed and
// settings, never on the batch or maxBatchPerForward) rests on this.
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { loadNativeAddon, nativeKernelsStatus } from '../../../lib/node/backends/native';
import { syntheticStateDict } from '../../../test-support/synthetic-checkpoint';
import { describeEachBackend, TEST_BACKENDS, useTestBackend } from '../../helpers/backends';

/** Set in the child process that repeats the native case under another ISA of the native kernels. */
const ISA_CHILD_ENV = 'TFJS_DIFFUSERS_BATCH_INVARIANCE_ISA_CHILD';

/**
 * The full model's channel widths (128/256, 32 groups, a 512-wide time embedding, a 256-channel attention) on a
 * 16×16 input with one resnet per level: the layer shapes whose oneDNN-based kernels (before issue 19) depended on
 * the batch.
 */
const FULL_WIDTH_CONFIG = {
  _class_name: 'UNet2DModel',
  block_out_channels: [128, 256],
  down_block_types: ['DownBlock2D', 'AttnDownBlock2D'],
  up_block_types: ['AttnUpBlock2D', 'UpBlock2D'],
  layers_per_block: 1,
  norm_num_groups: 32,
  norm_eps: 1e-6,
  in_channels: 3,
  out_channels: 3,
  sample_size: 16,
  attention_head_dim: null,
  freq_shift: 1,
  flip_sin_to_cos: false,
};

/**
 * The same graph at a quarter of the widths for the pure-JS cpu backend (16× fewer multiplies: the full widths take
 * minutes there). Its kernels (tfjs-backend-cpu) have no shape-dependent variants, so narrow channels lose nothing.
 */
const NARROW_CONFIG = { ...FULL_WIDTH_CONFIG, block_out_channels: [32, 64], norm_num_groups: 8 };

const BATCHES = [1, 3, 4, 16];
const LARGEST = Math.max(...BATCHES);

/** The UNet outputs' bits for the first `batch` samples of one fixed set of inputs, per batch size. */
async function outputsPerBatch(config: Record<string, unknown>): Promise<Map<number, Uint32Array>> {
  const unet = UNet2DModel.fromConfig({ ...config });
  try {
    unet.loadStateDict(syntheticStateDict({ ...config }), 'synthetic weights');
    const x = tf.randomNormal([LARGEST, 16, 16, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const out = new Map<number, Uint32Array>();
    for (const batch of BATCHES) {
      const xb = tf.slice(x, 0, batch) as tf.Tensor4D;
      const y = unet.predict(xb, 500);
      const data = (await y.data()) as Float32Array;
      out.set(batch, new Uint32Array(data.buffer, data.byteOffset, data.length));
      tf.dispose([xb, y]);
    }
    x.dispose();
    return out;
  } finally {
    unet.dispose();
  }
}

/** Per sample present in both: how many elements' bits differ between its outputs in two batch sizes. */
function differingPerSample(outputs: Map<number, Uint32Array>): Record<string, number> {
  const perSample = 16 * 16 * 3;
  const result: Record<string, number> = {};
  for (const small of BATCHES) {
    for (const large of BATCHES.filter((b) => b > small)) {
      for (let s = 0; s < small; s++) {
        const a = outputs.get(small)!.subarray(s * perSample, (s + 1) * perSample);
        const b = outputs.get(large)!.subarray(s * perSample, (s + 1) * perSample);
        let differing = 0;
        for (let i = 0; i < perSample; i++) if (a[i] !== b[i]) differing++;
        if (differing > 0) result[`sample ${s}: batch ${small} vs ${large}`] = differing;
      }
    }
  }
  return result;
}

/**
 * On the native path both convolution algorithms ran: Winograd F(4×4, 3×3) for the 16×16, 128-channel 3×3 layers and
 * the direct convolution for the 8×8 ones, the strided downsample and the 1×1 shortcuts (native/src/ops.cc).
 */
function expectBothConvolutionPaths(): void {
  const info = loadNativeAddon().addon!.info();
  expect({ winograd: info.winogradShapes > 0, direct: info.directShapes > 0 }).toEqual({ winograd: true, direct: true });
}

const inIsaChild = process.env[ISA_CHILD_ENV] === '1';

if (inIsaChild) {
  // Only the native case, under the ISA the parent chose.
  describe(`UNet batch invariance [wasm+native, TFJS_DIFFUSERS_NATIVE_ISA=${process.env.TFJS_DIFFUSERS_NATIVE_ISA}]`, () => {
    test('a sample has the same output bits at batch 1, 3, 4 and 16', async () => {
      await useTestBackend('wasm+native');
      expect(differingPerSample(await outputsPerBatch(FULL_WIDTH_CONFIG))).toEqual({});
      expectBothConvolutionPaths();
    });
  });
} else {
  describeEachBackend('UNet batch invariance', (backend, label) => {
    test('a sample has the same output bits at batch 1, 3, 4 and 16', async () => {
      expect(differingPerSample(await outputsPerBatch(backend === 'cpu' ? NARROW_CONFIG : FULL_WIDTH_CONFIG))).toEqual({});
      if (label === 'wasm+native') expectBothConvolutionPaths();
    });
  });

  const hasAvx512 = process.platform === 'linux' && /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const native = TEST_BACKENDS.includes('wasm+native') && nativeKernelsStatus().available;
  const why = !native ? 'the native addon is not built' : !hasAvx512 ? 'this CPU has no AVX-512, so its default run above is the AVX2 path' : '';
  (why === '' ? test : test.skip)(
    `UNet batch invariance [wasm+native] also holds on the AVX2 kernels (TFJS_DIFFUSERS_NATIVE_ISA=avx2, child process)${why ? `: not run, ${why}` : ''}`,
    () => {
      const jest = require.resolve('jest/bin/jest');
      const root = path.join(__dirname, '..', '..', '..');
      const run = spawnSync(process.execPath, [jest, '--runTestsByPath', __filename, '--ci'], {
        cwd: root,
        env: { ...process.env, TFJS_DIFFUSERS_NATIVE_ISA: 'avx2', [ISA_CHILD_ENV]: '1' },
        encoding: 'utf8',
        timeout: 300_000,
      });
      const report = `${run.stdout}\n${run.stderr}`;
      expect({ status: run.status, passed: /Tests:\s+1 passed, 1 total/.test(report) }).toEqual({ status: 0, passed: true });
    },
    330_000,
  );
}
