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
export { Generator } from './random/generator';
export { randn } from './random/randn';
export type { RandnOptions, RandnDtype, RandnVariant } from './random/randn';
export { rand } from './random/rand';
export type { RandOptions } from './random/rand';
export { randnTensor, randnTensorValues } from './random/randn-tensor';
export type { RandnTensorOptions, RandnTensorLayout } from './random/randn-tensor';
export { DDIMScheduler } from './schedulers/ddim';
export { DDPMScheduler } from './schedulers/ddpm';
export { UNet2DModel, UNET_METADATA_KEY } from './models/unet/unet-2d-model';
export { parseUNet2DConfig, unet2DConfigToJSON } from './models/unet/config';
export { ConfigError } from './config/config-error';
export { CONFIG_LIMITS } from './config/limits';
export type { UNet2DConfig } from './models/unet/config';
export { DDPM_CIFAR10_32_UNET_CONFIG } from './models/unet/ddpm-cifar10-32';
export { DDPM_CIFAR10_SCHEDULER_CONFIG } from './schedulers/ddpm-cifar10-32';
export { loadUNetFromUrl } from './models/unet/load-from-url';
export type { LoadUNetFromUrlOptions } from './models/unet/load-from-url';
export { DDIMPipeline, PipelineCancelledError } from './pipelines/ddim-pipeline';
export { MemoryBudgetError, DEFAULT_MEMORY_BUDGET_BYTES, estimateGenerateBytes } from './pipelines/memory-estimate';
export type { GenerateOptions, GeneratedImages, OutputType, StepInfo } from './pipelines/ddim-pipeline';
export { imageAbsSum } from './pipelines/image-abs-sum';
export { floatToByte } from './pipelines/image-bytes';
export { loadPipelineFromUrl, resolvePipelineUrls } from './pipelines/load-pipeline-from-url';
export { EMBEDDED_MODEL } from './loading/embedded-model-browser';
export type { LoadPipelineFromUrlOptions, PipelineUrls } from './pipelines/load-pipeline-from-url';
