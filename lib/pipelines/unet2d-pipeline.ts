/**
 * What the unconditional pipelines share (`DDIMPipeline`, `DDPMPipeline`, `PNDMPipeline`, as diffusers has them): a
 * UNet, a scheduler, and `generate`, which runs the one denoising loop of denoising-loop.ts. Each pipeline only says
 * which scheduler it runs (DDIM converts any scheduler to DDIM, PNDM to PNDM, DDPM runs the one it is given) and its
 * default number of steps.
 */
import type { Scheduler } from '../schedulers/scheduler';
import { denoise, GeneratedImages, noiseShapeNCHW, OutputType, SchedulerGenerateOptions } from './denoising-loop';
import type { DenoisingModel } from './pipeline-components';

/** A scheduler instance (it has `step` and `setTimesteps`), as opposed to a scheduler config object. */
export function isSchedulerInstance(value: unknown): value is Scheduler {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Scheduler).step === 'function' &&
    typeof (value as Scheduler).setTimesteps === 'function' &&
    typeof (value as Scheduler).toDiffusersConfig === 'function'
  );
}

/**
 * A scheduler's diffusers JSON (`toDiffusersConfig()`), or the config object itself: what a pipeline that converts
 * schedulers (diffusers' `X.from_config(scheduler.config)`) reads.
 */
export function schedulerConfigJson(owner: string, scheduler: unknown): Record<string, unknown> {
  if (!scheduler || typeof scheduler !== 'object') {
    throw new Error(`${owner}: scheduler must be a scheduler or a scheduler config object, got ${String(scheduler)}`);
  }
  const withJson = scheduler as { toDiffusersConfig?: unknown };
  return typeof withJson.toDiffusersConfig === 'function'
    ? (withJson.toDiffusersConfig as () => Record<string, unknown>)()
    : (scheduler as Record<string, unknown>);
}

/** The UNet check every pipeline constructor starts with. */
export function checkUNet(owner: string, unet: unknown): DenoisingModel {
  const model = unet as DenoisingModel | undefined;
  if (!model || typeof model.predict !== 'function' || !model.config) {
    throw new Error(`${owner}: unet must be a UNet2DModel (an object with config and predict(sampleNHWC, t))`);
  }
  return model;
}

/** The base of the unconditional pipelines: see the module comment. */
export abstract class UNet2DPipeline<S extends Scheduler = Scheduler> {
  protected constructor(
    /** The pipeline's class name, as diffusers' `model_index.json` `_class_name` (`DDIMPipeline`, …). */
    readonly pipelineName: string,
    readonly unet: DenoisingModel,
    readonly scheduler: S,
    /** `numInferenceSteps` when `generate` is given none (diffusers' default of the pipeline). */
    readonly defaultSteps: number,
  ) {}

  /** The NCHW shape torch draws the initial noise in: [batch, in_channels, height, width]. */
  noiseShapeNCHW(batchSize: number): [number, number, number, number] {
    return noiseShapeNCHW(this.unet, batchSize, this.pipelineName);
  }

  /**
   * Generates images: noise `randn_tensor((B, C, H, W), generator)` × `initNoiseSigma`, then for each of the
   * scheduler's timesteps `eps = unet(scaleModelInput(x, t), t)` and `x = scheduler.step(eps, t, x, …)`, then
   * `(x / 2 + 0.5).clamp(0, 1)` in NHWC.
   *
   * ```ts
   * const { images } = await pipeline.generate({ batchSize: 4, generator: new Generator().manualSeed(0) });
   * images.print();  // a [4, 32, 32, 3] tensor
   * images.dispose();
   * ```
   * @throws naming the argument when an option is invalid; a `PipelineCancelledError` when cancelled.
   */
  async generate(options?: SchedulerGenerateOptions<'tensor'>): Promise<{ images: GeneratedImages['tensor'] }>;
  async generate<T extends OutputType>(options: SchedulerGenerateOptions<T> & { outputType: T }): Promise<{ images: GeneratedImages[T] }>;
  async generate(options: SchedulerGenerateOptions = {}): Promise<{ images: GeneratedImages[OutputType] }> {
    return this.denoise(options);
  }

  /** The loop of denoising-loop.ts over this pipeline's UNet and scheduler. */
  protected denoise(options: SchedulerGenerateOptions): Promise<{ images: GeneratedImages[OutputType] }> {
    return denoise(
      { unet: this.unet, scheduler: this.scheduler, owner: `${this.pipelineName}.generate`, defaultSteps: this.defaultSteps },
      options,
    );
  }

  /** Frees the UNet's weights. */
  dispose(): void {
    this.unet.dispose();
  }
}
