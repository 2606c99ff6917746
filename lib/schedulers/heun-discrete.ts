/**
 * HeunDiscreteScheduler: Heun's second-order method on the probability-flow ODE in σ space (Karras et al. 2022,
 * Algorithm 1), step for step equal to diffusers 0.30.3's `scheduling_heun_discrete.py`. Each interval takes two
 * model evaluations: `timesteps` lists every timestep but the first twice, and `step` alternates between the Euler
 * predictor and the trapezoidal corrector.
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32 } from '../math/float32';
import { addNoiseSigma, commonKFields, indexForTimestep, kBetas, predictOriginalSample } from './k-scheduler-common';
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

/** The config of {@link HeunDiscreteScheduler}: diffusers' `HeunDiscreteScheduler.__init__` arguments in camelCase. */
export interface HeunDiscreteSchedulerConfig {
  numTrainTimesteps: number;
  /** `beta_start` (Heun's default is Stable Diffusion's 0.00085). */
  betaStart: number;
  /** `beta_end` (default 0.012). */
  betaEnd: number;
  /** `beta_schedule`: 'linear', 'scaled_linear', 'squaredcos_cap_v2' or 'exp'. */
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2' | 'exp';
  trainedBetas: readonly number[] | null;
  predictionType: 'epsilon' | 'sample' | 'v_prediction';
  /** `use_karras_sigmas` (the timesteps are then float64, as diffusers keeps them). */
  useKarrasSigmas: boolean;
  /** `clip_sample`: clamp the predicted x₀ to ±clipSampleRange. */
  clipSample: boolean;
  clipSampleRange: number;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

const common = commonKFields<HeunDiscreteSchedulerConfig>({
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2', 'exp'],
  predictionTypes: ['epsilon', 'sample', 'v_prediction'],
  timestepSpacing: 'linspace',
});

/** The fields of {@link HeunDiscreteSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const HEUN_DISCRETE_SCHEDULER_CONFIG = defineSchedulerConfig<HeunDiscreteSchedulerConfig>('HeunDiscreteScheduler', {
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    common.betaSchedule,
    common.trainedBetas,
    common.predictionType,
    common.useKarrasSigmas,
    common.clipSample,
    common.clipSampleRange,
    common.timestepSpacing,
    common.stepsOffset,
  ],
});

/**
 * The Heun scheduler of diffusers 0.30.3 (`order` 2: two model evaluations per interval; no generator).
 *
 * ```ts
 * const scheduler = HeunDiscreteScheduler.fromConfig(ddimScheduler.config);
 * scheduler.setTimesteps(25);  // 49 timesteps: 49 model evaluations
 * let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma));
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(scheduler.scaleModelInput(x, t), t);
 *   x = scheduler.step(eps, t, x).prevSample;
 * }
 * ```
 */
export class HeunDiscreteScheduler implements Scheduler {
  static readonly className = 'HeunDiscreteScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 2;

  readonly className = HeunDiscreteScheduler.className;
  readonly order = HeunDiscreteScheduler.order;
  readonly stepTakesGenerator = false;
  readonly config: Readonly<HeunDiscreteSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;

  private sigmasValue = new Float32Array(0);
  private timestepsValue: Float32Array | Float64Array = new Float32Array(0);
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  /** The predictor's state between the two evaluations (diffusers' `prev_derivative`, `dt`, `sample`). */
  private prevDerivative: tf.Tensor | null = null;
  private dt: number | null = null;
  private firstSample: tf.Tensor | null = null;

