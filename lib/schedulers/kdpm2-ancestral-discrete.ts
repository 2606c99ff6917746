/**
 * KDPM2AncestralDiscreteScheduler: k-diffusion's `sample_dpm_2_ancestral`, step for step equal to diffusers
 * 0.30.3's `scheduling_k_dpm_2_ancestral_discrete.py`: the DPM-Solver-2 midpoint step down to σ_down, then fresh
 * noise of σ_up drawn from the generator (at every evaluation, as diffusers draws it; added on the second).
 */
import * as tf from '@tensorflow/tfjs-core';
import { f32, sqrtF32 } from '../math/float32';
import { expF32, logF32 } from '../math/torch-exp-log';
import { addNoiseSigma, commonKFields, indexForTimestep, kBetas, KBetaSchedule, predictOriginalSample } from './k-scheduler-common';
import { interleaveTail, kdpm2BaseTables, lerpHalfF32 } from './kdpm2-discrete';
import type { Timesteps } from './noising';
import { alphasFromBetas, cumprodFloat32, TimestepSpacing } from './schedule';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOutput } from './scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import { defineSchedulerConfig } from './scheduler-config';
import { initNoiseSigmaFor, inputScaleFor, sigmaToTFloat32 } from './sigmas';
import { assertFloatTensor, assertLayout, assertSameShape, varianceNoiseFor, VarianceNoiseOptions } from './step-inputs';

