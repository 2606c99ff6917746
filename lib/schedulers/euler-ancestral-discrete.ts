/**
 * EulerAncestralDiscreteScheduler: Euler steps with ancestral sampling (k-diffusion's `sample_euler_ancestral`):
 * each step goes down to σ_down and adds fresh noise of σ_up, drawn from the generator. Step for step equal to
 * diffusers 0.30.3's `scheduling_euler_ancestral_discrete.py`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32, sqrtF32 } from '../math/float32';
import { addNoiseSigma, commonKFields, indexForTimestep, kBetas, KBetaSchedule, predictOriginalSample } from './k-scheduler-common';
import type { Timesteps } from './noising';
import { alphasFromBetas, cumprodFloat32, TimestepSpacing } from './schedule';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOutput } from './scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import { defineSchedulerConfig } from './scheduler-config';
import { initNoiseSigmaFor, inputScaleFor, interpSigmas, sigmaSchedulerTimesteps, sigmasFromAlphasCumprod } from './sigmas';
import { assertFloatTensor, assertLayout, assertSameShape, varianceNoiseFor, VarianceNoiseOptions } from './step-inputs';

/** The config of {@link EulerAncestralDiscreteScheduler}: diffusers' `__init__` arguments in camelCase. */
export interface EulerAncestralDiscreteSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: KBetaSchedule;
  trainedBetas: readonly number[] | null;
  /** `prediction_type`: 'epsilon' or 'v_prediction' (diffusers raises NotImplementedError for 'sample'). */
  predictionType: 'epsilon' | 'v_prediction';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  /** `rescale_betas_zero_snr` (the last ᾱ is then 2⁻²⁴, as diffusers sets it, so σ stays finite). */
  rescaleBetasZeroSnr: boolean;
}

const common = commonKFields<EulerAncestralDiscreteSchedulerConfig>({
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionTypes: ['epsilon', 'v_prediction'],
  timestepSpacing: 'linspace',
});

/** The fields of {@link EulerAncestralDiscreteSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const EULER_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG = defineSchedulerConfig<EulerAncestralDiscreteSchedulerConfig>('EulerAncestralDiscreteScheduler', {
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    common.betaSchedule,
    common.trainedBetas,
    common.predictionType,
    common.timestepSpacing,
    common.stepsOffset,
    common.rescaleBetasZeroSnr,
  ],
});

/** Options of {@link EulerAncestralDiscreteScheduler.step}: where the ancestral noise comes from. */
export interface EulerAncestralStepOptions extends VarianceNoiseOptions {
  eta?: number;
}

/**
 * The Euler ancestral scheduler of diffusers 0.30.3. `timesteps` are float32; the loop multiplies the initial noise
 * by `initNoiseSigma` and calls `scaleModelInput`; `step` draws its noise from `options.generator` as diffusers'
 * `randn_tensor(model_output.shape, generator=generator)` (NCHW order, also for NHWC tensors with `layout`).
 *
 * ```ts
 * const scheduler = EulerAncestralDiscreteScheduler.fromConfig(ddimScheduler.config);
 * scheduler.setTimesteps(30);
 * let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma));
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(scheduler.scaleModelInput(x, t), t);
 *   x = scheduler.step(eps, t, x, { generator }).prevSample;
 * }
 * ```
 */
export class EulerAncestralDiscreteScheduler implements Scheduler {
  static readonly className = 'EulerAncestralDiscreteScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 1;

  readonly className = EulerAncestralDiscreteScheduler.className;
  readonly order = EulerAncestralDiscreteScheduler.order;
  readonly stepTakesGenerator = true;
  readonly config: Readonly<EulerAncestralDiscreteSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  /** ᾱ, float32 (with `rescaleBetasZeroSnr` its last entry is 2⁻²⁴). */
  readonly alphasCumprod: Float32Array;

  private sigmasValue: Float32Array;
  private timestepsValue: Float32Array;
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;

