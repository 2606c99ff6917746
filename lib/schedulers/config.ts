/**
 * Scheduler configs: the fields of diffusers' `DDIMScheduler` / `DDPMScheduler` in camelCase, their defaults, their
 * checks, and the parsing of a diffusers `scheduler_config.json` (snake_case keys).
 */
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

/** diffusers 0.30.3's defaults for `DDIMScheduler`. */
export const DDIM_SCHEDULER_DEFAULTS: Readonly<DDIMSchedulerConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  clipSample: true,
  setAlphaToOne: true,
  stepsOffset: 0,
  predictionType: 'epsilon',
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  clipSampleRange: 1.0,
  sampleMaxValue: 1.0,
  timestepSpacing: 'leading',
  rescaleBetasZeroSnr: false,
});

/** diffusers 0.30.3's defaults for `DDPMScheduler`. */
export const DDPM_SCHEDULER_DEFAULTS: Readonly<DDPMSchedulerConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  varianceType: 'fixed_small',
  clipSample: true,
  predictionType: 'epsilon',
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  clipSampleRange: 1.0,
  sampleMaxValue: 1.0,
  timestepSpacing: 'leading',
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
});

type FieldKind =
  | { kind: 'positiveInteger' }
  | { kind: 'nonNegativeInteger' }
  | { kind: 'finite' }
  | { kind: 'positive' }
  | { kind: 'unitInterval' }
  | { kind: 'boolean' }
  | { kind: 'betas' }
  | { kind: 'oneOf'; values: readonly string[]; unsupported?: Readonly<Record<string, string>> };

interface FieldSpec {
  camel: string;
  snake: string;
  type: FieldKind;
}

const PREDICTION_TYPES = ['epsilon', 'sample', 'v_prediction'] as const;
const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;

const COMMON_FIELDS: FieldSpec[] = [
  { camel: 'numTrainTimesteps', snake: 'num_train_timesteps', type: { kind: 'positiveInteger' } },
  { camel: 'betaStart', snake: 'beta_start', type: { kind: 'finite' } },
  { camel: 'betaEnd', snake: 'beta_end', type: { kind: 'finite' } },
  { camel: 'trainedBetas', snake: 'trained_betas', type: { kind: 'betas' } },
  { camel: 'clipSample', snake: 'clip_sample', type: { kind: 'boolean' } },
  { camel: 'stepsOffset', snake: 'steps_offset', type: { kind: 'nonNegativeInteger' } },
  { camel: 'predictionType', snake: 'prediction_type', type: { kind: 'oneOf', values: PREDICTION_TYPES } },
  { camel: 'thresholding', snake: 'thresholding', type: { kind: 'boolean' } },
  { camel: 'dynamicThresholdingRatio', snake: 'dynamic_thresholding_ratio', type: { kind: 'unitInterval' } },
  { camel: 'clipSampleRange', snake: 'clip_sample_range', type: { kind: 'positive' } },
  { camel: 'sampleMaxValue', snake: 'sample_max_value', type: { kind: 'positive' } },
  { camel: 'timestepSpacing', snake: 'timestep_spacing', type: { kind: 'oneOf', values: TIMESTEP_SPACINGS } },
  { camel: 'rescaleBetasZeroSnr', snake: 'rescale_betas_zero_snr', type: { kind: 'boolean' } },
];

const DDIM_FIELDS: FieldSpec[] = [
  ...COMMON_FIELDS,
  {
    camel: 'betaSchedule',
    snake: 'beta_schedule',
    type: { kind: 'oneOf', values: ['linear', 'scaled_linear', 'squaredcos_cap_v2'] },
  },
  { camel: 'setAlphaToOne', snake: 'set_alpha_to_one', type: { kind: 'boolean' } },
];

const DDPM_FIELDS: FieldSpec[] = [
  ...COMMON_FIELDS,
  {
    camel: 'betaSchedule',
    snake: 'beta_schedule',
    type: { kind: 'oneOf', values: ['linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid'] },
  },
  {
    camel: 'varianceType',
    snake: 'variance_type',
    type: {
      kind: 'oneOf',
      values: ['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'],
      unsupported: {
        learned: 'the UNet must predict the variance (twice the output channels); this port has no such model',
        learned_range: 'the UNet must predict the variance (twice the output channels); this port has no such model',
      },
    },
  },
];

/** The two schedulers this library has; each accepts the other's config (diffusers calls them compatible). */
export type SchedulerClassName = 'DDIMScheduler' | 'DDPMScheduler';

const FIELDS: Record<SchedulerClassName, FieldSpec[]> = { DDIMScheduler: DDIM_FIELDS, DDPMScheduler: DDPM_FIELDS };

