import * as tf from '@tensorflow/tfjs-core';
import { disableNativeKernels, enableNativeKernels, nativeKernelsStatus } from './native/register';
import { configuredWasmThreads, resolveWasmThreads, useWasmThreads, WasmThreadsSetting } from './wasm-threads';
import { reportNativeUnavailableOnce } from './native-unavailable-notice';

import { BACKEND_NAMES, BackendName } from '../../backends/backend-names';

export { BACKEND_NAMES } from '../../backends/backend-names';
export type { BackendName } from '../../backends/backend-names';

interface BackendModule {
  /** npm package that registers the backend. */
  packageName: string;
  /** Name under which the package registers its backend in tfjs' registry. */
  registryName: string;
}

const BACKEND_MODULES: Record<BackendName, BackendModule> = {
  cpu: { packageName: '@tensorflow/tfjs-backend-cpu', registryName: 'cpu' },
  wasm: { packageName: '@tensorflow/tfjs-backend-wasm', registryName: 'wasm' },
  webgl: { packageName: '@tensorflow/tfjs-backend-webgl', registryName: 'webgl' },
  webgpu: { packageName: '@tensorflow/tfjs-backend-webgpu', registryName: 'webgpu' },
  'tfjs-node': { packageName: '@tensorflow/tfjs-node', registryName: 'tensorflow' },
  'tfjs-node-gpu': { packageName: '@tensorflow/tfjs-node-gpu', registryName: 'tensorflow' },
};

/** Fastest first: the order in which {@link defaultBackendName} tries backends in Node. */
const NODE_PREFERENCE: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/**
 * Loads the npm package of a backend. Every error of the `require` is caught, not only
 * MODULE_NOT_FOUND: tfjs-node installed without its libtensorflow binary throws a plain Error.
 */
function requireBackendModule(name: BackendName): void {
  const { packageName } = BACKEND_MODULES[name];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(packageName);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `setBackend('${name}'): the package ${packageName} could not be loaded (${reason}). ` +
        `Install it with \`npm install ${packageName}\`` +
        (name.startsWith('tfjs-node') ? ' (its install script downloads libtensorflow, which needs network access).' : '.'),
    );
  }
}

/**
 * Whether {@link setBackend} can start a backend here: its package loads and registers the backend in this
 * environment (tfjs' webgl and webgpu packages load in Node but register nothing there: false). The backend is not
 * initialised.
 */
export function isBackendAvailable(name: BackendName): boolean {
  try {
    requireBackendModule(name);
  } catch {
    return false;
  }
  return tf.findBackendFactory(BACKEND_MODULES[name].registryName) !== null;
}

/**
 * The backend {@link setBackend} picks when given no name: in Node the fastest one installed
 * (tfjs-node-gpu, tfjs-node, wasm, then cpu); in a browser, tfjs' own choice by priority.
 */
export function defaultBackendName(): BackendName {
  for (const name of NODE_PREFERENCE) {
    if (isBackendAvailable(name)) return name;
  }
  return 'cpu';
}

/** The tfjs registry name of the active backend, mapped back to this library's names. */
export function getBackendName(): string {
  const active = tf.getBackend();
  if (active === 'tensorflow') {
    return isBackendAvailable('tfjs-node-gpu') ? 'tfjs-node-gpu' : 'tfjs-node';
  }
  return active;
}

/** Options of {@link setBackend}; they concern the wasm backend in Node and are ignored elsewhere. */
export interface SetBackendOptions {
  /**
   * Threads of the wasm backend (XNNPACK's pool, run by `worker_threads`): a count up to 8, or 'auto' (default):
   * every logical core, except with the native kernels on, where 1 (the native kernels then run the convolutions and matmuls
   * on every core, and XNNPACK's pool threads, which spin for a while after each op, would compete with it for the
   * cores while doing little). 1 = tfjs' own single-threaded backend. Changing it re-creates the wasm backend, so it
   * is refused ({@link WasmThreadsChangeError}) while the running wasm backend holds tensors; 'auto' then keeps the
   * running backend's count.
   */
  threads?: WasmThreadsSetting;
  /**
   * The native kernels (the addon in native/): 'auto' (default) uses them when the addon is built
   * and says in one line why not otherwise; true requires them (throws if unavailable); false turns them off.
   */
  native?: 'auto' | boolean;
}

/**
 * Loads the backend's package on demand and makes it the active tfjs backend.
 *
 * ```ts
 * await setBackend('wasm');   // or 'cpu', 'webgl', 'webgpu', 'tfjs-node', 'tfjs-node-gpu'
 * await setBackend();         // the fastest backend installed
 * await setBackend('wasm', { threads: 2, native: false }); // plain wasm on 2 threads
 * ```
 * Noise never depends on this choice: it is drawn on the CPU (see `randnTensor`).
 *
 * @throws naming the package to install when it is missing, or why the backend could not start.
 */
