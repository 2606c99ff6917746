import { HttpModelSource } from '../loading/http-model-source';
import { loadPipelineComponentsFromSource, readSchedulerConfig } from './load-pipeline-components';
import { findPipelineLayout, ModelLayoutError, modelFolderUrl } from '../loading/pipeline-layout';
import type { LoadUNetFromUrlOptions } from '../models/unet/load-unet';
import type { Scheduler } from '../schedulers/scheduler';
import { DDIMPipeline } from './ddim-pipeline';
import { PIPELINE_CLASSES, PipelineName, pipelineNameOf } from './pipeline-classes';
import type { UNet2DPipeline } from './unet2d-pipeline';

/** Options of {@link loadPipelineFromUrl}. */
export interface LoadPipelineFromUrlOptions extends LoadUNetFromUrlOptions {
  /** Receives the scheduler's `fromConfig` warning about ignored config keys. Default `console.warn`. */
  onWarning?: (message: string) => void;
  /**
   * Which pipeline: 'ddim' (the default, as before), 'ddpm', 'pndm', or 'auto' for the one the folder's
   * `model_index.json` `_class_name` names (DDIM when it has none).
   */
  pipeline?: PipelineName | 'auto';
  /** A scheduler instance to use instead of the folder's config (run as it is by 'ddpm', converted by the others). */
  scheduler?: Scheduler;
}

/** What {@link resolvePipelineUrls} found: where the UNet's model.json is, and the scheduler config. */
export interface PipelineUrls {
  unetModelJsonUrl: string;
  schedulerConfig: Record<string, unknown>;
  /** The URL the scheduler config came from, or null for `DDPM_CIFAR10_SCHEDULER_CONFIG` (the default). */
  schedulerConfigUrl: string | null;
}

/** The source for a pipeline URL: the folder, or the folder of a bare UNet's `model.json`. */
function pipelineSource(url: string, options: LoadUNetFromUrlOptions): HttpModelSource {
  if (typeof url !== 'string' || url.length === 0) {
    throw new TypeError(`loadPipelineFromUrl: url must be a pipeline folder URL or a model.json URL, got ${JSON.stringify(url)}`);
  }
  return new HttpModelSource(modelFolderUrl(url), options);
}

/**
 * Finds a converted pipeline's parts over HTTP, in the layouts `DDIMPipeline.fromPretrained` reads (see
 * lib/loading/pipeline-layout.ts): a folder converted by `tfjs-diffusers convert`, the flat layout (`model.json` +
 * `scheduler_config.json`), or the URL of a bare UNet `model.json` (then with google/ddpm-cifar10-32's DDPM
 * scheduler config).
 */
export async function resolvePipelineUrls(url: string, options: LoadUNetFromUrlOptions = {}): Promise<PipelineUrls> {
  const source = pipelineSource(url, options);
  const layout = await findPipelineLayout(source);
  if (layout.unet.format !== 'tfjs') {
    throw new ModelLayoutError(source.describe(layout.unet.config), 'is a diffusers checkpoint, not a converted model.json: load it with loadPipelineFromUrl');
  }
  return {
    unetModelJsonUrl: source.describe(layout.unet.modelJson),
    schedulerConfig: await readSchedulerConfig(source, layout),
    schedulerConfigUrl: layout.schedulerConfigFile === null ? null : source.describe(layout.schedulerConfigFile),
  };
}

/**
 * `DDIMPipeline.fromPretrained` (or, with `options.pipeline`, the DDPM or PNDM pipeline's) for a pipeline served over
 * HTTP: works in browsers (and in Node 18+), reads no files. The same loader as `fromPretrained`
 * (lib/pipelines/load-pipeline-components.ts) over an {@link HttpModelSource}: a
 * converted folder, a diffusers folder or a bare UNet `model.json` URL.
 *
 * ```js
 * const pipeline = await loadPipelineFromUrl('models/tiny-random/');   // relative to the page
 * const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2,
 *   outputType: 'array' });
 * ```
 * @throws naming the URL that is missing or malformed.
 */
export async function loadPipelineFromUrl(url: string, options?: LoadPipelineFromUrlOptions & { pipeline?: 'ddim' }): Promise<DDIMPipeline>;
export async function loadPipelineFromUrl(url: string, options: LoadPipelineFromUrlOptions): Promise<UNet2DPipeline>;
export async function loadPipelineFromUrl(url: string, options: LoadPipelineFromUrlOptions = {}): Promise<UNet2DPipeline> {
  const { unet, schedulerConfig, modelIndexClassName } = await loadPipelineComponentsFromSource(pipelineSource(url, options), options);
  try {
    const name = options.pipeline === 'auto' ? pipelineNameOf(modelIndexClassName) ?? 'ddim' : options.pipeline ?? 'ddim';
    const Pipeline = PIPELINE_CLASSES[name];
    if (Pipeline === undefined) throw new TypeError(`loadPipelineFromUrl: pipeline must be 'ddim', 'ddpm', 'pndm' or 'auto', got ${JSON.stringify(options.pipeline)}`);
    return new Pipeline({ unet, scheduler: options.scheduler ?? schedulerConfig, onWarning: options.onWarning });
  } catch (err) {
    unet.dispose();
    throw err;
  }
}
