/**
 * One full-size google/ddpm-cifar10-32 UNet forward per run (35.7 M parameters, synthetic weights), on one backend
 * configuration, at one or more batch sizes. bench/run.ts starts one process of this per configuration (the wasm
 * thread count and the native kernels are per process) and reads the JSON it prints last.
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/unet-forward.js --backend wasm --threads 2 --native on \
 *       --batches 1,8,16 [--runs 5] [--pipeline 50] [--profile] [--json] [--model full|tiny|ddpm-256]
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, setBackend, BackendName } from '../lib/node/backends/set-backend';
import { nativeKernelsStatus, nativeKernelUsage, resetNativeKernelUsage, setNativeThreads } from '../lib/node/backends/native';
import type { NativeKernelUsage } from '../lib/node/backends/native';
import { wasmBackendInfo } from '../lib/node/backends/wasm-threads';
import { webGpuKernelPath } from '../lib/node/backends/dawn-webgpu';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { DDPM_256_UNET_CONFIG } from '../lib/models/unet/ddpm-256';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../lib/pipelines/ddim-pipeline';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../lib/node/fs/pipeline-folder';
import { Generator } from '../lib/random/generator';
import { peakRssBytes } from '../test-support/peak-rss';
import { syntheticStateDict } from '../test-support/synthetic-checkpoint';
import { oneOf, parseBenchArgs, positiveInt, positiveIntList } from './args';
import { median, timedForwards, warmUp } from './stats';

/**
 * Floating-point work of one forward at batch 1, in GFLOP, as issue 6 counts it (its PyTorch and peak figures use
 * it). bench/torch_unet.py counts 2 per multiply-add on the same network: 11.42 in the convolutions, 0.69 in the
 * linears, 0.34 in the attention products, 12.44 in all; GFLOP/s here are ~4 % below that count's.
 */
export const GFLOP_PER_SAMPLE = 11.95;

export interface ForwardOptions {
  backend: BackendName;
  /** Print a per-kernel time table of one forward per batch (tf.profile). */
  profile?: boolean;
  /** wasm only: threads of the wasm backend. */
  threads: number;
  /** wasm only: the native oneDNN kernels. */
  native: boolean;
  /** Threads of the native kernels (default: the logical cores). */
  nativeThreads?: number;
  /** Also time one DDIMPipeline.generate of this many steps at each of `pipelineBatches` (0: none). */
  pipelineSteps?: number;
  pipelineBatches?: number[];
  /** Runs the process with TFJS_DIFFUSERS_NATIVE_ISA set to this (bench/run.ts; the native kernels' ISA). */
  nativeIsa?: string;
  /**
   * 'full': google/ddpm-cifar10-32's UNet; 'tiny': {@link TINY_UNET_CONFIG}, for the smoke run; 'ddpm-256': the
   * google/ddpm-*-256 UNet (113.7 M parameters) at 256×256 (its GFLOP/s figure uses the cifar10 count: ignore it).
   */
  model?: 'full' | 'tiny' | 'ddpm-256';
  batches: number[];
  runs: number;
}

export interface BatchResult {
  batch: number;
  /** The first forward at this batch (kernel set-up, primitive creation, weight reorders). */
  firstMs: number;
  /** Median of `runs` forwards after the warm-up of bench/stats.ts. */
  medianMs: number;
  minMs: number;
  runs: number;
  msPerSample: number;
  gflops: number;
}

export interface ForwardResult {
  label: string;
  backend: string;
  threads: number | null;
  native: boolean;
  nativeInfo?: { kernels: string; isa: string; threads: number };
  wasmBinary?: string;
  batches: BatchResult[];
  /** Peak resident set of the process, MiB. */
  peakRssMiB: number;
  /** Size of the wasm heap (WebAssembly.Memory) at the end, MiB. */
  wasmHeapMiB: number | null;
  usage?: NativeKernelUsage;
  loadAverage: number[];
  /** One DDIMPipeline.generate per batch size (noise, steps, images as arrays), when asked for. */
  pipeline?: Array<{ batch: number; steps: number; seconds: number }>;
}


