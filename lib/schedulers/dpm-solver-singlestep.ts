/**
 * DPMSolverSinglestepScheduler: the singlestep DPM-Solver / DPM-Solver++ (Lu et al. 2022), orders 1–3 cycling over
 * the timesteps (each order-k block restarts from the sample at its start), step for step as diffusers 0.30.3's
 * `scheduling_dpmsolver_singlestep.py`, with its float32 scalars and torch's exp/log (SLEEF).
 *
 * As diffusers, `setTimesteps` turns `lowerOrderFinal` on for good (the config changes) when the step count is not a
 * multiple of `solverOrder` or the final σ is 0.
 *
 * One deliberate difference: with `solverOrder: 3`, a final σ of 0 and n % 3 = 2 steps, diffusers' last step is of
 * order 2 and divides by r₀ = 0 (NaN). This port takes that step as first order, which returns the newest x₀
 * prediction (the limit of the update as σ → 0). Every other step equals diffusers'.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigField, ConfigSchemaSpec, FieldType, fieldsOf, oneOf } from '../config/config-schema';
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
import { assertFloatTensor, assertLayout, assertSameShape, SampleLayout, varianceNoiseFor } from './step-inputs';
import { thresholdSample } from './thresholding';

/** `algorithm_type` of the singlestep solver (diffusers 0.30.3 has no 'sde-dpmsolver' here). */
export type DPMSolverSinglestepAlgorithmType = 'dpmsolver' | 'dpmsolver++' | 'sde-dpmsolver++';

/** The config of {@link DPMSolverSinglestepScheduler}: diffusers' `__init__` arguments in camelCase. */
export interface DPMSolverSinglestepSchedulerConfig
  extends Omit<DpmCommonConfig, 'timestepSpacing' | 'stepsOffset'> {
  /** `algorithm_type` (default 'dpmsolver++'; 'deis' is rewritten to 'dpmsolver++' as diffusers does). */
  algorithmType: DPMSolverSinglestepAlgorithmType;
  /** `solver_type` (default 'midpoint'; 'logrho', 'bh1', 'bh2' are rewritten to 'midpoint'). */
  solverType: 'midpoint' | 'heun';
  /** `final_sigmas_type` (default 'zero'; 'zero' needs a ++ algorithm). */
  finalSigmasType: FinalSigmasType;
  /** `lambda_min_clipped` (default −∞). */
  lambdaMinClipped: number;
  /** `variance_type` ('learned' / 'learned_range': the first 3 channels are the mean). */
  varianceType: string | null;
}

type C = DPMSolverSinglestepSchedulerConfig;
const field = fieldsOf<C>();
const common = DPM_COMMON_FIELDS as unknown as Record<keyof DpmCommonConfig, ConfigField<C>>;

function crossCheck(config: C, context: Parameters<NonNullable<ConfigSchemaSpec<C>['crossCheck']>>[1]): void {
  checkDpmTables(config, context);
  if (!['dpmsolver++', 'sde-dpmsolver++'].includes(config.algorithmType) && config.finalSigmasType === 'zero') {
    context.fail('finalSigmasType', `is not supported with ${context.name('algorithmType')}='${config.algorithmType}' (diffusers raises too); use 'sigma_min'`);
  }
  if (config.algorithmType === 'sde-dpmsolver++' && config.solverOrder === 3) {
    context.fail('solverOrder', `has no update for ${context.name('algorithmType')}='sde-dpmsolver++' (diffusers 0.30.3 fails at its first third-order step); use 1 or 2`);
  }
  if (config.algorithmType === 'dpmsolver' && config.thresholding) {
    context.fail(
      'thresholding',
      `is not supported with ${context.name('algorithmType')}='dpmsolver' (diffusers 0.30.3 indexes its tables with a missing timestep there and fails)`,
    );
  }
}