/** How a field is named in error messages: as the user wrote it (camelCase options or snake_case JSON). */
type Naming = 'camel' | 'snake';

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[array of ${value.length}]`;
  if (value !== null && typeof value === 'object') return `[${value.constructor?.name ?? 'object'}]`;
  return String(value);
}

function checkField(owner: string, spec: FieldSpec, naming: Naming, value: unknown): unknown {
  const name = naming === 'camel' ? spec.camel : spec.snake;
  const fail = (expected: string): never => {
    throw new Error(`${owner} config: ${name}=${describe(value)} ${expected}`);
  };
  const t = spec.type;
  switch (t.kind) {
    case 'positiveInteger':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail('must be a positive integer');
      return value;
    case 'nonNegativeInteger':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail('must be an integer >= 0');
      return value;
    case 'finite':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('must be a finite number');
      return value;
    case 'positive':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail('must be a finite number > 0');
      return value;
    case 'unitInterval':
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) fail('must be a number in [0, 1] (a quantile)');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail('must be true or false');
      return value;
    case 'betas': {
      if (value === null || value === undefined) return null;
      const isArrayLike = Array.isArray(value) || ArrayBuffer.isView(value);
      if (!isArrayLike) fail('must be null or an array of numbers');
      const betas = Array.from(value as ArrayLike<unknown>);
      betas.forEach((b, i) => {
        if (typeof b !== 'number' || !Number.isFinite(b)) {
          throw new Error(`${owner} config: ${name}[${i}]=${describe(b)} must be a finite number`);
        }
      });
      return Object.freeze(betas as number[]);
    }
    case 'oneOf': {
      if (typeof value === 'string' && t.unsupported && value in t.unsupported) {
        throw new Error(
          `${owner} config: ${name}='${value}' is not supported: ${t.unsupported[value]} ` +
            `(supported: ${t.values.join(', ')})`,
        );
      }
      if (typeof value !== 'string' || !t.values.includes(value)) {
        fail(`is not one of ${t.values.map((v) => `'${v}'`).join(', ')}`);
      }
      return value;
    }
  }
}

function resolve<C>(
  owner: SchedulerClassName,
  defaults: Readonly<C>,
  given: Record<string, unknown>,
  naming: Naming,
): Readonly<C> {
  const resolved: Record<string, unknown> = { ...defaults };
  for (const spec of FIELDS[owner]) {
    const key = naming === 'camel' ? spec.camel : spec.snake;
    if (!(key in given) || given[key] === undefined) continue;
    resolved[spec.camel] = checkField(owner, spec, naming, given[key]);
  }
  const numTrainTimesteps = resolved.numTrainTimesteps as number;
  const trainedBetas = resolved.trainedBetas as readonly number[] | null;
  if (trainedBetas !== null && trainedBetas.length !== numTrainTimesteps) {
    const betasName = naming === 'camel' ? 'trainedBetas' : 'trained_betas';
    const countName = naming === 'camel' ? 'numTrainTimesteps' : 'num_train_timesteps';
    throw new Error(
      `${owner} config: ${betasName} has ${trainedBetas.length} values but ${countName}=${numTrainTimesteps}; ` +
        `they must agree (diffusers does not check, and then fails when it indexes the tables)`,
    );
  }
  return Object.freeze(resolved) as Readonly<C>;
}

function assertPlainObject(owner: string, what: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${owner}: ${what} must be an object, got ${describe(value)}`);
  }
}

/**
 * Checks camelCase constructor options and fills in the defaults.
 *
 * ```ts
 * resolveDDIMConfig({ timestepSpacing: 'trailing' }).clipSample;  // true (the default)
 * ```
 */
export function resolveDDIMConfig(options: Partial<DDIMSchedulerConfig> = {}): Readonly<DDIMSchedulerConfig> {
  assertPlainObject('DDIMScheduler', 'config', options);
  rejectUnknownOptions('DDIMScheduler', options);
  return resolve('DDIMScheduler', DDIM_SCHEDULER_DEFAULTS, options, 'camel');
}

/** Checks camelCase constructor options of {@link DDPMScheduler} and fills in the defaults. */
export function resolveDDPMConfig(options: Partial<DDPMSchedulerConfig> = {}): Readonly<DDPMSchedulerConfig> {
  assertPlainObject('DDPMScheduler', 'config', options);
  rejectUnknownOptions('DDPMScheduler', options);
  return resolve('DDPMScheduler', DDPM_SCHEDULER_DEFAULTS, options, 'camel');
}

/** A typo in constructor options is a bug in the caller's code: it throws (JSON files only warn). */
function rejectUnknownOptions(owner: SchedulerClassName, options: Record<string, unknown>): void {
  const known = new Set(FIELDS[owner].map((s) => s.camel));
  const unknown = Object.keys(options).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    const hint = unknown.map((k) => {
      const spec = FIELDS[owner].find((s) => s.snake === k);
      return spec ? `${k} (did you mean ${spec.camel}? use ${owner}.fromConfig for snake_case JSON)` : k;
    });
    throw new Error(`${owner} config: unknown option${unknown.length > 1 ? 's' : ''} ${hint.join(', ')}`);
  }
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
}

