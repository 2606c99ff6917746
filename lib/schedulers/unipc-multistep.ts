/**
 * UniPCMultistepScheduler: the unified predictor-corrector of Zhao et al. (2023), B(h) variants bh1 / bh2, data or
 * noise prediction, step for step as diffusers 0.30.3's `scheduling_unipc_multistep.py`.
 *
 * The scalars are float32 as diffusers' 0-dim tensors, with torch's exp/log/expm1 (SLEEF, lib/math/torch-exp-log.ts)
 * and torch's `linalg.solve` on OpenBLAS for the order ≥ 2 corrector's system ({@link solveFloat32}, bit for bit).
 * and for the order-3 predictor's ({@link solveSlicedFloat32}): bit for bit on the 2×2 and 3×3 systems of solver
 * orders 1–3 in the fixture (a 4×4 system, order 4, is not: the config allows orders 1–3).
 *
 * One deliberate difference, at the last step to a final σ of 0 (`finalSigmasType: 'zero'`, the default): diffusers
 * evaluates 0 · ∞ there and returns NaN with `solverType: 'bh1'` (x_t_ − α_t · B(h) · 0 with B(h) = h = −∞) and with
 * `predictX0: false` (σ_t · (e^h − 1) with h = ∞), and ±∞ with `lowerOrderFinal: false` (a second-order step
 * divides by r_k = 0). This port takes that step as first order and returns its limit as σ_t → 0, the predicted x₀
 * (for the default bh2 data prediction that is diffusers' own value, bit for bit). Every other step equals
 * diffusers'.
 */
import * as tf from '@tensorflow/tfjs-core';
import { boolean, ConfigField, ConfigSchemaSpec, FieldType, fieldsOf, integer, list, nullable, oneOf } from '../config/config-schema';
import { CONFIG_LIMITS } from '../config/limits';
import { f32 } from '../math/float32';
import { expm1F32 } from '../math/torch-exp-log';
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
  lambdaOf,
  ModelOutputHistory,
  RESCALE_ZERO_SNR_TYPE,
  timestepList,
  VpTables,
  vpTables,
} from './dpm-solver-common';
import type { Timesteps } from './noising';
import { allTimestepsDescending } from './schedule';
import { KARRAS_DIFFUSION_SCHEDULERS } from './compatibles';
import type { Scheduler, SchedulerFromConfigOptions, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';
import { defineSchedulerConfig } from './scheduler-config';
import { assertFloatTensor, assertLayout, assertSameShape } from './step-inputs';
import { thresholdSample } from './thresholding';

/** `solver_type`: B(h) = h (bh1) or e^h − 1 (bh2). */
export type UniPCSolverType = 'bh1' | 'bh2';

/** The config of {@link UniPCMultistepScheduler}: diffusers' `__init__` arguments in camelCase. */
export interface UniPCMultistepSchedulerConfig extends DpmCommonConfig {
  /** `predict_x0`: solve for the data prediction (default true) or the noise prediction. */
  predictX0: boolean;
  /** `solver_type` (default 'bh2'; 'midpoint', 'heun', 'logrho' are rewritten to 'bh2' as diffusers does). */
  solverType: UniPCSolverType;
  /** `disable_corrector`: the step indices after which the corrector is skipped. */
  disableCorrector: readonly number[];
  /**
   * `solver_p`: always null in a config (diffusers stores a scheduler object there); pass a predictor scheduler
   * as the constructor's second argument instead.
   */
  solverP: null;
  /** `final_sigmas_type`. */
  finalSigmasType: FinalSigmasType;
  /** `rescale_betas_zero_snr`. */
  rescaleBetasZeroSnr: boolean;
}

const field = fieldsOf<UniPCMultistepSchedulerConfig>();
const common = DPM_COMMON_FIELDS as unknown as Record<keyof DpmCommonConfig, ConfigField<UniPCMultistepSchedulerConfig>>;

const solverPType: FieldType<null> = {
  expected: 'must be null (pass a predictor scheduler as the constructor option solverP)',
  check(value, path, fail) {
    if (value !== null) return fail(path, value, solverPType.expected);
    return null;
  },
};

const CONFIG = defineSchedulerConfig<UniPCMultistepSchedulerConfig>('UniPCMultistepScheduler', {
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
    field('predictX0', 'predict_x0', boolean(), true),
    field(
      'solverType',
      'solver_type',
      oneOf<UniPCSolverType>(['bh1', 'bh2'], { normalize: (v) => (v === 'midpoint' || v === 'heun' || v === 'logrho' ? 'bh2' : v) }),
      'bh2',
    ),
    common.lowerOrderFinal,
    field(
      'disableCorrector',
      'disable_corrector',
      list(integer({ min: 0, max: CONFIG_LIMITS.maxTrainTimesteps }), { minLength: 0, maxLength: CONFIG_LIMITS.maxTrainTimesteps, freeze: true }),
      [],
    ),
    field('solverP', 'solver_p', nullable(solverPType) as FieldType<null>, null),
    common.useKarrasSigmas,
    common.timestepSpacing,
    common.stepsOffset,
    field('finalSigmasType', 'final_sigmas_type', FINAL_SIGMAS_TYPE_TYPE, 'zero'),
    field('rescaleBetasZeroSnr', 'rescale_betas_zero_snr', RESCALE_ZERO_SNR_TYPE, false),
  ],
  crossCheck: checkDpmTables as ConfigSchemaSpec<UniPCMultistepSchedulerConfig>['crossCheck'],
});

