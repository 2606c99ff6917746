/**
 * DDIMScheduler: denoising diffusion implicit models (Song et al. 2020), step for step equal to diffusers 0.30.3's
 * `scheduling_ddim.py`. The tables are JS typed arrays; a step is elementwise tfjs ops in one `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigField, fieldsOf, oneOf } from '../config/config-schema';
import {
  checkBetaTables,
  defineSchedulerConfig,
  FromConfigOptions,
  PredictionType,
  SCHEDULER_FIELDS as F,
} from './scheduler-config';
import type { Scheduler, SchedulerClass } from './scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import { f32, sqrtF32 } from '../math/float32';
import { addNoiseWith, Timesteps, velocityWith } from './noising';
import { allTimestepsDescending, alphasFromBetas, BetaSchedule, betasForSchedule, cumprodFloat32, spacedTimesteps, TimestepSpacing } from './schedule';
import {
  assertLayout,
  assertSameShape,
  assertTimestep,
  varianceNoiseFor,
  VarianceNoiseOptions,
} from './step-inputs';
import { thresholdSample } from './thresholding';

/** The config of {@link DDIMScheduler}, diffusers' `DDIMScheduler.__init__` arguments in camelCase. */
export interface DDIMSchedulerConfig {
  /** `num_train_timesteps`: diffusion steps the model was trained with. */
  numTrainTimesteps: number;
  /** `beta_start`: the first beta of a 'linear' or 'scaled_linear' schedule. */
  betaStart: number;
  /** `beta_end`: the last beta of a 'linear' or 'scaled_linear' schedule. */
  betaEnd: number;
  /** `beta_schedule`. */
  betaSchedule: BetaSchedule;
  /** `trained_betas`: explicit betas; they replace the schedule. */
  trainedBetas: readonly number[] | null;
  /** `clip_sample`: clamp the predicted x₀ to ±clipSampleRange (ignored when `thresholding`). */
  clipSample: boolean;
  /** `set_alpha_to_one`: ᾱ before the first timestep is 1 (else `alphasCumprod[0]`). */
  setAlphaToOne: boolean;
  /** `steps_offset`: added to the 'leading' timesteps. */
  stepsOffset: number;
  /** `prediction_type`. */
  predictionType: PredictionType;
  /** `thresholding`: dynamic thresholding of the predicted x₀ (Imagen). */
  thresholding: boolean;
  /** `dynamic_thresholding_ratio`: the quantile of |x₀| used as the threshold. */
  dynamicThresholdingRatio: number;
  /** `clip_sample_range`. */
  clipSampleRange: number;
  /** `sample_max_value`: the largest dynamic threshold. */
  sampleMaxValue: number;
  /** `timestep_spacing`. */
  timestepSpacing: TimestepSpacing;
  /** `rescale_betas_zero_snr`: rescale the betas to zero terminal SNR. */
  rescaleBetasZeroSnr: boolean;
}

/** DDIMScheduler's fields in diffusers' `__init__` order, with diffusers 0.30.3's defaults (`@register_to_config`). */
export const DDIM_SCHEDULER_CONFIG = defineSchedulerConfig<DDIMSchedulerConfig>('DDIMScheduler', {
  fields: [
    F.numTrainTimesteps,
    F.betaStart,
    F.betaEnd,
    fieldsOf<DDIMSchedulerConfig>()('betaSchedule', 'beta_schedule', oneOf(['linear', 'scaled_linear', 'squaredcos_cap_v2']), 'linear'),
    F.trainedBetas,
    F.clipSample,
    F.setAlphaToOne,
    F.stepsOffset,
    F.predictionType,
    F.thresholding,
    F.dynamicThresholdingRatio,
    F.clipSampleRange,
    F.sampleMaxValue,
    F.timestepSpacing,
    F.rescaleBetasZeroSnr,
  ] as ConfigField<DDIMSchedulerConfig>[],
  crossCheck: checkBetaTables,
});

/** diffusers 0.30.3's defaults for `DDIMScheduler`. */
export const DDIM_SCHEDULER_DEFAULTS: Readonly<DDIMSchedulerConfig> = DDIM_SCHEDULER_CONFIG.defaults;

/**
 * Checks camelCase constructor options and fills in the defaults.
 *
 * ```ts
 * resolveDDIMConfig({ timestepSpacing: 'trailing' }).clipSample;  // true (the default)
 * ```
 */
