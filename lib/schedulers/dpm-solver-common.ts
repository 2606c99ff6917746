/**
 * What the DPM-Solver family (diffusers 0.30.3's `DPMSolverMultistepScheduler`, `DPMSolverSinglestepScheduler`,
 * `UniPCMultistepScheduler`, `DEISMultistepScheduler`) shares: the config fields they declare alike,
 * the VP tables (ᾱ, α_t, σ_t, λ_t, σ), the discrete timesteps of their `set_timesteps`, the
 * float32 α/σ/λ of a σ, the step-index rule, the model-output history and `add_noise`.
 *
 * Dtypes are diffusers': the tables are float32 torch tensors (torch.log is SLEEF's, see lib/math/torch-exp-log.ts),
 * the σ schedules are NumPy float64 (Karras, Lu) or float32 table lookups, and the step scalars are float32 0-dim
 * tensors; each JS number here holds the float32 (or float64) value torch or NumPy holds.
 *
 * ```ts
 * const tables = vpTables(config);
 * const { alpha, sigma } = alphaSigmaOf(tables.sigmas[500]);
 * const lambda = lambdaOf(alpha, sigma);
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  boolean,
  ConfigField,
  CrossCheckContext,
  FieldType,
  finiteNumber,
  integer,
  list,
  nullable,
  oneOf,
} from '../config/config-schema';
import { CONFIG_LIMITS } from '../config/limits';
import { f32, sqrtF32 } from '../math/float32';
import { logF32 } from '../math/torch-exp-log';
import type { Timesteps } from './noising';
import { alphasFromBetas, betasForSchedule, BetaSchedule, cumprodFloat32, roundHalfToEven, TimestepSpacing } from './schedule';
import { interpSigmas, karrasSigmas, numpyLinspace, numpyLogFloat32Array, sigmasFromAlphasCumprod, sigmaToT } from './sigmas';
import { assertSameShape } from './step-inputs';

/** What the model predicts: the noise, the clean sample, or the velocity. */
export type DpmPredictionType = 'epsilon' | 'sample' | 'v_prediction';

/** The fields every DPM-family scheduler declares alike (diffusers 0.30.3 defaults). */
export interface DpmCommonConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: readonly number[] | null;
  solverOrder: number;
  predictionType: DpmPredictionType;
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  sampleMaxValue: number;
  lowerOrderFinal: boolean;
  useKarrasSigmas: boolean;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

/** The final σ after the last step: 0, or the smallest training σ. */
export type FinalSigmasType = 'zero' | 'sigma_min';

const common = <K extends keyof DpmCommonConfig>(camel: K, snake: string, type: FieldType<DpmCommonConfig[K]>, def: DpmCommonConfig[K]) =>
  ({ camel, snake, type: type as FieldType<unknown>, default: def }) as ConfigField<DpmCommonConfig>;

/**
 * The shared field declarations (camelCase, snake_case, type with bounds, diffusers default); a scheduler lists
 * those it has, cast to its own config type, next to its own fields.
 */
export const DPM_COMMON_FIELDS = {
  numTrainTimesteps: common('numTrainTimesteps', 'num_train_timesteps', integer({ min: 1, max: CONFIG_LIMITS.maxTrainTimesteps }), 1000),
  betaStart: common('betaStart', 'beta_start', finiteNumber(), 0.0001),
  betaEnd: common('betaEnd', 'beta_end', finiteNumber(), 0.02),
  betaSchedule: common('betaSchedule', 'beta_schedule', oneOf<BetaSchedule>(['linear', 'scaled_linear', 'squaredcos_cap_v2']), 'linear'),
  trainedBetas: common(
    'trainedBetas',
    'trained_betas',
    nullable(list(finiteNumber(), { minLength: 0, maxLength: CONFIG_LIMITS.maxTrainTimesteps, typedArrays: true, freeze: true })),
    null,
  ),
  solverOrder: common('solverOrder', 'solver_order', oneOf<number>([1, 2, 3]), 2),
  predictionType: common('predictionType', 'prediction_type', oneOf<DpmPredictionType>(['epsilon', 'sample', 'v_prediction']), 'epsilon'),
  thresholding: common('thresholding', 'thresholding', boolean(), false),
  dynamicThresholdingRatio: common('dynamicThresholdingRatio', 'dynamic_thresholding_ratio', finiteNumber({ min: 0, max: 1 }), 0.995),
  sampleMaxValue: common('sampleMaxValue', 'sample_max_value', finiteNumber({ above: 0 }), 1.0),
  lowerOrderFinal: common('lowerOrderFinal', 'lower_order_final', boolean(), true),
  useKarrasSigmas: common('useKarrasSigmas', 'use_karras_sigmas', boolean(), false),
  timestepSpacing: common('timestepSpacing', 'timestep_spacing', oneOf<TimestepSpacing>(['linspace', 'leading', 'trailing']), 'linspace'),
  stepsOffset: common('stepsOffset', 'steps_offset', integer({ min: 0, max: CONFIG_LIMITS.maxTrainTimesteps }), 0),
} as const;

