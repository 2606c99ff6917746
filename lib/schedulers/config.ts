/**
 * Scheduler configs: the fields of diffusers' `DDIMScheduler` / `DDPMScheduler` in camelCase, their defaults, their
 * checks, and the parsing of a diffusers `scheduler_config.json` (snake_case keys).
 */
import { assertConfigObject, ConfigError, describeConfigValue, hasOwnKey } from '../config/config-error';
import {
  boolean,
  ConfigField,
  fieldsOf,
  ConfigSchema,
  ConfigSchemaSpec,
  consoleWarningSink,
  CrossCheckContext,
  defineConfigSchema,
  finiteNumber,
  integer,
  list,
  nullable,
  oneOf,
  unknownKeysWarning,
  WarningSink,
} from '../config/config-schema';
import { CONFIG_LIMITS } from '../config/limits';
import type { BetaSchedule, DDPMBetaSchedule, TimestepSpacing } from './schedule';

export type { BetaSchedule, DDPMBetaSchedule, TimestepSpacing } from './schedule';

/** What the model predicts: the noise, the clean sample, or the velocity v = √ᾱ·ε − √(1−ᾱ)·x. */
export type PredictionType = 'epsilon' | 'sample' | 'v_prediction';

/** The DDPM variance types this port supports (`learned`, `learned_range` need a variance-predicting UNet). */
export type VarianceType = 'fixed_small' | 'fixed_small_log' | 'fixed_large' | 'fixed_large_log';

/** The config of {@link DDIMScheduler}, diffusers' `DDIMScheduler.__init__` arguments in camelCase. */
export interface DDIMSchedulerConfig {
  /** `num_train_timesteps`: diffusion steps the model was trained with. */
  numTrainTimesteps: number;
  /** `beta_start`: the first beta of a 'linear' or 'scaled_linear' schedule. */
  betaStart: number;
  /** `beta_end`: the last beta of a 'linear' or 'scaled_linear' schedule. */
  betaEnd: number;
  /** `beta_schedule`. */
  betaSchedule: BetaSchedule;
  /** `trained_betas`: explicit betas; they replace the schedule. */
  trainedBetas: readonly number[] | null;
  /** `clip_sample`: clamp the predicted x₀ to ±clipSampleRange (ignored when `thresholding`). */
  clipSample: boolean;
  /** `set_alpha_to_one`: ᾱ before the first timestep is 1 (else `alphasCumprod[0]`). */
  setAlphaToOne: boolean;
  /** `steps_offset`: added to the 'leading' timesteps. */
  stepsOffset: number;
  /** `prediction_type`. */
  predictionType: PredictionType;
  /** `thresholding`: dynamic thresholding of the predicted x₀ (Imagen). */
  thresholding: boolean;
  /** `dynamic_thresholding_ratio`: the quantile of |x₀| used as the threshold. */
  dynamicThresholdingRatio: number;
  /** `clip_sample_range`. */
  clipSampleRange: number;
  /** `sample_max_value`: the largest dynamic threshold. */
  sampleMaxValue: number;
  /** `timestep_spacing`. */
  timestepSpacing: TimestepSpacing;
  /** `rescale_betas_zero_snr`: rescale the betas to zero terminal SNR. */
  rescaleBetasZeroSnr: boolean;
}

/** The config of {@link DDPMScheduler}, diffusers' `DDPMScheduler.__init__` arguments in camelCase. */
export interface DDPMSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  /** `beta_schedule`: DDPM also has 'sigmoid'. */
  betaSchedule: DDPMBetaSchedule;
  trainedBetas: readonly number[] | null;
  /** `variance_type`. */
  varianceType: VarianceType;
  clipSample: boolean;
  predictionType: PredictionType;
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  clipSampleRange: number;
  sampleMaxValue: number;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  rescaleBetasZeroSnr: boolean;
}

const TRAIN_TIMESTEPS = integer({ min: 1, max: CONFIG_LIMITS.maxTrainTimesteps });
const PREDICTION_TYPES = ['epsilon', 'sample', 'v_prediction'] as const;
const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
const LEARNED_VARIANCE = 'the UNet must predict the variance (twice the output channels); this port has no such model';

