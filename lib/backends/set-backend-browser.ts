import * as tf from '@tensorflow/tfjs-core';
// The browser bundle carries every backend it offers: a bundler cannot follow set-backend.ts' `require(name)`.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BackendName, backendsByRank } from './backend-table';
import { startRegisteredBackend } from './start-backend';
import { bundleRelativeUrl } from '../loading/bundle-url';

export type { BackendName } from './backend-table';

/** The backends a browser can run, fastest first: the order {@link defaultBackendName} tries them in. */
export const BROWSER_BACKEND_NAMES: readonly BackendName[] = backendsByRank('browser');

/** Options of the browser {@link setBackend}. */
export interface BrowserBackendOptions {
  /**
   * Where the wasm backend's `.wasm` files are served: a folder URL ending in `/`, as for tfjs'
   * `setWasmPaths`. Defaults to the folder of the bundle (scripts/build-browser.js copies them there).
   * Only read before the wasm backend first starts.
   */
  wasmPaths?: string;
}

/**
 * The tfjs flags that decide the WebGL backend's precision, set before it starts so the images do not depend on
 * a browser's defaults:
 * - `WEBGL_FORCE_F16_TEXTURES: false`: half-float textures keep 11 bits of mantissa; the same-seed promise needs 24.
 * - `WEBGL_CPU_FORWARD: true` (tfjs' default, set explicitly): an op whose inputs all still sit in CPU memory and
 *   hold fewer than `CPU_HANDOFF_SIZE_THRESHOLD` (128) elements runs on the CPU kernels, as on the cpu backend.
 *   That is where the scalar schedule math and the sinusoidal timestep embedding's first ops run, so they agree
 *   bit for bit with Node instead of going through the GPU's `sin`/`cos`/`pow`.
 */
export const WEBGL_PRECISION_FLAGS: Readonly<Record<string, boolean>> = {
  WEBGL_FORCE_F16_TEXTURES: false,
  WEBGL_CPU_FORWARD: true,
};

function isBrowserBackendName(name: string): name is BackendName {
  return (BROWSER_BACKEND_NAMES as readonly string[]).includes(name);
}

/** The GPU object of the WebGPU API, or undefined where the browser has none (plain http, old browsers, Node). */
function navigatorGpu(): { requestAdapter(): Promise<unknown | null> } | undefined {
  if (typeof navigator === 'undefined') return undefined;
  return (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown | null> } }).gpu;
}

/** Whether this page can create a WebGL2 context (tfjs' WebGL backend needs version 2 for float32 render targets). */
function hasWebGL2(): boolean {
  try {
    if (typeof OffscreenCanvas !== 'undefined') {
      return new OffscreenCanvas(1, 1).getContext('webgl2') !== null;
    }
    if (typeof document !== 'undefined') {
      return document.createElement('canvas').getContext('webgl2') !== null;
    }
  } catch {
    // Some browsers throw instead of returning null when WebGL is blocked.
  }
  return false;
}

/** Why a backend cannot start here, or null when nothing known stops it. */
async function reasonBackendCannotStart(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'cpu':
    case 'wasm':
      return null;
    case 'webgl':
      if (typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') {
        return "there is no canvas here (no document nor OffscreenCanvas: not a browser page); in Node, use 'cpu' or 'wasm'";
      }
      return hasWebGL2()
        ? null
        : 'this browser gives no WebGL2 context (WebGL disabled, blocked, or no GPU driver nor software fallback)';
    case 'webgpu': {
      const gpu = navigatorGpu();
      if (gpu === undefined) {
        return 'this browser has no WebGPU: navigator.gpu is undefined (WebGPU needs a secure context, https or ' +
          'localhost, and a browser that ships it; headless Chromium started with --disable-gpu has none)';
      }
      const adapter = await gpu.requestAdapter().catch(() => null);
      return adapter === null ? 'navigator.gpu.requestAdapter() found no WebGPU adapter (no usable GPU)' : null;
    }
    default:
      return `'${name}' is a Node-only backend; a browser offers ${BROWSER_BACKEND_NAMES.join(', ')}`;
  }
}

/** Whether a backend is registered in this page's tfjs (it may still fail to start: see {@link setBackend}). */
export function isBackendAvailable(name: BackendName): boolean {
  return isBrowserBackendName(name) && tf.findBackendFactory(name) !== null;
}

/** The fastest backend registered in this page: webgpu, webgl, wasm, then cpu. */
export function defaultBackendName(): BackendName {
  return BROWSER_BACKEND_NAMES.find(isBackendAvailable) ?? 'cpu';
}

/** The name of the active tfjs backend. */
export function getBackendName(): string {
  return tf.getBackend();
}

/** The folder of the bundle, where scripts/build-browser.js puts the `.wasm` files, or undefined unbundled. */
function bundleFolderUrl(): string | undefined {
  return bundleRelativeUrl('./');
}

/**
 * Makes a backend the active tfjs backend in a browser, with clear errors when it cannot start.
 * The browser build's counterpart of the Node `setBackend`: same names, every browser backend bundled.
 *
 * ```js
 * import { setBackend } from './tfjs-diffusers.esm.js';
 * await setBackend('webgl');                        // or 'webgpu', 'wasm', 'cpu'
 * await setBackend('wasm', { wasmPaths: '/wasm/' }); // where tfjs-backend-wasm*.wasm are served
 * ```
 * WebGL starts with float32 textures only ({@link WEBGL_PRECISION_FLAGS}); a GPU that can only render to
 * half-float textures is refused, since its images would not match the other backends'.
 *
 * @throws when the name is unknown, or saying why the backend cannot start (no WebGL2, no float32 render
 *   targets, no WebGPU, no adapter, wasm files not found).
 */
export async function setBackend(name?: BackendName, options: BrowserBackendOptions = {}): Promise<BackendName> {
  const chosen: string = name ?? defaultBackendName();
  if (!isBrowserBackendName(chosen)) {
    throw new Error(`setBackend: unknown browser backend '${chosen}'; expected one of ${BROWSER_BACKEND_NAMES.join(', ')}`);
  }
  const reason = await reasonBackendCannotStart(chosen);
  if (reason !== null) throw new Error(`setBackend('${chosen}'): ${reason}.`);
  if (chosen === 'webgl') {
    for (const [flag, value] of Object.entries(WEBGL_PRECISION_FLAGS)) tf.env().set(flag, value);
  }
  if (chosen === 'wasm' && tf.findBackend('wasm') === null) {
    const wasmPaths = options.wasmPaths ?? bundleFolderUrl();
    if (wasmPaths !== undefined) setWasmPaths(wasmPaths);
  }

  const hint =
    chosen === 'wasm'
      ? ` (are the tfjs-backend-wasm*.wasm files served at ${options.wasmPaths ?? bundleFolderUrl() ?? "tfjs' default path"}?)`
      : chosen === 'webgl'
        ? ' (the WebGL context could not be created or was lost)'
        : '';
  await startRegisteredBackend(chosen, {
    notRegistered: `setBackend('${chosen}'): tfjs registered no '${chosen}' backend in this environment.`,
    initFailed: `${hint}.`,
  });
  if (chosen === 'webgl' && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) {
    throw new Error(
      `setBackend('webgl'): this GPU cannot render to float32 textures (WEBGL_RENDER_FLOAT32_CAPABLE=` +
        `${tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')}, EXT_color_buffer_float missing); half-float textures ` +
        `would change the images. Use 'wasm' or 'cpu' instead.`,
    );
  }
  return chosen;
}
