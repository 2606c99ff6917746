import * as tf from '@tensorflow/tfjs-core';
import type { Generator } from '../random/generator';
import { randnTensor } from '../random/randn-tensor';
import { DDIMScheduler } from '../schedulers/ddim';
import type { ImagesNHWC } from './image-bytes';
import type { DenoisingModel } from './pipeline-components';
import type { LoadPipelineOptions } from '../loading/load-options';
import { platformLoader } from '../loading/platform-loaders';
import { loadPipelineComponents } from '../loading/load-pipeline';
import { checkGenerateMemory } from './memory-estimate';

/** What `generate` returns as `images`: a tfjs tensor, a plain float array, or one PNG file per image. */
export type OutputType = 'tensor' | 'array' | 'png';

/** `images` for each {@link OutputType}. */
export interface GeneratedImages {
  /** NHWC float32 in [0, 1] on the active backend; the caller disposes it. */
  tensor: tf.Tensor4D;
  /** NHWC float32 in [0, 1], row-major, as diffusers' `output_type="np"`. */
  array: ImagesNHWC & { data: Float32Array };
  /** One encoded PNG per image, bytes as diffusers' `numpy_to_pil` (its `output_type="pil"`). */
  png: Uint8Array[];
}

/** What `onStep` receives after each denoising step. */
export interface StepInfo {
  /** Steps done so far, 1 … numSteps. */
  step: number;
  numSteps: number;
  /** The timestep this step denoised from. */
  timestep: number;
  /** Milliseconds since `generate` started (noise included). */
  elapsedMs: number;
  /** x_{t-1} after this step, NHWC. Owned by the pipeline and valid only during the callback (`clone()` to keep). */
  sampleNHWC: tf.Tensor4D;
  /** The UNet's output at this step, NHWC; valid only during the callback. */
  modelOutputNHWC: tf.Tensor4D;
  /** The scheduler's predicted x_0 at this step, NHWC; valid only during the callback. */
  predOriginalSampleNHWC: tf.Tensor4D;
}

/** The arguments of {@link DDIMPipeline.generate}: diffusers' `DDIMPipeline.__call__` in camelCase, plus progress. */
export interface GenerateOptions<T extends OutputType = OutputType> {
  /** Images to make (default 1). */
  batchSize?: number;
  /**
   * The source of all noise: one generator for the whole batch (torch fills the batch as one stream), or one per
   * image (length must equal `batchSize`). Without one the run is not reproducible: the noise comes from freshly,
   * randomly seeded generators (there is no hidden global generator; see docs/reproducibility.md).
   */
  generator?: Generator | Generator[];
  /** DDIM's η (default 0: deterministic DDIM; 1: DDPM-like). With η > 0 every step draws noise from `generator`. */
  eta?: number;
  /** Denoising steps (default 50). */
  numInferenceSteps?: number;
  /** Passed to `DDIMScheduler.step`; undefined behaves as false. */
  useClippedModelOutput?: boolean;
  /** Default `'tensor'`. */
  outputType?: T;
  /** Called after each step; return `false` to cancel (generate then rejects with a {@link PipelineCancelledError}). */
  onStep?: (info: StepInfo) => boolean | void | Promise<boolean | void>;
  /** Cancels between steps when aborted (a {@link PipelineCancelledError}). */
  signal?: AbortSignal;
  /**
   * The most images one UNet call gets; bigger batches run as several calls per step. The noise is still drawn for
   * the whole batch at once, exactly as torch draws it, so this changes memory use, never the result.
   * Default {@link DEFAULT_MAX_BATCH_PER_FORWARD}.
   */
  maxBatchPerForward?: number;
  /** Bytes the run may need at its peak, estimated before anything is allocated (a {@link MemoryBudgetError}
   * otherwise). Default {@link DEFAULT_MEMORY_BUDGET_BYTES} (4 GiB). */
  memoryBudgetBytes?: number;
}

/**
 * Images per UNet forward when `maxBatchPerForward` is not given. The wasm backend's heap stops near 4 GiB; a
 * google/ddpm-cifar10-32 forward keeps roughly 20 MB of activations per 32×32 image, so 16 images stay far below it
 * while still batching well on every backend.
 */
export const DEFAULT_MAX_BATCH_PER_FORWARD = 16;

