// The Node entry: public exports only (the core both entries share is lib/public-api.ts). Importing it plugs the Node
// file, Hub and PNG services into the core.
import './node/register-node-loaders';

export {
  setBackend,
  getBackendName,
  defaultBackendName,
  isBackendAvailable,
  BACKEND_NAMES,
  WasmThreadsChangeError,
} from './node/backends/set-backend';
export type { BackendName, SetBackendOptions } from './node/backends/set-backend';
export { wasmBackendInfo, MAX_WASM_THREADS } from './node/backends/wasm-threads';
export { listWebGpuAdapters, webGpuBackendInfo, WebGpuUnavailableError, WEBGPU_ADAPTER_ENV } from './node/backends/dawn-webgpu';
export type { WebGpuAdapter, WebGpuAdapterChoice, WebGpuBackendInfo } from './node/backends/dawn-webgpu';
export type { WasmThreadsSetting, WasmBackendInfo } from './node/backends/wasm-threads';
export {
  enableNativeKernels,
  disableNativeKernels,
  nativeKernelsEnabled,
  nativeKernelsStatus,
  nativeKernelUsage,
  resetNativeKernelUsage,
  setNativeThreads,
} from './node/backends/native';
export type { NativeKernelsStatus, NativeKernelUsage, NativeAddonInfo } from './node/backends/native';

export * from './public-api';

export { DEFAULT_SEED } from './random/generator';
export type { GeneratorState } from './random/generator';

export { readSafetensors, parseSafetensorsHeader } from './io/safetensors';
export { readTorchCheckpoint } from './io/torch-pickle';
export { readStateDict, readWeightFile, findWeightFile, WEIGHT_FILE_NAMES } from './node/fs/read-state-dict';
export { CheckpointError } from './io/checkpoint-error';
export { parseBoundedJson, BoundedJsonError, DEFAULT_JSON_LIMITS } from './io/bounded-json';
export type { JsonLimits } from './io/bounded-json';
export { readRegularFile, readJsonFile, FileReadError, MAX_WEIGHT_FILE_BYTES } from './node/fs/read-file';
export { MAX_TENSOR_COUNT, MAX_TENSOR_RANK, SAFETENSORS_MAX_HEADER_BYTES, MAX_JSON_FILE_BYTES } from './io/reader-limits';
export type { NamedTensor, StateDict } from './io/state-dict';
export { snapshotDownload, hfHubDownload, resolvePipelineFiles, resolveModelPath } from './node/hub/hub';
export * from './node/hub/errors';
export type { HubDownloadOptions, HubProgress, HubClientOptions } from './node/hub/hub';
export { defaultHubCacheDir, looksLikeRepoId } from './node/hub/cache';

export { ddimStepCoefficients } from './schedulers/ddim';
export type { DDIMStepOptions, DDIMStepOutput, DDIMStepCoefficients, DDIMTables } from './schedulers/ddim';
export type { DDPMStepOptions, DDPMStepOutput, DDPMStepCoefficients } from './schedulers/ddpm';
export { betasForAlphaBar, rescaleZeroTerminalSnr, linspaceFloat32, spacedTimesteps } from './schedulers/schedule';
export type { BetaSchedule, DDPMBetaSchedule, TimestepSpacing, AlphaTransformType } from './schedulers/schedule';
export { DDIM_SCHEDULER_DEFAULTS, DDPM_SCHEDULER_DEFAULTS, parseSchedulerConfig } from './schedulers/config';
export type {
  DDIMSchedulerConfig,
  DDPMSchedulerConfig,
  PredictionType,
  VarianceType,
  FromConfigOptions,
  WarningSink,
  ParsedSchedulerConfig,
} from './schedulers/config';
export { thresholdSample, dynamicThresholds } from './schedulers/thresholding';
export type { Scheduler, SchedulerClass, SchedulerStepOptions, SchedulerStepOutput, SchedulerFromConfigOptions } from './schedulers/scheduler';
export { schedulerClass, schedulerFromConfig, schedulerClassNames, hasScheduler, UnknownSchedulerError } from './schedulers/registry';
export { KARRAS_DIFFUSION_SCHEDULERS } from './schedulers/compatibles';
export { defineSchedulerConfig, SCHEDULER_FIELDS, camelToSnake } from './schedulers/scheduler-config';
export type { SchedulerConfigDefinition } from './schedulers/scheduler-config';
export type { SampleLayout, VarianceNoiseOptions } from './schedulers/step-inputs';
export type { Timesteps } from './schedulers/noising';