/** `final_sigmas_type`. */
export const FINAL_SIGMAS_TYPE_TYPE = oneOf<FinalSigmasType>(['zero', 'sigma_min']);

/** `rescale_betas_zero_snr`. */
export const RESCALE_ZERO_SNR_TYPE = boolean();

/**
 * `lambda_min_clipped`: a number, `-Infinity` (diffusers' default, which JSON cannot hold), or `null` meaning
 * `-Infinity` (what `JSON.stringify` writes for it).
 */
export function lambdaMinClippedType(): FieldType<number> {
  const expected = 'must be a number (or -Infinity / null for no clipping)';
  return {
    expected,
    check(value, path, fail) {
      if (value === null) return -Infinity;
      if (typeof value !== 'number' || Number.isNaN(value) || value === Infinity) return fail(path, value, expected);
      return value;
    },
  };
}

/**
 * `variance_type`: null or any string; diffusers reads only 'learned' and 'learned_range' (the UNet's first 3
 * channels are then the mean), so a DDPM config's 'fixed_large' passes through and changes nothing.
 */
export function varianceTypeField(): FieldType<string | null> {
  const expected = 'must be a string or null';
  return {
    expected,
    check(value, path, fail) {
      if (value === null) return null;
      if (typeof value !== 'string' || value.length > 64) return fail(path, value, expected);
      return value;
    },
  };
}

/** The beta-table checks of DDIM's config, for the DPM family (`trained_betas` length, zero-SNR needs 2 betas). */
export function checkDpmTables<C extends { numTrainTimesteps: number; trainedBetas: readonly number[] | null }>(
  config: C & { rescaleBetasZeroSnr?: boolean },
  context: CrossCheckContext<C>,
): void {
  const { trainedBetas, numTrainTimesteps } = config;
  const name = (k: string) => context.name(k as keyof C & string);
  if (config.rescaleBetasZeroSnr === true && numTrainTimesteps < 2) {
    context.fail('numTrainTimesteps' as keyof C & string, `must be at least 2 with ${name('rescaleBetasZeroSnr')}=true`);
  }
  if (numTrainTimesteps < 2) {
    context.fail('numTrainTimesteps' as keyof C & string, 'must be at least 2 (the σ → t interpolation needs two table entries)');
  }
  if (trainedBetas !== null && trainedBetas.length !== numTrainTimesteps) {
    context.fail(
      'trainedBetas' as keyof C & string,
      `has ${trainedBetas.length} values but ${name('numTrainTimesteps')}=${numTrainTimesteps}; they must agree`,
    );
  }
}

/** The VP-schedule tables of a DPM-family scheduler's `__init__`, float32 as torch holds them. */
export interface VpTables {
  betas: Float32Array;
  alphas: Float32Array;
  /** ᾱ_t; with `rescale_betas_zero_snr` the last one is 2⁻²⁴ (diffusers: "so the first σ is not inf"). */
  alphasCumprod: Float32Array;
  /** λ_t = log √ᾱ_t − log √(1 − ᾱ_t) (torch.log: SLEEF). */
  lambdaT: Float32Array;
  /** σ_t = √((1 − ᾱ_t) / ᾱ_t), ascending in t. */
  sigmas: Float32Array;
}

/** The tables of a config (`trainedBetas`, the beta schedule, the zero-SNR rescale). */
export function vpTables(config: {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: readonly number[] | null;
  rescaleBetasZeroSnr?: boolean;
}): VpTables {
  const rescale = config.rescaleBetasZeroSnr === true;
  const betas = betasForSchedule({ ...config, rescaleBetasZeroSnr: rescale });
  const alphas = alphasFromBetas(betas);
  const alphasCumprod = cumprodFloat32(alphas);
  if (rescale) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
  const lambdaT = new Float32Array(alphasCumprod.length);
  for (let i = 0; i < alphasCumprod.length; i++) {
    const a = alphasCumprod[i];
    lambdaT[i] = f32(logF32(sqrtF32(a)) - logF32(sqrtF32(f32(1 - a))));
  }
  return { betas, alphas, alphasCumprod, lambdaT, sigmas: sigmasFromAlphasCumprod(alphasCumprod) };
}

/**
 * The last usable training timestep + 1 of DPM-Solver's `lambda_min_clipped`: T minus the number of λ_t below the
 * threshold (`torch.searchsorted` of the ascending flipped λ table, compared in float64).
 */