/** The error `generate` rejects with when `onStep` returns false or its `signal` aborts. */
export class PipelineCancelledError extends Error {
  override name = 'PipelineCancelledError';
}

/** The components {@link DDIMPipeline} is built from. */
export interface DDIMPipelineComponents {
  unet: DenoisingModel;
  /**
   * A scheduler (`DDIMScheduler`, `DDPMScheduler`: anything with `toDiffusersConfig()`) or a diffusers
   * `scheduler_config.json` object: converted with `DDIMScheduler.fromConfig`, as diffusers does.
   */
  scheduler: { toDiffusersConfig(): Record<string, unknown> } | Record<string, unknown>;
  /** Receives `DDIMScheduler.fromConfig`'s warning about ignored config keys. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

function checkPositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`DDIMPipeline.generate: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
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
export class DDIMPipeline {
  readonly unet: DenoisingModel;
  readonly scheduler: DDIMScheduler;

  constructor({ unet, scheduler, onWarning }: DDIMPipelineComponents) {
    if (!unet || typeof unet.predict !== 'function' || !unet.config) {
      throw new Error('DDIMPipeline: unet must be a UNet2DModel (an object with config and predict(sampleNHWC, t))');
    }
    if (!scheduler || typeof scheduler !== 'object') {
      throw new Error(`DDIMPipeline: scheduler must be a scheduler or a scheduler config object, got ${String(scheduler)}`);
    }
    const json = typeof scheduler.toDiffusersConfig === 'function' ? (scheduler.toDiffusersConfig as () => Record<string, unknown>)() : scheduler;
    this.unet = unet;
    // As diffusers: "make sure scheduler can always be converted to DDIM".
    this.scheduler = DDIMScheduler.fromConfig(json, { onWarning });
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

  /** The NCHW shape torch draws the initial noise in: [batch, in_channels, height, width]. */
  noiseShapeNCHW(batchSize: number): [number, number, number, number] {
    const { inChannels: channels, sampleSize: size } = this.unet.config;
    if (typeof size === 'number') return [batchSize, channels, size, size];
    if (Array.isArray(size) && size.length === 2) return [batchSize, channels, size[0], size[1]];
    throw new Error(`DDIMPipeline: unet config sample_size must be an int or [height, width], got ${JSON.stringify(size)}`);
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
  async generate(options?: GenerateOptions<'tensor'>): Promise<{ images: GeneratedImages['tensor'] }>;
  async generate<T extends OutputType>(options: GenerateOptions<T> & { outputType: T }): Promise<{ images: GeneratedImages[T] }>;
  async generate(options: GenerateOptions = {}): Promise<{ images: GeneratedImages[OutputType] }> {
    const {
      batchSize = 1,
      eta = 0,
      numInferenceSteps = 50,
      useClippedModelOutput,
      outputType = 'tensor',
      onStep,
      signal,
      maxBatchPerForward = DEFAULT_MAX_BATCH_PER_FORWARD,
    } = options;
    checkPositiveInteger('batchSize', batchSize);
    checkPositiveInteger('numInferenceSteps', numInferenceSteps);
    checkPositiveInteger('maxBatchPerForward', maxBatchPerForward);
    if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
      throw new Error(`DDIMPipeline.generate: eta must be a finite number >= 0, got ${String(eta)}`);
    }
    if (!['tensor', 'array', 'png'].includes(outputType)) {
      throw new Error(`DDIMPipeline.generate: outputType must be 'tensor', 'array' or 'png', got ${JSON.stringify(outputType)}`);
    }
    const trainSteps = this.scheduler.config.numTrainTimesteps;
    if (numInferenceSteps > trainSteps) {
      throw new Error(
        `DDIMPipeline.generate: numInferenceSteps=${numInferenceSteps} exceeds the scheduler's num_train_timesteps=${trainSteps}`,
      );
    }
    const generator = options.generator;
    if (Array.isArray(generator) && generator.length !== batchSize) {
      throw new Error(
        `DDIMPipeline.generate: you have passed a list of generators of length ${generator.length}, but requested a batch ` +
          `size of ${batchSize}. Make sure the batch size matches the length of the generators.`,
      );
    }
    const cancelled = (why: string, done: number) =>
      new PipelineCancelledError(`DDIMPipeline.generate: cancelled after ${done} of ${numInferenceSteps} steps (${why})`);
    if (signal?.aborted) throw cancelled('signal aborted', 0);

    const [, , height, width] = this.noiseShapeNCHW(batchSize);
    checkGenerateMemory(this.unet.config as Parameters<typeof checkGenerateMemory>[0], { height, width, batchSize, samplesPerForward: maxBatchPerForward }, 'DDIMPipeline.generate', options.memoryBudgetBytes);
    const started = performance.now();
    // torch draws (B, C, H, W) in NCHW order; randnTensor lays those same values out as NHWC.
    let sampleNHWC = randnTensor(this.noiseShapeNCHW(batchSize), { generator, dtype: 'float32', layout: 'NHWC' }) as tf.Tensor4D;
    try {
      this.scheduler.setTimesteps(numInferenceSteps);
      const timesteps = Array.from(this.scheduler.timesteps);
      for (let i = 0; i < timesteps.length; i++) {
        const t = timesteps[i];
        const current = sampleNHWC;
        const [prevSample, modelOutput, predOriginalSample] = tf.tidy(() => {
          const eps = this.predictNoise(current, t, maxBatchPerForward);
          // The whole batch in one step call: with eta > 0 its variance noise is drawn as torch draws it.
          const out = this.scheduler.step(eps, t, current, { eta, useClippedModelOutput, generator, layout: 'NHWC' });
          return [out.prevSample as tf.Tensor4D, eps, out.predOriginalSample as tf.Tensor4D];
        });
        current.dispose();
        sampleNHWC = prevSample;
        let keepGoing: boolean | void = true;
        try {
          if (onStep) {
            keepGoing = await onStep({
              step: i + 1,
              numSteps: timesteps.length,
              timestep: t,
              elapsedMs: performance.now() - started,
              sampleNHWC,
              modelOutputNHWC: modelOutput,
              predOriginalSampleNHWC: predOriginalSample,
            });
          }
        } finally {
          modelOutput.dispose();
          predOriginalSample.dispose();
        }
        if (keepGoing === false) throw cancelled('onStep returned false', i + 1);
        if (i + 1 < timesteps.length) {
          await yieldToEventLoop();
          if (signal?.aborted) throw cancelled('signal aborted', i + 1);
        }
      }
      const imagesNHWC = tf.tidy(() => tf.clipByValue(tf.add(tf.div(sampleNHWC, 2), 0.5), 0, 1)) as tf.Tensor4D;
      return { images: await toOutputType(imagesNHWC, outputType) };
    } finally {
      sampleNHWC.dispose();
    }
  }

