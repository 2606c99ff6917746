import * as fs from 'fs';
import { tableKernelPath } from '../../backends/backend-table';
import { nativeKernelsStatus } from '../backends/native/register';
import type { NativeAddonInfo } from '../backends/native/addon';
import { webGpuKernelPath } from '../backends/dawn-webgpu';
import { packageInfo } from '../package-version';

/**
 * What decides an image's bits besides the seed and the settings: recorded in every manifest line so that `verify`
 * can tell a consistent run from a mix of machines whose bits differ.
 */
export interface RunEnvironment {
  /** The tfjs backend: wasm, cpu, tfjs-node, … */
  backend: string;
  /**
   * The kernels that run the UNet: `wasm`, `wasm+tfjsd-kernels-1+winograd` (the native kernels, name and version,
   * with their Winograd convolutions; `wasm+tfjsd-kernels-1` under TFJS_DIFFUSERS_WINOGRAD=off, other bits), `cpu`,
   * `tensorflow`, … The native kernels give the same bits on every CPU and ISA, so the ISA is not part of it.
   * (Manifests written before issue 19 say `wasm+onednn-2.6.3…`: those bits depended on the CPU ISA.)
   * `webgpu:<adapter> (<native API>, <driver>[, software])` (lib/node/backends/dawn-webgpu.ts), …
   */
  kernelPath: string;
  /**
   * The CPU: the x86 ISA level its flags allow (`avx512_core`, `avx2`, …) or the architecture (`arm64`, …); with the
   * native kernels on, followed by the ISA their code runs (`avx2 (native avx2)`). Informative: it decides no bits.
   */
  cpuIsa: string;
  /** `tfjs-diffusers@0.1.0`. */
  library: string;
}

/** The highest x86 ISA level the CPU flags of /proc/cpuinfo allow (oneDNN's names, as older manifests recorded). */
function isaFromCpuFlags(flags: ReadonlySet<string>): string {
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
 * The CPU ISA level of this machine (see {@link RunEnvironment.cpuIsa}): reads /proc/cpuinfo on Linux x86;
 * elsewhere the architecture (`arm64`, …).
 */
export function cpuIsa(): string {
  if (process.arch !== 'x64' && process.arch !== 'ia32') return process.arch;
  try {
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'latin1');
    const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
    return line ? isaFromCpuFlags(new Set(line[1].trim().split(/\s+/))) : 'x86_64';
  } catch {
    return 'x86_64';
  }
}

/** `tfjsd-kernels-1`: the native kernels' name and version (what decides their bits), from the addon's info(). */
function nativeKernelsId(info: Pick<NativeAddonInfo, 'kernels' | 'kernelsVersion'>): string {
  return `${info.kernels}-${info.kernelsVersion}`;
}

/** The kernels the active backend runs the UNet with (see {@link RunEnvironment.kernelPath}). */
export function kernelPath(backend: string): string {
  if (backend === 'webgpu') return webGpuKernelPath();
  if (tableKernelPath(backend) !== 'wasm') return tableKernelPath(backend);
  const native = nativeKernelsStatus();
  if (!native.enabled) return 'wasm';
  const info = native.info;
  if (info === undefined) return 'wasm+native-unknown';
  // The test-only mutation (TFJS_DIFFUSERS_NATIVE_MUTATE) gives other bits: never recorded as the real kernels.
  const mutation = info.mutation !== 'none' ? `+mutate-${info.mutation}` : '';
  return `wasm+${nativeKernelsId(info)}${info.winograd ? '+winograd' : ''}${mutation}`;
}

/** This package's name@version (the manifest's `library` field). */
export function libraryVersion(): string {
  const { name, version } = packageInfo();
  return `${name}@${version}`;
}

/** The {@link RunEnvironment} of the active backend. */
export function runEnvironment(backend: string): RunEnvironment {
  const native = backend === 'wasm' ? nativeKernelsStatus() : undefined;
  const isa = native?.enabled && native.info ? `${cpuIsa()} (native ${native.info.isa})` : cpuIsa();
  return { backend, kernelPath: kernelPath(backend), cpuIsa: isa, library: libraryVersion() };
}
