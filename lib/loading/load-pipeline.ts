import type { UNet2DModel } from '../models/unet/unet-2d-model';
import type { LoadedPipelineComponents, LoadPipelineOptions } from './load-options';
import { loadUNetFromSource, LoadUNetOptions } from './load-unet';
import type { ModelSource } from './model-source';
import { findPipelineLayout, readSchedulerConfig } from './pipeline-layout';
import { resolveModelSource } from './platform-loaders';

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

/**
 * `UNet2DModel.fromPretrained`'s loader: a UNet from any location {@link resolveModelSource} accepts, in a bare
 * UNet, pipeline or converted layout.
 *
 * ```ts
 * const unet = await loadUNet('models/tiny-random');
 * ```
 */
export async function loadUNet(location: string, options: LoadPipelineOptions = {}): Promise<UNet2DModel> {
  return loadUNetFromSource(await resolveModelSource(location, options));
}
