/**
 * Batch invariance per backend path: is a sample's UNet output the same bits when it is run alone and inside a
 * batch? (The DDIM step is element-wise and the noise is drawn per sample on the CPU, so an image is batch-invariant
 * exactly when the UNet output is.) Full-size google/ddpm-cifar10-32 network with synthetic weights.
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/batch-invariance.js [--batch 4] [--against 1]
 *       [--paths cpu,wasm,wasm-threads,wasm+native,webgpu]
 *
 * webgpu (npm `webgpu`, Dawn, on the adapter TFJS_DIFFUSERS_WEBGPU_ADAPTER names or Dawn's high-performance one) runs
 * only when named in --paths: on a machine without a GPU it is SwiftShader, minutes per full-size forward.
 *
 * --against K compares with the sample leading a batch of K (default 1: alone).
 *
 * Each path runs in its own process (thread counts and native kernels are per process).
 */
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../lib/node/backends/set-backend';
import { nativeKernelsStatus } from '../lib/node/backends/native';
import { autoWasmThreads } from '../lib/node/backends/wasm-threads';
import { webGpuKernelPath } from '../lib/node/backends/dawn-webgpu';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { syntheticStateDict } from '../test-support/synthetic-checkpoint';
import { listOf, parseBenchArgs, positiveInt } from './args';

const PREFIX = 'BATCH_INVARIANCE_RESULT ';

interface PathResult {
  path: string;
  batch: number;
  /** Per sample: elements whose bits differ between alone and in the batch, and the largest difference. */
  samples: Array<{ differing: number; maxAbsDiff: number }>;
}

const PATHS: Record<string, { label: string; setup: () => Promise<unknown> }> = {
  cpu: { label: 'cpu', setup: () => setBackend('cpu') },
  wasm: { label: 'wasm, 1 thread', setup: () => setBackend('wasm', { threads: 1, native: false }) },
  'wasm-threads': { label: `wasm, ${autoWasmThreads()} threads`, setup: () => setBackend('wasm', { threads: autoWasmThreads(), native: false }) },
  'wasm+native': { label: 'wasm + native (oneDNN)', setup: () => setBackend('wasm', { threads: 1, native: true }) },
  webgpu: { label: 'webgpu (Dawn)', setup: () => setBackend('webgpu') },
};
/** The paths run when --paths is not given. */
const DEFAULT_PATHS = ['cpu', 'wasm', 'wasm-threads', 'wasm+native'];

/** Each sample of a batch of `batch` against the same sample leading a batch of `small` (1: alone). */
async function measure(pathName: string, batch: number, small: number): Promise<PathResult> {
  await PATHS[pathName].setup();
  const unet = UNet2DModel.fromConfig({ ...DDPM_CIFAR10_32_UNET_CONFIG });
  unet.loadStateDict(syntheticStateDict({ ...DDPM_CIFAR10_32_UNET_CONFIG }), 'synthetic weights');
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const together = (await unet.predict(x, 500).data()) as Float32Array;
  const per = together.length / batch;
  const samples: PathResult['samples'] = [];
  for (let b = 0; b < batch; b++) {
    const indices = Array.from({ length: small }, (_, i) => (b + i) % batch);
    const xb = tf.gather(x, indices) as tf.Tensor4D;
    const alone = ((await unet.predict(xb, 500).data()) as Float32Array).slice(0, per);
    xb.dispose();
    const inBatch = together.subarray(b * per, (b + 1) * per);
    const aBits = new Uint32Array(alone.buffer, alone.byteOffset, per);
    const bBits = new Uint32Array(inBatch.buffer, inBatch.byteOffset, per);
    let differing = 0;
    let maxAbsDiff = 0;
    for (let i = 0; i < per; i++) {
      if (aBits[i] !== bBits[i]) differing++;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(alone[i] - inBatch[i]));
    }
    samples.push({ differing, maxAbsDiff });
  }
  unet.dispose();
  return { path: pathName === 'webgpu' ? webGpuKernelPath() : PATHS[pathName].label, batch, samples };
}

async function main(): Promise<void> {
  const script = 'bench/batch-invariance';
  const { values } = parseBenchArgs(script, {
    batch: { type: 'string', default: '4' },
    against: { type: 'string', default: '1' },
    paths: { type: 'string', default: DEFAULT_PATHS.join(',') },
    child: { type: 'string' },
  });
  const batch = positiveInt(script, 'batch', values.batch);
  const small = positiveInt(script, 'against', values.against);
  if (small >= batch) throw new Error(`${script}: --against ${small} must be below --batch ${batch}`);
  const child = values.child;
  if (child !== undefined) {
    console.log(PREFIX + JSON.stringify(await measure(child, batch, small)));
    return;
  }
  const wanted = listOf(script, 'paths', values.paths, Object.keys(PATHS));
  const rows: string[] = [];
  for (const name of wanted) {
    if (name === 'wasm+native' && !nativeKernelsStatus().available) {
      rows.push(`| ${PATHS[name].label} | - | native addon not built |`);
      continue;
    }
    if (name === 'wasm-threads' && autoWasmThreads() === 1) continue;
    const out = spawnSync(process.execPath, [__filename, '--child', name, '--batch', String(batch), '--against', String(small)], { encoding: 'utf8' });
    const line = out.stdout.split('\n').find((l) => l.startsWith(PREFIX));
    if (line === undefined) throw new Error(`batch-invariance: ${name} failed: ${out.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    const r = JSON.parse(line.slice(PREFIX.length)) as PathResult;
    const identical = r.samples.every((s) => s.differing === 0);
    const worst = Math.max(...r.samples.map((s) => s.maxAbsDiff));
    const differing = r.samples.map((s) => s.differing).join(', ');
    rows.push(`| ${r.path} | ${identical ? 'yes' : 'no'} | ${identical ? '-' : `${differing} of ${32 * 32 * 3} elements differ per sample; max abs diff ${worst.toExponential(2)}`} |`);
  }
  const against = small === 1 ? 'alone' : `leading a batch of ${small}`;
  console.log(`Sample b of a batch of ${batch} against the same sample ${against} (UNet output, t = 500):\n`);
  console.log('| path | same bits | difference |');
  console.log('| --- | --- | --- |');
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