  constructor(config: Partial<EulerAncestralDiscreteSchedulerConfig> = {}) {
    this.config = EULER_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG.resolve(config);
    this.betas = kBetas(EulerAncestralDiscreteScheduler.className, this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    if (this.config.rescaleBetasZeroSnr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    const T = this.config.numTrainTimesteps;
    const ascending = sigmasFromAlphasCumprod(this.alphasCumprod);
    this.sigmasValue = new Float32Array(T + 1);
    for (let i = 0; i < T; i++) this.sigmasValue[i] = ascending[T - 1 - i];
    // np.linspace(0, T - 1, T)[::-1]: the integers T - 1 … 0.
    this.timestepsValue = Float32Array.from({ length: T }, (_v, i) => T - 1 - i);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): EulerAncestralDiscreteScheduler {
    return new EulerAncestralDiscreteScheduler({ ...EULER_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return EULER_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The model timesteps, float32, largest first. */
  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  /** σ at each timestep, then 0 (float32, length numInferenceSteps + 1). */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  /** diffusers' `init_noise_sigma`: max σ ('linspace', 'trailing'), else √(max σ² + 1). */
  get initNoiseSigma(): number {
    return initNoiseSigmaFor(this.sigmasValue, this.config.timestepSpacing);
  }

  /** diffusers' `step_index` (null before the first step). */
  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  /** diffusers' `set_begin_index`. */
  setBeginIndex(beginIndex = 0): void {
    this.beginIndexValue = beginIndex;
  }

  /** diffusers' `set_timesteps`: float32 timesteps by `timestepSpacing`, σ interpolated in the table, then 0. */
  setTimesteps(numInferenceSteps: number): void {
    const owner = 'EulerAncestralDiscreteScheduler.setTimesteps';
    const c = this.config;
    const T = c.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(`${owner}: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`);
    }
    const timesteps = sigmaSchedulerTimesteps(T, numInferenceSteps, c.timestepSpacing, c.stepsOffset);
    const sigmas = interpSigmas(timesteps, sigmasFromAlphasCumprod(this.alphasCumprod));
    this.sigmasValue = new Float32Array(sigmas.length + 1);
    this.sigmasValue.set(Float32Array.from(sigmas));
    this.timestepsValue = timesteps;
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

  /** `sample / √(σ² + 1)` at the current step (diffusers' `scale_model_input`). */
  scaleModelInput(sample: tf.Tensor, timestep: number): tf.Tensor {
    const owner = 'EulerAncestralDiscreteScheduler.scaleModelInput';
    assertFloatTensor(owner, 'sample', sample);
    const i = this.initStepIndex(owner, timestep);
    return tf.div(sample, inputScaleFor(this.sigmasValue[i]));
  }

  /**
   * One ancestral step σ_i → σ_{i+1}: an Euler step to σ_down = √(σ_{i+1}² − σ_up²), then noise · σ_up with
   * σ_up = √(σ_{i+1}² (σ_i² − σ_{i+1}²) / σ_i²). The noise is `options.varianceNoise` or drawn from `options.generator`.
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: EulerAncestralStepOptions = {}): SchedulerStepOutput {
    const owner = 'EulerAncestralDiscreteScheduler.step';
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    const { generator, varianceNoise } = options;
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    if (varianceNoise !== undefined && generator !== undefined) throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    const i = this.initStepIndex(owner, timestep);
    if (i + 1 >= this.sigmasValue.length) {
      throw new Error(`${owner}: the schedule is finished (step ${i} of ${this.sigmasValue.length - 1}); call setTimesteps again`);
    }
    const sigma = this.sigmasValue[i];
    const sigmaTo = this.sigmasValue[i + 1];
    const sigmaTo2 = f32(sigmaTo * sigmaTo);
    const sigmaFrom2 = f32(sigma * sigma);
    const sigmaUp = sqrtF32(f32(f32(sigmaTo2 * f32(sigmaFrom2 - sigmaTo2)) / sigmaFrom2));
    const sigmaDown = sqrtF32(f32(sigmaTo2 - f32(sigmaUp * sigmaUp)));
    const dt = f32(sigmaDown - sigma);
    const result = tf.tidy(() => {
      const predOriginalSample = predictOriginalSample(this.config.predictionType, modelOutput, sample, sigma);
      const derivative = tf.div(tf.sub(sample, predOriginalSample), sigma);
      const noise = varianceNoiseFor(owner, modelOutput, { generator, varianceNoise, layout });
      const prevSample = tf.add(tf.add(sample, tf.mul(derivative, dt)), tf.mul(noise, sigmaUp));
      return { prevSample, predOriginalSample };
    });
    this.stepIndexValue = i + 1;
    return result;
  }

  /** diffusers' `add_noise`: `original + noise · σ(t)`. */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'EulerAncestralDiscreteScheduler.addNoise';
    if (this.beginIndexValue === null) return addNoiseSigma(owner, this.timestepsValue, this.sigmasValue, originalSamples, noise, timesteps);
    const index = this.stepIndexValue ?? this.beginIndexValue;
    return addNoiseSigma(owner, [this.timestepsValue[index]], [this.sigmasValue[index]], originalSamples, noise, this.timestepsValue[index]);
  }
}
