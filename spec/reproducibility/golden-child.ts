// The child process of the golden-hash specs (spec/reproducibility/*.spec.ts): one configuration per process, since
// the native addon reads TFJS_DIFFUSERS_NATIVE_ISA (and TFJS_DIFFUSERS_NATIVE_MUTATE) when it loads. Bundled by
// spec/reproducibility/golden-hashes.ts into build/ and run by x86-64 Node, or by an arm64 Node under qemu-aarch64.
// It runs the UNet forwards and pipelines of its plan and prints one line `GOLDEN-RESULT {…}`: the sha256 of each
// sample's float32 output, the kernels that ran and what the addon says of itself.
import '../../lib/node/register-node-loaders';
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'crypto';
import * as fs from 'fs';
import { setBackend } from '../../lib/node/backends/set-backend';
import { nativeKernelsStatus, nativeKernelUsage, resetNativeKernelUsage, setNativeThreads } from '../../lib/node/backends/native';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { Generator } from '../../lib/random/generator';
import { randnTensor } from '../../lib/random/randn-tensor';
import { EMBEDDED_MODEL_DIR } from '../../lib/node/embedded-model';
import type { StateDict } from '../../lib/io/state-dict';
import { GOLDEN_RESULT_PREFIX, type GoldenPlan, type GoldenResult, type ForwardRun } from './golden-plan';

/** sha256 of float32 values as little-endian bytes (x86-64 and AArch64 alike). */
function sha256(values: Float32Array): string {
  return createHash('sha256').update(Buffer.from(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
}

/** The full-size weights the parent wrote: `[name, shape][]` in a JSON file, their float32 values back to back. */
function readWeights(keysFile: string, valuesFile: string): StateDict {
  const keys = JSON.parse(fs.readFileSync(keysFile, 'utf8')) as [string, number[]][];
  const bytes = fs.readFileSync(valuesFile);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const out: StateDict = new Map();
  let at = 0;
  for (const [name, shape] of keys) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(name, { shape, data: all.slice(at, at + n) });
    at += n;
  }
  if (at !== all.length) throw new Error(`golden-child: ${valuesFile} holds ${all.length} values, the keys name ${at}`);
  return out;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  if (items.length % size !== 0) throw new Error(`golden-child: ${items.length} items do not split into batches of ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function main(plan: GoldenPlan): Promise<GoldenResult> {
  const started = Date.now();
  if (plan.backend === 'cpu') await setBackend('cpu');
  else await setBackend('wasm', { threads: 1, native: plan.backend === 'wasm+native' });
  if (plan.backend === 'wasm+native' && plan.threads !== undefined) setNativeThreads(plan.threads);

  let unet: UNet2DModel;
  let scheduler: Record<string, unknown> | undefined;
  let tinyPipeline: DDIMPipeline | undefined;
  if (plan.model.kind === 'full') {
    unet = UNet2DModel.fromConfig(plan.model.config);
    unet.loadStateDict(readWeights(plan.model.keysFile, plan.model.valuesFile), 'golden weights');
    scheduler = plan.model.schedulerConfig;
  } else {
    tinyPipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL_DIR);
    unet = tinyPipeline.unet as UNet2DModel;
  }
  const { inChannels, sampleSize } = unet.config;
  const size = typeof sampleSize === 'number' ? sampleSize : (sampleSize as number[])[0];
  resetNativeKernelUsage();

  const forward: ForwardRun[] = [];
  const { seeds, timesteps } = plan.forward;
  const samples = seeds.map((seed) => randnTensor([1, inChannels, size, size], { generator: new Generator().manualSeed(seed), layout: 'NHWC' }));
  for (const { batch, repeats } of plan.forward.runs) {
    const seen: string[][] = seeds.map(() => []);
    const indices = chunks(seeds.map((_, i) => i), batch);
    for (let r = 0; r < repeats; r++) {
      for (const idx of indices) {
        const x = tf.concat(idx.map((i) => samples[i]), 0) as tf.Tensor4D;
        const y = unet.predict(x, idx.map((i) => timesteps[i]));
        const values = (await y.data()) as Float32Array;
        const per = values.length / idx.length;
        idx.forEach((i, k) => {
          const h = sha256(values.subarray(k * per, (k + 1) * per));
          if (!seen[i].includes(h)) seen[i].push(h);
        });
        tf.dispose([x, y]);
      }
    }
    forward.push({ batch, repeats, hashes: seen });
  }
  tf.dispose(samples);

  const pipeline: { batch: number; hashes: string[] }[] = [];
  if (plan.pipeline) {
    const pipe = tinyPipeline ?? new DDIMPipeline({ unet, scheduler: scheduler ?? {} });
    for (const batch of plan.pipeline.batches) {
      const hashes: string[] = [];
      for (const group of chunks(plan.pipeline.seeds, batch)) {
        const { images } = await pipe.generate({
          batchSize: group.length,
          generator: group.map((s) => new Generator().manualSeed(s)),
          numInferenceSteps: plan.pipeline.steps,
          eta: plan.pipeline.eta,
          outputType: 'array',
        });
        const per = images.data.length / group.length;
        for (let k = 0; k < group.length; k++) hashes.push(sha256(images.data.subarray(k * per, (k + 1) * per)));
      }
      pipeline.push({ batch, hashes });
    }
  }
  const status = nativeKernelsStatus();
  const result: GoldenResult = {
    arch: process.arch,
    backend: tf.getBackend(),
    nativeEnabled: status.enabled,
    addonPath: status.path,
    info: status.info as unknown as Record<string, unknown> | undefined,
    usage: nativeKernelUsage(),
    forward,
    pipeline,
    seconds: (Date.now() - started) / 1000,
  };
  (tinyPipeline ?? unet).dispose();
  return result;
}

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as GoldenPlan;
main(plan).then(
  (result) => process.stdout.write(`${GOLDEN_RESULT_PREFIX}${JSON.stringify(result)}\n`),
  (err) => {
    process.stderr.write(`golden-child: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
