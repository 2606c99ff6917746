// Public exports only.
export { setBackend, getBackendName, defaultBackendName, isBackendAvailable, BACKEND_NAMES } from './backends/set-backend';
export type { BackendName } from './backends/set-backend';

export { Generator, DEFAULT_SEED } from './random/generator';
export type { GeneratorState } from './random/generator';
export { randn } from './random/randn';
export type { RandnOptions, RandnDtype, RandnVariant } from './random/randn';
export { randnTensor } from './random/randn-tensor';
export type { RandnTensorOptions, RandnTensorLayout } from './random/randn-tensor';
