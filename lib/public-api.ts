// What both entries export: the platform-independent core (noise, schedulers, the UNet, the pipeline, URL loading).
// lib/index.ts (Node) and lib/browser.ts (the page) each re-export this list, then add what only their platform has
// (setBackend and the file, Hub, PNG and CLI services in Node; tf, tfl and the browser setBackend in a page).
export { Generator } from './random/generator';
export { randn } from './random/randn';
export type { RandnOptions, RandnDtype, RandnVariant } from './random/randn';
export { rand } from './random/rand';
export type { RandOptions } from './random/rand';
export { randnTensor } from './random/randn-tensor';
export type { RandnTensorOptions, RandnTensorLayout } from './random/randn-tensor';

// Every scheduler, one line each in all-schedulers.ts.
export * from './schedulers/all-schedulers';
export { DDPM_CIFAR10_SCHEDULER_CONFIG } from './schedulers/ddpm-cifar10-32';
export type { Scheduler, SchedulerClass, SchedulerStepOptions, SchedulerStepOutput, SchedulerFromConfigOptions } from './schedulers/scheduler';
export { schedulerClass, schedulerFromConfig, schedulerClassNames, UnknownSchedulerError } from './schedulers/registry';
export { DDIM_SCHEDULER_CONFIG } from './schedulers/ddim';
export { DDPM_SCHEDULER_CONFIG } from './schedulers/ddpm';
// Their config types (the camelCase `config` of each class, and the unions of its options), so users can type configs.
export type { PNDMSchedulerConfig } from './schedulers/pndm';
export type { DPMSolverMultistepSchedulerConfig, DPMSolverAlgorithmType, DPMSolverType, DPMSolverVarianceType, DPMSolverMultistepStepOptions } from './schedulers/dpm-solver-multistep';
export type { DPMSolverSinglestepSchedulerConfig, DPMSolverSinglestepAlgorithmType } from './schedulers/dpm-solver-singlestep';
export type { UniPCMultistepSchedulerConfig, UniPCSolverType, UniPCOptions } from './schedulers/unipc-multistep';
export type { DEISMultistepSchedulerConfig } from './schedulers/deis-multistep';
export type { DpmCommonConfig, DpmPredictionType, FinalSigmasType } from './schedulers/dpm-solver-common';
export type { EulerDiscreteSchedulerConfig, EulerDiscreteStepOptions } from './schedulers/euler-discrete';
export type { EulerAncestralDiscreteSchedulerConfig, EulerAncestralStepOptions } from './schedulers/euler-ancestral-discrete';
export type { HeunDiscreteSchedulerConfig } from './schedulers/heun-discrete';
export type { LMSDiscreteSchedulerConfig, LMSStepOptions } from './schedulers/lms-discrete';
export type { KDPM2DiscreteSchedulerConfig } from './schedulers/kdpm2-discrete';
export type { KDPM2AncestralDiscreteSchedulerConfig, KDPM2AncestralStepOptions } from './schedulers/kdpm2-ancestral-discrete';
export type { KBetaSchedule, KPredictionType } from './schedulers/k-scheduler-common';

export { UNet2DModel, UNET_METADATA_KEY } from './models/unet/unet-2d-model';
export { parseUNet2DConfig, unet2DConfigToJSON } from './models/unet/config';
export type { UNet2DConfig } from './models/unet/config';
export { DDPM_CIFAR10_32_UNET_CONFIG } from './models/unet/ddpm-cifar10-32';
export { DDPM_256_UNET_CONFIG, DDPM_256_PARAMETERS, DDPM_256_MODELS } from './models/unet/ddpm-256';
export { loadUNetFromUrl } from './models/unet/load-unet';
export type { LoadUNetFromUrlOptions } from './models/unet/load-unet';
export { ConfigError } from './config/config-error';
export { CONFIG_LIMITS } from './config/limits';

export { DDIMPipeline, PipelineCancelledError } from './pipelines/ddim-pipeline';
export type { GenerateOptions, GeneratedImages, OutputType, StepInfo } from './pipelines/ddim-pipeline';
export { MemoryBudgetError, DEFAULT_MEMORY_BUDGET_BYTES, estimateGenerateBytes } from './pipelines/memory-estimate';
export { DDPMPipeline } from './pipelines/ddpm-pipeline';
export type { DDPMPipelineComponents, DDPMPipelineLoadOptions } from './pipelines/ddpm-pipeline';
export { PNDMPipeline } from './pipelines/pndm-pipeline';
export type { PNDMPipelineComponents } from './pipelines/pndm-pipeline';
export { UNet2DPipeline } from './pipelines/unet2d-pipeline';
export type { SchedulerStepInfo, SchedulerGenerateOptions } from './pipelines/denoising-loop';
export { maxBatchPerForwardFor, forwardBytesPerImage, FORWARD_MEMORY_BUDGET_BYTES } from './pipelines/forward-memory';
export { imageAbsSum } from './pipelines/image-abs-sum';
export { floatToByte } from './pipelines/image-bytes';
export { loadPipelineFromUrl, resolvePipelineUrls } from './pipelines/load-pipeline-from-url';
export type { LoadPipelineFromUrlOptions, PipelineUrls } from './pipelines/load-pipeline-from-url';

// The provenance record a PNG carries (tfjs-diffusers generate writes it, the browser demo's download too; `replay`
// reads it). readProvenance, which decodes the pixels, is in the Node entry.
export { stampProvenance, ProvenanceError, PROVENANCE_KEYWORD, PROVENANCE_FORMAT, EMBEDDED_MODEL_NAME } from './pipelines/image-provenance';
export type { ImageProvenance, ProvenanceFields } from './pipelines/image-provenance';
export { provenancePng } from './pipelines/image-png';
export { runProvenance } from './pipelines/run-provenance';
export type { RunSettings } from './pipelines/run-provenance';
export { pipelineContentHash } from './pipelines/pipeline-content-hash';
export { LIBRARY_VERSION } from './pipelines/library-version';
