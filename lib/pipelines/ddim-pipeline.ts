import { DDIMScheduler } from '../schedulers/ddim';
import type { LoadPipelineOptions } from '../loading/load-options';
import { loadPipelineComponents } from './load-pipeline-components';
import type { Scheduler } from '../schedulers/scheduler';
import type { GeneratedImages, GenerateOptions, OutputType, SchedulerGenerateOptions } from './denoising-loop';
import type { DenoisingModel } from './pipeline-components';
import { checkUNet, schedulerConfigJson, UNet2DPipeline } from './unet2d-pipeline';

// The loop's types and constants, under the module path they have always had.
export { PipelineCancelledError } from './denoising-loop';
export type { GeneratedImages, GenerateOptions, OutputType, StepInfo } from './denoising-loop';
export { DEFAULT_MAX_BATCH_PER_FORWARD } from './forward-memory';

/** The components {@link DDIMPipeline} is built from. */
export interface DDIMPipelineComponents {
  unet: DenoisingModel;
  /**
   * A scheduler (any: `DDIMScheduler`, `DDPMScheduler`, `DPMSolverMultistepScheduler`, …) or a diffusers
   * `scheduler_config.json` object: converted with `DDIMScheduler.fromConfig`, as diffusers does.
   */
  scheduler: Scheduler | { toDiffusersConfig(): Record<string, unknown> } | Record<string, unknown>;
  /** Receives `DDIMScheduler.fromConfig`'s warning about ignored config keys. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

/**
 * diffusers' `DDIMPipeline` (0.30.3): unconditional image generation with a UNet and a DDIM scheduler, giving the
 * same images as PyTorch for the same seed.
 *
 * ```ts
 * import { DDIMPipeline, Generator, setBackend } from 'tfjs-diffusers';
 * await setBackend('wasm');
 * const pipeline = await DDIMPipeline.fromPretrained('google/ddpm-cifar10-32');
 * const { images } = await pipeline.generate({
 *   generator: new Generator().manualSeed(0), numInferenceSteps: 2, outputType: 'array',
 * });
 * // images.shape = [1, 32, 32, 3]; the sum of |images.data| is 1491.1711, as in PyTorch
 * pipeline.dispose();
 * ```
 */
export class DDIMPipeline extends UNet2DPipeline<DDIMScheduler> {
  /** diffusers' class name (`model_index.json` `_class_name`). */
  static readonly className = 'DDIMPipeline';

  constructor({ unet, scheduler, onWarning }: DDIMPipelineComponents) {
    const model = checkUNet('DDIMPipeline', unet);
    // As diffusers: "make sure scheduler can always be converted to DDIM".
    super('DDIMPipeline', model, DDIMScheduler.fromConfig(schedulerConfigJson('DDIMPipeline', scheduler), { onWarning }), 50);
  }

  /**
   * Loads a pipeline from a diffusers folder (`model_index.json`, `unet/`, `scheduler/`), a folder converted by
   * `tfjs-diffusers convert`, a bare UNet folder (then with google/ddpm-cifar10-32's DDPM scheduler config), or a
   * Hugging Face Hub id such as `google/ddpm-cifar10-32` (downloaded and converted once, then read from the cache).
   *
   * ```ts
   * const pipeline = await DDIMPipeline.fromPretrained('./ddpm-cifar10-32');
   * ```
   */
  static async fromPretrained(location: string, options: LoadPipelineOptions = {}): Promise<DDIMPipeline> {
    const { unet, schedulerConfig } = await loadPipelineComponents(location, options);
    try {
      return new DDIMPipeline({ unet, scheduler: schedulerConfig, onWarning: options.onWarning });
    } catch (err) {
      unet.dispose();
      throw err;
    }
  }

  /**
   * Generates images, as diffusers' `DDIMPipeline.__call__`: noise `randn_tensor((B, C, H, W), generator)`, then for
   * each of the scheduler's timesteps `eps = unet(x, t)` and `x = scheduler.step(eps, t, x, eta, generator)`, then
   * `(x / 2 + 0.5).clamp(0, 1)` in NHWC.
   *
   * ```ts
   * const { images } = await pipeline.generate({ batchSize: 4, generator: new Generator().manualSeed(0), eta: 1 });
   * images.print();  // a [4, 32, 32, 3] tensor
   * images.dispose();
   * ```
   * @throws naming the argument when an option is invalid; a {@link PipelineCancelledError} when cancelled.
   */
  override async generate(options?: GenerateOptions<'tensor'>): Promise<{ images: GeneratedImages['tensor'] }>;
  override async generate<T extends OutputType>(options: GenerateOptions<T> & { outputType: T }): Promise<{ images: GeneratedImages[T] }>;
  override async generate(options: GenerateOptions = {}): Promise<{ images: GeneratedImages[OutputType] }> {
    // DDIMScheduler.step always returns predOriginalSample, so onStep gets a full StepInfo.
    return this.denoise(options as SchedulerGenerateOptions);
  }
}
