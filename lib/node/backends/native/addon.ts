import * as fs from 'fs';
import * as os from 'os';
import { ADDON_ENV, addonCandidates as locateAddon, addonNotFoundReason } from '../native-addon-location';
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
   * best the CPU has), or 'avx512-emulated' (a test path: the AVX-512 kernels with AVX2 instructions). Every ISA
   * gives the same bits: it is not part of the kernels' identity.
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

export { ADDON_ENV } from '../native-addon-location';

/** Where the addon is looked for, in order: the prebuild for this platform, then a local build (native-addon-location.ts). */
function addonCandidates(): string[] {
  return locateAddon().map((c) => c.path);
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
  const files = addonCandidates().filter((p) => fs.existsSync(p));
  if (files.length === 0) {
    loaded = { addon: null, error: addonNotFoundReason(nativeBuildCommand()) };
    return loaded;
  }
  // The prebuild first; one that does not load here (another libc, say) gives way to a local build.
  const failures: string[] = [];
  for (const file of files) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native .node addon at a path found at run time; only require loads it
      const addon = require(file) as NativeAddon;
      addon.setNumThreads(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
      loaded = { addon, path: file };
      return loaded;
    } catch (err) {
      failures.push(`failed to load ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  loaded = { addon: null, error: failures.join('; ') };
  return loaded;
}
