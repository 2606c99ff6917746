/**
 * What every scheduler's config shares: the field declarations several schedulers have (as diffusers repeats them in
 * each `__init__`), and {@link defineSchedulerConfig}, which turns one class's field list — declared next to the
 * class, as diffusers' `@register_to_config` constructor — into its defaults, constructor-option checks,
 * `fromConfig` parsing (diffusers' snake_case JSON or another scheduler's camelCase `config`), the one warning about
 * ignored keys, and `toDiffusersConfig`.
 *
 * ```ts
 * interface MyConfig { numTrainTimesteps: number; solverOrder: number }
 * const field = fieldsOf<MyConfig>();
 * const CONFIG = defineSchedulerConfig<MyConfig>('MySolverScheduler', {
 *   fields: [SCHEDULER_FIELDS.numTrainTimesteps as ConfigField<MyConfig>, field('solverOrder', 'solver_order', integer({ min: 1, max: 3 }), 2)],
 * });
 * CONFIG.fromConfig({ solver_order: 3, variance_type: 'fixed_large' }).solverOrder;  // 3, variance_type dropped silently
 * ```
 */
import { assertConfigObject, ConfigError, describeConfigValue, hasOwnKey } from '../config/config-error';
import {
  boolean,
  ConfigField,
  ConfigSchema,
  ConfigSchemaSpec,
  consoleWarningSink,
  CrossCheckContext,
  defineConfigSchema,
  finiteNumber,
  integer,
  isMetadataKey,
  list,
  nullable,
  oneOf,
  unknownKeysWarning,
  WarningSink,
} from '../config/config-schema';
import { CONFIG_LIMITS } from '../config/limits';
import type { TimestepSpacing } from './schedule';

/** What the model predicts: the noise, the clean sample, or the velocity v = √ᾱ·ε − √(1−ᾱ)·x. */
export type PredictionType = 'epsilon' | 'sample' | 'v_prediction';

/** The prediction types of diffusers' schedulers. */
const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'sample', 'v_prediction'];

/** The `timestep_spacing` values of diffusers 0.30.3. */
const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];

/** The fields that several diffusers schedulers declare alike (name, type with bounds, diffusers 0.30.3 default). */
export interface SharedSchedulerFields {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  trainedBetas: readonly number[] | null;
  clipSample: boolean;
  setAlphaToOne: boolean;
  stepsOffset: number;
  predictionType: PredictionType;
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  clipSampleRange: number;
  sampleMaxValue: number;
  timestepSpacing: TimestepSpacing;
  rescaleBetasZeroSnr: boolean;
}

const shared = <K extends keyof SharedSchedulerFields>(
  camel: K,
  snake: string,
  type: import('../config/config-schema').FieldType<SharedSchedulerFields[K]>,
  defaultValue: SharedSchedulerFields[K],
): ConfigField<SharedSchedulerFields> => ({ camel, snake, type: type as never, default: defaultValue });

/**
 * Shared field declarations, each with diffusers' most common default. A scheduler whose default differs (e.g.
 * `steps_offset`, `clip_sample`) declares that field itself with `fieldsOf<C>()`. Cast to `ConfigField<C>` when
 * listing them in a scheduler's fields.
 */
export const SCHEDULER_FIELDS = {
  numTrainTimesteps: shared('numTrainTimesteps', 'num_train_timesteps', integer({ min: 1, max: CONFIG_LIMITS.maxTrainTimesteps }), 1000),
  betaStart: shared('betaStart', 'beta_start', finiteNumber({ min: 0, max: 1 }), 0.0001),
  betaEnd: shared('betaEnd', 'beta_end', finiteNumber({ min: 0, max: 1 }), 0.02),
  trainedBetas: shared(
    'trainedBetas',
    'trained_betas',
    nullable(list(finiteNumber({ min: 0, max: 1 }), { minLength: 0, maxLength: CONFIG_LIMITS.maxTrainTimesteps, typedArrays: true, freeze: true })),
    null,
  ),
  clipSample: shared('clipSample', 'clip_sample', boolean(), true),
  setAlphaToOne: shared('setAlphaToOne', 'set_alpha_to_one', boolean(), true),
  stepsOffset: shared('stepsOffset', 'steps_offset', integer({ min: 0, max: CONFIG_LIMITS.maxTrainTimesteps }), 0),
  predictionType: shared('predictionType', 'prediction_type', oneOf(PREDICTION_TYPES), 'epsilon'),
  thresholding: shared('thresholding', 'thresholding', boolean(), false),
  dynamicThresholdingRatio: shared('dynamicThresholdingRatio', 'dynamic_thresholding_ratio', finiteNumber({ min: 0, max: 1 }), 0.995),
  clipSampleRange: shared('clipSampleRange', 'clip_sample_range', finiteNumber({ above: 0 }), 1.0),
  sampleMaxValue: shared('sampleMaxValue', 'sample_max_value', finiteNumber({ above: 0 }), 1.0),
  timestepSpacing: shared('timestepSpacing', 'timestep_spacing', oneOf(TIMESTEP_SPACINGS), 'leading'),
  rescaleBetasZeroSnr: shared('rescaleBetasZeroSnr', 'rescale_betas_zero_snr', boolean(), false),
} as const;

