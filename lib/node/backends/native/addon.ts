import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativeBuildCommand } from '../native-unavailable-notice';

/** The functions of native/src/addon.cc. Offsets are byte offsets into `heap`, a Uint8Array over the wasm memory. */
export interface NativeAddon {
  conv2d(
    heap: Uint8Array,
    xOffset: number,
    filterOffset: number,
    biasOffset: number,
    outOffset: number,
    weightsKey: number,
    dims: ArrayLike<number>,
    activation: number,
    alpha: number,
  ): void;
  matmul(
    heap: Uint8Array,
    aOffset: number,
    bOffset: number,
    biasOffset: number,
    outOffset: number,
    batchA: number,
    batchB: number,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
    activation: number,
    alpha: number,
  ): void;
  groupNorm(
    heap: Uint8Array,
    xOffset: number,
    gammaOffset: number,
    betaOffset: number,
    outOffset: number,
    n: number,
    hw: number,
    c: number,
    groups: number,
    epsilon: number,
    silu: boolean,
  ): void;
  readFloat(heap: Uint8Array, byteOffset: number): number;
  evictWeights(weightsKey: number): void;
  clearCaches(): void;
  setNumThreads(threads: number): void;
  info(): NativeAddonInfo;
}

export interface NativeAddonInfo {
  /** oneDNN version of the library loaded at run time, e.g. '2.6.3'. */
  dnnlVersion: string;
  /** DNNL_VERSION_MAJOR of the headers the addon was compiled against. */
  dnnlHeaderMajor: number;
  /** oneDNN's CPU threading runtime: 'omp' for Debian's build. */
  cpuRuntime: string;
  /** Threads oneDNN and the GroupNorm kernel use. */
  threads: number;
  convPrimitives: number;
  matmulPrimitives: number;
  cachedWeights: number;
  cachedWeightBytes: number;
}

/** File name node-gyp gives the addon (binding.gyp's target_name). */
export const ADDON_FILE = 'tfjs_diffusers_native.node';

/** Set to a path to load the addon from there; set to '0' or 'off' to never load it. */
export const ADDON_ENV = 'TFJS_DIFFUSERS_NATIVE';

/**
 * Folders that may hold native/: the package root is four levels above lib/node/backends/native (ts-jest) and
 * dist/node/backends/native (built), five above build/lib/node/backends/native (the benches).
 */
function rootCandidates(): string[] {
  const roots: string[] = [];
  let dir = __dirname;
  for (let up = 0; up < 6; up++) {
    dir = path.dirname(dir);
    if (up >= 3) roots.push(dir);
  }
  return roots;
}

/** Where the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const fromEnv = process.env[ADDON_ENV];
  if (fromEnv && !['0', 'off', '1', 'on'].includes(fromEnv)) return [path.resolve(fromEnv)];
  return rootCandidates().flatMap((root) => [
    path.join(root, 'native', 'build', 'Release', ADDON_FILE),
    path.join(root, 'native', 'build', 'Debug', ADDON_FILE),
  ]);
}

export type AddonLoad = { addon: NativeAddon; path: string; error?: undefined } | { addon: null; path?: undefined; error: string };

let loaded: AddonLoad | undefined;

/**
 * Loads the native addon once per process; never throws. Its kernels use every logical core unless OMP_NUM_THREADS
 * says otherwise (or `setNativeThreads` later). Before the first load, oneDNN's OpenMP pool is told not
 * to spin between kernels (`OMP_WAIT_POLICY=PASSIVE`, unless the environment sets it): between two native calls the
 * JS thread and the wasm threads run the element-wise ops, and spinning OpenMP threads would steal their cores.
 * libgomp reads the variable when it is loaded, which is when the addon loads it.
 *
 * ```ts
 * const { addon, error } = loadNativeAddon();
 * if (addon === null) console.log(error);
 * ```
 */
export function loadNativeAddon(): AddonLoad {
  if (loaded !== undefined) return loaded;
  const env = process.env[ADDON_ENV];
  if (env === '0' || env === 'off') {
    loaded = { addon: null, error: `disabled by ${ADDON_ENV}=${env}` };
    return loaded;
  }
  const file = addonCandidates().find((p) => fs.existsSync(p));
  if (file === undefined) {
    loaded = {
      addon: null,
      error: `not built (no native/build/Release/${ADDON_FILE}; install libdnnl-dev and a C++ compiler, then run \`${nativeBuildCommand()}\`)`,
    };
    return loaded;
  }
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file) as NativeAddon;
    // OpenMP's own OMP_NUM_THREADS wins; otherwise every logical core.
    if (process.env.OMP_NUM_THREADS === undefined) {
      addon.setNumThreads(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
    }
    loaded = { addon, path: file };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = { addon: null, error: `failed to load ${file}: ${reason}` };
  }
  return loaded;
}
