/**
 * LMSDiscreteScheduler: the linear multistep method in σ space (k-diffusion's `sample_lms`), step for step equal to
 * diffusers 0.30.3's `scheduling_lms_discrete.py`: each step combines the last `order` derivatives with weights
 * that integrate the Lagrange basis polynomials over the step (lib/schedulers/lms-coefficients.ts reproduces
 * `scipy.integrate.quad`'s values bit for bit).
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32 } from '../math/float32';
import { addNoiseSigma, commonKFields, indexForTimestep, kBetas, KBetaSchedule, predictOriginalSample } from './k-scheduler-common';
import { lmsCoefficient } from './lms-coefficients';
import type { Timesteps } from './noising';
import { alphasFromBetas, cumprodFloat32, TimestepSpacing } from './schedule';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import { defineSchedulerConfig } from './scheduler-config';
import {
  initNoiseSigmaFor,
  inputScaleFor,
  interpSigmas,
  karrasSigmas,
  numpyLogFloat32Array,
  sigmaSchedulerTimesteps,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from './sigmas';
import { assertFloatTensor, assertSameShape } from './step-inputs';

/** The config of {@link LMSDiscreteScheduler}: diffusers' `LMSDiscreteScheduler.__init__` arguments in camelCase. */
export interface LMSDiscreteSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: KBetaSchedule;
  trainedBetas: readonly number[] | null;
  /** `use_karras_sigmas` (the timesteps are then float64, as diffusers keeps them). */
  useKarrasSigmas: boolean;
  predictionType: 'epsilon' | 'sample' | 'v_prediction';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

const common = commonKFields<LMSDiscreteSchedulerConfig>({
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionTypes: ['epsilon', 'sample', 'v_prediction'],
  timestepSpacing: 'linspace',
});

/** The fields of {@link LMSDiscreteSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const LMS_DISCRETE_SCHEDULER_CONFIG = defineSchedulerConfig<LMSDiscreteSchedulerConfig>('LMSDiscreteScheduler', {
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    common.betaSchedule,
    common.trainedBetas,
    common.useKarrasSigmas,
    common.predictionType,
    common.timestepSpacing,
    common.stepsOffset,
  ],
});

/** Options of {@link LMSDiscreteScheduler.step}. */
export interface LMSStepOptions extends SchedulerStepOptions {
  /** `order`: how many past derivatives a step combines (default 4; fewer on the first steps). */
  order?: number;
}

/**
 * The LMS scheduler of diffusers 0.30.3 (no generator; `step` keeps the last `order` derivatives).
 *
 * ```ts
 * const scheduler = LMSDiscreteScheduler.fromConfig(ddimScheduler.config);
 * scheduler.setTimesteps(50);
 * let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma));
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(scheduler.scaleModelInput(x, t), t);
 *   x = scheduler.step(eps, t, x, { order: 4 }).prevSample;
 * }
 * ```
 */
export class LMSDiscreteScheduler implements Scheduler {
  static readonly className = 'LMSDiscreteScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 1;

  readonly className = LMSDiscreteScheduler.className;
  readonly order = LMSDiscreteScheduler.order;
  readonly stepTakesGenerator = false;
  readonly config: Readonly<LMSDiscreteSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;

  private sigmasValue = new Float32Array(0);
  private timestepsValue: Float32Array | Float64Array = new Float32Array(0);
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  /** The last derivatives, oldest first (diffusers' `derivatives`), owned by the scheduler. */
  private derivatives: tf.Tensor[] = [];

  constructor(config: Partial<LMSDiscreteSchedulerConfig> = {}) {
    const name = LMSDiscreteScheduler.className;
    this.config = LMS_DISCRETE_SCHEDULER_CONFIG.resolve(config);
    this.betas = kBetas(name, this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    // diffusers' __init__ calls set_timesteps(num_train_timesteps).
    this.computeTables(this.config.numTrainTimesteps);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): LMSDiscreteScheduler {
    return new LMSDiscreteScheduler({ ...LMS_DISCRETE_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return LMS_DISCRETE_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The model timesteps, largest first: float32 (float64 with Karras σ, as diffusers). */
  get timesteps(): Float32Array | Float64Array {
    return this.timestepsValue;
  }

  /** σ at each timestep, then 0 (float32). */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get initNoiseSigma(): number {
    return initNoiseSigmaFor(this.sigmasValue, this.config.timestepSpacing);
  }

  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  setBeginIndex(beginIndex = 0): void {
    this.beginIndexValue = beginIndex;
  }

  /** diffusers' `set_timesteps`; drops the kept derivatives. */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(
        `LMSDiscreteScheduler.setTimesteps: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`,
      );
    }
    this.computeTables(numInferenceSteps);
    this.numInferenceStepsValue = numInferenceSteps;
  }

  private computeTables(numInferenceSteps: number): void {
    const c = this.config;
    const T = c.numTrainTimesteps;
    let timesteps: Float32Array | Float64Array = sigmaSchedulerTimesteps(T, numInferenceSteps, c.timestepSpacing, c.stepsOffset);
    const tableSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
    let sigmas = interpSigmas(timesteps, tableSigmas);
    if (c.useKarrasSigmas) {
      const logSigmas = numpyLogFloat32Array(tableSigmas);
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], numInferenceSteps);
      timesteps = Float64Array.from(sigmas, (s) => sigmaToT(s, logSigmas));
    }
    this.sigmasValue = new Float32Array(sigmas.length + 1);
    this.sigmasValue.set(Float32Array.from(sigmas));
    this.timestepsValue = timesteps;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
    this.dropDerivatives();
  }

