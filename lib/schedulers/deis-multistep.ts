/**
 * DEISMultistepScheduler: diffusion exponential integrator sampler (Zhang & Chen 2022), the log-ρ multistep variant of
 * orders 1–3, step for step as diffusers 0.30.3's `scheduling_deis_multistep.py`.
 *
 * The integration coefficients are diffusers' mix of dtypes: ρ = σ/α are float32 0-dim torch tensors, their logs are
 * NumPy's float32 `np.log` (NumPy's own AVX2 approximation, `numpyLogFloat32`) and the polynomial in them is
 * float32 NumPy scalar arithmetic; the tensor arithmetic is float32 elementwise, as torch's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigField, ConfigSchemaSpec, fieldsOf, oneOf } from '../config/config-schema';
import { f32 } from '../math/float32';
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
  indexForTimestep,
  lambdaOf,
  ModelOutputHistory,
  timestepList,
  VpTables,
  vpTables,
} from './dpm-solver-common';
import type { Timesteps } from './noising';
import { allTimestepsDescending } from './schedule';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';
import { defineSchedulerConfig } from './scheduler-config';
import { numpyLogFloat32 } from './sigmas';
import { assertFloatTensor, assertLayout, assertSameShape } from './step-inputs';
import { thresholdSample } from './thresholding';

/** The config of {@link DEISMultistepScheduler}: diffusers' `__init__` arguments in camelCase. */
export interface DEISMultistepSchedulerConfig extends DpmCommonConfig {
  /** `algorithm_type`: 'deis' ('dpmsolver' and 'dpmsolver++' are rewritten to 'deis' as diffusers does). */
  algorithmType: 'deis';
  /** `solver_type`: 'logrho' ('midpoint', 'heun', 'bh1', 'bh2' are rewritten to 'logrho'). */
  solverType: 'logrho';
}

type C = DEISMultistepSchedulerConfig;
const field = fieldsOf<C>();
const common = DPM_COMMON_FIELDS as unknown as Record<keyof DpmCommonConfig, ConfigField<C>>;

const CONFIG = defineSchedulerConfig<C>('DEISMultistepScheduler', {
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
    field('algorithmType', 'algorithm_type', oneOf<'deis'>(['deis'], { normalize: (v) => (v === 'dpmsolver' || v === 'dpmsolver++' ? 'deis' : v) }), 'deis'),
    field(
      'solverType',
      'solver_type',
      oneOf<'logrho'>(['logrho'], { normalize: (v) => (v === 'midpoint' || v === 'heun' || v === 'bh1' || v === 'bh2' ? 'logrho' : v) }),
      'logrho',
    ),
    common.lowerOrderFinal,
    common.useKarrasSigmas,
    common.timestepSpacing,
    common.stepsOffset,
  ] as ConfigField<C>[],
  crossCheck: checkDpmTables as ConfigSchemaSpec<C>['crossCheck'],
});

const npLog = numpyLogFloat32;

/** ∫ (log t − log c) / (log b − log c) dt at t (diffusers' second-order `ind_fn`), NumPy float32 scalars. */
function indFn2(t: number, b: number, c: number): number {
  const inner = f32(f32(f32(-npLog(c)) + npLog(t)) - 1);
  return f32(f32(t * inner) / f32(npLog(b) - npLog(c)));
}

/** diffusers' third-order `ind_fn`: ∫ (log t − log c)(log t − log d) / ((log b − log c)(log b − log d)) dt at t. */
function indFn3(t: number, b: number, c: number, d: number): number {
  const lt = npLog(t);
  const lc = npLog(c);
  const ld = npLog(d);
  const lb = npLog(b);
  let s = f32(lc * f32(f32(ld - lt) + 1));
  s = f32(s - f32(ld * lt));
  s = f32(s + ld);
  s = f32(s + f32(lt * lt));
  s = f32(s - f32(2 * lt));
  s = f32(s + 2);
  const numerator = f32(t * s);
  return f32(numerator / f32(f32(lb - lc) * f32(lb - ld)));
}