/** The config of {@link KDPM2AncestralDiscreteScheduler}: diffusers' `__init__` arguments in camelCase. */
export interface KDPM2AncestralDiscreteSchedulerConfig {
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

const common = commonKFields<KDPM2AncestralDiscreteSchedulerConfig>({
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedules: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  predictionTypes: ['epsilon', 'v_prediction'],
  timestepSpacing: 'linspace',
});

/** The fields of {@link KDPM2AncestralDiscreteSchedulerConfig}, with diffusers 0.30.3's defaults (declared as diffusers' `@register_to_config`). */
const KDPM2_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG = defineSchedulerConfig<KDPM2AncestralDiscreteSchedulerConfig>('KDPM2AncestralDiscreteScheduler', {
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

/** Options of {@link KDPM2AncestralDiscreteScheduler.step}: where the ancestral noise comes from. */
export interface KDPM2AncestralStepOptions extends VarianceNoiseOptions {
  eta?: number;
}

/**
 * The KDPM2 ancestral scheduler of diffusers 0.30.3 (`order` 2; `step` draws noise from `options.generator` at every
 * evaluation, NCHW order also for NHWC tensors with `layout`).
 *
 * ```ts
 * const scheduler = KDPM2AncestralDiscreteScheduler.fromConfig(ddimScheduler.config);
 * scheduler.setTimesteps(25);
 * let x = tf.tidy(() => tf.mul(randnTensor([1, 3, 32, 32], { generator }), scheduler.initNoiseSigma));
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(scheduler.scaleModelInput(x, t), t);
 *   x = scheduler.step(eps, t, x, { generator }).prevSample;
 * }
 * ```
 */
export class KDPM2AncestralDiscreteScheduler implements Scheduler {
  static readonly className = 'KDPM2AncestralDiscreteScheduler';
  static readonly compatibles = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 2;

  readonly className = KDPM2AncestralDiscreteScheduler.className;
  readonly order = KDPM2AncestralDiscreteScheduler.order;
  readonly stepTakesGenerator = true;
  readonly config: Readonly<KDPM2AncestralDiscreteSchedulerConfig>;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;

  private sigmasValue: Float32Array = new Float32Array(0);
  private sigmasInterpolValue: Float32Array = new Float32Array(0);
  private sigmasUpValue: Float32Array = new Float32Array(0);
  private sigmasDownValue: Float32Array = new Float32Array(0);
  private timestepsValue: Float32Array | Float64Array = new Float32Array(0);
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  private firstSample: tf.Tensor | null = null;

  constructor(config: Partial<KDPM2AncestralDiscreteSchedulerConfig> = {}) {
    this.config = KDPM2_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG.resolve(config);
    this.betas = kBetas(KDPM2AncestralDiscreteScheduler.className, this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumprodFloat32(this.alphas);
    // diffusers' __init__ calls set_timesteps(num_train_timesteps).
    this.computeTables(this.config.numTrainTimesteps);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): KDPM2AncestralDiscreteScheduler {
    return new KDPM2AncestralDiscreteScheduler({ ...KDPM2_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return KDPM2_ANCESTRAL_DISCRETE_SCHEDULER_CONFIG.toDiffusersConfig(this.config);
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** t₀, then each interpolated timestep before the next schedule timestep; float32 (float64 with Karras σ). */
  get timesteps(): Float32Array | Float64Array {
    return this.timestepsValue;
  }

  /** σ₀, every other σ (and the final 0) twice, then 0 again (float32). */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get initNoiseSigma(): number {
    return initNoiseSigmaFor(this.sigmasValue, this.config.timestepSpacing);
  }

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
        `KDPM2AncestralDiscreteScheduler.setTimesteps: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${T}] ` +
          `(numTrainTimesteps=${T})`,
      );
    }
    this.computeTables(numInferenceSteps);
    this.numInferenceStepsValue = numInferenceSteps;
  }

  private computeTables(numInferenceSteps: number): void {
    const { timesteps, sigmas, logSigmas } = kdpm2BaseTables(this.alphasCumprod, this.config, numInferenceSteps);
    const n = sigmas.length;
    // σ_up, σ_down of each σ → next σ (float32 torch ops; the last σ_up is NaN there too, never used).
    const up = new Float32Array(n);
    const down = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const next = i + 1 < n ? sigmas[i + 1] : 0;
      const a = f32(next * next);
      const b = f32(sigmas[i] * sigmas[i]);
      up[i] = sqrtF32(f32(f32(a * f32(b - a)) / b));
      down[i] = i === n - 1 ? 0 : sqrtF32(f32(a - f32(up[i] * up[i])));
    }
    const interpol = Float32Array.from(sigmas, (s, i) => expF32(lerpHalfF32(logF32(s), logF32(down[i]))));
    interpol[n - 1] = 0;
    interpol[n - 2] = 0;
    this.sigmasValue = interleaveTail(sigmas);
    this.sigmasInterpolValue = interleaveTail(interpol);
    this.sigmasUpValue = interleaveTail(up);
    this.sigmasDownValue = interleaveTail(down);
    const tInterpol = Array.from(interpol, (s) => sigmaToTFloat32(s, logSigmas));
    const out = timesteps instanceof Float64Array ? new Float64Array(2 * n - 3) : new Float32Array(2 * n - 3);
    out[0] = timesteps[0];
    for (let i = 1; i < n - 1; i++) {
      out[2 * i - 1] = tInterpol[i - 1];
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
    const owner = 'KDPM2AncestralDiscreteScheduler.scaleModelInput';
    assertFloatTensor(owner, 'sample', sample);
    const i = this.initStepIndex(owner, timestep);
    const sigma = this.stateInFirstOrder ? this.sigmasValue[i] : this.sigmasInterpolValue[i - 1];
    return tf.div(sample, inputScaleFor(sigma));
  }

  /**
   * One evaluation's step: to the interpolated σ, then from the kept sample to σ_down plus noise · σ_up. The noise
   * is drawn at every evaluation (as diffusers does), from `options.generator` or given as `options.varianceNoise`.
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: KDPM2AncestralStepOptions = {}): SchedulerStepOutput {
    const owner = 'KDPM2AncestralDiscreteScheduler.step';
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    const { generator, varianceNoise } = options;
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    if (varianceNoise !== undefined && generator !== undefined) throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    const i = this.initStepIndex(owner, timestep);
    const first = this.stateInFirstOrder;
    if (first && i + 1 >= this.sigmasValue.length) {
      throw new Error(`${owner}: the schedule is finished (step ${i}); call setTimesteps again`);
    }
    const j = first ? i : i - 1;
    const sigma = this.sigmasValue[j];
    const sigmaInterpol = this.sigmasInterpolValue[j];
    const sigmaUp = this.sigmasUpValue[j];
    const sigmaDown = this.sigmasDownValue[i - 1 < 0 ? this.sigmasDownValue.length - 1 : i - 1];
    const sigmaHat = sigma;
    const sigmaInput = first ? sigmaHat : sigmaInterpol;
    const dt = first ? f32(sigmaInterpol - sigmaHat) : f32(sigmaDown - sigmaHat);
    const base = first ? sample : (this.firstSample as tf.Tensor);
    const prevSample = tf.tidy(() => {
      const noise = varianceNoiseFor(owner, modelOutput, { generator, varianceNoise, layout });
      const x0 = predictOriginalSample(this.config.predictionType, modelOutput, sample, sigmaInput);
      const derivative = tf.div(tf.sub(sample, x0), first ? sigmaHat : sigmaInterpol);
      const x = tf.add(base, tf.mul(derivative, dt));
      return first ? x : tf.add(x, tf.mul(noise, sigmaUp));
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
    const owner = 'KDPM2AncestralDiscreteScheduler.addNoise';
    if (this.beginIndexValue === null) return addNoiseSigma(owner, this.timestepsValue, this.sigmasValue, originalSamples, noise, timesteps);
    const index = this.stepIndexValue ?? this.beginIndexValue;
    return addNoiseSigma(owner, [this.timestepsValue[index]], [this.sigmasValue[index]], originalSamples, noise, this.timestepsValue[index]);
  }
}