/** Options of the constructor beyond the config. */
export interface UniPCOptions {
  /** diffusers' `solver_p`: a scheduler whose `step` replaces the UniP predictor (the UniC corrector stays). */
  solverP?: Scheduler;
}

/** A float32 dot product as a running sum from 0 (OpenBLAS' small float32 dots here: no fused multiply-add). */
function dotFloat32(n: number, x: (k: number) => number, y: (k: number) => number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s = f32(s + f32(x(k) * y(k)));
  return s;
}

/**
 * `torch.linalg.solve(A, b)` for the small float32 systems of UniPC, bit for bit as torch 1.13 on OpenBLAS computes
 * it: torch factors Aᵀ (it is contiguous) with `sgetrf` — OpenBLAS' left-looking `getf2`: dot-product updates, the
 * pivot column scaled by the reciprocal of the pivot — and solves Aᵀᵀ x = b with `sgetrs('T')`: Uᵀ y = b (dot
 * products, division by the diagonal), Lᵀ z = y, then the row swaps in reverse. Every operation is float32.
 *
 * ```ts
 * solveFloat32([[1, 1], [-0.5, 1]], [0.3, 0.1]);
 * ```
 */
export function solveFloat32(matrix: readonly (readonly number[])[], rhs: readonly number[]): number[] {
  const n = rhs.length;
  // m = Aᵀ, row-major.
  const m = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => f32(matrix[j][i])));
  const pivots = new Array<number>(n).fill(0);
  for (let j = 0; j < n; j++) {
    for (let i = 1; i < Math.min(j, n); i++) m[i][j] = f32(m[i][j] - dotFloat32(i, (k) => m[i][k], (k) => m[k][j]));
    if (j > 0) for (let i = j; i < n; i++) m[i][j] = f32(m[i][j] - dotFloat32(j, (k) => m[i][k], (k) => m[k][j]));
    let p = j;
    for (let i = j + 1; i < n; i++) if (Math.abs(m[i][j]) > Math.abs(m[p][j])) p = i;
    if (m[p][j] === 0) throw new Error('solveFloat32: the matrix is singular');
    pivots[j] = p;
    [m[j], m[p]] = [m[p], m[j]];
    const inverse = f32(1 / m[j][j]);
    for (let i = j + 1; i < n; i++) m[i][j] = f32(m[i][j] * inverse);
  }
  const y = rhs.map((v) => f32(v));
  for (let i = 0; i < n; i++) {
    const s = i > 0 ? f32(y[i] - dotFloat32(i, (k) => m[k][i], (k) => y[k])) : y[i];
    y[i] = f32(s / m[i][i]);
  }
  for (let i = n - 1; i >= 0; i--) {
    if (i < n - 1) y[i] = f32(y[i] - dotFloat32(n - 1 - i, (k) => m[i + 1 + k][i], (k) => y[i + 1 + k]));
  }
  for (let k = n - 1; k >= 0; k--) [y[k], y[pivots[k]]] = [y[pivots[k]], y[k]];
  return y;
}