  constructor(config: Partial<HeunDiscreteSchedulerConfig> = {}) {
    const name = HeunDiscreteScheduler.className;
    this.config = HEUN_DISCRETE_SCHEDULER_CONFIG.resolve(config);
    this.betas = kBetas(name, this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    // diffusers' __init__ calls set_timesteps(num_train_timesteps): the tables exist before the user's call.
    this.computeTables(this.config.numTrainTimesteps);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): HeunDiscreteScheduler {
    return new HeunDiscreteScheduler({ ...HEUN_DISCRETE_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return HEUN_DISCRETE_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  /** The number of inference steps of the last {@link setTimesteps} (null before it; diffusers' tables of T steps exist). */
  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The model timesteps: t₀, then every other one twice; float32 (float64 with Karras σ, as diffusers). */
  get timesteps(): Float32Array | Float64Array {
    return this.timestepsValue;
  }

  /** σ₀, every other σ twice, then 0 (float32, length 2·numInferenceSteps). */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get initNoiseSigma(): number {
    return initNoiseSigmaFor(this.sigmasValue, this.config.timestepSpacing);
  }

  /** diffusers' `state_in_first_order`: the next step is a predictor step. */
  get stateInFirstOrder(): boolean {
    return this.dt === null;
  }

  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  setBeginIndex(beginIndex = 0): void {
    this.beginIndexValue = beginIndex;
  }

  /** diffusers' `set_timesteps`: the timesteps and σ, interleaved for the two evaluations; resets the state. */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(
        `HeunDiscreteScheduler.setTimesteps: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`,
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
    let sigmas: Float64Array = interpSigmas(timesteps, tableSigmas);
    if (c.useKarrasSigmas) {
      const logSigmas = numpyLogFloat32Array(tableSigmas);
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], numInferenceSteps);
      timesteps = Float64Array.from(sigmas, (s) => sigmaToT(s, logSigmas));
    }
    const n = sigmas.length;
    // cat([σ[:1], σ[1:-1].repeat_interleave(2), σ[-1:]]) of σ + [0]; cat([t[:1], t[1:].repeat_interleave(2)]).
    const s = new Float32Array(2 * n);
    s[0] = sigmas[0];
    for (let i = 1; i < n; i++) s[2 * i - 1] = s[2 * i] = sigmas[i];
    s[2 * n - 1] = 0;
    const t = timesteps instanceof Float64Array ? new Float64Array(2 * n - 1) : new Float32Array(2 * n - 1);
    t[0] = timesteps[0];
    for (let i = 1; i < n; i++) t[2 * i - 1] = t[2 * i] = timesteps[i];
    this.sigmasValue = s;
    this.timestepsValue = t;
    this.resetState();
  }

  private resetState(): void {
    this.prevDerivative?.dispose();
    this.firstSample?.dispose();
    this.prevDerivative = null;
    this.firstSample = null;
    this.dt = null;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  /** Frees the predictor's state (also done by `setTimesteps`). */
  dispose(): void {
    this.resetState();
  }

  private initStepIndex(owner: string, timestep: number): number {
    if (this.stepIndexValue === null) {
      this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(owner, this.timestepsValue, timestep);
    }
    return this.stepIndexValue;
  }

  /** `sample / √(σ² + 1)` at the current step (diffusers' `scale_model_input`). */
  scaleModelInput(sample: tf.Tensor, timestep: number): tf.Tensor {
    const owner = 'HeunDiscreteScheduler.scaleModelInput';
    assertFloatTensor(owner, 'sample', sample);
    const i = this.initStepIndex(owner, timestep);
    return tf.div(sample, inputScaleFor(this.sigmasValue[i]));
  }

  /**
   * One evaluation's step (diffusers' `step`): the Euler predictor (it keeps the derivative, dt and the sample),
   * then the corrector, which averages both derivatives from the kept sample. `options` are ignored.
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, _options: SchedulerStepOptions = {}): SchedulerStepOutput {
    const owner = 'HeunDiscreteScheduler.step';
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    const i = this.initStepIndex(owner, timestep);
    const first = this.stateInFirstOrder;
    if (first && i + 1 >= this.sigmasValue.length) {
      throw new Error(`${owner}: the schedule is finished (step ${i}); call setTimesteps again`);
    }
    const sigma = first ? this.sigmasValue[i] : this.sigmasValue[i - 1];
    const sigmaNext = first ? this.sigmasValue[i + 1] : this.sigmasValue[i];
    const sigmaHat = sigma; // γ = 0: σ̂ = σ · (0 + 1)
    const { predictionType, clipSample, clipSampleRange } = this.config;
    const sigmaInput = first ? sigmaHat : sigmaNext;
    let prevSample: tf.Tensor;
    if (first) {
      const dt = f32(sigmaNext - sigmaHat);
      const derivative = tf.tidy(() => {
        let x0 = predictOriginalSample(predictionType, modelOutput, sample, sigmaInput);
        if (clipSample) x0 = tf.clipByValue(x0, -f32(clipSampleRange), f32(clipSampleRange));
        return tf.div(tf.sub(sample, x0), sigmaHat);
      });
      prevSample = tf.tidy(() => tf.add(sample, tf.mul(derivative, dt)));
      this.prevDerivative = tf.keep(derivative);
      this.dt = dt;
      this.firstSample = tf.keep(tf.clone(sample)); // outlives a tf.tidy around `step`
    } else {
      const prev = this.prevDerivative as tf.Tensor;
      const kept = this.firstSample as tf.Tensor;
      const dt = this.dt as number;
      prevSample = tf.tidy(() => {
        let x0 = predictOriginalSample(predictionType, modelOutput, sample, sigmaInput);
        if (clipSample) x0 = tf.clipByValue(x0, -f32(clipSampleRange), f32(clipSampleRange));
        const derivative = tf.div(tf.add(prev, tf.div(tf.sub(sample, x0), sigmaNext)), 2);
        return tf.add(kept, tf.mul(derivative, dt));
      });
      prev.dispose();
      kept.dispose();
      this.prevDerivative = null;
      this.firstSample = null;
      this.dt = null;
    }
    this.stepIndexValue = i + 1;
    return { prevSample };
  }

  /** diffusers' `add_noise`: `original + noise · σ(t)`. */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'HeunDiscreteScheduler.addNoise';
    if (this.beginIndexValue === null) return addNoiseSigma(owner, this.timestepsValue, this.sigmasValue, originalSamples, noise, timesteps);
    const index = this.stepIndexValue ?? this.beginIndexValue;
    return addNoiseSigma(owner, [this.timestepsValue[index]], [this.sigmasValue[index]], originalSamples, noise, this.timestepsValue[index]);
  }
}
