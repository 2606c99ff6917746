/**
 * The one denoising loop of the unconditional pipelines (`DDIMPipeline`, `DDPMPipeline`, `PNDMPipeline`), over any
 * {@link Scheduler}: noise × `initNoiseSigma`, then for each of the scheduler's timesteps `scaleModelInput`, the
 * UNet, and `step` (given the generator only when the scheduler's step draws noise), then `(x / 2 + 0.5).clamp(0, 1)`.
 *
 * ```ts
 * const { images } = await denoise({ unet, scheduler, owner: 'MyPipeline.generate' }, {
 *   generator: new Generator().manualSeed(0), numInferenceSteps: 20, outputType: 'array',
 * });
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Generator } from '../random/generator';
import { randnTensor } from '../random/randn-tensor';
import type { Scheduler } from '../schedulers/scheduler';
import type { ImagesNHWC } from './image-bytes';
import type { DenoisingModel } from './pipeline-components';
import { platformLoader } from '../loading/platform-loaders';
import { maxBatchPerForwardFor } from './forward-memory';
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

/** What `onStep` receives after each UNet evaluation (one per entry of the scheduler's `timesteps`). */
export interface StepInfo {
  /**
   * UNet evaluations done so far, 1 … numSteps. For first-order schedulers one per denoising step; Heun and KDPM2
   * evaluate the UNet twice per step (their `timesteps` list has ~2n entries, as in diffusers).
   */
  step: number;
  /** The UNet evaluations of the whole run: the length of the scheduler's `timesteps`. */
  numSteps: number;
  /** The timestep the UNet saw in this evaluation. */
  timestep: number;
  /** Milliseconds since `generate` started (noise included). */
  elapsedMs: number;
  /** The sample after this step, NHWC. Owned by the pipeline and valid only during the callback (`clone()` to keep). */
  sampleNHWC: tf.Tensor4D;
  /** The UNet's output at this step, NHWC; valid only during the callback. */
  modelOutputNHWC: tf.Tensor4D;
  /** The scheduler's predicted x_0 at this step, NHWC; valid only during the callback. */
  predOriginalSampleNHWC: tf.Tensor4D;
}

/**
 * What `onStep` receives from a pipeline that runs any scheduler (`DDPMPipeline`, `PNDMPipeline`): as
 * {@link StepInfo}, but `predOriginalSampleNHWC` is there only when the scheduler's `step` returns one (diffusers'
 * `pred_original_sample`: DDIM, DDPM, Euler, … do; PNDM, UniPC, DEIS, the DPM-Solvers do not).
 */
export type SchedulerStepInfo = Omit<StepInfo, 'predOriginalSampleNHWC'> & { predOriginalSampleNHWC?: tf.Tensor4D };

/** {@link GenerateOptions} of a pipeline that runs any scheduler: `onStep` gets a {@link SchedulerStepInfo}. */
export type SchedulerGenerateOptions<T extends OutputType = OutputType> = Omit<GenerateOptions<T>, 'onStep'> & {
  onStep?: (info: SchedulerStepInfo) => boolean | void | Promise<boolean | void>;
};

