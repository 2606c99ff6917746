import type { LoadPipelineOptions } from '../loading/load-options';
import type { ModelSource } from '../loading/model-source';
import { findPipelineLayout, PipelineLayout } from '../loading/pipeline-layout';
import { resolveModelSource } from '../loading/platform-loaders';
import { loadUNetFromSource, LoadUNetOptions } from '../models/unet/load-unet';
import type { UNet2DModel } from '../models/unet/unet-2d-model';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../schedulers/ddpm-cifar10-32';

/** What the loader hands to the pipeline. */
export interface LoadedPipelineComponents {
  unet: UNet2DModel;
  /** The scheduler config JSON (diffusers' snake_case), read by the pipeline (`DDIMScheduler.fromConfig`, …). */
  schedulerConfig: Record<string, unknown>;
  /** The folder the components were read from (for a Hub id: the converted cache folder). */
  dir: string;
  /** `model_index.json`'s `_class_name` (`DDIMPipeline`, `DDPMPipeline`, …), or null without one. */
  modelIndexClassName?: string | null;
}

/**
 * The scheduler config of a pipeline layout: its file read as a JSON object or, for a folder with none (a bare UNet),
 * a copy of google/ddpm-cifar10-32's DDPM scheduler config.
 *
 * ```ts
 * const schedulerConfig = await readSchedulerConfig(source, await findPipelineLayout(source));
 * ```
 */
export async function readSchedulerConfig(source: ModelSource, layout: PipelineLayout): Promise<Record<string, unknown>> {
  return layout.schedulerConfigFile === null ? { ...DDPM_CIFAR10_SCHEDULER_CONFIG } : source.readJson(layout.schedulerConfigFile);
}

/**
 * The UNet and the scheduler config of the pipeline in `source`, in any layout `findPipelineLayout` knows. The
 * scheduler config is read (and a bad one refused) before the UNet's weights are.
 *
 * ```ts
 * const { unet, schedulerConfig } = await loadPipelineComponentsFromSource(new FsModelSource('models/tiny-random'));
 * ```
 */
export async function loadPipelineComponentsFromSource(source: ModelSource, options: LoadUNetOptions = {}): Promise<LoadedPipelineComponents> {
  const layout = await findPipelineLayout(source);
  const schedulerConfig = await readSchedulerConfig(source, layout);
  const unet = await loadUNetFromSource(source, layout.unet, options);
  const className = layout.modelIndex?._class_name;
  return { unet, schedulerConfig, dir: source.location, modelIndexClassName: typeof className === 'string' ? className : null };
}

/**
 * `DDIMPipeline.fromPretrained`'s loader: the UNet and the scheduler config of a pipeline from a folder, a `file:`
 * URL, a Hub id (`org/name`, downloaded and converted once into the Hugging Face cache) or an http(s) URL; one code
 * path for all of them (location → {@link resolveModelSource} → layout → reader → UNet2DModel).
 *
 * ```ts
 * const { unet, schedulerConfig } = await loadPipelineComponents('google/ddpm-cifar10-32');
 * ```
 */
export async function loadPipelineComponents(location: string, options: LoadPipelineOptions = {}): Promise<LoadedPipelineComponents> {
  return loadPipelineComponentsFromSource(await resolveModelSource(location, options));
}