/** The fields both schedulers have, declared once (camelCase, snake_case, type and bounds, diffusers 0.30.3 default). */
type CommonConfig = DDIMSchedulerConfig & DDPMSchedulerConfig;
const field = fieldsOf<CommonConfig>();
const common = {
  numTrainTimesteps: field('numTrainTimesteps', 'num_train_timesteps', TRAIN_TIMESTEPS, 1000),
  betaStart: field('betaStart', 'beta_start', finiteNumber({ min: 0, max: 1 }), 0.0001),
  betaEnd: field('betaEnd', 'beta_end', finiteNumber({ min: 0, max: 1 }), 0.02),
  trainedBetas: field(
    'trainedBetas',
    'trained_betas',
    nullable(list(finiteNumber({ min: 0, max: 1 }), { minLength: 0, maxLength: CONFIG_LIMITS.maxTrainTimesteps, typedArrays: true, freeze: true })),
    null,
  ),
  clipSample: field('clipSample', 'clip_sample', boolean(), true),
  setAlphaToOne: field('setAlphaToOne', 'set_alpha_to_one', boolean(), true),
  stepsOffset: field('stepsOffset', 'steps_offset', integer({ min: 0, max: CONFIG_LIMITS.maxTrainTimesteps }), 0),
  predictionType: field('predictionType', 'prediction_type', oneOf(PREDICTION_TYPES), 'epsilon'),
  thresholding: field('thresholding', 'thresholding', boolean(), false),
  dynamicThresholdingRatio: field('dynamicThresholdingRatio', 'dynamic_thresholding_ratio', finiteNumber({ min: 0, max: 1 }), 0.995),
  clipSampleRange: field('clipSampleRange', 'clip_sample_range', finiteNumber({ above: 0 }), 1.0),
  sampleMaxValue: field('sampleMaxValue', 'sample_max_value', finiteNumber({ above: 0 }), 1.0),
  timestepSpacing: field('timestepSpacing', 'timestep_spacing', oneOf(TIMESTEP_SPACINGS), 'leading'),
  rescaleBetasZeroSnr: field('rescaleBetasZeroSnr', 'rescale_betas_zero_snr', boolean(), false),
  varianceType: field(
    'varianceType',
    'variance_type',
    oneOf<VarianceType>(['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'], {
      unsupported: { learned: LEARNED_VARIANCE, learned_range: LEARNED_VARIANCE },
    }),
    'fixed_small',
  ),
};

/**
 * `trained_betas` replaces the schedule, so it must have one beta per training timestep; the zero-SNR rescale needs
 * two betas at least (it divides by ᾱ₀ − ᾱ_T).
 */
function checkTables(
  config: { numTrainTimesteps: number; trainedBetas: readonly number[] | null; rescaleBetasZeroSnr: boolean },
  context: CrossCheckContext<CommonConfig>,
): void {
  const { trainedBetas, numTrainTimesteps } = config;
  if (config.rescaleBetasZeroSnr && numTrainTimesteps < 2) {
    context.fail('numTrainTimesteps', `must be at least 2 with ${context.name('rescaleBetasZeroSnr')}=true (the rescale needs a first and a last beta)`);
  }
  if (trainedBetas !== null && trainedBetas.length !== numTrainTimesteps) {
    context.fail(
      'trainedBetas',
      `has ${trainedBetas.length} values but ${context.name('numTrainTimesteps')}=${numTrainTimesteps}; ` +
        `they must agree (diffusers does not check, and then fails when it indexes the tables)`,
    );
  }
}

const DDIM_SCHEMA = defineConfigSchema<DDIMSchedulerConfig>({
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    fieldsOf<DDIMSchedulerConfig>()('betaSchedule', 'beta_schedule', oneOf(['linear', 'scaled_linear', 'squaredcos_cap_v2']), 'linear'),
    common.trainedBetas,
    common.clipSample,
    common.setAlphaToOne,
    common.stepsOffset,
    common.predictionType,
    common.thresholding,
    common.dynamicThresholdingRatio,
    common.clipSampleRange,
    common.sampleMaxValue,
    common.timestepSpacing,
    common.rescaleBetasZeroSnr,
  ] as ConfigField<DDIMSchedulerConfig>[],
  crossCheck: checkTables as ConfigSchemaSpec<DDIMSchedulerConfig>['crossCheck'],
});