/** The arguments of `generate`: diffusers' pipeline `__call__` in camelCase, plus progress and cancellation. */
export interface GenerateOptions<T extends OutputType = OutputType> {
  /** Images to make (default 1). */
  batchSize?: number;
  /**
   * The source of all noise: one generator for the whole batch (torch fills the batch as one stream), or one per
   * image (length must equal `batchSize`). Without one the run is not reproducible: the noise comes from freshly,
   * randomly seeded generators (there is no hidden global generator; see docs/reproducibility.md).
   */
  generator?: Generator | Generator[];
  /** DDIM's η (default 0: deterministic DDIM; 1: DDPM-like). With η > 0 every step draws noise from `generator`. Other schedulers ignore it. */
  eta?: number;
  /** Denoising steps (default: the pipeline's, 50 for DDIM and PNDM, 1000 for DDPM as in diffusers). */
  numInferenceSteps?: number;
  /** Passed to `DDIMScheduler.step`; undefined behaves as false. */
  useClippedModelOutput?: boolean;
  /** Default `'tensor'`. */
  outputType?: T;
  /** Called after each UNet evaluation; return `false` to cancel (generate then rejects with a {@link PipelineCancelledError}). */
  onStep?: (info: StepInfo) => boolean | void | Promise<boolean | void>;
  /** Cancels between steps when aborted (a {@link PipelineCancelledError}). */
  signal?: AbortSignal;
  /**
   * The most images one UNet call gets; bigger batches run as several calls per step. The noise is still drawn for
   * the whole batch at once, exactly as torch draws it, so this changes memory use, never the result.
   * Default: what the memory of one forward allows (`maxBatchPerForwardFor(unet.config)`, at most
   * {@link DEFAULT_MAX_BATCH_PER_FORWARD}).
   */
  maxBatchPerForward?: number;
  /** Bytes the run may need at its peak, estimated before anything is allocated (a `MemoryBudgetError`
   * otherwise, from `./memory-estimate`). Default `DEFAULT_MEMORY_BUDGET_BYTES` (4 GiB). */
  memoryBudgetBytes?: number;
}

/** The error `generate` rejects with when `onStep` returns false or its `signal` aborts. */
export class PipelineCancelledError extends Error {
  override name = 'PipelineCancelledError';
}