export function lastTimestepFor(lambdaT: Float32Array, lambdaMinClipped: number): number {
  let below = 0;
  // searchsorted (left) on the flipped table: the first index whose value is >= the threshold.
  const n = lambdaT.length;
  while (below < n && lambdaT[n - 1 - below] < lambdaMinClipped) below++;
  return n - below;
}

/**
 * The integer timesteps of the DPM family's `set_timesteps`, largest first, for `lastTimestep` (T unless
 * `lambda_min_clipped` cut the table): `'linspace'` `round(linspace(0, last − 1, n + 1))` reversed without its 0,
 * `'leading'` `arange(n + 1) · (last // (n + 1))` reversed without its 0, plus `stepsOffset`, `'trailing'`
 * `round(arange(last, 0, −T/n)) − 1` (n + 1 entries for some n, as NumPy's arange gives them).
 *
 * ```ts
 * dpmTimesteps(1000, 1000, 5, 'linspace', 0);  // [999, 799, 599, 400, 200]
 * ```
 */
export function dpmTimesteps(
  numTrainTimesteps: number,
  lastTimestep: number,
  numInferenceSteps: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
): Int32Array {
  const n = numInferenceSteps;
  if (spacing === 'linspace') {
    const ramp = numpyLinspace(0, lastTimestep - 1, n + 1);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = roundHalfToEven(ramp[n - i]);
    return out;
  }
  if (spacing === 'leading') {
    const stepRatio = Math.floor(lastTimestep / (n + 1));
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = (n - i) * stepRatio + stepsOffset;
    return out;
  }
  if (spacing === 'trailing') {
    const stepRatio = numTrainTimesteps / n;
    const start = lastTimestep;
    const length = Math.max(0, Math.ceil((0 - start) / -stepRatio));
    const second = start + -stepRatio;
    const delta = second - start;
    const out = new Int32Array(length);
    for (let i = 0; i < length; i++) {
      const value = i === 0 ? start : i === 1 ? second : start + i * delta;
      out[i] = roundHalfToEven(value) - 1;
    }
    return out;
  }
  throw new Error(`dpmTimesteps: timestepSpacing='${String(spacing)}' is not one of 'linspace', 'leading', 'trailing'`);
}

/** The σ schedule of a `set_timesteps`: the timesteps (possibly moved by Karras / Lu σ) and the σ before the final one. */
export interface DpmSigmaSchedule {
  timesteps: Int32Array;
  /** float64 σ (Karras, Lu) or the float32 table values, one per timestep; the caller appends the final σ. */
  sigmas: Float64Array;
}

/**
 * The σ of each timestep: the training table at the integer timesteps (`np.interp`), or the Karras et al. (2022)
 * ramp, or (DPM multistep) Lu et al.'s uniform-λ ramp, with the timesteps moved to `round(sigma_to_t(σ))`.
 */
export function dpmSigmaSchedule(
  tableSigmas: Float32Array,
  timesteps: Int32Array,
  numInferenceSteps: number,
  kind: 'table' | 'karras' | 'lu',
): DpmSigmaSchedule {
  if (kind === 'table') return { timesteps, sigmas: interpSigmas(timesteps, tableSigmas) };
  const logSigmas = numpyLogFloat32Array(tableSigmas);
  const T = tableSigmas.length;
  let sigmas: Float64Array;
  if (kind === 'karras') {
    sigmas = karrasSigmas(tableSigmas[0], tableSigmas[T - 1], numInferenceSteps);
  } else {
    // _convert_to_lu: λ ramp from log σ_max to log σ_min (ρ = 1: the powers are the identity), σ = exp(λ) in float64.
    const lambdaMin = logSigmas[0];
    const lambdaMax = logSigmas[T - 1];
    const ramp = numpyLinspace(0, 1, numInferenceSteps);
    sigmas = new Float64Array(numInferenceSteps);
    for (let i = 0; i < numInferenceSteps; i++) sigmas[i] = Math.exp(lambdaMax + ramp[i] * (lambdaMin - lambdaMax));
  }
  const moved = new Int32Array(sigmas.length);
  for (let i = 0; i < sigmas.length; i++) moved[i] = roundHalfToEven(sigmaToT(sigmas[i], logSigmas));
  return { timesteps: moved, sigmas };
}

/** α_t = 1 / √(σ² + 1) and σ_t = σ · α_t in float32 (diffusers' `_sigma_to_alpha_sigma_t`). */
export function alphaSigmaOf(sigma: number): { alpha: number; sigma: number } {
  const alpha = f32(1 / sqrtF32(f32(f32(sigma * sigma) + 1)));
  return { alpha, sigma: f32(sigma * alpha) };
}

/** λ = log α − log σ in float32 (torch.log: SLEEF); +∞ at σ = 0. */
export function lambdaOf(alpha: number, sigma: number): number {
  return f32(logF32(alpha) - logF32(sigma));
}

