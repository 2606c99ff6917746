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
  /** Winograd convolutions set up (one per layer shape; docs/backends.md). */
  winogradPrimitives: number;
  /** Whether eligible 3×3 convolutions run as Winograd F(4×4, 3×3): `TFJS_DIFFUSERS_WINOGRAD=off` at load says no. */
  winograd: boolean;
  cachedWeights: number;
  cachedWeightBytes: number;
}

export { ADDON_FILE, ADDON_ENV } from '../native-addon-location';

/** Where the addon is looked for, in order: the prebuild for this platform, then a local build (native-addon-location.ts). */
export function addonCandidates(): string[] {
  return locateAddon().map((c) => c.path);
}

export type AddonLoad = { addon: NativeAddon; path: string; error?: undefined } | { addon: null; path?: undefined; error: string };

let loaded: AddonLoad | undefined;

/**
 * How long oneDNN's OpenMP threads spin after a parallel region before they sleep, in libgomp's spin iterations
 * (`GOMP_SPINCOUNT`): 20,000 is about 1 ms on an AMD EPYC Zen 4, longer than the gaps between the native kernels of
 * a UNet forward (the element-wise ops the JS thread runs in between), so a kernel finds its threads awake, and short
 * enough that idle threads stop taking a core soon after the forward. libgomp's default spins ~11 ms; with
 * `OMP_WAIT_POLICY=PASSIVE` (no spinning) every kernel pays a futex wake-up: a batch-1 forward took ~10 ms longer
 * (docs/performance.md).
 */
export const OPENMP_SPIN_COUNT = 20_000;

/**
 * Loads the native addon once per process; never throws. Its kernels use every logical core unless OMP_NUM_THREADS
 * says otherwise (or `setNativeThreads` later). Before the first load, oneDNN's OpenMP pool is told to spin only
 * briefly between kernels ({@link OPENMP_SPIN_COUNT}), unless the environment sets `OMP_WAIT_POLICY` or
 * `GOMP_SPINCOUNT`. libgomp reads the variables when it is loaded, which is when the addon loads it.
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
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.GOMP_SPINCOUNT = String(OPENMP_SPIN_COUNT);
  // The prebuild first; one that does not load here (another libc, say) gives way to a local build.
  const failures: string[] = [];
  for (const file of files) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(file) as NativeAddon;
      // OpenMP's own OMP_NUM_THREADS wins; otherwise every logical core.
      if (process.env.OMP_NUM_THREADS === undefined) {
        addon.setNumThreads(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
      }
      loaded = { addon, path: file };
      return loaded;
    } catch (err) {
      failures.push(`failed to load ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  loaded = { addon: null, error: failures.join('; ') };
  return loaded;
}