/** What the loop runs: a UNet, a scheduler, and the name its messages start with (`DDIMPipeline.generate`). */
export interface DenoisingParts {
  unet: DenoisingModel;
  scheduler: Scheduler;
  owner: string;
  /** `numInferenceSteps` when the options give none. */
  defaultSteps: number;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

function checkPositiveInteger(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${owner}: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** The NCHW shape torch draws the initial noise in: [batch, in_channels, height, width]. */
export function noiseShapeNCHW(unet: DenoisingModel, batchSize: number, owner: string): [number, number, number, number] {
  const { inChannels: channels, sampleSize: size } = unet.config;
  if (typeof size === 'number') return [batchSize, channels, size, size];
  if (Array.isArray(size) && size.length === 2) return [batchSize, channels, size[0], size[1]];
  throw new Error(`${owner}: unet config sample_size must be an int or [height, width], got ${JSON.stringify(size)}`);
}

/** The scheduler's `num_train_timesteps`, when its config has one. */
function trainTimesteps(scheduler: Scheduler): number | undefined {
  const value = (scheduler.config as { numTrainTimesteps?: unknown }).numTrainTimesteps;
  return typeof value === 'number' ? value : undefined;
}

/**
 * Runs the loop (see the module comment) and returns the images in `outputType`.
 * @throws naming the argument when an option is invalid; a {@link PipelineCancelledError} when cancelled.
 */
export async function denoise(parts: DenoisingParts, options: SchedulerGenerateOptions = {}): Promise<{ images: GeneratedImages[OutputType] }> {
  const { unet, scheduler, owner } = parts;
  const {
    batchSize = 1,
    eta = 0,
    numInferenceSteps = parts.defaultSteps,
    useClippedModelOutput,
    outputType = 'tensor',
    onStep,
    signal,
  } = options;
  checkPositiveInteger(owner, 'batchSize', batchSize);
  checkPositiveInteger(owner, 'numInferenceSteps', numInferenceSteps);
  const maxBatchPerForward = options.maxBatchPerForward ?? maxBatchPerForwardFor(unet.config);
  checkPositiveInteger(owner, 'maxBatchPerForward', maxBatchPerForward);
  const [, , height, width] = noiseShapeNCHW(unet, batchSize, owner);
  checkGenerateMemory(
    unet.config as Parameters<typeof checkGenerateMemory>[0],
    { height, width, batchSize, samplesPerForward: maxBatchPerForward },
    owner,
    options.memoryBudgetBytes,
  );
  if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
    throw new Error(`${owner}: eta must be a finite number >= 0, got ${String(eta)}`);
  }
  if (!['tensor', 'array', 'png'].includes(outputType)) {
    throw new Error(`${owner}: outputType must be 'tensor', 'array' or 'png', got ${JSON.stringify(outputType)}`);
  }
  const trainSteps = trainTimesteps(scheduler);
  if (trainSteps !== undefined && numInferenceSteps > trainSteps) {
    throw new Error(`${owner}: numInferenceSteps=${numInferenceSteps} exceeds the scheduler's num_train_timesteps=${trainSteps}`);
  }
  const generator = options.generator;
  if (Array.isArray(generator) && generator.length !== batchSize) {
    throw new Error(
      `${owner}: you have passed a list of generators of length ${generator.length}, but requested a batch ` +
        `size of ${batchSize}. Make sure the batch size matches the length of the generators.`,
    );
  }
  let total = numInferenceSteps;
  const cancelled = (why: string, done: number) => new PipelineCancelledError(`${owner}: cancelled after ${done} of ${total} steps (${why})`);
  if (signal?.aborted) throw cancelled('signal aborted', 0);

  const started = performance.now();
  // torch draws (B, C, H, W) in NCHW order; randnTensor lays those same values out as NHWC.
  let sampleNHWC = randnTensor(noiseShapeNCHW(unet, batchSize, owner), { generator, dtype: 'float32', layout: 'NHWC' }) as tf.Tensor4D;
  try {
    scheduler.setTimesteps(numInferenceSteps);
    const sigma = scheduler.initNoiseSigma;
    if (sigma !== 1) {
      const noise = sampleNHWC;
      sampleNHWC = tf.mul(noise, sigma);
      noise.dispose();
    }
    const timesteps = Array.from(scheduler.timesteps);
    total = timesteps.length;
    // The generator goes to `step` only where diffusers' `step` takes one (PNDM's, UniPC's, … do not).
    const stepOptions = {
      eta,
      useClippedModelOutput,
      layout: 'NHWC' as const,
      ...(scheduler.stepTakesGenerator ? { generator } : {}),
    };
    for (let i = 0; i < timesteps.length; i++) {
      const t = timesteps[i];
      const current = sampleNHWC;
      const modelOutput = tf.tidy(() => predictInChunks(unet, scheduler.scaleModelInput(current, t) as tf.Tensor4D, t, maxBatchPerForward));
      // Outside any tf.tidy: multistep schedulers (PNDM, DPM-Solver, UniPC, LMS, Heun, KDPM2, …) keep tensors of this
      // step for the next ones, which a tidy around `step` would dispose. The whole batch in one step call: its noise is
      // drawn as torch draws it.
      const out = scheduler.step(modelOutput, t, current, stepOptions);
      const prevSample = out.prevSample as tf.Tensor4D;
      const predOriginalSample = out.predOriginalSample as tf.Tensor4D | undefined;
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
            ...(predOriginalSample !== undefined ? { predOriginalSampleNHWC: predOriginalSample } : {}),
          });
        }
      } finally {
        modelOutput.dispose();
        predOriginalSample?.dispose();
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
function predictInChunks(unet: DenoisingModel, sampleNHWC: tf.Tensor4D, timestep: number, maxBatch: number): tf.Tensor4D {
  const batch = sampleNHWC.shape[0];
  if (batch <= maxBatch) return unet.predict(sampleNHWC, timestep);
  const parts: tf.Tensor4D[] = [];
  for (let start = 0; start < batch; start += maxBatch) {
    const size = Math.min(maxBatch, batch - start);
    parts.push(unet.predict(tf.slice(sampleNHWC, [start, 0, 0, 0], [size, -1, -1, -1]), timestep));
  }
  return tf.concat(parts, 0);
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
