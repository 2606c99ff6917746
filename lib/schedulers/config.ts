/**
 * The config exports of the first two schedulers, kept under their old module path. Each scheduler now declares its
 * config fields next to its class (lib/schedulers/ddim.ts, ddpm.ts, …, as diffusers' `@register_to_config`); the
 * shared field declarations and the `fromConfig` machinery are in lib/schedulers/scheduler-config.ts.
 */
import { DDIM_SCHEDULER_CONFIG } from './ddim';
import { DDPM_SCHEDULER_CONFIG } from './ddpm';
import type { DDIMSchedulerConfig } from './ddim';
import type { DDPMSchedulerConfig } from './ddpm';
import type { ParsedSchedulerConfig } from './scheduler-config';

export type { PredictionType, ParsedSchedulerConfig, FromConfigOptions, WarningSink } from './scheduler-config';
export { DDIM_SCHEDULER_DEFAULTS, resolveDDIMConfig } from './ddim';
export type { DDIMSchedulerConfig } from './ddim';
export { DDPM_SCHEDULER_DEFAULTS } from './ddpm';
export type { DDPMSchedulerConfig, VarianceType } from './ddpm';

/** The two schedulers whose configs this module's functions take by name. */
export type SchedulerClassName = 'DDIMScheduler' | 'DDPMScheduler';

const DEFINITIONS = { DDIMScheduler: DDIM_SCHEDULER_CONFIG, DDPMScheduler: DDPM_SCHEDULER_CONFIG } as const;

/**
 * Parses a diffusers `scheduler_config.json` object (snake_case keys), or another scheduler's camelCase `config`,
 * for `DDIMScheduler` or `DDPMScheduler` (`X_SCHEDULER_CONFIG.parse` of each scheduler's module does the same).
 *
 * - `_class_name` may name any diffusers `...Scheduler`; anything else (e.g. a UNet's config) is a ConfigError.
 * - Keys starting with `_` are metadata (`_diffusers_version`, …) and are skipped, as diffusers does.
 * - Keys of another scheduler of this library (`variance_type` for DDIM) are unused, silently, as diffusers does
 *   for its compatible schedulers. Any other key is unknown: ignored and listed in `unknownKeys`.
 * - Every value is checked against its type and the limits of docs/checkpoints.md ("Config limits").
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
  source?: string,
): ParsedSchedulerConfig<DDIMSchedulerConfig | DDPMSchedulerConfig> {
  return DEFINITIONS[owner].parse(json, source) as ParsedSchedulerConfig<DDIMSchedulerConfig | DDPMSchedulerConfig>;
}
