/**
 * What PNDM and the k-diffusion schedulers (Euler, Euler ancestral, Heun, LMS, KDPM2, KDPM2 ancestral) of diffusers
 * 0.30.3 share: their common config fields (declared once, defaults passed in, as each `__init__` has its own), the
 * betas (Heun also has the 'exp' schedule), diffusers' `index_for_timestep`, x₀ from the model output, and the
 * σ-space `add_noise`. Every scalar is float32 as torch computes it on 0-dim tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../config/config-error';
import { boolean, ConfigField, finiteNumber, integer, list, nullable, oneOf } from '../config/config-schema';
import { CONFIG_LIMITS } from '../config/limits';
import { f32 } from '../math/float32';
import type { Timesteps } from './noising';
import { betasForAlphaBar, betasForSchedule, TimestepSpacing } from './schedule';
import { inputScaleFor } from './sigmas';
import { assertSameShape } from './step-inputs';

export type KBetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type KPredictionType = 'epsilon' | 'sample' | 'v_prediction';

const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

/** The field of one camelCase key: typed loosely here, each scheduler's schema checks the whole config type. */
function field<C>(camel: string, snake: string, type: ConfigField<C>['type'], defaultValue: unknown): ConfigField<C> {
  return { camel: camel as keyof C & string, snake, type, default: defaultValue };
}

/** The config fields most of these schedulers have, with the defaults of one scheduler's `__init__`. */
export function commonKFields<C>(defaults: {
  betaStart: number;
  betaEnd: number;
  betaSchedules: readonly string[];
  predictionTypes: readonly KPredictionType[];
  timestepSpacing: TimestepSpacing;
}): Record<string, ConfigField<C>> {
  return {
    numTrainTimesteps: field<C>('numTrainTimesteps', 'num_train_timesteps', integer({ min: 2, max: CONFIG_LIMITS.maxTrainTimesteps }), 1000),
    betaStart: field<C>('betaStart', 'beta_start', finiteNumber(), defaults.betaStart),
    betaEnd: field<C>('betaEnd', 'beta_end', finiteNumber(), defaults.betaEnd),
    betaSchedule: field<C>('betaSchedule', 'beta_schedule', oneOf(defaults.betaSchedules as string[]), 'linear'),
    trainedBetas: field<C>(
      'trainedBetas',
      'trained_betas',
      nullable(list(finiteNumber(), { minLength: 0, maxLength: CONFIG_LIMITS.maxTrainTimesteps, typedArrays: true, freeze: true })),
      null,
    ),
    predictionType: field<C>('predictionType', 'prediction_type', oneOf(defaults.predictionTypes as KPredictionType[]), 'epsilon'),
    timestepSpacing: field<C>('timestepSpacing', 'timestep_spacing', oneOf(TIMESTEP_SPACINGS as TimestepSpacing[]), defaults.timestepSpacing),
    stepsOffset: field<C>('stepsOffset', 'steps_offset', integer({ min: 0, max: CONFIG_LIMITS.maxTrainTimesteps }), 0),
    rescaleBetasZeroSnr: field<C>('rescaleBetasZeroSnr', 'rescale_betas_zero_snr', boolean(), false),
    useKarrasSigmas: field<C>('useKarrasSigmas', 'use_karras_sigmas', boolean(), false),
    clipSample: field<C>('clipSample', 'clip_sample', boolean(), false),
    clipSampleRange: field<C>('clipSampleRange', 'clip_sample_range', finiteNumber({ above: 0 }), 1.0),
    setAlphaToOne: field<C>('setAlphaToOne', 'set_alpha_to_one', boolean(), false),
  };
}

/** The fields {@link kBetas} reads. */
export interface KBetaConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: string;
  trainedBetas: readonly number[] | null;
  rescaleBetasZeroSnr?: boolean;
}

/** `trained_betas` must have one beta per training timestep (diffusers does not check, then fails indexing). */
function checkTrainedBetas(owner: string, config: KBetaConfig): void {
  const { trainedBetas, numTrainTimesteps } = config;
  if (trainedBetas !== null && trainedBetas.length !== numTrainTimesteps) {
    throw new ConfigError(
      `${owner} config`,
      'trained_betas',
      `trained_betas has ${trainedBetas.length} values but num_train_timesteps=${numTrainTimesteps}; they must agree`,
    );
  }
}