const CONFIG = defineSchedulerConfig<C>(
  'DPMSolverSinglestepScheduler',
  {
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
      field('algorithmType', 'algorithm_type', oneOf(['dpmsolver', 'dpmsolver++', 'sde-dpmsolver++', 'deis']) as FieldType<DPMSolverSinglestepAlgorithmType>, 'dpmsolver++'),
      field(
        'solverType',
        'solver_type',
        oneOf<'midpoint' | 'heun'>(['midpoint', 'heun'], { normalize: (v) => (v === 'logrho' || v === 'bh1' || v === 'bh2' ? 'midpoint' : v) }),
        'midpoint',
      ),
      fieldsOf<C>()('lowerOrderFinal', 'lower_order_final', (DPM_COMMON_FIELDS.lowerOrderFinal.type as FieldType<boolean>), false),
      common.useKarrasSigmas,
      field('finalSigmasType', 'final_sigmas_type', FINAL_SIGMAS_TYPE_TYPE, 'zero'),
      field('lambdaMinClipped', 'lambda_min_clipped', lambdaMinClippedType(), -Infinity),
      field('varianceType', 'variance_type', varianceTypeField(), null),
    ],
    crossCheck,
  },
  (config) => ((config.algorithmType as string) === 'deis' ? { ...config, algorithmType: 'dpmsolver++' } : config),
);

/**
 * diffusers' `get_order_list`: the solver order of each step, cycling 1, 2(, 3), ending lower with
 * `lowerOrderFinal`.
 *
 * ```ts
 * singlestepOrderList(5, 2, true);  // [1, 2, 1, 2, 1]
 * ```
 */
export function singlestepOrderList(steps: number, order: number, lowerOrderFinal: boolean): number[] {
  const repeat = (pattern: number[], times: number) => Array.from({ length: Math.max(0, times) }, () => pattern).flat();
  const q3 = Math.floor(steps / 3);
  const q2 = Math.floor(steps / 2);
  if (order === 1) return new Array<number>(steps).fill(1);
  if (!lowerOrderFinal) return order === 3 ? repeat([1, 2, 3], q3) : repeat([1, 2], q2);
  if (order === 3) {
    if (steps % 3 === 0) return [...repeat([1, 2, 3], q3 - 1), 1, 2, 1];
    if (steps % 3 === 1) return [...repeat([1, 2, 3], q3), 1];
    return [...repeat([1, 2, 3], q3), 1, 2];
  }
  return steps % 2 === 0 ? [...repeat([1, 2], q2 - 1), 1, 1] : [...repeat([1, 2], q2), 1];
}

/**
 * The singlestep DPM-Solver scheduler of diffusers 0.30.3 (default: DPM-Solver++ order 2).
 *
 * ```ts
 * const scheduler = DPMSolverSinglestepScheduler.fromConfig(ddim.config);
 * scheduler.setTimesteps(10);
 * ```
 */
export class DPMSolverSinglestepScheduler implements Scheduler {
  static readonly className = 'DPMSolverSinglestepScheduler';
  static readonly compatibles: readonly string[] = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 1;

  readonly className = DPMSolverSinglestepScheduler.className;
  readonly order = DPMSolverSinglestepScheduler.order;
  readonly initNoiseSigma = 1.0;
  readonly tables: Readonly<VpTables>;

  private configValue: Readonly<C>;
  private timestepsValue: Int32Array;
  private sigmasValue: Float32Array;
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  private orderList: number[];
  private history: ModelOutputHistory;
  /** diffusers' `self.sample`: the sample at the start of the current order block. */
  private blockSample: tf.Tensor | null = null;

  constructor(config: Partial<C> = {}) {
    this.configValue = CONFIG.resolve(config);
    this.tables = vpTables(this.configValue);
    this.timestepsValue = allTimestepsDescending(this.configValue.numTrainTimesteps);
    this.sigmasValue = this.tables.sigmas;
    this.history = new ModelOutputHistory(this.configValue.solverOrder);
    this.orderList = singlestepOrderList(this.configValue.numTrainTimesteps, this.configValue.solverOrder, this.configValue.lowerOrderFinal);
  }

  static fromConfig(json: unknown, options: SchedulerFromConfigOptions = {}): DPMSolverSinglestepScheduler {
    return new DPMSolverSinglestepScheduler({ ...CONFIG.fromConfig(json, options) });
  }

  /** The config; `lowerOrderFinal` may have been turned on by {@link setTimesteps}, as in diffusers. */
  get config(): Readonly<C> {
    return this.configValue;
  }

  toDiffusersConfig(): Record<string, unknown> {
    return CONFIG.toDiffusersConfig(this.configValue);
  }