/**
 * `torch.linalg.solve(R[:-1, :-1], b[:-1])` of the order ≥ 3 UniP predictor: the sliced matrix is not contiguous,
 * so torch copies it and OpenBLAS factors R itself (`sgetrf`, then `sgetrs('N')`): the same left-looking LU, then
 * the row swaps and column-oriented substitutions. Equal to torch on the fixture's 300 systems (2×2 and 3×3).
 */
export function solveSlicedFloat32(matrix: readonly (readonly number[])[], rhs: readonly number[]): number[] {
  const n = rhs.length;
  const m = matrix.map((row) => row.map((v) => f32(v)));
  const pivots = new Array<number>(n).fill(0);
  for (let j = 0; j < n; j++) {
    for (let i = 1; i < Math.min(j, n); i++) m[i][j] = f32(m[i][j] - dotFloat32(i, (k) => m[i][k], (k) => m[k][j]));
    if (j > 0) for (let i = j; i < n; i++) m[i][j] = f32(m[i][j] - dotFloat32(j, (k) => m[i][k], (k) => m[k][j]));
    let p = j;
    for (let i = j + 1; i < n; i++) if (Math.abs(m[i][j]) > Math.abs(m[p][j])) p = i;
    if (m[p][j] === 0) throw new Error('solveSlicedFloat32: the matrix is singular');
    pivots[j] = p;
    [m[j], m[p]] = [m[p], m[j]];
    const inverse = f32(1 / m[j][j]);
    for (let i = j + 1; i < n; i++) m[i][j] = f32(m[i][j] * inverse);
  }
  const y = rhs.map((v) => f32(v));
  for (let k = 0; k < n; k++) [y[k], y[pivots[k]]] = [y[pivots[k]], y[k]];
  for (let j = 0; j < n; j++) for (let i = j + 1; i < n; i++) y[i] = f32(y[i] - f32(y[j] * m[i][j]));
  for (let j = n - 1; j >= 0; j--) {
    y[j] = f32(y[j] / m[j][j]);
    for (let i = 0; i < j; i++) y[i] = f32(y[i] - f32(y[j] * m[i][j]));
  }
  return y;
}

/** Σ_k w_k · D_k as torch's small `einsum('k,bkc...->bc...')` (bmm's plain loop: a float32 running sum from 0). */
function weightedSum(weights: readonly number[], tensors: readonly tf.Tensor[]): tf.Tensor {
  let acc = tf.mul(weights[0], tensors[0]);
  for (let k = 1; k < weights.length; k++) acc = tf.add(acc, tf.mul(weights[k], tensors[k]));
  return acc;
}

/** The b vector, B(h) and h·φ₁(h) of a UniP / UniC update (diffusers' loop over `factorial_i`). */
function bhCoefficients(hh: number, order: number, solverType: UniPCSolverType): { b: number[]; bH: number; hPhi1: number } {
  const hPhi1 = expm1F32(hh);
  let hPhiK = f32(f32(hPhi1 / hh) - 1);
  let factorial = 1;
  const bH = solverType === 'bh1' ? hh : expm1F32(hh);
  const b: number[] = [];
  for (let i = 1; i <= order; i++) {
    b.push(f32(f32(hPhiK * factorial) / bH));
    factorial *= i + 1;
    hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
  }
  return { b, bH, hPhi1 };
}