  /** The UNet's prediction for the whole batch, in chunks of at most `maxBatch` images. Call inside `tf.tidy`. */
  private predictNoise(sampleNHWC: tf.Tensor4D, timestep: number, maxBatch: number): tf.Tensor4D {
    const batch = sampleNHWC.shape[0];
    if (batch <= maxBatch) return this.unet.predict(sampleNHWC, timestep);
    const parts: tf.Tensor4D[] = [];
    for (let start = 0; start < batch; start += maxBatch) {
      const size = Math.min(maxBatch, batch - start);
      parts.push(this.unet.predict(tf.slice(sampleNHWC, [start, 0, 0, 0], [size, -1, -1, -1]), timestep));
    }
    return tf.concat(parts, 0);
  }

  /** Frees the UNet's weights. */
  dispose(): void {
    this.unet.dispose();
  }
}

async function toOutputType(imagesNHWC: tf.Tensor4D, outputType: OutputType): Promise<GeneratedImages[OutputType]> {
  if (outputType === 'tensor') return imagesNHWC;
  try {
    const data = (await imagesNHWC.data()) as Float32Array;
    const shape = imagesNHWC.shape as [number, number, number, number];
    if (outputType === 'array') return { shape, data };
    const [batch, height, width, channels] = shape;
    const perImage = height * width * channels;
    const encodePng = platformLoader('encodePng');
    return Array.from({ length: batch }, (_, n) =>
      encodePng({ shape: [1, height, width, channels], data: data.subarray(n * perImage, (n + 1) * perImage) }),
    );
  } finally {
    imagesNHWC.dispose();
  }
}
