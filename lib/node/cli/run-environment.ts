import { createHash } from 'crypto';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsStatus } from '../backends/native/register';
import { webGpuKernelPath } from '../backends/dawn-webgpu';
import { packageInfo } from '../package-version';
import type { DDIMPipeline } from '../../pipelines/ddim-pipeline';

/**
 * What decides an image's bits besides the seed and the settings: recorded in every manifest line so that `verify`
 * can tell a consistent run from a mix of machines whose bits differ.
 */
export interface RunEnvironment {
  /** The tfjs backend: wasm, cpu, tfjs-node, … */
  backend: string;
  /**
   * The kernels that run the UNet: `wasm`, `wasm+onednn-2.6.3+winograd` (the native kernels, with their Winograd
   * convolutions; `wasm+onednn-2.6.3` under TFJS_DIFFUSERS_WINOGRAD=off, other bits), `cpu`, `tensorflow`,
   * `webgpu:<adapter> (<native API>, <driver>[, software])` (lib/node/backends/dawn-webgpu.ts), …
   */
  kernelPath: string;
  /** The x86 ISA oneDNN may use (`avx512_core`, `avx2`, …, capped by ONEDNN_MAX_CPU_ISA) or the CPU architecture. */
  cpuIsa: string;
  /** `tfjs-diffusers@0.1.0`. */
  library: string;
}

/** oneDNN's ISA names, lowest first: the order ONEDNN_MAX_CPU_ISA caps them in. */
const X86_ISA_LADDER = ['sse41', 'avx', 'avx2', 'avx512_core', 'avx512_core_vnni', 'avx512_core_bf16', 'avx512_core_amx'] as const;

/** The highest oneDNN ISA name the CPU flags of /proc/cpuinfo allow. */
export function isaFromCpuFlags(flags: ReadonlySet<string>): string {
  const has = (...names: string[]) => names.every((name) => flags.has(name));
  if (has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq')) {
    if (has('amx_tile', 'amx_bf16')) return 'avx512_core_amx';
    if (has('avx512_bf16')) return 'avx512_core_bf16';
    if (has('avx512_vnni')) return 'avx512_core_vnni';
    return 'avx512_core';
  }
  if (has('avx2')) return 'avx2';
  if (has('avx')) return 'avx';
  if (has('sse4_1')) return 'sse41';
  return 'x86_64';
}

/**
 * The CPU ISA of this machine as oneDNN names it, lowered to `ONEDNN_MAX_CPU_ISA` (or `DNNL_MAX_CPU_ISA`) when that
 * caps it: native kernels give different bits on AVX2 and AVX-512, so the manifest records which one ran. Reads
 * /proc/cpuinfo on Linux x86; elsewhere the architecture (`arm64`, …).
 */
export function cpuIsa(env: Record<string, string | undefined> = process.env): string {
  if (process.arch !== 'x64' && process.arch !== 'ia32') return process.arch;
  let detected = 'x86_64';
  try {
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'latin1');
    const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
    if (line) detected = isaFromCpuFlags(new Set(line[1].trim().split(/\s+/)));
  } catch {
    return detected;
  }
  const cap = (env.ONEDNN_MAX_CPU_ISA ?? env.DNNL_MAX_CPU_ISA)?.trim().toLowerCase();
  const ladder: readonly string[] = X86_ISA_LADDER;
  if (cap && ladder.includes(cap) && ladder.includes(detected) && ladder.indexOf(cap) < ladder.indexOf(detected)) return cap;
  return detected;
}

/** The kernels the active backend runs the UNet with (see {@link RunEnvironment.kernelPath}). */
export function kernelPath(backend: string): string {
  if (backend === 'webgpu') return webGpuKernelPath();
  if (backend !== 'wasm') return backend;
  const native = nativeKernelsStatus();
  if (!native.enabled) return 'wasm';
  return `wasm+onednn-${native.info?.dnnlVersion ?? 'unknown'}${native.info?.winograd ? '+winograd' : ''}`;
}

/** This package's name@version (the manifest's `library` field). */
export function libraryVersion(): string {
  const { name, version } = packageInfo();
  return `${name}@${version}`;
}

/** The {@link RunEnvironment} of the active backend. */
export function runEnvironment(backend: string, env: Record<string, string | undefined>): RunEnvironment {
  return { backend, kernelPath: kernelPath(backend), cpuIsa: cpuIsa(env), library: libraryVersion() };
}

/**
 * A content hash of a loaded pipeline: sha256 over the UNet's float32 weights (in the model's weight order, each
 * preceded by its name and shape) and the scheduler's diffusers config. The same model gives the same hash whether it
 * came from the Hub, a diffusers folder or a converted one; any changed weight or scheduler setting changes it.
 */
export function pipelineContentHash(pipeline: DDIMPipeline): string {
  const hash = createHash('sha256');
  const unet = pipeline.unet as unknown as { model?: { weights?: { name: string; read(): tf.Tensor }[] } };
  const weights = unet.model?.weights;
  if (weights === undefined) throw new Error('pipelineContentHash: the pipeline\'s UNet exposes no weights (not a UNet2DModel)');
  for (const weight of weights) {
    const value = weight.read();
    hash.update(`${weight.name}[${value.shape.join(',')}]:${value.dtype}\n`);
    const data = value.dataSync();
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  hash.update(JSON.stringify(pipeline.scheduler.toDiffusersConfig()));
  return `sha256:${hash.digest('hex')}`;
}