/** Receives `fromConfig`'s warning; `console.warn` unless another sink is given. */
export type WarningSink = (message: string) => void;

/** Options of `DDIMScheduler.fromConfig` / `DDPMScheduler.fromConfig`. */
export interface FromConfigOptions {
  /** Where the warning about unknown keys goes (default `console.warn`); nothing is sent when there is none. */
  onWarning?: WarningSink;
}

/**
 * Parses a diffusers `scheduler_config.json` object (snake_case keys) for one of this library's schedulers.
 *
 * - `_class_name` may be `DDIMScheduler` or `DDPMScheduler` (diffusers' `DDIMPipeline` loads the
 *   google/ddpm-cifar10-32 DDPM config into a DDIM scheduler), or another diffusers `...Scheduler`; anything
 *   else (e.g. a UNet's config) is an error.
 * - Keys starting with `_` are metadata (`_diffusers_version`, …) and are skipped, as diffusers does.
 * - Keys of the other scheduler (`variance_type` for DDIM, `set_alpha_to_one` for DDPM) are unused, silently,
 *   as diffusers does for compatible schedulers. Any other key is unknown: ignored and listed in `unknownKeys`.
 * - A `null` value means the default for `trained_betas` only; for other keys it is an error.
 *
 * ```ts
 * const { config, unknownKeys } = parseSchedulerConfig('DDIMScheduler', json);
 * ```
 */
export function parseSchedulerConfig(owner: 'DDIMScheduler', json: unknown): ParsedSchedulerConfig<DDIMSchedulerConfig>;
export function parseSchedulerConfig(owner: 'DDPMScheduler', json: unknown): ParsedSchedulerConfig<DDPMSchedulerConfig>;
export function parseSchedulerConfig(
  owner: SchedulerClassName,
  json: unknown,
): ParsedSchedulerConfig<DDIMSchedulerConfig | DDPMSchedulerConfig> {
  const where = `${owner}.fromConfig`;
  assertPlainObject(where, 'the scheduler config', json);
  const className = json._class_name;
  if (className !== undefined && (typeof className !== 'string' || !className.endsWith('Scheduler'))) {
    throw new Error(`${where}: _class_name=${describe(className)} is not a diffusers scheduler config`);
  }
  const own = new Set(FIELDS[owner].map((s) => s.snake));
  const compatible = new Set(Object.values(FIELDS).flatMap((fields) => fields.map((s) => s.snake)));
  const unknownKeys: string[] = [];
  const unusedCompatibleKeys: string[] = [];
  for (const key of Object.keys(json)) {
    if (key.startsWith('_') || own.has(key)) continue;
    (compatible.has(key) ? unusedCompatibleKeys : unknownKeys).push(key);
  }
  const given: Record<string, unknown> = {};
  for (const key of own) {
    if (!(key in json)) continue;
    const value = json[key];
    if (value === null && key !== 'trained_betas') {
      throw new Error(`${owner} config: ${key}=null; give a value or leave the key out for the default`);
    }
    given[key] = value;
  }
  const defaults = owner === 'DDIMScheduler' ? DDIM_SCHEDULER_DEFAULTS : DDPM_SCHEDULER_DEFAULTS;
  return {
    config: resolve<DDIMSchedulerConfig | DDPMSchedulerConfig>(owner, defaults, given, 'snake'),
    unknownKeys,
    unusedCompatibleKeys,
    className: typeof className === 'string' ? className : null,
  };
}

/** Sends the one warning of `fromConfig` when the JSON had unknown keys. */
export function warnUnknownKeys(
  owner: SchedulerClassName,
  parsed: ParsedSchedulerConfig<unknown>,
  onWarning: WarningSink = (message) => console.warn(message),
): void {
  if (parsed.unknownKeys.length === 0) return;
  const from = parsed.className !== null && parsed.className !== owner ? ` (config of ${parsed.className})` : '';
  onWarning(
    `${owner}.fromConfig: ignoring config key${parsed.unknownKeys.length > 1 ? 's' : ''} that ${owner} ` +
      `does not know${from}: ${parsed.unknownKeys.join(', ')}`,
  );
}

/** The camelCase config as diffusers' snake_case JSON (`scheduler_config.json`), with `_class_name`. */
export function toDiffusersConfig(
  owner: SchedulerClassName,
  config: Readonly<DDIMSchedulerConfig> | Readonly<DDPMSchedulerConfig>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { _class_name: owner };
  const values = config as unknown as Record<string, unknown>;
  for (const spec of FIELDS[owner]) {
    const value = values[spec.camel];
    out[spec.snake] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}