export function resolveDDIMConfig(options: Partial<DDIMSchedulerConfig> = {}): Readonly<DDIMSchedulerConfig> {
  return DDIM_SCHEDULER_CONFIG.resolve(options);
}

/** Options of {@link DDIMScheduler.step}. */
export interface DDIMStepOptions extends VarianceNoiseOptions {
  /** η: the weight of the added noise; 0 (default) is deterministic DDIM, 1 is DDPM-like. */
  eta?: number;
  /** Recompute ε from the clipped x₀ (diffusers' `use_clipped_model_output`). */
  useClippedModelOutput?: boolean;
}

/** The output of {@link DDIMScheduler.step}: new tensors that the caller owns and disposes. */
export interface DDIMStepOutput {
  /** x_{t−1}, the input of the next step. */
  prevSample: tf.Tensor;
  /** The predicted x₀ (after clipping or thresholding). */
  predOriginalSample: tf.Tensor;
}

/** The float32 scalars of one DDIM step, as diffusers computes them (named as in `step`). */
export interface DDIMStepCoefficients {
  /** t − numTrainTimesteps // numInferenceSteps, for every timestep spacing. */
  prevTimestep: number;
  alphaProdT: number;
  /** alphasCumprod[prevTimestep], or finalAlphaCumprod when prevTimestep < 0. */
  alphaProdTPrev: number;
  betaProdT: number;
  /** σ_t² / η²: (1 − ᾱ_prev) / (1 − ᾱ_t) · (1 − ᾱ_t / ᾱ_prev). */
  variance: number;
  /** σ_t = η · √variance. */
  stdDevT: number;
}

/** The tables {@link ddimStepCoefficients} reads. */
export interface DDIMTables {
  alphasCumprod: Float32Array;
  finalAlphaCumprod: number;
  numTrainTimesteps: number;
}

/**
 * The scalars of a DDIM step at `timestep`, pure and exact (float32 as torch): diffusers' `prev_timestep`,
 * `alpha_prod_t`, `alpha_prod_t_prev`, `beta_prod_t`, `_get_variance` and `std_dev_t`.
 *
 * ```ts
 * const s = new DDIMScheduler();
 * ddimStepCoefficients(s, 10, 900, 0).alphaProdTPrev;  // s.alphasCumprod[800]
 * ```
 */
export function ddimStepCoefficients(
  tables: DDIMTables,
  numInferenceSteps: number,
  timestep: number,
  eta = 0,
): DDIMStepCoefficients {
  const owner = 'ddimStepCoefficients';
  const { alphasCumprod, finalAlphaCumprod, numTrainTimesteps } = tables;
  assertTimestep(owner, 'timestep', timestep, alphasCumprod.length);
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new Error(`${owner}: numInferenceSteps=${numInferenceSteps} must be a positive integer`);
  }
  assertEta(owner, eta);
  const prevTimestep = timestep - Math.floor(numTrainTimesteps / numInferenceSteps);
  const alphaProdT = alphasCumprod[timestep];
  const alphaProdTPrev = prevTimestep >= 0 ? alphasCumprod[prevTimestep] : finalAlphaCumprod;
  const betaProdT = f32(1 - alphaProdT);
  const betaProdTPrev = f32(1 - alphaProdTPrev);
  const variance = f32(f32(betaProdTPrev / betaProdT) * f32(1 - f32(alphaProdT / alphaProdTPrev)));
  const stdDevT = f32(f32(eta) * sqrtF32(variance));
  return { prevTimestep, alphaProdT, alphaProdTPrev, betaProdT, variance, stdDevT };
}

function assertEta(owner: string, eta: unknown): asserts eta is number {
  if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
    throw new Error(`${owner}: eta=${String(eta)} must be a finite number >= 0`);
  }
}

/**
 * The DDIM scheduler of diffusers 0.30.3.
 *
 * ```ts
 * const scheduler = DDIMScheduler.fromConfig(schedulerConfigJson);  // e.g. google/ddpm-cifar10-32's DDPM config
 * scheduler.setTimesteps(50);
 * let x = randnTensor([1, 3, 32, 32], { generator });
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(x, t);
 *   const { prevSample, predOriginalSample } = scheduler.step(eps, t, x, { eta: 0 });
 *   tf.dispose([x, eps, predOriginalSample]);
 *   x = prevSample;
 * }
 * ```
 */