export type { TimestepInput, UNet2DSaveOptions, UNet2DMetadata } from './models/unet/unet-2d-model';
export { UNET_2D_DEFAULTS } from './models/unet/config';
export type { ParseUNet2DConfigOptions } from './models/unet/config';
export { readUNet2DConfig } from './node/fs/read-unet-2d-config';
export type { DownBlockType, UpBlockType } from './models/unet/config';
export { DDPM_CIFAR10_32_PARAMETERS } from './models/unet/ddpm-cifar10-32';
export { convertCheckpoint } from './node/convert/convert-checkpoint';
export type { ConvertOptions, ConvertSummary } from './node/convert/convert-checkpoint';
export { StateDictMismatchError } from './models/unet/state-dict-mapping';
export { fileSystemHandler } from './node/fs/tfjs-fs-handler';
// Importing these registers the custom layers, so that tf.loadLayersModel can read a converted model.
export { GroupNorm } from './models/unet/layers/group-norm';
export { Attention } from './models/unet/layers/attention';
export { ResnetBlock2D } from './models/unet/layers/resnet-block-2d';
export { Downsample2D } from './models/unet/layers/downsample-2d';
export { Upsample2D } from './models/unet/layers/upsample-2d';
export { TimestepsLayer } from './models/unet/layers/timesteps';
export { TimestepEmbedding } from './models/unet/layers/timestep-embedding';

export { DEFAULT_MAX_BATCH_PER_FORWARD } from './pipelines/ddim-pipeline';
export type { DDIMPipelineComponents } from './pipelines/ddim-pipeline';
export type { DenoisingModel } from './pipelines/pipeline-components';
export { convertPipelineFolder } from './node/convert/convert-pipeline';
export type { ConvertPipelineSummary } from './node/convert/convert-pipeline';
export { downloadAndConvert, convertedCacheDir } from './node/open-model-source';
export { EMBEDDED_MODEL, EMBEDDED_MODEL_DIR } from './node/embedded-model';
export { loadPipelineComponents, loadPipelineComponentsFromSource } from './pipelines/load-pipeline-components';
export { loadUNetFromSource } from './models/unet/load-unet';
export type { LoadUNetOptions } from './models/unet/load-unet';
export { ModelSourceError, ModelFileNotFoundError, ModelFileTooLargeError, ModelJsonError } from './loading/model-source';
export type { ModelSource } from './loading/model-source';
export { HttpModelSource } from './loading/http-model-source';
export type { HttpModelSourceOptions } from './loading/http-model-source';
export { FsModelSource } from './node/fs/fs-model-source';
export { ModelLayoutError } from './loading/pipeline-layout';
export { unet2DWeightSpecs, unet2DParameterCount } from './models/unet/weight-specs';
export type { UNet2DWeightSpec } from './models/unet/weight-specs';
export type { LoadPipelineOptions } from './loading/load-options';
export type { LoadedPipelineComponents } from './pipelines/load-pipeline-components';
export { readPipelineFolder } from './node/fs/pipeline-folder';
export { encodePng, decodePng, gridLayout, PngDecodeError } from './node/png';
// Reads and checks the provenance record a PNG carries (what `replay` reads; the pixel digest decodes with pngjs).
export { readProvenance } from './pipelines/image-provenance';
export type { ReadProvenance } from './pipelines/image-provenance';
export type { ImagesNHWC, DecodedPng } from './node/png';

// The CLI in-process: `main(['generate', '--seed', '1'])` resolves to the exit code (docs/api.md).
export { main } from './node/cli/main';
export type { CliIO } from './node/cli/cli-io';
