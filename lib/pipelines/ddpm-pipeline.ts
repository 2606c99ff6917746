import type { LoadPipelineOptions } from '../loading/load-options';
import { loadPipelineComponents } from './load-pipeline-components';
import { schedulerFromConfig } from '../schedulers/registry';
import type { Scheduler } from '../schedulers/scheduler';
import type { DenoisingModel } from './pipeline-components';
import { checkUNet, isSchedulerInstance, schedulerConfigJson, UNet2DPipeline } from './unet2d-pipeline';

/** The components {@link DDPMPipeline} is built from. */
export interface DDPMPipelineComponents {
  unet: DenoisingModel;
  /**
   * The scheduler it runs: any scheduler instance (used as it is), or a diffusers `scheduler_config.json` object
   * (the class its `_class_name` names; `DDPMScheduler` when it has none).
   */
  scheduler: Scheduler | Record<string, unknown>;
  /** Receives `fromConfig`'s warning about ignored config keys (config objects only). Default `console.warn`. */
  onWarning?: (message: string) => void;
}

/** Options of {@link DDPMPipeline.fromPretrained}: the loader's, plus the scheduler to run instead of the folder's. */
export interface DDPMPipelineLoadOptions extends LoadPipelineOptions {
  /** Any scheduler instance, e.g. `DPMSolverMultistepScheduler.fromConfig(folderConfig)`; default: the folder's. */
  scheduler?: Scheduler;
}

/**
 * diffusers' `DDPMPipeline` (0.30.3): unconditional generation with whatever scheduler it is given (diffusers'
 * `DDPMPipeline(unet, scheduler)` runs `scheduler` as it is). Unlike diffusers' pipeline, the loop multiplies the
 * first noise by `initNoiseSigma`, calls `scaleModelInput` and passes the generator only to a `step` that takes one,
 * so the σ-based schedulers (Euler, Heun, LMS, KDPM2) are correct and PNDM, UniPC, DEIS run (diffusers raises a
 * `TypeError` for them); for DDPM, DDIM, PNDM, DPM-Solver, UniPC and DEIS these are no-ops (see docs/schedulers.md).
 *
 * ```ts
 * const base = await DDPMPipeline.fromPretrained('google/ddpm-cifar10-32');
 * const pipeline = new DDPMPipeline({
 *   unet: base.unet, scheduler: DPMSolverMultistepScheduler.fromConfig(base.scheduler.config),
 * });
 * const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 20 });
 * ```
 */
export class DDPMPipeline extends UNet2DPipeline<Scheduler> {
  /** diffusers' class name (`model_index.json` `_class_name`). */
  static readonly className = 'DDPMPipeline';

  constructor({ unet, scheduler, onWarning }: DDPMPipelineComponents) {
    const model = checkUNet('DDPMPipeline', unet);
    const runs = isSchedulerInstance(scheduler)
      ? scheduler
      : schedulerFromConfig(schedulerConfigJson('DDPMPipeline', scheduler), { onWarning, defaultClassName: 'DDPMScheduler' });
    // diffusers' DDPMPipeline defaults to 1000 steps.
    super('DDPMPipeline', model, runs, 1000);
  }

  /**
   * Loads a pipeline as `DDIMPipeline.fromPretrained` does (folders, converted folders, Hub ids), running
   * `options.scheduler` when given, else the scheduler the folder's config names.
   *
   * ```ts
   * const pipeline = await DDPMPipeline.fromPretrained('google/ddpm-cifar10-32', {
   *   scheduler: new DPMSolverMultistepScheduler({ algorithmType: 'dpmsolver++' }),
   * });
   * ```
   */
  static async fromPretrained(location: string, options: DDPMPipelineLoadOptions = {}): Promise<DDPMPipeline> {
    if (options.scheduler !== undefined && !isSchedulerInstance(options.scheduler)) {
      throw new Error('DDPMPipeline.fromPretrained: options.scheduler must be a scheduler instance (with setTimesteps, step, toDiffusersConfig)');
    }
    const { unet, schedulerConfig } = await loadPipelineComponents(location, options);
    try {
      return new DDPMPipeline({ unet, scheduler: options.scheduler ?? schedulerConfig, onWarning: options.onWarning });
    } catch (err) {
      unet.dispose();
      throw err;
    }
  }
}
