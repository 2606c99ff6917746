/**
 * The registry of schedulers, keyed by diffusers' `_class_name`: derived from lib/schedulers/all-schedulers.ts (one
 * line per scheduler), so that a new scheduler is one file plus that one line.
 *
 * ```ts
 * const scheduler = schedulerFromConfig(JSON.parse(text));   // the class its `_class_name` names
 * const Dpm = schedulerClass('DPMSolverMultistepScheduler');
 * const swapped = Dpm.fromConfig(scheduler.config);          // diffusers' `from_config(pipe.scheduler.config)`
 * ```
 */
import { ConfigError, describeConfigValue, hasOwnKey } from '../config/config-error';
import * as allSchedulers from './all-schedulers';
import type { Scheduler, SchedulerClass, SchedulerFromConfigOptions } from './scheduler';
import { setRegisteredSchedulerKeys } from './scheduler-config';

/** A name that is not a registered scheduler's `_class_name`; the message lists the known names. */
export class UnknownSchedulerError extends Error {
  override name = 'UnknownSchedulerError';
  constructor(
    /** The name asked for. */
    readonly className: string,
    /** The registered names. */
    readonly known: readonly string[],
    where = 'schedulerClass',
  ) {
    super(`${where}: unknown scheduler ${describeConfigValue(className)} (known: ${known.join(', ')})`);
  }
}

function isSchedulerClass(value: unknown): value is SchedulerClass {
  return (
    typeof value === 'function' &&
    typeof (value as { className?: unknown }).className === 'string' &&
    typeof (value as { fromConfig?: unknown }).fromConfig === 'function'
  );
}

let byName: ReadonlyMap<string, SchedulerClass> | null = null;

/** The registered classes by class name (built on first use, from every export of all-schedulers.ts). */
function registry(): ReadonlyMap<string, SchedulerClass> {
  if (byName === null) {
    const map = new Map<string, SchedulerClass>();
    for (const value of Object.values(allSchedulers)) {
      if (!isSchedulerClass(value)) continue;
      const existing = map.get(value.className);
      if (existing !== undefined && existing !== value) {
        throw new Error(`lib/schedulers/all-schedulers.ts: two classes have className '${value.className}'`);
      }
      map.set(value.className, value);
    }
    byName = map;
  }
  return byName;
}

/** The registered schedulers' class names, in the order of all-schedulers.ts. */
export function schedulerClassNames(): string[] {
  return [...registry().keys()];
}

/** Whether a scheduler class of this name is registered. */
export function hasScheduler(className: string): boolean {
  return registry().has(className);
}

/**
 * The scheduler class with diffusers' class name `name`.
 *
 * ```ts
 * const scheduler = schedulerClass('DDIMScheduler').fromConfig({ timestep_spacing: 'trailing' });
 * ```
 * @throws an {@link UnknownSchedulerError} listing the known names.
 */
export function schedulerClass(name: string): SchedulerClass {
  if (typeof name !== 'string') throw new UnknownSchedulerError(String(name), schedulerClassNames());
  const found = registry().get(name);
  if (found === undefined) throw new UnknownSchedulerError(name, schedulerClassNames());
  return found;
}

/**
 * A scheduler from a diffusers `scheduler_config.json` object: the class its `_class_name` names (as diffusers'
 * `SchedulerMixin.from_pretrained` does), or `options.defaultClassName` when it has none.
 *
 * ```ts
 * schedulerFromConfig({ _class_name: 'DDPMScheduler', variance_type: 'fixed_large' }).className;  // 'DDPMScheduler'
 * ```
 * @throws a ConfigError when `_class_name` is missing (and no default) or not a string; an
 * {@link UnknownSchedulerError} when it names no registered scheduler.
 */
export function schedulerFromConfig(
  json: unknown,
  options: SchedulerFromConfigOptions & { defaultClassName?: string } = {},
): Scheduler {
  const source = options.source ?? 'schedulerFromConfig';
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(source, null, `the scheduler config must be a JSON object, got ${describeConfigValue(json)}`);
  }
  const name = hasOwnKey(json, '_class_name') ? (json as Record<string, unknown>)._class_name : options.defaultClassName;
  if (name === undefined) throw new ConfigError(source, '_class_name', 'has no _class_name: which scheduler it configures is unknown');
  if (typeof name !== 'string') throw new ConfigError(source, '_class_name', `_class_name=${describeConfigValue(name)} must be a string`);
  const known = registry().get(name);
  if (known === undefined) throw new UnknownSchedulerError(name, schedulerClassNames(), source);
  return known.fromConfig(json, { onWarning: options.onWarning, source: options.source });
}

const keysOf = new Map<string, ReadonlySet<string>>();
let collecting = false;

/** The snake_case config keys of every registered scheduler (from its default config), for compatible-key drops. */
function registeredKeys(): ReadonlyMap<string, ReadonlySet<string>> {
  // fromConfig({}) below asks for these keys again: the inner call gets what is collected so far (nothing to drop).
  if (collecting) return keysOf;
  collecting = true;
  try {
    for (const [name, cls] of registry()) {
      if (keysOf.has(name)) continue;
      const json = cls.fromConfig({}, { onWarning: () => {} }).toDiffusersConfig();
      keysOf.set(name, new Set(Object.keys(json).filter((k) => !k.startsWith('_'))));
    }
  } finally {
    collecting = false;
  }
  return keysOf;
}

setRegisteredSchedulerKeys(registeredKeys);