export class DDIMScheduler implements Scheduler {
  /** diffusers' `order`: model evaluations per step. */
  static readonly order = 1;
  /** diffusers' `_class_name`, the registry key. */
  static readonly className = 'DDIMScheduler';
  /** diffusers' `_compatibles`: every scheduler of `KarrasDiffusionSchedulers`. */
  static readonly compatibles: readonly string[] = KARRAS_DIFFUSION_SCHEDULERS;

  readonly className = 'DDIMScheduler';
  readonly order = 1;
  /** diffusers' `step` takes a `generator` (the noise of η > 0). */
  readonly stepTakesGenerator = true;

  /** The resolved config (defaults filled in), frozen. */
  readonly config: Readonly<DDIMSchedulerConfig>;
  /** β_t, float32, length numTrainTimesteps. */
  readonly betas: Float32Array;
  /** α_t = 1 − β_t, float32. */
  readonly alphas: Float32Array;
  /** ᾱ_t = ∏ α, float32 as `torch.cumprod` on the CPU (double accumulator, float32 outputs). */
  readonly alphasCumprod: Float32Array;
  /** ᾱ before the first timestep: 1 with `setAlphaToOne`, else `alphasCumprod[0]`. */
  readonly finalAlphaCumprod: number;
  /** The standard deviation of the initial noise. */
  readonly initNoiseSigma = 1.0;

  private numInferenceStepsValue: number | null = null;
  private timestepsValue: Int32Array;

