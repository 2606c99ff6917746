/**
 * EulerDiscreteScheduler: Euler's method on the probability-flow ODE in σ space (Karras et al. 2022, Algorithm 2),
 * step for step equal to diffusers 0.30.3's `scheduling_euler_discrete.py`, with its stochastic "churn"
 * (`s_churn`, `s_tmin`, `s_tmax`, `s_noise`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { boolean, fieldsOf, finiteNumber, nullable, oneOf } from '../config/config-schema';
import { f32, sqrtF32 } from '../math/float32';
import { expF32, logF32 } from '../math/torch-exp-log';
import { addNoiseSigma, commonKFields, indexForTimestep, kBetas, KBetaSchedule, predictOriginalSample } from './k-scheduler-common';
import type { Timesteps } from './noising';
import { alphasFromBetas, cumprodFloat32, linspaceFloat32, TimestepSpacing } from './schedule';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOutput } from './scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import { defineSchedulerConfig } from './scheduler-config';
import {
  initNoiseSigmaFor,
  inputScaleFor,
  interpSigmas,
  karrasSigmas,
  numpyLinspace,
  numpyLogFloat32,
  numpyLogFloat32Array,
  sigmaSchedulerTimesteps,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from './sigmas';
import { assertFloatTensor, assertLayout, assertSameShape, varianceNoiseFor, VarianceNoiseOptions } from './step-inputs';

/** The config of {@link EulerDiscreteScheduler}: diffusers' `EulerDiscreteScheduler.__init__` arguments in camelCase. */
export interface EulerDiscreteSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: KBetaSchedule;
  trainedBetas: readonly number[] | null;
  /** `prediction_type`: 'epsilon', 'sample' or 'v_prediction'. */
  predictionType: 'epsilon' | 'sample' | 'v_prediction';
  /** `interpolation_type`: σ at the timesteps by 'linear' interpolation of the table, or 'log_linear' (σ evenly spaced in log). */
  interpolationType: 'linear' | 'log_linear';
  /** `use_karras_sigmas`: the Karras et al. (2022) σ ramp, timesteps from `_sigma_to_t`. */
  useKarrasSigmas: boolean;
  /** `sigma_min`: the Karras ramp's smallest σ (null: the table's). */
  sigmaMin: number | null;
  /** `sigma_max`: the Karras ramp's largest σ (null: the table's). */
  sigmaMax: number | null;
  timestepSpacing: TimestepSpacing;
  /** `timestep_type`: 'continuous' with v_prediction gives the model 0.25·log σ as its timestep. */
  timestepType: 'discrete' | 'continuous';
  stepsOffset: number;
  /** `rescale_betas_zero_snr` (the last ᾱ is then 2⁻²⁴, as diffusers sets it, so σ stays finite). */
  rescaleBetasZeroSnr: boolean;
  /** `final_sigmas_type`: the σ after the last step, 'zero' or 'sigma_min' (the table's smallest σ). */
  finalSigmasType: 'zero' | 'sigma_min';
}

const common = commonKFields<EulerDiscreteSchedulerConfig>({
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionTypes: ['epsilon', 'sample', 'v_prediction'],
  timestepSpacing: 'linspace',
});
const field = fieldsOf<EulerDiscreteSchedulerConfig>();

/** The fields of {@link EulerDiscreteSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const EULER_DISCRETE_SCHEDULER_CONFIG = defineSchedulerConfig<EulerDiscreteSchedulerConfig>('EulerDiscreteScheduler', {
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    common.betaSchedule,
    common.trainedBetas,
    common.predictionType,
    field('interpolationType', 'interpolation_type', oneOf(['linear', 'log_linear']), 'linear'),
    field('useKarrasSigmas', 'use_karras_sigmas', boolean(), false),
    field('sigmaMin', 'sigma_min', nullable(finiteNumber({ above: 0 })), null),
    field('sigmaMax', 'sigma_max', nullable(finiteNumber({ above: 0 })), null),
    common.timestepSpacing,
    field('timestepType', 'timestep_type', oneOf(['discrete', 'continuous']), 'discrete'),
    common.stepsOffset,
    common.rescaleBetasZeroSnr,
    field('finalSigmasType', 'final_sigmas_type', oneOf(['zero', 'sigma_min']), 'zero'),
  ],
});

/** Options of {@link EulerDiscreteScheduler.step}: the churn of Karras et al. (2022) and the noise it draws. */
export interface EulerDiscreteStepOptions extends VarianceNoiseOptions {
  /** `s_churn`: γ = min(sChurn / (len(σ) − 1), √2 − 1) while σ ∈ [sTmin, sTmax] (default 0: no churn). */
  sChurn?: number;
  /** `s_tmin` (default 0). */
  sTmin?: number;
  /** `s_tmax` (default ∞). */
  sTmax?: number;
  /** `s_noise`: the churn noise's scale (default 1). */
  sNoise?: number;
  eta?: number;
}