/**
 * The DEIS multistep scheduler of diffusers 0.30.3 (log-ρ, default order 2).
 *
 * ```ts
 * const scheduler = DEISMultistepScheduler.fromConfig(ddim.config);
 * scheduler.setTimesteps(10);
 * ```
 */
export class DEISMultistepScheduler implements Scheduler {
  static readonly className = 'DEISMultistepScheduler';
  static readonly compatibles: readonly string[] = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 1;

  readonly className = DEISMultistepScheduler.className;
  readonly order = DEISMultistepScheduler.order;
  readonly config: Readonly<C>;
  readonly initNoiseSigma = 1.0;
  readonly stepTakesGenerator = false;
  readonly tables: Readonly<VpTables>;

  private timestepsValue: Int32Array;
  private sigmasValue: Float32Array;
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  private lowerOrderNums = 0;
  private history: ModelOutputHistory;

  constructor(config: Partial<C> = {}) {
    this.config = CONFIG.resolve(config);
    this.tables = vpTables(this.config);
    this.timestepsValue = allTimestepsDescending(this.config.numTrainTimesteps);
    this.sigmasValue = this.tables.sigmas;
    this.history = new ModelOutputHistory(this.config.solverOrder);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): DEISMultistepScheduler {
    return new DEISMultistepScheduler({ ...CONFIG.fromConfig(json, options) });
  }

  toDiffusersConfig(): Record<string, unknown> {
    return CONFIG.toDiffusersConfig(this.config);
  }

  get timesteps(): Int32Array {
    return this.timestepsValue;
  }

  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get numInferenceSteps(): number | null {
    return this.numInferenceStepsValue;
  }

  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  get beginIndex(): number | null {
    return this.beginIndexValue;
  }

