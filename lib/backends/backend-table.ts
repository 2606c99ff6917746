/**
 * The one table of backends: one row per backend, read by both `setBackend`s (lib/node/backends/set-backend.ts,
 * lib/backends/set-backend-browser.ts), the UNet ops' kernel path (lib/models/unet/ops/kernel-path.ts), and the
 * CLI's run environment and scale-out options. A new backend is one row here plus its op formulations in
 * lib/models/unet/ops/ (when its kernel path is new). Browser-safe: tfjs-core only.
 */
interface BackendRow {
  /** npm package that registers the backend. */
  packageName: string;
  /** Name under which the package registers its backend in tfjs' registry (what `tf.getBackend()` returns). */
  registryName: string;
  /** Where `setBackend` offers it, and its rank there when none is named: lower is tried first (faster). */
  rank: Partial<Record<'node' | 'browser', number>>;
  /**
   * Whether a sample's UNet output has the same bits alone and inside a batch (docs/backends.md, "Batch invariance";
   * proven bit for bit by spec/models/unet/batch-invariance.spec.ts). Backends not measured are false.
   */
  batchInvariant: boolean;
  /** The kernel path the UNet's ops dispatch on ('wasm' becomes 'wasm+native' when the native kernels are on). */
  kernelPath: 'cpu' | 'wasm' | 'other';
  /** Node: said after "registered no '<registry>' backend in this environment" (with its closing period). */
  notRegisteredHint: string;
  /** Node: said after "the backend failed to initialise" when tfjs' setBackend returns false. */
  initFailedHint: string;
}

const BACKEND_TABLE = {
  cpu: { packageName: '@tensorflow/tfjs-backend-cpu', registryName: 'cpu', rank: { node: 3, browser: 3 }, batchInvariant: true, kernelPath: 'cpu', notRegisteredHint: '.', initFailedHint: '.' },
  wasm: { packageName: '@tensorflow/tfjs-backend-wasm', registryName: 'wasm', rank: { node: 2, browser: 2 }, batchInvariant: true, kernelPath: 'wasm', notRegisteredHint: '.', initFailedHint: '.' },
  webgl: {
    packageName: '@tensorflow/tfjs-backend-webgl',
    registryName: 'webgl',
    rank: { browser: 1 },
    batchInvariant: false,
    kernelPath: 'other',
    notRegisteredHint: ' (WebGL needs a browser with a WebGL2 context).',
    initFailedHint: ' (no WebGL context with float textures).',
  },
  webgpu: {
    packageName: '@tensorflow/tfjs-backend-webgpu',
    registryName: 'webgpu',
    rank: { browser: 0 },
    batchInvariant: false,
    kernelPath: 'other',
    notRegisteredHint: ' (WebGPU needs navigator.gpu: a browser with WebGPU, or the npm package `webgpu` in Node).',
    initFailedHint: ' (no WebGPU adapter was found).',
  },
  'tfjs-node': { packageName: '@tensorflow/tfjs-node', registryName: 'tensorflow', rank: { node: 1 }, batchInvariant: false, kernelPath: 'other', notRegisteredHint: '.', initFailedHint: '.' },
  'tfjs-node-gpu': { packageName: '@tensorflow/tfjs-node-gpu', registryName: 'tensorflow', rank: { node: 0 }, batchInvariant: false, kernelPath: 'other', notRegisteredHint: '.', initFailedHint: '.' },
} as const satisfies Record<string, BackendRow>;

/** The tfjs backends this library knows how to load, by the name users pass to `setBackend`. */
export type BackendName = keyof typeof BACKEND_TABLE;

/** Every backend's row, by {@link BackendName}. */
export const BACKENDS: Readonly<Record<BackendName, BackendRow>> = BACKEND_TABLE;

/** Every {@link BackendName}, in no particular order (the default order is `setBackend`'s business). */
export const BACKEND_NAMES = Object.keys(BACKEND_TABLE) as readonly BackendName[];

/** Whether `name` is a {@link BackendName}. */
export function isBackendName(name: string): name is BackendName {
  return Object.prototype.hasOwnProperty.call(BACKEND_TABLE, name);
}

/** The backends `platform` offers, fastest first: the order in which a `setBackend` without a name tries them. */
export function backendsByRank(platform: 'node' | 'browser'): BackendName[] {
  return BACKEND_NAMES.filter((n) => BACKENDS[n].rank[platform] !== undefined).sort((a, b) => BACKENDS[a].rank[platform]! - BACKENDS[b].rank[platform]!);
}

/** The backends whose UNet is batch-invariant (see {@link BackendRow.batchInvariant}). */
export const BATCH_INVARIANT_BACKENDS: readonly BackendName[] = BACKEND_NAMES.filter((n) => BACKENDS[n].batchInvariant);

/** The row of a tfjs registry name (`tf.getBackend()`), or undefined for a backend this table does not know. */
export function backendOfRegistryName(registryName: string): BackendRow | undefined {
  return BACKEND_NAMES.map((n) => BACKENDS[n]).find((row) => row.registryName === registryName);
}

/**
 * The kernel path provenance records for `backend` where no native kernels exist (a page): the table's kernelPath,
 * with the 'other' backends named by themselves, since each runs its own kernels — `cpu`, `wasm`, `webgl`,
 * `webgpu`; a name the table does not know is returned as it is. Node refines it (lib/node/cli/run-environment.ts
 * `kernelPath`: `wasm+tfjsd-kernels-1+winograd` when the native kernels run, `webgpu:<adapter>` with Dawn).
 *
 * ```ts
 * tableKernelPath('webgl'); // 'webgl'
 * ```
 */
export function tableKernelPath(backend: string): string {
  return isBackendName(backend) && BACKENDS[backend].kernelPath !== 'other' ? BACKENDS[backend].kernelPath : backend;
}