const DDPM_SCHEMA = defineConfigSchema<DDPMSchedulerConfig>({
  fields: [
    common.numTrainTimesteps,
    common.betaStart,
    common.betaEnd,
    fieldsOf<DDPMSchedulerConfig>()(
      'betaSchedule',
      'beta_schedule',
      oneOf(['linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid']),
      'linear',
    ),
    common.trainedBetas,
    common.varianceType,
    common.clipSample,
    common.predictionType,
    common.thresholding,
    common.dynamicThresholdingRatio,
    common.clipSampleRange,
    common.sampleMaxValue,
    common.timestepSpacing,
    common.stepsOffset,
    common.rescaleBetasZeroSnr,
  ] as ConfigField<DDPMSchedulerConfig>[],
  crossCheck: checkTables as ConfigSchemaSpec<DDPMSchedulerConfig>['crossCheck'],
});

/** diffusers 0.30.3's defaults for `DDIMScheduler`. */
export const DDIM_SCHEDULER_DEFAULTS: Readonly<DDIMSchedulerConfig> = DDIM_SCHEMA.defaults;

/** diffusers 0.30.3's defaults for `DDPMScheduler`. */
export const DDPM_SCHEDULER_DEFAULTS: Readonly<DDPMSchedulerConfig> = DDPM_SCHEMA.defaults;

/** The two schedulers this library has; each accepts the other's config (diffusers calls them compatible). */
export type SchedulerClassName = 'DDIMScheduler' | 'DDPMScheduler';

const SCHEMAS = { DDIMScheduler: DDIM_SCHEMA, DDPMScheduler: DDPM_SCHEMA } as const;

/** Checks camelCase constructor options of `owner` and fills in the defaults; a typo in a key throws. */
function resolveOptions<C>(owner: SchedulerClassName, options: unknown): Readonly<C> {
  const source = `${owner} config`;
  assertConfigObject(options, source);
  const schema = SCHEMAS[owner] as unknown as ConfigSchema<C>;
  const { config, unknownKeys } = schema.parse(options, { source, naming: 'camel' });
  if (unknownKeys.length > 0) {
    // A typo in constructor options is a bug in the caller's code: it throws (JSON files only warn).
    const hint = unknownKeys.map((k) => {
      const spec = schema.fields.find((s) => s.snake === k);
      return spec ? `${k} (did you mean ${spec.camel}? use ${owner}.fromConfig for snake_case JSON)` : k;
    });
    throw new ConfigError(source, unknownKeys[0], `unknown option${unknownKeys.length > 1 ? 's' : ''} ${hint.join(', ')}`);
  }
  return Object.freeze(config);
}

/**
 * Checks camelCase constructor options and fills in the defaults.
 *
 * ```ts
 * resolveDDIMConfig({ timestepSpacing: 'trailing' }).clipSample;  // true (the default)
 * ```
 */
export function resolveDDIMConfig(options: Partial<DDIMSchedulerConfig> = {}): Readonly<DDIMSchedulerConfig> {
  return resolveOptions<DDIMSchedulerConfig>('DDIMScheduler', options);
}

/** Checks camelCase constructor options of {@link DDPMScheduler} and fills in the defaults. */
export function resolveDDPMConfig(options: Partial<DDPMSchedulerConfig> = {}): Readonly<DDPMSchedulerConfig> {
  return resolveOptions<DDPMSchedulerConfig>('DDPMScheduler', options);
}

/** What {@link parseSchedulerConfig} found in a diffusers JSON config. */
export interface ParsedSchedulerConfig<C> {
  /** The checked config, defaults filled in. */
  config: Readonly<C>;
  /** Keys that no scheduler of this library knows: ignored, and reported by `fromConfig` in one warning. */
  unknownKeys: string[];
  /** Known keys that this scheduler does not use (the other scheduler's, e.g. `variance_type` for DDIM). */
  unusedCompatibleKeys: string[];
  /** The JSON's `_class_name`, if any. */
  className: string | null;
  /** Where the JSON came from, as named in messages (the file when known). */
  source: string;
}