/**
 * The check of the beta tables' fields: `trained_betas` replaces the schedule, so it must have one beta per training
 * timestep; the zero-SNR rescale needs two betas at least (it divides by ᾱ₀ − ᾱ_T).
 */
export function checkBetaTables<C extends { numTrainTimesteps: number; trainedBetas: readonly number[] | null; rescaleBetasZeroSnr?: boolean }>(
  config: C,
  context: CrossCheckContext<C>,
): void {
  const { trainedBetas, numTrainTimesteps } = config;
  if (config.rescaleBetasZeroSnr === true && numTrainTimesteps < 2) {
    context.fail(
      'numTrainTimesteps' as keyof C & string,
      `must be at least 2 with ${context.name('rescaleBetasZeroSnr' as keyof C & string)}=true (the rescale needs a first and a last beta)`,
    );
  }
  if (trainedBetas !== null && trainedBetas.length !== numTrainTimesteps) {
    context.fail(
      'trainedBetas' as keyof C & string,
      `has ${trainedBetas.length} values but ${context.name('numTrainTimesteps' as keyof C & string)}=${numTrainTimesteps}; ` +
        `they must agree (diffusers does not check, and then fails when it indexes the tables)`,
    );
  }
}

/** What {@link SchedulerConfigDefinition.parse} found in a diffusers JSON config (or another scheduler's config). */
export interface ParsedSchedulerConfig<C> {
  /** The checked config, defaults filled in. */
  config: Readonly<C>;
  /** Keys that no scheduler of this library knows: ignored, and reported by `fromConfig` in one warning. */
  unknownKeys: string[];
  /** Known keys of another (compatible) scheduler that this one does not use (e.g. `variance_type` for DDIM). */
  unusedCompatibleKeys: string[];
  /** The JSON's `_class_name`, if any (for another scheduler's `config`: the class it belongs to). */
  className: string | null;
  /** Where the JSON came from, as named in messages (the file when known). */
  source: string;
}

/** Options of every scheduler's `fromConfig` (the same as `SchedulerFromConfigOptions` of scheduler.ts). */
export interface FromConfigOptions {
  /** Where the warning about unknown keys goes (default `console.warn`); nothing is sent when there is none. */
  onWarning?: WarningSink;
  /** The file the JSON came from (e.g. `scheduler/scheduler_config.json`), named in errors and the warning. */
  source?: string;
}

/** One scheduler's config, derived from its field list by {@link defineSchedulerConfig}. */
export interface SchedulerConfigDefinition<C> {
  readonly className: string;
  readonly schema: ConfigSchema<C>;
  /** diffusers 0.30.3's defaults (camelCase, frozen). */
  readonly defaults: Readonly<C>;
  /** Checks camelCase constructor options and fills in the defaults; an unknown key (a typo) throws. */
  resolve(options: unknown): Readonly<C>;
  /** Parses a diffusers `scheduler_config.json` object or another scheduler's camelCase `config`. */
  parse(json: unknown, source?: string): ParsedSchedulerConfig<C>;
  /** {@link parse}, then the one warning about unknown keys: the config for the class's constructor. */
  fromConfig(json: unknown, options?: FromConfigOptions): Readonly<C>;
  /** The config as diffusers' snake_case JSON, with `_class_name`. */
  toDiffusersConfig(config: Readonly<C>): Record<string, unknown>;
}