  /** Builds the tables; `config` holds camelCase fields (see {@link DDIMSchedulerConfig}), defaults as diffusers. */
  constructor(config: Partial<DDIMSchedulerConfig> = {}) {
    this.config = resolveDDIMConfig(config);
    const c = this.config;
    this.betas = betasForSchedule(c);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    this.finalAlphaCumprod = c.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
    this.timestepsValue = allTimestepsDescending(c.numTrainTimesteps);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object (snake_case keys). A `DDPMScheduler` config is
   * accepted; keys unknown to both schedulers are ignored and reported in one warning to `options.onWarning`
   * (default `console.warn`).
   *
   * ```ts
   * const scheduler = DDIMScheduler.fromConfig(JSON.parse(fs.readFileSync('scheduler_config.json', 'utf8')));
   * ```
   */
  static fromConfig(json: unknown, options: FromConfigOptions = {}): DDIMScheduler {
    return new DDIMScheduler({ ...DDIM_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  /** The config as diffusers' snake_case JSON, `_class_name` 'DDIMScheduler'. */
  toDiffusersConfig(): Record<string, unknown> {
    return DDIM_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  /** The number of inference steps of the last {@link setTimesteps}, or null before it. */
  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /**
   * The timesteps to visit, largest first (an Int32Array; torch's are int64). Before {@link setTimesteps}, all
   * training timesteps T−1 … 0, as in diffusers.
   */
  get timesteps(): Int32Array {
    return this.timestepsValue;
  }

  /** diffusers' `len(scheduler)`: the number of training timesteps. */
  get length(): number {
    return this.config.numTrainTimesteps;
  }

  /**
   * Chooses the `numInferenceSteps` timesteps by `timestepSpacing`, as diffusers' `set_timesteps`.
   *
   * ```ts
   * scheduler.setTimesteps(10);
   * Array.from(scheduler.timesteps);  // [900, 800, …, 0] ('leading', stepsOffset 0)
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(
        `DDIMScheduler.setTimesteps: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] ` +
          `(numTrainTimesteps=${T})`,
      );
    }
    this.numInferenceStepsValue = numInferenceSteps;
    this.timestepsValue = spacedTimesteps(T, numInferenceSteps, this.config.timestepSpacing, this.config.stepsOffset);
  }

  /** Returns `sample` itself: DDIM does not scale the model input (kept for interchangeability). */
  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /**
   * The float32 scalars of a step at `timestep` with this `eta` (see {@link ddimStepCoefficients}).
   * Needs {@link setTimesteps} first.
   */
  stepCoefficients(timestep: number, eta = 0): DDIMStepCoefficients {
    return ddimStepCoefficients(this, this.requireNumInferenceSteps('DDIMScheduler.stepCoefficients'), timestep, eta);
  }

  /**
   * One reverse step x_t → x_{t−1} (diffusers' `DDIMScheduler.step`). The inputs are not disposed; the outputs
   * are new tensors. With `eta > 0` the noise is `options.varianceNoise` or drawn with
   * `randnTensor(modelOutput.shape, { generator })` (see `layout` for NHWC tensors).
   *
   * ```ts
   * const { prevSample, predOriginalSample } = scheduler.step(eps, 900, x, { eta: 1, generator });
   * ```
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: DDIMStepOptions = {}): DDIMStepOutput {
    const owner = 'DDIMScheduler.step';
    const numInferenceSteps = this.requireNumInferenceSteps(owner);
    const { eta = 0, useClippedModelOutput = false, generator, varianceNoise } = options;
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    assertEta(owner, eta);
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    if (eta > 0 && varianceNoise !== undefined && generator !== undefined) {
      throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    }
    const c = ddimStepCoefficients(this, numInferenceSteps, timestep, eta);
    const cfg = this.config;
    return tf.tidy(() => {
      const sqrtAlphaProdT = sqrtF32(c.alphaProdT);
      const sqrtBetaProdT = sqrtF32(c.betaProdT);
      // x₀ and ε from the model output (the order of operations is diffusers').
      let predOriginalSample: tf.Tensor;
      let predEpsilon: tf.Tensor;
      if (cfg.predictionType === 'epsilon') {
        predOriginalSample = tf.div(tf.sub(sample, tf.mul(sqrtBetaProdT, modelOutput)), sqrtAlphaProdT);
        predEpsilon = modelOutput;
      } else if (cfg.predictionType === 'sample') {
        predOriginalSample = modelOutput;
        predEpsilon = tf.div(tf.sub(sample, tf.mul(sqrtAlphaProdT, predOriginalSample)), sqrtBetaProdT);
      } else {
        predOriginalSample = tf.sub(tf.mul(sqrtAlphaProdT, sample), tf.mul(sqrtBetaProdT, modelOutput));
        predEpsilon = tf.add(tf.mul(sqrtAlphaProdT, modelOutput), tf.mul(sqrtBetaProdT, sample));
      }
      if (cfg.thresholding) {
        predOriginalSample = thresholdSample(predOriginalSample, cfg.dynamicThresholdingRatio, cfg.sampleMaxValue);
      } else if (cfg.clipSample) {
        predOriginalSample = tf.clipByValue(predOriginalSample, -cfg.clipSampleRange, cfg.clipSampleRange);
      }
      if (useClippedModelOutput) {
        predEpsilon = tf.div(tf.sub(sample, tf.mul(sqrtAlphaProdT, predOriginalSample)), sqrtBetaProdT);
      }
      // "direction pointing to x_t": √(1 − ᾱ_prev − σ_t²) · ε
      const directionCoeff = sqrtF32(f32(f32(1 - c.alphaProdTPrev) - f32(c.stdDevT * c.stdDevT)));
      const predSampleDirection = tf.mul(directionCoeff, predEpsilon);
      let prevSample = tf.add(tf.mul(sqrtF32(c.alphaProdTPrev), predOriginalSample), predSampleDirection);
      if (eta > 0) {
        // diffusers draws the noise whenever eta > 0, also when σ_t is 0 (the last step): the generator advances.
        const noise = varianceNoiseFor(owner, modelOutput, { generator, varianceNoise, layout });
        prevSample = tf.add(prevSample, tf.mul(c.stdDevT, noise));
      }
      // Fresh tensors the caller owns, never an input (x₀ is the model output itself for 'sample' unclipped).
      return { prevSample, predOriginalSample: predOriginalSample === modelOutput ? tf.clone(modelOutput) : predOriginalSample };
    });
  }

  /**
   * diffusers' `add_noise`: √ᾱ_t · originalSamples + √(1 − ᾱ_t) · noise, one timestep or one per batch element.
   *
   * ```ts
   * const noisy = scheduler.addNoise(x0, noise, [10, 990]);
   * ```
   */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    return addNoiseWith('DDIMScheduler.addNoise', this.alphasCumprod, originalSamples, noise, timesteps);
  }

  /** diffusers' `get_velocity`: √ᾱ_t · noise − √(1 − ᾱ_t) · sample. */
  getVelocity(sample: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    return velocityWith('DDIMScheduler.getVelocity', this.alphasCumprod, sample, noise, timesteps);
  }

  get numTrainTimesteps(): number {
    return this.config.numTrainTimesteps;
  }

  private requireNumInferenceSteps(owner: string): number {
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    return this.numInferenceStepsValue;
  }
}

// The static side satisfies the registry's contract (checked at compile time).
DDIMScheduler satisfies SchedulerClass<DDIMScheduler>;