export type { WarningSink } from '../config/config-schema';

/** Options of `DDIMScheduler.fromConfig` / `DDPMScheduler.fromConfig`. */
export interface FromConfigOptions {
  /** Where the warning about unknown keys goes (default `console.warn`); nothing is sent when there is none. */
  onWarning?: WarningSink;
  /** The file the JSON came from (e.g. `scheduler/scheduler_config.json`), named in errors and the warning. */
  source?: string;
}

/**
 * Parses a diffusers `scheduler_config.json` object (snake_case keys) for one of this library's schedulers.
 *
 * - `_class_name` may be `DDIMScheduler` or `DDPMScheduler` (diffusers' `DDIMPipeline` loads the
 *   google/ddpm-cifar10-32 DDPM config into a DDIM scheduler), or another diffusers `...Scheduler`; anything
 *   else (e.g. a UNet's config) is a {@link ConfigError}.
 * - Keys starting with `_` are metadata (`_diffusers_version`, …) and are skipped, as diffusers does.
 * - Keys of the other scheduler (`variance_type` for DDIM, `set_alpha_to_one` for DDPM) are unused, silently,
 *   as diffusers does for compatible schedulers. Any other key is unknown: ignored and listed in `unknownKeys`.
 * - A `null` value is allowed for `trained_betas` only (it means: no trained betas).
 * - Every value is checked against its type and the limits of docs/checkpoints.md ("Config limits") before any
 *   table exists.
 *
 * ```ts
 * const { config, unknownKeys } = parseSchedulerConfig('DDIMScheduler', json);
 * ```
 */
export function parseSchedulerConfig(owner: 'DDIMScheduler', json: unknown, source?: string): ParsedSchedulerConfig<DDIMSchedulerConfig>;
export function parseSchedulerConfig(owner: 'DDPMScheduler', json: unknown, source?: string): ParsedSchedulerConfig<DDPMSchedulerConfig>;
export function parseSchedulerConfig(
  owner: SchedulerClassName,
  json: unknown,
  source = `${owner}.fromConfig`,
): ParsedSchedulerConfig<DDIMSchedulerConfig | DDPMSchedulerConfig> {
  assertConfigObject(json, source, 'the scheduler config');
  const className = hasOwnKey(json, '_class_name') ? json._class_name : undefined;
  if (className !== undefined && (typeof className !== 'string' || !className.endsWith('Scheduler'))) {
    throw new ConfigError(source, '_class_name', `_class_name=${describeConfigValue(className)} is not a diffusers scheduler config`);
  }
  const schema = SCHEMAS[owner] as unknown as ConfigSchema<DDIMSchedulerConfig | DDPMSchedulerConfig>;
  const parsed = schema.parse(json, { source, naming: 'snake' });
  const compatible = new Set(Object.values(SCHEMAS).flatMap((s) => s.fields.map((f) => f.snake)));
  return {
    config: Object.freeze(parsed.config),
    unknownKeys: parsed.unknownKeys.filter((k) => !compatible.has(k)),
    unusedCompatibleKeys: parsed.unknownKeys.filter((k) => compatible.has(k)),
    className: typeof className === 'string' ? className : null,
    source,
  };
}

/** Sends the one warning of `fromConfig` when the JSON had unknown keys. */
export function warnUnknownKeys(owner: SchedulerClassName, parsed: ParsedSchedulerConfig<unknown>, onWarning: WarningSink = consoleWarningSink): void {
  if (parsed.unknownKeys.length === 0) return;
  const from = parsed.className !== null && parsed.className !== owner ? ` (config of ${parsed.className})` : '';
  onWarning(unknownKeysWarning(parsed.source, owner, parsed.unknownKeys, from));
}

/** The camelCase config as diffusers' snake_case JSON (`scheduler_config.json`), with `_class_name`. */
export function toDiffusersConfig(owner: SchedulerClassName, config: Readonly<DDIMSchedulerConfig> | Readonly<DDPMSchedulerConfig>): Record<string, unknown> {
  const schema = SCHEMAS[owner] as unknown as ConfigSchema<DDIMSchedulerConfig | DDPMSchedulerConfig>;
  return { _class_name: owner, ...schema.toJSON(config) };
}