/** The snake_case keys of every scheduler defined with {@link defineSchedulerConfig}, by class name. */
const definedKeys = new Map<string, ReadonlySet<string>>();
/** More schedulers' keys, from the registry (schedulers written without {@link defineSchedulerConfig}). */
let registeredKeys: (() => ReadonlyMap<string, ReadonlySet<string>>) | null = null;

/**
 * Lets the registry (lib/schedulers/registry.ts) add the keys of every registered scheduler to those that
 * `fromConfig` drops silently as a compatible scheduler's. Called once, when the registry module loads.
 */
export function setRegisteredSchedulerKeys(provider: () => ReadonlyMap<string, ReadonlySet<string>>): void {
  registeredKeys = provider;
}

/**
 * The `__init__` arguments of every diffusers 0.30.3 scheduler in `KarrasDiffusionSchedulers`, those this library
 * has no class for included (DPMSolverSDE's `noise_sampler_seed`, EDMEuler's `sigma_data`, `sigma_schedule`):
 * diffusers' `extract_init_dict` drops a compatible class's keys without a warning, so `fromConfig` does too.
 */
const DIFFUSERS_COMPATIBLE_KEYS: readonly string[] = [
  'algorithm_type', 'beta_end', 'beta_schedule', 'beta_start', 'clip_sample', 'clip_sample_range', 'disable_corrector',
  'dynamic_thresholding_ratio', 'euler_at_final', 'final_sigmas_type', 'interpolation_type', 'lambda_min_clipped',
  'lower_order_final', 'noise_sampler_seed', 'num_train_timesteps', 'predict_x0', 'prediction_type',
  'rescale_betas_zero_snr', 'rho', 'sample_max_value', 'set_alpha_to_one', 'sigma_data', 'sigma_max', 'sigma_min',
  'sigma_schedule', 'skip_prk_steps', 'solver_order', 'solver_p', 'solver_type', 'steps_offset', 'thresholding',
  'timestep_spacing', 'timestep_type', 'trained_betas', 'use_karras_sigmas', 'use_lu_lambdas', 'variance_type',
];

function compatibleKeys(owner: string): Set<string> {
  const keys = new Set<string>(DIFFUSERS_COMPATIBLE_KEYS);
  const add = (map: ReadonlyMap<string, ReadonlySet<string>>) => {
    for (const [name, set] of map) if (name !== owner) for (const k of set) keys.add(k);
  };
  add(definedKeys);
  if (registeredKeys !== null) add(registeredKeys());
  return keys;
}

/** `numTrainTimesteps` → `num_train_timesteps` (diffusers' names are the snake_case of ours). */
export function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Where a scheduler's frozen `config` records its class (non-enumerable: not in `Object.keys`, JSON or `toEqual`),
 * so that `Other.fromConfig(scheduler.config)` knows where the fields came from, as diffusers' `FrozenDict` does.
 */
const CONFIG_CLASS = '_class_name';

/** Freezes a resolved config and records its class on it (see `fromConfig` with another scheduler's `config`). */
function freezeSchedulerConfig<C extends object>(className: string, config: C): Readonly<C> {
  if (!Object.isFrozen(config)) {
    Object.defineProperty(config, CONFIG_CLASS, { value: className, enumerable: false });
    Object.freeze(config);
  }
  return config;
}

/**
 * Whether `json` is a scheduler's camelCase `config` rather than diffusers JSON: it is, when it has no
 * `_class_name` key in its enumerable keys and one of its keys has an upper-case letter and no underscore.
 */
function isCamelCaseConfig(json: Record<string, unknown>): boolean {
  if (Object.keys(json).some((k) => isMetadataKey(k))) return false;
  if (Object.prototype.hasOwnProperty.call(json, CONFIG_CLASS) && Object.getOwnPropertyDescriptor(json, CONFIG_CLASS)?.enumerable === false) {
    return true;
  }
  const keys = Object.keys(json);
  return keys.length > 0 && keys.every((k) => !k.includes('_')) && keys.some((k) => /[A-Z]/.test(k));
}

/**
 * Defines a scheduler's config from its fields (declared next to the class, as diffusers' `@register_to_config`).
 * Registers the snake_case keys, so that other schedulers' `fromConfig` drop them silently (diffusers' compatibles).
 * `rewrite` applies diffusers' `__init__` rewrites after the checks (e.g. DPM-Solver's `algorithm_type="deis"` →
 * `"dpmsolver++"`, which diffusers checks before rewriting); the default keeps the config as parsed.
 */
