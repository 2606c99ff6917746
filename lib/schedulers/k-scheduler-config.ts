/**
 * The config plumbing every scheduler class shares: checking camelCase constructor options, `fromConfig` of a
 * diffusers `scheduler_config.json` (snake_case) or of another scheduler's `config` (camelCase), and the snake_case
 * form for `toDiffusersConfig`. Each scheduler declares its own fields (a {@link ConfigSchema}) next to its class.
 *
 * ```ts
 * const SCHEMA = defineConfigSchema<EulerDiscreteSchedulerConfig>({ fields: [...] });
 * const config = schedulerConfigFromJson('EulerDiscreteScheduler', SCHEMA, json, { onWarning });
 * ```
 */
import { assertConfigObject, ConfigError, describeConfigValue, hasOwnKey } from '../config/config-error';
import { ConfigSchema, consoleWarningSink, isMetadataKey, unknownKeysWarning } from '../config/config-schema';
import type { SchedulerFromConfigOptions } from './scheduler';

/**
 * Checks camelCase constructor options and fills in diffusers' defaults; an unknown key throws (a typo in code is
 * a bug, unlike an unknown key in a JSON file, which only warns).
 */
export function resolveSchedulerOptions<C>(className: string, schema: ConfigSchema<C>, options: unknown): Readonly<C> {
  const source = `${className} config`;
  assertConfigObject(options ?? {}, source);
  const { config, unknownKeys } = schema.parse((options ?? {}) as Record<string, unknown>, { source, naming: 'camel' });
  if (unknownKeys.length > 0) {
    const hint = unknownKeys.map((k) => {
      const spec = schema.fields.find((s) => s.snake === k);
      return spec ? `${k} (did you mean ${spec.camel}? use ${className}.fromConfig for snake_case JSON)` : k;
    });
    throw new ConfigError(source, unknownKeys[0], `unknown option${unknownKeys.length > 1 ? 's' : ''} ${hint.join(', ')}`);
  }
  return Object.freeze(config);
}

/**
 * How the keys of a config object are spelled: diffusers' snake_case JSON (any key with `_`, or `_class_name`) or
 * a scheduler's camelCase `config` (a key with a capital letter and no `_`). One-word keys read the same either way.
 */
export function configNaming(json: Record<string, unknown>): 'snake' | 'camel' {
  const keys = Object.keys(json);
  if (keys.some((k) => k.includes('_'))) return 'snake';
  return keys.some((k) => /[A-Z]/.test(k)) ? 'camel' : 'snake';
}

/**
 * `X.fromConfig(json)`: the config of scheduler `className` from a diffusers `scheduler_config.json` object or
 * another scheduler's camelCase `config`. Fields this scheduler knows are kept and checked (a bad value is a
 * {@link ConfigError} naming the key and value); the others are ignored with one warning to `options.onWarning`.
 *
 * ```ts
 * const config = schedulerConfigFromJson('EulerDiscreteScheduler', SCHEMA, ddimScheduler.config);
 * ```
 */
export function schedulerConfigFromJson<C>(
  className: string,
  schema: ConfigSchema<C>,
  json: unknown,
  options: SchedulerFromConfigOptions = {},
): Readonly<C> {
  const source = options.source ?? `${className}.fromConfig`;
  assertConfigObject(json, source, 'the scheduler config');
  const given = json as Record<string, unknown>;
  const classNameGiven = hasOwnKey(given, '_class_name') ? given._class_name : undefined;
  if (classNameGiven !== undefined && (typeof classNameGiven !== 'string' || !classNameGiven.endsWith('Scheduler'))) {
    throw new ConfigError(source, '_class_name', `_class_name=${describeConfigValue(classNameGiven)} is not a diffusers scheduler config`);
  }
  const naming = configNaming(given);
  const { config, unknownKeys } = schema.parse(given, { source, naming });
  const ignored = unknownKeys.filter((k) => !isMetadataKey(k));
  if (ignored.length > 0) {
    const from = typeof classNameGiven === 'string' && classNameGiven !== className ? ` (config of ${classNameGiven})` : '';
    (options.onWarning ?? consoleWarningSink)(unknownKeysWarning(source, className, ignored, from));
  }
  return Object.freeze(config);
}

/** The camelCase config as diffusers' snake_case `scheduler_config.json`, with `_class_name`. */
export function schedulerConfigToJson<C>(className: string, schema: ConfigSchema<C>, config: Readonly<C>): Record<string, unknown> {
  return { _class_name: className, ...schema.toJSON(config) };
}

/**
 * diffusers' `KarrasDiffusionSchedulers`: the `compatibles` of every scheduler of this family (each accepts the
 * others' configs).
 */
export const KARRAS_DIFFUSION_SCHEDULERS: readonly string[] = Object.freeze([
  'DDIMScheduler',
  'DDPMScheduler',
  'PNDMScheduler',
  'LMSDiscreteScheduler',
  'EulerDiscreteScheduler',
  'HeunDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'DPMSolverMultistepScheduler',
  'DPMSolverSinglestepScheduler',
  'KDPM2DiscreteScheduler',
  'KDPM2AncestralDiscreteScheduler',
  'DEISMultistepScheduler',
  'UniPCMultistepScheduler',
  'DPMSolverSDEScheduler',
  'EDMEulerScheduler',
]);
