import type { LoadPipelineOptions } from '../loading/load-options';
import { loadPipelineComponents } from './load-pipeline-components';
import { hasScheduler, schedulerClass, schedulerClassNames } from '../schedulers/registry';
import type { Scheduler } from '../schedulers/scheduler';
import type { DenoisingModel } from './pipeline-components';
import { checkUNet, schedulerConfigJson, UNet2DPipeline } from './unet2d-pipeline';

/** The scheduler {@link PNDMPipeline} converts every scheduler to (looked up in the registry by this name). */
const PNDM_SCHEDULER_CLASS = 'PNDMScheduler';

/** The components {@link PNDMPipeline} is built from. */
export interface PNDMPipelineComponents {
  unet: DenoisingModel;
  /** Any scheduler, or a diffusers `scheduler_config.json` object: converted with `PNDMScheduler.fromConfig`. */
  scheduler: Scheduler | { toDiffusersConfig(): Record<string, unknown> } | Record<string, unknown>;
  /** Receives `PNDMScheduler.fromConfig`'s warning about ignored config keys. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

/**
 * diffusers' `PNDMPipeline` (0.30.3): unconditional generation with pseudo numerical methods (Liu et al. 2022); any
 * scheduler is converted to `PNDMScheduler` (diffusers: `PNDMScheduler.from_config(scheduler.config)`). Its `step`
 * takes no generator: the run's only noise is the first sample.
 *
 * ```ts
 * const pipeline = await PNDMPipeline.fromPretrained('google/ddpm-cifar10-32');
 * const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 50 });
 * ```
 */
export class PNDMPipeline extends UNet2DPipeline<Scheduler> {
  /** diffusers' class name (`model_index.json` `_class_name`). */
  static readonly className = 'PNDMPipeline';

  constructor({ unet, scheduler, onWarning }: PNDMPipelineComponents) {
    const model = checkUNet('PNDMPipeline', unet);
    const json = schedulerConfigJson('PNDMPipeline', scheduler);
    if (!hasScheduler(PNDM_SCHEDULER_CLASS)) {
      throw new Error(
        `PNDMPipeline: this build has no ${PNDM_SCHEDULER_CLASS} in lib/schedulers/all-schedulers.ts ` +
          `(registered: ${schedulerClassNames().join(', ')})`,
      );
    }
    super('PNDMPipeline', model, schedulerClass(PNDM_SCHEDULER_CLASS).fromConfig(json, { onWarning }), 50);
  }

  /** Loads a pipeline as `DDIMPipeline.fromPretrained` does, its scheduler converted to PNDM. */
  static async fromPretrained(location: string, options: LoadPipelineOptions = {}): Promise<PNDMPipeline> {
    const { unet, schedulerConfig } = await loadPipelineComponents(location, options);
    try {
      return new PNDMPipeline({ unet, scheduler: schedulerConfig, onWarning: options.onWarning });
    } catch (err) {
      unet.dispose();
      throw err;
    }
  }
}
