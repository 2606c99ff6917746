/**
 * The webgpu backend on a real GPU, in one run (bench/gpu-check.sh builds and starts it): which adapter runs, the
 * full-size google/ddpm-cifar10-32 UNet forward at batch 1 and 16, the 50-step DDIM image, how far the webgpu
 * images are from the cpu backend's for the same seed (max |Δ| over the image, values in [0, 1]), and the full-size
 * parity with PyTorch: max |Δ| of each forward case of spec/fixtures/unet_full.json (the figure
 * spec/helpers/tolerances.ts's fullForward bounds are made of).
 *
 *   node build/bench/gpu-check.js [--model <converted folder or hub id>] [--reference cpu|wasm] [--steps 50] [--runs 5]
 *
 * Without --model the UNet has google/ddpm-cifar10-32's shape and synthetic random weights (no download). Random
 * weights make deterministic DDIM ill-conditioned: after 50 steps any two backends are 0.5–0.9 apart (docs/backends.md),
 * so the 50-step difference is only meaningful with the real weights (`--model google/ddpm-cifar10-32`, which needs the
 * Hub or HF_ENDPOINT); the 1-forward and 2-step differences are meaningful with either.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../lib/node/backends/set-backend';
import { adapterLabel, webGpuBackendInfo } from '../lib/node/backends/dawn-webgpu';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../lib/pipelines/ddim-pipeline';
import type { DenoisingModel } from '../lib/pipelines/pipeline-components';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../lib/node/fs/pipeline-folder';
import { Generator } from '../lib/random/generator';
import { syntheticStateDict } from '../test-support/synthetic-checkpoint';
import * as fs from 'fs';
import * as path from 'path';
import { recipeStateDict } from '../spec/helpers/recipe-weights';
import { oneOf, parseBenchArgs, positiveInt } from './args';
import { maxAbsDiff, median, warmUp } from './stats';

const script = 'bench/gpu-check';

interface Options {
  model: string | null;
  reference: 'cpu' | 'wasm';
  steps: number;
  runs: number;
}

function parseOptions(): Options {
  const { values } = parseBenchArgs(script, {
    model: { type: 'string' },
    reference: { type: 'string', default: 'cpu' },
    steps: { type: 'string', default: '50' },
    runs: { type: 'string', default: '5' },
  });
  return {
    model: values.model ?? null,
    reference: oneOf(script, 'reference', values.reference, ['cpu', 'wasm'] as const),
    steps: positiveInt(script, 'steps', values.steps),
    runs: positiveInt(script, 'runs', values.runs),
  };
}

/** A pipeline on the active backend: the given model, or the full-size shape with synthetic weights. */
async function makePipeline(model: string | null): Promise<DDIMPipeline> {
  if (model !== null) return DDIMPipeline.fromPretrained(model);
  const unet = UNet2DModel.fromConfig({ ...DDPM_CIFAR10_32_UNET_CONFIG });
  unet.loadStateDict(syntheticStateDict({ ...DDPM_CIFAR10_32_UNET_CONFIG }), 'synthetic weights');
  return new DDIMPipeline({ unet, scheduler: DDPM_CIFAR10_SCHEDULER_CONFIG });
}

