/**
 * DPMSolverMultistepScheduler: the multistep DPM-Solver (Lu et al. 2022) and DPM-Solver++ (Lu et al. 2022b), ODE and
 * SDE variants, orders 1–3, step for step equal to diffusers 0.30.3's `scheduling_dpmsolver_multistep.py`.
 *
 * The scalars of a step (α, σ, λ, h, the coefficients) are float32 as diffusers' 0-dim torch tensors, with torch's
 * own exp/log (SLEEF); the tensor arithmetic is the same sequence of float32 elementwise tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { boolean, ConfigField, ConfigSchemaSpec, FieldType, fieldsOf, oneOf } from '../config/config-schema';
import { f32, sqrtF32 } from '../math/float32';
import { expF32 } from '../math/torch-exp-log';
import {
  addNoiseBySigma,
  alphaSigmaOf,
  assertInferenceSteps,
  assertStepTimestep,
  checkDpmTables,
  DPM_COMMON_FIELDS,
  DpmCommonConfig,
  dpmSigmaSchedule,
  dpmTimesteps,
  FINAL_SIGMAS_TYPE_TYPE,
  FinalSigmasType,
  indexForTimestep,
  lambdaMinClippedType,
  lambdaOf,
  lastTimestepFor,
  ModelOutputHistory,
  RESCALE_ZERO_SNR_TYPE,
  timestepList,
  varianceTypeField,
  VpTables,
  vpTables,
} from './dpm-solver-common';
import type { Timesteps } from './noising';
import { allTimestepsDescending } from './schedule';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';
import { defineSchedulerConfig } from './scheduler-config';
import { assertLayout, assertSameShape, assertFloatTensor, SampleLayout, varianceNoiseFor } from './step-inputs';
import { thresholdSample } from './thresholding';

/** `algorithm_type`: DPM-Solver (noise prediction) or DPM-Solver++ (data prediction), ODE or SDE. */
export type DPMSolverAlgorithmType = 'dpmsolver' | 'dpmsolver++' | 'sde-dpmsolver' | 'sde-dpmsolver++';
/** `solver_type` of the second-order update. */
export type DPMSolverType = 'midpoint' | 'heun';
/**
 * `variance_type`: 'learned' / 'learned_range' for a UNet that also predicts the variance (its first 3 channels are
 * the mean); any other value (null, a DDPM config's 'fixed_large') changes nothing, as in diffusers.
 */
export type DPMSolverVarianceType = string | null;

/** The config of {@link DPMSolverMultistepScheduler}: diffusers' `__init__` arguments in camelCase. */
export interface DPMSolverMultistepSchedulerConfig extends DpmCommonConfig {
  /** `algorithm_type` (default 'dpmsolver++'; 'deis' is rewritten to 'dpmsolver++' as diffusers does). */
  algorithmType: DPMSolverAlgorithmType;
  /** `solver_type` (default 'midpoint'; 'logrho', 'bh1', 'bh2' are rewritten to 'midpoint' as diffusers does). */
  solverType: DPMSolverType;
  /** `euler_at_final`: a first-order last step. */
  eulerAtFinal: boolean;
  /** `use_lu_lambdas`: timesteps uniform in λ (ignored when `useKarrasSigmas`). */
  useLuLambdas: boolean;
  /** `final_sigmas_type` (default 'zero'; 'zero' needs a ++ algorithm). */
  finalSigmasType: FinalSigmasType;
  /** `lambda_min_clipped` (default −∞): the timesteps stop where λ_t falls below it. */
  lambdaMinClipped: number;
  /** `variance_type`. */
  varianceType: DPMSolverVarianceType;
  /** `rescale_betas_zero_snr`. */
  rescaleBetasZeroSnr: boolean;
}

const field = fieldsOf<DPMSolverMultistepSchedulerConfig>();
const common = DPM_COMMON_FIELDS as unknown as Record<keyof DpmCommonConfig, ConfigField<DPMSolverMultistepSchedulerConfig>>;

