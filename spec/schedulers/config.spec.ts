import { loadFixture } from '../helpers/fixtures';
import {
  DDIM_SCHEDULER_DEFAULTS,
  DDPM_SCHEDULER_DEFAULTS,
  parseSchedulerConfig,
  resolveDDIMConfig,
} from '../../lib/schedulers/config';
import { ConfigError } from '../../lib/config/config-error';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { schedulerFixture } from './scheduler-fixture';
import { errorOf } from '../helpers/errors';

const fixture = schedulerFixture();

/** diffusers' resolved config restricted to the keys of one scheduler (drops `_` metadata and the other's keys). */
function resolvedKeys(resolved: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, resolved[k]]));
}

describe('scheduler configs', () => {
  test('DDIMScheduler.fromConfig(cifar10 DDPM config) resolves to what diffusers resolved', () => {
    const ours = DDIMScheduler.fromConfig(fixture.scheduler_config).toDiffusersConfig();
    const keys = Object.keys(ours).filter((k) => k !== '_class_name');
    expect(keys.sort()).toEqual(Object.keys(fixture.ddim_config_resolved).filter((k) => !k.startsWith('_') && k !== 'variance_type').sort());
    expect(resolvedKeys(ours, keys)).toEqual(resolvedKeys(fixture.ddim_config_resolved, keys));
    expect(ours._class_name).toBe('DDIMScheduler');
  });

  test('DDPMScheduler.fromConfig(cifar10 DDPM config) resolves to what diffusers resolved', () => {
    const ours = DDPMScheduler.fromConfig(fixture.scheduler_config).toDiffusersConfig();
    const keys = Object.keys(ours).filter((k) => k !== '_class_name');
    expect(keys.sort()).toEqual(Object.keys(fixture.ddpm_config_resolved).filter((k) => !k.startsWith('_')).sort());
    expect(resolvedKeys(ours, keys)).toEqual(resolvedKeys(fixture.ddpm_config_resolved, keys));
  });

  test('defaults are diffusers 0.30.3 defaults', () => {
    expect(new DDIMScheduler().config).toEqual(DDIM_SCHEDULER_DEFAULTS);
    expect(new DDPMScheduler().config).toEqual(DDPM_SCHEDULER_DEFAULTS);
    expect(DDIM_SCHEDULER_DEFAULTS).toMatchObject({ clipSample: true, setAlphaToOne: true, timestepSpacing: 'leading' });
    expect(DDPM_SCHEDULER_DEFAULTS.varianceType).toBe('fixed_small');
    expect(Object.isFrozen(new DDIMScheduler().config)).toBe(true);
  });

  test('camelCase constructor options and snake_case JSON give the same scheduler', () => {
    const a = new DDIMScheduler({ timestepSpacing: 'trailing', clipSampleRange: 2, predictionType: 'v_prediction' });
    const b = DDIMScheduler.fromConfig({ timestep_spacing: 'trailing', clip_sample_range: 2, prediction_type: 'v_prediction' });
    expect(a.config).toEqual(b.config);
  });
});

