/**
 * One declaration per config field — camelCase name, diffusers' snake_case name, default, type with its bounds — from
 * which the defaults, the parsing of diffusers JSON (snake_case) and of constructor options (camelCase), the error
 * messages and the `toJSON` form all derive. Used by the UNet config and the scheduler configs.
 *
 * ```ts
 * const schema = defineConfigSchema<{ steps: number }>({
 *   fields: [configField('steps', 'num_steps', integer({ min: 1, max: 1000 }), 50)],
 * });
 * schema.parse({ num_steps: 20 }, { source: 'config.json', naming: 'snake' }).config.steps;  // 20
 * ```
 */
import { ConfigError, describeConfigValue, hasOwnKey } from './config-error';

/** Reports a bad value: `path` as the user wrote it (`block_out_channels[2]`), the value, what is wrong. */
type FailValue = (path: string, value: unknown, detail: string) => never;

/** How one value is checked and converted. `check` never allocates more than the value's own size. */
export interface FieldType<T> {
  /** What a valid value is, as the end of a sentence: `must be true or false`. */
  readonly expected: string;
  check(value: unknown, path: string, fail: FailValue): T;
}

/** Where the limits of untrusted configs are documented (named in every "exceeds the limit" message). */
export const CONFIG_LIMITS_DOC = 'docs/checkpoints.md, "Config limits"';

/** A safe integer in [min, max]; a value above `max` is reported as exceeding a documented limit. */
export function integer(bounds: { min: number; max: number }): FieldType<number> {
  const expected = bounds.min === 1 ? `must be a positive integer <= ${bounds.max}` : `must be an integer in [${bounds.min}, ${bounds.max}]`;
  return {
    expected,
    check(value, path, fail) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min) return fail(path, value, expected);
      if (value > bounds.max) return fail(path, value, `exceeds the limit of ${bounds.max} (${CONFIG_LIMITS_DOC})`);
      return value;
    },
  };
}

/** A finite number, optionally bounded (`min`/`max` inclusive, `above`/`below` exclusive). */
export function finiteNumber(bounds: { min?: number; max?: number; above?: number; below?: number } = {}): FieldType<number> {
  const { min, max, above, below } = bounds;
  const low = min !== undefined ? `[${min}` : above !== undefined ? `(${above}` : null;
  const high = max !== undefined ? `${max}]` : below !== undefined ? `${below})` : null;
  const expected =
    low !== null && high !== null
      ? `must be a number in ${low}, ${high}`
      : low !== null
        ? `must be a finite number ${min !== undefined ? '>=' : '>'} ${min ?? above}`
        : 'must be a finite number';
  return {
    expected,
    check(value, path, fail) {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (min === undefined || value >= min) &&
        (max === undefined || value <= max) &&
        (above === undefined || value > above) &&
        (below === undefined || value < below);
      if (!ok) return fail(path, value, expected);
      return value as number;
    },
  };
}

/** `true` or `false`. */
export function boolean(): FieldType<boolean> {
  const expected = 'must be true or false';
  return {
    expected,
    check(value, path, fail) {
      if (typeof value !== 'boolean') return fail(path, value, expected);
      return value;
    },
  };
}

/**
 * One of a few values (strings, or `null`). `unsupported` maps values diffusers knows but this port does not build
 * to the reason; `normalize` maps an accepted spelling to its canonical value before the check (e.g. diffusers'
 * `UNetRes` block name prefix).
 */
export function oneOf<const T extends string | number | null>(
  values: readonly T[],
  options: { unsupported?: Readonly<Record<string, string>>; normalize?: (value: unknown) => unknown } = {},
): FieldType<T> {
  const supported = `(supported: ${values.map((v) => describeConfigValue(v)).join(', ')})`;
  const expected = `is not supported ${supported}`;
  return {
    expected,
    check(raw, path, fail) {
      const value = options.normalize ? options.normalize(raw) : raw;
      if (typeof value === 'string' && options.unsupported && hasOwnKey(options.unsupported, value)) {
        fail(path, raw, `is not supported: ${options.unsupported[value]} ${supported}`);
      }
      if (!values.includes(value as T)) return fail(path, raw, expected);
      return value as T;
    },
  };
}

/** `null`, or a value of `type`. */
export function nullable<T>(type: FieldType<T>): FieldType<T | null> {
  return {
    expected: `${type.expected}, or null`,
    check: (value, path, fail) => (value === null ? null : type.check(value, path, fail)),
  };
}

/**
 * A list of `minLength` to `maxLength` items of one type. The length is checked before any item is looked at or
 * copied. `typedArrays` also accepts a typed array (camelCase options may pass a `Float64Array`); `freeze` freezes
 * the checked copy.
 */