export async function setBackend(name?: BackendName, options: SetBackendOptions = {}): Promise<BackendName> {
  const chosen: string = name ?? defaultBackendName();
  if (!isBackendName(chosen)) {
    throw new Error(`setBackend: unknown backend '${chosen}'; expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  const native = options.native ?? 'auto';
  if (native !== 'auto' && typeof native !== 'boolean') {
    throw new Error(`setBackend('${chosen}'): native=${String(native)} must be 'auto', true or false`);
  }
  if (native === true && chosen !== 'wasm') {
    throw new Error(`setBackend('${chosen}', { native: true }): the native kernels exist for the wasm backend only`);
  }
  requireBackendModule(chosen);
  const wasmInNode = chosen === 'wasm' && tf.env().getBool('IS_NODE');
  if (wasmInNode) {
    const withNative = native !== false && nativeKernelsStatus().available;
    const threads = options.threads ?? 'auto';
    const count = resolveWasmThreads(threads === 'auto' && withNative ? 1 : threads);
    const held = wasmTensorsHeld();
    if (count !== configuredWasmThreads() && held > 0) {
      if (threads !== 'auto') throw new WasmThreadsChangeError(count, configuredWasmThreads(), held);
      // 'auto' with a running backend that holds tensors: keep it as it is.
    } else {
      useWasmThreads(count);
    }
  }
  const { registryName } = BACKEND_MODULES[chosen];
  if (tf.findBackendFactory(registryName) === null) {
    throw new Error(
      `setBackend('${chosen}'): ${BACKEND_MODULES[chosen].packageName} loaded but registered no '${registryName}' backend ` +
        `in this environment` +
        (chosen === 'webgl'
          ? ' (WebGL needs a browser with a WebGL2 context).'
          : chosen === 'webgpu'
            ? ' (WebGPU needs navigator.gpu: a browser with WebGPU, or the npm package `webgpu` in Node).'
            : '.'),
    );
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(registryName);
  } catch (err) {
    throw new Error(`setBackend('${chosen}'): the backend failed to start: ${err instanceof Error ? err.message : err}`);
  }
  if (!ok) {
    throw new Error(
      `setBackend('${chosen}'): the backend failed to initialise` +
        (chosen === 'webgpu' ? ' (no WebGPU adapter was found).' : chosen === 'webgl' ? ' (no WebGL context with float textures).' : '.'),
    );
  }
  silenceNodeHint();
  if (wasmInNode) applyNativeOption(native);
  return chosen;
}

/** Tensors the initialised wasm backend holds (0 when it has not started). */
function wasmTensorsHeld(): number {
  const running = tf.engine().registry['wasm'];
  return running === undefined ? 0 : running.numDataIds();
}

/**
 * Thrown by {@link setBackend} when asked for another wasm thread count while the running wasm backend holds
 * tensors: changing the count re-creates the backend, and every tensor on it (a loaded model's weights) would be
 * left pointing at freed wasm memory.
 */
export class WasmThreadsChangeError extends Error {
  constructor(
    readonly requestedThreads: number,
    readonly runningThreads: number,
    readonly tensorsHeld: number,
  ) {
    super(
      `setBackend('wasm', { threads: ${requestedThreads} }): the wasm backend runs ${runningThreads} thread` +
        `${runningThreads === 1 ? '' : 's'} and holds ${tensorsHeld} tensor${tensorsHeld === 1 ? '' : 's'} (a loaded model's ` +
        `weights, for example); a new thread count re-creates the backend and would invalidate them. Choose the ` +
        `threads before loading (call setBackend first), or dispose what you loaded (pipeline.dispose()) and then ` +
        `change them.`,
    );
    this.name = 'WasmThreadsChangeError';
  }
}

function applyNativeOption(native: 'auto' | boolean): void {
  if (native === false) {
    disableNativeKernels();
    return;
  }
  if (enableNativeKernels()) return;
  const reason = nativeKernelsStatus().reason ?? 'unknown reason';
  if (native === true) throw new Error(`setBackend('wasm', { native: true }): the native kernels are not available: ${reason}`);
  reportNativeUnavailableOnce(reason);
}

/**
 * The cpu backend prints a multi-line hint on its first write in Node. Users who chose `cpu` chose it:
 * mark the hint as shown on this backend instance instead of changing tfjs' global flags.
 */
function silenceNodeHint(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

/**
 * The active backend; when none has been chosen yet in this process, `setBackend(fallback)` first (default: the
 * fastest installed). Loading and converting weights need a backend to hold tensors, and a fresh process has none.
 *
 * ```ts
 * await ensureBackend('cpu'); // convert: no math, the pure-JS backend holds the weights
 * ```
 */
export async function ensureBackend(fallback?: BackendName): Promise<string> {
  if (tf.getBackend() !== undefined) return getBackendName();
  return setBackend(fallback);
}