function crossCheck(
  config: DPMSolverMultistepSchedulerConfig,
  context: Parameters<NonNullable<ConfigSchemaSpec<DPMSolverMultistepSchedulerConfig>['crossCheck']>>[1],
): void {
  checkDpmTables(config, context);
  // diffusers checks the algorithm type as given ('deis' too) before rewriting it.
  if (!['dpmsolver++', 'sde-dpmsolver++'].includes(config.algorithmType) && config.finalSigmasType === 'zero') {
    context.fail(
      'finalSigmasType',
      `is not supported with ${context.name('algorithmType')}='${config.algorithmType}' (diffusers raises too); use 'sigma_min'`,
    );
  }
  if (config.solverOrder === 3 && config.algorithmType.startsWith('sde-')) {
    context.fail(
      'solverOrder',
      `has no update for ${context.name('algorithmType')}='${config.algorithmType}' (diffusers 0.30.3 fails at the third step); use 1 or 2`,
    );
  }
}

const CONFIG = defineSchedulerConfig<DPMSolverMultistepSchedulerConfig>('DPMSolverMultistepScheduler', {
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    common.betaSchedule,
    common.trainedBetas,
    common.solverOrder,
    common.predictionType,
    common.thresholding,
    common.dynamicThresholdingRatio,
    common.sampleMaxValue,
    field(
      'algorithmType',
      'algorithm_type',
      // 'deis' is accepted and rewritten to 'dpmsolver++' after the checks, as diffusers does.
      oneOf(['dpmsolver', 'dpmsolver++', 'sde-dpmsolver', 'sde-dpmsolver++', 'deis']) as FieldType<DPMSolverAlgorithmType>,
      'dpmsolver++',
    ),
    field(
      'solverType',
      'solver_type',
      oneOf<DPMSolverType>(['midpoint', 'heun'], { normalize: (v) => (v === 'logrho' || v === 'bh1' || v === 'bh2' ? 'midpoint' : v) }),
      'midpoint',
    ),
    common.lowerOrderFinal,
    field('eulerAtFinal', 'euler_at_final', boolean(), false),
    common.useKarrasSigmas,
    field('useLuLambdas', 'use_lu_lambdas', boolean(), false),
    field('finalSigmasType', 'final_sigmas_type', FINAL_SIGMAS_TYPE_TYPE, 'zero'),
    field('lambdaMinClipped', 'lambda_min_clipped', lambdaMinClippedType(), -Infinity),
    field('varianceType', 'variance_type', varianceTypeField(), null),
    common.timestepSpacing,
    common.stepsOffset,
    field('rescaleBetasZeroSnr', 'rescale_betas_zero_snr', RESCALE_ZERO_SNR_TYPE, false),
  ],
  crossCheck,
}, (config) => ((config.algorithmType as string) === 'deis' ? { ...config, algorithmType: 'dpmsolver++' } : config));

/** diffusers 0.30.3's defaults for `DPMSolverMultistepScheduler`. */
export const DPM_SOLVER_MULTISTEP_DEFAULTS: Readonly<DPMSolverMultistepSchedulerConfig> = CONFIG.defaults;

/** Options of {@link DPMSolverMultistepScheduler.step}: the noise of the SDE variants. */
export type DPMSolverMultistepStepOptions = SchedulerStepOptions;

/**
 * The DPM-Solver multistep scheduler of diffusers 0.30.3 (default: DPM-Solver++ 2M).
 *
 * ```ts
 * const scheduler = DPMSolverMultistepScheduler.fromConfig(ddim.config);   // or a scheduler_config.json object
 * scheduler.setTimesteps(20);
 * let x = randnTensor([1, 3, 32, 32], { generator });
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(x, t);
 *   const { prevSample } = scheduler.step(eps, t, x, { generator });   // generator: SDE variants only
 *   tf.dispose([x, eps]);
 *   x = prevSample;
 * }
 * ```
 */
export class DPMSolverMultistepScheduler implements Scheduler {
  static readonly className = 'DPMSolverMultistepScheduler';
  static readonly compatibles: readonly string[] = KARRAS_DIFFUSION_SCHEDULERS;
  /** diffusers' `order`. */
  static readonly order = 1;

  readonly className = DPMSolverMultistepScheduler.className;
  readonly order = DPMSolverMultistepScheduler.order;
  readonly config: Readonly<DPMSolverMultistepSchedulerConfig>;
  readonly initNoiseSigma = 1.0;
  /** β, α, ᾱ, λ_t and the training σ table (float32). */
  readonly tables: Readonly<VpTables>;