/**
 * diffusers' `index_for_timestep`: the index of `timestep` in the schedule; the second of two matches (so that a
 * schedule entered in its middle does not skip a σ); the last index when there is none.
 */
export function indexForTimestep(timestep: number, schedule: ArrayLike<number>): number {
  const matches: number[] = [];
  for (let i = 0; i < schedule.length && matches.length < 2; i++) if (schedule[i] === timestep) matches.push(i);
  if (matches.length === 0) return schedule.length - 1;
  return matches.length > 1 ? matches[1] : matches[0];
}

/** The one-timestep-or-per-sample timesteps of `addNoise` as a list. */
export function timestepList(owner: string, timesteps: Timesteps): number[] {
  if (typeof timesteps === 'number') return [timesteps];
  if (timesteps instanceof tf.Tensor) {
    if (timesteps.rank > 1) throw new Error(`${owner}: timesteps must be a number, a list or a Tensor1D; got shape [${timesteps.shape.join(', ')}]`);
    return Array.from(timesteps.dataSync());
  }
  return Array.from(timesteps);
}

/**
 * diffusers' `add_noise` of the DPM family: α_t · x + σ_t · noise with α_t, σ_t from the σ of each timestep's
 * index in the current schedule (before `setTimesteps` the schedule is T−1 … 0 against the σ table in ascending t,
 * as in diffusers, so timestep t reads σ[T − 1 − t]).
 */
export function addNoiseBySigma(
  owner: string,
  sigmas: ArrayLike<number>,
  indices: number[],
  originalSamples: tf.Tensor,
  noise: tf.Tensor,
): tf.Tensor {
  assertSameShape(owner, 'originalSamples', originalSamples, 'noise', noise);
  const batch = originalSamples.rank === 0 ? 1 : originalSamples.shape[0];
  if (indices.length !== 1 && indices.length !== batch) {
    throw new Error(`${owner}: got ${indices.length} timesteps for a batch of ${batch}; give 1 or ${batch}`);
  }
  const alpha = new Float32Array(indices.length);
  const sigma = new Float32Array(indices.length);
  indices.forEach((index, i) => {
    if (index < 0 || index >= sigmas.length) throw new Error(`${owner}: timestep ${i} has no σ in the schedule`);
    const s = alphaSigmaOf(f32(sigmas[index]));
    alpha[i] = s.alpha;
    sigma[i] = s.sigma;
  });
  const shape = [indices.length, ...originalSamples.shape.slice(1).map(() => 1)];
  return tf.tidy(() =>
    tf.add(tf.mul(tf.tensor(alpha, shape, 'float32'), originalSamples), tf.mul(tf.tensor(sigma, shape, 'float32'), noise)),
  );
}

/**
 * The last `order` converted model outputs of a multistep solver, oldest first (diffusers' `model_outputs`):
 * kept tensors that this history owns and disposes when they fall out or on `clear`.
 */
export class ModelOutputHistory {
  private readonly items: (tf.Tensor | null)[];

  constructor(readonly order: number) {
    this.items = new Array<tf.Tensor | null>(order).fill(null);
  }

  /** Shifts the history by one and stores `tensor` (taken over: kept, disposed later) as the newest. */
  push(tensor: tf.Tensor): void {
    const dropped = this.items.shift();
    if (dropped && !this.items.includes(dropped)) dropped.dispose();
    this.items.push(tf.keep(tensor));
  }

  /** The k-th newest (k = 1: the newest); throws if the history does not reach back that far. */
  newest(k: number): tf.Tensor {
    const t = this.items[this.order - k];
    if (!t) throw new Error(`multistep history: no model output ${k - 1} steps back`);
    return t;
  }

  /** Whether the k-th newest output exists (diffusers: `model_outputs[-k] is not None`). */
  has(k: number): boolean {
    return k >= 1 && k <= this.order && this.items[this.order - k] !== null;
  }

  clear(): void {
    for (const t of this.items) if (t) t.dispose();
    this.items.fill(null);
  }
}

/** Checks `numInferenceSteps` of a `setTimesteps`. */
export function assertInferenceSteps(owner: string, numInferenceSteps: unknown, numTrainTimesteps: number): number {
  if (typeof numInferenceSteps !== 'number' || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > numTrainTimesteps) {
    throw new Error(`${owner}: numInferenceSteps=${String(numInferenceSteps)} must be an integer in [1, ${numTrainTimesteps}]`);
  }
  return numInferenceSteps;
}

/** Checks the timestep given to `step`: a finite number (it is matched against the schedule). */
export function assertStepTimestep(owner: string, timestep: unknown): number {
  if (typeof timestep !== 'number' || !Number.isFinite(timestep)) {
    throw new Error(`${owner}: timestep=${String(timestep)} must be a finite number (one of scheduler.timesteps)`);
  }
  return timestep;
}
