/**
 * The scheduler contract: what the one denoising loop (`lib/pipelines/`) and the CLI ask of every scheduler, as
 * diffusers' `SchedulerMixin` plus the attributes its pipelines read (`timesteps`, `init_noise_sigma`, `order`).
 *
 * A scheduler is one file in `lib/schedulers/` (its config fields declared next to the class, as diffusers'
 * `@register_to_config` constructor: `defineSchedulerConfig` of scheduler-config.ts derives defaults, checks,
 * `fromConfig` and `toDiffusersConfig` from them) plus one line in `lib/schedulers/all-schedulers.ts`, from which
 * lib/schedulers/registry.ts (`schedulerClass(name)`, `schedulerFromConfig(json)`) and the package root's exports
 * derive. The one denoising loop is lib/pipelines/denoising-loop.ts.
 *
 * ```ts
 * const scheduler: Scheduler = DPMSolverMultistepScheduler.fromConfig(ddim.config);
 * scheduler.setTimesteps(20);
 * let x = tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma);
 * for (const t of scheduler.timesteps) {
 *   const input = scheduler.scaleModelInput(x, t);
 *   const eps = unet.predict(input, t);
 *   const { prevSample } = scheduler.step(eps, t, x, { generator });
 *   x = prevSample;
 * }
 * ```
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { WarningSink } from '../config/config-schema';
import type { VarianceNoiseOptions } from './step-inputs';
import type { Timesteps } from './noising';

/** Options every `step` accepts; a scheduler ignores what it has no use for (DDIM adds `eta`, …). */
export interface SchedulerStepOptions extends VarianceNoiseOptions {
  /** DDIM's η (other schedulers ignore it). */
  eta?: number;
  /** DDIM's `use_clipped_model_output` (other schedulers ignore it). */
  useClippedModelOutput?: boolean;
}

/** What `step` returns: new tensors that the caller owns and disposes. */
export interface SchedulerStepOutput {
  /** x_{t−1}, the input of the next step. */
  prevSample: tf.Tensor;
  /** The predicted x₀ where the scheduler computes one (diffusers' `pred_original_sample`). */
  predOriginalSample?: tf.Tensor;
}

/** One scheduler instance: stateful across `setTimesteps` and (for multistep solvers) across `step`s. */
export interface Scheduler {
  /** The resolved config (camelCase, defaults filled in), frozen. */
  readonly config: Readonly<object>;
  /** diffusers' `_class_name`, e.g. 'DPMSolverMultistepScheduler'. */
  readonly className: string;
  /** diffusers' `order`: the UNet evaluations a step needs at most (Heun and KDPM2: 2). */
  readonly order: number;
  /** The standard deviation of the initial noise: the loop multiplies the first sample by it. */
  readonly initNoiseSigma: number;
  /** The timesteps (or, for σ-based schedulers, the model timesteps) to visit, in the order the loop visits them. */
  readonly timesteps: ArrayLike<number>;
  /** The number of inference steps of the last `setTimesteps`, or null before it. */
  readonly numInferenceSteps: number | null;
  /** Whether `step` draws noise (diffusers' `step` has a `generator` argument): the loop passes one only then. */
  readonly stepTakesGenerator: boolean;
  /** Chooses the timesteps (resets any multistep state). */
  setTimesteps(numInferenceSteps: number): void;
  /** The UNet's input for `sample` at `timestep` (σ-scaling for the Euler family; the sample itself otherwise). */
  scaleModelInput(sample: tf.Tensor, timestep: number): tf.Tensor;
  /** One reverse step; inputs are not disposed. */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options?: SchedulerStepOptions): SchedulerStepOutput;
  /** diffusers' `add_noise`. */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor;
  /** The config as diffusers' snake_case `scheduler_config.json`, with `_class_name`. */
  toDiffusersConfig(): Record<string, unknown>;
}

/** Options of every `fromConfig`. */
export interface SchedulerFromConfigOptions {
  /** Where the one warning about fields this scheduler does not know goes (default `console.warn`). */
  onWarning?: WarningSink;
  /** The file the JSON came from, named in errors and the warning. */
  source?: string;
}

/**
 * The static side of a scheduler class: what the registry, `fromConfig` and the CLI's `--scheduler` use.
 * `fromConfig` takes a diffusers `scheduler_config.json` object (snake_case) or another scheduler's `config`
 * (camelCase), keeps the fields this class knows, and warns once for the rest.
 */
export interface SchedulerClass<S extends Scheduler = Scheduler> {
  /** diffusers' class name, the registry key. */
  readonly className: string;
  /** diffusers' `compatibles`: the class names whose configs this one accepts. */
  readonly compatibles: readonly string[];
  new (...args: never[]): S;
  fromConfig(json: unknown, options?: SchedulerFromConfigOptions): S;
}