export function list<T>(
  item: FieldType<T>,
  options: { minLength: number; maxLength: number; typedArrays?: boolean; freeze?: boolean },
): FieldType<T[]> {
  const { minLength, maxLength } = options;
  const expected =
    minLength === maxLength ? `must be a list of ${minLength} entries` : `must be a list of ${minLength} to ${maxLength} entries`;
  return {
    expected,
    check(value, path, fail) {
      const isList = Array.isArray(value) || (options.typedArrays === true && ArrayBuffer.isView(value) && !(value instanceof DataView));
      if (!isList) return fail(path, value, expected);
      const items = value as ArrayLike<unknown>;
      if (items.length < minLength) return fail(path, value, expected);
      if (items.length > maxLength) return fail(path, value, `has ${items.length} entries, over the limit of ${maxLength} (${CONFIG_LIMITS_DOC})`);
      const out: T[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) out[i] = item.check(items[i], `${path}[${i}]`, fail);
      return options.freeze ? (Object.freeze(out) as T[]) : out;
    },
  };
}

/** One field: its names, its type (with bounds) and its default (as diffusers has it). */
export interface ConfigField<C, K extends keyof C & string = keyof C & string> {
  readonly camel: K;
  readonly snake: string;
  readonly type: FieldType<unknown>;
  readonly default: unknown;
}

/**
 * The field declarer of config type `C`; `defaultValue` must pass `type` (checked when the schema is defined).
 *
 * ```ts
 * const field = fieldsOf<UNet2DConfig>();
 * field('layersPerBlock', 'layers_per_block', integer({ min: 1, max: 64 }), 2);
 * ```
 */
export function fieldsOf<C>() {
  return <K extends keyof C & string>(camel: K, snake: string, type: FieldType<C[K]>, defaultValue: C[K]): ConfigField<C, K> => ({
    camel,
    snake,
    type: type as FieldType<unknown>,
    default: defaultValue,
  });
}

/**
 * `true` when the field list `F` declares every key of the config interface `C`, else `{ undeclared: <the keys> }`:
 * the compile-time check that a fields table and its interface agree (declare the table without widening its type).
 *
 * ```ts
 * const FIELDS = [field('steps', 'num_steps', integer({ min: 1, max: 1000 }), 50)];
 * const fieldsComplete: AllFieldsDeclared<StepsConfig, typeof FIELDS> = true; // a type error naming any missing key
 * ```
 */
export type AllFieldsDeclared<C, F extends readonly ConfigField<C>[]> = [Exclude<keyof C & string, F[number]['camel']>] extends [never]
  ? true
  : { undeclared: Exclude<keyof C & string, F[number]['camel']> };

/** How the keys are spelled in what is parsed: diffusers JSON (snake_case) or constructor options (camelCase). */
type ConfigNaming = 'camel' | 'snake';

/** Given to a schema's cross-field check. */
export interface CrossCheckContext<C> {
  /** The key of a field as the user spelled it. */
  name(field: keyof C & string): string;
  /**
   * Throws a {@link ConfigError} for `field` (its value as parsed), e.g. `fail('normNumGroups', 'does not divide …')`
   * gives `norm_num_groups=30 does not divide …`; with `null`, `detail` is about the config as a whole.
   */
  fail(field: (keyof C & string) | null, detail: string): never;
}

/**
 * A key of another model class that changes the math: refused unless it holds one of the `neutral` values (those
 * that change nothing; none = refused whatever its value). A neutral one is an unknown key like any other.
 */
export interface RefusedKey {
  readonly neutral: readonly unknown[];
  readonly reason: string;
}

export interface ConfigSchemaSpec<C> {
  readonly fields: readonly ConfigField<C>[];
  /** Checks between fields, run after every field passed its own check. */
  readonly crossCheck?: (config: C, context: CrossCheckContext<C>) => void;
  /** snake_case keys this config does not have that would change the result (see {@link RefusedKey}). */
  readonly refusedKeys?: Readonly<Record<string, RefusedKey>>;
}

interface ParseOptions {
  /** Named first in every message: the file when known (`unet/config.json`), else what the object is. */
  source: string;
  naming: ConfigNaming;
}

/** What {@link ConfigSchema.parse} found. */
interface ParsedConfig<C> {
  /** The checked config, defaults filled in (arrays are fresh copies; the caller may freeze it). */
  config: C;
  /** Keys no field has (metadata keys starting with `_` aside in JSON): the caller warns or throws. */
  unknownKeys: string[];
}