/** The matrix R of the UniPC systems: row i holds rks^i. */
function vandermonde(rks: readonly number[], rows: number): number[][] {
  const R: number[][] = [];
  for (let i = 0; i < rows; i++) R.push(rks.map((r) => (i === 0 ? 1 : i === 1 ? r : i === 2 ? f32(r * r) : f32(Math.pow(r, i)))));
  return R;
}

/**
 * The UniPC multistep scheduler of diffusers 0.30.3 (default: bh2, order 2, data prediction).
 *
 * ```ts
 * const scheduler = UniPCMultistepScheduler.fromConfig(ddim.config);
 * scheduler.setTimesteps(10);
 * for (const t of scheduler.timesteps) {
 *   const eps = unet.predict(x, t);
 *   const { prevSample } = scheduler.step(eps, t, x);
 *   tf.dispose([x, eps]);
 *   x = prevSample;
 * }
 * ```
 */
export class UniPCMultistepScheduler implements Scheduler {
  static readonly className = 'UniPCMultistepScheduler';
  static readonly compatibles: readonly string[] = KARRAS_DIFFUSION_SCHEDULERS;
  static readonly order = 1;

  readonly className = UniPCMultistepScheduler.className;
  readonly order = UniPCMultistepScheduler.order;
  readonly config: Readonly<UniPCMultistepSchedulerConfig>;
  readonly initNoiseSigma = 1.0;
  readonly stepTakesGenerator = false;
  readonly tables: Readonly<VpTables>;
  /** diffusers' `solver_p`. */
  readonly solverP: Scheduler | null;

  private timestepsValue: Int32Array;
  private sigmasValue: Float32Array;
  private numInferenceStepsValue: number | null = null;
  private stepIndexValue: number | null = null;
  private beginIndexValue: number | null = null;
  private lowerOrderNums = 0;
  private thisOrder = 0;
  private lastSampleValue: tf.Tensor | null = null;
  private history: ModelOutputHistory;

  constructor(config: Partial<UniPCMultistepSchedulerConfig> = {}, options: UniPCOptions = {}) {
    this.config = CONFIG.resolve(config);
    this.tables = vpTables(this.config);
    this.timestepsValue = allTimestepsDescending(this.config.numTrainTimesteps);
    this.sigmasValue = this.tables.sigmas;
    this.history = new ModelOutputHistory(this.config.solverOrder);
    this.solverP = options.solverP ?? null;
  }

