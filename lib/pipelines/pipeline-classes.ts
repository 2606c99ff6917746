/**
 * The unconditional pipelines by diffusers class name (`model_index.json` `_class_name`) and by the CLI's short
 * name (`--pipeline ddim|ddpm|pndm`), and the loader that picks one for a model folder.
 *
 * ```ts
 * const pipeline = await loadPipeline('google/ddpm-cifar10-32', { pipeline: 'ddpm' });
 * pipeline.pipelineName;  // 'DDPMPipeline'
 * ```
 */
import type { LoadPipelineOptions } from '../loading/load-options';
import { loadPipelineComponents } from './load-pipeline-components';
import type { Scheduler } from '../schedulers/scheduler';
import { DDIMPipeline } from './ddim-pipeline';
import { DDPMPipeline } from './ddpm-pipeline';
import type { DenoisingModel } from './pipeline-components';
import { PNDMPipeline } from './pndm-pipeline';
import type { UNet2DPipeline } from './unet2d-pipeline';

/** The short names of `--pipeline`. */
export const PIPELINE_NAMES = ['ddim', 'ddpm', 'pndm'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

/** A pipeline class: built from a UNet and a scheduler (instance or config object). */
export interface PipelineClass<P extends UNet2DPipeline = UNet2DPipeline> {
  readonly className: string;
  new (components: { unet: DenoisingModel; scheduler: Scheduler | Record<string, unknown>; onWarning?: (message: string) => void }): P;
}

/** The pipeline classes by short name. */
export const PIPELINE_CLASSES: Readonly<Record<PipelineName, PipelineClass>> = Object.freeze({
  ddim: DDIMPipeline,
  ddpm: DDPMPipeline,
  pndm: PNDMPipeline,
});

/** The short name of a diffusers pipeline class name (`DDPMPipeline` → `ddpm`), or undefined for another class. */
export function pipelineNameOf(className: unknown): PipelineName | undefined {
  return PIPELINE_NAMES.find((name) => PIPELINE_CLASSES[name].className === className);
}

/** Options of {@link loadPipeline}. */
export interface LoadAnyPipelineOptions extends LoadPipelineOptions {
  /** Which pipeline; default: the folder's `model_index.json` `_class_name`, else `ddim`. */
  pipeline?: PipelineName;
  /**
   * The scheduler: an instance (run as it is by `ddpm`, converted by `ddim` and `pndm`), or a function of the
   * folder's scheduler config JSON that returns an instance or a config. Default: the folder's config.
   */
  scheduler?: Scheduler | ((folderConfig: Record<string, unknown>) => Scheduler | Record<string, unknown>);
}

/**
 * Loads the pipeline of a folder, Hub id or URL (as `DDIMPipeline.fromPretrained`), of the class `options.pipeline`
 * names or the folder's `model_index.json` says (a folder without one, or of another class: `DDIMPipeline`).
 */
export async function loadPipeline(location: string, options: LoadAnyPipelineOptions = {}): Promise<UNet2DPipeline> {
  const { unet, schedulerConfig, modelIndexClassName } = await loadPipelineComponents(location, options);
  try {
    const name = options.pipeline ?? pipelineNameOf(modelIndexClassName) ?? 'ddim';
    const Pipeline = PIPELINE_CLASSES[name];
    const scheduler = typeof options.scheduler === 'function' ? options.scheduler(schedulerConfig) : options.scheduler ?? schedulerConfig;
    return new Pipeline({ unet, scheduler, onWarning: options.onWarning });
  } catch (err) {
    unet.dispose();
    throw err;
  }
}