export interface ConfigSchema<C> {
  readonly fields: readonly ConfigField<C>[];
  /** The defaults with camelCase keys (frozen). */
  readonly defaults: Readonly<C>;
  /** The defaults with diffusers' snake_case keys (frozen). */
  readonly jsonDefaults: Readonly<Record<string, unknown>>;
  /** Checks every field present (others get their default), then the cross-field checks. Throws {@link ConfigError}. */
  parse(given: Record<string, unknown>, options: ParseOptions): ParsedConfig<C>;
  /** The snake_case JSON form, in declaration order (arrays copied). */
  toJSON(config: Readonly<C>): Record<string, unknown>;
}

/** diffusers' metadata keys (`_class_name`, `_diffusers_version`, `_name_or_path`, …) carry no configuration. */
export function isMetadataKey(key: string): boolean {
  return key.startsWith('_');
}

function copyValue(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}

/** Builds a {@link ConfigSchema} from field declarations. */
export function defineConfigSchema<C>(spec: ConfigSchemaSpec<C>): ConfigSchema<C> {
  const { fields } = spec;
  const camelKeys = new Set(fields.map((f) => f.camel as string));
  const snakeKeys = new Set(fields.map((f) => f.snake));
  const throwAt: FailValue = (path, value, detail) => {
    throw new Error(`config field declaration: default ${path}=${describeConfigValue(value)} ${detail}`);
  };
  const defaults = Object.freeze(Object.fromEntries(fields.map((f) => [f.camel, f.type.check(f.default, f.camel, throwAt)]))) as Readonly<C>;
  const jsonDefaults = Object.freeze(Object.fromEntries(fields.map((f) => [f.snake, copyValue(f.default)])));

  function parse(given: Record<string, unknown>, options: ParseOptions): ParsedConfig<C> {
    const { source, naming } = options;
    const fail: FailValue = (path, value, detail) => {
      throw new ConfigError(source, path, `${path}=${describeConfigValue(value)} ${detail}`);
    };
    const known = naming === 'camel' ? camelKeys : snakeKeys;
    const unknownKeys: string[] = [];
    for (const key of Object.keys(given)) {
      if (known.has(key) || (naming === 'snake' && isMetadataKey(key))) continue;
      const refused = naming === 'snake' && spec.refusedKeys && hasOwnKey(spec.refusedKeys, key) ? spec.refusedKeys[key] : undefined;
      if (refused !== undefined && !refused.neutral.includes(given[key])) {
        fail(key, given[key], `is not supported: ${refused.reason}`);
      }
      unknownKeys.push(key);
    }
    const resolved: Record<string, unknown> = {};
    for (const f of fields) {
      const key = naming === 'camel' ? f.camel : f.snake;
      const present = hasOwnKey(given, key) && given[key] !== undefined;
      resolved[f.camel] = f.type.check(present ? given[key] : f.default, key, fail);
    }
    const config = resolved as C;
    if (spec.crossCheck) {
      const name = (camel: keyof C & string): string => {
        const f = fields.find((x) => x.camel === camel);
        return naming === 'camel' || f === undefined ? camel : f.snake;
      };
      spec.crossCheck(config, {
        name,
        fail: (camel, detail) => {
          if (camel === null) throw new ConfigError(source, null, detail);
          return fail(name(camel), resolved[camel], detail);
        },
      });
    }
    return { config, unknownKeys };
  }

  function toJSON(config: Readonly<C>): Record<string, unknown> {
    const values = config as unknown as Record<string, unknown>;
    return Object.fromEntries(fields.map((f) => [f.snake, copyValue(values[f.camel])]));
  }

  return { fields, defaults, jsonDefaults, parse, toJSON };
}

/** Receives a loader's warning (unknown config keys); `console.warn` unless another sink is given. */
export type WarningSink = (message: string) => void;

/** The default {@link WarningSink}. */
export const consoleWarningSink: WarningSink = (message) => console.warn(message);

/**
 * The one warning about ignored config keys (the policy of both the UNet and the schedulers: diffusers ignores
 * unknown keys with a warning, and real Hub configs carry keys of newer or other classes).
 */
export function unknownKeysWarning(source: string, owner: string, keys: readonly string[], note = ''): string {
  // Bounded whatever the file holds (300,000 unknown keys used to print 6 MB): the count and the first few, each
  // quoted (JSON escapes control characters) and cut to a readable length.
  const shown = keys.slice(0, MAX_LISTED_UNKNOWN_KEYS).map((key) => (/^[\w.-]{1,80}$/.test(key) ? key : describeConfigValue(key)));
  const more = keys.length > shown.length ? ` and ${keys.length - shown.length} more` : '';
  return `${source}: ignoring config key${keys.length > 1 ? 's' : ''} that ${owner} does not know${note}: ${shown.join(', ')}${more}`;
}

/** How many unknown keys a warning names (the rest are counted). */
const MAX_LISTED_UNKNOWN_KEYS = 5;
