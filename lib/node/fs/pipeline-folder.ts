import * as path from 'path';
import { findPipelineLayout } from '../../loading/pipeline-layout';
import { readSchedulerConfig } from '../../pipelines/load-pipeline-components';
import { FsModelSource } from './fs-model-source';

export { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../../schedulers/ddpm-cifar10-32';

/** The parts of a pipeline folder, as found on disk. */
export interface PipelineFolder {
  /** The folder holding the UNet (`<dir>/unet`, or `<dir>` itself for a bare UNet or the flat layout). */
  unetDir: string;
  /** Whether the UNet is already in the tfjs format (`model.json`). */
  unetConverted: boolean;
  /** The scheduler config JSON; the cifar10 DDPM config when the folder has none. */
  schedulerConfig: Record<string, unknown>;
  /** Where the scheduler config came from: a file, or null for the default. */
  schedulerConfigFile: string | null;
  /** `model_index.json`, when there is one. */
  modelIndex: Record<string, unknown> | null;
}

/**
 * The parts of a pipeline folder on disk, in any layout lib/loading/pipeline-layout.ts knows (pipeline, flat,
 * bare UNet, converted), as paths: what `convert` needs to read a folder it then writes anew.
 *
 * ```ts
 * const { unetDir, schedulerConfig } = await readPipelineFolder('ddpm-cifar10-32');
 * ```
 * @throws naming the folder and what it lacks.
 */
export async function readPipelineFolder(dir: string): Promise<PipelineFolder> {
  const source = new FsModelSource(dir);
  const layout = await findPipelineLayout(source);
  const unetFile = layout.unet.format === 'tfjs' ? layout.unet.modelJson : layout.unet.config;
  return {
    unetDir: path.dirname(source.describe(unetFile)),
    unetConverted: layout.unet.format === 'tfjs',
    schedulerConfig: await readSchedulerConfig(source, layout),
    schedulerConfigFile: layout.schedulerConfigFile === null ? null : source.describe(layout.schedulerConfigFile),
    modelIndex: layout.modelIndex,
  };
}
