/**
 * DDPMScheduler: denoising diffusion probabilistic models (Ho et al. 2020), step for step equal to diffusers
 * 0.30.3's `scheduling_ddpm.py`. The tables are JS typed arrays; a step is elementwise tfjs ops in one `tf.tidy`.
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
import { allTimestepsDescending, alphasFromBetas, betasForSchedule, cumprodFloat32, DDPMBetaSchedule, spacedTimesteps, TimestepSpacing } from './schedule';
import { assertLayout, assertSameShape, assertTimestep, varianceNoiseFor, VarianceNoiseOptions } from './step-inputs';
import { thresholdSample } from './thresholding';

/** The DDPM variance types this port supports (`learned`, `learned_range` need a variance-predicting UNet). */
export type VarianceType = 'fixed_small' | 'fixed_small_log' | 'fixed_large' | 'fixed_large_log';

/** The config of {@link DDPMScheduler}, diffusers' `DDPMScheduler.__init__` arguments in camelCase. */
export interface DDPMSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  /** `beta_schedule`: DDPM also has 'sigmoid'. */
  betaSchedule: DDPMBetaSchedule;
  trainedBetas: readonly number[] | null;
  /** `variance_type`. */
  varianceType: VarianceType;
  clipSample: boolean;
  predictionType: PredictionType;
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  clipSampleRange: number;
  sampleMaxValue: number;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  rescaleBetasZeroSnr: boolean;
}

const LEARNED_VARIANCE = 'the UNet must predict the variance (twice the output channels); this port has no such model';
const field = fieldsOf<DDPMSchedulerConfig>();

/** DDPMScheduler's fields in diffusers' `__init__` order, with diffusers 0.30.3's defaults (`@register_to_config`). */
export const DDPM_SCHEDULER_CONFIG = defineSchedulerConfig<DDPMSchedulerConfig>('DDPMScheduler', {
  fields: [
    F.numTrainTimesteps,
    F.betaStart,
    F.betaEnd,
    field('betaSchedule', 'beta_schedule', oneOf(['linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid']), 'linear'),
    F.trainedBetas,
    field(
      'varianceType',
      'variance_type',
      oneOf<VarianceType>(['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'], {
        unsupported: { learned: LEARNED_VARIANCE, learned_range: LEARNED_VARIANCE },
      }),
      'fixed_small',
    ),
    F.clipSample,
    F.predictionType,
    F.thresholding,
    F.dynamicThresholdingRatio,
    F.clipSampleRange,
    F.sampleMaxValue,
    F.timestepSpacing,
    F.stepsOffset,
    F.rescaleBetasZeroSnr,
  ] as ConfigField<DDPMSchedulerConfig>[],
  crossCheck: checkBetaTables,
});

/** diffusers 0.30.3's defaults for `DDPMScheduler`. */
export const DDPM_SCHEDULER_DEFAULTS: Readonly<DDPMSchedulerConfig> = DDPM_SCHEDULER_CONFIG.defaults;

/** Checks camelCase constructor options of {@link DDPMScheduler} and fills in the defaults. */
function resolveDDPMConfig(options: Partial<DDPMSchedulerConfig> = {}): Readonly<DDPMSchedulerConfig> {
  return DDPM_SCHEDULER_CONFIG.resolve(options);
}

/** Options of {@link DDPMScheduler.step}: where the noise comes from when t > 0. */
export type DDPMStepOptions = VarianceNoiseOptions;

/** The output of {@link DDPMScheduler.step}: new tensors that the caller owns and disposes. */
export interface DDPMStepOutput {
  prevSample: tf.Tensor;
  predOriginalSample: tf.Tensor;
}