describe('fromConfig warnings', () => {
  test('the cifar10 DDPM config loads into DDIM without a warning (variance_type is a compatible key)', () => {
    const warnings: string[] = [];
    DDIMScheduler.fromConfig({ ...fixture.scheduler_config, _diffusers_version: '0.30.3' }, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    const parsed = parseSchedulerConfig('DDIMScheduler', fixture.scheduler_config);
    expect(parsed.unusedCompatibleKeys).toEqual(['variance_type']);
    expect(parsed.className).toBe('DDPMScheduler');
  });

  test('unknown keys are ignored and listed in one warning', () => {
    // A key no diffusers scheduler has: keys of a compatible scheduler (PNDM's skip_prk_steps, once PNDMScheduler is
    // registered) are dropped silently, as diffusers' extract_init_dict does (registry.spec.ts covers every pair).
    const warnings: string[] = [];
    const s = DDIMScheduler.fromConfig(
      { _class_name: 'PNDMScheduler', not_a_scheduler_key: true, betaStart: 0.5, beta_start: 0.001 },
      { onWarning: (m) => warnings.push(m) },
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('not_a_scheduler_key, betaStart');
    expect(warnings[0]).toContain('PNDMScheduler');
    expect(s.config.betaStart).toBe(0.001);
  });

  test('the default sink is console.warn, and it stays quiet when there is nothing to warn', () => {
    const spy = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      DDPMScheduler.fromConfig(fixture.scheduler_config);
      expect(spy).not.toHaveBeenCalled();
      // use_karras_sigmas is a compatible scheduler's key (Euler's, DPM-Solver's): dropped silently, as diffusers does.
      DDPMScheduler.fromConfig({ ...fixture.scheduler_config, use_karras_sigmas: false });
      expect(spy).not.toHaveBeenCalled();
      DDPMScheduler.fromConfig({ ...fixture.scheduler_config, not_a_scheduler_key: false });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0]).toContain('not_a_scheduler_key');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('config errors name the field and the value', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['unknown beta schedule', { beta_schedule: 'cosine' }, 'beta_schedule="cosine" is not supported (supported: "linear", "scaled_linear", "squaredcos_cap_v2")'],
    ['sigmoid is DDPM-only', { beta_schedule: 'sigmoid' }, 'beta_schedule="sigmoid"'],
    ['prediction type', { prediction_type: 'eps' }, 'prediction_type="eps" is not supported (supported: "epsilon", "sample", "v_prediction")'],
    ['timestep spacing', { timestep_spacing: 'uniform' }, 'timestep_spacing="uniform"'],
    ['num_train_timesteps', { num_train_timesteps: 0 }, 'num_train_timesteps=0 must be a positive integer <= 100000'],
    ['steps_offset', { steps_offset: -1 }, 'steps_offset=-1 must be an integer in [0, 100000]'],
    ['steps_offset type', { steps_offset: '1' }, 'steps_offset="1" must be an integer in [0, 100000]'],
    ['clip_sample type', { clip_sample: 'yes' }, 'clip_sample="yes" must be true or false'],
    ['clip_sample_range', { clip_sample_range: 0 }, 'clip_sample_range=0 must be a finite number > 0'],
    ['ratio', { dynamic_thresholding_ratio: 1.5 }, 'dynamic_thresholding_ratio=1.5 must be a number in [0, 1]'],
    ['beta_start', { beta_start: Number.NaN }, 'beta_start=NaN must be a number in [0, 1]'],
    ['beta_end above 1', { beta_end: 1.5 }, 'beta_end=1.5 must be a number in [0, 1]'],
    ['null value', { clip_sample: null }, 'clip_sample=null must be true or false'],
    ['trained_betas values', { num_train_timesteps: 2, trained_betas: [0.1, 'x'] }, 'trained_betas[1]="x" must be a number in [0, 1]'],
    // Negative or > 1 betas used to give NaN schedules, black images and exit 0 (issue 22).
    ['negative trained_betas', { num_train_timesteps: 2, trained_betas: [0.1, -0.5] }, 'trained_betas[1]=-0.5 must be a number in [0, 1]'],
    ['trained_betas above 1', { num_train_timesteps: 2, trained_betas: [1.5, 0.1] }, 'trained_betas[0]=1.5 must be a number in [0, 1]'],
    ['trained_betas length', { trained_betas: [0.1, 0.2] }, 'trained_betas=[0.1,0.2] has 2 values but num_train_timesteps=1000'],
    ['not a scheduler', { _class_name: 'UNet2DModel' }, '_class_name="UNet2DModel" is not a diffusers scheduler config'],
    // The limits of docs/checkpoints.md ("Config limits"), refused before any table exists.
    ['num_train_timesteps over the limit', { num_train_timesteps: 2147483648 }, 'num_train_timesteps=2147483648 exceeds the limit of 100000'],
    ['num_train_timesteps 1e12', { num_train_timesteps: 1e12 }, 'num_train_timesteps=1000000000000 exceeds the limit of 100000'],
    ['trained_betas over the limit', { trained_betas: new Array(100_001).fill(0.01) }, 'trained_betas=[array of 100001] has 100001 entries, over the limit of 100000'],
    ['a prototype key is not a field', { __proto__: { beta_start: 'x' } } as Record<string, unknown>, ''],
  ])('DDIM: %s', (_name, json, message) => {
    if (message === '') {
      expect(DDIMScheduler.fromConfig(json, { onWarning: () => {} }).config.betaStart).toBe(DDIM_SCHEDULER_DEFAULTS.betaStart);
      return;
    }
    expect(() => DDIMScheduler.fromConfig(json, { onWarning: () => {} })).toThrow(ConfigError);
    expect(() => DDIMScheduler.fromConfig(json, { onWarning: () => {} })).toThrow(`DDIMScheduler.fromConfig: ${message}`);
  });

  test('the error names the file the loader passes, and carries the key', () => {
    const error = errorOf<ConfigError>(() => DDPMScheduler.fromConfig({ num_train_timesteps: -3 }, { source: 'scheduler/scheduler_config.json' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('scheduler/scheduler_config.json: num_train_timesteps=-3 must be a positive integer <= 100000');
    expect(error.source).toBe('scheduler/scheduler_config.json');
    expect(error.key).toBe('num_train_timesteps');
  });

  test('DDPM: learned variances are not supported, unknown ones are unknown', () => {
    expect(() => DDPMScheduler.fromConfig({ variance_type: 'learned_range' })).toThrow(
      'DDPMScheduler.fromConfig: variance_type="learned_range" is not supported: the UNet must predict the variance',
    );
    expect(() => DDPMScheduler.fromConfig({ variance_type: 'learned' })).toThrow('variance_type="learned" is not supported');
    expect(() => DDPMScheduler.fromConfig({ variance_type: 'fixed' })).toThrow(
      'variance_type="fixed" is not supported (supported: "fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log")',
    );
  });

  test('constructor options are checked with their camelCase names; a typo throws', () => {
    expect(() => new DDIMScheduler({ betaSchedule: 'cosine' as never })).toThrow('DDIMScheduler config: betaSchedule="cosine"');
    expect(() => new DDIMScheduler({ beta_schedule: 'linear' } as never)).toThrow('beta_schedule (did you mean betaSchedule?');
    expect(() => new DDPMScheduler({ setAlphaToOne: true } as never)).toThrow('unknown option setAlphaToOne');
    expect(() => new DDPMScheduler({ numTrainTimesteps: 2 ** 31 })).toThrow('DDPMScheduler config: numTrainTimesteps=2147483648 exceeds the limit of 100000');
    expect(() => new DDIMScheduler({ numTrainTimesteps: 2, trainedBetas: new Float64Array(3) as unknown as number[] })).toThrow(
      'DDIMScheduler config: trainedBetas=[0,0,0] has 3 values but numTrainTimesteps=2',
    );
    expect(() => resolveDDIMConfig(null as never)).toThrow('DDIMScheduler config: the config must be a JSON object, got null');
    expect(() => DDIMScheduler.fromConfig('{"beta_start": 0.1}')).toThrow(
      'DDIMScheduler.fromConfig: the scheduler config must be a JSON object, got "{\\"beta_start\\": 0.1}"',
    );
    for (const bad of [null, [1], new Float32Array(2), 7, 'x']) {
      expect(() => DDPMScheduler.fromConfig(bad)).toThrow(ConfigError);
    }
  });

  test('declared defaults pass their own checks, and toDiffusersConfig round-trips through fromConfig', () => {
    for (const Scheduler of [DDIMScheduler, DDPMScheduler]) {
      const s = Scheduler.fromConfig({ timestep_spacing: 'trailing', num_train_timesteps: 10, trained_betas: Array.from({ length: 10 }, (_, i) => 0.01 * (i + 1)) });
      const again = Scheduler.fromConfig(s.toDiffusersConfig());
      expect(again.config).toEqual(s.config);
      expect(Object.isFrozen(again.config.trainedBetas)).toBe(true);
    }
  });
});

describe('defaults, checked against diffusers itself (not against this library\'s constants)', () => {
  // scheduler.json holds what diffusers 0.30.3's from_config resolved; `_use_default_values` lists the keys it filled
  // with its own __init__ defaults. Ours must be the same values.
  test.each([
    ['DDIMScheduler', () => new DDIMScheduler().toDiffusersConfig(), 'ddim_config_resolved'],
    ['DDPMScheduler', () => new DDPMScheduler().toDiffusersConfig(), 'ddpm_config_resolved'],
  ] as const)('%s: every default diffusers filled in equals ours', (_name, ours, key) => {
    const resolved = loadFixture('scheduler.json')[key] as Record<string, unknown> & { _use_default_values: string[] };
    expect(resolved._use_default_values.length).toBeGreaterThan(3);
    const config = ours();
    for (const name of resolved._use_default_values) expect([name, config[name]]).toEqual([name, resolved[name]]);
  });
});
