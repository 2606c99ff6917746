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
    /** B's tensor id when B is a weight (never changes while the id lives): its packed copy is cached; -1: none. */
    bKey?: number,
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
  /** Eligible 3×3 convolutions as Winograd F(4×4, 3×3) (true, the default) or every one direct (other bits). */
  setWinograd(enabled: boolean): void;
  info(): NativeAddonInfo;
}

export interface NativeAddonInfo {
  /** The kernels' name: 'tfjsd-kernels' (native/src, our own; no oneDNN). */
  kernels: string;
  /** Their version: bumped whenever any output value's sequence of float32 operations changes (other bits). */
  kernelsVersion: number;
  /** The first 16 hex digits of sha256 over native/src at build time (native/source-hash.js). */
  sourceHash: string;
  /**
   * The ISA whose kernels run: 'avx512', 'avx2', 'neon' or 'scalar' (TFJS_DIFFUSERS_NATIVE_ISA at load, else the
   * best the CPU has). Every ISA gives the same bits: it is not part of the kernels' identity.
   */
  isa: string;
  /** The ISAs this binary can run on this CPU, best first. */
  isas: string[];
  /** 'none', or 'gemm-k-order' under the test-only TFJS_DIFFUSERS_NATIVE_MUTATE hook (reversed GEMM sums: other bits). */
  mutation: string;
  /** Threads of the kernels' pool. */
  threads: number;
  /** Whether eligible 3×3 convolutions run as Winograd F(4×4, 3×3): `TFJS_DIFFUSERS_WINOGRAD=off` at load says no. */
  winograd: boolean;
  /** Winograd convolution shapes run since the caches were last cleared (docs/backends.md). */
  winogradShapes: number;
  /** Convolution shapes run directly (implicit im2col) since the caches were last cleared. */
  directShapes: number;
  /** Packed or Winograd-transformed filters cached (per weight tensor and layout). */
  cachedWeights: number;
  cachedWeightBytes: number;
}

/** File name node-gyp gives the addon (binding.gyp's target_name). */
const ADDON_FILE = 'tfjs_diffusers_native.node';

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
function addonCandidates(): string[] {
  const fromEnv = process.env[ADDON_ENV];
  if (fromEnv && !['0', 'off', '1', 'on'].includes(fromEnv)) return [path.resolve(fromEnv)];
  return rootCandidates().flatMap((root) => [
    path.join(root, 'native', 'build', 'Release', ADDON_FILE),
    path.join(root, 'native', 'build', 'Debug', ADDON_FILE),
  ]);
}

export type AddonLoad = { addon: NativeAddon; path: string; error?: undefined } | { addon: null; path?: undefined; error: string };

let loaded: AddonLoad | undefined;

/** Selects the ISA of the native kernels at load: avx512, avx2, scalar (x86-64) or neon, scalar (arm64); unset: the best. */
export const ISA_ENV = 'TFJS_DIFFUSERS_NATIVE_ISA';

/**
 * Loads the native addon once per process; never throws. Its kernels use every logical core (or `setNativeThreads`
 * later). The addon reads `TFJS_DIFFUSERS_NATIVE_ISA` when it loads: an ISA the CPU lacks makes the load fail,
 * with the reason in `error`.
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
      error: `not built (no native/build/Release/${ADDON_FILE}; install a C++ compiler, then run \`${nativeBuildCommand()}\`)`,
    };
    return loaded;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native .node addon at a path found at run time; only require loads it
    const addon = require(file) as NativeAddon;
    addon.setNumThreads(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
    loaded = { addon, path: file };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    loaded = { addon: null, error: `failed to load ${file}: ${reason}` };
  }
  return loaded;
}