/** The float32 scalars of one DDPM step, named as in diffusers' `step`. */
export interface DDPMStepCoefficients {
  prevTimestep: number;
  alphaProdT: number;
  alphaProdTPrev: number;
  betaProdT: number;
  betaProdTPrev: number;
  currentAlphaT: number;
  currentBetaT: number;
  /** √ᾱ_prev · β_t / (1 − ᾱ_t): the weight of x₀ in the posterior mean. */
  predOriginalSampleCoeff: number;
  /** √α_t · (1 − ᾱ_prev) / (1 − ᾱ_t): the weight of x_t in the posterior mean. */
  currentSampleCoeff: number;
  /** diffusers' `_get_variance(t)` for the config's variance type; null at t = 0, where no noise is added. */
  variance: number | null;
  /** The factor of the variance noise: √variance (`variance` itself for 'fixed_small_log'); 0 at t = 0. */
  noiseScale: number;
}

/**
 * The DDPM scheduler of diffusers 0.30.3.
 *
 * ```ts
 * const scheduler = DDPMScheduler.fromConfig(schedulerConfigJson);
 * scheduler.setTimesteps(1000);
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(x, t);
 *   const { prevSample, predOriginalSample } = scheduler.step(eps, t, x, { generator });
 *   tf.dispose([x, eps, predOriginalSample]);
 *   x = prevSample;
 * }
 * ```
 */
export class DDPMScheduler implements Scheduler {
  static readonly order = 1;
  /** diffusers' `_class_name`, the registry key. */
  static readonly className = 'DDPMScheduler';
  /** diffusers' `_compatibles`: every scheduler of `KarrasDiffusionSchedulers`. */
  static readonly compatibles: readonly string[] = KARRAS_DIFFUSION_SCHEDULERS;

  readonly className = 'DDPMScheduler';
  readonly order = 1;
  /** diffusers' `step` takes a `generator` (the noise added for t > 0). */
  readonly stepTakesGenerator = true;

  readonly config: Readonly<DDPMSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  /** ᾱ_t, float32 as `torch.cumprod` on the CPU. */
  readonly alphasCumprod: Float32Array;
  /** ᾱ before the first timestep (diffusers' `self.one`). */
  readonly one = 1.0;
  readonly initNoiseSigma = 1.0;

  private numInferenceStepsValue: number | null = null;
  private customTimesteps = false;
  private timestepsValue: Int32Array;

