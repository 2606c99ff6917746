/**
 * KDPM2DiscreteScheduler: k-diffusion's DPM-Solver-2 (`sample_dpm_2`, Karras et al. 2022 Algorithm 2 with the
 * midpoint in log σ), step for step equal to diffusers 0.30.3's `scheduling_k_dpm_2_discrete.py`. Each interval
 * takes two model evaluations: at σ_i and at the interpolated σ = exp(½ (log σ_i + log σ_{i+1})); `timesteps`
 * interleaves the interpolated timesteps with the schedule's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32 } from '../math/float32';
import { expF32, logF32 } from '../math/torch-exp-log';
import { addNoiseSigma, commonKFields, indexForTimestep, kBetas, KBetaSchedule, predictOriginalSample } from './k-scheduler-common';
import type { Timesteps } from './noising';
import { alphasFromBetas, cumprodFloat32, roundHalfToEven, TimestepSpacing } from './schedule';
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
  sigmaToTFloat32,
} from './sigmas';
import { assertFloatTensor, assertSameShape } from './step-inputs';

/** The config of {@link KDPM2DiscreteScheduler}: diffusers' `KDPM2DiscreteScheduler.__init__` arguments in camelCase. */
export interface KDPM2DiscreteSchedulerConfig {
  numTrainTimesteps: number;
  /** `beta_start` (default 0.00085). */
  betaStart: number;
  /** `beta_end` (default 0.012). */
  betaEnd: number;
  betaSchedule: KBetaSchedule;
  trainedBetas: readonly number[] | null;
  /** `use_karras_sigmas` (the timesteps are then rounded and float64, as diffusers keeps them). */
  useKarrasSigmas: boolean;
  /** `prediction_type`: 'epsilon' or 'v_prediction' (diffusers raises NotImplementedError for 'sample'). */
  predictionType: 'epsilon' | 'v_prediction';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

const common = commonKFields<KDPM2DiscreteSchedulerConfig>({
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionTypes: ['epsilon', 'v_prediction'],
  timestepSpacing: 'linspace',
});

/** The fields of {@link KDPM2DiscreteSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const KDPM2_DISCRETE_SCHEDULER_CONFIG = defineSchedulerConfig<KDPM2DiscreteSchedulerConfig>('KDPM2DiscreteScheduler', {
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

/** `lerp(a, b, 0.5)` of float32 values as torch's CPU kernel computes it (weight ≥ 0.5: `b − (b − a)·0.5`). */
export function lerpHalfF32(a: number, b: number): number {
  return f32(b - f32(b - a) * 0.5);
}

/** The tables KDPM2 and KDPM2 ancestral share: the schedule's timesteps and σ (σ + [0]) before interleaving. */
export function kdpm2BaseTables(
  alphasCumprod: Float32Array,
  config: { numTrainTimesteps: number; timestepSpacing: TimestepSpacing; stepsOffset: number; useKarrasSigmas: boolean },
  numInferenceSteps: number,
): { timesteps: Float32Array | Float64Array; sigmas: Float32Array; logSigmas: Float32Array } {
  const T = config.numTrainTimesteps;
  let timesteps: Float32Array | Float64Array = sigmaSchedulerTimesteps(T, numInferenceSteps, config.timestepSpacing, config.stepsOffset);
  const tableSigmas = sigmasFromAlphasCumprod(alphasCumprod);
  const logSigmas = numpyLogFloat32Array(tableSigmas);
  let sigmas = interpSigmas(timesteps, tableSigmas);
  if (config.useKarrasSigmas) {
    sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], numInferenceSteps);
    timesteps = Float64Array.from(sigmas, (s) => roundHalfToEven(sigmaToT(s, logSigmas)));
  }
  const all = new Float32Array(sigmas.length + 1);
  all.set(Float32Array.from(sigmas));
  return { timesteps, sigmas: all, logSigmas };
}

/** `cat([x[:1], x[1:].repeat_interleave(2), x[-1:]])`. */
export function interleaveTail(x: Float32Array): Float32Array {
  const n = x.length;
  const out = new Float32Array(2 * n);
  out[0] = x[0];
  for (let i = 1; i < n; i++) out[2 * i - 1] = out[2 * i] = x[i];
  out[2 * n - 1] = x[n - 1];
  return out;
}

/**
 * The KDPM2 scheduler of diffusers 0.30.3 (`order` 2: two model evaluations per interval; no generator).
 *
 * ```ts
 * const scheduler = KDPM2DiscreteScheduler.fromConfig(ddimScheduler.config);
 * scheduler.setTimesteps(25);  // 49 timesteps: 49 model evaluations
 * let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma));
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(scheduler.scaleModelInput(x, t), t);
 *   x = scheduler.step(eps, t, x).prevSample;
 * }
 * ```
 */
export class KDPM2DiscreteScheduler implements Scheduler {
  static readonly className = 'KDPM2DiscreteScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 2;

  readonly className = KDPM2DiscreteScheduler.className;
  readonly order = KDPM2DiscreteScheduler.order;
  readonly stepTakesGenerator = false;
  readonly config: Readonly<KDPM2DiscreteSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;

  private sigmasValue: Float32Array = new Float32Array(0);
  private sigmasInterpolValue: Float32Array = new Float32Array(0);
  private timestepsValue: Float32Array | Float64Array = new Float32Array(0);
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  /** The sample of the first evaluation (diffusers' `self.sample`), kept for the second. */
  private firstSample: tf.Tensor | null = null;