  setBeginIndex(beginIndex = 0): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new Error(`DEISMultistepScheduler.setBeginIndex: beginIndex=${beginIndex} must be an integer >= 0`);
    this.beginIndexValue = beginIndex;
  }

  get length(): number {
    return this.config.numTrainTimesteps;
  }

  /** diffusers' `set_timesteps(n)`; the final σ is the smallest training σ (the last Karras σ with Karras). */
  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const n = assertInferenceSteps('DEISMultistepScheduler.setTimesteps', numInferenceSteps, c.numTrainTimesteps);
    const spaced = dpmTimesteps(c.numTrainTimesteps, c.numTrainTimesteps, n, c.timestepSpacing, c.stepsOffset);
    const { timesteps, sigmas } = dpmSigmaSchedule(this.tables.sigmas, spaced, n, c.useKarrasSigmas ? 'karras' : 'table');
    const all = new Float32Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = c.useKarrasSigmas ? sigmas[sigmas.length - 1] : this.tables.sigmas[0];
    this.timestepsValue = timesteps;
    this.sigmasValue = all;
    this.numInferenceStepsValue = timesteps.length;
    this.history.clear();
    this.history = new ModelOutputHistory(c.solverOrder);
    this.lowerOrderNums = 0;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /** Releases the model-output history. */
  dispose(): void {
    this.history.clear();
  }

  /** One multistep DEIS step (diffusers' `step`). */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: SchedulerStepOptions = {}): SchedulerStepOutput {
    const owner = 'DEISMultistepScheduler.step';
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    assertStepTimestep(owner, timestep);
    assertFloatTensor(owner, 'modelOutput', modelOutput);
    assertSameShape(owner, 'modelOutput', modelOutput, 'sample', sample);
    assertLayout(owner, options.layout ?? 'NCHW', sample);
    if (this.stepIndexValue === null) this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(timestep, this.timestepsValue);
    const i = this.stepIndexValue;
    const c = this.config;
    const steps = this.timestepsValue.length;
    if (i >= steps) throw new Error(`${owner}: all ${steps} steps are done; call setTimesteps(n) to sample again`);
    const lowerOrderFinal = i === steps - 1 && c.lowerOrderFinal && steps < 15;
    const lowerOrderSecond = i === steps - 2 && c.lowerOrderFinal && steps < 15;
    const converted = tf.tidy(() => this.convertModelOutput(modelOutput, sample, i));
    this.history.push(converted);
    const prevSample = tf.tidy(() => {
      if (c.solverOrder === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) return this.firstOrder(converted, sample, i);
      if (c.solverOrder === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) return this.secondOrder(sample, i);
      return this.thirdOrder(sample, i);
    });
    if (this.lowerOrderNums < c.solverOrder) this.lowerOrderNums += 1;
    this.stepIndexValue = i + 1;
    return { prevSample };
  }

  /** diffusers' `convert_model_output`: x₀ (thresholded if configured), then ε = (x − α·x₀)/σ. */
  private convertModelOutput(modelOutput: tf.Tensor, sample: tf.Tensor, i: number): tf.Tensor {
    const c = this.config;
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[i]);
    let x0: tf.Tensor;
    if (c.predictionType === 'epsilon') x0 = tf.div(tf.sub(sample, tf.mul(sigma, modelOutput)), alpha);
    else if (c.predictionType === 'sample') x0 = modelOutput;
    else x0 = tf.sub(tf.mul(alpha, sample), tf.mul(sigma, modelOutput));
    if (c.thresholding) x0 = thresholdSample(x0, c.dynamicThresholdingRatio, c.sampleMaxValue);
    return tf.div(tf.sub(sample, tf.mul(alpha, x0)), sigma);
  }

  /** α, σ and ρ = σ/α at schedule index k (float32). */
  private point(k: number): { alpha: number; sigma: number; rho: number } {
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[k]);
    return { alpha, sigma, rho: f32(sigma / alpha) };
  }

  /** diffusers' `deis_first_order_update` (DDIM). */
  private firstOrder(m: tf.Tensor, sample: tf.Tensor, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s = this.point(i);
    const h = f32(lambdaOf(t.alpha, t.sigma) - lambdaOf(s.alpha, s.sigma));
    return tf.sub(tf.mul(f32(t.alpha / s.alpha), sample), tf.mul(f32(t.sigma * f32(expF32(h) - 1)), m));
  }

  /** diffusers' `multistep_deis_second_order_update` (log-ρ). */
  private secondOrder(sample: tf.Tensor, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s0 = this.point(i);
    const s1 = this.point(i - 1);
    const coef1 = f32(indFn2(t.rho, s0.rho, s1.rho) - indFn2(s0.rho, s0.rho, s1.rho));
    const coef2 = f32(indFn2(t.rho, s1.rho, s0.rho) - indFn2(s0.rho, s1.rho, s0.rho));
    const inner = tf.add(tf.add(tf.div(sample, s0.alpha), tf.mul(coef1, this.history.newest(1))), tf.mul(coef2, this.history.newest(2)));
    return tf.mul(t.alpha, inner);
  }

  /** diffusers' `multistep_deis_third_order_update` (log-ρ). */
  private thirdOrder(sample: tf.Tensor, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s0 = this.point(i);
    const s1 = this.point(i - 1);
    const s2 = this.point(i - 2);
    const coef1 = f32(indFn3(t.rho, s0.rho, s1.rho, s2.rho) - indFn3(s0.rho, s0.rho, s1.rho, s2.rho));
    const coef2 = f32(indFn3(t.rho, s1.rho, s2.rho, s0.rho) - indFn3(s0.rho, s1.rho, s2.rho, s0.rho));
    const coef3 = f32(indFn3(t.rho, s2.rho, s0.rho, s1.rho) - indFn3(s0.rho, s2.rho, s0.rho, s1.rho));
    const inner = tf.add(
      tf.add(tf.add(tf.div(sample, s0.alpha), tf.mul(coef1, this.history.newest(1))), tf.mul(coef2, this.history.newest(2))),
      tf.mul(coef3, this.history.newest(3)),
    );
    return tf.mul(t.alpha, inner);
  }

  /** diffusers' `add_noise` (see DPMSolverMultistepScheduler.addNoise). */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'DEISMultistepScheduler.addNoise';
    const list = timestepList(owner, timesteps);
    const indices =
      this.beginIndexValue === null
        ? list.map((t) => indexForTimestep(t, this.timestepsValue))
        : list.map(() => this.stepIndexValue ?? (this.beginIndexValue as number));
    return addNoiseBySigma(owner, this.sigmasValue, indices, originalSamples, noise);
  }
}