  /**
   * diffusers' `step` takes a `generator` whatever the algorithm (the loop passes one); only the SDE variants draw
   * noise from it.
   */
  readonly stepTakesGenerator = true;

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
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new Error(`DPMSolverSinglestepScheduler.setBeginIndex: beginIndex=${beginIndex} must be an integer >= 0`);
    this.beginIndexValue = beginIndex;
  }

  get length(): number {
    return this.configValue.numTrainTimesteps;
  }

  /** The solver order of each step for the current schedule (diffusers' `order_list`). */
  get orders(): readonly number[] {
    return this.orderList;
  }

  /** diffusers' `set_timesteps(n)`: linspace timesteps up to the λ clip, Karras σ when configured, the order list. */
  setTimesteps(numInferenceSteps: number): void {
    const owner = 'DPMSolverSinglestepScheduler.setTimesteps';
    let c = this.configValue;
    const n = assertInferenceSteps(owner, numInferenceSteps, c.numTrainTimesteps);
    const last = lastTimestepFor(this.tables.lambdaT, c.lambdaMinClipped);
    if (last < 1) throw new Error(`${owner}: lambdaMinClipped=${c.lambdaMinClipped} clips every timestep`);
    const spaced = dpmTimesteps(c.numTrainTimesteps, last, n, 'linspace', 0);
    const { timesteps, sigmas } = dpmSigmaSchedule(this.tables.sigmas, spaced, n, c.useKarrasSigmas ? 'karras' : 'table');
    const all = new Float32Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = c.finalSigmasType === 'sigma_min' ? this.tables.sigmas[0] : 0;
    this.timestepsValue = timesteps;
    this.sigmasValue = all;
    this.numInferenceStepsValue = n;
    this.dispose();
    this.history = new ModelOutputHistory(c.solverOrder);
    // diffusers' register_to_config(lower_order_final=True): for good, as there.
    if (!c.lowerOrderFinal && (n % c.solverOrder !== 0 || c.finalSigmasType === 'zero')) {
      c = Object.freeze({ ...c, lowerOrderFinal: true });
      this.configValue = c;
    }
    this.orderList = singlestepOrderList(n, c.solverOrder, c.lowerOrderFinal);
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /** Releases the model-output history and the block's start sample. */
  dispose(): void {
    this.history.clear();
    this.blockSample?.dispose();
    this.blockSample = null;
  }

  /** One singlestep DPM-Solver step (diffusers' `step`): the order of `orders[stepIndex]` from the block's start. */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: SchedulerStepOptions = {}): SchedulerStepOutput {
    const owner = 'DPMSolverSinglestepScheduler.step';
    if (this.numInferenceStepsValue === null) {
      throw new Error(`${owner}: numInferenceSteps is not set; call setTimesteps(n) after creating the scheduler`);
    }
    assertStepTimestep(owner, timestep);
    assertFloatTensor(owner, 'modelOutput', modelOutput);
    assertFloatTensor(owner, 'sample', sample);
    const layout = assertLayout(owner, options.layout ?? 'NCHW', sample);
    const sde = this.configValue.algorithmType === 'sde-dpmsolver++';
    if (sde && options.generator !== undefined && options.varianceNoise !== undefined) {
      throw new Error(`${owner}: pass either generator or varianceNoise, not both`);
    }
    const mean = this.meanOutput(owner, modelOutput, sample, layout);
    if (this.stepIndexValue === null) this.stepIndexValue = this.beginIndexValue ?? indexForTimestep(timestep, this.timestepsValue);
    const i = this.stepIndexValue;
    const steps = this.timestepsValue.length;
    if (i >= steps || i >= this.orderList.length) {
      if (mean !== modelOutput) mean.dispose();
      throw new Error(`${owner}: all ${Math.min(steps, this.orderList.length)} steps are done; call setTimesteps(n) to sample again`);
    }
    const converted = tf.tidy(() => this.convertModelOutput(mean, sample, i));
    if (mean !== modelOutput) mean.dispose();
    this.history.push(converted);
    const noise = sde ? varianceNoiseFor(owner, converted, { generator: options.generator, varianceNoise: options.varianceNoise, layout }) : null;
    let order = this.orderList[i];
    while (order > 1 && !this.history.has(order)) order -= 1;
    if (order === 1) {
      this.blockSample?.dispose();
      this.blockSample = tf.keep(tf.clone(sample));
    }
    const start = this.blockSample as tf.Tensor;
    // A step of order > 1 to a final σ of 0 (order 3 with n % 3 = 2) divides by r₀ = h₀/h = 0: diffusers returns
    // NaN. Its first-order step there returns the newest x₀ prediction, the limit this port takes.
    if (this.sigmasValue[i + 1] === 0) order = 1;
    let prevSample: tf.Tensor;
    try {
      prevSample = tf.tidy(() =>
        order === 1 ? this.firstOrder(converted, start, noise, i) : order === 2 ? this.secondOrder(start, noise, i) : this.thirdOrder(start, i),
      );
    } finally {
      if (noise !== null && noise !== options.varianceNoise) noise.dispose();
    }
    this.stepIndexValue = i + 1;
    return { prevSample };
  }

  private meanOutput(owner: string, modelOutput: tf.Tensor, sample: tf.Tensor, layout: SampleLayout): tf.Tensor {
    const c = this.configValue;
    if ((c.varianceType === 'learned' || c.varianceType === 'learned_range') && c.predictionType === 'epsilon' && modelOutput.rank === 4) {
      const size = modelOutput.shape.slice();
      size[layout === 'NHWC' ? 3 : 1] = Math.min(3, size[layout === 'NHWC' ? 3 : 1]);
      const mean = tf.slice(modelOutput, [0, 0, 0, 0], size);
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

  /** diffusers' `convert_model_output` (x₀ for the ++ variants, ε for 'dpmsolver'); a new tensor. */
  private convertModelOutput(modelOutput: tf.Tensor, sample: tf.Tensor, i: number): tf.Tensor {
    const c = this.configValue;
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[i]);
    if (c.algorithmType !== 'dpmsolver') {
      let x0: tf.Tensor;
      if (c.predictionType === 'epsilon') x0 = tf.div(tf.sub(sample, tf.mul(sigma, modelOutput)), alpha);
      else if (c.predictionType === 'sample') x0 = tf.clone(modelOutput);
      else x0 = tf.sub(tf.mul(alpha, sample), tf.mul(sigma, modelOutput));
      return c.thresholding ? thresholdSample(x0, c.dynamicThresholdingRatio, c.sampleMaxValue) : x0;
    }
    if (c.predictionType === 'epsilon') return tf.clone(modelOutput);
    if (c.predictionType === 'sample') return tf.div(tf.sub(sample, tf.mul(alpha, modelOutput)), sigma);
    return tf.add(tf.mul(alpha, modelOutput), tf.mul(sigma, sample));
  }

  private point(k: number): { alpha: number; sigma: number; lambda: number } {
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[k]);
    return { alpha, sigma, lambda: lambdaOf(alpha, sigma) };
  }

  /** diffusers' `dpm_solver_first_order_update`. */
  private firstOrder(m: tf.Tensor, sample: tf.Tensor, noise: tf.Tensor | null, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s = this.point(i);
    const h = f32(t.lambda - s.lambda);
    if (this.configValue.algorithmType === 'dpmsolver++') {
      return tf.sub(tf.mul(f32(t.sigma / s.sigma), sample), tf.mul(f32(t.alpha * f32(expF32(-h) - 1)), m));
    }
    if (this.configValue.algorithmType === 'dpmsolver') {
      return tf.sub(tf.mul(f32(t.alpha / s.alpha), sample), tf.mul(f32(t.sigma * f32(expF32(h) - 1)), m));
    }
    const e2 = expF32(f32(-2 * h));
    return tf.add(
      tf.add(tf.mul(f32(f32(t.sigma / s.sigma) * expF32(-h)), sample), tf.mul(f32(t.alpha * f32(1 - e2)), m)),
      tf.mul(f32(t.sigma * sqrtF32(f32(1 - e2))), noise as tf.Tensor),
    );
  }

  /** diffusers' `singlestep_dpm_solver_second_order_update`: from the block start at index i − 1. */
  private secondOrder(sample: tf.Tensor, noise: tf.Tensor | null, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s0 = this.point(i);
    const s1 = this.point(i - 1);
    const m0 = this.history.newest(1);
    const m1 = this.history.newest(2);
    const h = f32(t.lambda - s1.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const r0 = f32(h0 / h);
    const d0 = m1;
    const d1 = tf.mul(f32(1 / r0), tf.sub(m0, m1));
    const heun = this.configValue.solverType === 'heun';
    switch (this.configValue.algorithmType) {
      case 'dpmsolver++': {
        const em = f32(expF32(-h) - 1);
        const b = f32(t.alpha * em);
        const first = tf.sub(tf.mul(f32(t.sigma / s1.sigma), sample), tf.mul(b, d0));
        return heun ? tf.add(first, tf.mul(f32(t.alpha * f32(f32(em / h) + 1)), d1)) : tf.sub(first, tf.mul(f32(0.5 * b), d1));
      }
      case 'dpmsolver': {
        const ep = f32(expF32(h) - 1);
        const b = f32(t.sigma * ep);
        const first = tf.sub(tf.mul(f32(t.alpha / s1.alpha), sample), tf.mul(b, d0));
        return heun ? tf.sub(first, tf.mul(f32(t.sigma * f32(f32(ep / h) - 1)), d1)) : tf.sub(first, tf.mul(f32(0.5 * b), d1));
      }
      default: {
        const e2 = f32(1 - expF32(f32(-2 * h)));
        const b = f32(t.alpha * e2);
        const first = tf.add(tf.mul(f32(f32(t.sigma / s1.sigma) * expF32(-h)), sample), tf.mul(b, d0));
        const second = heun ? tf.add(first, tf.mul(f32(t.alpha * f32(f32(e2 / f32(-2 * h)) + 1)), d1)) : tf.add(first, tf.mul(f32(0.5 * b), d1));
        return tf.add(second, tf.mul(f32(t.sigma * sqrtF32(e2)), noise as tf.Tensor));
      }
    }
  }

  /** diffusers' `singlestep_dpm_solver_third_order_update` (midpoint uses D1_1 only, heun D1 and D2, as diffusers). */
  private thirdOrder(sample: tf.Tensor, i: number): tf.Tensor {
    const t = this.point(i + 1);
    const s0 = this.point(i);
    const s1 = this.point(i - 1);
    const s2 = this.point(i - 2);
    const m0 = this.history.newest(1);
    const m1 = this.history.newest(2);
    const m2 = this.history.newest(3);
    const h = f32(t.lambda - s2.lambda);
    const r0 = f32(f32(s0.lambda - s2.lambda) / h);
    const r1 = f32(f32(s1.lambda - s2.lambda) / h);
    const d0 = m2;
    const d10 = tf.mul(f32(1 / r1), tf.sub(m1, m2));
    const d11 = tf.mul(f32(1 / r0), tf.sub(m0, m2));
    const rDiff = f32(r0 - r1);
    const heun = this.configValue.solverType === 'heun';
    const hh = f32(h * h);
    if (this.configValue.algorithmType === 'dpmsolver++') {
      const em = f32(expF32(-h) - 1);
      const first = tf.sub(tf.mul(f32(t.sigma / s2.sigma), sample), tf.mul(f32(t.alpha * em), d0));
      const c1 = f32(t.alpha * f32(f32(em / h) + 1));
      if (!heun) return tf.add(first, tf.mul(c1, d11));
      const d1 = tf.div(tf.sub(tf.mul(r0, d10), tf.mul(r1, d11)), rDiff);
      const d2 = tf.div(tf.mul(2, tf.sub(d11, d10)), rDiff);
      return tf.sub(tf.add(first, tf.mul(c1, d1)), tf.mul(f32(t.alpha * f32(f32(f32(em + h) / hh) - 0.5)), d2));
    }
    const ep = f32(expF32(h) - 1);
    const first = tf.sub(tf.mul(f32(t.alpha / s2.alpha), sample), tf.mul(f32(t.sigma * ep), d0));
    const c1 = f32(t.sigma * f32(f32(ep / h) - 1));
    if (!heun) return tf.sub(first, tf.mul(c1, d11));
    const d1 = tf.div(tf.sub(tf.mul(r0, d10), tf.mul(r1, d11)), rDiff);
    const d2 = tf.div(tf.mul(2, tf.sub(d11, d10)), rDiff);
    return tf.sub(tf.sub(first, tf.mul(c1, d1)), tf.mul(f32(t.sigma * f32(f32(f32(ep - h) / hh) - 0.5)), d2));
  }

  /** diffusers' `add_noise` (see DPMSolverMultistepScheduler.addNoise). */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'DPMSolverSinglestepScheduler.addNoise';
    const list = timestepList(owner, timesteps);
    const indices =
      this.beginIndexValue === null
        ? list.map((t) => indexForTimestep(t, this.timestepsValue))
        : list.map(() => this.stepIndexValue ?? (this.beginIndexValue as number));
    return addNoiseBySigma(owner, this.sigmasValue, indices, originalSamples, noise);
  }
}