/**
 * The Euler scheduler of diffusers 0.30.3. `timesteps` are float32 (fractional for 'linspace' spacing and Karras
 * σ); the loop multiplies the initial noise by `initNoiseSigma` and calls `scaleModelInput` before the model.
 * `step` draws noise from the generator at every step, as diffusers does (it is used only when `sChurn` > 0), so
 * the generator's stream stays diffusers'.
 *
 * ```ts
 * const scheduler = EulerDiscreteScheduler.fromConfig(ddimScheduler.config);
 * scheduler.setTimesteps(30);
 * let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma));
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(scheduler.scaleModelInput(x, t), t);
 *   const { prevSample } = scheduler.step(eps, t, x, { generator });
 *   x = prevSample;
 * }
 * ```
 */
export class EulerDiscreteScheduler implements Scheduler {
  static readonly className = 'EulerDiscreteScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 1;

  readonly className = EulerDiscreteScheduler.className;
  readonly order = EulerDiscreteScheduler.order;
  readonly stepTakesGenerator = true;
  readonly config: Readonly<EulerDiscreteSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  /** ᾱ, float32 (with `rescaleBetasZeroSnr` its last entry is 2⁻²⁴). */
  readonly alphasCumprod: Float32Array;

  private sigmasValue: Float32Array;
  private timestepsValue: Float32Array;
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;

  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    this.config = EULER_DISCRETE_SCHEDULER_CONFIG.resolve(config);
    const c = this.config;
    this.betas = kBetas(EulerDiscreteScheduler.className, c);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    if (c.rescaleBetasZeroSnr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    const T = c.numTrainTimesteps;
    const ascending = sigmasFromAlphasCumprod(this.alphasCumprod);
    const sigmas = new Float32Array(T + 1);
    for (let i = 0; i < T; i++) sigmas[i] = ascending[T - 1 - i];
    this.sigmasValue = sigmas;
    if (this.continuousTimesteps) {
      this.timestepsValue = Float32Array.from(sigmas.subarray(0, T), (s) => f32(0.25 * logF32(s)));
    } else {
      const ramp = numpyLinspace(0, T - 1, T);
      this.timestepsValue = Float32Array.from(ramp).reverse();
    }
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): EulerDiscreteScheduler {
    return new EulerDiscreteScheduler({ ...EULER_DISCRETE_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return EULER_DISCRETE_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The model timesteps, float32, largest first. */
  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  /** σ at each timestep, then the final σ (float32, length numInferenceSteps + 1). */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  /** diffusers' `init_noise_sigma`: max σ ('linspace', 'trailing'), else √(max σ² + 1). */
  get initNoiseSigma(): number {
    return initNoiseSigmaFor(this.sigmasValue, this.config.timestepSpacing);
  }

  /** diffusers' `step_index`: the position in the schedule of the next step (null before the first). */
  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  /** diffusers' `set_begin_index`: start at this position of the schedule (img2img) instead of looking `t` up. */
  setBeginIndex(beginIndex = 0): void {
    this.beginIndexValue = beginIndex;
  }

  private get continuousTimesteps(): boolean {
    return this.config.timestepType === 'continuous' && this.config.predictionType === 'v_prediction';
  }

  /** diffusers' `set_timesteps(num_inference_steps)`: the timesteps and σ of the schedule; resets the step index. */
  setTimesteps(numInferenceSteps: number): void {
    const owner = 'EulerDiscreteScheduler.setTimesteps';
    const c = this.config;
    const T = c.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(`${owner}: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`);
    }
    let timesteps: ArrayLike<number> = sigmaSchedulerTimesteps(T, numInferenceSteps, c.timestepSpacing, c.stepsOffset);
    const tableSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
    const logSigmas = numpyLogFloat32Array(tableSigmas);
    let sigmas: ArrayLike<number>;
    if (c.interpolationType === 'linear') {
      sigmas = interpSigmas(timesteps, tableSigmas);
    } else {
      // torch.linspace(log σ_min, log σ_max, n + 1).exp(): float32, torch's exp.
      const logs = linspaceFloat32(numpyLogFloat32(tableSigmas[T - 1]), numpyLogFloat32(tableSigmas[0]), numInferenceSteps + 1);
      sigmas = logs.map(expF32);
    }
    if (c.useKarrasSigmas) {
      const sigmaMin = c.sigmaMin ?? sigmas[sigmas.length - 1];
      const sigmaMax = c.sigmaMax ?? sigmas[0];
      sigmas = karrasSigmas(sigmaMin, sigmaMax, numInferenceSteps);
      timesteps = Float64Array.from(sigmas, (s) => sigmaToT(s, logSigmas));
    }
    const sigmaLast = c.finalSigmasType === 'sigma_min' ? tableSigmas[0] : 0;
    const all = new Float32Array(sigmas.length + 1);
    all.set(Float32Array.from(sigmas));
    all[sigmas.length] = sigmaLast;
    this.sigmasValue = all;
    this.timestepsValue = this.continuousTimesteps
      ? Float32Array.from(all.subarray(0, all.length - 1), (s) => f32(0.25 * logF32(s)))
      : Float32Array.from(timesteps);
    this.numInferenceStepsValue = numInferenceSteps;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  private initStepIndex(owner: string, timestep: number): number {
    if (this.stepIndexValue === null) {
      this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(owner, this.timestepsValue, timestep);
    }
    return this.stepIndexValue;
  }

  /** `sample / √(σ² + 1)` at the current step (diffusers' `scale_model_input`; it fixes the step index on first use). */
  scaleModelInput(sample: tf.Tensor, timestep: number): tf.Tensor {
    const owner = 'EulerDiscreteScheduler.scaleModelInput';
    assertFloatTensor(owner, 'sample', sample);
    const i = this.initStepIndex(owner, timestep);
    return tf.div(sample, inputScaleFor(this.sigmasValue[i]));
  }

  /**
   * One Euler step from σ_i to σ_{i+1} (diffusers' `step`), with churn when `sChurn` > 0. The noise is
   * `options.varianceNoise` or drawn from `options.generator` (NCHW order, see `layout`) at every step.
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: EulerDiscreteStepOptions = {}): SchedulerStepOutput {
    const owner = 'EulerDiscreteScheduler.step';
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1, generator, varianceNoise } = options;
    for (const [key, value] of Object.entries({ sChurn, sTmin, sNoise })) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new Error(`${owner}: ${key}=${String(value)} must be a finite number >= 0`);
      }
    }
    if (typeof sTmax !== 'number' || Number.isNaN(sTmax)) throw new Error(`${owner}: sTmax=${String(sTmax)} must be a number`);
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    if (varianceNoise !== undefined && generator !== undefined) throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    const i = this.initStepIndex(owner, timestep);
    if (i + 1 >= this.sigmasValue.length) {
      throw new Error(`${owner}: the schedule is finished (step ${i} of ${this.sigmasValue.length - 1}); call setTimesteps again`);
    }
    const sigma = this.sigmasValue[i];
    const gamma = f32(sTmin) <= sigma && sigma <= f32(sTmax) ? Math.min(sChurn / (this.sigmasValue.length - 1), 2 ** 0.5 - 1) : 0;
    const sigmaHat = f32(sigma * f32(gamma + 1));
    const dt = f32(this.sigmasValue[i + 1] - sigmaHat);
    const predictionType = this.config.predictionType;
    const result = tf.tidy(() => {
      const noise = varianceNoiseFor(owner, modelOutput, { generator, varianceNoise, layout });
      let x = sample;
      if (gamma > 0) {
        const scale = sqrtF32(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma)));
        x = tf.add(x, tf.mul(tf.mul(noise, f32(sNoise)), scale));
      }
      const predOriginalSample = predictOriginalSample(predictionType, modelOutput, x, predictionType === 'epsilon' ? sigmaHat : sigma);
      const derivative = tf.div(tf.sub(x, predOriginalSample), sigmaHat);
      const prevSample = tf.add(x, tf.mul(derivative, dt));
      return { prevSample, predOriginalSample: predOriginalSample === modelOutput ? tf.clone(modelOutput) : predOriginalSample };
    });
    this.stepIndexValue = i + 1;
    return result;
  }

  /** diffusers' `add_noise`: `original + noise · σ(t)` (σ of the timestep's position in the schedule). */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'EulerDiscreteScheduler.addNoise';
    if (this.beginIndexValue === null) return addNoiseSigma(owner, this.timestepsValue, this.sigmasValue, originalSamples, noise, timesteps);
    const index = this.stepIndexValue ?? this.beginIndexValue;
    return addNoiseSigma(owner, [this.timestepsValue[index]], [this.sigmasValue[index]], originalSamples, noise, this.timestepsValue[index]);
  }
}