  constructor(config: Partial<KDPM2DiscreteSchedulerConfig> = {}) {
    const name = KDPM2DiscreteScheduler.className;
    this.config = KDPM2_DISCRETE_SCHEDULER_CONFIG.resolve(config);
    this.betas = kBetas(name, this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    // diffusers' __init__ calls set_timesteps(num_train_timesteps).
    this.computeTables(this.config.numTrainTimesteps);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): KDPM2DiscreteScheduler {
    return new KDPM2DiscreteScheduler({ ...KDPM2_DISCRETE_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return KDPM2_DISCRETE_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** t₀, then each interpolated timestep before its schedule timestep; float32 (float64 with Karras σ). */
  get timesteps(): Float32Array | Float64Array {
    return this.timestepsValue;
  }

  /** σ₀, every other σ (and the final 0) twice, then 0 again (float32, length 2·numInferenceSteps + 2). */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  /** The interpolated σ, laid out as {@link sigmas}. */
  get sigmasInterpol(): Float32Array {
    return this.sigmasInterpolValue;
  }

  get initNoiseSigma(): number {
    return initNoiseSigmaFor(this.sigmasValue, this.config.timestepSpacing);
  }

  /** diffusers' `state_in_first_order`. */
  get stateInFirstOrder(): boolean {
    return this.firstSample === null;
  }

  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  setBeginIndex(beginIndex = 0): void {
    this.beginIndexValue = beginIndex;
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.numTrainTimesteps;
    if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > T) {
      throw new Error(
        `KDPM2DiscreteScheduler.setTimesteps: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] (numTrainTimesteps=${T})`,
      );
    }
    this.computeTables(numInferenceSteps);
    this.numInferenceStepsValue = numInferenceSteps;
  }

  private computeTables(numInferenceSteps: number): void {
    const { timesteps, sigmas, logSigmas } = kdpm2BaseTables(this.alphasCumprod, this.config, numInferenceSteps);
    const n = sigmas.length;
    // sigmas.log().lerp(sigmas.roll(1).log(), 0.5).exp(), torch float32 (SLEEF log/exp).
    const logs = sigmas.map(logF32);
    const interpol = Float32Array.from(logs, (l, i) => expF32(lerpHalfF32(l, logs[(i + n - 1) % n])));
    this.sigmasValue = interleaveTail(sigmas);
    this.sigmasInterpolValue = interleaveTail(interpol);
    const tInterpol = Array.from(interpol, (s) => sigmaToTFloat32(s, logSigmas));
    const out = timesteps instanceof Float64Array ? new Float64Array(2 * n - 3) : new Float32Array(2 * n - 3);
    out[0] = timesteps[0];
    for (let i = 1; i < n - 1; i++) {
      out[2 * i - 1] = tInterpol[i];
      out[2 * i] = timesteps[i];
    }
    this.timestepsValue = out;
    this.firstSample?.dispose();
    this.firstSample = null;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  /** Frees the kept sample (also done by `setTimesteps`). */
  dispose(): void {
    this.firstSample?.dispose();
    this.firstSample = null;
  }

  private initStepIndex(owner: string, timestep: number): number {
    if (this.stepIndexValue === null) {
      this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(owner, this.timestepsValue, timestep);
    }
    return this.stepIndexValue;
  }

  /** `sample / √(σ² + 1)` with σ of the current evaluation (the interpolated σ for the second one). */
  scaleModelInput(sample: tf.Tensor, timestep: number): tf.Tensor {
    const owner = 'KDPM2DiscreteScheduler.scaleModelInput';
    assertFloatTensor(owner, 'sample', sample);
    const i = this.initStepIndex(owner, timestep);
    const sigma = this.stateInFirstOrder ? this.sigmasValue[i] : this.sigmasInterpolValue[i];
    return tf.div(sample, inputScaleFor(sigma));
  }

  /** One evaluation's step (diffusers' `step`): to the interpolated σ, then from the kept sample to σ_{i+1}. */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, _options: SchedulerStepOptions = {}): SchedulerStepOutput {
    const owner = 'KDPM2DiscreteScheduler.step';
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
    const sigmaInterpol = first ? this.sigmasInterpolValue[i + 1] : this.sigmasInterpolValue[i];
    const sigmaNext = first ? this.sigmasValue[i + 1] : this.sigmasValue[i];
    const sigmaHat = sigma;
    const sigmaInput = first ? sigmaHat : sigmaInterpol;
    const dt = first ? f32(sigmaInterpol - sigmaHat) : f32(sigmaNext - sigmaHat);
    const base = first ? sample : (this.firstSample as tf.Tensor);
    const prevSample = tf.tidy(() => {
      const x0 = predictOriginalSample(this.config.predictionType, modelOutput, sample, sigmaInput);
      const derivative = tf.div(tf.sub(sample, x0), first ? sigmaHat : sigmaInterpol);
      return tf.add(base, tf.mul(derivative, dt));
    });
    if (first) {
      this.firstSample = tf.keep(tf.clone(sample)); // outlives a tf.tidy around `step`
    } else {
      this.firstSample?.dispose();
      this.firstSample = null;
    }
    this.stepIndexValue = i + 1;
    return { prevSample };
  }

  /** diffusers' `add_noise`: `original + noise · σ(t)`. */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'KDPM2DiscreteScheduler.addNoise';
    if (this.beginIndexValue === null) return addNoiseSigma(owner, this.timestepsValue, this.sigmasValue, originalSamples, noise, timesteps);
    const index = this.stepIndexValue ?? this.beginIndexValue;
    return addNoiseSigma(owner, [this.timestepsValue[index]], [this.sigmasValue[index]], originalSamples, noise, this.timestepsValue[index]);
  }
}