  private dropDerivatives(): void {
    for (const d of this.derivatives) d.dispose();
    this.derivatives = [];
  }

  /** Frees the kept derivatives (also done by `setTimesteps`). */
  dispose(): void {
    this.dropDerivatives();
  }

  private initStepIndex(owner: string, timestep: number): number {
    if (this.stepIndexValue === null) {
      this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(owner, this.timestepsValue, timestep);
    }
    return this.stepIndexValue;
  }

  /** `sample / √(σ² + 1)` at the current step (diffusers' `scale_model_input`). */
  scaleModelInput(sample: tf.Tensor, timestep: number): tf.Tensor {
    const owner = 'LMSDiscreteScheduler.scaleModelInput';
    assertFloatTensor(owner, 'sample', sample);
    const i = this.initStepIndex(owner, timestep);
    return tf.div(sample, inputScaleFor(this.sigmasValue[i]));
  }

  /**
   * The LMS coefficients of the step at position `stepIndex` with `order` derivatives (diffusers'
   * `get_lms_coefficient` for each current order), newest derivative first.
   */
  lmsCoefficients(order: number, stepIndex: number): number[] {
    return Array.from({ length: order }, (_v, c) => lmsCoefficient(this.sigmasValue, order, stepIndex, c));
  }

  /** One LMS step (diffusers' `step`), `options.order` (default 4) past derivatives at most. */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: LMSStepOptions = {}): SchedulerStepOutput {
    const owner = 'LMSDiscreteScheduler.step';
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    const { order = 4 } = options;
    if (typeof order !== 'number' || !Number.isInteger(order) || order < 1) {
      throw new Error(`${owner}: order=${String(order)} must be a positive integer`);
    }
    const i = this.initStepIndex(owner, timestep);
    if (i + 1 >= this.sigmasValue.length) {
      throw new Error(`${owner}: the schedule is finished (step ${i} of ${this.sigmasValue.length - 1}); call setTimesteps again`);
    }
    const sigma = this.sigmasValue[i];
    const { derivative, predOriginalSample } = tf.tidy(() => {
      const x0 = predictOriginalSample(this.config.predictionType, modelOutput, sample, sigma);
      return { derivative: tf.div(tf.sub(sample, x0), sigma), predOriginalSample: x0 === modelOutput ? tf.clone(modelOutput) : x0 };
    });
    this.derivatives.push(tf.keep(derivative)); // outlives a tf.tidy around `step`
    if (this.derivatives.length > order) (this.derivatives.shift() as tf.Tensor).dispose();
    const used = Math.min(i + 1, order);
    const coeffs = this.lmsCoefficients(used, i);
    const newestFirst = [...this.derivatives].reverse();
    const prevSample = tf.tidy(() => {
      // Python's sum(): 0 + c₀·d₀ + c₁·d₁ + …, each coefficient a float32 scalar.
      let sum: tf.Tensor | null = null;
      for (let k = 0; k < Math.min(coeffs.length, newestFirst.length); k++) {
        const term = tf.mul(f32(coeffs[k]), newestFirst[k]);
        sum = sum === null ? tf.add(term, 0) : tf.add(sum, term);
      }
      return sum === null ? tf.clone(sample) : tf.add(sample, sum);
    });
    this.stepIndexValue = i + 1;
    return { prevSample, predOriginalSample };
  }

  /** diffusers' `add_noise`: `original + noise · σ(t)`. */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'LMSDiscreteScheduler.addNoise';
    if (this.beginIndexValue === null) return addNoiseSigma(owner, this.timestepsValue, this.sigmasValue, originalSamples, noise, timesteps);
    const index = this.stepIndexValue ?? this.beginIndexValue;
    return addNoiseSigma(owner, [this.timestepsValue[index]], [this.sigmasValue[index]], originalSamples, noise, this.timestepsValue[index]);
  }
}