  private timestepsValue: Int32Array;
  private sigmasValue: Float32Array;
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  private lowerOrderNums = 0;
  private history: ModelOutputHistory;

  /** Builds the tables from camelCase options (defaults as diffusers 0.30.3). */
  constructor(config: Partial<DPMSolverMultistepSchedulerConfig> = {}) {
    this.config = CONFIG.resolve(config);
    this.tables = vpTables(this.config);
    this.timestepsValue = allTimestepsDescending(this.config.numTrainTimesteps);
    this.sigmasValue = this.tables.sigmas;
    this.history = new ModelOutputHistory(this.config.solverOrder);
  }

  /**
   * From a diffusers `scheduler_config.json` object (snake_case) or another scheduler's `config` (camelCase): the
   * fields this scheduler knows are kept, the others dropped with one warning (none for DDIM/DDPM-family keys).
   *
   * ```ts
   * const dpm = DPMSolverMultistepScheduler.fromConfig({ ...ddimScheduler.config, useKarrasSigmas: true });
   * ```
   */
  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): DPMSolverMultistepScheduler {
    return new DPMSolverMultistepScheduler({ ...CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return CONFIG.toDiffusersConfig(this.config);
  }

  /**
   * diffusers' `step` takes a `generator` whatever the algorithm (the loop passes one); only the SDE variants draw
   * noise from it.
   */
  readonly stepTakesGenerator = true;

  get timesteps(): Int32Array {
    return this.timestepsValue;
  }

  /** σ of each timestep plus the final σ (float32); before `setTimesteps` the training table. */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  /** The index of the next step in `timesteps` (null before the first step). */
  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  /** diffusers' `begin_index` (set by img2img-style pipelines with {@link setBeginIndex}). */
  get beginIndex(): number | null {
    return this.beginIndexValue;
  }

  /** diffusers' `set_begin_index`: the first step's index. */
  setBeginIndex(beginIndex = 0): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new Error(`DPMSolverMultistepScheduler.setBeginIndex: beginIndex=${beginIndex} must be an integer >= 0`);
    this.beginIndexValue = beginIndex;
  }

  /** diffusers' `len(scheduler)`. */
  get length(): number {
    return this.config.numTrainTimesteps;
  }

  /**
   * diffusers' `set_timesteps(n)`: the timesteps and σ for `timestepSpacing` (and `lambdaMinClipped`), Karras or Lu
   * σ when configured, the final σ; clears the multistep history.
   *
   * ```ts
   * scheduler.setTimesteps(5);
   * Array.from(scheduler.timesteps);  // [999, 799, 599, 400, 200]
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const owner = 'DPMSolverMultistepScheduler.setTimesteps';
    const c = this.config;
    const n = assertInferenceSteps(owner, numInferenceSteps, c.numTrainTimesteps);
    const last = lastTimestepFor(this.tables.lambdaT, c.lambdaMinClipped);
    if (last < 1) throw new Error(`${owner}: lambdaMinClipped=${c.lambdaMinClipped} clips every timestep`);
    const spaced = dpmTimesteps(c.numTrainTimesteps, last, n, c.timestepSpacing, c.stepsOffset);
    const kind = c.useKarrasSigmas ? 'karras' : c.useLuLambdas ? 'lu' : 'table';
    const { timesteps, sigmas } = dpmSigmaSchedule(this.tables.sigmas, spaced, n, kind);
    const sigmaLast = c.finalSigmasType === 'sigma_min' ? this.tables.sigmas[0] : 0;
    const all = new Float32Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = sigmaLast;
    this.timestepsValue = timesteps;
    this.sigmasValue = all;
    this.numInferenceStepsValue = timesteps.length;
    this.history.clear();
    this.history = new ModelOutputHistory(c.solverOrder);
    this.lowerOrderNums = 0;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  /** Returns `sample` itself: DPM-Solver does not scale the model input. */
  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /** Releases the multistep history (the scheduler stays usable: the next `setTimesteps` starts afresh). */
  dispose(): void {
    this.history.clear();
  }

  /**
   * One multistep DPM-Solver step (diffusers' `step`): converts the model output (x₀ for the ++ variants, ε
   * otherwise), stores it in the history, and applies the first-, second- or third-order update the step index
   * and `lowerOrderFinal` / `eulerAtFinal` / `finalSigmasType` allow. The SDE variants add noise from
   * `options.varianceNoise` or `randnTensor(shape, { generator })` (NCHW order also for `layout: 'NHWC'`).
   *
   * ```ts
   * const { prevSample } = scheduler.step(eps, scheduler.timesteps[0], x);
   * ```
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: DPMSolverMultistepStepOptions = {}): SchedulerStepOutput {
    const owner = 'DPMSolverMultistepScheduler.step';
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    assertStepTimestep(owner, timestep);
    assertFloatTensor(owner, 'modelOutput', modelOutput);
    assertFloatTensor(owner, 'sample', sample);
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    const c = this.config;
    const sde = this.config.algorithmType.startsWith('sde-');
    if (sde && options.generator !== undefined && options.varianceNoise !== undefined) {
      throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    }
    const mean = this.meanOutput(owner, modelOutput, sample, layout);
    if (this.stepIndexValue === null) {
      this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(timestep, this.timestepsValue);
    }
    const i = this.stepIndexValue;
    const steps = this.timestepsValue.length;
    if (i >= steps) {
      if (mean !== modelOutput) mean.dispose();
      throw new Error(`${owner}: all ${steps} steps are done; call setTimesteps(n) to sample again`);
    }
    const lowerOrderFinal = i === steps - 1 && (c.eulerAtFinal || (c.lowerOrderFinal && steps < 15) || c.finalSigmasType === 'zero');
    const lowerOrderSecond = i === steps - 2 && c.lowerOrderFinal && steps < 15;

    const converted = tf.tidy(() => this.convertModelOutput(mean, sample, i));
    if (mean !== modelOutput) mean.dispose();
    this.history.push(converted);
    const noise = sde ? varianceNoiseFor(owner, converted, { generator: options.generator, varianceNoise: options.varianceNoise, layout }) : null;

    let prevSample: tf.Tensor;
    try {
      prevSample = tf.tidy(() => {
        if (c.solverOrder === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) return this.firstOrderUpdate(converted, sample, noise, i);
        if (c.solverOrder === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) return this.secondOrderUpdate(sample, noise, i);
        return this.thirdOrderUpdate(sample, i);
      });
    } finally {
      if (noise !== null && noise !== options.varianceNoise) noise.dispose();
    }
    if (this.lowerOrderNums < c.solverOrder) this.lowerOrderNums += 1;
    this.stepIndexValue = i + 1;
    return { prevSample };
  }

  /** The model output without the variance channels of a `learned` / `learned_range` UNet (epsilon only, as diffusers). */
  private meanOutput(owner: string, modelOutput: tf.Tensor, sample: tf.Tensor, layout: SampleLayout): tf.Tensor {
    const c = this.config;
    if ((c.varianceType === 'learned' || c.varianceType === 'learned_range') && c.predictionType === 'epsilon' && modelOutput.rank === 4) {
      const channelAxis = layout === 'NHWC' ? 3 : 1;
      const begin = [0, 0, 0, 0];
      const size = modelOutput.shape.slice();
      size[channelAxis] = Math.min(3, size[channelAxis]);
      const mean = tf.slice(modelOutput, begin, size);
      try {
        assertSameShape(owner, 'modelOutput[:, :3]', mean, 'sample', sample);
      } catch (err) {
        mean.dispose();
        throw err;
      }
      return mean;
    }
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    return modelOutput;
  }

  /** diffusers' `convert_model_output`: x₀ (++ variants) or ε, with thresholding; a new tensor. */
  private convertModelOutput(modelOutput: tf.Tensor, sample: tf.Tensor, i: number): tf.Tensor {
    const c = this.config;
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[i]);
    if (c.algorithmType === 'dpmsolver++' || c.algorithmType === 'sde-dpmsolver++') {
      let x0: tf.Tensor;
      if (c.predictionType === 'epsilon') x0 = tf.div(tf.sub(sample, tf.mul(sigma, modelOutput)), alpha);
      else if (c.predictionType === 'sample') x0 = tf.clone(modelOutput);
      else x0 = tf.sub(tf.mul(alpha, sample), tf.mul(sigma, modelOutput));
      if (c.thresholding) x0 = thresholdSample(x0, c.dynamicThresholdingRatio, c.sampleMaxValue);
      return x0;
    }
    let eps: tf.Tensor;
    if (c.predictionType === 'epsilon') eps = tf.clone(modelOutput);
    else if (c.predictionType === 'sample') eps = tf.div(tf.sub(sample, tf.mul(alpha, modelOutput)), sigma);
    else eps = tf.add(tf.mul(alpha, modelOutput), tf.mul(sigma, sample));
    if (c.thresholding) {
      const x0 = thresholdSample(tf.div(tf.sub(sample, tf.mul(sigma, eps)), alpha), c.dynamicThresholdingRatio, c.sampleMaxValue);
      eps = tf.div(tf.sub(sample, tf.mul(alpha, x0)), sigma);
    }
    return eps;
  }

  /** α, σ, λ at schedule index k (float32). */
  private point(k: number): { alpha: number; sigma: number; lambda: number } {
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[k]);
    return { alpha, sigma, lambda: lambdaOf(alpha, sigma) };
  }

  /** diffusers' `dpm_solver_first_order_update` (DDIM-like). */
  private firstOrderUpdate(m: tf.Tensor, sample: tf.Tensor, noise: tf.Tensor | null, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s = this.point(i);
    const h = f32(t.lambda - s.lambda);
    switch (this.config.algorithmType) {
      case 'dpmsolver++':
        return tf.sub(tf.mul(f32(t.sigma / s.sigma), sample), tf.mul(f32(t.alpha * f32(expF32(-h) - 1)), m));
      case 'dpmsolver':
        return tf.sub(tf.mul(f32(t.alpha / s.alpha), sample), tf.mul(f32(t.sigma * f32(expF32(h) - 1)), m));
      case 'sde-dpmsolver++': {
        const e2 = expF32(f32(-2 * h));
        return tf.add(
          tf.add(tf.mul(f32(f32(t.sigma / s.sigma) * expF32(-h)), sample), tf.mul(f32(t.alpha * f32(1 - e2)), m)),
          tf.mul(f32(t.sigma * sqrtF32(f32(1 - e2))), noise as tf.Tensor),
        );
      }
      case 'sde-dpmsolver': {
        const eh = f32(expF32(h) - 1);
        return tf.add(
          tf.sub(tf.mul(f32(t.alpha / s.alpha), sample), tf.mul(f32(2 * f32(t.sigma * eh)), m)),
          tf.mul(f32(t.sigma * sqrtF32(f32(expF32(f32(2 * h)) - 1))), noise as tf.Tensor),
        );
      }
    }
  }

  /** diffusers' `multistep_dpm_solver_second_order_update`. */
  private secondOrderUpdate(sample: tf.Tensor, noise: tf.Tensor | null, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s0 = this.point(i);
    const s1 = this.point(i - 1);
    const m0 = this.history.newest(1);
    const m1 = this.history.newest(2);
    const h = f32(t.lambda - s0.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const r0 = f32(h0 / h);
    const d0 = m0;
    const d1 = tf.mul(f32(1 / r0), tf.sub(m0, m1));
    const heun = this.config.solverType === 'heun';
    switch (this.config.algorithmType) {
      case 'dpmsolver++': {
        const em = f32(expF32(-h) - 1);
        const b = f32(t.alpha * em);
        const first = tf.sub(tf.mul(f32(t.sigma / s0.sigma), sample), tf.mul(b, d0));
        if (heun) return tf.add(first, tf.mul(f32(t.alpha * f32(f32(em / h) + 1)), d1));
        return tf.sub(first, tf.mul(f32(0.5 * b), d1));
      }
      case 'dpmsolver': {
        const ep = f32(expF32(h) - 1);
        const b = f32(t.sigma * ep);
        const first = tf.sub(tf.mul(f32(t.alpha / s0.alpha), sample), tf.mul(b, d0));
        if (heun) return tf.sub(first, tf.mul(f32(t.sigma * f32(f32(ep / h) - 1)), d1));
        return tf.sub(first, tf.mul(f32(0.5 * b), d1));
      }
      case 'sde-dpmsolver++': {
        const e2 = f32(1 - expF32(f32(-2 * h)));
        const b = f32(t.alpha * e2);
        const first = tf.add(tf.mul(f32(f32(t.sigma / s0.sigma) * expF32(-h)), sample), tf.mul(b, d0));
        const second = heun
          ? tf.add(first, tf.mul(f32(t.alpha * f32(f32(e2 / f32(-2 * h)) + 1)), d1))
          : tf.add(first, tf.mul(f32(0.5 * b), d1));
        return tf.add(second, tf.mul(f32(t.sigma * sqrtF32(e2)), noise as tf.Tensor));
      }
      case 'sde-dpmsolver': {
        const ep = f32(expF32(h) - 1);
        const first = tf.sub(tf.mul(f32(t.alpha / s0.alpha), sample), tf.mul(f32(2 * f32(t.sigma * ep)), d0));
        const second = heun
          ? tf.sub(first, tf.mul(f32(2 * f32(t.sigma * f32(f32(ep / h) - 1))), d1))
          : tf.sub(first, tf.mul(f32(t.sigma * ep), d1));
        return tf.add(second, tf.mul(f32(t.sigma * sqrtF32(f32(expF32(f32(2 * h)) - 1))), noise as tf.Tensor));
      }
    }
  }

  /** diffusers' `multistep_dpm_solver_third_order_update` (ODE variants only; the config refuses SDE + order 3). */
  private thirdOrderUpdate(sample: tf.Tensor, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s0 = this.point(i);
    const s1 = this.point(i - 1);
    const s2 = this.point(i - 2);
    const m0 = this.history.newest(1);
    const m1 = this.history.newest(2);
    const m2 = this.history.newest(3);
    const h = f32(t.lambda - s0.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const h1 = f32(s1.lambda - s2.lambda);
    const r0 = f32(h0 / h);
    const r1 = f32(h1 / h);
    const d0 = m0;
    const d10 = tf.mul(f32(1 / r0), tf.sub(m0, m1));
    const d11 = tf.mul(f32(1 / r1), tf.sub(m1, m2));
    const diff = tf.sub(d10, d11);
    const r01 = f32(r0 + r1);
    const d1 = tf.add(d10, tf.mul(f32(r0 / r01), diff));
    const d2 = tf.mul(f32(1 / r01), diff);
    const hh = f32(h * h);
    if (this.config.algorithmType === 'dpmsolver++') {
      const em = f32(expF32(-h) - 1);
      return tf.sub(
        tf.add(
          tf.sub(tf.mul(f32(t.sigma / s0.sigma), sample), tf.mul(f32(t.alpha * em), d0)),
          tf.mul(f32(t.alpha * f32(f32(em / h) + 1)), d1),
        ),
        tf.mul(f32(t.alpha * f32(f32(f32(em + h) / hh) - 0.5)), d2),
      );
    }
    const ep = f32(expF32(h) - 1);
    return tf.sub(
      tf.sub(
        tf.sub(tf.mul(f32(t.alpha / s0.alpha), sample), tf.mul(f32(t.sigma * ep), d0)),
        tf.mul(f32(t.sigma * f32(f32(ep / h) - 1)), d1),
      ),
      tf.mul(f32(t.sigma * f32(f32(f32(ep - h) / hh) - 0.5)), d2),
    );
  }

  /**
   * diffusers' `add_noise`: α_t · x + σ_t · noise with the σ of each timestep's index in the current schedule.
   *
   * ```ts
   * const noisy = scheduler.addNoise(x0, noise, [scheduler.timesteps[3]]);
   * ```
   */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'DPMSolverMultistepScheduler.addNoise';
    const list = timestepList(owner, timesteps);
    const indices =
      this.beginIndexValue === null
        ? list.map((t) => indexForTimestep(t, this.timestepsValue))
        : list.map(() => this.stepIndexValue ?? (this.beginIndexValue as number));
    return addNoiseBySigma(owner, this.sigmasValue, indices, originalSamples, noise);
  }
}
