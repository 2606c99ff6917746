/**
 * Hashes that show a refactor changed no behaviour: sha256 of the float32 outputs of a fixed set of runs, on one
 * backend configuration per process. Run before and after a change and compare the lines (they must be identical).
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/behaviour-hashes.js --backend wasm --native off
 *
 * Lines: `image seed=S` (the embedded model models/tiny-random, DDIM 2 steps, output 'array') for seeds 0–3, and `unet full-size`
 * (one google/ddpm-cifar10-32-shaped forward with the synthetic weights of test-support/, seed-0 noise, t=500).
 * Imports only the public entry (lib/index.ts), so it runs unchanged across moves inside lib/.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import {
  DDIMPipeline,
  DDPM_CIFAR10_32_UNET_CONFIG,
  Generator,
  randnTensor,
  setBackend,
  UNet2DModel,
} from '../lib/index';
import type { BackendName } from '../lib/index';
import { writeSyntheticModelFolder } from '../test-support/synthetic-checkpoint';
import { oneOf, parseBenchArgs } from './args';

function sha256(data: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

async function main(): Promise<void> {
  const script = 'bench/behaviour-hashes';
  const { values } = parseBenchArgs(script, { backend: { type: 'string', default: 'cpu' }, native: { type: 'string', default: 'off' } });
  const backend: BackendName = oneOf(script, 'backend', values.backend, ['cpu', 'wasm'] as const);
  const native = oneOf(script, 'native', values.native, ['on', 'off'] as const) === 'on';
  await setBackend(backend, backend === 'wasm' ? { native, threads: 1 } : {});
  const label = `${backend}${backend === 'wasm' ? (native ? '+native' : ' (plain)') : ''}`;

  // The embedded model's folder, from build/bench/ as from bench/ (EMBEDDED_MODEL resolves from lib/node/).
  const pipe = await DDIMPipeline.fromPretrained(path.resolve(__dirname, '..', '..', 'models', 'tiny-random'));
  for (const seed of [0, 1, 2, 3]) {
    const { images } = await pipe.generate({ generator: new Generator().manualSeed(seed), numInferenceSteps: 2, outputType: 'array' });
    console.log(`${label}\timage seed=${seed}\t${sha256(images.data)}`);
  }
  pipe.dispose();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'behaviour-hashes-'));
  try {
    writeSyntheticModelFolder(dir, { ...DDPM_CIFAR10_32_UNET_CONFIG });
    const unet = await UNet2DModel.fromPretrained(dir);
    const x = randnTensor([1, 3, 32, 32], { generator: new Generator().manualSeed(0), layout: 'NHWC' }) as tf.Tensor4D;
    const eps = unet.predict(x, 500);
    console.log(`${label}\tunet full-size\t${sha256(await eps.data<'float32'>())}`);
    tf.dispose([x, eps]);
    unet.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
