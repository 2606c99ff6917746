/**
 * The error of every config check (UNet `config.json`, `scheduler_config.json`, constructor options): its message
 * names where the config came from (the file when known), the key and the value, e.g.
 * `unet/config.json: norm_num_groups=30 does not divide block_out_channels[0]=128`.
 *
 * ```ts
 * try { parseUNet2DConfig(json, 'unet/config.json'); }
 * catch (err) { if (err instanceof ConfigError) console.error(err.source, err.key); }
 * ```
 */
export class ConfigError extends Error {
  /** The file (or the object) the config came from: `unet/config.json`, `DDIMScheduler config`, … */
  readonly source: string;
  /** The offending key as the user wrote it (`block_out_channels[1]`); null when the whole config is at fault. */
  readonly key: string | null;

  constructor(source: string, key: string | null, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'ConfigError';
    this.source = source;
    this.key = key;
  }
}

const MAX_SHOWN_STRING = 80;
const MAX_SHOWN_ITEMS = 8;

/**
 * A config value as it would appear in JSON, bounded in length whatever it is (a hostile value may be a huge array
 * or a deeply nested object): strings quoted and cut at 80 characters, short flat arrays in full, anything else by
 * its kind and size. `NaN` and `Infinity` are shown as such (JSON would print `null`).
 *
 * ```ts
 * describeConfigValue([1, 2]);              // '[1,2]'
 * describeConfigValue(new Array(1e6));      // '[array of 1000000]'
 * ```
 */
export function describeConfigValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN_STRING ? `${value.slice(0, MAX_SHOWN_STRING)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const items = Array.isArray(value) ? value : (value as unknown as ArrayLike<unknown>);
    const length = items.length;
    const flat = length <= MAX_SHOWN_ITEMS && Array.from({ length }, (_, i) => items[i]).every((v) => v === null || typeof v !== 'object');
    if (!flat) return `[array of ${length}]`;
    return `[${Array.from({ length }, (_, i) => describeConfigValue(items[i])).join(',')}]`;
  }
  if (typeof value === 'object') return '{object}';
  return `[${typeof value}]`;
}

/**
 * The one "is this a plain JSON object" check of the config readers: not null, not an array, not a typed array.
 * Throws a {@link ConfigError} naming `source` otherwise.
 */
export function assertConfigObject(value: unknown, source: string, what = 'the config'): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new ConfigError(source, null, `${what} must be a JSON object, got ${describeConfigValue(value)}`);
  }
}

/** `Object.prototype.hasOwnProperty`, so that `__proto__`, `toString` or `constructor` are never "known keys". */
export function hasOwnKey(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}
