// Public exports only.
export { setBackend, getBackendName, defaultBackendName, isBackendAvailable, BACKEND_NAMES } from './backends/set-backend';
export type { BackendName } from './backends/set-backend';

export { Generator, DEFAULT_SEED } from './random/generator';
export type { GeneratorState } from './random/generator';
export { randn } from './random/randn';
export type { RandnOptions, RandnDtype, RandnVariant } from './random/randn';
export { randnTensor } from './random/randn-tensor';
export type { RandnTensorOptions, RandnTensorLayout } from './random/randn-tensor';

export { readSafetensors, parseSafetensorsHeader } from './io/safetensors';
export { readTorchCheckpoint } from './io/torch-pickle';
export { readStateDict, readWeightFile, findWeightFile, WEIGHT_FILE_NAMES } from './io/read-state-dict';
export { CheckpointError } from './io/checkpoint-error';
export type { NamedTensor, StateDict } from './io/state-dict';
export { snapshotDownload, hfHubDownload, resolvePipelineFiles, resolveModelPath, HubError, HubFileNotFoundError } from './io/hub';
export type { HubDownloadOptions, HubProgress } from './io/hub';
export { defaultHubCacheDir, looksLikeRepoId } from './io/hub-cache';