/** The float32 betas of the scheduler's `__init__` (`'exp'`: `betas_for_alpha_bar(T, alpha_transform_type='exp')`). */
export function kBetas(owner: string, config: KBetaConfig): Float32Array {
  checkTrainedBetas(owner, config);
  if (config.trainedBetas === null && config.betaSchedule === 'exp') return betasForAlphaBar(config.numTrainTimesteps, 0.999, 'exp');
  return betasForSchedule({
    numTrainTimesteps: config.numTrainTimesteps,
    betaStart: config.betaStart,
    betaEnd: config.betaEnd,
    betaSchedule: config.betaSchedule as KBetaSchedule,
    trainedBetas: config.trainedBetas,
    rescaleBetasZeroSnr: config.rescaleBetasZeroSnr ?? false,
  });
}

/**
 * diffusers' `index_for_timestep`: the position of `timestep` in the schedule, the second one when it occurs
 * more than once (Heun's and KDPM2's doubled timesteps, so that a run started mid-schedule lands on a first-order
 * step). A timestep not in the schedule is an error naming it.
 */
export function indexForTimestep(owner: string, schedule: ArrayLike<number>, timestep: unknown): number {
  if (typeof timestep !== 'number' || Number.isNaN(timestep)) {
    throw new Error(`${owner}: timestep=${String(timestep)} must be a number, one of scheduler.timesteps`);
  }
  const found: number[] = [];
  for (let i = 0; i < schedule.length && found.length < 2; i++) if (schedule[i] === timestep) found.push(i);
  if (found.length === 0) {
    throw new Error(`${owner}: timestep=${timestep} is not one of scheduler.timesteps (call setTimesteps, then pass its values)`);
  }
  return found.length > 1 ? found[1] : found[0];
}

/**
 * x₀ predicted from the model output at noise level σ (float32 torch scalars): ε → `sample − σ·out`,
 * v → `out · (−σ / √(σ² + 1)) + sample / (σ² + 1)`, 'sample' → the output itself.
 */
export function predictOriginalSample(predictionType: KPredictionType, modelOutput: tf.Tensor, sample: tf.Tensor, sigma: number): tf.Tensor {
  if (predictionType === 'epsilon') return tf.sub(sample, tf.mul(sigma, modelOutput));
  if (predictionType === 'v_prediction') {
    const c = f32(-sigma / inputScaleFor(sigma));
    return tf.add(tf.mul(modelOutput, c), tf.div(sample, f32(f32(sigma * sigma) + 1)));
  }
  return modelOutput;
}

/**
 * diffusers' σ-space `add_noise` of these schedulers: `original + noise · σ[index_for_timestep(t)]`, one timestep
 * or one per batch element.
 */
export function addNoiseSigma(
  owner: string,
  schedule: ArrayLike<number>,
  sigmas: ArrayLike<number>,
  originalSamples: tf.Tensor,
  noise: tf.Tensor,
  timesteps: Timesteps,
): tf.Tensor {
  assertSameShape(owner, 'originalSamples', originalSamples, 'noise', noise);
  const list = typeof timesteps === 'number' ? [timesteps] : timesteps instanceof tf.Tensor ? Array.from(timesteps.dataSync()) : Array.from(timesteps);
  const batch = originalSamples.rank === 0 ? 1 : originalSamples.shape[0];
  if (list.length !== 1 && list.length !== batch) {
    throw new Error(`${owner}: got ${list.length} timesteps for a batch of ${batch}; give 1 or ${batch}`);
  }
  const sigma = Float32Array.from(list, (t) => sigmas[indexForTimestep(owner, schedule, t)]);
  return tf.tidy(() => {
    const s = tf.tensor(sigma, [list.length, ...originalSamples.shape.slice(1).map(() => 1)], 'float32');
    return tf.add(originalSamples, tf.mul(noise, s));
  });
}