async function forwardMs(unet: UNet2DModel, sample: tf.Tensor4D, t: number): Promise<number> {
  const start = process.hrtime.bigint();
  const out = unet.predict(sample, t);
  await out.data();
  out.dispose();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function wasmHeapMiB(): number | null {
  const backend = tf.engine().registry['wasm'] as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; HEAPU8?: Uint8Array } } | undefined;
  const bytes = backend?.wasm?.wasmMemory?.buffer.byteLength ?? backend?.wasm?.HEAPU8?.buffer.byteLength;
  return bytes === undefined ? null : bytes / 2 ** 20;
}

export function configLabel(o: Pick<ForwardOptions, 'backend' | 'threads' | 'native' | 'nativeThreads' | 'nativeIsa'>): string {
  if (o.backend !== 'wasm') return o.backend;
  const isa = o.nativeIsa ?? process.env.TFJS_DIFFUSERS_NATIVE_ISA;
  const native = o.native
    ? ` + native${o.nativeThreads !== undefined ? ` (${o.nativeThreads} thread${o.nativeThreads === 1 ? '' : 's'})` : ''}${isa ? `, ISA ${isa}` : ''}`
    : '';
  return `wasm ${o.threads} thread${o.threads === 1 ? '' : 's'}${native}`;
}

/** Kernel time per kernel name over one forward (the kernels' wall time, as tf.profile measures on wasm). */
async function printKernelProfile(unet: UNet2DModel, sample: tf.Tensor4D): Promise<void> {
  const info = await tf.profile(async () => {
    const out = unet.predict(sample, 500);
    await out.data();
    out.dispose();
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += (await k.kernelTimeMs) as number;
    e.calls++;
    byKernel.set(k.name, e);
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.error(`kernel profile, batch ${sample.shape[0]}: ${total.toFixed(1)} ms of kernel time`);
  for (const [name, e] of rows.slice(0, 14)) {
    console.error(`  ${name.padEnd(24)}${String(e.calls).padStart(6)}${e.ms.toFixed(2).padStart(10)} ms${((100 * e.ms) / total).toFixed(1).padStart(7)} %`);
  }
}

/** Runs the forwards and returns the timings. */
export async function benchUNetForward(opts: ForwardOptions): Promise<ForwardResult> {
  await setBackend(opts.backend, opts.backend === 'wasm' ? { threads: opts.threads, native: opts.native } : {});
  if (opts.native && opts.nativeThreads !== undefined) setNativeThreads(opts.nativeThreads);
  const config = opts.model === 'tiny' ? TINY_UNET_CONFIG : opts.model === 'ddpm-256' ? DDPM_256_UNET_CONFIG : DDPM_CIFAR10_32_UNET_CONFIG;
  const size = config.sample_size as number;
  const unet = UNet2DModel.fromConfig({ ...config });
  unet.loadStateDict(syntheticStateDict({ ...config }), 'synthetic weights');
  resetNativeKernelUsage();
  const batches: BatchResult[] = [];
  for (const batch of opts.batches) {
    const sample = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
    const firstMs = await forwardMs(unet, sample, 999);
    await warmUp(() => forwardMs(unet, sample, 998));
    let step = 0;
    const times = await timedForwards(() => forwardMs(unet, sample, 500 + (step++ % 400)), opts.runs);
    if (opts.profile) await printKernelProfile(unet, sample);
    sample.dispose();
    const medianMs = median(times);
    batches.push({
      batch,
      firstMs,
      medianMs,
      minMs: Math.min(...times),
      runs: times.length,
      msPerSample: medianMs / batch,
      gflops: (GFLOP_PER_SAMPLE * batch) / (medianMs / 1000),
    });
  }
  const usage = opts.backend === 'wasm' ? nativeKernelUsage() : undefined;
  let pipeline: ForwardResult['pipeline'];
  if (opts.pipelineSteps) {
    pipeline = [];
    const ddim = new DDIMPipeline({ unet, scheduler: DDPM_CIFAR10_SCHEDULER_CONFIG });
    for (const batch of opts.pipelineBatches ?? [1]) {
      const start = process.hrtime.bigint();
      await ddim.generate({ batchSize: batch, generator: new Generator().manualSeed(0), numInferenceSteps: opts.pipelineSteps, outputType: 'array' });
      pipeline.push({ batch, steps: opts.pipelineSteps, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
    }
  }
  unet.dispose();
  const status = nativeKernelsStatus();
  const wasm = opts.backend === 'wasm' ? wasmBackendInfo() : null;
  return {
    // webgpu: the adapter it ran on (`webgpu:NVIDIA … (vulkan, …)`), which the parent cannot know.
    label: opts.backend === 'webgpu' ? webGpuKernelPath() : configLabel(opts),
    backend: tf.getBackend(),
    threads: wasm ? wasm.threads : null,
    native: opts.backend === 'wasm' && status.enabled,
    nativeInfo: status.enabled && status.info ? { kernels: `${status.info.kernels}-${status.info.kernelsVersion}`, isa: status.info.isa, threads: status.info.threads } : undefined,
    wasmBinary: wasm?.binary,
    batches,
    peakRssMiB: peakRssBytes() / 2 ** 20,
    wasmHeapMiB: wasmHeapMiB(),
    usage,
    loadAverage: os.loadavg(),
    pipeline,
  };
}

function parseOptions(argv: string[]): ForwardOptions & { json: boolean } {
  const script = 'bench/unet-forward';
  const { values } = parseBenchArgs(
    script,
    {
      backend: { type: 'string', default: 'wasm' },
      threads: { type: 'string', default: '1' },
      native: { type: 'string', default: 'off' },
      'native-threads': { type: 'string' },
      batches: { type: 'string', default: '1' },
      runs: { type: 'string', default: '5' },
      json: { type: 'boolean' },
      profile: { type: 'boolean' },
      pipeline: { type: 'string' },
      'pipeline-batches': { type: 'string', default: '1' },
      model: { type: 'string', default: 'full' },
    },
    argv,
  );
  return {
    backend: oneOf(script, 'backend', values.backend, BACKEND_NAMES),
    threads: positiveInt(script, 'threads', values.threads),
    native: oneOf(script, 'native', values.native, ['on', 'off'] as const) === 'on',
    nativeThreads: values['native-threads'] === undefined ? undefined : positiveInt(script, 'native-threads', values['native-threads']),
    batches: positiveIntList(script, 'batches', values.batches),
    runs: positiveInt(script, 'runs', values.runs),
    json: values.json === true,
    profile: values.profile === true,
    pipelineSteps: values.pipeline === undefined ? undefined : positiveInt(script, 'pipeline', values.pipeline),
    pipelineBatches: positiveIntList(script, 'pipeline-batches', values['pipeline-batches']),
    model: oneOf(script, 'model', values.model, ['full', 'tiny', 'ddpm-256'] as const),
  };
}

/** A two-level UNet a few hundred times cheaper than the full one: the smoke run's model (`--model tiny`). */
export const TINY_UNET_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  ...DDPM_CIFAR10_32_UNET_CONFIG,
  block_out_channels: [32, 64],
  down_block_types: ['DownBlock2D', 'AttnDownBlock2D'],
  up_block_types: ['AttnUpBlock2D', 'UpBlock2D'],
  layers_per_block: 1,
  norm_num_groups: 8,
  sample_size: 16,
});

/** Marks the JSON line bench/run.ts reads. */
export const RESULT_PREFIX = 'UNET_FORWARD_RESULT ';

if (require.main === module) {
  const opts = parseOptions(process.argv.slice(2));
  benchUNetForward(opts)
    .then((r) => {
      if (opts.json) {
        console.log(RESULT_PREFIX + JSON.stringify(r));
        return;
      }
      console.log(`${r.label} (${r.backend}${r.nativeInfo ? `, ${r.nativeInfo.kernels} ${r.nativeInfo.isa}` : ''})`);
      for (const b of r.batches) {
        console.log(
          `batch ${String(b.batch).padStart(2)}: first ${b.firstMs.toFixed(0)} ms, median ${b.medianMs.toFixed(1)} ms ` +
            `(${b.msPerSample.toFixed(1)} ms/sample, ${b.gflops.toFixed(1)} GFLOP/s, min ${b.minMs.toFixed(1)})`,
        );
      }
      console.log(`peak RSS ${r.peakRssMiB.toFixed(0)} MiB, wasm heap ${r.wasmHeapMiB?.toFixed(0) ?? '-'} MiB, load ${r.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
      for (const p of r.pipeline ?? []) console.log(`DDIM pipeline, ${p.steps} steps, batch ${p.batch}: ${p.seconds.toFixed(2)} s`);
      if (r.usage) console.log(`native calls ${JSON.stringify(r.usage.native)}, fallbacks ${JSON.stringify(r.usage.fallback)}`);
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