  constructor(config: Partial<DDPMSchedulerConfig> = {}) {
    this.config = resolveDDPMConfig(config);
    this.betas = betasForSchedule(this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    this.timestepsValue = allTimestepsDescending(this.config.numTrainTimesteps);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object (snake_case keys); keys unknown to this library's
   * schedulers are ignored and reported in one warning to `options.onWarning` (default `console.warn`).
   *
   * ```ts
   * const scheduler = DDPMScheduler.fromConfig({ _class_name: 'DDPMScheduler', variance_type: 'fixed_large' });
   * ```
   */
  static fromConfig(json: unknown, options: FromConfigOptions = {}): DDPMScheduler {
    return new DDPMScheduler({ ...DDPM_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return DDPM_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  /** The number of inference steps of the last {@link setTimesteps}; null before it or with custom timesteps. */
  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The timesteps to visit, largest first (Int32Array). Before {@link setTimesteps}: T−1 … 0. */
  get timesteps(): Int32Array {
    return this.timestepsValue;
  }

  get numTrainTimesteps(): number {
    return this.config.numTrainTimesteps;
  }

  get length(): number {
    return this.config.numTrainTimesteps;
  }

  /**
   * diffusers' `set_timesteps`: `numInferenceSteps` spaced by `timestepSpacing`, or explicit descending
   * `options.timesteps` (then each step goes to the next listed timestep).
   *
   * ```ts
   * scheduler.setTimesteps(50);
   * scheduler.setTimesteps(undefined, { timesteps: [999, 500, 10, 0] });
   * ```
   */
  setTimesteps(numInferenceSteps?: number, options: { timesteps?: ArrayLike<number> } = {}): void {
    const owner = 'DDPMScheduler.setTimesteps';
    const T = this.config.numTrainTimesteps;
    const custom = options.timesteps;
    if (numInferenceSteps !== undefined && custom !== undefined) {
      throw new Error(`${owner}: pass numInferenceSteps or options.timesteps, not both`);
    }
    if (custom !== undefined) {
      const list = Array.from(custom);
      if (list.length === 0) throw new Error(`${owner}: options.timesteps is empty`);
      list.forEach((t, i) => {
        assertTimestep(owner, `timesteps[${i}]`, t, T);
        if (i > 0 && t >= list[i - 1]) {
          throw new Error(`${owner}: timesteps must be in descending order, but timesteps[${i}]=${t} >= timesteps[${i - 1}]=${list[i - 1]}`);
        }
      });
      this.timestepsValue = Int32Array.from(list);
      this.customTimesteps = true;
      this.numInferenceStepsValue = null;
      return;
    }
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(
        `${owner}: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`,
      );
    }
    this.numInferenceStepsValue = numInferenceSteps;
    this.customTimesteps = false;
    this.timestepsValue = spacedTimesteps(T, numInferenceSteps, this.config.timestepSpacing, this.config.stepsOffset);
  }

  /** Returns `sample` itself: DDPM does not scale the model input. */
  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /**
   * diffusers' `previous_timestep`: the next listed timestep (−1 after the last) with custom timesteps, else
   * t − T // numInferenceSteps (T // T = 1 before {@link setTimesteps}).
   */
  previousTimestep(timestep: number): number {
    const owner = 'DDPMScheduler.previousTimestep';
    if (this.customTimesteps) {
      const index = this.timestepsValue.indexOf(timestep);
      if (index < 0) throw new Error(`${owner}: timestep=${timestep} is not one of the custom timesteps`);
      return index === this.timestepsValue.length - 1 ? -1 : this.timestepsValue[index + 1];
    }
    const n = this.numInferenceStepsValue ?? this.config.numTrainTimesteps;
    return timestep - Math.floor(this.config.numTrainTimesteps / n);
  }

  /**
   * diffusers' `_get_variance(t)` (float32): the posterior variance β̃_t clamped to ≥ 1e-20 ('fixed_small'),
   * its square root computed as exp(½·log) ('fixed_small_log'), β_t ('fixed_large') or log β_t ('fixed_large_log').
   */
  getVariance(timestep: number, varianceType: VarianceType = this.config.varianceType): number {
    const owner = 'DDPMScheduler.getVariance';
    assertTimestep(owner, 'timestep', timestep, this.alphasCumprod.length);
    const prevT = this.previousTimestep(timestep);
    const alphaProdT = this.alphasCumprod[timestep];
    const alphaProdTPrev = prevT >= 0 ? this.alphasCumprod[prevT] : this.one;
    const currentBetaT = f32(1 - f32(alphaProdT / alphaProdTPrev));
    let variance = f32(f32(f32(1 - alphaProdTPrev) / f32(1 - alphaProdT)) * currentBetaT);
    // torch.clamp(variance, min=1e-20); NaN stays NaN.
    const floor = f32(1e-20);
    if (variance < floor) variance = floor;
    switch (varianceType) {
      case 'fixed_small':
        return variance;
      case 'fixed_small_log':
        return f32(Math.exp(f32(0.5 * f32(Math.log(variance)))));
      case 'fixed_large':
        return currentBetaT;
      case 'fixed_large_log':
        return f32(Math.log(currentBetaT));
      default:
        throw new Error(`${owner}: varianceType='${String(varianceType)}' is not supported`);
    }
  }

  /** The float32 scalars of a step at `timestep` (see {@link DDPMStepCoefficients}). */
  stepCoefficients(timestep: number): DDPMStepCoefficients {
    const owner = 'DDPMScheduler.stepCoefficients';
    assertTimestep(owner, 'timestep', timestep, this.alphasCumprod.length);
    const prevTimestep = this.previousTimestep(timestep);
    const alphaProdT = this.alphasCumprod[timestep];
    const alphaProdTPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.one;
    const betaProdT = f32(1 - alphaProdT);
    const betaProdTPrev = f32(1 - alphaProdTPrev);
    const currentAlphaT = f32(alphaProdT / alphaProdTPrev);
    const currentBetaT = f32(1 - currentAlphaT);
    const predOriginalSampleCoeff = f32(f32(sqrtF32(alphaProdTPrev) * currentBetaT) / betaProdT);
    const currentSampleCoeff = f32(f32(sqrtF32(currentAlphaT) * betaProdTPrev) / betaProdT);
    let variance: number | null = null;
    let noiseScale = 0;
    if (timestep > 0) {
      variance = this.getVariance(timestep);
      // fixed_large_log: diffusers takes √(log β_t) of a negative number, which is NaN; kept (docs/schedulers.md).
      noiseScale = this.config.varianceType === 'fixed_small_log' ? variance : sqrtF32(variance);
    }
    return {
      prevTimestep,
      alphaProdT,
      alphaProdTPrev,
      betaProdT,
      betaProdTPrev,
      currentAlphaT,
      currentBetaT,
      predOriginalSampleCoeff,
      currentSampleCoeff,
      variance,
      noiseScale,
    };
  }

  /**
   * One reverse step x_t → x_{t−1} (diffusers' `DDPMScheduler.step`): the posterior mean plus, for t > 0, noise
   * drawn with `randnTensor(modelOutput.shape, { generator })` or taken from `options.varianceNoise`.
   * Unlike DDIM it works before {@link setTimesteps} (stepping over all training timesteps), as in diffusers.
   *
   * ```ts
   * const { prevSample } = scheduler.step(eps, 999, x, { generator });
   * ```
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: DDPMStepOptions = {}): DDPMStepOutput {
    const owner = 'DDPMScheduler.step';
    const { generator, varianceNoise } = options;
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    if (varianceNoise !== undefined && generator !== undefined) {
      throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    }
    const c = this.stepCoefficients(timestep);
    const cfg = this.config;
    return tf.tidy(() => {
      let predOriginalSample: tf.Tensor;
      if (cfg.predictionType === 'epsilon') {
        predOriginalSample = tf.div(tf.sub(sample, tf.mul(sqrtF32(c.betaProdT), modelOutput)), sqrtF32(c.alphaProdT));
      } else if (cfg.predictionType === 'sample') {
        predOriginalSample = modelOutput;
      } else {
        predOriginalSample = tf.sub(tf.mul(sqrtF32(c.alphaProdT), sample), tf.mul(sqrtF32(c.betaProdT), modelOutput));
      }
      if (cfg.thresholding) {
        predOriginalSample = thresholdSample(predOriginalSample, cfg.dynamicThresholdingRatio, cfg.sampleMaxValue);
      } else if (cfg.clipSample) {
        predOriginalSample = tf.clipByValue(predOriginalSample, -cfg.clipSampleRange, cfg.clipSampleRange);
      }
      let prevSample = tf.add(tf.mul(c.predOriginalSampleCoeff, predOriginalSample), tf.mul(c.currentSampleCoeff, sample));
      if (timestep > 0) {
        const noise = varianceNoiseFor(owner, modelOutput, { generator, varianceNoise, layout });
        prevSample = tf.add(prevSample, tf.mul(c.noiseScale, noise));
      }
      return { prevSample, predOriginalSample: predOriginalSample === modelOutput ? tf.clone(modelOutput) : predOriginalSample };
    });
  }

  /** diffusers' `add_noise`: √ᾱ_t · originalSamples + √(1 − ᾱ_t) · noise. */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    return addNoiseWith('DDPMScheduler.addNoise', this.alphasCumprod, originalSamples, noise, timesteps);
  }

  /** diffusers' `get_velocity`: √ᾱ_t · noise − √(1 − ᾱ_t) · sample. */
  getVelocity(sample: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    return velocityWith('DDPMScheduler.getVelocity', this.alphasCumprod, sample, noise, timesteps);
  }
}

// The static side satisfies the registry's contract (checked at compile time).
DDPMScheduler satisfies SchedulerClass<DDPMScheduler>;
