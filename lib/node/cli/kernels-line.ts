import * as path from 'path';
import { nativeKernelsStatus } from '../backends/native/register';
import { kernelPath } from './run-environment';

/**
 * The kernels a run used, for the demo's closing line: the kernel path of the manifests, and with the native kernels
 * their ISA, threads and where the addon came from (the package's prebuild or a local build).
 *
 * ```ts
 * kernelsLine('wasm'); // 'wasm+tfjsd-kernels-1+winograd (avx2, 2 threads, prebuilt linux-x64)'
 * ```
 */
export function kernelsLine(backend: string): string {
  const kernels = kernelPath(backend);
  const native = backend === 'wasm' ? nativeKernelsStatus() : undefined;
  if (!native?.enabled || !native.info || !native.path) return kernels;
  const parts = native.path.split(path.sep);
  const at = parts.lastIndexOf('prebuilds');
  const origin = at >= 0 && at + 1 < parts.length ? `prebuilt ${parts[at + 1]}` : `built from source, ${native.path}`;
  const threads = native.info.threads;
  return `${kernels} (${native.info.isa}, ${threads} thread${threads === 1 ? '' : 's'}, ${origin})`;
}