  /** From a diffusers `scheduler_config.json` object or another scheduler's `config` (see DPMSolverMultistepScheduler). */
  static fromConfig(json: unknown, options: SchedulerFromConfigOptions & UniPCOptions = {}): UniPCMultistepScheduler {
    return new UniPCMultistepScheduler({ ...CONFIG.fromConfig(json, options) }, { solverP: options.solverP });
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

  /** diffusers' `last_sample`: the (corrected) sample the last predictor started from; owned by the scheduler. */
  get lastSample(): tf.Tensor | null {
    return this.lastSampleValue;
  }

  setBeginIndex(beginIndex = 0): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) throw new Error(`UniPCMultistepScheduler.setBeginIndex: beginIndex=${beginIndex} must be an integer >= 0`);
    this.beginIndexValue = beginIndex;
  }

  get length(): number {
    return this.config.numTrainTimesteps;
  }

  /** diffusers' `set_timesteps(n)` (also that of `solverP`); clears the multistep state. */
  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const n = assertInferenceSteps('UniPCMultistepScheduler.setTimesteps', numInferenceSteps, c.numTrainTimesteps);
    const spaced = dpmTimesteps(c.numTrainTimesteps, c.numTrainTimesteps, n, c.timestepSpacing, c.stepsOffset);
    const { timesteps, sigmas } = dpmSigmaSchedule(this.tables.sigmas, spaced, n, c.useKarrasSigmas ? 'karras' : 'table');
    // sigma_min: the last Karras σ, or the smallest training σ.
    const sigmaLast = c.finalSigmasType === 'zero' ? 0 : c.useKarrasSigmas ? sigmas[sigmas.length - 1] : this.tables.sigmas[0];
    const all = new Float32Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = sigmaLast;
    this.timestepsValue = timesteps;
    this.sigmasValue = all;
    this.numInferenceStepsValue = timesteps.length;
    this.dispose();
    this.history = new ModelOutputHistory(c.solverOrder);
    this.lowerOrderNums = 0;
    this.thisOrder = 0;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
    if (this.solverP) this.solverP.setTimesteps(timesteps.length);
  }

  scaleModelInput(sample: tf.Tensor, _timestep?: number): tf.Tensor {
    return sample;
  }

  /** Releases the multistep state (history and last sample). */
  dispose(): void {
    this.history.clear();
    this.lastSampleValue?.dispose();
    this.lastSampleValue = null;
  }

  /**
   * One UniPC step (diffusers' `step`): the UniC corrector on `sample` (except after the steps of
   * `disableCorrector`), then the UniP predictor (or `solverP`).
   */
  step(modelOutput: tf.Tensor, timestep: number, sample: tf.Tensor, options: SchedulerStepOptions = {}): SchedulerStepOutput {
    const owner = 'UniPCMultistepScheduler.step';
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

    const useCorrector = i > 0 && !c.disableCorrector.includes(i - 1) && this.lastSampleValue !== null;
    const converted = tf.tidy(() => this.convertModelOutput(modelOutput, sample, i));
    const corrected = useCorrector ? tf.tidy(() => this.correct(converted, this.lastSampleValue as tf.Tensor, sample, i)) : tf.clone(sample);
    this.history.push(converted);
    // A final σ of 0 takes a first-order step, as DPM-Solver does (diffusers' UniPC with lowerOrderFinal false
    // divides by rk = 0 there and returns ±∞).
    const finalZero = this.sigmasValue[i + 1] === 0;
    const order = finalZero ? 1 : Math.min(c.lowerOrderFinal ? Math.min(c.solverOrder, steps - i) : c.solverOrder, this.lowerOrderNums + 1);
    this.thisOrder = order;
    this.lastSampleValue?.dispose();
    this.lastSampleValue = tf.keep(corrected);
    let prevSample: tf.Tensor;
    if (this.solverP) {
      prevSample = this.solverP.step(modelOutput, timestep, corrected).prevSample;
    } else {
      prevSample = tf.tidy(() => this.predict(corrected, i, order));
    }
    if (this.lowerOrderNums < c.solverOrder) this.lowerOrderNums += 1;
    this.stepIndexValue = i + 1;
    return { prevSample };
  }

  /** diffusers' `convert_model_output`: x₀ (with thresholding) when `predictX0`, else ε; a new tensor. */
  private convertModelOutput(modelOutput: tf.Tensor, sample: tf.Tensor, i: number): tf.Tensor {
    const c = this.config;
    const { alpha, sigma } = alphaSigmaOf(this.sigmasValue[i]);
    if (c.predictX0) {
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

  /** rks and D1s of an update: from the k-th older model outputs at schedule indices `indexOf(k)`. */
  private differences(m0: tf.Tensor, lambdaS0: number, h: number, order: number, indexOf: (k: number) => number): { rks: number[]; d1s: tf.Tensor[] } {
    const rks: number[] = [];
    const d1s: tf.Tensor[] = [];
    for (let k = 1; k < order; k++) {
      const mi = this.history.newest(k + 1);
      const rk = f32(f32(this.point(indexOf(k)).lambda - lambdaS0) / h);
      rks.push(rk);
      d1s.push(tf.div(tf.sub(mi, m0), rk));
    }
    rks.push(1);
    return { rks, d1s };
  }

  /** diffusers' `multistep_uni_p_bh_update` (without `solver_p`). */
  private predict(x: tf.Tensor, i: number, order: number): tf.Tensor {
    const c = this.config;
    const m0 = this.history.newest(1);
    const t = this.point(i + 1);
    const s0 = this.point(i);
    if (t.sigma === 0) {
      // The last step to σ = 0: the limit of the update is the predicted x₀. diffusers evaluates 0 · ∞ here and
      // returns NaN for bh1 (α_t·B(h)·0 with B(h) = −∞) and for predictX0 false (σ_t·(e^h − 1) with h = ∞).
      return c.predictX0 ? tf.clone(m0) : tf.div(tf.sub(x, tf.mul(s0.sigma, m0)), s0.alpha);
    }
    const h = f32(t.lambda - s0.lambda);
    const { rks, d1s } = this.differences(m0, s0.lambda, h, order, (k) => i - k);
    const hh = c.predictX0 ? -h : h;
    const { b, bH, hPhi1 } = bhCoefficients(hh, order, c.solverType);
    const base = c.predictX0
      ? tf.sub(tf.mul(f32(t.sigma / s0.sigma), x), tf.mul(f32(t.alpha * hPhi1), m0))
      : tf.sub(tf.mul(f32(t.alpha / s0.alpha), x), tf.mul(f32(t.sigma * hPhi1), m0));
    if (d1s.length === 0) return base;
    const rhos = order === 2 ? [0.5] : solveSlicedFloat32(vandermonde(rks, order).slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
    const predRes = weightedSum(rhos, d1s);
    return tf.sub(base, tf.mul(f32((c.predictX0 ? t.alpha : t.sigma) * bH), predRes));
  }

  /** diffusers' `multistep_uni_c_bh_update`: corrects `thisSample` (x_t) with the new model output. */
  private correct(modelT: tf.Tensor, lastSample: tf.Tensor, thisSample: tf.Tensor, i: number): tf.Tensor {
    const c = this.config;
    const order = this.thisOrder;
    const m0 = this.history.newest(1);
    const t = this.point(i);
    const s0 = this.point(i - 1);
    const h = f32(t.lambda - s0.lambda);
    const { rks, d1s } = this.differences(m0, s0.lambda, h, order, (k) => i - (k + 1));
    const hh = c.predictX0 ? -h : h;
    const { b, bH, hPhi1 } = bhCoefficients(hh, order, c.solverType);
    const rhos = order === 1 ? [0.5] : solveFloat32(vandermonde(rks, order), b);
    const base = c.predictX0
      ? tf.sub(tf.mul(f32(t.sigma / s0.sigma), lastSample), tf.mul(f32(t.alpha * hPhi1), m0))
      : tf.sub(tf.mul(f32(t.alpha / s0.alpha), lastSample), tf.mul(f32(t.sigma * hPhi1), m0));
    const d1t = tf.sub(modelT, m0);
    const last = tf.mul(rhos[rhos.length - 1], d1t);
    const res = d1s.length > 0 ? tf.add(weightedSum(rhos.slice(0, -1), d1s), last) : last;
    return tf.sub(base, tf.mul(f32((c.predictX0 ? t.alpha : t.sigma) * bH), res));
  }

  /** diffusers' `add_noise` (see DPMSolverMultistepScheduler.addNoise). */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: Timesteps): tf.Tensor {
    const owner = 'UniPCMultistepScheduler.addNoise';
    const list = timestepList(owner, timesteps);
    const indices =
      this.beginIndexValue === null
        ? list.map((t) => indexForTimestep(t, this.timestepsValue))
        : list.map(() => this.stepIndexValue ?? (this.beginIndexValue as number));
    return addNoiseBySigma(owner, this.sigmasValue, indices, originalSamples, noise);
  }
}