async function forwardMs(unet: DenoisingModel, sample: tf.Tensor4D, t: number): Promise<number> {
  const start = process.hrtime.bigint();
  const out = unet.predict(sample, t);
  await out.data();
  out.dispose();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function image(pipeline: DDIMPipeline, steps: number): Promise<{ data: Float32Array; seconds: number }> {
  const start = process.hrtime.bigint();
  const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: steps, outputType: 'array' });
  return { data: images.data, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function unetOutput(pipeline: DDIMPipeline): Promise<Float32Array> {
  const sample = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
  const out = pipeline.unet.predict(sample, 500);
  const data = (await out.data()) as Float32Array;
  tf.dispose([sample, out]);
  return data;
}

interface FullFixture {
  config: Record<string, unknown>;
  weights_seed: number;
  state_dict_keys: [string, number[]][];
  cases: { id: string; timestep: number | number[]; sample: { shape: number[]; data: number[] }; output: { data: number[] } }[];
}

/** Max |Δ| against PyTorch of each full-size forward case (NCHW fixture arrays; the UNet takes NHWC). */
async function fullSizeParity(): Promise<string[]> {
  const file = path.join(__dirname, '..', '..', 'spec', 'fixtures', 'unet_full.json');
  const fixture = JSON.parse(fs.readFileSync(file, 'utf8')) as FullFixture;
  const unet = UNet2DModel.fromConfig(fixture.config);
  unet.loadStateDict(recipeStateDict(fixture.state_dict_keys, fixture.weights_seed), 'unet_full.json recipe weights');
  const lines: string[] = [];
  for (const c of fixture.cases) {
    const nchw = tf.tensor4d(c.sample.data, c.sample.shape as [number, number, number, number], 'float32');
    const sample = tf.transpose(nchw, [0, 2, 3, 1]) as tf.Tensor4D;
    const out = unet.predict(sample, c.timestep);
    const back = tf.transpose(out, [0, 3, 1, 2]);
    const got = (await back.data()) as Float32Array;
    tf.dispose([nchw, sample, out, back]);
    lines.push(`${c.id} ${maxAbsDiff(got, Float32Array.from(c.output.data)).toExponential(2)}`);
  }
  unet.dispose();
  return lines;
}

async function main(): Promise<void> {
  const o = parseOptions();
  const say = (line: string) => console.log(line);
  say(`gpu-check: ${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} logical CPUs), Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  await setBackend('webgpu');
  const info = webGpuBackendInfo()!;
  say(`adapter: ${adapterLabel(info.adapter)}; vendor ${info.adapter.vendor}, architecture ${info.adapter.architecture} (chosen: ${info.chosenBy})`);
  if (info.adapter.software) say('WARNING: a software adapter (the GPU is emulated on the CPU): these timings are not a GPU\'s');
  const gpu = await makePipeline(o.model);
  say(`model: ${o.model ?? 'google/ddpm-cifar10-32 shape, synthetic weights'}`);

  for (const batch of [1, 16]) {
    const sample = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
    const firstMs = await forwardMs(gpu.unet, sample, 999);
    await warmUp(() => forwardMs(gpu.unet, sample, 998));
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) times.push(await forwardMs(gpu.unet, sample, 500 + i));
    sample.dispose();
    say(`forward batch ${batch}: median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, ${o.runs} runs; first ${firstMs.toFixed(0)} ms with shader compilation)`);
  }
  const gpuForward = await unetOutput(gpu);
  const gpuTwo = await image(gpu, 2);
  const gpuImage = await image(gpu, o.steps);
  say(`image, ${o.steps} steps, batch 1: ${gpuImage.seconds.toFixed(2)} s`);
  gpu.dispose();
  say(`full-size parity with PyTorch (unet_full.json forward cases, max |Δ|; cpu/wasm measured 3.5e-6/3.9e-6): ${(await fullSizeParity()).join('; ')}`);

  say(`reference: the ${o.reference} backend, same weights and seed (slow on cpu: minutes)...`);
  await setBackend(o.reference, o.reference === 'wasm' ? { native: false } : {});
  const ref = await makePipeline(o.model);
  const refForward = await unetOutput(ref);
  const refTwo = await image(ref, 2);
  const refImage = await image(ref, o.steps);
  ref.dispose();
  say(`max |Δ| webgpu vs ${o.reference}: one forward (t=500) ${maxAbsDiff(gpuForward, refForward).toExponential(2)}; ` +
    `2-step image ${maxAbsDiff(gpuTwo.data, refTwo.data).toExponential(2)}; ${o.steps}-step image ${maxAbsDiff(gpuImage.data, refImage.data).toExponential(2)}` +
    (o.model === null ? ' (synthetic weights: the many-step figure measures conditioning, not the backend)' : ''));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
