/**
 * The browser entry of tfjs-diffusers: only the parts that run in a page (no fs, http or child_process is
 * reachable from here). scripts/build-browser.js bundles it into dist/browser/tfjs-diffusers.esm.js with every
 * browser backend (cpu, wasm, webgl, webgpu) and the wasm backend's `.wasm` files beside it.
 *
 * ```js
 * import { setBackend, Generator, randnTensor } from './tfjs-diffusers.esm.js';
 * await setBackend('webgl');
 * const noise = randnTensor([1, 3, 32, 32], { generator: new Generator().manualSeed(0) });
 * ```
 */
export * as tf from '@tensorflow/tfjs-core';
/** tfjs-layers, with this library's custom layers registered: `tfl.loadLayersModel(url)` reads a converted UNet. */
export * as tfl from '@tensorflow/tfjs-layers';
export {
  setBackend,
  getBackendName,
  isBackendAvailable,
  defaultBackendName,
  BROWSER_BACKEND_NAMES,
  WEBGL_PRECISION_FLAGS,
} from './backends/set-backend-browser';
export type { BackendName, BrowserBackendOptions } from './backends/set-backend-browser';
export { randnTensorValues } from './random/randn-tensor';
export { EMBEDDED_MODEL } from './loading/embedded-model-browser';
export * from './public-api';