export function defineSchedulerConfig<C>(
  className: string,
  spec: ConfigSchemaSpec<C>,
  rewrite: (config: C) => C = (config) => config,
): SchedulerConfigDefinition<C> {
  const schema = defineConfigSchema<C>(spec);
  definedKeys.set(className, new Set(schema.fields.map((f) => f.snake)));

  function resolve(options: unknown): Readonly<C> {
    const source = `${className} config`;
    assertConfigObject(options, source);
    const { config, unknownKeys } = schema.parse(options, { source, naming: 'camel' });
    if (unknownKeys.length > 0) {
      // A typo in constructor options is a bug in the caller's code: it throws (JSON files only warn).
      const hint = unknownKeys.map((k) => {
        const f = schema.fields.find((s) => s.snake === k);
        return f ? `${k} (did you mean ${f.camel}? use ${className}.fromConfig for snake_case JSON)` : k;
      });
      throw new ConfigError(source, unknownKeys[0], `unknown option${unknownKeys.length > 1 ? 's' : ''} ${hint.join(', ')}`);
    }
    return freezeSchedulerConfig(className, rewrite(config) as C & object);
  }

  function parse(json: unknown, source = `${className}.fromConfig`): ParsedSchedulerConfig<C> {
    assertConfigObject(json, source, 'the scheduler config');
    let given = json;
    let classNameOfJson: unknown = hasOwnKey(json, CONFIG_CLASS) ? json[CONFIG_CLASS] : undefined;
    if (isCamelCaseConfig(json)) {
      // Another scheduler's `config` (camelCase): read as its diffusers JSON.
      given = Object.fromEntries(Object.keys(json).map((k) => [camelToSnake(k), json[k]]));
      classNameOfJson = Object.prototype.hasOwnProperty.call(json, CONFIG_CLASS) ? (json as Record<string, unknown>)[CONFIG_CLASS] : undefined;
    }
    if (classNameOfJson !== undefined && (typeof classNameOfJson !== 'string' || !classNameOfJson.endsWith('Scheduler'))) {
      throw new ConfigError(source, '_class_name', `_class_name=${describeConfigValue(classNameOfJson)} is not a diffusers scheduler config`);
    }
    if (typeof classNameOfJson === 'string' && classNameOfJson !== className) {
      // Another class's `None` for a field this class declares with a value (DPM-Solver's variance_type=None read by
      // DDPM): diffusers' step treats None as its default (DDPM's _get_variance), so it is read as not given.
      const nullDefaults = schema.fields.filter((f) => f.default !== null && (given as Record<string, unknown>)[f.snake] === null);
      if (nullDefaults.length > 0) {
        given = { ...given };
        for (const f of nullDefaults) delete (given as Record<string, unknown>)[f.snake];
      }
    }
    const parsed = schema.parse(given, { source, naming: 'snake' });
    const compatible = compatibleKeys(className);
    return {
      config: freezeSchedulerConfig(className, rewrite(parsed.config) as C & object),
      unknownKeys: parsed.unknownKeys.filter((k) => !compatible.has(k)),
      unusedCompatibleKeys: parsed.unknownKeys.filter((k) => compatible.has(k)),
      className: typeof classNameOfJson === 'string' ? classNameOfJson : null,
      source,
    };
  }

  function fromConfig(json: unknown, options: FromConfigOptions = {}): Readonly<C> {
    const parsed = parse(json, options.source);
    warnUnknownSchedulerKeys(className, parsed, options.onWarning);
    return parsed.config;
  }

  function toDiffusersConfig(config: Readonly<C>): Record<string, unknown> {
    return { _class_name: className, ...schema.toJSON(config) };
  }

  return { className, schema, defaults: schema.defaults, resolve, parse, fromConfig, toDiffusersConfig };
}

/** Sends the one warning of `fromConfig` when the JSON had unknown keys. */
function warnUnknownSchedulerKeys(owner: string, parsed: ParsedSchedulerConfig<unknown>, onWarning: WarningSink = consoleWarningSink): void {
  if (parsed.unknownKeys.length === 0) return;
  const from = parsed.className !== null && parsed.className !== owner ? ` (config of ${parsed.className})` : '';
  onWarning(unknownKeysWarning(parsed.source, owner, parsed.unknownKeys, from));
}

export type { WarningSink } from '../config/config-schema';
